"""Running cells: one cell as a trainer run, and the executors that run many (local pool, Ray).

:func:`run_cell` is the unit of training: it trains one :class:`~._grid.Cell`
with the config the cell carries, in its own run directory (continuing from
its checkpoint when there is one), on one torch thread, and returns a
*record* -- the row of ``results.json``, downsampled curves for the figures,
and the eigenvalues of :math:`W_{hh}` at start and end. It never raises: a
crash is a record too. The executors hand out *units* of work, each a list
of cells of one grid point (:func:`work_units`): today a unit is one cell,
or several run one after another; a batched trainer that trains a unit's
members as one model slots in at :func:`run_cells`. The executors only
decide where records are computed; the driver (:mod:`._study`) writes every
file.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import queue
import signal
import threading
import traceback
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

import torch

from ..config import DEVICES, TrainConfig, resolve_device
from ..rundir import has_run
from ..trainer import train
from ._grid import Cell
from ._stop import Stop, forward_signal

__all__ = ["EXECUTORS", "ROW_KEYS", "Executor", "cell_record", "default_workers", "gpu_share",
           "iter_records", "run_cell", "run_cells", "work_units"]

EXECUTORS = ("local", "ray")
SUCCESS_RATIO = 0.1  # a seed succeeds when val_loss <= 10 % of the task's baseline
CURVE_POINTS = 200  # points kept per curve for the figures
ZOOM_STEPS = 60  # the last steps kept at full resolution (drift between projections)
POLL_S = 0.2  # how often the driver looks at finished cells and at a stop request
RAY_GRACE_S = 30.0  # how long a stopped Ray study waits for its cancelled running tasks
# The columns of results.json/results.csv, in order (DESIGN.md's keys first).
ROW_KEYS = (
    "task", "seq_len", "strategy", "seed", "val_loss", "baseline_loss", "loss_ratio", "success",
    "steps_to_threshold", "max_grad_norm", "final_w_hh_spectral_norm", "max_w_hh_spectral_norm",
    "diverged", "divergence_step", "wall_s", "steps", "run_dir",
    "phase", "status", "error", "strategy_spec", "lr", "orth_lr", "setting", "hidden", "batch",
    "tbptt_window", "tbptt_update", "proj_every", "optimizer_updates", "val_accuracy",
    "test_loss", "test_ratio", "test_accuracy", "test_trivial_ratio",
    "initial_w_hh_spectral_norm", "time_per_step_s", "device", "skew_norm", "params",
)


def default_workers(device: str = "auto") -> int:
    """Cells run at once by default: one per core on the CPU, four sharing one GPU.

    Examples
    --------
    >>> default_workers("cpu") == (os.cpu_count() or 1)
    True
    """
    if resolve_device(device).type == "cpu":
        return os.cpu_count() or 1
    return 4


@dataclass(frozen=True)
class Executor:
    """Where and how a study's cells run.

    Attributes
    ----------
    kind : {"local", "ray"}
        A process pool on this machine (``workers=1``: in this process), or
        Ray tasks (:func:`iter_records`).
    workers : int or None
        Cells at once (local) / CPUs of a local Ray instance; default one
        per core on the CPU, four on a GPU (:func:`default_workers`).
    address : str or None
        A running Ray cluster (``ray://host:10001`` or ``auto``); ray only.
    device : {"auto", "cpu", "cuda", "mps"} or None
        Overrides the profile's device for every cell.
    members : int
        Cells of one grid point per unit of work (:func:`work_units`); 1
        (default) hands out one cell at a time.

    Examples
    --------
    >>> Executor(workers=2).check()
    >>> Executor(kind="slurm").check()
    Traceback (most recent call last):
        ...
    ValueError: unknown executor 'slurm'; choose one of local, ray
    """

    kind: str = "local"
    workers: int | None = None
    address: str | None = None
    device: str | None = None
    members: int = 1

    def check(self) -> None:
        """Refuse a bad setting in one line, before any work."""
        if self.kind not in EXECUTORS:
            raise ValueError(f"unknown executor {self.kind!r}; choose one of {', '.join(EXECUTORS)}")
        for name in ("workers", "members"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if self.address is not None and self.kind != "ray":
            raise ValueError("address is for the ray executor; add --executor ray")
        if self.device is not None:
            if self.device not in DEVICES:
                raise ValueError(f"unknown device {self.device!r}; choose one of {', '.join(DEVICES)}")
            resolve_device(self.device)


def _finite(values) -> list[float]:
    return [v for v in values if v is not None and math.isfinite(v)]


def _downsample(rows: list[dict], key: str, points: int = CURVE_POINTS) -> list[list[float]]:
    """``[[step, value], ...]`` of the rows that have ``key``, at most ``points`` of them."""
    pts = [[r["step"], r[key]] for r in rows if r.get(key) is not None and math.isfinite(r[key])]
    if len(pts) <= points:
        return pts
    stride = len(pts) / points
    kept = [pts[int(i * stride)] for i in range(points)]
    return kept if kept[-1] is pts[-1] else kept + [pts[-1]]


def _eigenvalues(W: torch.Tensor | None) -> list[list[float]] | None:
    if W is None:
        return None
    W = W.detach().cpu().double()
    if not torch.isfinite(W).all():
        return None
    lam = torch.linalg.eigvals(W)
    return [[round(float(z.real), 6) for z in lam], [round(float(z.imag), 6) for z in lam]]


def cell_record(cell: Cell, result, run_dir: str) -> dict:
    """The record of a finished (or diverged, or interrupted) trainer run.

    Parameters
    ----------
    cell : Cell
        The cell (its labels, phase and setting; the seed is read from the
        config that trained, ``result.config``).
    result : TrainResult
        What :func:`~linalg_rnn.rnn.train` returned.
    run_dir : str
        The run directory, as written in the row.

    Returns
    -------
    dict
        ``row`` (the keys of :data:`ROW_KEYS`), ``curves`` (``val_loss``,
        ``train_loss``, ``grad_norm``, ``w_hh_spectral_norm`` as
        ``[[step, value], ...]`` and ``w_hh_zoom``, the last steps at full
        resolution), ``eigenvalues`` (``start``/``end`` as ``[re, im]``),
        ``environment``, and ``interrupted`` (the signal that stopped the
        run, or ``None``).

    Notes
    -----
    ``loss_ratio`` is the final validation loss over the task's baseline;
    ``success`` is ``loss_ratio <= 0.1``; ``steps_to_threshold`` the first
    evaluated step where the ratio was at most 0.1. A diverged run has no
    final loss (``val_loss``, ``loss_ratio`` null; ``success`` false).
    Gradient norms are before clipping. Where the trainer evaluated a test
    stream at the end, ``test_loss``, ``test_accuracy``, ``test_ratio``
    (test loss over the baseline) and ``test_trivial_ratio`` (the loss of a
    constant predictor on the same test data, over the baseline) come from
    its final metrics, as do ``skew_norm`` and ``params``; otherwise they
    are null. ``setting`` is what the sweep tried (sweep rows) or chose
    (main rows), null without a sweep. Taught in lesson 14.

    Examples
    --------
    >>> from linalg_rnn.rnn import TrainConfig, train
    >>> config = TrainConfig(task="adding", seq_len=6, hidden=4, batch=4, steps=4, eval_every=2,
    ...                      val_batch=8, device="cpu", seed=3)
    >>> record = cell_record(Cell("adding", 6, "vanilla", config), train(config), "cells/x")
    >>> record["row"]["steps"], record["row"]["seed"], record["row"]["status"], sorted(record["curves"])[:3]
    (4, 3, 'finished', ['grad_norm', 'train_loss', 'val_loss'])
    """
    rows, config = result.history, result.config
    baseline = result.baseline_loss
    evals = [(r["step"], r["val_loss"]) for r in rows if r.get("val_loss") is not None]
    val_loss = None if result.diverged or not evals else evals[-1][1]
    ratio = None if val_loss is None else val_loss / baseline
    reached = [s for s, v in evals if v / baseline <= SUCCESS_RATIO]
    norms = _finite(r.get("w_hh_spectral_norm") for r in rows)
    grads = _finite(r.get("grad_norm") for r in rows)
    wall = rows[-1]["elapsed_s"] if rows else 0.0
    status = "interrupted" if result.interrupted else "diverged" if result.diverged else "finished"
    test = {} if result.diverged else result.final

    def over_baseline(key):
        return None if test.get(key) is None else test[key] / baseline

    row = {
        "task": cell.task, "seq_len": cell.seq_len, "strategy": cell.strategy,
        "seed": config.seed, "val_loss": val_loss, "baseline_loss": baseline, "loss_ratio": ratio,
        "success": ratio is not None and ratio <= SUCCESS_RATIO,
        "steps_to_threshold": reached[0] if reached else None,
        "max_grad_norm": max(grads) if grads else None,
        "final_w_hh_spectral_norm": norms[-1] if norms else None,
        "max_w_hh_spectral_norm": max(norms) if norms else None,
        "diverged": result.diverged, "divergence_step": result.divergence_step,
        "wall_s": wall, "steps": result.steps_done, "run_dir": run_dir,
        "phase": cell.phase, "status": status, "error": None, "strategy_spec": config.strategy,
        "lr": config.lr, "orth_lr": config.orth_lr, "setting": dict(cell.setting) or None,
        "hidden": config.hidden, "batch": config.batch,
        "tbptt_window": config.tbptt_window, "tbptt_update": config.tbptt_update,
        "proj_every": config.proj_every,
        "optimizer_updates": sum(r.get("updates", 0) for r in rows) if rows and "updates" in rows[0]
        else None,
        "val_accuracy": None if result.diverged else result.final.get("val_accuracy"),
        "test_loss": test.get("test_loss"), "test_ratio": over_baseline("test_loss"),
        "test_accuracy": test.get("test_accuracy"), "test_trivial_ratio": over_baseline("test_trivial_loss"),
        "initial_w_hh_spectral_norm": result.initial.get("w_hh_spectral_norm"),
        "time_per_step_s": wall / result.steps_done if result.steps_done else None,
        "device": result.device,
        "skew_norm": result.final.get("skew_norm"), "params": result.final.get("params"),
    }
    curves = {key: _downsample(rows, key) for key in
              ("val_loss", "train_loss", "grad_norm", "w_hh_spectral_norm")}
    last = rows[-1]["step"] if rows else 0
    curves["w_hh_zoom"] = [[r["step"], r["w_hh_spectral_norm"]] for r in rows
                           if r["step"] > last - ZOOM_STEPS and r.get("w_hh_spectral_norm") is not None]
    final_w = result.model.recurrent_matrix() if result.model is not None else None
    eig = {"start": _eigenvalues(result.initial_w_hh), "end": _eigenvalues(final_w)}
    return {"row": row, "curves": curves, "eigenvalues": eig,
            "environment": getattr(result, "environment", None) or {}, "interrupted": result.interrupted}


def crash_record(cell: Cell, run_dir: str, error: str) -> dict:
    """The record of a cell whose run raised (or whose worker died): status ``crashed``.

    Examples
    --------
    >>> cell = Cell("adding", 6, "clip", TrainConfig(task="adding", seq_len=6, strategy="clip", seed=1))
    >>> row = crash_record(cell, "cells/x", "RuntimeError: boom")["row"]
    >>> row["status"], row["error"], row["success"], row["seed"]
    ('crashed', 'RuntimeError: boom', False, 1)
    """
    row = dict.fromkeys(ROW_KEYS)
    row.update({"task": cell.task, "seq_len": cell.seq_len, "strategy": cell.strategy,
                "seed": cell.config.seed, "phase": cell.phase, "run_dir": run_dir,
                "status": "crashed", "error": error, "success": False, "diverged": False,
                "strategy_spec": cell.config.strategy, "lr": cell.config.lr, "orth_lr": cell.config.orth_lr,
                "setting": dict(cell.setting) or None})
    return {"row": row, "curves": {}, "eigenvalues": {}, "interrupted": None}


def run_cell(cell: Cell, study_dir: str | Path) -> dict:
    """Train one cell on one torch thread and return its record; never raises.

    Parameters
    ----------
    cell : Cell
        Its config trains as it is.
    study_dir : str or Path
        The study folder: the run directory is ``study_dir/cells/<cell.key>``.

    Returns
    -------
    dict
        :func:`cell_record`'s record, or a ``crashed`` record with the error.

    Notes
    -----
    The run continues from its checkpoint when its directory holds one (an
    interrupted cell), so a rerun of a finished directory only reloads it.
    One thread per cell: two multi-threaded runs on the same cores slow each
    other far more than they gain. Taught in lesson 14.

    Examples
    --------
    >>> import tempfile
    >>> config = TrainConfig(task="adding", seq_len=6, hidden=4, batch=4, steps=3, val_batch=8,
    ...                      device="cpu", figures=False)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     record = run_cell(Cell("adding", 6, "vanilla", config), tmp)
    >>> record["row"]["status"], record["row"]["steps"], record["row"]["run_dir"]
    ('finished', 3, 'cells/main/adding-T6/vanilla/seed0')
    """
    row_dir = f"cells/{cell.key}"
    run_dir = Path(study_dir).resolve() / row_dir
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result = train(cell.config, run_dir, resume=has_run(run_dir), progress=False)
        return cell_record(cell, result, row_dir)
    except Exception as exc:  # a crashed cell is a result of the study, not the end of it
        last = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return crash_record(cell, row_dir, last.splitlines()[0])
    finally:
        torch.set_num_threads(threads)


def run_cells(cells: list[Cell], study_dir: str | Path,
              stopped: Callable[[], bool] | None = None) -> list[dict]:
    """Run one unit of work -- cells of one grid point -- one after another; their records.

    Parameters
    ----------
    cells : list of Cell
        A unit from :func:`work_units`.
    study_dir : str or Path
        The study folder.
    stopped : callable, optional
        Asked before each cell; once it says True, no further cell starts
        (the records returned are those of the cells that ran).

    Returns
    -------
    list of dict
        One record per cell run, in order.

    Notes
    -----
    This is where a batched trainer (issue 21) trains the members of a
    unit as one model; the records it returns must be those of
    :func:`run_cell`, one per member.

    Examples
    --------
    >>> run_cells([], "/tmp")
    []
    """
    records = []
    for cell in cells:
        if stopped is not None and stopped():
            break
        records.append(run_cell(cell, study_dir))
        if records[-1]["interrupted"]:
            break  # the signal that stopped this cell stops the unit
    return records


def work_units(cells: list[Cell], members: int = 1) -> list[list[Cell]]:
    """Cells in units of work: up to ``members`` consecutive cells of one grid point and phase.

    Examples
    --------
    >>> config = TrainConfig(task="adding", seq_len=6)
    >>> cells = [Cell("adding", 6, s, config) for s in ("a", "a", "a", "b")]
    >>> [[c.strategy for c in unit] for unit in work_units(cells, members=2)]
    [['a', 'a'], ['a'], ['b']]
    """
    units: list[list[Cell]] = []
    for cell in cells:
        last = units[-1] if units else None
        if (last is not None and len(last) < members
                and (last[0].phase, last[0].task, last[0].seq_len, last[0].strategy)
                == (cell.phase, cell.task, cell.seq_len, cell.strategy)):
            last.append(cell)
        else:
            units.append([cell])
    return units


def gpu_share(config: TrainConfig) -> float:
    """The fraction of a GPU a cell asks Ray for: a quarter for small models, else a whole one.

    Examples
    --------
    >>> gpu_share(TrainConfig(hidden=64)), gpu_share(TrainConfig(hidden=512))
    (0.25, 1.0)
    """
    return 0.25 if config.hidden <= 256 else 1.0


# --- the local executor: a process pool that never holds a queued cell ---------------------------

_STOP_EVENT = None  # in a worker process: the pool's shared stop flag, set by the driver


def _worker_init(stop_event, pids) -> None:
    global _STOP_EVENT
    _STOP_EVENT = stop_event
    pids.put(os.getpid())  # so the driver can forward a signal to this worker
    # An idle worker ignores both signals; a training worker takes them through the trainer's
    # own handler, which checkpoints the step and returns "interrupted" to the driver.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    torch.set_num_threads(1)


def _run_in_worker(cells: list[Cell], study_dir: str) -> list[dict]:
    return run_cells(cells, study_dir, stopped=_STOP_EVENT.is_set)


def _drain(pids, known: set[int]) -> set[int]:
    while True:
        try:
            known.add(pids.get_nowait())
        except queue.Empty:
            return known


def _iter_local(units: list[list[Cell]], study_dir: str, workers: int,
                stop: Stop) -> Iterator[tuple[Cell, dict]]:
    if workers == 1:  # in this process: no start-up cost, and safe inside a lesson script
        for unit in units:
            if stop:
                return
            yield from zip(unit, run_cells(unit, study_dir, stopped=lambda: bool(stop)), strict=False)
        return
    context = multiprocessing.get_context("spawn")  # no fork of a process holding torch threads
    stop_event, pids, known = context.Event(), context.Queue(), set()
    todo, tries = deque(range(len(units))), Counter()
    while todo and not stop:
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_worker_init,
                                 initargs=(stop_event, pids)) as pool:
            running, broken = {}, False
            while running or (todo and not stop and not broken):
                # at most one unit per worker: nothing waits in the pool's queue, so nothing
                # queued can start after a stop
                while todo and len(running) < workers and not stop and not broken:
                    i = todo.popleft()
                    try:
                        running[pool.submit(_run_in_worker, units[i], study_dir)] = i
                    except BrokenProcessPool:
                        todo.appendleft(i)
                        broken = True
                done, _ = wait(running, timeout=POLL_S, return_when=FIRST_COMPLETED)
                if stop:
                    stop_event.set()
                    forward_signal(stop, _drain(pids, known))
                for future in done:
                    i = running.pop(future)
                    try:
                        records = future.result()
                    except BrokenProcessPool:  # a worker died (killed, out of memory): retry once
                        broken = True
                        tries[i] += 1
                        if tries[i] < 2:
                            todo.append(i)
                            continue
                        records = [crash_record(c, f"cells/{c.key}", "worker process died") for c in units[i]]
                    yield from zip(units[i], records, strict=False)


# --- the Ray executor ----------------------------------------------------------------------------

def _python_handlers() -> dict:
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}


def _reinstall(handlers: dict) -> None:
    for s, h in handlers.items():
        if h is not None:
            signal.signal(s, h)


def _iter_ray(units: list[list[Cell]], study_dir: str, address: str | None, workers: int | None,
              stop: Stop) -> Iterator[tuple[Cell, dict]]:
    try:
        import ray
        from ray.exceptions import TaskCancelledError
    except ImportError:
        raise ValueError("--executor ray needs ray: pip install 'linalg-rnn[cluster]'") from None
    started = False
    if not ray.is_initialized():
        kwargs = {"address": address} if address else {"num_cpus": workers}
        handlers = _python_handlers()
        ray.init(include_dashboard=False, log_to_driver=False, **kwargs)
        _reinstall(handlers)  # ray.init puts its own SIGTERM handler, which kills the driver, over ours
        started = True

    def records(ref) -> Iterator[tuple[Cell, dict]]:
        unit = units[refs[ref]]
        try:
            yield from zip(unit, ray.get(ref), strict=False)
        except TaskCancelledError:
            return  # stopped: no record, the cell reruns (from its checkpoint, if any) on resume
        except Exception as exc:  # retries exhausted: the worker kept dying
            yield from ((c, crash_record(c, f"cells/{c.key}", f"ray: {type(exc).__name__}")) for c in unit)

    try:
        gpus = ray.cluster_resources().get("GPU", 0) > 0
        remote = ray.remote(run_cells)
        refs = {}
        for i, unit in enumerate(units):
            config = unit[0].config
            share = gpu_share(config) if gpus and config.device in ("auto", "cuda") else 0
            refs[remote.options(num_cpus=1, num_gpus=share, max_retries=3).remote(unit, study_dir)] = i
        pending = list(refs)
        while pending and not stop:
            done, pending = ray.wait(pending, num_returns=1, timeout=POLL_S)
            for ref in done:
                yield from records(ref)
        if stop and pending:
            for ref in pending:  # a queued task never starts; a running one gets a KeyboardInterrupt
                ray.cancel(ref)
            done, _ = ray.wait(pending, num_returns=len(pending), timeout=RAY_GRACE_S)
            for ref in done:
                yield from records(ref)
    finally:
        if started:
            ray.shutdown()


def iter_records(units: list[list[Cell]], study_dir: str | Path, executor: Executor | None = None,
                 stop: Stop | None = None) -> Iterator[tuple[Cell, dict]]:
    """Run units of cells and yield ``(cell, record)`` as each unit finishes, in completion order.

    Parameters
    ----------
    units : list of list of Cell
        From :func:`work_units`.
    study_dir : str or Path
        The study folder (on a Ray cluster: a path every node sees).
    executor : Executor, optional
        Default: the local executor at its default workers.
    stop : Stop, optional
        Once it is set (:mod:`._stop`), no further cell starts, and running
        cells are told to stop after their current step.

    Yields
    ------
    tuple of (Cell, dict)

    Notes
    -----
    **Local.** A process pool of ``workers`` processes (``workers=1``: this
    process), given one unit per free worker, so no cell waits in a queue
    that a stop could not empty. On a stop, each worker checks a shared
    flag before each cell, and the driver sends the signal to the workers
    on every poll (:data:`POLL_S`) until their cells return: the trainer
    ends the step it is in, writes a checkpoint and returns ``interrupted``.
    A worker that dies takes the pool with it; its units are retried once
    in a new pool.

    **Ray.** Every unit is a task (retried 3 times if its worker dies). On a
    stop, the tasks not started yet are cancelled and never start; the
    running ones get ``ray.cancel`` -- a ``KeyboardInterrupt`` in the task,
    which the trainer sees as SIGINT where the task runs in its worker's
    main thread (then it checkpoints and stops after the step). That part
    is best effort: the driver waits :data:`RAY_GRACE_S` seconds for them,
    keeps no record of a cancelled task, and ``--resume`` reruns it, from
    its checkpoint when one was written. (``ray.init`` puts a SIGTERM
    handler of its own over the driver's, one that ends the process; the
    driver puts its own back after it.)

    Every cell runs on one torch thread, so on the CPU both executors give
    bit-identical rows (``wall_s`` aside). Taught in lesson 14.

    Examples
    --------
    >>> list(iter_records([], "/tmp"))
    []
    """
    executor = executor or Executor()
    stop = Stop() if stop is None else stop
    study_dir = str(Path(study_dir).resolve())
    workers = executor.workers or default_workers(executor.device or "auto")
    if executor.kind == "ray":
        yield from _iter_ray(units, study_dir, executor.address, executor.workers, stop)
    else:
        yield from _iter_local(units, study_dir, workers, stop)
