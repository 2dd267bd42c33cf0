"""Train the members of one cell together: one batched step for N runs, each recorded as its own run.

A *cell* of a study is one task, length and strategy; its *members* differ
only in :data:`MEMBER_FIELDS` (seed, learning rates, clipping bound). One
step of :func:`train_members` is one step of every member, in the blocks of
the single run's step (:mod:`~linalg_rnn.rnn.trainer`):

* ``# draw a batch`` -- each member from its own CPU generator (as its
  single run would), the batches stacked ``(N, B, T, .)``;
* ``# forward and backward, window by window`` -- one batched pass
  (:class:`MemberModel`);
* ``# gradient norm, then clip`` -- each member's norms, total and
  :math:`W_{hh}`, before clipping; each member clipped by its own norm or
  bound;
* ``# divergence: no update`` -- one read of every member's loss and norms;
  a member whose loss or gradient is NaN/inf is recorded as diverged at
  this step, takes no update and leaves the batch (its weights, optimizer
  state and checkpoint are those of its single run at that step); the
  others go on;
* ``# update, then project`` -- one update of every member at its own
  learning rates (:class:`MemberOptimizer`), then each member's projection
  and re-basing;
* ``# W_hh metrics``, ``# validate``, ``# log``, ``# checkpoint`` -- per
  member, at the single run's cadence; a signal stops every member after
  a finished, checkpointed step;
* ``# the held-out numbers`` -- once, at the end, each member's result is
  made by the single run's own :func:`~linalg_rnn.rnn.trainer.finish_run`:
  :func:`~linalg_rnn.rnn.trainer.final_evaluation` on the member's own
  model, with its own seed's validation and test sets (a diverged member
  without its outputs, an interrupted one not at all).

Each member's run directory is a single run's: ``config.json``,
``metrics.jsonl``, ``metrics.csv``, ``result.json`` (its ``environment``
also says ``batch_members``, how many members trained together),
``checkpoint.pt`` and ``curves.png``, and its checkpoint is what the single
run would have written -- its weights under the single model's names, its
``torch.optim`` state, its generators -- so ``linalg-rnn train --resume``
continues a member alone, and :func:`train_members` with ``resume=True``
continues them together.

**What agreement to expect.** Member :math:`n` computes what its single run
computes, but with batched kernels (``bmm`` instead of ``nn.RNN``'s
products) and a hand-written backward pass: the same numbers to rounding,
not bit for bit. In float64, 25 steps of every strategy agreed to about
:math:`10^{-15}` relative when this was written; in float32 to below
:math:`10^{-6}`; two float32 trainings drift apart over many steps as any
two do (``tests/test_batched_train.py`` checks :math:`10^{-10}` and
:math:`10^{-5}`, on the metrics rows and on ``result.final``, the held-out
numbers included). A batched run resumed from its checkpoints ends exactly as
an uninterrupted one.
"""

from __future__ import annotations

import itertools
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm.auto import tqdm

from ..._console import StopRequest, show_progress, stop_on_signals
from .._environment import environment_record, numerics
from ..config import TrainConfig
from ..metrics import hidden_gradient_norms, recurrent_metrics
from ..rundir import RunDir
from ..trainer import Run, TrainResult, TrainState, build_run, finish_run, to_device, train
from ._gradients import clip_members_by_norm_, clip_members_by_value_, member_gradient_norms
from ._model import MemberModel
from ._optimizer import MemberOptimizer
from ._orthogonal import member_polar_project_, member_qr_project_

__all__ = ["MEMBER_FIELDS", "batched_refusal", "check_members", "member_signature", "train_members",
           "uses_per_run_path"]

#: The config fields in which the members of one batch may differ.
MEMBER_FIELDS = ("seed", "lr", "orth_lr", "clip_norm", "clip_value")
_SPECTRAL_KEYS = ("w_hh_spectral_norm", "w_hh_max_abs_eigenvalue", "orthogonality_error")
_DTYPES = (torch.float32, torch.float64)
#: Bytes of hidden states one validation forward pass may hold; more members are evaluated in turns.
_EVAL_BYTES = 2**28


