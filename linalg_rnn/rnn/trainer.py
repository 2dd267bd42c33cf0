"""The training loop: one run of one strategy on one task, measured, checkpointed, resumable.

:func:`train` is the Python API behind ``linalg-rnn train``. One *step* is
one batch and one optimizer update:

1. draw a batch from the data generator;
2. forward and backward -- the whole sequence, or window by window for
   ``tbptt`` (the hidden state carried, detached, between windows; each
   window's gradient accumulated, so there is still one update per batch);
3. read the gradient norms, total and :math:`W_{hh}`, *before* clipping;
4. a NaN/inf loss or gradient ends the run here as diverged (no update);
5. clip (``clip``), update, then project :math:`W_{hh}` every ``proj_every``
   steps (``qr_projection``/``polar_projection``).

Metrics (see :mod:`~linalg_rnn.rnn.metrics`): every logged step, the loss,
the gradient norms and the elapsed time; every ``spectral_every`` steps the
SVD/eigenvalue metrics of :math:`W_{hh}` (after that step's update and
projection); every ``eval_every`` steps the validation loss (and accuracy).
The last step always gets all of them.

Keys of a metrics row:

* ``step``, ``train_loss``, ``elapsed_s`` (seconds since the run began,
  resumed runs included);
* ``grad_norm`` -- L2 norm of all gradients, before clipping;
  ``grad_norm_w_hh`` -- of the gradient of ``model.recurrent_parameter()``:
  :math:`W_{hh}` itself, the unconstrained ``original`` of an ``expm``/``cayley``
  parametrization, the stacked ``(4H, H)`` weight of an LSTM;
* ``w_hh_spectral_norm``, ``w_hh_max_abs_eigenvalue``, ``orthogonality_error``
  -- of the effective :math:`W_{hh}` (LSTM: its cell-candidate block); ``null``
  on the steps between two ``spectral_every`` steps;
* ``train_accuracy`` (classification tasks); ``val_loss`` and
  ``val_accuracy`` on evaluation steps only; ``hidden_grad_norms`` every
  ``lag_grads_every`` steps; ``diverged: true`` on the row where a run diverged.

A run directory holds ``config.json``, ``metrics.jsonl`` (appended, one row
per logged step), ``metrics.csv``, ``result.json``, ``checkpoint.pt`` and
``curves.png``; every whole-file write is atomic. SIGINT/SIGTERM finish the
current step, write a checkpoint and return; ``resume=True`` continues from
the checkpoint and, on the CPU, ends with exactly the metrics of an
uninterrupted run. Who may write in a folder, the lock that keeps one run
per folder, and what a resume trusts are :mod:`~linalg_rnn.rnn.rundir`'s job.
"""

from __future__ import annotations

import math
import os
import signal
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from .config import TrainConfig, resolve_device
from .metrics import gradient_norm, hidden_gradient_norms, plot_run, recurrent_metrics
from .models import build_model, parametrize_orthogonal
from .rundir import RunDir
from .strategies import Strategy, orthogonal_init_, parse_strategy, polar_project_, qr_project_
from .tasks import SequenceTask, make_task

__all__ = ["TrainResult", "build_run", "train"]

_SPECTRAL_KEYS = ("w_hh_spectral_norm", "w_hh_max_abs_eigenvalue", "orthogonality_error")


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
        }


@dataclass
class _Run:
    """The live objects of one run."""

    config: TrainConfig
    strategy: Strategy
    device: torch.device
    task: SequenceTask
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    data_rng: torch.Generator
    val_x: torch.Tensor
    val_y: torch.Tensor


