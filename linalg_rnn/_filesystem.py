"""Safe file-system work, without torch: atomic files, JSON lines, folder checks, a folder lock.

A kill at any moment must leave either the old file or the new one, never a
torn one. Every whole-file write here goes to a temporary file in the same
folder, is flushed to disk, and is moved over the target with
``os.replace`` (atomic on POSIX and Windows). ``metrics.jsonl`` is the one
file that grows by appending; :func:`read_jsonl` drops a torn last line and
the trainer rewrites the file atomically when it resumes. The JSON files
are data.

The trainer's run directories (:mod:`linalg_rnn.rnn.rundir`) and the course
runner (:mod:`linalg_rnn.course`, which checks its output folder with
:func:`check_output_dir`) share these, so they import nothing heavier than
the standard library: the numerical parts and the course run without torch.
The public names are re-exported from :mod:`linalg_rnn.rnn.checkpoint`, next
to the checkpoint files that do need torch.
"""

from __future__ import annotations

import csv
import io
import json
import os
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ._validation import check_path

try:
    import fcntl
except ModuleNotFoundError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "LOCK_FILE",
    "RunDirBusyError",
    "append_jsonl",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "check_output_dir",
    "display_path",
    "lock_folder",
    "make_dirs",
    "read_jsonl",
    "remove_dirs",
    "write_csv",
    "write_jsonl",
]


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temp file + fsync + ``os.replace``).

    The temporary file is ``.<name>.<random>.tmp`` beside ``path``; a kill
    can leave one behind, never a torn ``path``. The new file gets the
    permissions the umask allows, as ``open`` would give it.

    Parameters
    ----------
    path : str or Path
        Target file; its folder must exist.
    data : bytes
        The whole new content.

    Returns
    -------
    Path
        ``path``.

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = atomic_write_bytes(os.path.join(tmp, "a.bin"), b"abc")
    ...     p.read_bytes(), sorted(os.listdir(tmp))
    (b'abc', ['a.bin'])
    """
    path = Path(path)
    while True:  # like tempfile.mkstemp, but the file gets the umask's permissions, not 0600
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically.

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     atomic_write_text(os.path.join(tmp, "a.txt"), "hi").read_text()
    'hi'
    """
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj: Any, *, indent: int | None = 2) -> Path:
    """Write ``obj`` as JSON to ``path`` atomically (NaN/inf as null), indented unless ``indent=None``.

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     print(atomic_write_json(os.path.join(tmp, "r.json"), {"x": float("nan")}).read_text())
    {
      "x": null
    }
    """
    return atomic_write_text(path, json.dumps(_finite(obj), indent=indent) + "\n")


def _finite(obj: Any) -> Any:
    """JSON has no NaN or inf: write them as null."""
    if isinstance(obj, float) and (obj != obj or obj in (float("inf"), float("-inf"))):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def append_jsonl(path: str | Path, row: dict) -> str:
    """Append one JSON object as a line, flushed (NaN/inf written as null); return the line.

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = os.path.join(tmp, "m.jsonl")
    ...     append_jsonl(p, {"step": 1, "loss": float("nan")})
    ...     _ = append_jsonl(p, {"step": 2})
    ...     read_jsonl(p)
    '{"step": 1, "loss": null}'
    [{'step': 1, 'loss': None}, {'step': 2}]
    """
    line = json.dumps(_finite(row))
    with open(path, "a", encoding="utf-8") as f:
        f.write(line + "\n")
        f.flush()
    return line


def write_jsonl(path: str | Path, rows: Iterable[dict]) -> Path:
    """Write all ``rows`` as JSON lines, atomically (replacing the file).

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     read_jsonl(write_jsonl(os.path.join(tmp, "m.jsonl"), [{"a": 1}]))
    [{'a': 1}]
    """
    return atomic_write_text(path, "".join(json.dumps(_finite(r)) + "\n" for r in rows))


