"""The driver of a study: check everything, run the sweep and the main grid, write every file atomically.

Layout of a study folder (``results/<profile>-<date>/`` by default)::

    study.json         the profile as given (a resume reads it, and must match it)
    cells/<key>/       one trainer run directory per cell (config, metrics, checkpoint)
    records/<key>.json one finished cell: its row, curves and eigenvalues
    results.json       meta + runs (one row per cell)      results.csv   the same rows
    summary.md         tables per task × length and the verdicts on the source claims
                       (claim 6's time from a benchmark the driver runs once, ``meta["timings"]``)
    curves.json        downsampled curves and eigenvalues, what the figures are drawn from
    figures/*.png      loss curves, gradient norms, ‖W_hh‖₂, eigenvalues, headline

Only the driver writes these files (workers return records), each write
atomic; a cell's record appears only when the cell has a result, so
``resume`` reruns exactly the cells without one.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as _dt
import io
import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from ..._console import StopRequest, show_progress, stop_on_signals
from ..._filesystem import atomic_write_bytes, atomic_write_json, atomic_write_text
from ._aggregate import summarize, summary_markdown
from ._executors import DEFAULT_BATCH_MEMBERS, Executor, default_workers, iter_records, work_units
from ._grid import Cell, grid_points, main_cells, sweep_cells
from ._profile import Profile, available_tasks, load_profile, parse_profile
from ._records import ROW_KEYS
from ._sweep import sweep_choices
from ._timing import time_projection_steps
from ._verdicts import LABELS

__all__ = ["StudyResult", "TIMING_RUNS", "projection_timings", "run_study", "write_outputs"]

_DONE = ("finished", "diverged")  # a main cell with one of these is never run again
SELECTION_RULE = ("lowest mean final validation loss over the sweep seeds; a diverged or crashed run "
                  "counts as +inf; ties go to the smaller learning rate")
#: Claim 6's benchmark, kept short (it runs in the driver, after the cells): 3 rounds of the three
#: variants, each a run of 2 + 25 + 1 steps and one of 3 -- 279 training steps in all.
TIMING_RUNS = {"rounds": 3, "timed_steps": 25, "warmup_steps": 2}


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
        Cells run by this call.
    done_before : int
        Cells whose results earlier sittings had left (a resume skipped them).
    """

    out_dir: Path
    rows: list[dict]
    summary: list[dict]
    interrupted: str | None
    ran: int
    done_before: int = 0


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
    writer.writerows({k: json.dumps(v) if isinstance(v, dict) else v for k, v in r.items()} for r in rows)
    return buffer.getvalue()


def _round(value, digits: int = 5):
    if isinstance(value, float):
        return float(f"{value:.{digits}g}")
    if isinstance(value, list):
        return [_round(v, digits) for v in value]
    if isinstance(value, dict):
        return {k: _round(v, digits) for k, v in value.items()}
    return value


def summary_text(meta: dict, rows: Sequence[dict]) -> str:
    """``summary.md``: the statistics over seeds and the verdicts, from ``results.json``'s meta and rows.

    The one writer of the file: the study writes it at its end, and
    :func:`~._page.publish` writes it again from the published ``results.json``,
    so a committed summary is always what this code makes of the committed rows.

    Examples
    --------
    >>> meta = {"profile": {"name": "p"}, "command": "c", "date": "d", "executor": "local", "workers": 1,
    ...         "device": "cpu", "machine": {"platform": "x", "cpu_count": 2}}
    >>> summary_text(meta, []).splitlines()[0]
    '# Showdown: profile p'
    """
    from ._verdicts import evaluate_claims, verdict_markdown

    main_rows = [r for r in rows if r.get("phase", "main") == "main"]  # the sweep selects; the main reports
    text = [f"# Showdown: profile {meta['profile']['name']}", "",
            f"Command: `{meta['command']}`  ", f"Date: {meta['date']}  ",
            f"Machine: {meta['machine']['platform']}, {meta['machine']['cpu_count']} CPUs; "
            f"executor {meta['executor']}, {meta['workers']} workers, device {meta['device']}; "
            f"{how_cells_trained(meta)}  ",
            f"Cells: {len(main_rows)} main, {len(rows) - len(main_rows)} sweep",
            "", "## Per task and length (statistics over seeds)", "", summary_markdown(summarize(main_rows)),
            "## Verdicts on the source claims", "",
            verdict_markdown(evaluate_claims(main_rows, timings=meta.get("timings"))), ""]
    return "\n".join(text)


