"""The training loop: one run of one strategy on one task, measured, checkpointed, resumable.

:func:`train` is the Python API behind ``linalg-rnn train``; a reader follows
one training step from it to ``optimizer.step()`` in this file. One *step*
is one batch -- the same data for every strategy -- and reads as these
blocks (:func:`train_step`, then the rest of :func:`train`'s loop):

* ``# draw a batch`` -- on the CPU, from the run's seeded generator, then
  moved to the device (the data depend on the seed alone, not the device);
* ``# forward and backward, window by window`` -- one window is the whole
  sequence; with ``tbptt`` the hidden state crosses a window boundary
  detached, and the update comes after every window that carries loss
  (``tbptt_update="window"``, lesson 11's algorithm) or once, after the last
  window, from the summed gradients (``"batch"``);
* ``# gradient norm, then clip`` -- the norms (total and :math:`W_{hh}`) are
  measured *before* clipping;
* ``# divergence: no update`` -- the loss, the norms and the accuracy come
  back in **one** device-to-host transfer per update; a NaN/inf loss or
  gradient ends the run there, the weights untouched;
* ``# update, then project`` -- ``optimizer.step()``, then every
  ``proj_every`` steps :math:`W_{hh}` is replaced by an orthogonal matrix
  (and every ``rebase_every`` steps a parametrization folds its map into its
  base);
* ``# W_hh metrics`` -- :math:`O(H^3)`, on a float64 CPU copy, every
  ``norm_every``/``spectral_every`` steps;
* ``# validate`` -- every ``eval_every`` steps, and per-lag gradient norms
  every ``lag_grads_every``;
* ``# log`` and ``# checkpoint`` -- every ``log_every`` and
  ``checkpoint_every`` steps; SIGINT/SIGTERM stop the run after a finished,
  checkpointed step.

The last step, and a diverged one, always gets the metrics, the validation
and the checkpoint. Then, once, ``# the held-out numbers`` (in
:func:`finish_run`, which makes the result and writes its files): a finished run
(a diverged one too, without its outputs) is scored by
:func:`final_evaluation` on a validation and a test set of
``eval_sequences`` sequences (a data set's whole held-out split), which
goes into ``result.final`` and ``result.json``, not into a metrics row.

Keys of a metrics row:

* ``step``, ``train_loss``, ``elapsed_s`` (seconds since the run began,
  resumed runs included), ``updates`` (optimizer updates this step: 1, the
  windows with loss for window-wise ``tbptt``, 0 on a diverged step);
* ``grad_norm`` -- L2 norm of all gradients, before clipping;
  ``grad_norm_w_hh`` -- of the gradient of ``model.recurrent_parameter()``:
  :math:`W_{hh}` itself, the unconstrained matrix of an ``expm``/``cayley``
  parametrization, the stacked ``(4H, H)`` weight of an LSTM (window-wise
  ``tbptt``: the largest over the step's updates);
* ``w_hh_spectral_norm``, ``w_hh_max_abs_eigenvalue`` (the spectral radius),
  ``orthogonality_error`` -- of the effective :math:`W_{hh}` (LSTM: its
  cell-candidate block); ``null`` on the steps that do not compute them;
* ``train_accuracy`` (classification tasks); ``val_loss`` and
  ``val_accuracy`` on evaluation steps only; ``hidden_grad_norms`` every
  ``lag_grads_every`` steps; ``diverged: true`` on the row where a run diverged.

A run directory (:mod:`~linalg_rnn.rnn.rundir`) holds ``config.json``,
``metrics.jsonl`` (appended, one row per logged step), ``metrics.csv``,
``result.json`` (with an ``environment`` record: torch, CUDA and cuDNN
versions, device name, TF32, deterministic mode), ``checkpoint.pt``
(:mod:`~linalg_rnn.rnn.checkpoint`) and ``curves.png``.

**What resume promises.** A resumed run continues from the checkpoint's
weights, optimizer moments and data generator (always a CPU generator, so a
run may resume on another device type); the learning rates are the config's,
which resume cannot change. On the CPU it ends with exactly the metrics of an
uninterrupted run (``elapsed_s`` aside). On a CUDA GPU in deterministic mode
(the default there) it does too, bit for bit, when it resumes on the same GPU
model with the same torch, CUDA and cuDNN versions. Otherwise --
deterministic mode off, another GPU model or library version, MPS, or a
resume on another device type -- the resumed run agrees with an
uninterrupted one only to rounding, and the two may drift apart over many
steps as any two floating-point trainings do.
"""

