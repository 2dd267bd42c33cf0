"""The training loop: one run of one strategy on one task, measured, checkpointed, resumable.

:func:`train` is the Python API behind ``linalg-rnn train``. One *step* is
one batch -- the same data for every strategy -- and the loop reads, like
the algorithm, as these numbered blocks (steps 1--5 are
:func:`~linalg_rnn.rnn._step.train_step`):

1. draw a batch on the CPU, from the run's seeded generator, and move it to
   the device (so the data depend on the seed alone, not on the device);
2. forward and backward -- the whole sequence, or window by window for
   ``tbptt`` (the hidden state carried, detached, between windows);
3. take the gradient norms, total and :math:`W_{hh}`, *before* clipping; clip;
4. read the loss, the norms and the accuracy back in **one** transfer; a
   NaN/inf loss or gradient ends the run here as diverged, with no update;
5. update, then project :math:`W_{hh}` every ``proj_every`` steps
   (``qr_projection``/``polar_projection``). With ``tbptt`` in its default
   ``window`` form, steps 2--5 repeat for every window that carries loss:
   one update per window, as in lesson 11;
6. the :math:`O(H^3)` metrics of :math:`W_{hh}` (after the update and the
   projection), on a float64 copy on the CPU: :math:`\\|W_{hh}\\|_2` and the
   orthogonality error every ``norm_every`` steps, the spectral radius too
   every ``spectral_every`` steps;
7. the validation loss (and accuracy) every ``eval_every`` steps;
8. the per-lag gradient norms every ``lag_grads_every`` steps;
9. append the metrics row;
10. a checkpoint every ``checkpoint_every`` steps;
11. stop after the step on SIGINT/SIGTERM (checkpointed first).

The last step, and a diverged one, always gets 6, 7 and 10.

Keys of a metrics row:

* ``step``, ``train_loss``, ``elapsed_s`` (seconds since the run began,
  resumed runs included), ``updates`` (optimizer updates this step: 1, the
  windows with loss for window-wise ``tbptt``, 0 on a diverged step);
* ``grad_norm`` -- L2 norm of all gradients, before clipping;
  ``grad_norm_w_hh`` -- of the gradient of ``model.recurrent_parameter()``:
  :math:`W_{hh}` itself, the unconstrained matrix of an ``expm``/``cayley``
  parametrization, the stacked ``(4H, H)`` weight of an LSTM (window-wise
  ``tbptt``: the largest over the step's updates);
* ``w_hh_spectral_norm``, ``w_hh_max_abs_eigenvalue``, ``orthogonality_error``
  -- of the effective :math:`W_{hh}` (LSTM: its cell-candidate block); ``null``
  on the steps that do not compute them;
* ``train_accuracy`` (classification tasks); ``val_loss`` and
  ``val_accuracy`` on evaluation steps only; ``hidden_grad_norms`` every
  ``lag_grads_every`` steps; ``diverged: true`` on the row where a run diverged.

A run directory holds ``config.json``, ``metrics.jsonl`` (appended, one row
per logged step), ``metrics.csv``, ``result.json`` (with an ``environment``
record: torch, CUDA and cuDNN versions, device name, TF32, deterministic
mode), ``checkpoint.pt`` and ``curves.png``; every whole-file write is atomic.
SIGINT/SIGTERM finish the current step, write a checkpoint and return;
``resume=True`` continues from the checkpoint. Who may write in a folder,
the lock that keeps one run per folder, and what a resume trusts are
:mod:`~linalg_rnn.rnn.rundir`'s job.

**What resume promises.** A resumed run continues from the checkpoint's
weights, optimizer state and data generator (always a CPU generator, so a run
may resume on another device type). On the CPU it ends with exactly the
metrics of an uninterrupted run (``elapsed_s`` aside). On a CUDA GPU in
deterministic mode (the default there) it does too, bit for bit, when it
resumes on the same GPU model with the same torch, CUDA and cuDNN versions.
Otherwise -- deterministic mode off, another GPU model or library version,
MPS, or a resume on another device type -- the resumed run agrees with an
uninterrupted one only to rounding, and the two may drift apart over many
steps as any two floating-point trainings do.
"""

