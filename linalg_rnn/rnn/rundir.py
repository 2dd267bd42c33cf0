"""Run directories that defend themselves: who owns a folder, one run at a time, what to resume from.

:func:`~linalg_rnn.rnn.trainer.train` writes a run through a :class:`RunDir`,
and so can any code that writes a run folder from outside the trainer's loop
(:meth:`RunDir.open`, :meth:`~RunDir.accept`, :meth:`~RunDir.claim`,
:meth:`~RunDir.append_row`, :meth:`~RunDir.save_checkpoint`,
:meth:`~RunDir.finish`, :meth:`~RunDir.close`). Every rule is checked before
any work; a refusal is one line naming the path, and leaves the folder as it
was.

* **Ownership.** A folder is ours when it holds the marker ``.linalg-rnn-run``,
  written first when a run claims it. A fresh run needs a folder that is
  new or empty; one with an earlier run, or with files linalg-rnn did not
  write, is refused unless ``force=True`` (``--force``), which first *moves*
  every file whose name a run writes (:data:`RUN_FILES`, the marker) into
  ``replaced-<UTC time>/`` there and says so; other files stay. Nothing is
  ever deleted or overwritten.
* **One run at a time.** A run holds an exclusive ``flock`` on the folder
  for its whole life. The kernel drops it when the process ends, SIGKILL
  included, so a killed run never blocks ``--resume``; a second run is
  refused at once.
* **Resume.** ``resume=True`` needs a run of ours (a folder with no run is
  refused). The checkpoint is read once, when the folder is opened, and is
  the source of truth: its config (:attr:`RunDir.saved_config`) is the
  run's, and only ``steps`` (never below the steps done), ``device``,
  ``checkpoint_every`` and ``figures`` may differ. A run killed before its
  first checkpoint starts over from step 0.
* **Nothing silently disappears.** Each checkpoint keeps the metrics rows
  logged since the previous one, so rows lost from ``metrics.jsonl`` (a torn
  last line, a deleted file) come back on resume, and ``result.json`` and
  ``metrics.csv`` are written again from them; rows no checkpoint kept are
  reported lost.

What happened is said in :attr:`RunDir.notes`, one sentence each, once the
run has claimed the folder (the command line prints them as ``note:``
lines). What is trusted: checkpoints are read with
``torch.load(weights_only=True)`` (:mod:`~linalg_rnn.rnn.checkpoint`), so a
run directory from someone else cannot run code here; JSON files are data.
"""

from __future__ import annotations

import datetime
import io
import json
import os
from contextlib import suppress
from pathlib import Path
from typing import Any

from .._filesystem import (
    LOCK_FILE,
    RunDirBusyError,
    _check_regular,
    append_jsonl,
    atomic_write_bytes,
    atomic_write_json,
    check_output_dir,
    lock_folder,
    make_dirs,
    read_jsonl,
    remove_dirs,
    write_csv,
    write_jsonl,
)
from .._filesystem import display_path as _show
from .checkpoint import load_checkpoint, save_checkpoint
from .config import TrainConfig

__all__ = [
    "CHECKPOINT",
    "MARKER",
    "RESUMABLE_CHANGES",
    "RUN_FILES",
    "RunDir",
    "RunDirBusyError",
    "RunDirWriteError",
    "has_run",
]

MARKER = ".linalg-rnn-run"
CHECKPOINT = "checkpoint.pt"
RUN_FILES = ("config.json", "metrics.jsonl", "metrics.csv", "result.json", CHECKPOINT, "curves.png")
RESUMABLE_CHANGES = frozenset({"steps", "device", "checkpoint_every", "figures"})
_OURS = (*RUN_FILES, MARKER)


class RunDirWriteError(OSError):
    """A write into a claimed run directory failed (disk full, ...); its last checkpoint is intact."""


