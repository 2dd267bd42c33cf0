"""Trainer: metrics, run directory, reproducibility, divergence, resume after a kill, signals."""

import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from linalg_rnn._filesystem import read_jsonl
from linalg_rnn.rnn import trainer
from linalg_rnn.rnn.config import TrainConfig, resolve_device
from linalg_rnn.rnn.metrics import hidden_gradient_norms, recurrent_metrics
from linalg_rnn.rnn.models import LoopRNN
from linalg_rnn.rnn.tasks import AddingTask
from linalg_rnn.rnn.trainer import build_run, train, train_step

SMALL = dict(task="recall", seq_len=10, delay=3, hidden=8, batch=8, device="cpu")
REQUIRED = {"step", "train_loss", "grad_norm", "w_hh_spectral_norm", "orthogonality_error", "elapsed_s"}


def without_time(rows):
    return [{k: v for k, v in r.items() if k != "elapsed_s"} for r in rows]


def test_metric_functions_match_numpy():
    A = torch.randn(7, 7, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    a = A.numpy()
    together = recurrent_metrics(A)
    assert together["w_hh_spectral_norm"] == pytest.approx(np.linalg.norm(a, 2), rel=1e-12)
    assert together["w_hh_max_abs_eigenvalue"] == pytest.approx(np.abs(np.linalg.eigvals(a)).max(), rel=1e-10)
    assert together["orthogonality_error"] == pytest.approx(np.linalg.norm(a.T @ a - np.eye(7), 2), rel=1e-10)
    assert recurrent_metrics(A, with_spectral_radius=False) == {**together, "w_hh_max_abs_eigenvalue": None}


def test_run_directory_holds_the_contract_files_and_rows(tmp_path):
    cfg = TrainConfig(steps=12, eval_every=5, spectral_every=4, checkpoint_every=5, **SMALL)
    result = train(cfg, tmp_path)
    for name in ("config.json", "metrics.jsonl", "metrics.csv", "result.json", "checkpoint.pt", "curves.png"):
        assert (tmp_path / name).is_file(), name
    rows = read_jsonl(tmp_path / "metrics.jsonl")
    assert [r["step"] for r in rows] == list(range(1, 13))
    assert all(REQUIRED <= r.keys() for r in rows)
    assert [r["step"] for r in rows if r.get("val_loss") is not None] == [5, 10, 12]
    assert [r["step"] for r in rows if r["w_hh_spectral_norm"] is not None] == [4, 8, 12]
    saved = json.loads((tmp_path / "result.json").read_text())
    assert saved["diverged"] is False and saved["divergence_step"] is None and saved["finished"]
    assert saved["baseline_loss"] == 1.0 and saved["final"]["val_loss"] == result.final["val_loss"]
    assert TrainConfig.from_dict(json.loads((tmp_path / "config.json").read_text())) == result.config
    header = (tmp_path / "metrics.csv").read_text().splitlines()[0].split(",")
    assert REQUIRED <= set(header)


def test_seeded_cpu_runs_are_identical_and_another_seed_differs():
    cfg = TrainConfig(steps=8, strategy="clip+tbptt", eval_every=4, **SMALL)
    a, b = train(cfg), train(cfg)
    c = train(TrainConfig(**{**cfg.to_dict(), "seed": 1}))
    assert without_time(a.history) == without_time(b.history)
    assert without_time(a.history) != without_time(c.history)


def test_train_leaves_the_global_torch_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    train(TrainConfig(steps=2, **SMALL))
    assert torch.equal(torch.rand(3), expected)


def test_huge_learning_rate_is_recorded_as_divergence_not_a_crash(tmp_path):
    cfg = TrainConfig(steps=50, lr=1e20, **SMALL)
    result = train(cfg, tmp_path)
    assert result.diverged and 1 < result.divergence_step < 50
    assert result.steps_done == result.divergence_step
    last = result.history[-1]
    assert last["step"] == result.divergence_step and last["diverged"]
    assert not (math.isfinite(last["train_loss"]) and math.isfinite(last["grad_norm"]))
    saved = json.loads((tmp_path / "result.json").read_text())
    assert saved["diverged"] is True and saved["divergence_step"] == result.divergence_step
    # the weights were left finite: no update is taken from a NaN/inf gradient
    assert all(torch.isfinite(p).all() for p in result.model.parameters())
    # resuming a diverged run does no more work, says so, and reports the same divergence
    note = rf"had already diverged at step {result.divergence_step}; nothing to train"
    again = train(cfg, tmp_path, resume=True)
    assert any(re.search(note, n) for n in again.notes), again.notes
    assert again.diverged and again.divergence_step == result.divergence_step


def test_logged_grad_norm_is_before_clipping():
    plain = train(TrainConfig(steps=1, **SMALL))
    clipped = train(TrainConfig(steps=1, strategy="clip", clip_norm=1e-4, **SMALL))
    assert clipped.history[0]["grad_norm"] == plain.history[0]["grad_norm"] > 1e-3


def test_clip_bounds_the_sgd_update_and_clip_value_is_an_option():
    base = dict(steps=3, lr=0.5, optimizer="sgd", **SMALL)
    moves = {}
    for name, extra in (("none", {}), ("norm", {"strategy": "clip", "clip_norm": 1e-3}),
                        ("value", {"strategy": "clip", "clip_value": 1e-6})):
        result = train(TrainConfig(**base, **extra))
        moves[name] = torch.linalg.norm(result.model.recurrent_matrix() - result.initial_w_hh).item()
    # SGD moves W_hh by lr * (clipped gradient) each step: at most 3 * 0.5 * 1e-3 in norm
    assert moves["norm"] <= 3 * 0.5 * 1e-3 * (1 + 1e-5) < moves["none"]
    assert moves["value"] <= 3 * 0.5 * 1e-6 * 8 * (1 + 1e-5)  # each of the 8x8 entries moves <= lr * 1e-6


def test_tbptt_cuts_the_gradient_at_window_boundaries_and_keeps_the_forward_pass(monkeypatch):
    task = AddingTask(12)
    x, y = task.sample(4, torch.Generator().manual_seed(0))
    losses, grads = {}, {}
    for window in (None, 4):
        cfg = TrainConfig(task="adding", seq_len=12, hidden=6, device="cpu",
                          **({"strategy": "tbptt", "tbptt_window": window} if window else {}))
        run = build_run(cfg)
        xg = x.clone().requires_grad_(True)
        monkeypatch.setattr(trainer, "draw_batch", lambda run, xg=xg: (xg, y))  # the step's batch is ours
        losses[window] = torch.tensor(train_step(run, 1)["train_loss"])
        grads[window] = xg.grad
    assert torch.allclose(losses[None], losses[4], atol=1e-6)  # the hidden state is carried
    assert grads[4][:, :8].abs().max() == 0  # loss at the last step: nothing crosses into earlier windows
    assert grads[4][:, 8:].abs().max() > 0 and grads[None][:, :8].abs().max() > 0


def test_per_lag_gradient_norms_are_logged_and_match_a_direct_computation():
    result = train(TrainConfig(task="adding", seq_len=10, hidden=6, batch=8, steps=4, lag_grads_every=2,
                               device="cpu"))
    rows = [r for r in result.history if "hidden_grad_norms" in r]
    assert [r["step"] for r in rows] == [2, 4] and len(rows[0]["hidden_grad_norms"]) == 10
    task = AddingTask(10)
    x, y = task.sample(8, torch.Generator().manual_seed(3))
    loop = LoopRNN(2, 6, 1)
    loop.load_state_dict(result.model.state_dict_for_loop())
    out, _, hs = loop(x, keep_hidden=True)
    task.loss(out, y).backward()
    direct = [h.grad.norm().item() for h in hs]
    assert np.allclose(rows[1]["hidden_grad_norms"], direct, rtol=1e-5)
    assert hidden_gradient_norms(result.model, task, x, y) == pytest.approx(direct, rel=1e-5)


def test_existing_run_needs_resume_and_a_matching_config(tmp_path):
    cfg = TrainConfig(steps=3, **SMALL)
    train(cfg, tmp_path)
    with pytest.raises(FileExistsError, match="--resume"):
        train(cfg, tmp_path)
    with pytest.raises(ValueError, match="hidden: 8 -> 16"):
        train(TrainConfig(**{**cfg.to_dict(), "hidden": 16}), tmp_path, resume=True)


def test_resume_in_process_matches_an_uninterrupted_run(tmp_path):
    kw = dict(strategy="orthogonal_init+qr_projection+clip", proj_every=3, eval_every=5,
              spectral_every=2, checkpoint_every=4, **SMALL)
    full = train(TrainConfig(steps=14, **kw))
    train(TrainConfig(steps=9, **kw), tmp_path)  # stops at 9 (checkpoint at 9, last step)
    resumed = train(TrainConfig(steps=14, **kw), tmp_path, resume=True)
    assert resumed.final | {"elapsed_s": 0} == full.final | {"elapsed_s": 0}
    rows = read_jsonl(tmp_path / "metrics.jsonl")
    assert [r["step"] for r in rows] == list(range(1, 15))
    # step 9's row was logged as a last step (with val/spectral); steps after it match exactly
    assert without_time(rows[9:]) == without_time(full.history[9:])


def test_resume_drops_rows_logged_after_the_checkpoint_and_a_torn_line(tmp_path):
    kw = dict(steps=10, checkpoint_every=5, eval_every=5, **SMALL)
    full = train(TrainConfig(**kw))
    train(TrainConfig(**kw), tmp_path)
    # pretend the run was killed after step 7 while appending step 8: checkpoint of step 5 remains
    rows = read_jsonl(tmp_path / "metrics.jsonl")[:7]
    text = "".join(json.dumps(r) + "\n" for r in rows) + '{"step": 8, "train_lo'
    (tmp_path / "metrics.jsonl").write_text(text)
    first = train(TrainConfig(**{**kw, "steps": 5}), tmp_path / "ref")  # a real step-5 checkpoint
    os.replace(tmp_path / "ref" / "checkpoint.pt", tmp_path / "checkpoint.pt")
    assert first.steps_done == 5
    # the checkpoint's rows (the other run's: another elapsed_s) replace the file's up to step 5
    note = r"lost or torn rows for step\(s\) 1, 2, 3, 4, 5; restored from the checkpoint"
    resumed = train(TrainConfig(**kw), tmp_path, resume=True)
    assert any(re.search(note, n) for n in resumed.notes), resumed.notes
    steps = [r["step"] for r in read_jsonl(tmp_path / "metrics.jsonl")]
    assert steps == list(range(1, 11))
    assert resumed.final | {"elapsed_s": 0} == full.final | {"elapsed_s": 0}


def _wait_for(predicate, proc, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.01)
    return False


def _checkpoint_step(path: Path) -> int:
    try:
        return torch.load(path, weights_only=False)["step"]
    except Exception:
        return -1


# the child trains with one thread, like this process under the one_torch_thread fixture, so both
# sides run the same kernels and the numbers can be compared bit for bit
ONE_THREAD = {**os.environ, "OMP_NUM_THREADS": "1"}

TRAIN_ARGS = ["train", "--task", "recall", "--seq-len", "10", "--delay", "3", "--hidden", "8",
              "--batch", "8", "--device", "cpu", "--strategy", "orthogonal_init+qr_projection+clip",
              "--eval-every", "50", "--spectral-every", "7", "--checkpoint-every", "20",
              "--no-progress", "--no-figures"]


def _kw_from_args(steps):
    return dict(task="recall", seq_len=10, delay=3, hidden=8, batch=8, device="cpu",
                strategy="orthogonal_init+qr_projection+clip", eval_every=50, spectral_every=7,
                checkpoint_every=20, steps=steps, figures=False)


def test_sigkill_mid_run_then_resume_gives_the_uninterrupted_final_metrics(tmp_path):
    steps = 1500  # long enough that the kill lands mid-run even on a fast machine
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "linalg_rnn", *TRAIN_ARGS, "--steps", str(steps),
                             "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env=ONE_THREAD)
    try:
        ok = _wait_for(lambda: (out / "checkpoint.pt").exists()
                       and _checkpoint_step(out / "checkpoint.pt") >= 40, proc)
        assert ok, f"no checkpoint before the run ended: {proc.communicate()[0][-2000:]!r}"
        assert proc.poll() is None, "the run finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    killed_at = _checkpoint_step(out / "checkpoint.pt")
    assert 40 <= killed_at < steps
    assert not (out / "result.json").exists()
    resumed = train(TrainConfig(**_kw_from_args(steps)), out, resume=True)
    full = train(TrainConfig(**_kw_from_args(steps)))
    assert resumed.steps_done == steps and not resumed.diverged
    assert resumed.final | {"elapsed_s": 0} == full.final | {"elapsed_s": 0}
    rows = read_jsonl(out / "metrics.jsonl")
    assert [r["step"] for r in rows] == list(range(1, steps + 1))  # no duplicated steps
    assert without_time(rows) == without_time(full.history)


def test_sigterm_writes_a_checkpoint_and_exits_cleanly(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "linalg_rnn", *TRAIN_ARGS, "--steps", "100000",
                             "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=ONE_THREAD)
    try:
        assert _wait_for(lambda: (out / "checkpoint.pt").exists(), proc)
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, output
    assert "rerun with --resume" in output
    step = _checkpoint_step(out / "checkpoint.pt")
    rows = read_jsonl(out / "metrics.jsonl")
    assert rows[-1]["step"] == step  # the checkpoint is of the last completed step
    saved = json.loads((out / "result.json").read_text())
    assert saved["interrupted"] == "SIGTERM" and saved["finished"] is False


def test_device_resolution():
    assert resolve_device("auto").type in ("cuda", "mps", "cpu")
    if not torch.cuda.is_available():
        assert resolve_device("auto").type != "cuda"
        with pytest.raises(ValueError, match="no CUDA GPU"):
            resolve_device("cuda")
        with pytest.raises(ValueError, match="no CUDA GPU"):
            train(TrainConfig(steps=1, **{**SMALL, "device": "cuda"}))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("strategy", ["vanilla", "qr_projection", "expm", "lstm+tbptt"])
def test_training_runs_on_cuda(strategy):
    result = train(TrainConfig(**{**SMALL, "device": "cuda"}, steps=5, strategy=strategy))
    assert result.device.startswith("cuda") and not result.diverged
    assert result.model.recurrent_matrix().device.type == "cuda"


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"seq_len": 0}, "seq_len must be an integer >= 1"),
        ({"strategy": "qr_projection", "proj_every": 0}, "proj_every must be an integer >= 1"),
        ({"strategy": "tbptt", "tbptt_window": 11}, "tbptt_window \\(11\\) is longer"),
        ({"strategy": "clip", "clip_norm": 0.0}, "clip_norm must be a finite number > 0"),
        ({"clip_norm": 1.0}, "clip_norm is set but the strategy 'vanilla' has no clip"),
        ({"proj_every": 3}, "has no projection"),
        ({"device": "gpu"}, "unknown device"),
        ({"task": "copy2"}, "unknown task"),
        ({"lr": -1.0}, "lr must be"),
        ({"orth_lr": 1e-4}, "orth_lr is set but the strategy 'vanilla' has no expm, cayley or projection"),
        ({"tbptt_update": "batch"}, "tbptt_update is set but the strategy 'vanilla' has no tbptt"),
        ({"strategy": "tbptt", "tbptt_update": "epoch"}, "unknown tbptt_update 'epoch'"),
        ({"strategy": "orthogonal_init", "init_scheme": "householder"}, "unknown init_scheme"),
        ({"norm_every": 0}, "norm_every must be an integer >= 1"),

        ({"strategy": "clip", "clip_norm": 1.0, "clip_value": 1.0}, "not both"),
        ({"permute": True}, "image tasks"),
        ({"task": "digits", "seq_len": 10, "delay": None}, "digits sequences have 64 steps"),
    ],
)
def test_bad_configs_fail_before_any_work(changes, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**{**SMALL, **changes}).resolved()


