"""Spectral radius, matrix powers through the eigendecomposition, and Fibonacci numbers (lesson 03)."""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np

from .._scaling import ldexp, scaled
from .._validation import as_square_matrix, check_choice, check_int, check_memory

__all__ = ["fibonacci", "matrix_power_eig", "spectral_radius"]


def spectral_radius(A: Any) -> float:
    """The spectral radius :math:`\\rho(A) = \\max_j |\\lambda_j|`.

    Parameters
    ----------
    A : array_like, shape (n, n)
        A real square matrix.

    Returns
    -------
    float
        The largest eigenvalue magnitude (complex eigenvalues count by modulus).

    Raises
    ------
    ValueError
        If ``A`` is not square, is empty or holds NaN/inf.
    TypeError
        If ``A`` holds strings or complex numbers.

    Notes
    -----
    :math:`\\rho(A)` decides the fate of a repeated product:
    :math:`\\|A^t\\|^{1/t} \\to \\rho(A)` (Gelfand's formula), so :math:`A^t`
    vanishes when :math:`\\rho(A) < 1` and blows up when :math:`\\rho(A) > 1`.
    At :math:`\\rho(A) = 1` it stays bounded for a diagonalizable ``A`` (an
    orthogonal matrix has :math:`\\|A^t\\|_2 = 1`).  The eigenvalues come from
    LAPACK (:func:`numpy.linalg.eigvals`) applied to :math:`2^{-e}A`, whose
    largest entry is in :math:`[1/2, 1)`, and :math:`\\rho` is scaled back
    exactly: :math:`\\rho(2^kA) = 2^k\\rho(A)` to the last bit, at every
    representable scale.  Taught in lesson 03.

    See Also
    --------
    power_iteration : Finds the dominant eigenvalue by multiplication alone.

    Examples
    --------
    >>> spectral_radius([[0, -2], [2, 0]])  # eigenvalues +-2i
    2.0
    >>> spectral_radius([[0.5, 0], [0, -0.9]])
    0.9
    """
    A, e = scaled(as_square_matrix(A, "A"))
    return float(ldexp(np.max(np.abs(np.linalg.eigvals(A))), e))