def check_members(configs: list[TrainConfig]) -> list[TrainConfig]:
    """Resolve every member's config and check that they form one cell.

    Parameters
    ----------
    configs : list of TrainConfig
        One per member.

    Returns
    -------
    list of TrainConfig
        Resolved (checked, defaults filled).

    Raises
    ------
    ValueError
        For an empty list, a bad config (as :meth:`TrainConfig.resolved`), or
        members that differ in a field outside :data:`MEMBER_FIELDS` (naming
        the member and the fields).
    TypeError
        For something that is not a ``TrainConfig``.

    Examples
    --------
    >>> import dataclasses
    >>> a = TrainConfig(task="adding", seq_len=8, hidden=4, seed=0, device="cpu")
    >>> [c.seed for c in check_members([a, dataclasses.replace(a, seed=1, lr=1e-2)])]
    [0, 1]
    >>> check_members([a, dataclasses.replace(a, hidden=8)])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    ValueError: configs[1] differs from configs[0] in hidden; members of one batch may differ only in ...
    """
    if not isinstance(configs, (list, tuple)) or not configs:
        raise ValueError("configs: give a list of at least one TrainConfig (one per member)")
    for i, c in enumerate(configs):
        if not isinstance(c, TrainConfig):
            raise TypeError(f"configs[{i}] must be a TrainConfig, got {type(c).__name__}")
    resolved = [c.resolved() for c in configs]
    first = resolved[0].to_dict()
    for i, c in enumerate(resolved[1:], start=1):
        differ = [k for k, v in c.to_dict().items() if k not in MEMBER_FIELDS and v != first[k]]
        if differ:
            raise ValueError(f"configs[{i}] differs from configs[0] in {', '.join(differ)}; members of one "
                             f"batch may differ only in {', '.join(MEMBER_FIELDS)}")
    return resolved


def member_signature(config: TrainConfig) -> str:
    """What the members of one batch share: every config field but :data:`MEMBER_FIELDS`, as one string.

    Two configs with equal signatures may train together (:func:`check_members`
    accepts them); a study groups its cells by it.

    Examples
    --------
    >>> import dataclasses
    >>> a = TrainConfig(task="adding", seq_len=8, seed=0)
    >>> member_signature(a) == member_signature(dataclasses.replace(a, seed=1, lr=0.1))
    True
    >>> member_signature(a) == member_signature(dataclasses.replace(a, hidden=8))
    False
    """
    shared = {k: v for k, v in config.to_dict().items() if k not in MEMBER_FIELDS}
    return json.dumps(shared, sort_keys=True, default=str)


@dataclass(eq=False)
class Member:
    """One member of a batch: its single run's live objects, where it stands, its folder and rows.

    Attributes
    ----------
    config : TrainConfig
        Resolved.
    run : Run
        As :func:`~linalg_rnn.rnn.trainer.build_run` makes it: its model and
        optimizer hold the member's weights and state whenever they are
        written (checkpoints, the end, a divergence).
    state : TrainState
        Step, time, divergence; saved and restored by the trainer's own code.
    rundir : RunDir or None
        Its run directory.
    rows : list of dict
        Its metrics rows.
    rng_state : torch.Tensor
        The state of torch's global CPU generator its single run would hold
        (and checkpoint).
    """

    config: TrainConfig
    run: Run
    state: TrainState
    rundir: RunDir | None
    rows: list[dict] = field(default_factory=list)
    rng_state: torch.Tensor | None = None

    @property
    def done(self) -> bool:
        """Finished or diverged: nothing left to train."""
        return self.state.diverged or self.state.step >= self.config.steps