def test_digits_run_reports_accuracy():
    result = train(TrainConfig(task="digits", hidden=8, batch=16, steps=3, eval_every=3, device="cpu"))
    assert 0.0 <= result.final["val_accuracy"] <= 1.0 and 0.0 <= result.final["train_accuracy"] <= 1.0
    assert result.baseline_loss == pytest.approx(math.log(10), abs=0.01)


def test_sigint_in_process_checkpoints_the_step_and_resume_matches(tmp_path, monkeypatch, capsys):
    from linalg_rnn.cli import main

    real_step = trainer.train_step

    def step_then_interrupt(run, step):
        row = real_step(run, step)
        if step == 4:
            os.kill(os.getpid(), signal.SIGINT)  # as if the user pressed Ctrl-C during step 4
        return row

    monkeypatch.setattr(trainer, "train_step", step_then_interrupt)
    out = tmp_path / "run"
    args = ["train", "--task", "recall", "--seq-len", "10", "--delay", "3", "--hidden", "8", "--batch", "8",
            "--device", "cpu", "--steps", "9", "--checkpoint-every", "100", "--no-progress", "--no-figures",
            "--out", str(out)]
    before = signal.getsignal(signal.SIGINT)  # Python's default, or SIG_IGN under a shell's `cmd &`
    assert main(args) == 130
    assert "interrupted by SIGINT at step 4" in capsys.readouterr().out
    assert _checkpoint_step(out / "checkpoint.pt") == 4
    monkeypatch.setattr(trainer, "train_step", real_step)
    assert signal.getsignal(signal.SIGINT) is before  # handlers restored
    assert main(["train", "--out", str(out), "--resume", "--no-progress"]) == 0
    full = train(TrainConfig(steps=9, checkpoint_every=100, figures=False, **SMALL))
    rows = read_jsonl(out / "metrics.jsonl")
    assert without_time(rows) == without_time(full.history)