from __future__ import annotations

import math
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from ._environment import check_device_support, environment_record, numerics
from ._step import evaluate, to_device
from ._step import train_step as _train_step
from .config import TrainConfig, resolve_device
from .metrics import hidden_gradient_norms, plot_run, recurrent_metrics
from .models import build_model
from .rundir import RunDir
from .strategies import Strategy, parse_strategy
from .tasks import SequenceTask, make_task

__all__ = ["Run", "TrainResult", "TrainState", "build_run", "train"]

_SPECTRAL_KEYS = ("w_hh_spectral_norm", "w_hh_max_abs_eigenvalue", "orthogonality_error")
_OPTIMIZERS = {"adam": torch.optim.Adam, "rmsprop": torch.optim.RMSprop, "sgd": torch.optim.SGD}


@dataclass
class TrainResult:
    """What a run produced.

    Attributes
    ----------
    config : TrainConfig
        The resolved configuration.
    final : dict
        The last value of every metric (loss, gradient norms, ``val_loss``,
        ``w_hh_spectral_norm``, ...).
    diverged : bool
        True when a NaN/inf loss or gradient stopped the run.
    divergence_step : int or None
        The step where it happened.
    baseline_loss : float
        The task's trivial baseline.
    steps_done : int
        Completed steps.
    interrupted : str or None
        ``"SIGINT"``/``"SIGTERM"`` when a signal stopped the run (resumable).
    history : list of dict
        The metric rows, as in ``metrics.jsonl``.
    initial : dict
        :math:`W_{hh}` metrics before the first step.
    device : str
        Where it ran.
    out_dir : Path or None
        The run directory, if any.
    model : torch.nn.Module
        The trained model.
    initial_w_hh : torch.Tensor
        :math:`W_{hh}` before training (CPU copy), e.g. for its eigenvalues.
    environment : dict
        Where it ran: versions, device name, TF32, deterministic mode
        (:func:`~linalg_rnn.rnn._environment.environment_record`), and
        ``resumed_from`` (step and device of the checkpoint) for a resumed run.
    """

    config: TrainConfig
    final: dict
    diverged: bool
    divergence_step: int | None
    baseline_loss: float
    steps_done: int
    interrupted: str | None
    history: list[dict]
    initial: dict
    device: str
    out_dir: Path | None = None
    model: torch.nn.Module | None = field(default=None, repr=False)
    initial_w_hh: torch.Tensor | None = field(default=None, repr=False)
    environment: dict = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict:
        """The JSON-ready summary written to ``result.json``."""
        return {
            "task": self.config.task,
            "strategy": self.config.strategy,
            "finished": self.interrupted is None and (self.diverged or self.steps_done == self.config.steps),
            "interrupted": self.interrupted,
            "steps_done": self.steps_done,
            "diverged": self.diverged,
            "divergence_step": self.divergence_step,
            "baseline_loss": self.baseline_loss,
            "final": self.final,
            "initial": self.initial,
            "device": self.device,
            "environment": self.environment,
        }


@dataclass
class Run:
    """The live objects of one run, as :func:`build_run` makes them.

    Attributes
    ----------
    config : TrainConfig
        Resolved.
    strategy : Strategy
        Parsed from ``config.strategy``.
    device : torch.device
        Where the model and the batches live.
    task : SequenceTask
        The task.
    model : torch.nn.Module
        On ``device``.
    optimizer : torch.optim.Optimizer
        Over ``params``; a second parameter group, at ``orth_lr``, holds the
        unconstrained matrix of an ``expm``/``cayley`` parametrization.
    data_rng : torch.Generator
        The CPU generator every training batch is drawn from.
    val_x, val_y : torch.Tensor
        The fixed validation batch, on ``device``.
    lag_x, lag_y : torch.Tensor or None
        The fixed batch of the per-lag gradients (``lag_grads_every``).
    windows : list of (int, int, float)
        ``(t0, t1, weight)`` of each truncated-BPTT window (one window
        without ``tbptt``): its timesteps and its share of the loss weights.
    params : list of torch.nn.Parameter
        ``model.parameters()``, listed once.
    """

    config: TrainConfig
    strategy: Strategy
    device: torch.device
    task: SequenceTask
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    data_rng: torch.Generator
    val_x: torch.Tensor
    val_y: torch.Tensor
    lag_x: torch.Tensor | None
    lag_y: torch.Tensor | None
    windows: list[tuple[int, int, float]]
    params: list[torch.nn.Parameter]