from __future__ import annotations

import math
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import torch
from tqdm.auto import tqdm

from .._console import show_progress, stop_on_signals
from ._environment import environment_record, numerics
from .config import EVAL_CHUNK, TrainConfig
from .metrics import gradient_norm, hidden_gradient_norms, plot_run, recurrent_metrics
from .models import build_model
from .rundir import RunDir
from .strategies import polar_project_, qr_project_
from .tasks import SequenceTask, make_task

__all__ = ["EVAL_CHUNK", "Run", "TrainResult", "TrainState", "Window", "build_run", "evaluate",
           "final_evaluation", "finish_run", "held_out_scores", "train", "train_step"]

_W_HH_KEYS = ("w_hh_spectral_norm", "w_hh_max_abs_eigenvalue", "orthogonality_error")
_OPTIMIZERS = {"adam": torch.optim.Adam, "rmsprop": torch.optim.RMSprop, "sgd": torch.optim.SGD}


@dataclass
class TrainResult:
    """What a run produced.

    Attributes
    ----------
    config : TrainConfig
        The resolved configuration.
    final : dict
        The last value of every metric (loss, gradient norms,
        ``w_hh_spectral_norm``, ...), and for a finished run what
        :func:`final_evaluation` measured at the end (``val_loss`` then is
        its, on ``eval_sequences`` sequences; ``test_loss``,
        ``test_trivial_loss``, ``params``, ...).
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
    notes : list of str
        What the run directory did that its owner should know
        (:attr:`~linalg_rnn.rnn.rundir.RunDir.notes`).
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
    notes: list[str] = field(default_factory=list, repr=False)

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


class Window(NamedTuple):
    """One truncated-BPTT window: timesteps ``start .. stop - 1``, its loss weight, and an update after it?"""

    start: int
    stop: int
    loss_weight: float
    update_after: bool


@dataclass
class Run:
    """The live objects of one run, as :func:`build_run` makes them.

    Attributes
    ----------
    config : TrainConfig
        Resolved: its ``parsed_strategy`` and ``torch_device`` are the run's.
    task : SequenceTask
        The task.
    model : torch.nn.Module
        On the device.
    optimizer : torch.optim.Optimizer
        Over ``params``; a second parameter group, at ``orth_lr``, holds the
        unconstrained matrix of an ``expm``/``cayley`` parametrization, or
        :math:`W_{hh}` of a projection strategy.
    data_rng : torch.Generator
        The CPU generator every training batch is drawn from.
    val_x, val_y : torch.Tensor
        The fixed validation batch, on the device.
    lag_x, lag_y : torch.Tensor or None
        The fixed batch of the per-lag gradients (``lag_grads_every``).
    windows : list of Window
        The truncated-BPTT windows (one window without ``tbptt``), each with
        its share of the loss weights and whether an update follows it.
    params : list of torch.nn.Parameter
        ``model.parameters()``, listed once.
    """

    config: TrainConfig
    task: SequenceTask
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    data_rng: torch.Generator
    val_x: torch.Tensor
    val_y: torch.Tensor
    lag_x: torch.Tensor | None
    lag_y: torch.Tensor | None
    windows: list[Window]
    params: list[torch.nn.Parameter]


def _windows(task: SequenceTask, window: int | None, update: str | None) -> list[Window]:
    """The windows of a sequence: an update after each one with loss (``"window"``), else after the last."""
    T = task.length
    k = window or T
    windows = []
    for t0 in range(0, T, k):
        t1 = min(t0 + k, T)
        weight = float(task.step_weights[t0:t1].sum())
        windows.append(Window(t0, t1, weight, weight > 0 if update == "window" else t1 == T))
    return windows


def _optimizer(config: TrainConfig, model: torch.nn.Module) -> torch.optim.Optimizer:
    """The optimizer, with its learning rates: the recurrent parameter at ``orth_lr``, where there is one.

    That parameter is a parametrization's unconstrained matrix (``expm``,
    ``cayley``) or the :math:`W_{hh}` a projection keeps orthogonal.
    """
    cls = _OPTIMIZERS[config.optimizer]
    if config.orth_lr is None:  # resolved() sets it for a parametrization or a projection only
        return cls(model.parameters(), lr=config.lr)
    X = model.recurrent_parameter()
    rest = [p for p in model.parameters() if p is not X]
    return cls([{"params": rest}, {"params": [X], "lr": config.orth_lr}], lr=config.lr)


def build_run(config: TrainConfig) -> Run:
    """Build the task, model, optimizer and generators of a run (no training).

    Parameters
    ----------
    config : TrainConfig
        Resolved (:meth:`~linalg_rnn.rnn.config.TrainConfig.resolved`), or it is
        resolved here.

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
    >>> build_run(TrainConfig(task="adding", seq_len=8, strategy="tbptt", tbptt_window=3,
    ...                       device="cpu")).windows[-1]
    Window(start=6, stop=8, loss_weight=1.0, update_after=True)
    """
    config = config if config.is_resolved else config.resolved()
    device = config.torch_device
    task = make_task(config.task, config.seq_len, seed=config.seed, **config.task_options())
    with torch.random.fork_rng(devices=[]):
        torch.random.default_generator.manual_seed(config.seed)  # the CPU generator only
        model = build_model(config.model_kind, task.input_size, config.hidden, task.output_size,
                            parametrization=config.parsed_strategy.parametrization,
                            init_scheme=config.init_scheme, init_gain=config.init_gain,
                            activation=config.activation or "tanh", forget_bias=config.forget_bias,
                            chrono_t_max=task.length if config.lstm_init == "chrono" else None)
    model = model.to(device)
    val_x, val_y = task.validation_batch(config.val_batch, config.seed + 2)  # drawn on the CPU
    lag_x = lag_y = None
    if config.lag_grads_every:
        lag_x, lag_y = task.sample(config.batch, torch.Generator().manual_seed(config.seed + 3))
        lag_x, lag_y = to_device(lag_x, device), to_device(lag_y, device)
    return Run(
        config=config, task=task, model=model, optimizer=_optimizer(config, model),
        data_rng=torch.Generator().manual_seed(config.seed + 1),
        val_x=to_device(val_x, device), val_y=to_device(val_y, device), lag_x=lag_x, lag_y=lag_y,
        windows=_windows(task, config.tbptt_window, config.tbptt_update), params=list(model.parameters()),
    )


def to_device(t: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Move a CPU tensor to the training device without waiting for the copy.

    On CUDA the tensor is first page-locked, so the copy overlaps the work
    already queued; on the CPU it is returned as it is.

    Examples
    --------
    >>> t = torch.ones(2)
    >>> to_device(t, torch.device("cpu")) is t
    True
    """
    if device.type == "cpu":
        return t
    if device.type == "cuda":
        t = t.pin_memory()  # page-locked, so the copy runs asynchronously
    return t.to(device, non_blocking=True)