def test_progress_bar_shows_loss_grad_norm_and_w_hh_and_is_off_without_a_terminal(capsys, monkeypatch):
    train(TrainConfig(steps=3, spectral_every=1, **SMALL), progress=True)
    err = capsys.readouterr().err
    assert "recall/vanilla" in err and "loss=" in err and "grad=" in err and "W_hh=" in err
    monkeypatch.setenv("CI", "true")
    train(TrainConfig(steps=3, **SMALL))  # default: no bar under CI (nor when stderr is not a TTY)
    assert capsys.readouterr().err == ""


# --- truncated BPTT: the textbook algorithm and the accumulated variant ------------------------

def test_window_tbptt_makes_an_update_per_window_and_equals_a_hand_written_loop():
    cfg = TrainConfig(task="copy", seq_len=10, hidden=8, batch=4, device="cpu", strategy="tbptt",
                      tbptt_window=7, lr=0.01)
    assert cfg.resolved().tbptt_update == "window"  # the default: lesson 11's algorithm
    ours, ref = build_run(cfg), build_run(cfg)
    T, k = ours.task.length, 7
    rows = [train_step(ours, step) for step in (1, 2, 3)]
    assert [r["updates"] for r in rows] == [math.ceil(T / k)] * 3 == [5] * 3
    weights = ref.task.step_weights
    for _ in range(3):  # lesson 11's loop, written out
        x, y = ref.task.sample(4, ref.data_rng)
        h, losses = None, []
        for t0 in range(0, T, k):
            ref.optimizer.zero_grad()
            out, h = ref.model(x[:, t0 : t0 + k], h)
            loss = ref.task.loss(out, y, t0)
            (loss / weights[t0 : t0 + k].sum()).backward()  # the window's own mean loss
            ref.optimizer.step()
            h = h.detach()
            losses.append(loss.item())
    for p, q in zip(ours.model.parameters(), ref.model.parameters(), strict=True):
        assert torch.equal(p, q)
    assert rows[-1]["train_loss"] == pytest.approx(sum(losses), rel=1e-6)


