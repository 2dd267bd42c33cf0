"""Running cells: one cell as a trainer run, and the executors that run many (local pool, Ray).

:func:`run_cell` is the unit of training: it trains one :class:`~._grid.Cell`
with the config the cell carries, in its own run directory (continuing from
its checkpoint when there is one), on one torch thread, and returns a
*record* -- the row of ``results.json``, downsampled curves for the figures,
and the eigenvalues of :math:`W_{hh}` at start and end. It never raises: a
crash is a record too. The executors hand out *units* of work
(:func:`work_units`): one cell, or -- with ``members`` above 1 -- up to that
many cells of one grid point that differ only in seed and learning rates,
which :func:`run_cells` trains together as the members of one model
(:func:`~linalg_rnn.rnn.members.train_members`), each in its own run
directory, each with its own record. The executors only decide where
records are computed; the driver (:mod:`._study`) writes every file.
"""

from __future__ import annotations

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

from ..._console import StopRequest
from ..config import DEVICES, TrainConfig, resolve_device
from ..members import member_signature, train_members, uses_per_run_path
from ..rundir import has_run
from ..trainer import train
from ._grid import Cell
from ._records import cell_record, crash_record
from ._stop import forward_signal

__all__ = ["DEFAULT_BATCH_MEMBERS", "EXECUTORS", "Executor", "default_workers", "gpu_share", "iter_records",
           "run_cell", "run_cells", "work_units"]

