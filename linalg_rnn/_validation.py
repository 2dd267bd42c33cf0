"""The input contract: every public function checks its arguments here, at the door.

Each check raises a ``TypeError`` or ``ValueError`` whose message names the
argument and says what was wrong, in one line, before any work is done.

* Arrays come back as new float64 arrays, so a caller's input is never
  modified in place and integer input is promoted.  A torch tensor is read as
  its values (detached, on the CPU), ``requires_grad`` or not; a complex
  entry, even inside an object array, is refused; an integer too large for
  float64 is named, not left to raise ``OverflowError``.
* Scalars: :func:`check_int`, :func:`check_real` (with :func:`check_tol` and
  :func:`check_positive_float`), :func:`check_bool`, :func:`check_path`,
  :func:`check_choice`, :func:`check_seed` (every ``seed=`` of the
  numerical modules becomes a ``numpy.random.Generator`` here).
* Sizes: :func:`check_memory` refuses an argument that asks for more memory
  than the machine has, instead of letting NumPy fail inside ``numpy.empty``.
* :func:`check_rnn` assembles the arguments of
  :func:`linalg_rnn.dynamics.bptt_jacobian_norms`.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Iterable
from fractions import Fraction
from typing import Any, NamedTuple

import numpy as np
import sympy

__all__ = [
    "ConvergenceWarning",
    "RNNArguments",
    "as_exact_square_matrix",
    "as_float_array",
    "as_matrix",
    "as_square_matrix",
    "as_vector",
    "check_bool",
    "check_choice",
    "check_int",
    "check_memory",
    "check_path",
    "check_positive_float",
    "check_real",
    "check_rnn",
    "check_seed",
    "check_tol",
    "from_torch",
]


class ConvergenceWarning(RuntimeWarning):
    """An iteration stopped at ``max_iter`` without meeting its tolerance.

    Raised as a warning, not an exception: the result is still returned, with
    ``converged=False``, so a learner can look at the history to see why.
    """


def from_torch(value: Any) -> Any:
    """A torch tensor's values as a NumPy array; anything else unchanged.

    Every public function reads a tensor as the numbers it holds: detached
    (the results are NumPy arrays, outside autograd, so nothing is lost),
    copied to the CPU, and floating types widened to float64.  torch is not
    imported for this: a tensor can only exist if the caller imported it.

    Examples
    --------
    >>> from_torch([1.0, 2.0])
    [1.0, 2.0]
    """
    if type(value).__module__.split(".")[0] == "torch" and hasattr(value, "detach"):
        tensor = value.detach().cpu()
        if tensor.is_floating_point():
            tensor = tensor.double()  # float16/bfloat16 have no NumPy twin; float32 -> float64 is exact
        return tensor.numpy()
    return value


def _scalar(value: Any) -> Any:
    """A number given as a 0-d array or tensor, as a plain number."""
    value = from_torch(value)
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value.item()
    return value


def _short(value: Any) -> str:
    """A repr that stays one short line, even for a 400-digit integer."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and abs(int(value)) > 10**20:
        return f"an integer of {len(str(abs(int(value))))} digits"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


_TOO_LARGE = "beyond float64's range (largest magnitude about 1.8e308)"


def _entry_as_float(entry: Any, name: str) -> float:
    """One entry of an object array (an int, Fraction, sympy number...) as a float, or a clear error."""
    if isinstance(entry, numbers.Complex) and not isinstance(entry, numbers.Real):
        raise TypeError(f"{name} is complex (it holds {entry!r}); only real matrices are supported here")
    if isinstance(entry, (str, bytes)) or entry is None:
        raise TypeError(
            f"{name} must be array_like of real numbers; it holds entries that are not "
            "numbers (strings, None or ragged rows?)"
        )
    try:
        value = float(entry)
    except OverflowError:
        raise ValueError(f"{name} holds {_short(entry)}, {_TOO_LARGE}") from None
    except (TypeError, ValueError):
        if getattr(entry, "is_real", None) is False or hasattr(entry, "imag"):
            raise TypeError(
                f"{name} is complex (it holds {entry}); only real matrices are supported here"
            ) from None
        raise TypeError(
            f"{name} must be array_like of real numbers; it holds entries that are not "
            "numbers (strings, None or ragged rows?)"
        ) from None
    if np.isinf(value) and abs(entry) != math.inf:  # a finite number too large for float64
        raise ValueError(f"{name} holds {_short(entry)}, {_TOO_LARGE}")
    return value


