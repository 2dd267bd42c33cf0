"""Devices: seed-only data, cross-device resume, CPU float64 linear algebra, refusals, one precision,
determinism, one host read per step, the environment record. CUDA and MPS tests skip without the hardware."""

import json
import math
import os

import numpy as np
import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from linalg_rnn.rnn import trainer
from linalg_rnn.rnn._environment import check_device_support, environment_record, numerics
from linalg_rnn.rnn.checkpoint import load_checkpoint, save_checkpoint
from linalg_rnn.rnn.config import TrainConfig
from linalg_rnn.rnn.metrics import gradient_norm, recurrent_metrics
from linalg_rnn.rnn.strategies import parse_strategy, polar_project_, qr_project_
from linalg_rnn.rnn.tasks import RecallTask
from linalg_rnn.rnn.trainer import build_run, train

SMALL = dict(task="recall", seq_len=10, delay=3, hidden=8, batch=8, device="cpu")
CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
MPS = pytest.mark.skipif(not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()),
                         reason="needs an Apple GPU (mps)")


def without_time(rows):
    return [{k: v for k, v in r.items() if k != "elapsed_s"} for r in rows]


# --- data depend on the seed alone -------------------------------------------------------------

def test_batches_come_from_a_seeded_cpu_generator_whatever_the_device():
    run = build_run(TrainConfig(**SMALL))
    assert run.data_rng.device.type == "cpu"
    x, y = trainer.draw_batch(run)
    ref_x, ref_y = RecallTask(10, 3).sample(8, torch.Generator().manual_seed(0 + 1))
    assert torch.equal(x, ref_x) and torch.equal(y, ref_y)


@CUDA
def test_cuda_run_sees_the_cpu_runs_batches_and_validation_set():
    cpu = build_run(TrainConfig(**SMALL))
    gpu = build_run(TrainConfig(**{**SMALL, "device": "cuda"}))
    assert torch.equal(trainer.draw_batch(gpu)[0].cpu(), trainer.draw_batch(cpu)[0])
    assert torch.equal(gpu.val_x.cpu(), cpu.val_x)


# --- resume across device types ----------------------------------------------------------------

def test_resume_of_a_checkpoint_written_on_another_device_type_matches_the_uninterrupted_run(tmp_path):
    kw = dict(steps=12, checkpoint_every=5, eval_every=4, strategy="clip", **SMALL)
    full = train(TrainConfig(**kw))
    train(TrainConfig(**{**kw, "steps": 5}), tmp_path)
    ckpt = load_checkpoint(tmp_path / "checkpoint.pt")
    assert ckpt["device"] == "cpu" and ckpt["rng"]["data"].numel() == torch.Generator().get_state().numel()
    ckpt["device"] = "cuda"  # as if written on a GPU: the data generator state is a CPU one all the same
    save_checkpoint(tmp_path / "checkpoint.pt", ckpt)
    resumed = train(TrainConfig(**kw), tmp_path, resume=True)
    # step 5 was logged as the last step of the first session (with its metrics); the rest match exactly
    assert without_time(resumed.history[5:]) == without_time(full.history[5:])
    assert resumed.final | {"elapsed_s": 0} == full.final | {"elapsed_s": 0}
    assert resumed.environment["resumed_from"] == {"step": 5, "device": "cuda"}
    saved = json.loads((tmp_path / "result.json").read_text())
    assert saved["environment"]["resumed_from"]["device"] == "cuda"


def test_a_foreign_size_generator_state_is_refused_in_one_line(tmp_path):
    kw = dict(steps=4, checkpoint_every=2, **SMALL)
    train(TrainConfig(**{**kw, "steps": 2}), tmp_path)
    ckpt = load_checkpoint(tmp_path / "checkpoint.pt")
    ckpt["rng"]["data"] = torch.zeros(16, dtype=torch.uint8)  # a CUDA generator's state (older versions)
    ckpt["device"] = "cuda"
    save_checkpoint(tmp_path / "checkpoint.pt", ckpt)
    with pytest.raises(ValueError, match="16 bytes, not the 5056 of a CPU generator") as info:
        train(TrainConfig(**kw), tmp_path, resume=True)
    assert "\n" not in str(info.value)


def test_checkpoints_load_with_weights_only(tmp_path):
    train(TrainConfig(steps=3, strategy="expm", **SMALL), tmp_path)
    ckpt = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert ckpt["step"] == 3 and "parametrizations.weight_hh_l0.original" in ckpt["model"]