def test_batch_tbptt_accumulates_the_windows_into_one_update():
    cfg = TrainConfig(task="recall", seq_len=12, delay=3, hidden=6, batch=4, device="cpu",
                      strategy="tbptt", tbptt_window=4, tbptt_update="batch")
    run = build_run(cfg)
    row = train_step(run, 1)
    assert row["updates"] == 1
    ref = build_run(cfg)
    x, y = ref.task.sample(4, ref.data_rng)
    ref.optimizer.zero_grad()
    h, loss = None, torch.zeros(())
    for t0 in range(0, 12, 4):  # the windows' gradients add up into one update
        out, h = ref.model(x[:, t0 : t0 + 4], h)
        share = ref.task.loss(out, y, t0)
        share.backward()
        h, loss = h.detach(), loss + share.detach()
    ref.optimizer.step()
    assert row["train_loss"] == loss.item()
    for p, q in zip(run.model.parameters(), ref.model.parameters(), strict=True):
        assert torch.equal(p, q)


def test_window_tbptt_skips_windows_without_loss_and_logs_updates():
    result = train(TrainConfig(task="recall", seq_len=12, delay=6, hidden=6, batch=4, steps=3, device="cpu",
                               strategy="tbptt", tbptt_window=3))
    # windows [0,3) and [3,6) carry no loss (delay 6): two updates per step, from [6,9) and [9,12)
    assert [r["updates"] for r in result.history] == [2, 2, 2]
    assert [r["updates"] for r in train(TrainConfig(steps=2, **SMALL)).history] == [1, 1]