def _windows(task: SequenceTask, window: int | None) -> list[tuple[int, int, float]]:
    """The truncation windows ``(t0, t1, loss weight)``; one window when ``window`` is None."""
    T = task.length
    k = window or T
    return [(t0, min(t0 + k, T), float(task.step_weights[t0 : t0 + k].sum())) for t0 in range(0, T, k)]


def _optimizer(config: TrainConfig, strategy: Strategy, model: torch.nn.Module) -> torch.optim.Optimizer:
    """The optimizer; a parametrization's unconstrained matrix gets its own group at ``orth_lr``."""
    cls = _OPTIMIZERS[config.optimizer]
    if strategy.parametrization is None:
        return cls(model.parameters(), lr=config.lr)
    X = model.recurrent_parameter()
    rest = [p for p in model.parameters() if p is not X]
    return cls([{"params": rest}, {"params": [X], "lr": config.orth_lr}], lr=config.lr)


def build_run(config: TrainConfig) -> Run:
    """Build the task, model, optimizer and generators of a run (no training).

    Parameters
    ----------
    config : TrainConfig
        Resolved or not; it is resolved (checked) here.

    Returns
    -------
    Run
        The live objects, ready for the first step.

    Notes
    -----
    The model is initialized on the CPU from torch's default CPU generator,
    seeded with ``seed`` inside ``torch.random.fork_rng`` (so the caller's
    random state is untouched and the init is the same on every device),
    then moved. The data come from a CPU ``torch.Generator`` seeded with
    ``seed + 1`` and are moved to the device, so the batches depend on the
    seed alone; the validation batch comes from its own generator seeded
    with ``seed + 2``, the per-lag batch from ``seed + 3``. Taught in lesson 13.

    Examples
    --------
    >>> run = build_run(TrainConfig(task="adding", seq_len=8, hidden=4, device="cpu"))
    >>> type(run.model).__name__, run.task.length, run.data_rng.device
    ('FusedRNN', 8, device(type='cpu'))
    >>> type(build_run(TrainConfig(task="adding", seq_len=8, hidden=4, strategy="expm",
    ...                            device="cpu")).model).__mro__[1].__name__
    'FunctionalRNN'
    """
    config = config if config._resolved else config.resolved()
    device = resolve_device(config.device)
    strategy = parse_strategy(config.strategy)
    task = make_task(config.task, config.seq_len, seed=config.seed, **config.task_options())
    with torch.random.fork_rng(devices=[]):
        torch.random.default_generator.manual_seed(config.seed)  # the CPU generator only
        model = build_model(config.model_kind, task.input_size, config.hidden, task.output_size,
                            parametrization=strategy.parametrization, init_scheme=config.init_scheme,
                            init_gain=config.init_gain, activation=config.activation or "tanh",
                            forget_bias=config.forget_bias,
                            chrono_t_max=task.length if config.lstm_init == "chrono" else None)
    model = model.to(device)
    val_x, val_y = task.validation_batch(config.val_batch, config.seed + 2)  # drawn on the CPU
    lag_x = lag_y = None
    if config.lag_grads_every:
        lag_x, lag_y = task.sample(config.batch, torch.Generator().manual_seed(config.seed + 3))
        lag_x, lag_y = to_device(lag_x, device), to_device(lag_y, device)
    return Run(
        config=config, strategy=strategy, device=device, task=task, model=model,
        optimizer=_optimizer(config, strategy, model),
        data_rng=torch.Generator().manual_seed(config.seed + 1),
        val_x=to_device(val_x, device), val_y=to_device(val_y, device), lag_x=lag_x, lag_y=lag_y,
        windows=_windows(task, config.tbptt_window), params=list(model.parameters()),
    )


