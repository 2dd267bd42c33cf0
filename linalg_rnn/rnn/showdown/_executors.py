"""Running cells: one cell as a trainer run, and the executors that run many (local pool, Ray).

:func:`run_cell` is the unit of work: it trains one cell in its own run
directory (continuing from its checkpoint when there is one) on one torch
thread, and returns a *record* -- the row of ``results.json``, downsampled
curves for the figures, and the eigenvalues of :math:`W_{hh}` at start and
end. It never raises: a crash is a record too. The executors only decide
where records are computed; the driver (:mod:`._study`) writes every file.
"""

from __future__ import annotations

import math
import multiprocessing
import signal
import traceback
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import torch

from ..._console import StopRequest
from ..config import TrainConfig
from ..rundir import has_run
from ..trainer import train

__all__ = ["EXECUTORS", "ROW_KEYS", "cell_record", "gpu_share", "iter_records", "run_cell"]

EXECUTORS = ("local", "ray")
SUCCESS_RATIO = 0.1  # a seed succeeds when val_loss <= 10 % of the task's baseline
CURVE_POINTS = 200  # points kept per curve for the figures
ZOOM_STEPS = 60  # the last steps kept at full resolution (drift between projections)
# The columns of results.json/results.csv, in order (DESIGN.md's keys first).
ROW_KEYS = (
    "task", "seq_len", "strategy", "seed", "val_loss", "baseline_loss", "loss_ratio", "success",
    "steps_to_threshold", "max_grad_norm", "final_w_hh_spectral_norm", "max_w_hh_spectral_norm",
    "diverged", "divergence_step", "wall_s", "steps", "run_dir",
    "phase", "status", "error", "strategy_spec", "lr", "orth_lr", "hidden", "batch", "tbptt_window",
    "tbptt_update", "proj_every", "optimizer_updates", "val_accuracy", "initial_w_hh_spectral_norm",
    "time_per_step_s", "device",
)


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