# --- parametrized learning rate and the fused path ---------------------------------------------

def test_orth_lr_is_the_learning_rate_of_the_parametrizations_unconstrained_matrix():
    run = build_run(TrainConfig(strategy="expm", lr=0.02, **SMALL))
    groups = run.optimizer.param_groups
    assert [g["lr"] for g in groups] == [0.02, pytest.approx(0.002)]
    assert groups[1]["params"] == [run.model.recurrent_parameter()]
    assert sum(len(g["params"]) for g in groups) == len(list(run.model.parameters()))
    assert build_run(TrainConfig(strategy="cayley", orth_lr=0.5, **SMALL)).optimizer.param_groups[1]["lr"] \
        == 0.5


@pytest.mark.parametrize("strategy", ["qr_projection", "orthogonal_init+polar_projection"])
def test_orth_lr_is_the_learning_rate_of_w_hh_under_a_projection_and_defaults_to_lr(strategy):
    run = build_run(TrainConfig(strategy=strategy, lr=0.02, orth_lr=0.005, **SMALL))
    groups = run.optimizer.param_groups
    assert [g["lr"] for g in groups] == [0.02, 0.005]
    assert groups[1]["params"] == [run.model.recurrent_parameter()] == [run.model.weight_hh_l0]
    assert sum(len(g["params"]) for g in groups) == len(list(run.model.parameters()))
    assert TrainConfig(strategy=strategy, lr=0.02, **SMALL).resolved().orth_lr == 0.02