def train_members(
    configs: list[TrainConfig],
    out_dirs: list[str | Path] | None = None,
    *,
    resume: bool | list[bool] = False,
    progress: bool | None = None,
    force: bool = False,
    dtype: torch.dtype = torch.float32,
    per_run: bool | None = None,
) -> list[TrainResult]:
    """Train the members of one cell together, each as its single run would be trained.

    Parameters
    ----------
    configs : list of TrainConfig
        One per member; they may differ only in :data:`MEMBER_FIELDS`.
    out_dirs : list of str or Path, optional
        One run directory per member (as :func:`~linalg_rnn.rnn.trainer.train`'s
        ``out_dir``); ``None``: everything in memory.
    resume : bool or list of bool, optional
        Continue the members' runs from their checkpoints (one flag for all,
        or one per member). Members whose checkpoints stand at different
        steps are trained in groups, one group per step.
    progress : bool, optional
        A tqdm bar (default: only when stderr is a terminal and ``$CI`` is unset).
    force : bool, optional
        As :func:`~linalg_rnn.rnn.trainer.train`.
    dtype : torch.dtype, optional
        ``torch.float32`` (the trainer's precision) or ``torch.float64``, in
        which the members' models, data and updates are computed (the
        exactness tests compare float64 runs).
    per_run : bool, optional
        Train the members one after the other with the single-run trainer
        (:func:`~linalg_rnn.rnn.trainer.train`) instead of together; default:
        only LSTM cells on the CPU, where ``nn.LSTM``'s fused cell is faster
        per member than the batched one, and cells the batched path does
        not implement (:func:`batched_refusal`: modReLU), which are refused
        with ``per_run=False`` (:func:`uses_per_run_path`).

    Returns
    -------
    list of TrainResult
        One per member, in the order of ``configs``, as ``train`` returns it.

    Raises
    ------
    ValueError, TypeError
        As :func:`check_members` and :func:`~linalg_rnn.rnn.trainer.train`,
        for a ``dtype`` other than float32/float64 (float32 only on the
        per-run path), ``out_dirs``/``resume`` of the wrong length, or
        ``per_run=False`` for a cell the batched path does not implement;
        all before any work.
    FileExistsError, FileNotFoundError, OSError
        As ``train``, for any member's folder; the folders already opened are
        released, nothing is written.

    Notes
    -----
    Every member's model, optimizer and generators are built by its own
    ``build_run`` (so each starts from its single run's weights and draws its
    single run's batches), then stacked. Truncated BPTT works in both update
    forms; ``rebase_every`` re-bases each member through its own model's
    ``rebase_``; LSTMs run an explicit batched cell (or, by default on the CPU, the
    single-run trainer, member after member). What the members' results
    agree with their single runs to is said in the module docstring.

    Examples
    --------
    >>> import dataclasses
    >>> base = TrainConfig(task="adding", seq_len=10, hidden=8, steps=20, device="cpu", figures=False)
    >>> cfgs = [dataclasses.replace(base, seed=s, lr=lr) for s, lr in ((0, 1e-3), (1, 1e-2))]
    >>> results = train_members(cfgs)
    >>> [(r.steps_done, r.diverged, r.config.lr) for r in results]
    [(20, False, 0.001), (20, False, 0.01)]
    """
    configs = check_members(configs)
    N = len(configs)
    if dtype not in _DTYPES:
        raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
    if out_dirs is not None and len(out_dirs) != N:
        raise ValueError(f"out_dirs has {len(out_dirs)} folders for {N} members")
    resumes = [resume] * N if isinstance(resume, bool) else list(resume)
    if len(resumes) != N or not all(isinstance(r, bool) for r in resumes):
        raise ValueError(f"resume must be a bool or {N} bools, one per member")
    device = configs[0].torch_device  # resolved: the device exists and runs the strategy
    refusal = batched_refusal(configs[0])
    if per_run is False and refusal is not None:
        raise ValueError(f"per_run=False: the batched path cannot train {refusal}; "
                         "leave per_run unset (these members then train one at a time)")
    if per_run is None:
        per_run = uses_per_run_path(configs[0])
    if per_run and dtype != torch.float32:
        how = "give per_run=False" if refusal is None else f"the batched path cannot train {refusal}"
        raise ValueError(f"dtype: the per-run path trains in the trainer's float32; {how}")
    rundirs: list[RunDir | None] = []
    try:
        for n, cfg in enumerate(configs):
            out = out_dirs[n] if out_dirs is not None else None
            rundirs.append(RunDir.open(out, cfg, resume=resumes[n], force=force) if out is not None else None)
        if not per_run:
            return _train_in(configs, rundirs, device, progress, dtype)
    finally:
        for rd in rundirs:
            if rd is not None:
                rd.close()  # on the per-run path: every folder checked, none claimed; train() opens each
    return [train(cfg, out_dirs[n] if out_dirs is not None else None, resume=resumes[n], progress=progress,
                  force=force) for n, cfg in enumerate(configs)]