def to_host(values: list[torch.Tensor]) -> list[float]:
    """A step's device-to-host transfer: 0-d tensors stacked and read with one ``.tolist()``.

    Examples
    --------
    >>> to_host([torch.tensor(1.5), torch.tensor(2.0)])
    [1.5, 2.0]
    """
    dtype = values[0].dtype
    return torch.stack([v.detach().to(dtype) for v in values]).tolist()


def draw_batch(run: Run) -> tuple[torch.Tensor, torch.Tensor]:
    """One training batch, drawn on the CPU from the run's data generator, then moved.

    Examples
    --------
    >>> run = build_run(TrainConfig(task="adding", seq_len=8, hidden=4, batch=3, device="cpu"))
    >>> x, y = draw_batch(run)
    >>> x.shape, y.shape
    (torch.Size([3, 8, 2]), torch.Size([3, 8]))
    """
    x, y = run.task.sample(run.config.batch, run.data_rng)
    return to_device(x, run.config.torch_device), to_device(y, run.config.torch_device)


def _detach(state: Any) -> Any:
    """The hidden state cut from its graph (an LSTM's is the pair ``(h, c)``)."""
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


def train_step(run: Run, step: int) -> dict:
    """One step: a batch, its gradients, the divergence check, the update; returns the metrics row.

    Returns
    -------
    dict
        ``step``, ``train_loss``, ``grad_norm``, ``grad_norm_w_hh`` (before
        clipping; the largest over the step's updates), ``updates``
        (optimizer updates made), ``train_accuracy`` (classification), and
        ``diverged: True`` when a loss or gradient was not finite -- in which
        case that update was not made.

    Examples
    --------
    >>> run = build_run(TrainConfig(task="adding", seq_len=8, hidden=4, batch=3, device="cpu"))
    >>> row = train_step(run, 1)
    >>> sorted(row), row["updates"]
    (['grad_norm', 'grad_norm_w_hh', 'step', 'train_loss', 'updates'], 1)
    """
    cfg, task, model, optimizer = run.config, run.task, run.model, run.optimizer
    row = {"step": step, "train_loss": 0.0, "grad_norm": 0.0, "grad_norm_w_hh": 0.0, "updates": 0}

    # draw a batch
    x, y = draw_batch(run)

    # forward and backward, window by window
    state, outs, loss = None, [], x.new_zeros(())
    optimizer.zero_grad(set_to_none=True)
    for window in run.windows:
        with torch.set_grad_enabled(window.loss_weight > 0):  # a window without loss only carries h on
            out, state = model(x[:, window.start : window.stop], state)
        if window.loss_weight > 0:
            share = task.loss(out, y, window.start)  # this window's part of the batch loss
            # an update per window descends the window's own mean loss; per batch, the sum of the shares
            (share / window.loss_weight if cfg.tbptt_update == "window" else share).backward()
            loss = loss + share.detach()
        state = _detach(state)  # truncation: no gradient flows back into the previous window
        outs.append(out.detach())
        if not window.update_after:
            continue

        # gradient norm, then clip
        w_grad = model.recurrent_parameter().grad
        scalars = [loss, gradient_norm(run.params),  # measured before clipping
                   torch.linalg.vector_norm(w_grad) if w_grad is not None else loss.new_zeros(())]
        if cfg.clip_norm is not None:
            torch.nn.utils.clip_grad_norm_(run.params, cfg.clip_norm)
        elif cfg.clip_value is not None:
            torch.nn.utils.clip_grad_value_(run.params, cfg.clip_value)
        if task.classification and window.stop == task.length:
            scalars.append(task.accuracy_tensor(torch.cat(outs, dim=1), y))

        # divergence: no update
        train_loss, grad_norm, grad_norm_w_hh, *accuracy = to_host(scalars)  # the one transfer
        row["train_loss"] += train_loss
        if accuracy:
            row["train_accuracy"] = accuracy[0]
        if not (math.isfinite(train_loss) and math.isfinite(grad_norm)):
            row.update(grad_norm=grad_norm, grad_norm_w_hh=grad_norm_w_hh, diverged=True)
            return row  # the weights stay as they were
        row["grad_norm"] = max(row["grad_norm"], grad_norm)
        row["grad_norm_w_hh"] = max(row["grad_norm_w_hh"], grad_norm_w_hh)

        # update, then project
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        row["updates"] += 1
        loss = x.new_zeros(())
    # ... then project: W_hh replaced by an orthogonal matrix, once per step, after its last update
    projection = cfg.parsed_strategy.projection
    if projection is not None and step % cfg.proj_every == 0:
        (qr_project_ if projection == "qr" else polar_project_)(model.recurrent_parameter())
    if cfg.rebase_every and step % cfg.rebase_every == 0:
        model.rebase_()  # a parametrization folds map(B) into its base: W_hh unchanged
    if task.classification and "train_accuracy" not in row:  # the last window made no update
        row["train_accuracy"] = to_host([task.accuracy_tensor(torch.cat(outs, dim=1), y)])[0]
    return row