def test_a_projection_at_the_default_orth_lr_trains_exactly_as_with_one_learning_rate(monkeypatch):
    cfg = TrainConfig(strategy="qr_projection", steps=6, proj_every=2, eval_every=3, **SMALL)
    two_groups = train(cfg)
    monkeypatch.setattr(trainer, "_optimizer", lambda c, m: torch.optim.Adam(m.parameters(), lr=c.lr))
    one_group = train(cfg)
    assert without_time(two_groups.history) == without_time(one_group.history)


@pytest.mark.parametrize("strategy", ["expm", "cayley"])
def test_parametrized_strategies_run_fused_by_default_and_agree_with_the_loop(strategy):
    from linalg_rnn.rnn.models import FunctionalRNN

    kw = dict(steps=5, strategy=strategy, lr=0.02, **SMALL)
    fused, loop = train(TrainConfig(**kw)), train(TrainConfig(model="loop", **kw))
    assert isinstance(fused.model, FunctionalRNN) and not isinstance(loop.model, FunctionalRNN)
    for a, b in zip(fused.history, loop.history, strict=True):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-4)
    assert torch.allclose(fused.model.recurrent_matrix(), loop.model.recurrent_matrix(), atol=1e-5)


def test_per_lag_gradients_run_on_the_fused_parametrized_model():
    result = train(TrainConfig(task="adding", seq_len=10, hidden=6, batch=8, steps=2, lag_grads_every=2,
                               strategy="cayley", device="cpu"))
    assert len(result.history[-1]["hidden_grad_norms"]) == 10


# --- W_hh metrics: the norm every step, the eigenvalues less often ----------------------------

def test_norm_every_samples_the_spectral_norm_between_eigenvalue_steps():
    result = train(TrainConfig(steps=6, strategy="qr_projection", proj_every=3, norm_every=1,
                               spectral_every=3, lr=0.05, **SMALL))
    rows = result.history
    assert all(r["w_hh_spectral_norm"] is not None for r in rows)
    assert [r["step"] for r in rows if r["w_hh_max_abs_eigenvalue"] is not None] == [3, 6]
    errors = [r["orthogonality_error"] for r in rows]
    assert errors[2] < 1e-5 and errors[5] < 1e-5  # projected at 3 and 6 ...
    assert errors[0] > 1e-3 and errors[3] > 1e-3  # ... and drifting in between
    default = train(TrainConfig(steps=4, spectral_every=2, **SMALL))  # norm_every None: with the eigenvalues
    assert [r["step"] for r in default.history if r["w_hh_spectral_norm"] is not None] == [2, 4]