def matrix_power_eig(A: Any, k: int) -> np.ndarray:
    """:math:`A^k` through the eigendecomposition :math:`A = V \\Lambda V^{-1}`.

    Parameters
    ----------
    A : array_like, shape (n, n)
        A real, diagonalizable square matrix.
    k : int
        The power, an integer from 0 to :math:`2^{63} - 1`.

    Returns
    -------
    numpy.ndarray, shape (n, n)
        :math:`V \\Lambda^k V^{-1}`.  It is real (float64) when ``A`` is real:
        complex eigenvalues of a real matrix come in conjugate pairs, so the
        imaginary parts cancel up to rounding, and the rounding is dropped.
        ``A**0`` is the identity.  Entries beyond float64 are ``inf`` (or
        NaN where two overflowing terms of opposite sign meet, as in
        :func:`numpy.linalg.matrix_power`).

    Raises
    ------
    ValueError
        If ``A`` is not square, is empty or holds NaN/inf, or ``k`` is negative.
    TypeError
        If ``A`` holds strings or complex numbers, or ``k`` is not an integer.
    numpy.linalg.LinAlgError
        If ``A`` is not diagonalizable to working precision (its eigenvector
        matrix :math:`V` has condition number above :math:`10^{-3}/\\varepsilon`),
        such as the Jordan block ``[[1, 1], [0, 1]]``.

    Notes
    -----
    From :math:`A = V\\Lambda V^{-1}`,
    :math:`A^k = V\\Lambda V^{-1} V\\Lambda V^{-1}\\cdots = V \\Lambda^k V^{-1}`:
    the :math:`k` products collapse into :math:`k`-th powers of the
    eigenvalues.  The cost is one eigendecomposition, whatever :math:`k`; the
    price is accuracy, since rounding errors are amplified by the condition
    number of :math:`V` and relative errors in :math:`\\lambda_j` grow by a
    factor :math:`k` in :math:`\\lambda_j^k`.  A matrix without a full set of
    eigenvectors (defective) has no such decomposition; use
    :func:`numpy.linalg.matrix_power` for it.

    When :math:`\\lambda_j^k` overflows, the product is formed again as
    :math:`(V\\Lambda^{\\lfloor k/2 \\rfloor})(\\Lambda^{\\lceil k/2 \\rceil} V^{-1})`:
    each factor carries half the growth, so no intermediate overflows while
    the result is representable (:math:`\\varphi^{1476}` overflows, but
    :math:`F_{1476}`, an entry of :math:`F^{1476}`, does not).  Taught in
    lesson 03.

    See Also
    --------
    numpy.linalg.matrix_power : :math:`A^k` by repeated squaring.
    fibonacci : Fibonacci numbers as entries of a matrix power.

    Examples
    --------
    >>> import numpy as np
    >>> F = [[1, 1], [1, 0]]
    >>> matrix_power_eig(F, 10).round(6)
    array([[89., 55.],
           [55., 34.]])
    >>> quarter_turn = [[0, -1], [1, 0]]  # eigenvalues +-i
    >>> np.allclose(matrix_power_eig(quarter_turn, 2), -np.eye(2))
    True
    """
    A = as_square_matrix(A, "A")
    k = check_int(k, "k", maximum=np.iinfo(np.int64).max)
    lam, V = np.linalg.eig(A)
    kappa = np.linalg.cond(V)
    if not np.isfinite(kappa) or kappa > 1e-3 / np.finfo(float).eps:
        raise np.linalg.LinAlgError(
            f"A is not diagonalizable to working precision (its eigenvector matrix has condition "
            f"number {kappa:.2g}); use numpy.linalg.matrix_power, which needs no eigenvectors"
        )
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        Ak = (V * lam**k) @ np.linalg.inv(V)  # V diag(lam**k) V^{-1}
        if not np.all(np.isfinite(Ak)):  # lam**k overflowed: split it in two halves
            half = k // 2
            Ak = (V * lam**half) @ (lam[:, None] ** (k - half) * np.linalg.inv(V))
    return np.real(Ak) if np.iscomplexobj(Ak) else Ak


# ---------------------------------------------------------------------------
# Fibonacci numbers three ways
# ---------------------------------------------------------------------------


_SQRT5 = math.sqrt(5.0)
_PHI, _PSI = (1 + _SQRT5) / 2, (1 - _SQRT5) / 2

#: The last n with F_n ~ phi^n / sqrt(5) inside float64: 1476.
_LAST_FLOAT_FIBONACCI = int((math.log(sys.float_info.max) + math.log(_SQRT5)) / math.log(_PHI))


