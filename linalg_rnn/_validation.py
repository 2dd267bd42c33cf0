"""The input contract: every public function checks its arguments here, at the door.

Each check raises a ``TypeError`` or ``ValueError`` whose message names the
argument and says what was wrong, before any work is done.  Arrays come back as
new float64 arrays, so a caller's input is never modified in place and integer
input is promoted.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = [
    "ConvergenceWarning",
    "as_float_array",
    "as_matrix",
    "as_square_matrix",
    "as_vector",
    "check_bool",
    "check_choice",
    "check_int",
    "check_path",
    "check_positive_float",
    "check_tol",
]


class ConvergenceWarning(RuntimeWarning):
    """An iteration stopped at ``max_iter`` without meeting its tolerance.

    Raised as a warning, not an exception: the result is still returned, with
    ``converged=False``, so a learner can look at the history to see why.
    """


def _to_array(value: Any, name: str) -> np.ndarray:
    """Turn array_like into an ndarray, refusing what is not real numbers."""
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be array_like of real numbers, got a string {value!r}")
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as exc:  # ragged lists and the like
        raise TypeError(f"{name} must be array_like of real numbers: {exc}") from None
    if arr.dtype.kind in "USO" and arr.dtype != object:
        raise TypeError(f"{name} must be array_like of real numbers, got dtype {arr.dtype}")
    if arr.dtype == object:
        # Fractions and sympy numbers are fine; None, strings, nested lists are not.
        try:
            if not all(isinstance(e, numbers.Real) or hasattr(e, "__float__") for e in arr.flat):
                raise TypeError
            if any(hasattr(e, "is_real") and e.is_real is False for e in arr.flat):
                raise TypeError(f"{name} is complex; only real matrices are supported here")
            arr = arr.astype(np.float64)
        except TypeError as exc:
            if str(exc).startswith(name):
                raise
            raise TypeError(
                f"{name} must be array_like of real numbers; it holds entries that are not "
                "numbers (strings, None or ragged rows?)"
            ) from None
        except ValueError:
            raise TypeError(f"{name} must be array_like of real numbers") from None
    if arr.dtype.kind == "c":
        raise TypeError(
            f"{name} is complex ({arr.dtype}); only real matrices are supported here"
        )
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    return arr


def as_float_array(value: Any, name: str = "A", *, ndim: int | None = None) -> np.ndarray:
    """A finite, non-empty float64 copy of ``value`` with ``ndim`` dimensions.

    Examples
    --------
    >>> as_float_array([[1, 2], [3, 4]]).dtype
    dtype('float64')
    >>> as_float_array([1.0, float("nan")], "x")
    Traceback (most recent call last):
        ...
    ValueError: x contains NaN or inf; clean the input first
    """
    arr = _to_array(value, name)
    if ndim is not None and arr.ndim != ndim:
        shape = "a vector (1-D)" if ndim == 1 else f"{ndim}-D"
        raise ValueError(f"{name} must be {shape}, got an array with shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}); give at least one entry")
    out = np.array(arr, dtype=np.float64, copy=True)
    if not np.all(np.isfinite(out)):
        raise ValueError(f"{name} contains NaN or inf; clean the input first")
    return out


def as_matrix(value: Any, name: str = "A") -> np.ndarray:
    """A finite, non-empty 2-D float64 copy of ``value``.

    Examples
    --------
    >>> as_matrix([[1, 2, 3]]).shape
    (1, 3)
    >>> as_matrix([1, 2, 3])
    Traceback (most recent call last):
        ...
    ValueError: A must be 2-D, got an array with shape (3,)
    """
    return as_float_array(value, name, ndim=2)


def as_square_matrix(value: Any, name: str = "A") -> np.ndarray:
    """A finite, non-empty, square float64 copy of ``value``.

    Examples
    --------
    >>> as_square_matrix([[2, 1], [1, 3]])
    array([[2., 1.],
           [1., 3.]])
    >>> as_square_matrix([[1, 2, 3], [4, 5, 6]])
    Traceback (most recent call last):
        ...
    ValueError: A must be square, got shape (2, 3)
    """
    A = as_matrix(value, name)
    if A.shape[0] != A.shape[1]:
        raise ValueError(f"{name} must be square, got shape {A.shape}")
    return A


def as_vector(value: Any, name: str = "x", *, size: int | None = None) -> np.ndarray:
    """A finite, non-empty 1-D float64 copy of ``value``, of length ``size`` if given.

    Examples
    --------
    >>> as_vector([1, 2, 3])
    array([1., 2., 3.])
    >>> as_vector([1, 2], size=3)
    Traceback (most recent call last):
        ...
    ValueError: x must have length 3 to match the matrix, got 2
    """
    x = as_float_array(value, name, ndim=1)
    if size is not None and x.shape[0] != size:
        raise ValueError(f"{name} must have length {size} to match the matrix, got {x.shape[0]}")
    return x


def check_int(value: Any, name: str, *, minimum: int = 0, maximum: int | None = None) -> int:
    """``value`` as a Python int, refusing floats, bools and numbers outside ``[minimum, maximum]``.

    Examples
    --------
    >>> check_int(3, "k")
    3
    >>> check_int(-1, "k")
    Traceback (most recent call last):
        ...
    ValueError: k must be an integer >= 0, got -1
    >>> check_int(2.5, "k")
    Traceback (most recent call last):
        ...
    TypeError: k must be an integer, got float 2.5
    >>> check_int(2**64, "seed", maximum=2**63 - 1)
    Traceback (most recent call last):
        ...
    ValueError: seed must be an integer in [0, 9223372036854775807], got 18446744073709551616
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    value = int(value)
    if maximum is not None and not minimum <= value <= maximum:
        raise ValueError(f"{name} must be an integer in [{minimum}, {maximum}], got {value}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return value


def check_bool(value: Any, name: str) -> bool:
    """``value`` if it is a bool (or NumPy's ``bool_``), refusing ``"yes"``, ``0``, ``None``.

    A flag read from a TOML or JSON file arrives as whatever the file says;
    ``figures = "no"`` is a non-empty string, which Python would call true.

    Examples
    --------
    >>> check_bool(False, "figures")
    False
    >>> check_bool("no", "figures")
    Traceback (most recent call last):
        ...
    TypeError: figures must be true or false (a bool), got str 'no'
    """
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be true or false (a bool), got {type(value).__name__} {value!r}")
    return bool(value)


def check_path(value: Any, name: str) -> str:
    """A non-empty path given as a string (or ``os.PathLike``), returned as a string.

    Examples
    --------
    >>> from pathlib import Path
    >>> check_path(Path("data") / "mnist", "data_dir")
    'data/mnist'
    >>> check_path(5, "data_dir")
    Traceback (most recent call last):
        ...
    TypeError: data_dir must be a path (a string), got int 5
    """
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path (a string), got {type(value).__name__} {value!r}")
    path = os.fspath(value)
    if not isinstance(path, str):
        raise TypeError(f"{name} must be a path (a string), got bytes {path!r}")
    if not path:
        raise ValueError(f"{name} is an empty path; give a folder")
    return path


def check_tol(value: Any, name: str = "tol") -> float:
    """A finite, non-negative tolerance as a float.

    Examples
    --------
    >>> check_tol(1e-8)
    1e-08
    >>> check_tol(-1.0)
    Traceback (most recent call last):
        ...
    ValueError: tol must be a finite number >= 0, got -1.0
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    return value


def check_positive_float(value: Any, name: str) -> float:
    """A finite, strictly positive real number as a float.

    Examples
    --------
    >>> check_positive_float(2, "max_norm")
    2.0
    >>> check_positive_float(0, "max_norm")
    Traceback (most recent call last):
        ...
    ValueError: max_norm must be a finite number > 0, got 0.0
    >>> check_positive_float(float("nan"), "lr")
    Traceback (most recent call last):
        ...
    ValueError: lr must be a finite number > 0, got nan
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    try:
        value = float(value)
    except OverflowError:  # a Python int beyond float64
        raise ValueError(f"{name} must be a finite number > 0, got {value}") from None
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value}")
    return value


def check_choice(value: Any, name: str, choices: Iterable[str]) -> str:
    """``value`` if it is one of ``choices``, else a ``ValueError`` listing them.

    Examples
    --------
    >>> check_choice("reduced", "mode", ["reduced", "complete"])
    'reduced'
    >>> check_choice("full", "mode", ["reduced", "complete"])
    Traceback (most recent call last):
        ...
    ValueError: unknown mode 'full'; choose one of 'reduced', 'complete'
    """
    choices = list(choices)
    if not isinstance(value, str) or value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"unknown {name} {value!r}; choose one of {listed}")
    return value