def batched_refusal(config: TrainConfig) -> str | None:
    """Why the batched path cannot train this cell's members (``None`` when it can).

    The batched recurrence is the tanh RNN and the LSTM; a cell it does not
    implement trains one run at a time (:func:`uses_per_run_path`), never
    something that differs from its single runs.

    Examples
    --------
    >>> batched_refusal(TrainConfig(strategy="expm", rebase_every=10, device="cpu")) is None
    True
    >>> batched_refusal(TrainConfig(strategy="expm", activation="modrelu", device="cpu"))
    'activation modrelu (the batched recurrence is tanh)'
    """
    if (config.activation or "tanh") != "tanh":
        return f"activation {config.activation} (the batched recurrence is tanh)"
    return None


def uses_per_run_path(config: TrainConfig) -> bool:
    """True when :func:`train_members` trains this cell's members one at a time by default.

    That is a cell the batched path does not implement (:func:`batched_refusal`:
    a modReLU RNN), and an LSTM on the CPU: ``nn.LSTM`` runs a fused oneDNN
    cell there, faster per member than the batched cell of
    :func:`~linalg_rnn.rnn.members.lstm_recurrence`
    (``benchmarks/bench_batched.py``, section 1 with ``--strategies lstm``).

    Examples
    --------
    >>> uses_per_run_path(TrainConfig(strategy="lstm", device="cpu"))
    True
    >>> uses_per_run_path(TrainConfig(strategy="expm", device="cpu"))
    False
    >>> uses_per_run_path(TrainConfig(strategy="expm", activation="modrelu", device="cpu"))
    True
    """
    config = config if config.is_resolved else config.resolved()
    lstm_on_cpu = config.parsed_strategy.uses("lstm") and config.torch_device.type == "cpu"
    return lstm_on_cpu or batched_refusal(config) is not None


def _build_member(config: TrainConfig, rundir: RunDir | None, dtype: torch.dtype) -> Member:
    """Build one member exactly as its single run starts (or resumes): model, optimizer, generators."""
    torch.random.default_generator.manual_seed(config.seed)  # as train() does before build_run
    run = build_run(config)
    if dtype != torch.float32:
        run.model.to(dtype)  # the optimizer keeps the same Parameter objects
        run.task = _HeldOutIn(run.task, dtype)  # the final evaluation's sets in the model's dtype
        run.val_x, run.val_y = _cast(run.val_x, dtype), _cast(run.val_y, dtype)
        if run.lag_x is not None:
            run.lag_x, run.lag_y = _cast(run.lag_x, dtype), _cast(run.lag_y, dtype)
    checkpoint = rundir.checkpoint if rundir is not None else None
    state = TrainState.start(run) if checkpoint is None else \
        TrainState.restore(run, checkpoint, rundir.path / "checkpoint.pt")
    return Member(config=config, run=run, state=state, rundir=rundir, rng_state=torch.get_rng_state())


class _HeldOutIn:
    """A task whose held-out sets come in ``dtype`` (a float64 member's final evaluation); else the task."""

    def __init__(self, task, dtype: torch.dtype):
        self._task, self._dtype = task, dtype

    def __getattr__(self, name):
        return getattr(self._task, name)

    def held_out(self, *args, **kwargs) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = self._task.held_out(*args, **kwargs)
        return _cast(x, self._dtype), _cast(y, self._dtype)