def evaluate(run: Run, x: torch.Tensor, y: torch.Tensor, *, split: str = "val") -> dict:
    """Loss (and accuracy) of the model on a held-out batch, in one read: ``{split}_loss``, ...

    The loop calls it on the ``val_batch`` validation batch during training;
    the numbers a run reports at its end come from :func:`final_evaluation`.

    Examples
    --------
    >>> run = build_run(TrainConfig(task="digits", hidden=4, device="cpu"))
    >>> sorted(evaluate(run, run.val_x, run.val_y))
    ['val_accuracy', 'val_loss']
    """
    with torch.no_grad():
        out, _ = run.model(x)
        scalars = [run.task.loss(out, y)]
        if run.task.classification:
            scalars.append(run.task.accuracy_tensor(out, y))
    values = to_host(scalars)
    return dict(zip([f"{split}_loss", f"{split}_accuracy"][: len(values)], values, strict=True))


def held_out_scores(model: torch.nn.Module | None, task: SequenceTask, x: torch.Tensor, y: torch.Tensor,
                    device: torch.device | str = "cpu", *, chunk: int = EVAL_CHUNK) -> dict:
    """Loss, accuracy and a constant predictor's loss on a held-out set, ``chunk`` sequences at a time.

    Parameters
    ----------
    model : torch.nn.Module or None
        On ``device``; ``None`` scores only the constant predictor.
    task : SequenceTask
        The task that scores the outputs.
    x, y : torch.Tensor
        The held-out set (``task.held_out(...)``), on any device; each chunk
        is moved to ``device`` in turn.
    device : torch.device or str, optional
        Where the model runs.
    chunk : int, optional
        Sequences per forward pass (default :data:`EVAL_CHUNK`).

    Returns
    -------
    dict
        ``loss``, ``accuracy`` (``None`` for a regression task or without a
        model; ``loss`` too without a model),
        ``trivial_loss`` (:meth:`~linalg_rnn.rnn.tasks.SequenceTask.trivial_loss`
        on the same targets) and ``sequences`` (:math:`N`).

    Notes
    -----
    The task's loss and accuracy are means over the sequences of a batch
    (every sequence has the same scored positions), so the mean over the
    set is the chunks' means weighted by their sizes,
    :math:`\\bar L = \\sum_c n_c \\bar L_c / N`, summed in float64: the
    same number as one batch of all :math:`N`, to rounding, with the
    memory of one chunk.

    Examples
    --------
    >>> from linalg_rnn.rnn.models import build_model
    >>> from linalg_rnn.rnn.tasks import AddingTask
    >>> task = AddingTask(10)
    >>> x, y = task.held_out("test", 100, seed=0)
    >>> model = build_model("fused", 2, 4, 1)
    >>> a, b = held_out_scores(model, task, x, y, chunk=30), held_out_scores(model, task, x, y, chunk=100)
    >>> a["sequences"], a["accuracy"], abs(a["loss"] - b["loss"]) < 1e-6
    (100, None, True)
    """
    N = len(y)
    total = {"loss": 0.0, "accuracy": 0.0, "trivial_loss": 0.0}
    with torch.no_grad():
        for start in range(0, N, chunk):
            yc = y[start : start + chunk].to(device)
            n = len(yc)
            total["trivial_loss"] += task.trivial_loss(yc) * n
            if model is None:
                continue
            out, _ = model(x[start : start + chunk].to(device))
            scalars = [task.loss(out, yc)]
            if task.classification:
                scalars.append(task.accuracy_tensor(out, yc))
            values = to_host(scalars)  # one read per chunk
            total["loss"] += values[0] * n
            if task.classification:
                total["accuracy"] += values[1] * n
    means = {key: value / N for key, value in total.items()}
    if model is None:
        means["loss"] = None
    if model is None or not task.classification:
        means["accuracy"] = None
    return {**means, "sequences": N}