def cell_record(cell: dict, result, run_dir: str) -> dict:
    """The record of a finished (or diverged, or interrupted) trainer run.

    Parameters
    ----------
    cell : dict
        ``task``, ``seq_len``, ``strategy`` (label), ``seed``, ``phase`` and ``config``.
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
        resolution) and ``eigenvalues`` (``start``/``end`` as ``[re, im]``).

    Notes
    -----
    ``loss_ratio`` is the final validation loss over the task's baseline;
    ``success`` is ``loss_ratio <= 0.1``; ``steps_to_threshold`` the first
    evaluated step where the ratio was at most 0.1. A diverged run has no
    final loss (``val_loss``, ``loss_ratio`` null; ``success`` false).
    Gradient norms are before clipping. Taught in lesson 14.

    Examples
    --------
    >>> from linalg_rnn.rnn import TrainConfig, train
    >>> result = train(TrainConfig(task="adding", seq_len=6, hidden=4, batch=4, steps=4, eval_every=2,
    ...                            val_batch=8, device="cpu"))
    >>> cell = {"task": "adding", "seq_len": 6, "strategy": "vanilla", "seed": 0, "phase": "main"}
    >>> record = cell_record(cell, result, "cells/x")
    >>> record["row"]["steps"], record["row"]["status"], sorted(record["curves"])[:3]
    (4, 'finished', ['grad_norm', 'train_loss', 'val_loss'])
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
    row = {
        "task": cell["task"], "seq_len": cell["seq_len"], "strategy": cell["strategy"],
        "seed": cell["seed"], "val_loss": val_loss, "baseline_loss": baseline, "loss_ratio": ratio,
        "success": ratio is not None and ratio <= SUCCESS_RATIO,
        "steps_to_threshold": reached[0] if reached else None,
        "max_grad_norm": max(grads) if grads else None,
        "final_w_hh_spectral_norm": norms[-1] if norms else None,
        "max_w_hh_spectral_norm": max(norms) if norms else None,
        "diverged": result.diverged, "divergence_step": result.divergence_step,
        "wall_s": wall, "steps": result.steps_done, "run_dir": run_dir,
        "phase": cell["phase"], "status": status, "error": None, "strategy_spec": config.strategy,
        "lr": config.lr, "orth_lr": config.orth_lr, "hidden": config.hidden, "batch": config.batch,
        "tbptt_window": config.tbptt_window, "tbptt_update": config.tbptt_update,
        "proj_every": config.proj_every,
        "optimizer_updates": sum(r.get("updates", 0) for r in rows) if rows and "updates" in rows[0]
        else None,
        "val_accuracy": None if result.diverged else result.final.get("val_accuracy"),
        "initial_w_hh_spectral_norm": result.initial.get("w_hh_spectral_norm"),
        "time_per_step_s": wall / result.steps_done if result.steps_done else None,
        "device": result.device,
    }
    curves = {key: _downsample(rows, key) for key in
              ("val_loss", "train_loss", "grad_norm", "w_hh_spectral_norm")}
    last = rows[-1]["step"] if rows else 0
    curves["w_hh_zoom"] = [[r["step"], r["w_hh_spectral_norm"]] for r in rows
                           if r["step"] > last - ZOOM_STEPS and r.get("w_hh_spectral_norm") is not None]
    final_w = result.model.recurrent_matrix() if result.model is not None else None
    eig = {"start": _eigenvalues(result.initial_w_hh), "end": _eigenvalues(final_w)}
    return {"row": row, "curves": curves, "eigenvalues": eig,
            "environment": getattr(result, "environment", None) or {}}


def crash_record(cell: dict, run_dir: str, error: str) -> dict:
    """The record of a cell whose run raised (or whose worker died): status ``crashed``.

    Examples
    --------
    >>> cell = {"task": "adding", "seq_len": 6, "strategy": "clip", "seed": 1, "phase": "main",
    ...         "config": {"strategy": "clip", "lr": 0.01}}
    >>> row = crash_record(cell, "cells/x", "RuntimeError: boom")["row"]
    >>> row["status"], row["error"], row["success"]
    ('crashed', 'RuntimeError: boom', False)
    """
    row = dict.fromkeys(ROW_KEYS)
    row.update({"task": cell["task"], "seq_len": cell["seq_len"], "strategy": cell["strategy"],
                "seed": cell["seed"], "phase": cell["phase"], "run_dir": run_dir,
                "status": "crashed", "error": error, "success": False, "diverged": False,
                "strategy_spec": cell["config"].get("strategy"), "lr": cell["config"].get("lr")})
    return {"row": row, "curves": {}, "eigenvalues": {}}


def run_cell(payload: dict) -> dict:
    """Train one cell on one torch thread and return its record; never raises.

    Parameters
    ----------
    payload : dict
        ``cell`` (see :func:`cell_record`), ``run_dir`` (absolute path) and
        ``row_dir`` (the run directory as the row shows it, relative to the study).

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
    >>> import os, tempfile
    >>> config = {"task": "adding", "seq_len": 6, "hidden": 4, "batch": 4, "steps": 3, "val_batch": 8,
    ...           "device": "cpu", "figures": False}
    >>> cell = {"task": "adding", "seq_len": 6, "strategy": "vanilla", "seed": 0, "phase": "main",
    ...         "config": config}
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     record = run_cell({"cell": cell, "run_dir": os.path.join(tmp, "run"), "row_dir": "cells/run"})
    >>> record["row"]["status"], record["row"]["steps"]
    ('finished', 3)
    """
    cell = payload["cell"]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        resume = has_run(payload["run_dir"])  # a cell started before: continue it from its checkpoint
        result = train(TrainConfig.from_dict(cell["config"]), payload["run_dir"], resume=resume,
                       progress=False)
        return cell_record(cell, result, payload["row_dir"])
    except Exception as exc:  # a crashed cell is a result of the study, not the end of it
        last = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return crash_record(cell, payload["row_dir"], last.splitlines()[0])
    finally:
        torch.set_num_threads(threads)


def gpu_share(config: dict) -> float:
    """The fraction of a GPU a cell asks Ray for: a quarter for small models, else a whole one.

    Examples
    --------
    >>> gpu_share({"hidden": 64}), gpu_share({"hidden": 512})
    (0.25, 1.0)
    """
    return 0.25 if config.get("hidden", 64) <= 256 else 1.0


def _worker_init() -> None:
    # An idle worker ignores Ctrl-C; a training worker gets it through the trainer's own
    # handler, which checkpoints the step and returns "interrupted" to the driver.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    torch.set_num_threads(1)


def _iter_local(payloads: list[dict], workers: int, stop: StopRequest) -> Iterator[tuple[int, dict]]:
    if workers == 1:  # in this process: no start-up cost, and safe inside a lesson script
        for i, payload in enumerate(payloads):
            if stop.signal:
                return
            yield i, run_cell(payload)
        return
    todo = list(range(len(payloads)))
    tries = dict.fromkeys(todo, 0)
    while todo and not stop.signal:
        context = multiprocessing.get_context("spawn")  # no fork of a process holding torch threads
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_worker_init) as pool:
            futures = {pool.submit(run_cell, payloads[i]): i for i in todo}
            todo = []
            pending = set(futures)
            while pending:
                done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                if stop.signal:
                    for f in pending:
                        f.cancel()
                for f in done:
                    i = futures[f]
                    if f.cancelled():
                        continue
                    try:
                        yield i, f.result()
                    except BrokenProcessPool:  # a worker died (killed, out of memory): retry once
                        tries[i] += 1
                        if tries[i] < 2:
                            todo.append(i)
                        else:
                            cell = payloads[i]
                            yield i, crash_record(cell["cell"], cell["row_dir"], "worker process died")


def _iter_ray(payloads: list[dict], address: str | None, workers: int | None,
              stop: StopRequest) -> Iterator[tuple[int, dict]]:
    try:
        import ray
    except ImportError:
        raise ValueError("--executor ray needs ray: pip install 'linalg-rnn[cluster]'") from None
    started = False
    if not ray.is_initialized():
        kwargs = {"address": address} if address else {"num_cpus": workers}
        ray.init(include_dashboard=False, log_to_driver=False, **kwargs)
        started = True
    try:
        gpus = ray.cluster_resources().get("GPU", 0) > 0
        remote = ray.remote(run_cell)
        refs = {}
        for i, payload in enumerate(payloads):
            config = payload["cell"]["config"]
            share = gpu_share(config) if gpus and config.get("device") in ("auto", "cuda") else 0
            ref = remote.options(num_cpus=1, num_gpus=share, max_retries=3).remote(payload)
            refs[ref] = i
        pending = list(refs)
        while pending:
            if stop.signal:
                for ref in pending:
                    ray.cancel(ref)
                return
            done, pending = ray.wait(pending, num_returns=1, timeout=0.5)
            for ref in done:
                i = refs[ref]
                try:
                    yield i, ray.get(ref)
                except Exception as exc:  # retries exhausted: the worker kept dying
                    cell = payloads[i]
                    yield i, crash_record(cell["cell"], cell["row_dir"], f"ray: {type(exc).__name__}")
    finally:
        if started:
            ray.shutdown()


def iter_records(payloads: list[dict], *, executor: str = "local", workers: int = 1,
                 address: str | None = None, stop: StopRequest | None = None) -> Iterator[tuple[int, dict]]:
    """Run cells and yield ``(index, record)`` as each finishes, in completion order.

    Parameters
    ----------
    payloads : list of dict
        One per cell, as :func:`run_cell` takes them.
    executor : {"local", "ray"}
        A process pool on this machine (one process per worker; ``workers=1``
        runs in this process), or Ray tasks -- on the cluster at ``address``,
        or a local Ray instance with ``workers`` CPUs when no address is given.
    workers : int
        Cells run at once (local) / CPUs of a local Ray instance.
    address : str, optional
        A running Ray cluster (``ray://host:10001`` or ``auto``).
    stop : StopRequest, optional
        When its ``signal`` is set no cell starts; running ones finish their
        step, checkpoint and come back ``interrupted``.

    Yields
    ------
    tuple of (int, dict)

    Notes
    -----
    Every cell runs on one torch thread, so on the CPU both executors give
    bit-identical rows (``wall_s`` aside). A Ray task whose worker dies is
    retried (3 times); a local worker that dies takes the pool with it, and
    its cells are retried once in a new pool. Taught in lesson 14.

    Examples
    --------
    >>> list(iter_records([]))
    []
    """
    stop = StopRequest() if stop is None else stop
    if executor == "ray":
        yield from _iter_ray(payloads, address, workers, stop)
    else:
        yield from _iter_local(payloads, workers, stop)


def payload_for(cell, study_dir: Path) -> dict:
    """What :func:`run_cell` needs for one :class:`~._grid.Cell` of the study in ``study_dir``.

    Examples
    --------
    >>> from linalg_rnn.rnn.showdown import Cell
    >>> payload = payload_for(Cell("adding", 6, "clip", 0, {"lr": 0.01}), "/tmp/study")
    >>> payload["row_dir"], payload["run_dir"].endswith("/study/cells/main/adding-T6/clip/seed0")
    ('cells/main/adding-T6/clip/seed0', True)
    """
    row_dir = f"cells/{cell.key}"
    return {"cell": {"task": cell.task, "seq_len": cell.seq_len, "strategy": cell.strategy,
                     "seed": cell.seed, "phase": cell.phase, "config": cell.config},
            "run_dir": str(Path(study_dir).resolve() / row_dir), "row_dir": row_dir}