def _mat2_mul(X: tuple[int, int, int, int], Y: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """The product of two 2x2 integer matrices stored as (a, b, c, d) = [[a, b], [c, d]]."""
    a, b, c, d = X
    e, f, g, h = Y
    return (a * e + b * g, a * f + b * h, c * e + d * g, c * f + d * h)


def fibonacci(n: int, method: str = "matrix") -> int | float:
    """The Fibonacci number :math:`F_n` (:math:`F_0 = 0, F_1 = 1`), computed three ways.

    Parameters
    ----------
    n : int
        The index, a non-negative integer.
    method : {"matrix", "eig", "binet"}, default "matrix"
        ``"matrix"``: exact, with Python integers, by repeated squaring of
        :math:`F = \\begin{pmatrix} 1 & 1 \\\\ 1 & 0 \\end{pmatrix}`.
        ``"eig"``: float64, the entry of :math:`V\\Lambda^n V^{-1}` from
        :func:`matrix_power_eig`.
        ``"binet"``: float64, Binet's closed form.

    Returns
    -------
    int or float
        An ``int`` for ``"matrix"`` (exact for every ``n``); for ``"eig"`` and
        ``"binet"`` a ``float`` rounded to the nearest whole number.  The float
        methods lose exactness in the 70s (float64 has 53 bits, and
        :math:`F_n` outgrows them) and are ``inf`` past ``n = 1476``
        (:math:`F_{1476} \\approx 1.3 \\times 10^{308}` is the largest
        Fibonacci number in float64's range).

    Raises
    ------
    ValueError
        If ``n`` is negative or ``method`` is unknown, or ``"matrix"`` is
        asked for an :math:`F_n` that would not fit in this machine's memory.
    TypeError
        If ``n`` is not an integer.

    Notes
    -----
    :math:`F^n = \\begin{pmatrix} F_{n+1} & F_n \\\\ F_n & F_{n-1} \\end{pmatrix}`.
    Repeated squaring computes :math:`F^n` from :math:`F^{2^j}` in
    :math:`O(\\log n)` 2x2 products.  The eigenvalues of :math:`F` are the
    golden ratio :math:`\\varphi = (1+\\sqrt 5)/2` and
    :math:`\\psi = (1-\\sqrt 5)/2 = -1/\\varphi`, which gives Binet's formula

    .. math:: F_n = \\frac{\\varphi^n - \\psi^n}{\\sqrt 5},

    :math:`O(1)` operations.  Since :math:`|\\psi| < 1`, :math:`F_n` is the
    integer nearest :math:`\\varphi^n/\\sqrt 5`, and :math:`F_{n+1}/F_n \\to \\varphi`:
    the dominant eigenvalue takes over.  :math:`\\varphi^{1475}` and
    :math:`\\varphi^{1476}` overflow although :math:`F_{1475}` and
    :math:`F_{1476}` do not; there Binet's power is taken in two halves,
    :math:`(\\varphi^{n/2}/\\sqrt 5)\\,\\varphi^{n/2}`.  Taught in lesson 03.

    See Also
    --------
    matrix_power_eig : The ``"eig"`` method's engine.

    Examples
    --------
    >>> [fibonacci(n) for n in range(10)]
    [0, 1, 1, 2, 3, 5, 8, 13, 21, 34]
    >>> fibonacci(100)
    354224848179261915075
    >>> fibonacci(30, method="binet"), fibonacci(30, method="eig")
    (832040.0, 832040.0)
    >>> abs(fibonacci(1476, method="binet") / fibonacci(1476) - 1) < 1e-12, fibonacci(1477, method="binet")
    (True, inf)
    """
    n = check_int(n, "n")
    method = check_choice(method, "method", ["matrix", "eig", "binet"])
    if method == "matrix":
        # F_n has n log2(phi) = 0.69 n bits; a few such integers live at once
        check_memory(3 * n // 2, "n", n, "the exact integers of F^n")
        result = (1, 0, 0, 1)  # F^0 = I
        power = (1, 1, 1, 0)  # F^(2^j), starting at j = 0
        m = n
        while m:
            # Binary digits of n: multiply in F^(2^j) where the digit is 1.
            if m & 1:
                result = _mat2_mul(result, power)
            # Square: F^(2^j) -> F^(2^(j+1)), so only log2(n) squarings are needed.
            power = _mat2_mul(power, power)
            m >>= 1
        return result[1]
    if n > _LAST_FLOAT_FIBONACCI:
        return math.inf  # F_n is beyond float64: no need to compute it
    with np.errstate(over="ignore", invalid="ignore"):
        if method == "eig":
            value = matrix_power_eig([[1, 1], [1, 0]], n)[0, 1]
        else:
            value = (np.float64(_PHI) ** n - np.float64(_PSI) ** n) / _SQRT5
            if np.isinf(value):  # phi^n overflowed, F_n did not: take the power in two halves
                half = np.float64(_PHI) ** (n / 2)
                value = (half / _SQRT5) * half  # psi^n < 1e-300 here, far below rounding
    return float(np.round(value)) + 0.0  # + 0.0 turns a rounded -0.0 into 0.0
