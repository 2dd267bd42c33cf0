"""The driver of a study: check everything, run the cells, write every output file atomically.

Layout of a study folder (``results/<profile>-<date>/`` by default)::

    study.json         the profile as given (a resume must match it)
    cells/<key>/       one trainer run directory per cell (config, metrics, checkpoint)
    records/<key>.json one finished cell: its row, curves and eigenvalues
    results.json       meta + runs (one row per cell)      results.csv   the same rows
    summary.md         tables per task × length and the verdicts on the source claims
    curves.json        downsampled curves and eigenvalues, what the figures are drawn from
    figures/*.png      loss curves, gradient norms, ‖W_hh‖₂, eigenvalues, headline

Only the driver writes these files (workers return records), each write
atomic; a cell's record appears only when the cell has finished, so
``resume`` reruns exactly the cells without one.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from ..._console import show_progress, stop_on_signals
from ..._filesystem import atomic_write_bytes, atomic_write_json, atomic_write_text
from ..config import DEVICES, resolve_device
from ._aggregate import pick_learning_rates, summarize, summary_markdown
from ._executors import EXECUTORS, ROW_KEYS, iter_records, payload_for
from ._grid import Profile, available_tasks, expand_cells, load_profile

__all__ = ["StudyResult", "default_workers", "run_study", "write_outputs"]

_DONE = ("finished", "diverged")


@dataclass
class StudyResult:
    """What :func:`run_study` produced.

    Attributes
    ----------
    out_dir : Path
        The study folder.
    rows : list of dict
        The rows of ``results.json`` (sweep and main).
    summary : list of dict
        :func:`~._aggregate.summarize` of the main rows.
    interrupted : str or None
        ``"SIGINT"``/``"SIGTERM"`` when a signal stopped it (rerun with ``resume=True``).
    ran : int
        Cells run by this call (the others were already finished).
    """

    out_dir: Path
    rows: list[dict]
    summary: list[dict]
    interrupted: str | None
    ran: int


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


def _check_arguments(executor: str, workers, address, device) -> None:
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}; choose one of {', '.join(EXECUTORS)}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    if address is not None and executor != "ray":
        raise ValueError("address is for the ray executor; add --executor ray")
    if device is not None:
        if device not in DEVICES:
            raise ValueError(f"unknown device {device!r}; choose one of {', '.join(DEVICES)}")
        resolve_device(device)


def _prepare(out: Path, profile: Profile, resume: bool) -> None:
    """Refuse to overwrite anything; on resume, refuse a different profile."""
    saved = out / "study.json"
    if resume:
        if not saved.is_file():
            raise FileNotFoundError(f"{out} holds no study to resume (no study.json); drop --resume")
        before = json.loads(saved.read_text(encoding="utf-8"))
        if before.get("profile") != json.loads(json.dumps(profile.raw)):
            raise ValueError(f"cannot resume {out}: its study.json was made by another profile "
                             f"({before.get('source')}); use that profile or another --out")
        return
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"{out} already exists and is not empty; add --resume or choose another --out")


def _versions(executor: str) -> dict:
    import numpy
    import torch

    import linalg_rnn

    v = {"python": platform.python_version(), "torch": torch.__version__, "numpy": numpy.__version__,
         "linalg_rnn": linalg_rnn.__version__}
    if executor == "ray":
        import ray

        v["ray"] = ray.__version__
    return v


def _machine() -> dict:
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {"platform": platform.platform(), "processor": platform.machine(),
            "cpu_count": os.cpu_count(), "load_average_at_start": load}


def _read_record(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _rows_csv(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(ROW_KEYS), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _round(value, digits: int = 5):
    if isinstance(value, float):
        return float(f"{value:.{digits}g}")
    if isinstance(value, list):
        return [_round(v, digits) for v in value]
    if isinstance(value, dict):
        return {k: _round(v, digits) for k, v in value.items()}
    return value


def write_outputs(out: Path, meta: dict, records: dict[str, dict], order: list[str], *,
                  final: bool, figures: bool = True) -> list[dict]:
    """Write ``results.json``/``.csv`` (always) and, when ``final``, ``summary.md``, curves and figures.

    Parameters
    ----------
    out : Path
        The study folder.
    meta : dict
        The ``meta`` object of ``results.json``.
    records : dict
        Cell key -> record (:func:`~._executors.run_cell`).
    order : list of str
        Cell keys in grid order (rows follow it).
    final : bool
        Also write the summary and ``curves.json`` (and the figures).
    figures : bool, optional
        Draw the figures when ``final``.

    Returns
    -------
    list of dict
        The rows written.

    Examples
    --------
    >>> import tempfile
    >>> record = {"row": {"task": "adding", "seq_len": 6, "strategy": "clip", "seed": 0, "phase": "main"}}
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     rows = write_outputs(Path(tmp), {"command": "x"}, {"k": record}, ["k"], final=False)
    ...     sorted(os.listdir(tmp)), len(rows)
    (['results.csv', 'results.json'], 1)
    """
    keys = [k for k in order if k in records]
    rows = [records[k]["row"] for k in keys]
    atomic_write_json(out / "results.json", {"meta": meta, "runs": rows})
    atomic_write_text(out / "results.csv", _rows_csv(rows))
    if not final:
        return rows
    from ._figures import save_figures
    from ._verdicts import evaluate_claims, verdict_markdown

    main = [k for k in keys if records[k]["row"]["phase"] == "main"]
    first_seed = {}
    for k in main:
        r = records[k]["row"]
        first_seed.setdefault((r["task"], r["seq_len"], r["strategy"]), k)
    curves = {k: {"task": records[k]["row"]["task"], "seq_len": records[k]["row"]["seq_len"],
                  "strategy": records[k]["row"]["strategy"], "seed": records[k]["row"]["seed"],
                  "curves": _round(records[k]["curves"], 4),
                  "eigenvalues": records[k]["eigenvalues"] if k in first_seed.values() else {}}
              for k in main}
    atomic_write_json(out / "curves.json", curves)
    lines = summarize(rows)
    text = [f"# Showdown: profile {meta['profile']['name']}", "",
            f"Command: `{meta['command']}`  ", f"Date: {meta['date']}  ",
            f"Machine: {meta['machine']['platform']}, {meta['machine']['cpu_count']} CPUs; "
            f"executor {meta['executor']}, {meta['workers']} workers, device {meta['device']}  ",
            f"Cells: {len(main)} main, {len(rows) - len(main)} sweep",
            "", "## Per task and length (statistics over seeds)", "", summary_markdown(lines),
            "## Verdicts on the source claims", "", verdict_markdown(evaluate_claims(rows)), ""]
    atomic_write_text(out / "summary.md", "\n".join(text))
    if figures:
        (out / "figures").mkdir(exist_ok=True)
        save_figures(rows, curves, out / "figures", atomic_write_bytes)
    return rows


@dataclass
class _Progress:
    bar: tqdm
    echo: object
    done: int = 0

    def cell(self, record: dict) -> None:
        self.done += 1
        r = record["row"]
        ratio = "–" if r["loss_ratio"] is None else f"{r['loss_ratio']:.3g}"
        what = r["status"] if r["status"] != "finished" else f"loss/baseline {ratio}"
        if r["status"] == "crashed":
            what += f": {r['error']}"
        wall = "" if r.get("wall_s") is None else f" in {r['wall_s']:.1f} s"
        line = (f"[{self.done}/{self.bar.total}] {r['phase']} {r['task']} T={r['seq_len']} "
                f"{r['strategy']} seed {r['seed']}: {what}{wall}")
        if self.echo is not None and not self.bar.disable:
            self.bar.write(line, file=sys.stdout)  # above the bar, which stays at the bottom
        elif self.echo is not None:
            self.echo(line)
        self.bar.update(1)


def run_study(profile: str | Path | Profile = "quick", out: str | Path | None = None, *,
              resume: bool = False, executor: str = "local", workers: int | None = None,
              address: str | None = None, device: str | None = None, progress: bool | None = None,
              echo=print, command: str | None = None, figures: bool = True) -> StudyResult:
    """Run a study: every cell of the profile, skipping the finished ones, then write the results.

    Parameters
    ----------
    profile : str, Path or Profile
        ``"quick"`` (default), ``"full"``, a ``.toml`` file, or a parsed :class:`~._grid.Profile`.
    out : str or Path, optional
        The study folder; default ``results/<profile>-<YYYY-MM-DD>``.
    resume : bool, optional
        Continue the study in ``out``: finished cells are skipped, interrupted
        ones continue from their checkpoint, crashed ones are tried again.
    executor : {"local", "ray"}
        Where cells run (:func:`~._executors.iter_records`).
    workers : int, optional
        Cells at once; default one per core on the CPU, four on one GPU.
    address : str, optional
        Ray cluster address (``executor="ray"`` only).
    device : {"auto", "cpu", "cuda", "mps"}, optional
        Overrides the profile's device for every cell.
    progress : bool, optional
        A tqdm bar over cells; default when stderr is a terminal and ``$CI`` is unset.
    echo : callable or None, optional
        Prints a line per finished cell (``None``: silent).
    command : str, optional
        The command line recorded in ``results.json`` (default ``sys.argv``).
    figures : bool, optional
        Draw the figures at the end (``figures/*.png``).

    Returns
    -------
    StudyResult

    Raises
    ------
    ValueError, FileNotFoundError, FileExistsError
        Before any work: a bad profile, flag or folder (never overwritten).

    Notes
    -----
    A cell that diverges is a result (``status: diverged``); one that raises
    is recorded as ``crashed`` with its error, and the study goes on.
    Ctrl-C/SIGTERM stop starting cells; running ones checkpoint their step;
    ``results.json`` is written and :attr:`StudyResult.interrupted` is set.
    With ``sweep_lrs`` the sweep runs first and picks each method's
    learning rate. ``meta["sittings"]`` lists every call that worked on the
    study (command, date, wall time, cells run); ``meta["wall_s"]`` is their
    sum. Taught in lesson 14.

    Examples
    --------
    >>> import tempfile
    >>> from linalg_rnn.rnn.showdown import parse_profile
    >>> p = parse_profile({"name": "tiny", "seeds": [0], "steps": 4, "hidden": 4, "batch": 4,
    ...     "val_batch": 8, "device": "cpu", "tasks": [{"task": "adding", "seq_len": 6}],
    ...     "strategies": ["vanilla"]})
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     study = run_study(p, tmp + "/s", workers=1, echo=None, progress=False, figures=False)
    ...     study.ran, study.rows[0]["status"], sorted(os.listdir(tmp + "/s"))[:4]
    (1, 'finished', ['cells', 'curves.json', 'records', 'results.csv'])
    """
    started = time.perf_counter()
    profile = profile if isinstance(profile, Profile) else load_profile(profile)
    _check_arguments(executor, workers, address, device)
    overrides = {"figures": False} | ({"device": device} if device else {})
    # every cell of both phases is checked now, before any work
    sweep_cells = expand_cells(profile, overrides=overrides, phase="sweep") if profile.sweep_lrs else []
    main_cells = expand_cells(profile, overrides=overrides)
    run_device = device or main_cells[0].config["device"]
    workers = workers or default_workers(run_device)
    date = _dt.date.today().isoformat()
    out = Path(out) if out is not None else Path("results") / f"{profile.name}-{date}"
    _prepare(out, profile, resume)
    out.mkdir(parents=True, exist_ok=True)
    if not resume:
        atomic_write_json(out / "study.json", {"source": profile.source, "profile": profile.raw,
                                               "created": date})
    meta = {"command": command or " ".join(["linalg-rnn", *sys.argv[1:]]),
            "profile": {"name": profile.name, "source": profile.source, "raw": profile.raw,
                        "description": profile.description},
            "date": date, "machine": _machine(), "versions": _versions(executor),
            "executor": executor, "workers": workers, "device": run_device, "torch_threads_per_cell": 1,
            "notes": available_tasks(profile)[1], "lr_choice": [], "wall_s": None, "environment": None,
            "sittings": [{"command": None, "date": date, "wall_s": None, "cells_run": 0}]}
    meta["sittings"][0]["load_average_at_start"] = meta["machine"]["load_average_at_start"]
    meta["sittings"][0]["command"] = meta["command"]
    before = _read_record(out / "results.json") if resume else None
    if before is not None:  # a resumed study keeps its first command and date, and adds this sitting
        meta["command"] = before["meta"].get("command", meta["command"])
        earlier = before["meta"].get("sittings") or [
            {"command": before["meta"].get("command"), "date": before["meta"].get("date"),
             "wall_s": before["meta"].get("wall_s"), "cells_run": len(before.get("runs", [])),
             "load_average_at_start": before["meta"].get("machine", {}).get("load_average_at_start")}]
        meta["sittings"] = earlier + meta["sittings"]
        meta["date"] = meta["sittings"][0]["date"] or meta["date"]
        meta["machine"] = before["meta"].get("machine", meta["machine"])  # as at the first sitting
    for note in meta["notes"]:
        if echo is not None:
            echo(f"note: {note}")
    records: dict[str, dict] = {}
    ran = 0
    enabled = show_progress(progress)
    with stop_on_signals() as stop:
        for phase in ("sweep", "main"):
            if phase == "sweep":
                cells = sweep_cells
            else:
                choice = pick_learning_rates([r["row"] for r in records.values()])
                meta["lr_choice"] = [{"task": t, "seq_len": L, "strategy": s, "lr": lr}
                                     for (t, L, s), lr in choice.items()]
                cells = expand_cells(profile, overrides=overrides, lr_choice=choice) if choice else main_cells
            order = [c.key for c in (sweep_cells + cells)]
            todo = []
            for cell in cells:
                rec = _read_record(out / "records" / f"{cell.key}.json") if resume else None
                if rec is not None and rec["row"]["status"] in _DONE:
                    records[cell.key] = rec
                    meta["environment"] = meta.get("environment") or rec.get("environment")
                else:
                    todo.append(cell)
            if not todo or stop.signal:
                continue
            payloads = [payload_for(c, out) for c in todo]
            bar = tqdm(total=len(todo), disable=not enabled, desc=f"showdown {profile.name} ({phase})",
                       unit="cell", dynamic_ncols=True)
            shown = _Progress(bar, echo)
            with bar:
                for i, record in iter_records(payloads, executor=executor, workers=workers,
                                              address=address, stop=stop):
                    cell = todo[i]
                    ran += 1
                    if record["row"]["status"] in _DONE:
                        path = out / "records" / f"{cell.key}.json"
                        path.parent.mkdir(parents=True, exist_ok=True)
                        atomic_write_json(path, record)
                    records[cell.key] = record
                    meta["environment"] = meta.get("environment") or record.get("environment")
                    if record["row"]["status"] == "interrupted":
                        stop.signal = stop.signal or "SIGINT"
                    shown.cell(record)
                    _log_sitting(meta, started, ran)  # so far: a sitting killed outright still tells
                    write_outputs(out, meta, records, order, final=False)
            if stop.signal:
                break
    _log_sitting(meta, started, ran)
    if ran == 0 and len(meta["sittings"]) > 1:  # a sitting that ran nothing only rewrote the files
        meta["sittings"].pop()
        meta["wall_s"] = sum(s["wall_s"] or 0.0 for s in meta["sittings"])
    meta["interrupted"] = bool(stop.signal)
    rows = write_outputs(out, meta, records, order, final=not stop.signal, figures=figures)
    return StudyResult(out_dir=out, rows=rows, summary=summarize(rows), interrupted=stop.signal,
                       ran=ran)


def _log_sitting(meta: dict, started: float, ran: int) -> None:
    """This sitting's wall time and cells run into ``meta``, and the study's total wall time."""
    meta["sittings"][-1].update(wall_s=time.perf_counter() - started, cells_run=ran)
    meta["wall_s"] = sum(s["wall_s"] or 0.0 for s in meta["sittings"])
