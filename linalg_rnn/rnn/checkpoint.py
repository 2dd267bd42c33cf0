"""Atomic files for run directories: JSON, JSON lines, figures and checkpoints.

A kill at any moment must leave either the old file or the new one, never a
torn one. Every whole-file write here goes to a temporary file in the same
folder, is flushed to disk, and is moved over the target with
``os.replace`` (atomic on POSIX and Windows). ``metrics.jsonl`` is the one
file that grows by appending; :func:`read_jsonl` drops a torn last line and
the trainer rewrites the file atomically when it resumes.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch

__all__ = [
    "append_jsonl",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "load_checkpoint",
    "read_jsonl",
    "save_checkpoint",
    "write_jsonl",
]


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temp file + fsync + ``os.replace``).

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
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
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


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    """Write ``obj`` as indented JSON to ``path`` atomically (NaN/inf written as null).

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     print(atomic_write_json(os.path.join(tmp, "r.json"), {"x": float("nan")}).read_text())
    {
      "x": null
    }
    """
    return atomic_write_text(path, json.dumps(_finite(obj), indent=2) + "\n")


def _finite(obj: Any) -> Any:
    """JSON has no NaN or inf: write them as null."""
    if isinstance(obj, float) and (obj != obj or obj in (float("inf"), float("-inf"))):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def append_jsonl(path: str | Path, row: dict) -> None:
    """Append one JSON object as a line, flushed (NaN/inf written as null).

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = os.path.join(tmp, "m.jsonl")
    ...     append_jsonl(p, {"step": 1}); append_jsonl(p, {"step": 2})
    ...     read_jsonl(p)
    [{'step': 1}, {'step': 2}]
    """
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(_finite(row)) + "\n")
        f.flush()


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


def read_jsonl(path: str | Path) -> list[dict]:
    """Read JSON lines, dropping a torn (unparsable) last line left by a kill mid-append.

    Returns
    -------
    list of dict
        ``[]`` when the file does not exist.

    Raises
    ------
    ValueError
        If a line *before* the last one is unparsable (real corruption).

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


def save_checkpoint(path: str | Path, state: dict) -> Path:
    """Save a checkpoint dict with ``torch.save``, atomically.

    Parameters
    ----------
    path : str or Path
        Target file.
    state : dict
        Anything ``torch.save`` takes: state dicts, RNG states, counters.

    Returns
    -------
    Path

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = save_checkpoint(os.path.join(tmp, "c.pt"), {"step": 3, "w": torch.ones(2)})
    ...     load_checkpoint(p)["step"]
    3
    """
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """Load a checkpoint written by :func:`save_checkpoint`.

    Parameters
    ----------
    path : str or Path
        The file.
    map_location : str or torch.device, optional
        Where tensors go (RNG states must stay on the CPU).

    Returns
    -------
    dict

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = save_checkpoint(os.path.join(tmp, "c.pt"), {"rng": torch.get_rng_state()})
    ...     load_checkpoint(p)["rng"].dtype
    torch.uint8
    """
    return torch.load(path, map_location=map_location, weights_only=False)