def _to_array(value: Any, name: str) -> np.ndarray:
    """Turn array_like (a tensor too) into an ndarray, refusing what is not real numbers."""
    value = from_torch(value)
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be array_like of real numbers, got a string {value!r}")
    if isinstance(value, (list, tuple)):  # a list of tensors (rows, or numbers): read each
        value = [from_torch(item) for item in value]
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as exc:  # ragged lists and the like
        raise TypeError(f"{name} must be array_like of real numbers: {exc}") from None
    if arr.dtype == object:
        # Fractions, big ints and sympy numbers are fine; None, strings, complex are not.
        flat = [_entry_as_float(entry, name) for entry in arr.flat]
        return np.array(flat, dtype=np.float64).reshape(arr.shape)
    if arr.dtype.kind == "c":
        raise TypeError(
            f"{name} is complex ({arr.dtype}); only real matrices are supported here"
        )
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be array_like of real numbers, got dtype {arr.dtype}")
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
    with np.errstate(over="ignore"):
        out = np.array(arr, dtype=np.float64, copy=True)
    if not np.all(np.isfinite(out)):
        if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} contains NaN or inf; clean the input first")
        raise ValueError(f"{name} holds a number {_TOO_LARGE}")  # a float128 or an object entry
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


def _exact_entry(x: Any, name: str) -> Any:
    """One matrix entry as an exact sympy number (floats become sympy Floats)."""
    if isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must hold real numbers, got a string {x!r}")
    if isinstance(x, (bool, np.bool_, numbers.Integral)):
        return sympy.Integer(int(x))
    if isinstance(x, Fraction):
        return sympy.Rational(x.numerator, x.denominator)
    if isinstance(x, sympy.Basic):
        if not x.is_number:
            raise TypeError(f"{name} must hold numbers, got the symbolic entry {x}")
        if x.has(sympy.nan, sympy.oo, -sympy.oo, sympy.zoo):
            raise ValueError(f"{name} contains NaN or infinity ({x}); clean the input first")
        if x.is_real is False:
            raise TypeError(f"{name} has the complex entry {x}; only real matrices are supported here")
        return x
    if isinstance(x, numbers.Real):
        value = float(x)
        if not np.isfinite(value):
            raise ValueError(f"{name} contains NaN or inf; clean the input first")
        return sympy.Float(value)
    if isinstance(x, numbers.Complex):
        raise TypeError(f"{name} has the complex entry {x!r}; only real matrices are supported here")
    raise TypeError(f"{name} must hold real numbers, got {type(x).__name__} {_short(x)}")


