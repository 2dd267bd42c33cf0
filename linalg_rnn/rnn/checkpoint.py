"""Checkpoints that run no code: ``torch.save`` written atomically, ``torch.load(weights_only=True)``.

What is trusted: a checkpoint is loaded with ``torch.load(...,
weights_only=True)``, so it may hold only tensors and plain Python values
(dict, list, tuple, str, int, float, bool, None) -- :func:`save_checkpoint`
refuses anything else -- and loading one from someone else's folder cannot
run code. Its *numbers* are taken as they are: a crafted checkpoint can make
a run train from nonsense, but not execute anything.

The torch-free file-system work of a run directory -- atomic files, JSON
lines, the folder check and lock -- lives in :mod:`linalg_rnn._filesystem`
(so the course runner can use it without torch) and is re-exported here
under the names it always had.
"""

from __future__ import annotations

import collections
import io
import pickle
import warnings
from pathlib import Path
from typing import Any

import torch

from .._filesystem import (
    LOCK_FILE,
    RunDirBusyError,
    _check_regular,
    append_jsonl,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    check_output_dir,
    display_path,
    lock_folder,
    make_dirs,
    read_jsonl,
    remove_dirs,
    write_csv,
    write_jsonl,
)

__all__ = [
    "LOCK_FILE",
    "RunDirBusyError",
    "append_jsonl",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "check_output_dir",
    "display_path",
    "load_checkpoint",
    "lock_folder",
    "make_dirs",
    "read_jsonl",
    "remove_dirs",
    "save_checkpoint",
    "write_csv",
    "write_jsonl",
]


_PLAIN = (str, int, float, bool, type(None))


def _check_plain(value: Any, where: str) -> None:
    """Refuse what ``torch.load(weights_only=True)`` would refuse, naming where it sits."""
    if isinstance(value, torch.Tensor) or type(value) in _PLAIN:
        return
    if type(value) in (dict, collections.OrderedDict):
        for k, v in value.items():
            if type(k) not in _PLAIN:
                raise TypeError(f"checkpoint key {where}[{k!r}] is a {type(k).__name__}, not a plain value")
            _check_plain(v, f"{where}[{k!r}]")
        return
    if type(value) in (list, tuple) or isinstance(value, torch.Size):
        for i, v in enumerate(value):
            _check_plain(v, f"{where}[{i}]")
        return
    raise TypeError(
        f"checkpoint entry {where} is a {type(value).__module__}.{type(value).__qualname__}; "
        "a checkpoint holds only tensors and plain values (dict, list, tuple, str, int, float, bool, None)"
    )


def save_checkpoint(path: str | Path, state: dict) -> Path:
    """Save a checkpoint dict with ``torch.save``, atomically.

    Parameters
    ----------
    path : str or Path
        Target file.
    state : dict
        Tensors and plain values only (dict, list, tuple, str, int, float,
        bool, None), nested as deep as needed: state dicts, RNG states,
        counters, the config as a dict.

    Returns
    -------
    Path

    Raises
    ------
    TypeError
        If ``state`` holds anything else (a NumPy array, a dataclass, ...):
        :func:`load_checkpoint` could not read it back safely.

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = save_checkpoint(os.path.join(tmp, "c.pt"), {"step": 3, "w": torch.ones(2)})
    ...     load_checkpoint(p)["step"]
    3
    >>> save_checkpoint("never_written.pt", {"rng": object()})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    TypeError: checkpoint entry state['rng'] is a builtins.object; a checkpoint holds only tensors ...
    """
    _check_plain(state, "state")
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """Load a checkpoint written by :func:`save_checkpoint`, without running any code from it.

    Parameters
    ----------
    path : str or Path
        The file.
    map_location : str or torch.device, optional
        Where tensors go (RNG states must stay on the CPU).

    Returns
    -------
    dict

    Raises
    ------
    ValueError
        One line naming the file if it is not a readable checkpoint: empty,
        truncated, random bytes, not a regular file (a FIFO, ``/dev/zero``), or
        holding anything but tensors and plain values (a pickle that would run
        code is refused, not run).
    OSError
        One line naming the file if it cannot be read at all (missing, a
        folder, no permission).

    Notes
    -----
    ``torch.load(..., weights_only=True)``: the unpickler rebuilds only
    tensors and plain containers, so a checkpoint from an untrusted folder
    cannot execute code on ``--resume``. Taught in lesson 13.

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = save_checkpoint(os.path.join(tmp, "c.pt"), {"rng": torch.get_rng_state()})
    ...     dtype = load_checkpoint(p)["rng"].dtype
    ...     _ = open(p, "wb").write(b"not a checkpoint")
    ...     try:
    ...         load_checkpoint(p)
    ...     except ValueError as exc:
    ...         print(str(exc).replace(tmp, "TMP")[:44])
    TMP/c.pt is not a readable checkpoint (not a
    >>> dtype
    torch.uint8
    """
    path = Path(path)
    _check_regular(path)
    try:
        data = path.read_bytes()  # the file system's errors here; the parser's below
    except OSError as exc:
        raise type(exc)(f"cannot read checkpoint {path}: {exc.strerror or exc}") from None
    try:
        with warnings.catch_warnings():  # torch warns about the pickle protocol of foreign files
            warnings.simplefilter("ignore")
            state = torch.load(io.BytesIO(data), map_location=map_location, weights_only=True)
    except pickle.UnpicklingError:
        raise ValueError(
            f"{path} is not a readable checkpoint (not a torch file, or it holds objects other "
            "than tensors and plain values; nothing in it was run)"
        ) from None
    except Exception as exc:  # torch raises EOFError, RuntimeError, KeyError, ... for broken bytes
        reason = "the file is empty" if not data else (str(exc).strip().splitlines() or [""])[0][:120]
        raise ValueError(
            f"{path} is not a readable checkpoint ({reason or type(exc).__name__})"
        ) from None
    if not isinstance(state, dict):
        raise ValueError(f"{path} is not a linalg-rnn checkpoint (it holds a {type(state).__name__})")
    return state