@dataclass
class TrainState:
    """Where a run stands, and the one place that saves it to and restores it from a checkpoint.

    Attributes
    ----------
    step : int
        Completed steps.
    elapsed_s : float
        Training seconds so far, over every session of the run.
    diverged : bool
        A NaN/inf loss or gradient stopped the run.
    divergence_step : int or None
        Where.
    initial : dict
        :math:`W_{hh}` metrics before the first step.
    initial_w_hh : torch.Tensor or None
        :math:`W_{hh}` before the first step (a CPU copy).
    interrupted : str or None
        Set by SIGINT/SIGTERM during this session (not saved).
    resumed_from : dict or None
        ``{"step", "device"}`` of the checkpoint this session resumed from.
    """

    step: int = 0
    elapsed_s: float = 0.0
    diverged: bool = False
    divergence_step: int | None = None
    initial: dict = field(default_factory=dict)
    initial_w_hh: torch.Tensor | None = None
    interrupted: str | None = None
    resumed_from: dict | None = None

    @classmethod
    def start(cls, run: Run) -> TrainState:
        """The state of a fresh run: step 0, and :math:`W_{hh}` as initialized."""
        W0 = run.model.recurrent_matrix().cpu().clone()
        return cls(initial=recurrent_metrics(W0), initial_w_hh=W0)

    def checkpoint(self, run: Run) -> dict:
        """Everything needed to resume, loadable with ``torch.load(weights_only=True)``."""
        return {
            "step": self.step, "elapsed_s": self.elapsed_s, "diverged": self.diverged,
            "divergence_step": self.divergence_step, "initial": self.initial,
            "initial_w_hh": self.initial_w_hh,
            "model": run.model.state_dict(), "optimizer": run.optimizer.state_dict(),
            "rng": {"data": run.data_rng.get_state(), "torch_cpu": torch.get_rng_state()},
            "device": run.device.type, "config": run.config.to_dict(),
        }

    @classmethod
    def restore(cls, run: Run, checkpoint: dict) -> TrainState:
        """Load a checkpoint into ``run`` (model, optimizer, generators); return its state.

        Raises
        ------
        ValueError
            If the checkpoint's data generator is not a CPU generator's (a
            checkpoint of an older version, written on a GPU).
        """
        data = checkpoint["rng"]["data"]
        if data.numel() != run.data_rng.get_state().numel():
            raise ValueError(
                f"cannot resume: the checkpoint's data generator state has {data.numel()} bytes, not "
                f"the {run.data_rng.get_state().numel()} of a CPU generator (written on "
                f"{checkpoint.get('device', 'a GPU')} by an older version); start the run again"
            )
        run.model.load_state_dict(checkpoint["model"])
        run.optimizer.load_state_dict(checkpoint["optimizer"])
        run.data_rng.set_state(data)
        torch.set_rng_state(checkpoint["rng"]["torch_cpu"])
        return cls(
            step=checkpoint["step"], elapsed_s=checkpoint["elapsed_s"], diverged=checkpoint["diverged"],
            divergence_step=checkpoint["divergence_step"], initial=checkpoint["initial"],
            initial_w_hh=checkpoint["initial_w_hh"],
            resumed_from={"step": checkpoint["step"], "device": checkpoint.get("device", "unknown")},
        )