def how_cells_trained(meta: dict) -> str:
    """One clause: one run at a time, or up to ``meta["members"]`` cells per batched model.

    Examples
    --------
    >>> how_cells_trained({"members": 1})
    'one run at a time'
    >>> how_cells_trained({"members": 6}).split(" (")[0]
    'up to 6 cells of one grid point trained together as one batched model'
    """
    members = meta.get("members") or 1
    if members == 1:
        return "one run at a time"
    return (f"up to {members} cells of one grid point trained together as one batched model (LSTM and "
            "modReLU cells one at a time); a batched cell's seconds per step are its whole model's")


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

    main = [k for k in keys if records[k]["row"]["phase"] == "main"]
    main_rows = [records[k]["row"] for k in main]  # the sweep selects; only the main grid reports
    first_seed = {}
    for k in main:
        r = records[k]["row"]
        first_seed.setdefault((r["task"], r["seq_len"], r["strategy"]), k)
    curves = {k: {"task": records[k]["row"]["task"], "seq_len": records[k]["row"]["seq_len"],
                  "strategy": records[k]["row"]["strategy"], "seed": records[k]["row"]["seed"],
                  "curves": _round(records[k]["curves"], 4),
                  "eigenvalues": records[k]["eigenvalues"] if k in first_seed.values() else {}}
              for k in main}
    atomic_write_json(out / "curves.json", curves, indent=None)  # one line: a machine's file (12 MB indented)
    atomic_write_text(out / "summary.md", summary_text(meta, rows))
    if figures:
        (out / "figures").mkdir(exist_ok=True)
        save_figures(main_rows, curves, out / "figures", atomic_write_bytes)
    return rows


class _StudyFolder:
    """The study folder as this sitting sees it: the records so far, the meta, and writing them."""

    def __init__(self, out: Path, meta: dict, resume: bool) -> None:
        self.out, self.meta, self.resume = out, meta, resume
        self.records: dict[str, dict] = {}
        self.order: list[str] = []  # cell keys in grid order (rows follow it)
        self.ran = self.done_before = 0
        self.started = time.perf_counter()

    @classmethod
    def open(cls, out: Path, profile: Profile, executor: Executor, device: str, resume: bool) -> _StudyFolder:
        """Check the folder (nothing is overwritten; a resume needs the same profile) and claim it."""
        _prepare(out, profile, resume)
        out.mkdir(parents=True, exist_ok=True)
        if not resume:
            atomic_write_json(out / "study.json", {"source": profile.source, "profile": profile.raw,
                                                   "created": _dt.date.today().isoformat()})
        return cls(out, _meta(out, profile, executor, device, resume), resume)

    def take_earlier(self, cells: list[Cell], done: tuple[str, ...]) -> list[Cell]:
        """Add the cells to the grid, load the results earlier sittings left, return the cells to run."""
        self.order += [c.key for c in cells]
        todo = []
        for cell in cells:
            record = _read_record(self.out / "records" / f"{cell.key}.json") if self.resume else None
            if record is not None and record["row"]["status"] in done:
                self.records[cell.key] = record
                self.meta["environment"] = self.meta.get("environment") or record.get("environment")
                self.done_before += 1
            else:
                todo.append(cell)
        return todo

    def add(self, cell: Cell, record: dict, done: tuple[str, ...]) -> None:
        """One cell's record: saved if it is a result, and ``results.json`` rewritten."""
        self.ran += 1
        if record["row"]["status"] in done:
            path = self.out / "records" / f"{cell.key}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_json(path, record)
        self.records[cell.key] = record
        self.meta["environment"] = self.meta.get("environment") or record.get("environment")
        self.log_sitting()  # so far: a sitting killed outright still tells
        write_outputs(self.out, self.meta, self.records, self.order, final=False)

    def rows(self, phase: str) -> list[dict]:
        return [self.records[k]["row"] for k in self.order if k in self.records
                and self.records[k]["row"]["phase"] == phase]

    def log_sitting(self) -> None:
        """This sitting's wall time and cells run into the meta, and the study's total wall time."""
        self.meta["sittings"][-1].update(wall_s=time.perf_counter() - self.started, cells_run=self.ran)
        self.meta["wall_s"] = sum(s["wall_s"] or 0.0 for s in self.meta["sittings"])

    def close(self, interrupted: str | None, figures: bool) -> list[dict]:
        """The last write: everything when the study is complete, the rows so far when it was stopped."""
        self.log_sitting()
        if self.ran == 0 and len(self.meta["sittings"]) > 1:  # a sitting that ran nothing only rewrote
            self.meta["sittings"].pop()
            self.meta["wall_s"] = sum(s["wall_s"] or 0.0 for s in self.meta["sittings"])
        self.meta["interrupted"] = interrupted
        return write_outputs(self.out, self.meta, self.records, self.order, final=interrupted is None,
                             figures=figures)