def _train_in(configs: list[TrainConfig], rundirs: list[RunDir | None], device: torch.device,
              progress: bool | None, dtype: torch.dtype) -> list[TrainResult]:
    """:func:`train_members` once every folder is open and locked."""
    cfg = configs[0]
    with numerics(device, allow_tf32=cfg.allow_tf32, deterministic=cfg.deterministic) as determ, \
            torch.random.fork_rng(devices=[]):
        members = [_build_member(c, rd, dtype) for c, rd in zip(configs, rundirs, strict=True)]
        for m in members:  # every member built and restored before any folder is claimed
            m.rows = m.rundir.claim() if m.rundir is not None else []
        pending = sorted((m for m in members if not m.done), key=lambda m: m.state.step)
        with stop_on_signals() as stop:  # SIGINT/SIGTERM stop every member after a checkpointed step
            for _, group in itertools.groupby(pending, key=lambda m: m.state.step):
                if stop.signal:
                    break
                _train_group(list(group), stop, progress, dtype)
        environment = environment_record(device, allow_tf32=cfg.allow_tf32, deterministic=determ)
        environment["batch_members"] = len(members)
        # each member's result as its single run ends: its own held-out numbers, on its own model
        return [finish_run(m.run, m.state, m.rows, m.rundir, signal=stop.signal, environment=environment)
                for m in members]


# --------------------------------------------------------------------------- the batch
@dataclass
class _Batch:
    """The members training together and everything stacked along their axis (shrinks as members leave)."""

    members: list[Member]
    model: MemberModel
    optimizer: MemberOptimizer
    val_x: torch.Tensor
    val_y: torch.Tensor
    max_norm: torch.Tensor | None  # (N,) clip_norm per member (inf: none), or None when nobody clips
    limit: torch.Tensor | None  # (N,) clip_value per member, likewise
    dtype: torch.dtype

    @classmethod
    def of(cls, members: list[Member], dtype: torch.dtype) -> _Batch:
        runs = [m.run for m in members]
        model = MemberModel([r.model for r in runs], dtype=dtype)
        optimizer = MemberOptimizer([r.optimizer for r in runs], [r.model for r in runs]).to(dtype)

        def bounds(name: str) -> torch.Tensor | None:
            values = [getattr(m.config, name) for m in members]
            if all(v is None for v in values):
                return None
            return torch.tensor([math.inf if v is None else v for v in values], dtype=dtype,
                                device=runs[0].config.torch_device)

        return cls(members=list(members), model=model, optimizer=optimizer,
                   val_x=torch.stack([r.val_x for r in runs]), val_y=torch.stack([r.val_y for r in runs]),
                   max_norm=bounds("clip_norm"), limit=bounds("clip_value"), dtype=dtype)

    @property
    def run(self) -> Run:
        """The first member's run: the task, windows, strategy and device they all share."""
        return self.members[0].run

    def store(self, n: int) -> None:
        """Write member ``n``'s weights and optimizer state into its own model and optimizer."""
        run = self.members[n].run
        self.model.write_back(n, run.model)
        self.optimizer.store(n, run.optimizer, run.model)

    def keep(self, index: list[int]) -> None:
        """Keep only the members at ``index`` (the others have left: diverged)."""
        self.members = [self.members[i] for i in index]
        self.model.keep(index)
        self.optimizer.keep(index)
        self.val_x, self.val_y = self.val_x[index], self.val_y[index]
        self.max_norm = None if self.max_norm is None else self.max_norm[index]
        self.limit = None if self.limit is None else self.limit[index]


