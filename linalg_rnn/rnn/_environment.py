"""Where and how a run computes: what the device can run, one precision, determinism, the record.

The trainer's promises depend on the device, so they are set and written
down in one place:

* :func:`check_device_support` refuses, before any work and in one line, a
  strategy whose operations the device does not implement (MPS lacks some
  linear algebra);
* :func:`numerics` fixes the precision of a run (TF32 off unless asked for,
  so the fused, explicit-loop and parametrized strategies all train in full
  float32 on an Ampere or Hopper GPU), where asked (by default on CUDA)
  deterministic algorithms, and NumPy's BLAS threads (as many as torch's);
  it restores the caller's settings afterwards;
* :func:`environment_record` is what ``result.json`` says about where it ran.
"""

from __future__ import annotations

import os
import platform
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from threadpoolctl import threadpool_limits

from .strategies import Strategy

_CUBLAS = "CUBLAS_WORKSPACE_CONFIG"


def _eye(device: torch.device) -> torch.Tensor:
    return torch.eye(2, device=device)


def _rnn_probe(device: torch.device, gates: int) -> object:
    """The fused tanh RNN (gates=1) or LSTM (gates=4) kernel on a 2-unit, 2-step input."""
    x, h = _eye(device)[None], torch.zeros(1, 1, 2, device=device)
    w, b = torch.zeros(2 * gates, 2, device=device), torch.zeros(2 * gates, device=device)
    if gates == 1:
        return torch.rnn_tanh(x, h, [w, w, b, b], True, 1, 0.0, True, False, True)
    return torch.lstm(x, (h, h), [w, w, b, b], True, 1, 0.0, True, False, True)


def _device_ops(strategy: Strategy) -> dict[str, Callable[[torch.device], object]]:
    """The operations a strategy runs on the training device, each as a tiny probe."""
    if strategy.uses("lstm"):
        ops = {"nn.LSTM": lambda d: _rnn_probe(d, 4)}
    else:
        ops = {"torch.rnn_tanh": lambda d: _rnn_probe(d, 1)}
    if strategy.parametrization == "expm":
        ops["torch.linalg.matrix_norm(ord=1)"] = lambda d: torch.linalg.matrix_norm(_eye(d), ord=1)
    if strategy.parametrization == "cayley":
        ops["torch.linalg.solve_ex"] = lambda d: torch.linalg.solve_ex(_eye(d), _eye(d))
    return ops


def check_device_support(strategy: Strategy, device: torch.device) -> None:
    """Refuse, in one line, a strategy that needs an operation the device does not implement.

    Parameters
    ----------
    strategy : Strategy
        The parsed strategy.
    device : torch.device
        The training device.

    Raises
    ------
    ValueError
        Naming the strategy, the missing operation and the device.

    Notes
    -----
    Each operation is tried once on a 2×2 input, before any data or model is
    made. What needs float64 or a factorization (the :math:`W_{hh}` metrics,
    the QR and polar projections, the initial orthogonal matrices) runs on
    the CPU on every device, so only the operations of the training step
    itself are probed.

    Examples
    --------
    >>> from linalg_rnn.rnn.strategies import parse_strategy
    >>> check_device_support(parse_strategy("cayley"), torch.device("cpu")) is None
    True
    """
    for name, probe in _device_ops(strategy).items():
        try:
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # e.g. cuDNN's note on weights that are not one buffer
                probe(device)
        except (NotImplementedError, RuntimeError):
            raise ValueError(
                f"strategy {str(strategy)!r} needs {name}, which torch {torch.__version__} does not "
                f"run on {device.type}; use device cpu"
            ) from None