@contextmanager
def _catch_signals(state: TrainState) -> Iterator[None]:
    """SIGINT/SIGTERM set ``state.interrupted`` instead of killing the run mid-step."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    names = {signal.SIGINT: "SIGINT", signal.SIGTERM: "SIGTERM"}

    def handler(signum: int, frame: Any) -> None:
        state.interrupted = names.get(signum, str(signum))

    previous = {s: signal.signal(s, handler) for s in names}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def _progress_enabled(progress: bool | None) -> bool:
    if progress is not None:
        return progress
    return sys.stderr.isatty() and not os.environ.get("CI")


def _final_metrics(rows: list[dict]) -> dict:
    """The last non-null value of every metric (per-lag norms aside)."""
    final: dict = {}
    for r in rows:
        final.update({k: v for k, v in r.items() if v is not None and k != "hidden_grad_norms"})
    return final


def train(
    config: TrainConfig,
    out_dir: str | Path | None = None,
    *,
    resume: bool = False,
    progress: bool | None = None,
    force: bool = False,
) -> TrainResult:
    """Train one model with one strategy on one task, measuring as it goes.

    Parameters
    ----------
    config : TrainConfig
        The run; checked before any work.
    out_dir : str or Path, optional
        Run directory for ``config.json``, ``metrics.jsonl``, ``metrics.csv``,
        ``result.json``, ``checkpoint.pt`` and ``curves.png``. ``None``: keep
        everything in memory (the returned result).
    resume : bool, optional
        Continue the run in ``out_dir`` from its checkpoint; refused when
        ``out_dir`` holds no run. The checkpoint's config is the run's: only
        ``steps`` (never fewer than done), ``device``, ``checkpoint_every`` and
        ``figures`` may differ. A finished run has nothing to train: its
        outputs are written again.
    progress : bool, optional
        Show a tqdm bar; default: only when stderr is a terminal and ``$CI``
        is unset.
    force : bool, optional
        Start a fresh run in an ``out_dir`` that holds other files or an
        earlier run: the files a run writes are first moved into
        ``out_dir/replaced-<time>/`` (nothing is deleted). Not with ``resume``.

    Returns
    -------
    TrainResult

    Raises
    ------
    ValueError
        For a bad config, a strategy the device cannot run, an unreadable
        checkpoint, or a config that does not match the run being resumed.
    FileExistsError
        If ``out_dir`` holds an earlier run or files linalg-rnn did not write
        (and neither ``resume`` nor ``force`` is given).
    FileNotFoundError
        If ``resume`` is given and ``out_dir`` holds no run.
    OSError
        If ``out_dir`` cannot be written (a file in the way, permissions, a
        read-only file system); :class:`~linalg_rnn.rnn.checkpoint.RunDirBusyError`
        if another run holds it. All of these come before any work, with the
        folder unchanged.

    Notes
    -----
    Divergence (NaN/inf loss or gradient) never raises: the run stops with
    ``diverged=True`` and ``divergence_step`` recorded. The run trains at one
    precision (TF32 only with ``allow_tf32``) and, by default on CUDA, in
    deterministic mode; the caller's settings and random state are restored
    afterwards. Seeded CPU runs are bit-for-bit reproducible, resumed or not
    (``elapsed_s`` aside); the module docstring says what resume promises on
    each device, :mod:`~linalg_rnn.rnn.rundir` what the run directory
    promises (ownership, one run at a time). Taught in lesson 13.

    Examples
    --------
    >>> cfg = TrainConfig(task="adding", seq_len=10, hidden=8, steps=20, device="cpu",
    ...                   strategy="orthogonal_init+qr_projection", proj_every=5)
    >>> result = train(cfg)
    >>> result.steps_done, result.diverged, round(result.baseline_loss, 4)
    (20, False, 0.1667)
    >>> result.final["orthogonality_error"] < 1e-5   # projected at step 20
    True
    """
    config = config.resolved()
    device = resolve_device(config.device)
    check_device_support(parse_strategy(config.strategy), device)
    # the run directory: checked, locked and its checkpoint read before any work
    rundir = RunDir.open(out_dir, config, resume=resume, force=force) if out_dir is not None else None
    try:
        return _train_in(rundir, config, device, progress)
    finally:
        if rundir is not None:
            rundir.close()  # releases the lock; a folder never claimed is left as it was


def _train_in(rundir: RunDir | None, config: TrainConfig, device: torch.device,
              progress: bool | None) -> TrainResult:
    """:func:`train` once its run directory (if any) is open and locked."""
    checkpoint = rundir.checkpoint if rundir is not None else None
    with numerics(device, allow_tf32=config.allow_tf32, deterministic=config.deterministic) as determ, \
            torch.random.fork_rng(devices=[]):
        torch.random.default_generator.manual_seed(config.seed)
        run = build_run(config)
        if checkpoint is None:
            state = TrainState.start(run)
        else:
            try:
                state = TrainState.restore(run, checkpoint)
            except (KeyError, RuntimeError, TypeError, ValueError) as exc:
                reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
                raise ValueError(f"{rundir.path / 'checkpoint.pt'} does not fit this run ({reason}); "
                                 "nothing was changed") from None
        rows = rundir.claim() if rundir is not None else []  # the rows up to the checkpoint
        _loop(run, state, rows, rundir, progress)
    environment = environment_record(device, allow_tf32=config.allow_tf32, deterministic=determ)
    if state.resumed_from is not None:
        environment["resumed_from"] = state.resumed_from
    result = TrainResult(
        config=config, final=_final_metrics(rows), diverged=state.diverged,
        divergence_step=state.divergence_step, baseline_loss=run.task.baseline_loss,
        steps_done=state.step, interrupted=state.interrupted, history=rows,
        initial=state.initial, device=str(device), out_dir=rundir.path if rundir is not None else None,
        model=run.model, initial_w_hh=state.initial_w_hh, environment=environment,
    )
    if rundir is not None:
        fig = (plot_run(rows, title=f"{config.task}: {config.strategy}", baseline_loss=run.task.baseline_loss)
               if config.figures and rows else None)
        rundir.finish(result.to_dict(), rows, fig)
    return result


def _loop(run: Run, state: TrainState, rows: list[dict], rundir: RunDir | None,
          progress: bool | None) -> None:
    """Run steps until ``config.steps``, a divergence or a signal; blocks numbered as in the module doc."""
    cfg = run.config
    clock, elapsed_before = time.perf_counter(), state.elapsed_s
    shown_norm = math.nan  # the last ||W_hh||_2 computed, for the progress bar
    bar = tqdm(total=cfg.steps, initial=min(state.step, cfg.steps), disable=not _progress_enabled(progress),
               desc=f"{cfg.task}/{cfg.strategy}", dynamic_ncols=True)
    with _catch_signals(state), bar:
        while state.step < cfg.steps and not state.diverged:
            state.step += 1
            step = state.step

            # 1-5. batch, forward/backward, gradient norms and clipping, one read, update, projection
            row = _train_step(run, step)

            # 4. a NaN/inf loss or gradient ends the run (that step made no update)
            if row.get("diverged"):
                state.diverged, state.divergence_step = True, step
            final = state.diverged or step == cfg.steps

            # 6. W_hh metrics after the update and projection, on a float64 CPU copy
            eigenvalues = final or step % cfg.spectral_every == 0
            if eigenvalues or step % (cfg.norm_every or cfg.spectral_every) == 0:
                row.update(recurrent_metrics(run.model.recurrent_matrix(), eigenvalues=eigenvalues))
            else:  # the keys stay, with null, so every row has them
                row.update(dict.fromkeys(_SPECTRAL_KEYS))

            # 7. validation
            if not state.diverged and (final or step % cfg.eval_every == 0):
                row.update(evaluate(run))

            # 8. per-lag gradient norms, through the explicit loop on the model's own weights
            if not state.diverged and cfg.lag_grads_every and step % cfg.lag_grads_every == 0:
                row["hidden_grad_norms"] = hidden_gradient_norms(run.model, run.task, run.lag_x, run.lag_y)

            # 9. log the row
            state.elapsed_s = elapsed_before + time.perf_counter() - clock
            row["elapsed_s"] = state.elapsed_s
            if final or step % cfg.log_every == 0 or "val_loss" in row:
                rows.append(row)
                if rundir is not None:
                    rundir.append_row(row)
                if not bar.disable:
                    if row["w_hh_spectral_norm"] is not None:
                        shown_norm = row["w_hh_spectral_norm"]
                    bar.set_postfix(loss=f"{row['train_loss']:.4g}", grad=f"{row['grad_norm']:.3g}",
                                    W_hh=f"{shown_norm:.3f}", refresh=False)
            bar.update(1)

            # 10. checkpoint
            if rundir is not None and (final or step % cfg.checkpoint_every == 0 or state.interrupted):
                rundir.save_checkpoint(state.checkpoint(run))

            # 11. a signal stops the run after a finished, checkpointed step
            if state.interrupted:
                break
    if state.step >= cfg.steps or state.diverged:
        state.interrupted = None  # a signal during the last step changed nothing