def final_evaluation(model: torch.nn.Module, task: SequenceTask, config: TrainConfig,
                     device: torch.device | str | None = None, *, with_model: bool = True) -> dict:
    """The numbers a run reports at its end: validation and test sets of ``eval_sequences``, and the model.

    Parameters
    ----------
    model : torch.nn.Module
        The trained model, on ``device``.
    task : SequenceTask
        The run's task.
    config : TrainConfig
        The run's config: ``seed`` picks the held-out sets
        (:meth:`~linalg_rnn.rnn.tasks.SequenceTask.held_out`),
        ``eval_sequences`` their size.
    device : torch.device or str, optional
        Where the model runs; default the config's (resolved) device.
    with_model : bool, optional
        Score the model; ``False`` (a diverged run) keeps only what does not
        depend on its outputs: the constant predictor's losses, the size
        of the sets, ``skew_norm`` and ``params``.

    Returns
    -------
    dict
        ``val_loss``, ``val_accuracy``, ``trivial_val_loss``,
        ``val_sequences`` on the validation set; ``test_loss``,
        ``test_accuracy``, ``test_trivial_loss``, ``test_sequences`` on the
        test set (the accuracies of classification tasks only);
        ``skew_norm`` (:math:`\\|B\\|_2` of an ``expm``/``cayley``
        parametrization only) and ``params`` (trained numbers,
        :math:`\\sum` ``p.numel()``).

    Notes
    -----
    A generated task draws ``eval_sequences`` sequences for each set from
    generators of their own (:func:`~linalg_rnn.rnn.tasks.held_out_seed`),
    never the training generator nor the smaller ``val_batch`` that the
    run evaluates during training; a data set scores its whole validation
    and test split. Settings are selected on the validation numbers; the
    test numbers are for the report. The forward passes go
    :data:`EVAL_CHUNK` sequences at a time (:func:`held_out_scores`). One
    model at a time, so a trainer of several models calls it per model.
    Taught in lesson 14.

    Examples
    --------
    >>> config = TrainConfig(task="adding", seq_len=10, hidden=4, eval_sequences=64, device="cpu")
    >>> run = build_run(config)
    >>> scores = final_evaluation(run.model, run.task, run.config)
    >>> sorted(scores)[:4]
    ['params', 'test_loss', 'test_sequences', 'test_trivial_loss']
    >>> sorted(scores)[4:]
    ['trivial_val_loss', 'val_loss', 'val_sequences']
    >>> scores["test_sequences"], scores["params"] == sum(p.numel() for p in run.model.parameters())
    (64, True)
    """
    device = config.torch_device if device is None else device
    final: dict[str, Any] = {}
    for split, prefix in (("validation", "val"), ("test", "test")):
        x, y = task.held_out(split, config.eval_sequences, config.seed)  # on the CPU
        scores = held_out_scores(model if with_model else None, task, x, y, device)
        if with_model:
            final[f"{prefix}_loss"] = scores["loss"]
        if with_model and task.classification:
            final[f"{prefix}_accuracy"] = scores["accuracy"]
        final["trivial_val_loss" if prefix == "val" else "test_trivial_loss"] = scores["trivial_loss"]
        final[f"{prefix}_sequences"] = scores["sequences"]
    skew = model.skew_norm() if hasattr(model, "skew_norm") else None
    if skew is not None:
        final["skew_norm"] = skew
    final["params"] = sum(p.numel() for p in model.parameters())
    return final


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
    resumed_from : dict or None
        ``{"step", "device"}`` of the checkpoint this session resumed from.
    """

    step: int = 0
    elapsed_s: float = 0.0
    diverged: bool = False
    divergence_step: int | None = None
    initial: dict = field(default_factory=dict)
    initial_w_hh: torch.Tensor | None = None
    resumed_from: dict | None = None

    @classmethod
    def start(cls, run: Run) -> TrainState:
        """The state of a fresh run: step 0, and :math:`W_{hh}` as initialized."""
        W0 = run.model.recurrent_matrix().cpu().clone()
        return cls(initial=recurrent_metrics(W0), initial_w_hh=W0)

    def checkpoint(self, run: Run) -> dict:
        """The run's part of a checkpoint (:data:`~linalg_rnn.rnn.checkpoint.CHECKPOINT_KEYS`)."""
        return {
            "step": self.step, "elapsed_s": self.elapsed_s, "diverged": self.diverged,
            "divergence_step": self.divergence_step, "initial": self.initial,
            "initial_w_hh": self.initial_w_hh,
            "model": run.model.state_dict(), "optimizer": run.optimizer.state_dict(),
            "rng": {"data": run.data_rng.get_state(), "torch_cpu": torch.get_rng_state()},
            "device": run.config.torch_device.type, "config": run.config.to_dict(),
        }

    @classmethod
    def restore(cls, run: Run, checkpoint: dict, where: Path) -> TrainState:
        """Load a checkpoint (:func:`~linalg_rnn.rnn.checkpoint.load_checkpoint` checked it) into ``run``.

        The weights, the optimizer's moments and step counts, and both
        generators come from the checkpoint; the learning rates stay the
        config's.

        Raises
        ------
        ValueError
            One line naming ``where`` when the checkpoint does not fit the run
            (another model's weights); nothing was changed.
        """
        learning_rates = [group["lr"] for group in run.optimizer.param_groups]  # the config's
        try:
            run.model.load_state_dict(checkpoint["model"])
            run.optimizer.load_state_dict(checkpoint["optimizer"])
        except (KeyError, RuntimeError, TypeError, ValueError) as exc:
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            raise ValueError(f"{where} does not fit this run ({reason}); nothing was changed") from None
        for group, lr in zip(run.optimizer.param_groups, learning_rates, strict=True):
            group["lr"] = lr
        run.data_rng.set_state(checkpoint["rng"]["data"])
        torch.set_rng_state(checkpoint["rng"]["torch_cpu"])
        return cls(
            step=checkpoint["step"], elapsed_s=checkpoint["elapsed_s"], diverged=checkpoint["diverged"],
            divergence_step=checkpoint["divergence_step"], initial=checkpoint["initial"],
            initial_w_hh=checkpoint["initial_w_hh"],
            resumed_from={"step": checkpoint["step"], "device": checkpoint["device"]},
        )