# --- W_hh linear algebra in float64 on the CPU -------------------------------------------------

def test_metrics_of_a_float32_matrix_are_computed_in_float64():
    W = torch.randn(9, 9, generator=torch.Generator().manual_seed(0))  # float32
    a = W.double().numpy()
    got = recurrent_metrics(W)
    assert got["w_hh_spectral_norm"] == pytest.approx(np.linalg.norm(a, 2), rel=1e-13)
    assert got["w_hh_max_abs_eigenvalue"] == pytest.approx(np.abs(np.linalg.eigvals(a)).max(), rel=1e-12)
    assert got["orthogonality_error"] == pytest.approx(np.linalg.norm(a.T @ a - np.eye(9), 2), rel=1e-12)


def test_projections_factor_in_float64_and_copy_back_in_the_weights_dtype():
    A = torch.randn(7, 7, generator=torch.Generator().manual_seed(1))
    W = torch.nn.Parameter(A.clone())
    qr_project_(W)
    Q, R = np.linalg.qr(A.double().numpy())
    Q = Q * np.where(np.diag(R) < 0, -1.0, 1.0)
    assert W.dtype == torch.float32 and torch.equal(W.detach(), torch.from_numpy(Q).float())
    P = torch.nn.Parameter(A.clone())
    polar_project_(P)
    U, _, Vh = np.linalg.svd(A.double().numpy())
    assert P.dtype == torch.float32 and torch.allclose(P.detach(), torch.from_numpy(U @ Vh).float())


def test_gradient_norm_is_clip_grad_norms_total_without_get_total_norm():
    ps = [torch.nn.Parameter(torch.zeros(3)), torch.nn.Parameter(torch.zeros(2, 2))]
    ps[0].grad, ps[1].grad = torch.tensor([1.0, 2.0, 2.0]), torch.full((2, 2), 2.0)
    assert gradient_norm(ps).item() == pytest.approx(5.0)
    assert gradient_norm(ps).item() == pytest.approx(torch.nn.utils.clip_grad_norm_(ps, 1e9).item())


# --- refusals before any work ------------------------------------------------------------------

def test_a_strategy_the_device_cannot_run_is_refused_in_one_line_before_any_work(tmp_path, monkeypatch):
    def missing(*args, **kwargs):
        raise NotImplementedError("The operator 'aten::linalg_solve_ex' is not currently implemented "
                                  "for the MPS device.")

    monkeypatch.setattr(torch.linalg, "solve_ex", missing)  # what MPS answers on some torch versions
    out = tmp_path / "run"
    with pytest.raises(ValueError, match="strategy 'cayley' needs torch.linalg.solve_ex, which torch .* "
                                         "does not run on cpu; use device cpu") as info:
        train(TrainConfig(steps=2, strategy="cayley", **SMALL), out)
    assert "\n" not in str(info.value) and not out.exists()
    check_device_support(parse_strategy("expm"), torch.device("cpu"))  # other strategies are unaffected


# --- one precision, determinism, the caller's settings restored --------------------------------

def test_the_run_sets_one_precision_and_determinism_and_restores_the_callers(monkeypatch):
    seen = {}
    real_step = trainer.train_step

    def spy(run, step):
        seen[step] = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32,
                      torch.are_deterministic_algorithms_enabled(), os.environ.get("CUBLAS_WORKSPACE_CONFIG"))
        return real_step(run, step)

    monkeypatch.setattr(trainer, "train_step", spy)
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    before = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    try:
        result = train(TrainConfig(steps=2, deterministic=True, **SMALL))
        assert seen[1] == (False, False, True, ":4096:8")
        assert torch.backends.cuda.matmul.allow_tf32 and torch.backends.cudnn.allow_tf32
        assert not torch.are_deterministic_algorithms_enabled()
        assert "CUBLAS_WORKSPACE_CONFIG" not in os.environ
        assert result.environment["deterministic"] is True and result.environment["tf32"] is False
        assert train(TrainConfig(steps=1, **SMALL)).environment["deterministic"] is False  # CPU default
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = before


def test_numerics_restores_the_settings_when_the_run_raises():
    before = torch.are_deterministic_algorithms_enabled()
    with pytest.raises(RuntimeError, match="boom"):
        with numerics(torch.device("cpu"), allow_tf32=True, deterministic=True):
            raise RuntimeError("boom")
    assert torch.are_deterministic_algorithms_enabled() == before