def test_result_rows_keep_the_design_names():
    result = train(TrainConfig(steps=2, eval_every=1, **SMALL))
    assert REQUIRED | {"updates", "grad_norm_w_hh", "val_loss"} <= result.history[0].keys()


# --- what a resume takes from the checkpoint, and what it does not -------------------------------

def test_the_learning_rate_after_a_resume_is_the_configs_not_the_checkpoints(tmp_path):
    from linalg_rnn.rnn.checkpoint import load_checkpoint, save_checkpoint

    kw = dict(steps=8, checkpoint_every=4, eval_every=4, strategy="expm", lr=0.01, **SMALL)
    full = train(TrainConfig(**kw))
    train(TrainConfig(**{**kw, "steps": 4}), tmp_path)
    ckpt = load_checkpoint(tmp_path / "checkpoint.pt")
    assert [g["lr"] for g in ckpt["optimizer"]["param_groups"]] == [0.01, pytest.approx(0.001)]
    for group in ckpt["optimizer"]["param_groups"]:
        group["lr"] = 0.5  # a checkpoint whose optimizer state says otherwise
    save_checkpoint(tmp_path / "checkpoint.pt", ckpt)
    resumed = train(TrainConfig(**kw), tmp_path, resume=True)
    assert without_time(resumed.history[4:]) == without_time(full.history[4:])


# --- W_hh metrics and the figure of a run --------------------------------------------------------

def test_w_hh_metrics_of_a_matrix_that_is_not_finite_are_nan_not_an_error():
    got = recurrent_metrics(torch.tensor([[float("inf"), 0.0], [0.0, 1.0]]))
    assert all(math.isnan(v) for v in got.values())


def test_curves_use_plain_tick_labels_without_an_offset():
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from linalg_rnn.rnn.metrics import plot_run, plot_runs

    rows = [{"step": s, "train_loss": 1 + 1e-9 * s, "grad_norm": 1.0, "w_hh_spectral_norm": 1 + 1e-9 * s}
            for s in range(1, 30)]
    for fig in (plot_run(rows), plot_runs({"a": rows})):
        FigureCanvasAgg(fig).draw()
        for ax in (fig.axes[0], fig.axes[2]):  # loss and ||W_hh||_2; the gradient panel is logarithmic
            assert ax.yaxis.get_offset_text().get_text() == ""  # no "1e-8+1" above the axis
            labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
            assert labels and not any("e" in label for label in labels), labels


# --- the final held-out evaluation ---------------------------------------------------------------

def test_final_test_loss_equals_a_direct_computation_on_the_held_out_test_set():
    cfg = TrainConfig(steps=6, eval_sequences=300, **SMALL)
    result = train(cfg)
    task = build_run(result.config).task
    x, y = task.held_out("test", 300, seed=cfg.seed)
    with torch.no_grad():
        out, _ = result.model(x)
        direct = float(task.loss(out, y))
    assert result.final["test_loss"] == pytest.approx(direct, rel=1e-6)
    assert result.final["test_trivial_loss"] == pytest.approx(task.trivial_loss(y), rel=1e-6)
    assert result.final["test_sequences"] == result.final["val_sequences"] == 300
    assert result.final["params"] == sum(p.numel() for p in result.model.parameters())
    assert "skew_norm" not in result.final  # no parametrization, no B


def test_final_validation_and_test_sets_differ_from_each_other_and_from_the_training_validation_batch():
    run = build_run(TrainConfig(eval_sequences=64, **SMALL))
    xv, _ = run.task.held_out("validation", 64, seed=0)
    xt, _ = run.task.held_out("test", 64, seed=0)
    assert not torch.equal(xv, xt)
    assert not torch.equal(xv[: len(run.val_x)], run.val_x[: len(xv)])
    final = train(TrainConfig(steps=3, eval_sequences=64, **SMALL)).final
    assert final["val_loss"] != final["test_loss"]