def _cast(t: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    return t.to(dtype) if t.is_floating_point() else t


def _draw(batch: _Batch) -> tuple[torch.Tensor, torch.Tensor]:
    """Every member's own batch, from its own generator, stacked ``(N, B, T, .)``."""
    run = batch.run
    xs, ys = zip(*(m.run.task.sample(m.config.batch, m.run.data_rng) for m in batch.members), strict=True)
    x, y = _cast(torch.stack(xs), batch.dtype), _cast(torch.stack(ys), batch.dtype)
    return to_device(x, run.config.torch_device), to_device(y, run.config.torch_device)


def _losses(task, out: torch.Tensor, y: torch.Tensor, start: int = 0) -> torch.Tensor:
    """Every member's loss ``(N,)``: the task's own loss, mapped over the member axis."""
    return torch.func.vmap(lambda o, t: task.loss(o, t, start))(out, y)


def _accuracies(task, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return torch.func.vmap(task.accuracy_tensor)(out, y)


def _detach(state):
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


def _norms_and_clip(batch: _Batch) -> list[torch.Tensor]:
    """Each member's total and W_hh gradient norms before clipping; then its own clipping."""
    model = batch.model
    grads = [p.grad for p in model.parameters()]
    total, each = member_gradient_norms(grads)
    w_norm = each[list(model.params).index(model.recurrent_name)]
    if batch.max_norm is not None:
        clip_members_by_norm_(grads, total, batch.max_norm)
    if batch.limit is not None:
        clip_members_by_value_(grads, batch.limit)
    return [total, w_norm]


def _read(values: list[torch.Tensor]) -> list[list[float]]:
    """The step's one device-to-host transfer: ``values[k][n]`` for every quantity k and member n."""
    return torch.stack([v.detach().to(values[0].dtype) for v in values]).tolist()


def _finite(*values: float) -> bool:
    return all(math.isfinite(v) for v in values)


def _leave(batch: _Batch, diverged: list[int]) -> list[int]:
    """Members ``diverged`` leave the batch with the weights they had (no update); return who stays."""
    for n in diverged:
        batch.store(n)  # its single run stops here: these weights and moments are its last
    stay = [n for n in range(len(batch.members)) if n not in diverged]
    batch.keep(stay)
    return stay


def _project(batch: _Batch, step: int) -> None:
    """Every ``proj_every`` steps, each member's W_hh replaced by an orthogonal matrix; then re-basing."""
    cfg = batch.run.config
    projection = cfg.parsed_strategy.projection
    if projection is not None and step % cfg.proj_every == 0:
        project = member_qr_project_ if projection == "qr" else member_polar_project_
        project(batch.model.params[batch.model.recurrent_name])
    if cfg.rebase_every and step % cfg.rebase_every == 0:
        batch.model.rebase_([m.run.model for m in batch.members])  # each member's map(B) into its base


def _zero_grad(batch: _Batch) -> None:
    for p in batch.model.parameters():
        p.grad = None


def _train_step(batch: _Batch, step: int) -> dict[int, dict]:
    """One training step of every member; rows keyed by ``id`` of the member (diverged ones have left)."""
    x, y = _draw(batch)
    run = batch.run
    if run.config.tbptt_update == "window":
        return _window_step(batch, step, x, y)
    _zero_grad(batch)
    state, total, outs = None, None, []
    for window in run.windows:  # one window without tbptt; tbptt_update="batch" sums them
        t0, t1 = window.start, window.stop
        if window.loss_weight == 0:
            with torch.no_grad():
                out, state = batch.model(x[:, :, t0:t1], state)
        else:
            out, state = batch.model(x[:, :, t0:t1], state)
            loss = _losses(run.task, out, y, t0)
            loss.sum().backward()  # d(sum)/d(loss_n) = 1: each member gets its own gradient
            total = loss.detach() if total is None else total + loss.detach()
        state = _detach(state)
        outs.append(out.detach())
    scalars = [total, *_norms_and_clip(batch)]
    if run.task.classification:
        scalars.append(_accuracies(run.task, torch.cat(outs, dim=2), y))
    values = _read(scalars)
    rows, diverged = {}, []
    for n, m in enumerate(batch.members):
        row = {"step": step, "train_loss": values[0][n], "grad_norm": values[1][n],
               "grad_norm_w_hh": values[2][n], "updates": 0}
        if run.task.classification:
            row["train_accuracy"] = values[3][n]
        if not _finite(values[0][n], values[1][n]):
            row["diverged"] = True
            diverged.append(n)
        rows[id(m)] = row
    if diverged:
        _leave(batch, diverged)
    if batch.members:
        batch.optimizer.step(batch.model.params)
        for m in batch.members:
            rows[id(m)]["updates"] = 1
        _project(batch, step)
    return rows


def _window_step(batch: _Batch, step: int, x: torch.Tensor, y: torch.Tensor) -> dict[int, dict]:
    """Truncated BPTT as lesson 11 runs it, for every member: an update after every window with loss."""
    run = batch.run
    rows = {id(m): {"step": step, "train_loss": 0.0, "grad_norm": 0.0, "grad_norm_w_hh": 0.0, "updates": 0}
            for m in batch.members}
    state, outs = None, []
    for window in run.windows:
        t0, t1, weight = window.start, window.stop, window.loss_weight
        if weight == 0:  # nothing to learn here: carry the state forward
            with torch.no_grad():
                out, state = batch.model(x[:, :, t0:t1], state)
            outs.append(out)
            continue
        _zero_grad(batch)
        out, state = batch.model(x[:, :, t0:t1], state)
        share = _losses(run.task, out, y, t0)  # each member's part of its batch loss
        (share / weight).sum().backward()  # each update descends the window's own mean loss
        values = _read([share, *_norms_and_clip(batch)])  # one read per update
        diverged = []
        for n, m in enumerate(batch.members):
            row = rows[id(m)]
            loss, grad, grad_w_hh = values[0][n], values[1][n], values[2][n]
            row["train_loss"] += loss
            if not _finite(loss, grad):
                row.update(grad_norm=grad, grad_norm_w_hh=grad_w_hh, diverged=True)
                diverged.append(n)
            else:
                row["grad_norm"] = max(row["grad_norm"], grad)
                row["grad_norm_w_hh"] = max(row["grad_norm_w_hh"], grad_w_hh)
        if diverged:  # no update from a NaN/inf gradient; the rest of the batch goes on
            stay = _leave(batch, diverged)
            x, y, out = x[stay], y[stay], out[stay]
            state = tuple(s[stay] for s in state) if isinstance(state, tuple) else state[stay]
            outs = [o[stay] for o in outs]
            if not batch.members:
                return rows
        batch.optimizer.step(batch.model.params)
        for m in batch.members:
            rows[id(m)]["updates"] += 1
        state = _detach(state)  # the next window starts from the carried, detached state
        outs.append(out.detach())
    _project(batch, step)
    if run.task.classification:
        accuracy = _read([_accuracies(run.task, torch.cat(outs, dim=2), y)])[0]
        for n, m in enumerate(batch.members):
            rows[id(m)]["train_accuracy"] = accuracy[n]
    return rows


@torch.no_grad()
def _evaluate(batch: _Batch) -> list[dict]:
    """Every member's validation loss (and accuracy) on its own validation batch, in one read."""
    run, model = batch.run, batch.model
    N, Bv, T = batch.val_x.shape[:3]
    H = batch.model.params[model.recurrent_name].shape[-2]
    per_member = Bv * T * H * batch.val_x.element_size() * 2  # hidden states and input drives
    chunk = max(1, min(N, _EVAL_BYTES // max(1, per_member)))
    losses, accuracies = [], []
    for start in range(0, N, chunk):
        part = slice(start, min(N, start + chunk))
        out, _ = model(batch.val_x[part], members=part)
        losses.append(_losses(run.task, out, batch.val_y[part]))
        if run.task.classification:
            accuracies.append(_accuracies(run.task, out, batch.val_y[part]))
    scalars = [torch.cat(losses)] + ([torch.cat(accuracies)] if accuracies else [])
    values = _read(scalars)
    rows = [{"val_loss": values[0][n]} for n in range(N)]
    if run.task.classification:
        for n in range(N):
            rows[n]["val_accuracy"] = values[1][n]
    return rows


def _save_checkpoint(m: Member) -> None:
    """The member's checkpoint, as its single run writes it (with its own global generator state)."""
    with torch.random.fork_rng(devices=[]):
        torch.set_rng_state(m.rng_state)
        m.rundir.save_checkpoint(m.state.checkpoint(m.run))


def _train_group(members: list[Member], stop: StopRequest, progress: bool | None,
                 dtype: torch.dtype) -> None:
    """Steps until ``steps``, every member's divergence or a signal; the blocks of the module doc."""
    cfg = members[0].config
    batch = _Batch.of(members, dtype)
    clock = time.perf_counter()
    elapsed_before = {id(m): m.state.elapsed_s for m in members}
    start = members[0].state.step
    bar = tqdm(total=cfg.steps, initial=min(start, cfg.steps), disable=not show_progress(progress),
               desc=f"{cfg.task}/{cfg.strategy} x{len(members)}", dynamic_ncols=True)
    with bar:
        for step in range(start + 1, cfg.steps + 1):
            everyone = list(batch.members)
            for m in everyone:
                m.state.step = step

            # draw a batch, forward and backward, clip, divergence, update and project: every member
            rows = _train_step(batch, step)

            # divergence: a member with a NaN/inf loss or gradient has left the batch (no update)
            left = [m for m in everyone if rows[id(m)].get("diverged")]
            for m in left:
                m.state.diverged, m.state.divergence_step = True, step
            final = step == cfg.steps

            # W_hh metrics, after the update and the projection, on float64 CPU copies
            with_radius = final or step % cfg.spectral_every == 0
            metrics_step = with_radius or step % (cfg.norm_every or cfg.spectral_every) == 0
            # (one copy of every member's W_hh to the CPU, where the metrics compute anyway)
            W = batch.model.recurrent_matrix().cpu() if metrics_step and batch.members else None
            for n, m in enumerate(batch.members):
                rows[id(m)].update(recurrent_metrics(W[n], with_spectral_radius=with_radius) if metrics_step
                                   else dict.fromkeys(_SPECTRAL_KEYS))
            for m in left:  # as its single run: the metrics of the weights it stopped with
                rows[id(m)].update(recurrent_metrics(m.run.model.recurrent_matrix()))

            # validate
            if batch.members and (final or step % cfg.eval_every == 0):
                for m, val in zip(batch.members, _evaluate(batch), strict=True):
                    rows[id(m)].update(val)

            # the per-lag gradient norms, through the explicit loop on each member's own model
            if batch.members and cfg.lag_grads_every and step % cfg.lag_grads_every == 0:
                for n, m in enumerate(batch.members):
                    batch.model.write_back(n, m.run.model)
                    rows[id(m)]["hidden_grad_norms"] = hidden_gradient_norms(
                        m.run.model, m.run.task, m.run.lag_x, m.run.lag_y)

            # log
            now = time.perf_counter()
            for m in everyone:
                row = rows[id(m)]
                m.state.elapsed_s = elapsed_before[id(m)] + now - clock
                row["elapsed_s"] = m.state.elapsed_s
                if final or m in left or step % cfg.log_every == 0 or "val_loss" in row:
                    m.rows.append(row)
                    if m.rundir is not None:
                        m.rundir.append_row(row)
            bar.update(1)

            # checkpoint: every member that stops now, and all at the checkpoint cadence
            stopping = final or stop.signal
            if stopping or step % cfg.checkpoint_every == 0:
                for n in range(len(batch.members)):
                    batch.store(n)
            for m in everyone:
                if m.rundir is not None and (stopping or m in left or step % cfg.checkpoint_every == 0):
                    _save_checkpoint(m)

            # a signal stops every member after a finished, checkpointed step
            if stop.signal or not batch.members:
                break
    for n in range(len(batch.members)):  # the results hold the trained weights
        batch.store(n)