def _listing(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(_show(n) for n in names[:limit])
    return shown + (f", and {len(names) - limit} more" if len(names) > limit else "")


def _entries(p: Path) -> list[str] | None:
    """The names in folder ``p`` (our lock file aside), or None if it does not exist."""
    if not p.is_dir():
        return None
    try:
        return sorted(n for n in os.listdir(p) if n != LOCK_FILE)
    except OSError as exc:
        raise type(exc)(f"cannot list the run directory {_show(p)}: {exc.strerror}") from None


def _no_run(p: Path, entries: list[str] | None) -> FileNotFoundError:
    if entries is None:
        where = "does not exist"
    elif not entries:
        where = "is empty"
    else:
        where = f"holds no linalg-rnn run (no {MARKER} marker; it holds {_listing(entries)})"
    return FileNotFoundError(f"nothing to resume: {_show(p)} {where}; leave out --resume to start a run")


def has_run(path: str | os.PathLike) -> bool:
    """True when ``path`` holds a run of ours (its marker), finished or not.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     has_run(tmp)
    False
    """
    return (Path(path) / MARKER).is_file()


def _read_config_json(p: Path) -> dict | None:
    path = p / "config.json"
    if not path.exists():
        return None
    _check_regular(path)
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read {_show(path)}: {str(exc).splitlines()[0]}") from None
    if not isinstance(values, dict):
        raise ValueError(f"{_show(path)} does not hold a table of settings")
    return values


def _differences(saved: dict, reference: dict) -> str:
    """``"lr: 0.001 -> 0.5, ..."``: the fields (resumable ones aside) where two configs differ."""
    try:
        a = TrainConfig.from_dict(dict(saved)).to_dict()  # the defaults of fields a file lacks
    except (TypeError, ValueError) as exc:
        return f"unreadable: {str(exc).splitlines()[0]}"
    b = TrainConfig.from_dict(dict(reference)).to_dict()
    keys = sorted(k for k in b if k not in RESUMABLE_CHANGES and a.get(k) != b[k])
    return ", ".join(f"{k}: {a.get(k)!r} -> {b[k]!r}" for k in keys)


def _is_our_temporary(name: str) -> bool:
    """A temporary file of an atomic write (``.<file>.<random>.tmp``) left by a kill."""
    return name.endswith(".tmp") and any(name.startswith(f".{f}.") for f in _OURS)


class RunDir:
    """One run's hold on its run directory: checked, locked, claimed, written, released.

    Use :meth:`open` (checks and locks; on resume reads the checkpoint;
    writes nothing), :meth:`accept` the run's config (unless given to
    :meth:`open`), then :meth:`claim` once the run is built (writes the marker
    and ``config.json``), then :meth:`append_row`, :meth:`save_checkpoint` and
    :meth:`finish` while training, and :meth:`close` in a ``finally`` (or
    ``with``). A run that never claimed leaves the folder as it found it:
    folders :meth:`open` created are removed again.

    Attributes
    ----------
    path : Path
        The folder.
    config : TrainConfig or None
        The run's resolved config, once accepted.
    checkpoint : dict or None
        The checkpoint to resume from (``resume=True``), read once, safely.
    saved_config : dict or None
        The config of the run being resumed: the checkpoint's, else
        ``config.json``'s (a run that stopped before its first checkpoint),
        else ``None``.
    notes : list of str
        What the folder's owner should know (files moved aside, rows restored
        from the checkpoint, a run that had already finished, ...), one
        sentence each; filled by :meth:`claim`.

    Examples
    --------
    >>> import tempfile, os
    >>> cfg = TrainConfig(task="adding", seq_len=5, hidden=4, steps=2, device="cpu").resolved()
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     with RunDir.open(os.path.join(tmp, "run"), cfg) as rd:
    ...         rows = rd.claim()
    ...         rd.append_row({"step": 1, "train_loss": 0.5})
    ...     sorted(os.listdir(rd.path)), has_run(rd.path)
    (['.linalg-rnn-run', 'config.json', 'metrics.jsonl'], True)
    """

    def __init__(self, path: Path, *, resume: bool, force: bool) -> None:
        self.path = path
        self.resume = resume
        self.force = force
        self.config: TrainConfig | None = None
        self.checkpoint: dict | None = None
        self.saved_config: dict | None = None
        self.notes: list[str] = []
        self._config_json: dict | None = None  # config.json as found (resume), to say if it differed
        self._fd: int | None = None
        self._made_lock_file = False
        self._created: list[Path] = []
        self._claimed = False
        self._pending: list[str] = []  # notes, said once the run has claimed the folder
        self._rows: list[dict] = []
        self._recent: list[dict] = []
        self._rows_logged = 0

    # ----------------------------------------------------------------- open
    @classmethod
    def open(cls, path: str | os.PathLike, config: TrainConfig | None = None, *, resume: bool = False,
             force: bool = False) -> RunDir:
        """Check ``path`` for a run, lock it and read what there is to resume; writes nothing.

        ``path`` (and its missing parents) is created to be locked, and removed
        again by :meth:`close` unless the run claimed it. ``config``, the run's
        resolved config, is :meth:`accept`-ed at once when given; on resume it
        may also come later, made from :attr:`saved_config`. ``force`` lets
        :meth:`claim` move files aside; not with ``resume``.

        Raises
        ------
        FileExistsError
            The folder holds an earlier run or files that are not ours (no ``force``).
        FileNotFoundError
            ``resume`` and no run there.
        RunDirBusyError
            Another run holds the folder.
        ValueError, TypeError, OSError
            As :func:`check_output_dir`; an unreadable checkpoint; and as
            :meth:`accept`.
        """
        if resume and force:
            raise ValueError("--force starts a fresh run and --resume continues one: give only one of them")
        p = check_output_dir(path)
        if resume and not has_run(p):
            raise _no_run(p, _entries(p))
        rd = cls(p, resume=resume, force=force)
        try:
            rd._created = make_dirs(p)
            rd._fd, rd._made_lock_file = lock_folder(p)
        except RunDirBusyError:
            raise  # someone else is in there: touch nothing
        except OSError as exc:
            remove_dirs(rd._created)
            raise type(exc)(f"cannot use the run directory {_show(p)}: {exc.strerror or exc}") from None
        try:
            rd._inspect()
            if config is not None:
                rd.accept(config)
        except BaseException:
            rd.close()
            raise
        return rd

    def _inspect(self) -> None:
        """Under the lock: whose folder is this, and what is there to resume?"""
        p = self.path
        entries = [n for n in _entries(p) or [] if not _is_our_temporary(n)]  # a kill's leftovers are ours
        ours = MARKER in entries
        if self.resume:
            if not ours:
                raise _no_run(p, entries)
            self._read_resume_state()
        elif entries and not self.force:
            if ours:
                raise FileExistsError(
                    f"{_show(p)} already holds a run; continue it with --resume, or start over with "
                    "--force (the old run's files are moved into replaced-<time>/ there)")
            raise FileExistsError(
                f"{_show(p)} holds files linalg-rnn did not write ({_listing(entries)}); choose another "
                "--out, or add --force (files a run would write are first moved into replaced-<time>/ there)")

    def _read_resume_state(self) -> None:
        """Read the checkpoint (once) and ``config.json``; keep the rows the run continues from."""
        p = self.path
        path = p / CHECKPOINT
        has_checkpoint = path.exists() or path.is_symlink()
        try:
            self._config_json = _read_config_json(p)
        except ValueError as exc:
            if not has_checkpoint:
                raise  # no checkpoint: config.json is all there is
            self._pending.append(f"{exc}; the checkpoint's config is used, the file written again")
        if not has_checkpoint:
            self.saved_config = self._config_json
            self._pending.append(f"{_show(p)} has no checkpoint yet (the run stopped before its first one): "
                                 "starting it again from step 0")
            return
        self.checkpoint = load_checkpoint(path)
        self.saved_config = dict(self.checkpoint["config"])
        if self._config_json is None and not self._pending:
            self._pending.append(f"{_show(p / 'config.json')} was missing; the checkpoint's config is "
                                 "used and the file written again")
        elif self._config_json is not None:
            edited = _differences(self._config_json, self.saved_config)
            if edited:
                self._pending.append(f"{_show(p / 'config.json')} differed from the checkpoint's config "
                                     f"({edited}); the checkpoint's is used and the file written again")
        self._rows = self._rows_up_to(self.checkpoint)

    def accept(self, config: TrainConfig) -> None:
        """Take ``config`` as the run's; on resume it must be the saved one but for :data:`RESUMABLE_CHANGES`.

        Raises
        ------
        ValueError
            A config that differs from the checkpoint's (or ``config.json``'s
            before the first checkpoint) in another field, or fewer ``steps``
            than the checkpoint has done; nothing was changed.
        """
        if self.checkpoint is not None:
            self._refuse_differences(self.saved_config, "the checkpoint", config)
            step = self.checkpoint["step"]
            if step > config.steps:
                raise ValueError(
                    f"cannot resume {_show(self.path)} with steps {config.steps}: its checkpoint is at step "
                    f"{step} (steps may grow on --resume, never shrink); nothing was changed")
            if step == config.steps or self.checkpoint["diverged"]:
                how = "diverged" if self.checkpoint["diverged"] else "finished"
                self._pending.append(f"the run in {_show(self.path)} had already {how} at step {step}; "
                                     "nothing to train: its result files are written again")
        elif self.saved_config is not None:
            self._refuse_differences(self.saved_config, "config.json", config)
        self.config = config

    def _refuse_differences(self, saved: dict, source: str, config: TrainConfig) -> None:
        detail = _differences(saved, config.to_dict())
        if detail:
            allowed = ", ".join(sorted(RESUMABLE_CHANGES))
            raise ValueError(f"cannot resume {_show(self.path)}: the config differs from {source}'s "
                             f"({detail}); only {allowed} may change")

    def _rows_up_to(self, checkpoint: dict) -> list[dict]:
        """The rows of steps <= the checkpoint's: ``metrics.jsonl``'s, completed from its recent rows."""
        step, recent = checkpoint["step"], checkpoint["recent_rows"]
        path = self.path / "metrics.jsonl"
        try:
            rows = read_jsonl(path)
        except OSError as exc:
            raise type(exc)(f"cannot read {_show(path)}: {exc.strerror}") from None
        if not all(isinstance(r, dict) and type(r.get("step")) is int for r in rows):
            raise ValueError(f"{_show(path)} holds a row without an integer 'step'; the file is corrupt")
        by_step = {r["step"]: r for r in rows if r["step"] <= step}
        restored = [r["step"] for r in recent if by_step.get(r["step"]) != r]
        by_step.update({r["step"]: r for r in recent})
        rows = [by_step[s] for s in sorted(by_step)]
        if restored:
            self._pending.append(f"{_show(path)} had lost or torn rows for step(s) "
                                 f"{_listing([str(r) for r in restored])}; restored from the checkpoint")
        logged = checkpoint["rows_logged"]
        if logged > len(rows):
            self._pending.append(f"{_show(path)} lacks {logged - len(rows)} of the {logged} rows logged up "
                                 f"to step {step}; a checkpoint keeps only the rows since the previous one, "
                                 "so those are lost")
        return rows

    # ---------------------------------------------------------------- claim
    def claim(self) -> list[dict]:
        """Make the folder this run's: move aside (``force``), mark, write ``config.json``.

        Call it once the run is built and its checkpoint restored, so a
        failure before it leaves the folder untouched.

        Returns
        -------
        list of dict
            The metrics rows the run continues from (``[]`` for a fresh run);
            ``metrics.jsonl`` is rewritten to hold exactly these.

        Raises
        ------
        RunDirWriteError
            If a write fails; a fresh folder is then put back as it was.
        ValueError
            If no config was accepted (:meth:`accept`).
        """
        if self.config is None:
            raise ValueError("accept the run's config before claiming its folder")
        moved: list[str] = []
        written: list[str] = []
        target: Path | None = None
        try:
            if self.force:
                moved, target = self._move_aside()
            if not (self.path / MARKER).exists():
                stamp = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
                atomic_write_json(self.path / MARKER, {"format": "linalg-rnn run directory", "version": 1,
                                                       "created_utc": stamp})
                written.append(MARKER)
            for name in os.listdir(self.path):
                if _is_our_temporary(name):
                    os.unlink(self.path / name)  # left by a kill in the middle of an atomic write
            write_jsonl(self.path / "metrics.jsonl", self._rows)
            written.append("metrics.jsonl")
            atomic_write_json(self.path / "config.json", self.config.to_dict())
        except OSError as exc:
            if not self.resume:
                self._undo_claim(written, moved, target)
            undone = "nothing was changed" if not self.resume else "its checkpoint is intact; resume again"
            raise RunDirWriteError(f"cannot write in {_show(self.path)}: {exc.strerror or exc}; "
                                   f"{undone}") from None
        self._claimed = True
        self._rows_logged = len(self._rows)
        self.notes += self._pending
        return list(self._rows)

    def _move_aside(self) -> tuple[list[str], Path | None]:
        names = sorted(n for n in os.listdir(self.path) if n in _OURS or _is_our_temporary(n))
        others = sorted(n for n in os.listdir(self.path) if n not in names and n != LOCK_FILE)
        if not names:
            if others:
                self._pending.append(f"--force: nothing in {_show(self.path)} had the name of a run file; "
                                   f"left as they were: {_listing(others)}")
            return [], None
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        target, k = self.path / f"replaced-{stamp}", 1
        while target.exists():
            k += 1
            target = self.path / f"replaced-{stamp}-{k}"
        os.mkdir(target)
        moved = []
        try:
            for name in names:
                os.rename(self.path / name, target / name)
                moved.append(name)
        except OSError:
            self._undo_claim([], moved, target)
            raise
        kept = f"; left as they were: {_listing(others)}" if others else ""
        self._pending.append(f"--force: moved {_listing(names, 10)} from {_show(self.path)} into "
                           f"{_show(target)} (nothing deleted){kept}")
        return moved, target

    def _undo_claim(self, written: list[str], moved: list[str], target: Path | None) -> None:
        """Best effort: remove the files a fresh claim wrote, and put the moved ones back."""
        for name in written:
            with suppress(OSError):
                os.unlink(self.path / name)
        for name in moved:
            with suppress(OSError):
                os.rename(target / name, self.path / name)  # type: ignore[operator]
        if target is not None:
            with suppress(OSError):
                os.rmdir(target)

    # ------------------------------------------------------------- writing
    def _write(self, what: str, write, *args) -> Any:
        """``write(*args)``, its file-system errors turned into one line that says how to go on."""
        try:
            return write(*args)
        except OSError as exc:
            raise RunDirWriteError(f"cannot write {_show(self.path / what)}: {exc.strerror or exc}; the last "
                                   "checkpoint is intact: fix this, then continue with --resume") from None

    def append_row(self, row: dict) -> None:
        """Append one metrics row to ``metrics.jsonl`` (and keep it for the next checkpoint)."""
        line = self._write("metrics.jsonl", append_jsonl, self.path / "metrics.jsonl", row)
        self._recent.append(json.loads(line))  # as written: NaN/inf as None
        self._rows_logged += 1

    def save_checkpoint(self, state: dict) -> None:
        """Write the checkpoint: ``state`` holds the run's keys; this adds ``recent_rows``, ``rows_logged``.

        The keys are :data:`~linalg_rnn.rnn.checkpoint.CHECKPOINT_KEYS`; the
        rows are those appended since the previous checkpoint, as
        ``metrics.jsonl`` holds them.

        ``metrics.jsonl`` is flushed to disk first, so a checkpoint on disk
        always covers rows that are on disk too.
        """
        def write() -> None:
            fd = os.open(self.path / "metrics.jsonl", os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            save_checkpoint(self.path / CHECKPOINT,
                            {**state, "recent_rows": self._recent, "rows_logged": self._rows_logged})

        self._write(CHECKPOINT, write)
        self._recent = []

    def finish(self, result: dict, rows: list[dict], figure: Any = None) -> None:
        """Write ``result.json``, ``metrics.csv`` and (given a matplotlib figure) ``curves.png``."""
        self._write("result.json", atomic_write_json, self.path / "result.json", result)
        self._write("metrics.csv", write_csv, self.path / "metrics.csv", rows)
        if figure is not None:
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png", dpi=100)
            self._write("curves.png", atomic_write_bytes, self.path / "curves.png", buffer.getvalue())

    # --------------------------------------------------------------- close
    def close(self) -> None:
        """Release the lock; a run that never claimed removes the folders it created."""
        if self._fd is None:
            return
        if not self._claimed:
            if self._made_lock_file:
                with suppress(OSError):
                    os.unlink(self.path / LOCK_FILE)
            remove_dirs(self._created)
        os.close(self._fd)  # releases the lock
        self._fd = None

    def __enter__(self) -> RunDir:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