def test_training_never_reseeds_the_global_generators(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("torch.manual_seed reseeds the CUDA/MPS generators that fork_rng(devices=[]) "
                             "does not restore")

    monkeypatch.setattr(torch, "manual_seed", forbidden)
    monkeypatch.setattr(torch.random, "manual_seed", forbidden)
    train(TrainConfig(steps=2, strategy="orthogonal_init", lag_grads_every=1, **SMALL))


# --- the environment record -------------------------------------------------------------------

def test_result_json_records_where_the_run_computed(tmp_path):
    train(TrainConfig(steps=2, **SMALL), tmp_path)
    env = json.loads((tmp_path / "result.json").read_text())["environment"]
    assert {"torch", "cuda", "cudnn", "python", "device", "device_name", "tf32", "deterministic",
            "threads"} <= env.keys()
    assert env["torch"] == torch.__version__ and env["device"] == "cpu" and env["tf32"] is False
    assert environment_record(torch.device("cpu"), allow_tf32=False, deterministic=False)["cuda"] \
        == torch.version.cuda


# --- one host read per step -------------------------------------------------------------------

class HostReads(TorchDispatchMode):
    """Counts the operations that make a GPU wait for the host: scalar reads, nonzero, boolean masks."""

    SYNCING = ("_local_scalar_dense", "nonzero", "is_nonzero", "equal", "masked_select")

    def __init__(self, skip_ptrs=()):
        super().__init__()
        self.count, self.paused, self.skip = 0, False, set(skip_ptrs)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func.overloadpacket.__name__
        if not self.paused and (name in self.SYNCING or self._boolean_index(name, args)):
            if not any(isinstance(a, torch.Tensor) and a.data_ptr() in self.skip for a in args):
                self.count += 1
        return func(*args, **(kwargs or {}))

    @staticmethod
    def _boolean_index(name, args):
        """x[mask]: the result's size is the mask's count, which a GPU must report to the host."""
        if name not in ("index", "index_put", "index_put_") or len(args) < 2:
            return False
        return any(isinstance(i, torch.Tensor) and i.dtype == torch.bool for i in args[1])


def _count_reads(monkeypatch, cfg, steps=3):
    """Host reads and to_host calls over steady-state steps (after two warm-up steps)."""
    run = build_run(cfg)
    for s in (1, 2):
        trainer.train_step(run, s)
    # Adam keeps its step counters on the CPU on every device: reading them is no device sync
    counters = {st["step"].data_ptr() for st in run.optimizer.state.values() if "step" in st}
    mode = HostReads(counters)
    transfers = []
    real_to_host, real_draw = trainer.to_host, trainer.draw_batch

    def counting_to_host(values):
        transfers.append(len(values))
        return real_to_host(values)

    def draw_uncounted(run):  # the batch is drawn on the CPU: its host reads are no device syncs
        mode.paused = True
        try:
            return real_draw(run)
        finally:
            mode.paused = False

    monkeypatch.setattr(trainer, "to_host", counting_to_host)
    monkeypatch.setattr(trainer, "draw_batch", draw_uncounted)
    with mode:
        for s in range(3, 3 + steps):
            trainer.train_step(run, s)
    return mode.count / steps, len(transfers) / steps


@pytest.mark.parametrize("strategy", ["vanilla", "clip", "orthogonal_init+qr_projection", "lstm",
                                      "cayley", "tbptt"])
def test_a_steady_step_reads_the_device_once(monkeypatch, strategy):
    extra = {"proj_every": 1000} if "projection" in strategy else {}
    if strategy == "tbptt":
        extra = {"tbptt_update": "batch", "tbptt_window": 4}
    reads, transfers = _count_reads(monkeypatch, TrainConfig(strategy=strategy, **extra, **SMALL))
    assert (reads, transfers) == (0, 1)


def test_accuracy_stays_on_the_device(monkeypatch):
    cfg = TrainConfig(task="copy", seq_len=5, hidden=8, batch=4, device="cpu")
    reads, transfers = _count_reads(monkeypatch, cfg)
    assert (reads, transfers) == (0, 1)


def test_expm_reads_one_norm_per_step_and_window_tbptt_one_transfer_per_update(monkeypatch):
    reads, transfers = _count_reads(monkeypatch, TrainConfig(strategy="expm", **SMALL))
    assert (reads, transfers) == (1, 1)  # the norm that sets the number of squarings
    cfg = TrainConfig(strategy="tbptt", tbptt_window=3, **{**SMALL, "delay": 4})
    reads, transfers = _count_reads(monkeypatch, cfg)
    # windows [0,3) carries no loss (delay 4); [3,6), [6,9), [9,10) do: three updates
    assert (reads, transfers) == (0, 3)


def test_per_lag_gradient_norms_are_read_in_one_transfer(monkeypatch):
    from linalg_rnn.rnn import metrics

    run = build_run(TrainConfig(lag_grads_every=1, **SMALL))
    mode = HostReads()
    with mode:
        norms = metrics.hidden_gradient_norms(run.model, run.task, run.lag_x, run.lag_y)
    assert len(norms) == 10 and mode.count == 0  # .tolist() of the stacked norms is the one read


# --- on a GPU ---------------------------------------------------------------------------------

@CUDA
@pytest.mark.parametrize("strategy", ["vanilla", "clip", "lstm", "orthogonal_init"])
def test_steady_cuda_steps_never_sync_outside_the_one_transfer(monkeypatch, strategy):
    run = build_run(TrainConfig(**{**SMALL, "device": "cuda", "strategy": strategy}))
    for s in (1, 2):
        trainer.train_step(run, s)
    real_to_host = trainer.to_host

    def allowed(values):
        torch.cuda.set_sync_debug_mode("default")
        try:
            return real_to_host(values)
        finally:
            torch.cuda.set_sync_debug_mode("error")

    monkeypatch.setattr(trainer, "to_host", allowed)
    torch.cuda.set_sync_debug_mode("error")
    try:
        for s in range(3, 8):
            trainer.train_step(run, s)
    finally:
        torch.cuda.set_sync_debug_mode("default")


@CUDA
def test_fused_and_loop_agree_on_cuda_with_tf32_off():
    from linalg_rnn.rnn.models import FusedRNN, LoopRNN

    torch.manual_seed(0)
    fused = FusedRNN(3, 64, 2).cuda()
    loop = LoopRNN(3, 64, 2).cuda()
    loop.load_state_dict(fused.state_dict_for_loop())
    x = torch.randn(16, 50, 3, device="cuda")
    with numerics(torch.device("cuda"), allow_tf32=False, deterministic=True):
        diff = (fused(x)[0] - loop(x)[0]).abs().max().item()
    print(f"fused - loop, TF32 off: {diff:.3g}")
    assert diff < 1e-5


@CUDA
def test_deterministic_cuda_resume_is_bit_identical(tmp_path):
    kw = dict(steps=12, checkpoint_every=5, eval_every=4, **{**SMALL, "device": "cuda"})
    full = train(TrainConfig(**kw))
    train(TrainConfig(**{**kw, "steps": 5}), tmp_path)
    resumed = train(TrainConfig(**kw), tmp_path, resume=True)
    assert full.environment["deterministic"] is True
    assert without_time(resumed.history[5:]) == without_time(full.history[5:])


@MPS
@pytest.mark.parametrize("strategy", ["vanilla", "qr_projection", "polar_projection", "expm", "lstm"])
def test_training_runs_on_mps_with_its_linear_algebra_on_the_cpu(strategy):
    result = train(TrainConfig(**{**SMALL, "device": "mps"}, steps=3, strategy=strategy, spectral_every=1))
    assert result.device == "mps" and not result.diverged
    assert math.isfinite(result.final["w_hh_spectral_norm"])


@MPS
def test_cayley_on_mps_runs_or_is_refused_in_one_line():
    try:
        result = train(TrainConfig(**{**SMALL, "device": "mps"}, steps=2, strategy="cayley"))
    except ValueError as exc:
        assert "needs torch.linalg.solve_ex" in str(exc) and "\n" not in str(exc)
    else:
        assert not result.diverged


def test_numpys_blas_runs_on_as_many_threads_as_torch_during_a_run(monkeypatch):
    from threadpoolctl import threadpool_info

    seen = []
    real_step = trainer.train_step

    def spy(run, step):  # the W_hh metrics and projections run NumPy's LAPACK on the CPU
        seen.append({p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"})
        return real_step(run, step)

    monkeypatch.setattr(trainer, "train_step", spy)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as a showdown cell runs
    try:
        train(TrainConfig(steps=2, **SMALL))
    finally:
        torch.set_num_threads(threads)
    assert seen == [{1}, {1}]