def as_exact_square_matrix(A: Any, name: str = "A") -> sympy.Matrix:
    """A square sympy Matrix of exact entries: integers, Fractions and sympy numbers stay exact.

    Floats become sympy Floats (53-bit binary numbers, exact for the value
    given); the other checks are those of :func:`as_square_matrix`.

    Examples
    --------
    >>> from fractions import Fraction
    >>> as_exact_square_matrix([[1, Fraction(1, 2)], [0, 2.5]])
    Matrix([
    [1, 1/2],
    [0, 2.5]])
    """
    A = from_torch(A)
    if isinstance(A, (str, bytes)):
        raise TypeError(f"{name} must be array_like of real numbers, got a string {A!r}")
    if isinstance(A, sympy.MatrixBase):
        A = A.tolist()
    try:
        arr = np.array(A, dtype=object)
    except (ValueError, TypeError) as exc:  # ragged lists and the like
        raise TypeError(f"{name} must be array_like of real numbers: {exc}") from None
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got an array with shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}); give at least one entry")
    if arr.shape[0] != arr.shape[1]:
        raise ValueError(f"{name} must be square, got shape {arr.shape}")
    return sympy.Matrix([[_exact_entry(entry, name) for entry in row] for row in arr])


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
    value = _scalar(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {_short(value)}")
    value = int(value)
    if maximum is not None and not minimum <= value <= maximum:
        raise ValueError(f"{name} must be an integer in [{minimum}, {maximum}], got {_short(value)}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {_short(value)}")
    return value


def check_real(value: Any, name: str, *, minimum: float | None = None, strict: bool = False) -> float:
    """A finite real number as a float; ``>= minimum`` (``> minimum`` if ``strict``) when given.

    Every scalar argument of the book (a tolerance, a shift, an angle, a gain,
    a threshold) goes through here, so they all fail with the same words.

    Examples
    --------
    >>> check_real(2, "shift")
    2.0
    >>> check_real(float("nan"), "shift")
    Traceback (most recent call last):
        ...
    ValueError: shift must be a finite real number, got nan
    >>> check_real(10**400, "shift")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    ValueError: shift must be a finite real number, got an integer of 401 digits, beyond float64's range ...
    >>> check_real(0, "gain", minimum=0, strict=True)
    Traceback (most recent call last):
        ...
    ValueError: gain must be a finite number > 0, got 0.0
    """
    value = _scalar(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {_short(value)}")
    try:
        x = float(value)
    except OverflowError:
        x = math.inf
    bound = "" if minimum is None else f"{'>' if strict else '>='} {minimum:g}"
    wanted = f"{name} must be a finite {'number ' + bound if bound else 'real number'}"
    if math.isinf(x) and abs(value) != math.inf:  # a finite Fraction or int too large for float64
        raise ValueError(f"{wanted}, got {_short(value)}, {_TOO_LARGE}")
    if not math.isfinite(x):
        raise ValueError(f"{wanted}, got {x}")
    if minimum is not None and (x < minimum or (strict and x == minimum)):
        raise ValueError(f"{name} must be a finite number {bound}, got {x}")
    return x


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
    return check_real(value, name, minimum=0)


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
    return check_real(value, name, minimum=0, strict=True)


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
        raise ValueError(f"unknown {name} {_short(value)}; choose one of {listed}")
    return value


def check_seed(seed: Any, name: str = "seed") -> np.random.Generator:
    """A NumPy random Generator from ``seed``: an integer >= 0, a Generator (used as is) or None.

    ``None`` draws fresh entropy from the operating system; the same integer
    always gives the same stream.  A Generator is returned itself, so its
    state advances: pass one Generator to several calls to chain them.

    Examples
    --------
    >>> check_seed(0).standard_normal(2).round(4)
    array([ 0.1257, -0.1321])
    >>> check_seed(-1)
    Traceback (most recent call last):
        ...
    ValueError: seed must be an integer >= 0, got -1
    """
    if seed is None or isinstance(seed, np.random.Generator):
        return np.random.default_rng(seed)
    seed = _scalar(seed)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(
            f"{name} must be an integer >= 0, a numpy.random.Generator or None, "
            f"got {type(seed).__name__} {_short(seed)}"
        )
    if seed < 0:
        raise ValueError(f"{name} must be an integer >= 0, got {_short(seed)}")
    return np.random.default_rng(int(seed))


def _physical_memory() -> float:
    """This machine's memory in bytes (inf where the system does not say)."""
    try:
        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, OSError, ValueError):
        return math.inf


def check_memory(nbytes: float, name: str, value: Any, what: str) -> None:
    """Refuse ``name=value`` when the arrays it asks for (``nbytes``) exceed this machine's memory.

    NumPy would otherwise fail inside ``numpy.empty`` with a message that
    names no argument, or the machine would start swapping.

    Examples
    --------
    >>> check_memory(8 * 2**62, "steps", 2**62, "the norms")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    ValueError: steps=4611686018427387904 needs about 3.7e+19 bytes for the norms, more than ...
    """
    available = _physical_memory()
    if nbytes > available:
        needed = f"about {nbytes:.2g}" if nbytes < 1e300 else "over 1e300"  # nbytes may be a huge int
        raise ValueError(
            f"{name}={_short(value)} needs {needed} bytes for {what}, more than this "
            f"machine's {available:.2g} bytes of memory; choose a smaller {name}"
        )


class RNNArguments(NamedTuple):
    """The checked arguments of a vanilla RNN run, :math:`a_t = W_{hh} h_{t-1} + W_{ih} x_t + b`."""

    W_hh: np.ndarray  #: (n, n)
    X: np.ndarray  #: (T, d), row t-1 is x_t; width d = 0 when there is no input
    W_xh: np.ndarray  #: (n, d); the identity when inputs come without W_xh
    b: np.ndarray  #: (n,); zeros by default
    h0: np.ndarray  #: (n,); zeros by default


def check_rnn(
    W_hh: Any,
    inputs: Any,
    h0: Any,
    *,
    W_xh: Any,
    b: Any,
    steps: Any,
    keep_jacobians: Any,
) -> RNNArguments:
    """The arguments of :func:`linalg_rnn.dynamics.bptt_jacobian_norms`, checked and with defaults filled in.

    No input is an input of width 0; inputs without ``W_xh`` are added to
    :math:`a_t` as they are (``W_xh`` is the identity); ``h0`` and ``b``
    default to zeros.  So the caller can always compute
    ``X @ W_xh.T + b`` and run the loop.

    Examples
    --------
    >>> args = check_rnn(np.eye(2), None, None, W_xh=None, b=None, steps=3, keep_jacobians=False)
    >>> args.X.shape, args.W_xh.shape, args.h0
    ((3, 0), (2, 0), array([0., 0.]))
    >>> check_rnn(np.eye(2), None, None, W_xh=None, b=None, steps=None, keep_jacobians=False)
    Traceback (most recent call last):
        ...
    ValueError: give inputs (shape (T, d)) or steps (the number of steps T)
    """
    W_hh = as_square_matrix(W_hh, "W_hh")
    n = W_hh.shape[0]
    keep_jacobians = check_bool(keep_jacobians, "keep_jacobians")
    if steps is not None:
        steps = check_int(steps, "steps", minimum=1)
    if inputs is None:
        if W_xh is not None:
            raise ValueError("W_xh was given without inputs; pass inputs (shape (T, d)) too")
        if steps is None:
            raise ValueError("give inputs (shape (T, d)) or steps (the number of steps T)")
        X, W_xh = np.zeros((0, 0)), np.zeros((n, 0))
        T = steps
    else:
        X = as_matrix(inputs, "inputs")
        T = X.shape[0]
        if steps is not None and steps != T:
            raise ValueError(f"steps={steps} disagrees with inputs, which has {T} rows (one per step)")
        if W_xh is None:
            if X.shape[1] != n:
                raise ValueError(
                    f"inputs has {X.shape[1]} columns but W_hh is {n} x {n}; without W_xh the "
                    f"inputs are added to a_t directly, so give shape ({T}, {n}) or pass W_xh"
                )
            W_xh = np.eye(n)
        else:
            W_xh = as_matrix(W_xh, "W_xh")
            if W_xh.shape != (n, X.shape[1]):
                raise ValueError(
                    f"W_xh must have shape ({n}, {X.shape[1]}) to map inputs of width "
                    f"{X.shape[1]} to the hidden size {n}, got {W_xh.shape}"
                )
    h0 = np.zeros(n) if h0 is None else as_vector(h0, "h0", size=n)
    b = np.zeros(n) if b is None else as_vector(b, "b", size=n)
    # states, f'(a_t) and the drive: 3 (T + 1) n floats; the Jacobians (T + 1) n^2 more
    per_step = 8 * (3 * n + (n * n if keep_jacobians else 0))
    check_memory(per_step * (T + 1), "steps" if inputs is None else "inputs", T, "the states of every step")
    if inputs is None:
        X = np.zeros((T, 0))
    return RNNArguments(W_hh, X, W_xh, b, h0)