def _open_profile(profile: str | Path | Profile | None, out: Path | None, resume: bool) -> Profile:
    """The profile to run: as given, or -- resuming without one -- the study's own (``study.json``)."""
    if isinstance(profile, Profile):
        return profile
    if profile is None and resume and out is not None and (out / "study.json").is_file():
        saved = json.loads((out / "study.json").read_text(encoding="utf-8"))
        return parse_profile(saved["profile"], saved.get("source", str(out / "study.json")))
    return load_profile("quick" if profile is None else profile)


def _members(executor: Executor, out: Path | None, resume: bool) -> int:
    """Cells per batched model: as asked; else a resumed study's own (1 if older) or the default."""
    if executor.members is not None:
        return executor.members
    before = _read_record(out / "results.json") if resume and out is not None else None
    if before is None:
        return DEFAULT_BATCH_MEMBERS
    return before["meta"].get("members") or 1


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


def _meta(out: Path, profile: Profile, executor: Executor, device: str, resume: bool) -> dict:
    """The ``meta`` of ``results.json``; a resumed study keeps its first command, date and machine."""
    date = _dt.date.today().isoformat()
    command = " ".join(["linalg-rnn", *sys.argv[1:]])
    machine = _machine()
    meta = {"command": command,
            "profile": {"name": profile.name, "source": profile.source, "raw": profile.raw,
                        "description": profile.description},
            "date": date, "machine": machine, "versions": _versions(executor.kind),
            "executor": executor.kind, "workers": executor.workers, "members": executor.members,
            "device": device, "torch_threads_per_cell": 1,
            "notes": available_tasks(profile)[1], "sweep": None, "timings": None, "wall_s": None,
            "environment": None,
            "sittings": [{"command": command, "date": date, "wall_s": None, "cells_run": 0,
                          "load_average_at_start": machine["load_average_at_start"]}]}
    before = _read_record(out / "results.json") if resume else None
    if before is not None:
        meta["command"] = before["meta"].get("command", meta["command"])
        earlier = before["meta"].get("sittings") or [
            {"command": before["meta"].get("command"), "date": before["meta"].get("date"),
             "wall_s": before["meta"].get("wall_s"), "cells_run": len(before.get("runs", [])),
             "load_average_at_start": before["meta"].get("machine", {}).get("load_average_at_start")}]
        meta["sittings"] = earlier + meta["sittings"]
        meta["date"] = meta["sittings"][0]["date"] or meta["date"]
        meta["machine"] = before["meta"].get("machine", meta["machine"])  # as at the first sitting
        meta["timings"] = before["meta"].get("timings")  # measured once: a resume does not time again
    return meta


def projection_timings(cells: list[Cell]) -> dict | None:
    """Claim 6's benchmark on the study's ``qr_every_5`` cell, if the study has ``qr_every_1`` too.

    Parameters
    ----------
    cells : list of Cell
        The main cells, in grid order.

    Returns
    -------
    dict or None
        :func:`~._timing.time_projection_steps` on the config of the first
        ``qr_every_5`` cell (its first task and length) at seed 0, with
        :data:`TIMING_RUNS`; ``None`` when the study lacks either label
        (:data:`~._verdicts.LABELS`).

    Examples
    --------
    >>> from linalg_rnn.rnn import TrainConfig
    >>> projection_timings([Cell("adding", 6, "vanilla", TrainConfig(task="adding", seq_len=6))]) is None
    True
    """
    every_5 = [c for c in cells if c.strategy == LABELS.qr_every_5]
    if not every_5 or not any(c.strategy == LABELS.qr_every_1 for c in cells):
        return None
    return time_projection_steps({**every_5[0].config.to_dict(), "seed": 0}, **TIMING_RUNS)