def finish_run(run: Run, state: TrainState, rows: list[dict], rundir: RunDir | None, *,
               signal: str | None, environment: dict) -> TrainResult:
    """A run's result once its loop has stopped: the last metrics, the held-out numbers, the files.

    :func:`train` ends with it, and so does each member of a batched
    training (:func:`~linalg_rnn.rnn.members.train_members`), so both report
    the same numbers in the same way.

    Parameters
    ----------
    run : Run
        The run, its model holding the trained weights.
    state : TrainState
        Where it stopped.
    rows : list of dict
        Its metrics rows (a resumed run's earlier rows included).
    rundir : RunDir or None
        Its run directory, where ``result.json``, ``metrics.csv`` and
        ``curves.png`` are written; ``None``: nothing is written.
    signal : str or None
        ``"SIGINT"``/``"SIGTERM"`` when a signal stopped the loop.
    environment : dict
        :func:`~linalg_rnn.rnn._environment.environment_record` of the run
        (``resumed_from`` is added here from ``state``).

    Returns
    -------
    TrainResult
        ``final`` holds the last value of every metric and, for a finished
        run (a diverged one too), :func:`final_evaluation`'s numbers.

    Notes
    -----
    A run is finished when it trained all its ``steps`` or diverged (a
    signal during the last step changed nothing); an interrupted one is
    not scored. A diverged run is scored without its outputs
    (``with_model=False``): its weights are those of the step before the
    NaN/inf.

    Examples
    --------
    >>> run = build_run(TrainConfig(task="adding", seq_len=6, hidden=4, steps=1, eval_sequences=8,
    ...                             device="cpu"))
    >>> state = TrainState.start(run)
    >>> state.step = 1  # as if the loop had trained its one step
    >>> result = finish_run(run, state, [], None, signal=None, environment={})
    >>> result.interrupted, result.final["test_sequences"]
    (None, 8)
    """
    cfg = run.config
    finished = state.step >= cfg.steps or state.diverged  # a signal during the last step changed nothing
    environment = dict(environment)
    if state.resumed_from is not None:
        environment["resumed_from"] = state.resumed_from
    final = {}
    for r in rows:  # the last value of every metric (per-lag norms aside)
        final.update({k: v for k, v in r.items() if v is not None and k != "hidden_grad_norms"})

    # the held-out numbers, once, at the end (a diverged run: what does not need its outputs)
    if finished:
        final.update(final_evaluation(run.model, run.task, cfg, with_model=not state.diverged))
    result = TrainResult(
        config=cfg, final=final, diverged=state.diverged, divergence_step=state.divergence_step,
        baseline_loss=run.task.baseline_loss, steps_done=state.step,
        interrupted=None if finished else signal, history=rows, initial=state.initial,
        device=str(cfg.torch_device), out_dir=rundir.path if rundir is not None else None, model=run.model,
        initial_w_hh=state.initial_w_hh, environment=environment,
        notes=list(rundir.notes) if rundir is not None else [],
    )
    if rundir is not None:
        figure = (plot_run(rows, title=f"{cfg.task}: {cfg.strategy}",
                           baseline_loss=run.task.baseline_loss) if cfg.figures and rows else None)
        rundir.finish(result.to_dict(), rows, figure)
    return result