EXECUTORS = ("local", "ray")
#: Cells per unit of work for a new study by default (``--batch-members``; see :class:`Executor`):
#: every grid point of a built-in profile (at most 6 cells) trains as one batched model.
DEFAULT_BATCH_MEMBERS = 16
POLL_S = 0.2  # how often the driver looks at finished cells and at a stop request
RAY_GRACE_S = 30.0  # how long a stopped Ray study waits for its cancelled running tasks


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
    members : int or None
        Cells of one grid point per unit of work (:func:`work_units`),
        trained together as one batched model (``--batch-members``); 1
        trains one run at a time. ``None``: :data:`DEFAULT_BATCH_MEMBERS`
        for a new study, the study's own (``meta["members"]``) on a resume.

    Notes
    -----
    Why batched by default: a fair study trains every cell at several
    learning rates and seeds, and ``benchmarks/bench_batched.py`` measured
    2.3 times the runs per core-hour on the standard profile's adding T = 60
    cell at hidden 64 with 16 members (1.5 times at hidden 128), on a 2-core
    CPU, and a copy T = 10 slice of the standard study (its sweep and 5 seeds)
    ran 1.8 times faster than one run at a time. A batched member agrees with its
    single run to float32 rounding at each step, not bit for bit, and its
    last bits depend on which cells share its model -- so a study
    reproduces itself exactly with the same ``members`` (on either
    executor, across ``--resume``, which keeps the study's own). Over
    thousands of steps the rounding differences grow, as any change of
    summation order does in training: a long run and its one-at-a-time twin
    (``members=1``) end apart seed by seed, not in their spread over seeds.
    LSTM and modReLU cells always train one at a time
    (:func:`~linalg_rnn.rnn.members.uses_per_run_path`).

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
    members: int | None = None

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
    """Run one unit of work -- cells of one grid point -- and return their records.

    Parameters
    ----------
    cells : list of Cell
        A unit from :func:`work_units`.
    study_dir : str or Path
        The study folder.
    stopped : callable, optional
        Asked before each training; once it says True, nothing further
        starts (the records returned are those of the cells that ran).

    Returns
    -------
    list of dict
        One record per cell run, in order, each as :func:`run_cell` makes it.

    Notes
    -----
    Several cells that may train together (one
    :func:`~linalg_rnn.rnn.members.member_signature`, not an LSTM or modReLU
    cell) train as the members of one batched model, on one torch thread,
    each in its own run directory (continued from its checkpoint when it has
    one); the rest run one after another. A batch that raises is run again
    one cell at a time, from the checkpoints it wrote, so a crash stays the
    crashing cell's own record.

    Examples
    --------
    >>> run_cells([], "/tmp")
    []
    """
    if len(cells) > 1 and _batchable(cells):
        if stopped is not None and stopped():
            return []
        records = _run_members(cells, study_dir)
        if records is not None:
            return records
    records = []
    for cell in cells:
        if stopped is not None and stopped():
            break
        records.append(run_cell(cell, study_dir))
        if records[-1]["interrupted"]:
            break  # the signal that stopped this cell stops the unit
    return records


def _batchable(cells: list[Cell]) -> bool:
    """Whether the cells may train as one batched model (one signature, a cell the batched path trains)."""
    signature = member_signature(cells[0].config)
    return not uses_per_run_path(cells[0].config) and all(
        member_signature(c.config) == signature for c in cells[1:])


def _run_members(cells: list[Cell], study_dir: str | Path) -> list[dict] | None:
    """The cells' records from one batched training, or ``None`` when it raised (then: one at a time)."""
    row_dirs = [f"cells/{c.key}" for c in cells]
    run_dirs = [Path(study_dir).resolve() / d for d in row_dirs]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        results = train_members([c.config for c in cells], run_dirs, resume=[has_run(d) for d in run_dirs],
                                progress=False)
    except Exception:  # whose fault it was shows when the cells run one at a time
        return None
    finally:
        torch.set_num_threads(threads)
    return [cell_record(c, r, d) for c, r, d in zip(cells, results, row_dirs, strict=True)]


def work_units(cells: list[Cell], members: int = 1) -> list[list[Cell]]:
    """Cells in units of work: up to ``members`` cells of one grid point and phase that may train together.

    A unit holds cells whose configs differ only in the member fields
    (:func:`~linalg_rnn.rnn.members.member_signature`: seed, learning
    rates, clipping bound), taken in grid order; a cell the batched path
    does not train (an LSTM or modReLU cell) is a unit of its own.

    Examples
    --------
    >>> import dataclasses
    >>> config = TrainConfig(task="adding", seq_len=6)
    >>> cells = [Cell("adding", 6, s, dataclasses.replace(config, seed=k))
    ...          for k, s in enumerate(("a", "a", "a", "b"))]
    >>> [[c.seed for c in unit] for unit in work_units(cells, members=2)]
    [[0, 1], [2], [3]]
    """
    units: list[list[Cell]] = []
    filling: dict[tuple, list[Cell]] = {}  # the unit each kind of cell is filling
    for cell in cells:
        if members == 1 or uses_per_run_path(cell.config):
            units.append([cell])
            continue
        key = (cell.phase, cell.task, cell.seq_len, cell.strategy, member_signature(cell.config))
        unit = filling.get(key)
        if unit is None or len(unit) == members:
            unit = filling[key] = []
            units.append(unit)
        unit.append(cell)
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
                stop: StopRequest) -> Iterator[tuple[Cell, dict]]:
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
              stop: StopRequest) -> Iterator[tuple[Cell, dict]]:
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
                 stop: StopRequest | None = None) -> Iterator[tuple[Cell, dict]]:
    """Run units of cells and yield ``(cell, record)`` as each unit finishes, in completion order.

    Parameters
    ----------
    units : list of list of Cell
        From :func:`work_units`.
    study_dir : str or Path
        The study folder (on a Ray cluster: a path every node sees).
    executor : Executor, optional
        Default: the local executor at its default workers.
    stop : StopRequest, optional
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
    stop = StopRequest() if stop is None else stop
    study_dir = str(Path(study_dir).resolve())
    workers = executor.workers or default_workers(executor.device or "auto")
    if executor.kind == "ray":
        yield from _iter_ray(units, study_dir, executor.address, executor.workers, stop)
    else:
        yield from _iter_local(units, study_dir, workers, stop)