def _sweep_meta(profile: Profile, rows: list[dict]) -> dict:
    """What ``meta["sweep"]`` records: the grid, the rule, and every point's candidates and choice."""
    sweep = profile.sweep
    return {"values": {k: list(v) for k, v in sweep.values.items()}, "seeds": list(sweep.seeds),
            "steps": sweep.steps, "rule": SELECTION_RULE, "choices": sweep_choices(rows)}


def run_study(profile: str | Path | Profile | None = None, out: str | Path | None = None, *,
              resume: bool = False, executor: Executor | None = None, echo=print,
              progress: bool | None = None, figures: bool = True) -> StudyResult:
    """Run a study: the sweep (if any), then every cell of the main grid, then write the results.

    Parameters
    ----------
    profile : str, Path, Profile or None
        ``"quick"``, ``"standard"``, ``"full"``, a ``.toml`` file, or a parsed
        :class:`~._grid.Profile`. ``None``: ``"quick"``, or with ``resume``
        the profile the study in ``out`` was made with.
    out : str or Path, optional
        The study folder; default ``results/<profile>-<YYYY-MM-DD>``.
    resume : bool, optional
        Continue the study in ``out``: cells with a result are skipped,
        interrupted ones continue from their checkpoint, crashed main cells
        are tried again.
    executor : Executor, optional
        Where cells run: kind, workers, Ray address, device, members per
        unit (:class:`~._executors.Executor`); default a local pool with one
        worker per core.
    echo : callable or None, optional
        Prints a line per finished cell and per phase (``None``: silent).
    progress : bool, optional
        A tqdm bar over cells; default when stderr is a terminal and ``$CI`` is unset.
    figures : bool, optional
        Draw the figures at the end (``figures/*.png``).

    Returns
    -------
    StudyResult

    Raises
    ------
    ValueError, FileNotFoundError, FileExistsError
        Before any work: a bad profile, setting or folder (never overwritten).

    Notes
    -----
    A cell that diverges is a result (``status: diverged``); one that raises
    is recorded as ``crashed`` with its error, and the study goes on.
    With a ``[study.sweep]`` table the sweep's cells run first, on the
    sweep seeds; each grid point's main cells then train at the setting
    with the lowest mean final validation loss (:func:`~._sweep.sweep_choices`;
    ``meta["sweep"]`` records every candidate). A crashed sweep cell counts
    as +inf and is kept as a result, so the choice never changes once made.
    Ctrl-C/SIGTERM stop it within about one training step
    (:mod:`._stop`): no cell starts after the signal, running ones
    checkpoint their step, ``results.json`` is written and
    :attr:`StudyResult.interrupted` names the signal. ``meta["sittings"]``
    lists every call that worked on the study (command, date, wall time,
    cells run); ``meta["wall_s"]`` is their sum. Taught in lesson 14.

    Examples
    --------
    >>> import tempfile
    >>> from linalg_rnn.rnn.showdown import parse_profile
    >>> p = parse_profile({"name": "tiny", "seeds": [0], "steps": 4, "hidden": 4, "batch": 4,
    ...     "val_batch": 8, "device": "cpu", "tasks": [{"task": "adding", "seq_len": 6}],
    ...     "strategies": ["vanilla"]})
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     study = run_study(p, tmp + "/s", executor=Executor(workers=1), echo=None, progress=False,
    ...                       figures=False)
    ...     study.ran, study.rows[0]["status"], sorted(os.listdir(tmp + "/s"))[:4]
    (1, 'finished', ['cells', 'curves.json', 'records', 'results.csv'])
    """
    executor = executor or Executor()
    executor.check()
    out = Path(out) if out is not None else None
    profile = _open_profile(profile, out, resume)
    executor = dataclasses.replace(executor, members=_members(executor, out, resume))
    # the grid, expanded once; every sweep cell (and, without a sweep, every main cell) checked now
    overrides = {"figures": False} | ({"device": executor.device} if executor.device else {})
    points = grid_points(profile, overrides)
    if not points:
        raise ValueError(f"profile {profile.source}: no task is left to run (every one is optional and "
                         "its data are missing)")
    sweep = sweep_cells(points, profile.sweep)
    main = None if sweep else main_cells(points, profile.seeds, sweep=profile.sweep)
    device = executor.device or (sweep or main)[0].config.device
    executor = dataclasses.replace(executor, workers=executor.workers or default_workers(device))
    folder = _StudyFolder.open(out or Path("results") / f"{profile.name}-{_dt.date.today().isoformat()}",
                               profile, executor, device, resume)
    show = _Display(echo, progress, profile.name)
    show.notes(folder.meta["notes"])
    with stop_on_signals() as stop:
        # a crashed sweep cell is a result too: the choice, once made, never changes
        _run_phase("sweep", sweep, folder, executor, stop, show, done=_DONE + ("crashed",))
        if profile.sweep and not stop:
            folder.meta["sweep"] = _sweep_meta(profile, folder.rows("sweep"))
        if sweep and not stop:
            choice = {(c["task"], c["seq_len"], c["strategy"]): c["setting"]
                      for c in folder.meta["sweep"]["choices"]}
            main = main_cells(points, profile.seeds, choice, profile.sweep)
        if not stop:
            _run_phase("main", main, folder, executor, stop, show, done=_DONE)
        # claim 6's clock: one benchmark in this process, once per study (a resume keeps it)
        if not stop and folder.meta["timings"] is None:
            timings = projection_timings(main)
            if timings is not None and not stop:
                folder.meta["timings"] = timings
                show.line(f"timed QR projection every step and every 5 steps on "
                          f"{timings['task']} T={timings['seq_len']} (claim 6)")
    rows = folder.close(stop.signal, figures)
    main_rows = [r for r in rows if r["phase"] == "main"]
    return StudyResult(out_dir=folder.out, rows=rows, summary=summarize(main_rows), interrupted=stop.signal,
                       ran=folder.ran, done_before=folder.done_before)