def build_run(config: TrainConfig) -> _Run:
    """Build the task, model, optimizer and generators of a run (no training).

    Parameters
    ----------
    config : TrainConfig
        Resolved or not; it is resolved (checked) here.

    Returns
    -------
    object
        A record with ``task``, ``model``, ``optimizer``, ``data_rng``, ``val_x``,
        ``val_y``, ``device`` and ``strategy``.

    Notes
    -----
    The model is initialized on the CPU from a forked, seeded copy of
    torch's global generator (so the caller's random state is untouched and
    the init is the same on every device), then moved. The data come from
    ``torch.Generator(device).manual_seed(seed + 1)``; the validation batch
    from its own generator seeded with ``seed + 2``.

    Examples
    --------
    >>> run = build_run(TrainConfig(task="adding", seq_len=8, hidden=4, device="cpu"))
    >>> type(run.model).__name__, run.task.length
    ('FusedRNN', 8)
    """
    config = config if config._resolved else config.resolved()
    device = resolve_device(config.device)
    strategy = parse_strategy(config.strategy)
    task = make_task(
        config.task, config.seq_len, delay=config.delay, permute=config.permute,
        data_dir=config.data_dir, seed=config.seed,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model = build_model(config.model_kind, task.input_size, config.hidden, task.output_size)
        W = model.recurrent_parameter()
        if strategy.uses("orthogonal_init"):
            orthogonal_init_(W, config.init_scheme)
        if config.init_gain != 1.0:
            with torch.no_grad():
                W.mul_(config.init_gain)
        if strategy.parametrization:
            parametrize_orthogonal(model, strategy.parametrization)
    model = model.to(device)
    optimizers = {"adam": torch.optim.Adam, "rmsprop": torch.optim.RMSprop, "sgd": torch.optim.SGD}
    optimizer = optimizers[config.optimizer](model.parameters(), lr=config.lr)
    data_rng = torch.Generator(device=device).manual_seed(config.seed + 1)
    val_x, val_y = task.validation_batch(config.val_batch, config.seed + 2, device)
    return _Run(config, strategy, device, task, model, optimizer, data_rng, val_x, val_y)


def _detach(state: Any) -> Any:
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


def _forward_backward(run: _Run, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Loss (detached) and outputs (detached) of one batch; gradients accumulated into .grad."""
    T = x.shape[1]
    window = run.config.tbptt_window or T
    state, total, outs = None, torch.zeros((), device=x.device), []
    for t0 in range(0, T, window):
        t1 = min(t0 + window, T)
        out, state = run.model(x[:, t0:t1], state)
        if run.task.window_has_loss(t0, t1):
            loss = run.task.loss(out, y, t0)
            loss.backward()  # frees this window's graph; the next window starts from a detached state
            total = total + loss.detach()
        state = _detach(state)  # truncation: no gradient flows into the previous window
        outs.append(out.detach())
    return total, torch.cat(outs, dim=1)


def _train_step(run: _Run, step: int) -> dict:
    """One step; returns the cheap metrics (floats). Does not update when they are not finite."""
    cfg, model = run.config, run.model
    x, y = run.task.sample(cfg.batch, run.data_rng)
    run.optimizer.zero_grad(set_to_none=True)
    loss, out = _forward_backward(run, x, y)
    params = [p for p in model.parameters() if p.grad is not None]
    w_grad = model.recurrent_parameter().grad
    grad_w_hh = torch.linalg.vector_norm(w_grad) if w_grad is not None else torch.zeros(())
    if cfg.clip_norm is not None:
        total = torch.nn.utils.clip_grad_norm_(params, cfg.clip_norm)  # returns the norm before clipping
    else:
        total = gradient_norm(params)
        if cfg.clip_value is not None:
            torch.nn.utils.clip_grad_value_(params, cfg.clip_value)
    row = {"step": step, "train_loss": loss.item(), "grad_norm": total.item(),
           "grad_norm_w_hh": grad_w_hh.item()}
    if not (math.isfinite(row["train_loss"]) and math.isfinite(row["grad_norm"])):
        return row  # diverged: leave the weights as they were
    run.optimizer.step()
    if run.strategy.projection and step % cfg.proj_every == 0:
        project = qr_project_ if run.strategy.projection == "qr" else polar_project_
        project(model.recurrent_parameter())
    if run.task.classification:
        row["train_accuracy"] = run.task.accuracy(out, y)
    return row


def _evaluate(run: _Run) -> dict:
    with torch.no_grad():
        out, _ = run.model(run.val_x)
        row = {"val_loss": run.task.loss(out, run.val_y).item()}
        if run.task.classification:
            row["val_accuracy"] = run.task.accuracy(out, run.val_y)
    return row


def _rng_state(run: _Run) -> dict:
    state = {"data": run.data_rng.get_state(), "torch_cpu": torch.get_rng_state()}
    if run.device.type == "cuda":
        state["torch_cuda"] = torch.cuda.get_rng_state(run.device)
    return state


def _set_rng_state(run: _Run, state: dict) -> None:
    run.data_rng.set_state(state["data"])
    torch.set_rng_state(state["torch_cpu"])
    if run.device.type == "cuda" and "torch_cuda" in state:
        torch.cuda.set_rng_state(state["torch_cuda"], run.device)


@contextmanager
def _catch_signals(flag: dict):
    """SIGINT/SIGTERM set ``flag['signal']`` instead of killing the run mid-step."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    names = {signal.SIGINT: "SIGINT", signal.SIGTERM: "SIGTERM"}

    def handler(signum, frame):
        flag["signal"] = names.get(signum, str(signum))

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
    final: dict = {}
    for r in rows:
        final.update({k: v for k, v in r.items() if v is not None and k != "hidden_grad_norms"})
    return final


def train(
    config: TrainConfig,
    out_dir: str | Path | None = None,
    *,
    resume: bool = False,
    force: bool = False,
    progress: bool | None = None,
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
    force : bool, optional
        Start a fresh run in an ``out_dir`` that holds other files or an
        earlier run: the files a run writes are first moved into
        ``out_dir/replaced-<time>/`` (nothing is deleted). Not with ``resume``.
    progress : bool, optional
        Show a tqdm bar; default: only when stderr is a terminal and ``$CI``
        is unset.

    Returns
    -------
    TrainResult

    Raises
    ------
    ValueError
        For a bad config, an unreadable checkpoint, or a config that does not
        match the run being resumed.
    FileExistsError
        If ``out_dir`` holds an earlier run or files linalg-rnn did not write
        (and neither ``resume`` nor ``force`` is given).
    FileNotFoundError
        If ``resume`` is given and ``out_dir`` holds no run.
    OSError
        If ``out_dir`` cannot be written (a file in the way, permissions, a
        read-only file system); :class:`~linalg_rnn.rnn.rundir.RunDirBusyError`
        if another run holds it. All of these come before any work, with the
        folder unchanged.

    Notes
    -----
    Divergence (NaN/inf loss or gradient) never raises: the run stops with
    ``diverged=True`` and ``divergence_step`` recorded. Seeded CPU runs are
    bit-for-bit reproducible, resumed or not (``elapsed_s`` aside). What the
    run directory promises (ownership, one run at a time, resume) is in
    :mod:`~linalg_rnn.rnn.rundir`. Taught in lesson 13.

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
    run = build_run(config)
    initial_w_hh = run.model.recurrent_matrix().cpu().clone()
    initial = recurrent_metrics(initial_w_hh)
    rows: list[dict] = []
    start_step, elapsed_before = 0, 0.0
    diverged, divergence_step = False, None
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(config.seed)
        if checkpoint is not None:
            try:
                run.model.load_state_dict(checkpoint["model"])
                run.optimizer.load_state_dict(checkpoint["optimizer"])
                _set_rng_state(run, checkpoint["rng"])
                start_step, elapsed_before = checkpoint["step"], checkpoint["elapsed_s"]
                diverged, divergence_step = checkpoint["diverged"], checkpoint["divergence_step"]
                initial = checkpoint["initial"]
                initial_w_hh = checkpoint["initial_w_hh"]
            except (KeyError, RuntimeError, TypeError, ValueError) as exc:
                reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
                raise ValueError(f"{rundir.path / 'checkpoint.pt'} does not fit this run ({reason}); "
                                 "nothing was changed") from None
        if rundir is not None:
            rows = rundir.claim()  # the rows up to the checkpoint; writes config.json
        interrupted = _loop(run, rundir, rows, start_step, elapsed_before, diverged, divergence_step,
                            initial, initial_w_hh, progress)
    step_done, diverged, divergence_step, signal_name = interrupted
    result = TrainResult(
        config=config, final=_final_metrics(rows), diverged=diverged,
        divergence_step=divergence_step, baseline_loss=run.task.baseline_loss,
        steps_done=step_done, interrupted=signal_name, history=rows, initial=initial,
        device=str(device), out_dir=rundir.path if rundir is not None else None, model=run.model,
        initial_w_hh=initial_w_hh,
    )
    if rundir is not None:
        fig = (plot_run(rows, title=f"{config.task}: {config.strategy}", baseline_loss=run.task.baseline_loss)
               if config.figures and rows else None)
        rundir.finish(result.to_dict(), rows, fig)
    return result


def _loop(run, rundir, rows, start_step, elapsed_before, diverged, divergence_step, initial,
          initial_w_hh, progress):
    cfg = run.config
    flag: dict = {"signal": None}
    step = start_step
    shown_norm = float("nan")  # the last ||W_hh||_2 computed, for the progress bar
    t0 = time.perf_counter()

    def checkpoint() -> None:
        if rundir is None:
            return
        rundir.save_checkpoint({
            "step": step, "model": run.model.state_dict(), "optimizer": run.optimizer.state_dict(),
            "rng": _rng_state(run), "elapsed_s": elapsed_before + time.perf_counter() - t0,
            "diverged": diverged, "divergence_step": divergence_step, "initial": initial,
            "initial_w_hh": initial_w_hh, "config": cfg.to_dict(),
        })

    bar = tqdm(total=cfg.steps, initial=min(step, cfg.steps), disable=not _progress_enabled(progress),
               desc=f"{cfg.task}/{cfg.strategy}", dynamic_ncols=True)
    with _catch_signals(flag), bar:
        while step < cfg.steps and not diverged:
            step += 1
            row = _train_step(run, step)
            last = step == cfg.steps
            if not (math.isfinite(row["train_loss"]) and math.isfinite(row["grad_norm"])):
                diverged, divergence_step = True, step
                row["diverged"] = True
            if diverged or last or step % cfg.spectral_every == 0:
                row.update(recurrent_metrics(run.model.recurrent_matrix()))
            else:  # O(H^3): not this step; the keys stay, with null, so every row has them
                row.update(dict.fromkeys(_SPECTRAL_KEYS))
            if not diverged and (last or step % cfg.eval_every == 0):
                row.update(_evaluate(run))
            if not diverged and cfg.lag_grads_every and step % cfg.lag_grads_every == 0:
                x, y = run.task.sample(cfg.batch, torch.Generator(run.device).manual_seed(cfg.seed + 3))
                row["hidden_grad_norms"] = hidden_gradient_norms(run.model, run.task, x, y)
            row["elapsed_s"] = elapsed_before + time.perf_counter() - t0
            if diverged or last or step % cfg.log_every == 0 or "val_loss" in row:
                rows.append(row)
                if rundir is not None:
                    rundir.append_row(row)
                if row["w_hh_spectral_norm"] is not None:
                    shown_norm = row["w_hh_spectral_norm"]
                bar.set_postfix(loss=f"{row['train_loss']:.4g}", grad=f"{row['grad_norm']:.3g}",
                                W_hh=f"{shown_norm:.3f}", refresh=False)
            bar.update(1)
            if diverged or last or step % cfg.checkpoint_every == 0 or flag["signal"]:
                checkpoint()
            if flag["signal"]:
                break
    return step, diverged, divergence_step, flag["signal"] if step < cfg.steps and not diverged else None