def train(
    config: TrainConfig,
    out_dir: str | Path | RunDir | None = None,
    *,
    resume: bool = False,
    progress: bool | None = None,
    force: bool = False,
) -> TrainResult:
    """Train one model with one strategy on one task, measuring as it goes.

    Parameters
    ----------
    config : TrainConfig
        The run; resolved (checked) here unless it already is.
    out_dir : str, Path or RunDir, optional
        Run directory for ``config.json``, ``metrics.jsonl``, ``metrics.csv``,
        ``result.json``, ``checkpoint.pt`` and ``curves.png``, or a
        :class:`~linalg_rnn.rnn.rundir.RunDir` already open (its caller
        closes it, and its ``resume``/``force`` apply). ``None``: keep
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
        read-only file system); :class:`~linalg_rnn.rnn.rundir.RunDirBusyError`
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
    cfg = config if config.is_resolved else config.resolved()  # checked once, before any work
    device = cfg.torch_device
    # the run directory: checked, locked and its checkpoint read before any work
    opened = (nullcontext(out_dir) if out_dir is None or isinstance(out_dir, RunDir)
              else RunDir.open(out_dir, cfg, resume=resume, force=force))
    with opened as rundir, torch.random.fork_rng(devices=[]), \
            numerics(device, allow_tf32=cfg.allow_tf32, deterministic=cfg.deterministic) as deterministic:
        if rundir is not None and rundir.config is None:
            rundir.accept(cfg)  # on resume: the checkpoint's config, but for what may change
        torch.random.default_generator.manual_seed(cfg.seed)
        run = build_run(cfg)
        checkpoint = rundir.checkpoint if rundir is not None else None
        state = TrainState.start(run) if checkpoint is None else \
            TrainState.restore(run, checkpoint, rundir.path / "checkpoint.pt")
        rows = rundir.claim() if rundir is not None else []  # the rows up to the checkpoint
        clock, elapsed_before, shown_norm = time.perf_counter(), state.elapsed_s, math.nan
        bar = tqdm(total=cfg.steps, initial=min(state.step, cfg.steps), disable=not show_progress(progress),
                   desc=f"{cfg.task}/{cfg.strategy}", dynamic_ncols=True)
        with stop_on_signals() as stop, bar:
            while state.step < cfg.steps and not state.diverged:
                state.step += 1
                step = state.step
                row = train_step(run, step)
                if row.get("diverged"):
                    state.diverged, state.divergence_step = True, step
                last = state.diverged or step == cfg.steps

                # W_hh metrics, after the update and the projection, on a float64 CPU copy
                with_radius = last or step % cfg.spectral_every == 0
                if with_radius or step % (cfg.norm_every or cfg.spectral_every) == 0:
                    W_hh = run.model.recurrent_matrix()
                    row.update(recurrent_metrics(W_hh, with_spectral_radius=with_radius))
                else:  # the keys stay, with null, so every row has them
                    row.update(dict.fromkeys(_W_HH_KEYS))

                # validate, and the per-lag gradient norms through the explicit loop
                if not state.diverged and (last or step % cfg.eval_every == 0):
                    row.update(evaluate(run, run.val_x, run.val_y))
                if not state.diverged and cfg.lag_grads_every and step % cfg.lag_grads_every == 0:
                    row["hidden_grad_norms"] = hidden_gradient_norms(run.model, run.task,
                                                                     run.lag_x, run.lag_y)

                # log
                state.elapsed_s = elapsed_before + time.perf_counter() - clock
                row["elapsed_s"] = state.elapsed_s
                if last or step % cfg.log_every == 0 or "val_loss" in row:
                    rows.append(row)
                    if rundir is not None:
                        rundir.append_row(row)
                    if row["w_hh_spectral_norm"] is not None:
                        shown_norm = row["w_hh_spectral_norm"]
                    bar.set_postfix(loss=f"{row['train_loss']:.4g}", grad=f"{row['grad_norm']:.3g}",
                                    W_hh=f"{shown_norm:.3f}", refresh=False)
                bar.update(1)

                # checkpoint; a signal stops the run after a finished, checkpointed step
                if rundir is not None and (last or step % cfg.checkpoint_every == 0 or stop.signal):
                    rundir.save_checkpoint(state.checkpoint(run))
                if stop.signal:
                    break
        environment = environment_record(device, allow_tf32=cfg.allow_tf32, deterministic=deterministic)
        result = finish_run(run, state, rows, rundir, signal=stop.signal, environment=environment)
    return result