def _check_regular(path: Path) -> None:
    """Refuse to read a FIFO, a device or a folder (a FIFO would block, /dev/zero never end)."""
    if path.exists() and not path.is_file():
        raise ValueError(f"{display_path(path)} is not a regular file")


def write_csv(path: str | Path, rows: list[dict]) -> Path:
    """Write metric rows as CSV atomically: one column per key seen, in order (lists left out).

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = write_csv(os.path.join(tmp, "m.csv"), [{"step": 1}, {"step": 2, "val_loss": 0.5}])
    ...     p.read_text().splitlines()
    ['step,val_loss', '1,', '2,0.5']
    """
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys and not isinstance(r[k], list)]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=keys, extrasaction="ignore", )
    writer.writeheader()
    writer.writerows(rows)
    return atomic_write_text(path, buffer.getvalue())


def read_jsonl(path: str | Path) -> list[dict]:
    """Read JSON lines, dropping a torn (unparsable) last line left by a kill mid-append.

    Returns
    -------
    list of dict
        ``[]`` when the file does not exist.

    Raises
    ------
    ValueError
        If a line *before* the last one is unparsable (real corruption), or
        the path is not a regular file.

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = os.path.join(tmp, "m.jsonl")
    ...     _ = open(p, "w").write('{"step": 1}\\n{"step": 2, "tr')
    ...     read_jsonl(p)
    [{'step': 1}]
    """
    path = Path(path)
    if not path.exists():
        return []
    _check_regular(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    rows = []
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            if i == len(lines) - 1:
                break
            raise ValueError(f"{path}: line {i + 1} is not JSON; the file is corrupt") from None
    return rows


# ---------------------------------------------------------------- folders and their lock
LOCK_FILE = ".linalg-rnn-lock"  # only where the file system cannot lock a folder


class RunDirBusyError(BlockingIOError):
    """Another run holds the folder's lock."""


def display_path(path: Any) -> str:
    """A path for a one-line message: as is, or quoted when it holds control characters.

    Examples
    --------
    >>> print(display_path("runs/a"), display_path("two" + chr(10) + "lines"))
    runs/a 'two\\nlines'
    """
    text = os.fspath(path) if isinstance(path, os.PathLike) else str(path)
    return text if text.isprintable() else repr(text)


def _read_only(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except (AttributeError, OSError):  # no statvfs (Windows) or not statable
        return False


def check_output_dir(path: str | os.PathLike, *, what: str = "run directory") -> Path:
    """Check that ``path`` is, or can be made, a folder we may write in; creates nothing.

    Parameters
    ----------
    path : str or os.PathLike
        The folder: existing, or to be created with its missing parents.
    what : str, optional
        What the folder is, for the messages.

    Returns
    -------
    Path

    Raises
    ------
    ValueError, TypeError
        An empty path, a NUL byte, not a path at all.
    OSError
        ``NotADirectoryError`` if it, or the nearest part of it that exists,
        is a file; ``PermissionError`` if that folder is not writable
        (permissions or a read-only file system); others for what the file
        system refuses (a name too long, a broken link). One line naming it.

    Notes
    -----
    ``os.access`` is asked, so root without ``CAP_DAC_OVERRIDE`` is refused
    like anybody. Taught in lesson 13.

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     check_output_dir(os.path.join(tmp, "a", "b")).name, os.listdir(tmp)
    ('b', [])
    >>> check_output_dir("")
    Traceback (most recent call last):
        ...
    ValueError: the run directory is an empty path; give a folder
    """
    text = check_path(path, f"the {what}")
    if "\0" in text:
        raise ValueError(f"the {what} path {display_path(text)} holds a NUL byte")
    p = Path(text)
    try:
        if p.is_symlink() and not p.exists():
            raise FileNotFoundError(f"the {what} {display_path(p)} is a broken symbolic link")
        if p.exists() and not p.is_dir():
            raise NotADirectoryError(f"the {what} {display_path(p)} is a file, not a folder")
        base = next((d for d in (p, *p.parents) if d.exists()), Path("."))  # the part that exists
        if not base.is_dir():
            raise NotADirectoryError(f"cannot create the {what} {display_path(p)}: "
                                     f"{display_path(base)} is a file")
        if not os.access(base, os.W_OK | os.X_OK):
            why = ("is on a read-only file system" if _read_only(base)
                   else "is not writable (permission denied)")
            if base == p:
                raise PermissionError(f"cannot write in the {what} {display_path(p)}: it {why}")
            raise PermissionError(f"cannot create the {what} {display_path(p)}: {display_path(base)} {why}")
    except OSError as exc:
        if exc.strerror is None:  # one of ours above
            raise
        raise type(exc)(f"cannot use the {what} {display_path(p)}: {exc.strerror}") from None
    return p


def lock_folder(p: Path) -> tuple[int, bool]:
    """Lock folder ``p``, exclusive and non-blocking: ``(fd, made_a_lock_file)``; closing ``fd`` frees it.

    An ``flock`` on the folder itself (nothing is created), or on ``LOCK_FILE``
    inside it where the file system cannot lock a folder. The kernel frees the
    lock when the process ends, however it ends, so no lock outlives its run.

    Raises
    ------
    RunDirBusyError
        If another open file holds the lock (another run, or this process).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     fd, _ = lock_folder(Path(tmp))
    ...     try:
    ...         lock_folder(Path(tmp))
    ...     except RunDirBusyError:
    ...         print("busy")
    ...     os.close(fd)
    busy
    """
    if fcntl is not None:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd, False
        except OSError as exc:
            os.close(fd)
            if isinstance(exc, BlockingIOError):
                raise _busy(p) from None
    # a file system that cannot lock a folder (some NFS), or Windows: lock a file in it instead
    made = not (p / LOCK_FILE).exists()
    fd = os.open(p / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:  # pragma: no cover - Windows
            import msvcrt

            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError:
        os.close(fd)
        raise _busy(p) from None
    return fd, made


def _busy(p: Path) -> RunDirBusyError:
    return RunDirBusyError(f"{display_path(p)} is in use by another linalg-rnn run (it holds the folder's "
                           "lock); wait for it to end, or choose another --out")


def make_dirs(p: Path) -> list[Path]:
    """Create ``p`` and its missing parents; return those this call created, outermost first.

    Unlike ``Path.mkdir(parents=True)``, it says what it made, so a run that
    gives up can remove exactly that (:func:`remove_dirs`) and leave the file
    system as it found it. A folder another process makes at the same moment
    is taken as it is; a failure part-way removes what this call made.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     made = make_dirs(Path(tmp) / "a" / "b")
    ...     [d.relative_to(tmp).as_posix() for d in made], make_dirs(Path(tmp) / "a")
    (['a', 'a/b'], [])
    """
    missing = []
    for d in (p, *p.parents):
        if d.is_dir():
            break
        missing.append(d)
    created = []
    for d in reversed(missing):
        try:
            os.mkdir(d)
        except FileExistsError:
            if not d.is_dir():
                raise
            continue  # made by someone else a moment ago
        except OSError:
            remove_dirs(created)
            raise
        created.append(d)
    return created


def remove_dirs(created: list[Path]) -> None:
    """Remove folders :func:`make_dirs` created, innermost first, while they are empty.

    It stops at the first folder that is not empty (something was written
    there since), so nothing but empty folders this run made is removed.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     made = make_dirs(Path(tmp) / "a" / "b")
    ...     _ = (Path(tmp) / "a" / "kept.txt").write_text("x")
    ...     remove_dirs(made)
    ...     sorted(p.relative_to(tmp).as_posix() for p in Path(tmp).rglob("*"))
    ['a', 'a/kept.txt']
    """
    for d in reversed(created):
        try:
            os.rmdir(d)  # only if still empty
        except OSError:
            return
