"""Checkpoints: every key a run saves, written atomically, read back without running any code.

:func:`save_checkpoint` and :func:`load_checkpoint` are the one pair that
writes and reads a run's checkpoint, and :data:`CHECKPOINT_KEYS` is the one
list of what it holds: the save refuses any other set of keys, the load
checks every key and its type before a run trusts it.

What is trusted: a checkpoint is loaded with ``torch.load(...,
weights_only=True)``, so it may hold only tensors and plain Python values
(dict, list, tuple, str, int, float, bool, None) -- :func:`save_checkpoint`
refuses anything else -- and loading one from someone else's folder cannot
run code. Its *numbers* are taken as they are: a crafted checkpoint can make
a run train from nonsense, but not execute anything.
"""

from __future__ import annotations

import collections
import io
import pickle
import warnings
from pathlib import Path
from typing import Any

import torch

from .._filesystem import _check_regular, atomic_write_bytes, display_path

__all__ = ["CHECKPOINT_KEYS", "load_checkpoint", "save_checkpoint"]

#: Every key of a run's checkpoint and what it holds.
CHECKPOINT_KEYS = {
    "step": "completed steps (int >= 0)",
    "elapsed_s": "training seconds so far, over every session of the run",
    "diverged": "whether a NaN/inf loss or gradient stopped the run",
    "divergence_step": "the step where it did, or None",
    "initial": "the W_hh metrics before the first step (dict)",
    "initial_w_hh": "W_hh before the first step (a CPU tensor)",
    "model": "the model's state dict",
    "optimizer": "the optimizer's state dict (its moments; the learning rates come from the config)",
    "rng": "{'data': the data generator's state, 'torch_cpu': torch's CPU generator's} (CPU states)",
    "device": "the device type it was written on",
    "config": "the run's config (TrainConfig.to_dict())",
    "recent_rows": "the metrics rows logged since the previous checkpoint (as metrics.jsonl holds them)",
    "rows_logged": "how many rows the run had logged in all",
}
_CPU_GENERATOR_BYTES = torch.Generator().get_state().numel()

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
    """Save a run's checkpoint with ``torch.save``, atomically.

    Parameters
    ----------
    path : str or Path
        Target file.
    state : dict
        Exactly the keys of :data:`CHECKPOINT_KEYS`, holding tensors and
        plain values only (dict, list, tuple, str, int, float, bool, None),
        nested as deep as needed.

    Returns
    -------
    Path

    Raises
    ------
    TypeError
        If ``state`` holds anything else (a NumPy array, a dataclass, ...):
        :func:`load_checkpoint` could not read it back safely.
    ValueError
        If its keys are not :data:`CHECKPOINT_KEYS`.

    Examples
    --------
    >>> save_checkpoint("never_written.pt", {"rng": object()})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    TypeError: checkpoint entry state['rng'] is a builtins.object; a checkpoint holds only tensors ...
    >>> save_checkpoint("never_written.pt", {"step": 3})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    ValueError: a checkpoint holds the keys of CHECKPOINT_KEYS; missing: elapsed_s, diverged, ...
    """
    _check_plain(state, "state")
    missing = [k for k in CHECKPOINT_KEYS if k not in state]
    extra = [k for k in state if k not in CHECKPOINT_KEYS]
    if missing or extra:
        raise ValueError("a checkpoint holds the keys of CHECKPOINT_KEYS; "
                         + "; ".join(f"{what}: {', '.join(map(str, keys))}"
                                     for what, keys in (("missing", missing), ("unknown", extra)) if keys))
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """Load a run's checkpoint written by :func:`save_checkpoint`, without running any code from it.

    Parameters
    ----------
    path : str or Path
        The file.
    map_location : str or torch.device, optional
        Where tensors go (RNG states must stay on the CPU).

    Returns
    -------
    dict
        The keys of :data:`CHECKPOINT_KEYS`, each checked.

    Raises
    ------
    ValueError
        One line naming the file if it is not a readable checkpoint: empty,
        truncated, random bytes, not a regular file (a FIFO, ``/dev/zero``),
        holding anything but tensors and plain values (a pickle that would run
        code is refused, not run), or a key of :data:`CHECKPOINT_KEYS` missing
        or of the wrong type (a data generator state that is not a CPU
        generator's, metrics rows after the checkpoint's step).
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
    >>> from linalg_rnn.rnn import TrainConfig, train
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = train(TrainConfig(task="adding", seq_len=5, hidden=4, steps=2, device="cpu"), tmp)
    ...     p = os.path.join(tmp, "checkpoint.pt")
    ...     state = load_checkpoint(p)
    ...     _ = open(p, "wb").write(b"not a checkpoint")
    ...     try:
    ...         load_checkpoint(p)
    ...     except ValueError as exc:
    ...         print(str(exc).replace(tmp, "TMP")[:53])
    TMP/checkpoint.pt is not a readable checkpoint (not a
    >>> state["step"], list(state) == list(CHECKPOINT_KEYS)
    (2, True)
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
    _check_keys(state, f"{display_path(path)} is not a linalg-rnn checkpoint")
    return state


_KINDS: dict[str, tuple[type, ...]] = {
    "step": (int,), "elapsed_s": (int, float), "diverged": (bool,), "divergence_step": (int, type(None)),
    "initial": (dict,), "initial_w_hh": (torch.Tensor,), "model": (dict,), "optimizer": (dict,),
    "rng": (dict,), "device": (str,), "config": (dict,), "recent_rows": (list,), "rows_logged": (int,),
}


def _check_keys(state: dict, refusal: str) -> None:
    """Every key of :data:`CHECKPOINT_KEYS` with its type, so a crafted file fails here, in one line."""
    for key, kinds in _KINDS.items():
        value = state.get(key)
        wrong_bool = isinstance(value, bool) and bool not in kinds  # True is an int to isinstance
        if key not in state or not isinstance(value, kinds) or wrong_bool:
            what = " or ".join(k.__name__ for k in kinds)
            raise ValueError(f"{refusal}: {key!r} is missing or not a {what}")
    for name in ("data", "torch_cpu"):
        rng = state["rng"].get(name)
        if not (isinstance(rng, torch.Tensor) and rng.dtype == torch.uint8
                and rng.numel() == _CPU_GENERATOR_BYTES):
            size = f"{rng.numel()} bytes" if isinstance(rng, torch.Tensor) else "no tensor"
            raise ValueError(f"{refusal}: its {name} generator state has {size}, not the "
                             f"{_CPU_GENERATOR_BYTES} of a CPU generator")
    step = state["step"]
    if step < 0 or not all(isinstance(r, dict) and type(r.get("step")) is int and r["step"] <= step
                           for r in state["recent_rows"]):
        raise ValueError(f"{refusal}: bad step or metrics rows")