def test_chunked_held_out_mean_equals_one_batch_in_float64():
    run = build_run(TrainConfig(task="copy", seq_len=5, hidden=8, device="cpu"))
    model = run.model.double()
    x, y = run.task.held_out("test", 1000, seed=0)
    x = x.double()
    whole = trainer.held_out_scores(model, run.task, x, y, chunk=1000)
    chunked = trainer.held_out_scores(model, run.task, x, y, chunk=77)  # 12 chunks of 77, one of 76
    for key in ("loss", "accuracy"):  # the model in float64: the same mean to rounding
        assert chunked[key] == pytest.approx(whole[key], rel=1e-12, abs=1e-15), key
    # the constant predictor's log-probabilities are float32: the same mean to float32 rounding
    assert chunked["trivial_loss"] == pytest.approx(run.task.trivial_loss(y), rel=1e-6)


def test_data_set_final_evaluation_scores_the_whole_held_out_splits():
    result = train(TrainConfig(task="digits", hidden=4, steps=2, device="cpu"))
    task = build_run(result.config).task
    assert (result.final["val_sequences"], result.final["test_sequences"]) == (task.n_val, task.n_test)
    assert 0 <= result.final["test_accuracy"] <= 1 and 0 <= result.final["val_accuracy"] <= 1


def test_resumed_run_reports_the_final_held_out_numbers_of_an_uninterrupted_run(tmp_path):
    kw = dict(strategy="expm", eval_every=4, checkpoint_every=3, eval_sequences=200, **SMALL)
    full = train(TrainConfig(steps=8, **kw))
    train(TrainConfig(steps=5, **kw), tmp_path)
    resumed = train(TrainConfig(steps=8, **kw), tmp_path, resume=True)
    keys = ("val_loss", "test_loss", "test_trivial_loss", "trivial_val_loss", "skew_norm", "params")
    assert {k: resumed.final[k] for k in keys} == {k: full.final[k] for k in keys}
    assert full.final["skew_norm"] > 0
    again = train(TrainConfig(steps=8, **kw), tmp_path, resume=True)  # finished: written again, the same
    assert {k: again.final[k] for k in keys} == {k: full.final[k] for k in keys}
    saved = json.loads((tmp_path / "result.json").read_text())["final"]
    assert saved["test_loss"] == full.final["test_loss"]


def test_diverged_run_records_the_constant_predictors_losses_but_no_model_scores():
    result = train(TrainConfig(steps=50, lr=1e20, **SMALL))
    assert result.diverged
    final = result.final
    assert "test_loss" not in final and "test_accuracy" not in final
    assert math.isfinite(final["test_trivial_loss"]) and math.isfinite(final["trivial_val_loss"])
    assert final["params"] == sum(p.numel() for p in result.model.parameters())


def test_interrupted_run_has_no_final_held_out_numbers_and_its_resume_does(tmp_path, monkeypatch):
    real_step = trainer.train_step

    def step_then_interrupt(run, step):
        row = real_step(run, step)
        if step == 2:
            os.kill(os.getpid(), signal.SIGINT)  # as if the user pressed Ctrl-C during step 2
        return row

    monkeypatch.setattr(trainer, "train_step", step_then_interrupt)
    cfg = TrainConfig(steps=4, eval_sequences=50, figures=False, **SMALL)
    stopped = train(cfg, tmp_path)
    assert stopped.interrupted == "SIGINT" and "test_loss" not in stopped.final
    monkeypatch.setattr(trainer, "train_step", real_step)
    resumed = train(cfg, tmp_path, resume=True)
    assert resumed.final["test_loss"] == train(cfg).final["test_loss"]


def test_cli_train_prints_and_records_the_held_out_numbers(tmp_path, capsys):
    from linalg_rnn.cli import main

    out = tmp_path / "run"
    assert main(["train", "--task", "digits", "--hidden", "4", "--steps", "2", "--device", "cpu",
                 "--no-progress", "--no-figures", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    final = json.loads((out / "result.json").read_text())["final"]
    for key in ("test_loss", "test_accuracy", "test_trivial_loss", "trivial_val_loss", "params"):
        assert re.search(rf"^  {key} +\S", printed, re.MULTILINE), key
        assert final[key] is not None, key