@contextmanager
def numerics(device: torch.device, *, allow_tf32: bool, deterministic: bool | None) -> Iterator[bool]:
    """Fix the precision and determinism of a run; restore the caller's settings afterwards.

    Parameters
    ----------
    device : torch.device
        The training device.
    allow_tf32 : bool
        Allow TF32 in CUDA matrix products and cuDNN (both or neither).
    deterministic : bool or None
        Deterministic algorithms; ``None``: on for CUDA, off elsewhere.

    Yields
    ------
    bool
        Whether deterministic mode is on.

    Notes
    -----
    Deterministic mode sets ``torch.use_deterministic_algorithms(True)``,
    ``torch.backends.cudnn.deterministic = True``,
    ``torch.backends.cudnn.benchmark = False`` and, if unset,
    ``CUBLAS_WORKSPACE_CONFIG=:4096:8``, which cuBLAS reads when CUDA starts:
    if CUDA had already started in this process without it, a warning says
    to set it before starting Python.

    The :math:`W_{hh}` linear algebra on the CPU (the metrics, the
    projections, the orthogonal inits) is NumPy's, whose BLAS would start a
    thread per core; inside the context it gets as many threads as torch
    has, so a run on one torch thread (a showdown cell, a benchmark) is one
    thread, and cells side by side do not fight for the cores.

    Examples
    --------
    >>> before = torch.are_deterministic_algorithms_enabled()
    >>> with numerics(torch.device("cpu"), allow_tf32=False, deterministic=True) as on:
    ...     on, torch.are_deterministic_algorithms_enabled()
    (True, True)
    >>> torch.are_deterministic_algorithms_enabled() == before
    True
    """
    on = device.type == "cuda" if deterministic is None else deterministic
    saved = (
        torch.backends.cuda.matmul.allow_tf32,
        torch.backends.cudnn.allow_tf32,
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
        torch.backends.cudnn.deterministic,
        torch.backends.cudnn.benchmark,
        os.environ.get(_CUBLAS),
    )
    try:
        torch.backends.cuda.matmul.allow_tf32 = allow_tf32
        torch.backends.cudnn.allow_tf32 = allow_tf32
        if on:
            if saved[-1] is None:
                if device.type == "cuda" and torch.cuda.is_initialized():
                    warnings.warn(f"{_CUBLAS} was unset when CUDA started; set {_CUBLAS}=:4096:8 "
                                  "before starting Python for bit-identical runs", stacklevel=3)
                os.environ[_CUBLAS] = ":4096:8"
            torch.use_deterministic_algorithms(True)
            torch.backends.cudnn.deterministic = True
            torch.backends.cudnn.benchmark = False
        with threadpool_limits(limits=torch.get_num_threads(), user_api="blas"):
            yield on
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved[:2]
        torch.use_deterministic_algorithms(saved[2], warn_only=saved[3])
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = saved[4:6]
        if saved[6] is None:
            os.environ.pop(_CUBLAS, None)


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return f"Apple GPU (mps) on {platform.machine()}"
    return platform.processor() or platform.machine() or "cpu"


def environment_record(device: torch.device, *, allow_tf32: bool, deterministic: bool) -> dict:
    """Where a run computed: library versions, device, precision, determinism.

    Parameters
    ----------
    device : torch.device
        The training device.
    allow_tf32 : bool
        As configured; recorded as ``tf32``, true only where it applies (CUDA).
    deterministic : bool
        Whether deterministic mode was on.

    Returns
    -------
    dict
        ``torch``, ``cuda``, ``cudnn`` (versions, ``None`` where absent),
        ``python``, ``device``, ``device_name``, ``tf32``, ``deterministic``,
        ``threads`` (torch's CPU threads).

    Examples
    --------
    >>> env = environment_record(torch.device("cpu"), allow_tf32=True, deterministic=False)
    >>> env["device"], env["tf32"], env["torch"] == torch.__version__
    ('cpu', False, True)
    """
    cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    return {
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": cudnn,
        "python": platform.python_version(),
        "device": device.type,
        "device_name": _device_name(device),
        "tf32": bool(allow_tf32 and device.type == "cuda"),
        "deterministic": bool(deterministic),
        "threads": torch.get_num_threads(),
    }