def _run_phase(phase: str, cells: list[Cell], folder: _StudyFolder, executor: Executor, stop: StopRequest,
               show: _Display, done: tuple[str, ...]) -> None:
    """Run the cells of one phase that have no result yet, recording each as it comes back."""
    if not cells:
        return
    todo = folder.take_earlier(cells, done)
    show.phase(phase, len(cells), len(todo))
    if not todo:
        return
    with show.bar(phase, len(cells), len(cells) - len(todo)) as bar:
        for cell, record in iter_records(work_units(todo, executor.members), folder.out, executor, stop):
            folder.add(cell, record, done)
            if record.get("interrupted"):  # the trainer took the signal itself (a cell in this process)
                stop.request(record["interrupted"])
            bar.cell(record)


class _Display:
    """What a study prints: a line per phase and per cell, and a tqdm bar over cells."""

    def __init__(self, echo, progress: bool | None, name: str) -> None:
        self.echo, self.name = echo, name
        self.enabled = show_progress(progress)

    def line(self, text: str) -> None:
        if self.echo is not None:
            self.echo(text)

    def notes(self, notes: list[str]) -> None:
        for note in notes if self.echo is not None else ():
            self.echo(f"note: {note}")

    def phase(self, phase: str, total: int, todo: int) -> None:
        if self.echo is None:
            return
        if todo < total:
            self.echo(f"{phase}: {total - todo} of {total} cells already done; running {todo}")
        else:
            self.echo(f"{phase}: running {total} cells")

    def bar(self, phase: str, total: int, done: int) -> _Progress:
        bar = tqdm(total=total, initial=done, disable=not self.enabled, unit="cell", dynamic_ncols=True,
                   desc=f"showdown {self.name} ({phase})")
        return _Progress(bar, self.echo, done)


@dataclass
class _Progress:
    bar: tqdm
    echo: object
    done: int = 0

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc) -> bool:
        self.bar.close()
        return False

    def cell(self, record: dict) -> None:
        self.done += 1
        r = record["row"]
        ratio = "–" if r["loss_ratio"] is None else f"{r['loss_ratio']:.3g}"
        what = r["status"] if r["status"] != "finished" else f"loss/baseline {ratio}"
        if r["status"] == "crashed":
            what += f": {r['error']}"
        wall = "" if r.get("wall_s") is None else f" in {r['wall_s']:.1f} s"
        tried = "" if r["phase"] != "sweep" or not r.get("setting") else " " + ", ".join(
            f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in r["setting"].items())
        line = (f"[{self.done}/{self.bar.total}] {r['phase']} {r['task']} T={r['seq_len']} "
                f"{r['strategy']}{tried} seed {r['seed']}: {what}{wall}")
        if self.echo is not None and not self.bar.disable:
            self.bar.write(line, file=sys.stdout)  # above the bar, which stays at the bottom
        elif self.echo is not None:
            self.echo(line)
        self.bar.update(1)
