"""Eigenvalues: why repeated products explode, vanish or settle.

Part I of the course.  An eigenpair of a square matrix :math:`A` is a number
:math:`\\lambda` and a nonzero vector :math:`x` with :math:`Ax = \\lambda x`:
along :math:`x`, the matrix only stretches.  Multiply by :math:`A` again and
again and every eigen-direction is stretched by :math:`\\lambda^k`, which is
the whole story of exploding and vanishing products.

This module holds the teaching versions of the tools:

* exact eigenvalues from the characteristic polynomial, with sympy
  (:func:`characteristic_polynomial`, :func:`eigenvalues_exact`);
* the three classic iterations of Trefethen & Bau, Lecture 27
  (:func:`power_iteration`, :func:`inverse_iteration`,
  :func:`rayleigh_quotient_iteration`), each returning an :class:`EigenResult`
  with its full history so the convergence rate can be measured;
* matrix powers through the eigendecomposition and Fibonacci numbers three
  ways (:func:`matrix_power_eig`, :func:`fibonacci`).

Book symbols: ``A`` is :math:`A`, ``v`` the current unit vector
:math:`v^{(k)}`, ``w`` the unnormalized next vector, ``lam`` the estimate
:math:`\\lambda^{(k)}`, ``mu`` a fixed shift :math:`\\mu`.
"""

from __future__ import annotations

import numbers
import warnings
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import scipy.linalg
import sympy

from ._validation import (
    ConvergenceWarning,
    as_square_matrix,
    as_vector,
    check_choice,
    check_int,
    check_tol,
)

__all__ = [
    "EigenResult",
    "characteristic_polynomial",
    "eigenvalues_exact",
    "fibonacci",
    "inverse_iteration",
    "matrix_power_eig",
    "power_iteration",
    "rayleigh_quotient",
    "rayleigh_quotient_iteration",
    "spectral_radius",
]

LAMBDA = sympy.Symbol("lambda")
"""The sympy symbol :math:`\\lambda` used by :func:`characteristic_polynomial`."""


# ---------------------------------------------------------------------------
# Exact eigenvalues (sympy)
# ---------------------------------------------------------------------------


def _exact_entry(x: Any, name: str) -> sympy.Expr:
    """One matrix entry as an exact sympy number (floats stay sympy Floats)."""
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
    raise TypeError(f"{name} must hold real numbers, got {type(x).__name__} {x!r}")


def _as_exact_square_matrix(A: Any, name: str = "A") -> sympy.Matrix:
    """A square sympy Matrix of exact entries, with the input contract's checks."""
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
    rows = [[_exact_entry(arr[i, j], name) for j in range(arr.shape[1])] for i in range(arr.shape[0])]
    return sympy.Matrix(rows)


def characteristic_polynomial(A: Any) -> sympy.Expr:
    """The characteristic polynomial :math:`\\det(A - \\lambda I)`, exactly.

    Parameters
    ----------
    A : array_like or sympy.Matrix, shape (n, n)
        A real square matrix.  Integers, :class:`fractions.Fraction` and sympy
        numbers (such as ``sympy.sqrt(2)/2``) stay exact; floats become sympy
        Floats, so the result then has floating-point coefficients.

    Returns
    -------
    sympy.Expr
        The expanded polynomial in the symbol ``lambda`` (:math:`\\lambda`).
        Its leading coefficient is :math:`(-1)^n`.

    Raises
    ------
    ValueError
        If ``A`` is not 2-D, not square, empty, or holds NaN or infinity.
    TypeError
        If ``A`` holds strings, complex numbers or symbols.

    Notes
    -----
    :math:`\\lambda` is an eigenvalue exactly when :math:`A - \\lambda I` is
    singular, that is when

    .. math:: p(\\lambda) = \\det(A - \\lambda I) = 0 .

    The determinant is expanded symbolically (Berkowitz's division-free
    algorithm), which is fine for the small matrices of a lesson and hopeless
    for large ones: numerical eigenvalue solvers never form :math:`p` (its
    roots are badly conditioned functions of its coefficients; see Trefethen &
    Bau, Lecture 25).  Taught in lesson 01.

    See Also
    --------
    eigenvalues_exact : The roots of this polynomial with their multiplicities.

    Examples
    --------
    >>> characteristic_polynomial([[1, 1], [1, 1]])
    lambda**2 - 2*lambda
    >>> import sympy
    >>> r = sympy.sqrt(2) / 2
    >>> characteristic_polynomial([[r, -r], [-r, -r]])
    lambda**2 - 1
    """
    M = _as_exact_square_matrix(A, "A")
    n = M.shape[0]
    p = (M - LAMBDA * sympy.eye(n)).det(method="berkowitz")
    return sympy.expand(p)


def _numeric_sort_key(z: sympy.Expr) -> tuple[float, float]:
    value = complex(sympy.N(z))
    return (value.real, value.imag)


def eigenvalues_exact(A: Any) -> dict[sympy.Expr, int]:
    """The eigenvalues of ``A`` as exact sympy numbers, with their multiplicities.

    Parameters
    ----------
    A : array_like or sympy.Matrix, shape (n, n)
        A real square matrix; entries as for :func:`characteristic_polynomial`.

    Returns
    -------
    dict
        ``{eigenvalue: algebraic multiplicity}``, sorted by real part and then
        imaginary part.  The multiplicities add up to ``n``.  Complex
        eigenvalues of a real matrix come as conjugate pairs (they contain
        ``sympy.I``); roots with no closed form come as ``sympy.CRootOf``.

    Raises
    ------
    ValueError
        If ``A`` is not 2-D, not square, empty, or holds NaN or infinity.
    TypeError
        If ``A`` holds strings, complex numbers or symbols.

    Notes
    -----
    The roots of :math:`\\det(A - \\lambda I)`, found by sympy.  A root of
    multiplicity :math:`m` appears once with the value :math:`m`.  When ``A``
    holds floats the roots are computed numerically from float coefficients.
    Taught in lesson 01.

    See Also
    --------
    characteristic_polynomial : The polynomial whose roots these are.
    numpy.linalg.eigvals : Floating-point eigenvalues, for any size.

    Examples
    --------
    >>> eigenvalues_exact([[1, 1], [1, 1]])
    {0: 1, 2: 1}
    >>> eigenvalues_exact([[2, 0], [0, 2]])
    {2: 2}
    >>> eigenvalues_exact([[0, -1], [1, 0]])
    {-I: 1, I: 1}
    """
    p = characteristic_polynomial(A)
    n = sympy.Poly(p, LAMBDA).degree()
    poly = sympy.Poly(p, LAMBDA)
    found = sympy.roots(poly)
    if sum(found.values()) < n:
        # No closed form for some roots: fall back to exact CRootOf objects,
        # or to numerical roots when the coefficients are not rational.
        try:
            found = dict(Counter(poly.all_roots()))
        except (sympy.polys.polyerrors.PolynomialError, NotImplementedError):
            found = dict(Counter(poly.nroots(n=30)))
    return {z: found[z] for z in sorted(found, key=_numeric_sort_key)}


# ---------------------------------------------------------------------------
# The three iterations of Trefethen & Bau, Lecture 27
# ---------------------------------------------------------------------------


@dataclass(repr=False)
class EigenResult:
    """One eigenpair found by an iteration, with how it got there.

    Attributes
    ----------
    eigenvalue : float
        The final estimate :math:`\\lambda^{(k)} = v^T A v`, the Rayleigh
        quotient of the final vector.
    eigenvector : numpy.ndarray, shape (n,)
        The final unit vector :math:`v^{(k)}`, signed so that its entry of
        largest magnitude is positive.
    iterations : int
        How many steps ran: matrix-vector products for
        :func:`power_iteration`, linear solves for :func:`inverse_iteration`
        and :func:`rayleigh_quotient_iteration`.
    converged : bool
        Whether :math:`\\|Av - \\lambda v\\|_2 \\le \\mathrm{tol}\\cdot\\max(1, |\\lambda|)`
        was reached within ``max_iter`` steps.
    history : dict of numpy.ndarray
        ``history["eigenvalue"][k]`` is :math:`\\lambda^{(k)}` and
        ``history["residual"][k]`` is :math:`\\|Av^{(k)} - \\lambda^{(k)} v^{(k)}\\|_2`,
        for :math:`k = 0, 1, \\dots,` ``iterations``.  Entry 0 belongs to the
        start vector, so the indices match the book's superscripts and each
        array has ``iterations + 1`` entries.
    """

    eigenvalue: float
    eigenvector: np.ndarray
    iterations: int
    converged: bool
    history: dict[str, np.ndarray]

    def __repr__(self) -> str:
        n = self.eigenvector.shape[0]
        if n <= 6:
            vector = np.array2string(self.eigenvector, precision=4, suppress_small=True, separator=", ")
        else:
            vector = f"<array of shape ({n},)>"
        steps = len(self.history.get("eigenvalue", ()))
        return (
            f"EigenResult(eigenvalue={self.eigenvalue:.10g}, eigenvector={vector}, "
            f"iterations={self.iterations}, converged={self.converged}, "
            f"history=<eigenvalue, residual: {steps} entries>)"
        )


def _start_vector(x0: Any, n: int, seed: Any) -> np.ndarray:
    """A unit start vector: ``x0`` normalized, or a seeded Gaussian one."""
    if x0 is None:
        if seed is not None and not isinstance(seed, np.random.Generator):
            seed = check_int(seed, "seed")
        x = np.random.default_rng(seed).standard_normal(n)
    else:
        x = as_vector(x0, "x0", size=n)
    norm = np.linalg.norm(x)
    if norm == 0:
        raise ValueError("x0 is the zero vector, which is no direction at all; give a nonzero start vector")
    return x / norm


def _check_shift(shift: Any) -> float:
    if isinstance(shift, bool) or not isinstance(shift, numbers.Real):
        raise TypeError(f"shift must be a real number, got {type(shift).__name__} {shift!r}")
    shift = float(shift)
    if not np.isfinite(shift):
        raise ValueError(f"shift must be finite, got {shift}")
    return shift


def _is_converged(residual: float, lam: float, tol: float) -> bool:
    return residual <= tol * max(1.0, abs(lam))


def _null_vector(B: np.ndarray) -> np.ndarray:
    """A unit vector with ``B @ v`` as small as possible: the last right singular vector."""
    return np.linalg.svd(B)[2][-1]


def _signed(v: np.ndarray) -> np.ndarray:
    """``v`` or ``-v``, whichever has its entry of largest magnitude positive."""
    v = v if v[np.argmax(np.abs(v))] >= 0 else -v
    return v + 0.0  # turns -0.0 into 0.0 for tidy printing


def _finish(
    name: str,
    lam: float,
    v: np.ndarray,
    k: int,
    converged: bool,
    lams: list[float],
    residuals: list[float],
    hint: str,
) -> EigenResult:
    """Pack the result, and warn (not raise) when the tolerance was not met."""
    if not converged:
        warnings.warn(
            f"{name} did not converge in {k} iterations (last residual {residuals[-1]:.3g}); {hint}",
            ConvergenceWarning,
            stacklevel=3,
        )
    history = {"eigenvalue": np.array(lams), "residual": np.array(residuals)}
    return EigenResult(float(lam), _signed(v), k, bool(converged), history)


def power_iteration(
    A: Any,
    x0: Any = None,
    *,
    tol: float = 1e-10,
    max_iter: int = 1000,
    seed: int | np.random.Generator | None = None,
) -> EigenResult:
    """The dominant eigenpair of ``A`` by repeated multiplication (power iteration).

    Parameters
    ----------
    A : array_like, shape (n, n)
        A real square matrix (integers are promoted to float64).
    x0 : array_like, shape (n,), optional
        The start vector; it need not be normalized but must be nonzero.
        Default: a Gaussian random vector drawn with ``seed``.
    tol : float, default 1e-10
        Stop when :math:`\\|Av - \\lambda v\\|_2 \\le \\mathrm{tol}\\cdot\\max(1, |\\lambda|)`.
    max_iter : int, default 1000
        The most matrix-vector products to try (at least 1).
    seed : int or numpy.random.Generator, optional
        Seeds the random start vector when ``x0`` is not given.

    Returns
    -------
    EigenResult
        The eigenvalue of largest magnitude, its unit eigenvector, the step
        count, the convergence flag and the history of estimates and residuals.

    Raises
    ------
    ValueError
        If ``A`` is not square, is empty or holds NaN/inf; if ``x0`` has the
        wrong length or is zero; if ``tol`` is negative or ``max_iter`` < 1.
    TypeError
        If ``A`` or ``x0`` hold strings or complex numbers, or ``max_iter`` is
        not an integer.

    Warns
    -----
    ConvergenceWarning
        When ``max_iter`` steps did not reach the tolerance.  This happens when
        no single eigenvalue dominates in magnitude: :math:`\\lambda_1 = -\\lambda_2`,
        or a complex-conjugate dominant pair.  The result is still returned,
        with ``converged=False``.

    Notes
    -----
    Algorithm 27.1 of Trefethen & Bau: from a unit :math:`v^{(0)}`, repeat
    :math:`w = Av^{(k-1)}`, :math:`v^{(k)} = w/\\|w\\|`,
    :math:`\\lambda^{(k)} = (v^{(k)})^T A v^{(k)}`.  Writing the start in the
    eigenvector basis, :math:`v^{(0)} = \\sum_j c_j q_j`, gives

    .. math:: A^k v^{(0)} = \\lambda_1^k \\Big(c_1 q_1 + \\sum_{j \\ge 2} c_j
              (\\lambda_j/\\lambda_1)^k q_j\\Big),

    so when :math:`|\\lambda_1| > |\\lambda_2|` and :math:`c_1 \\ne 0` the
    direction error shrinks like :math:`|\\lambda_2/\\lambda_1|^k`.  For
    symmetric ``A`` the eigenvalue error shrinks twice as fast,
    :math:`|\\lambda_2/\\lambda_1|^{2k}`, because the Rayleigh quotient is
    stationary at eigenvectors (Trefethen & Bau, Theorem 27.1).  Each step
    costs one matrix-vector product, :math:`2n^2` flops.  Taught in lesson 02.

    See Also
    --------
    inverse_iteration : Converges to the eigenvalue nearest a shift.
    rayleigh_quotient_iteration : Cubic convergence for symmetric matrices.
    spectral_radius : The largest eigenvalue magnitude, from LAPACK.

    Examples
    --------
    >>> res = power_iteration([[2, 1], [1, 3]], seed=0)
    >>> res.converged, round(res.eigenvalue, 8)
    (True, 3.61803399)
    >>> res.eigenvector.round(4)
    array([0.5257, 0.8507])
    >>> len(res.history["residual"]) == res.iterations + 1
    True
    """
    A = as_square_matrix(A, "A")
    tol = check_tol(tol)
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    v = _start_vector(x0, A.shape[0], seed)

    Av = A @ v
    lam = float(v @ Av)
    residual = float(np.linalg.norm(Av - lam * v))
    lams, residuals = [lam], [residual]
    converged = _is_converged(residual, lam, tol)
    k = 0
    while not converged and k < max_iter:
        k += 1
        # Apply A: every eigen-direction is stretched by its eigenvalue, so the
        # dominant one gains on the others by |lambda_1/lambda_j| each step.
        w = Av
        # Normalize: only the direction matters, and A^k v would overflow or underflow.
        v = w / np.linalg.norm(w)
        # Rayleigh quotient: the best eigenvalue estimate for this direction.
        # (A v is also next step's w, so each step costs one product.)
        Av = A @ v
        lam = float(v @ Av)
        residual = float(np.linalg.norm(Av - lam * v))
        lams.append(lam)
        residuals.append(residual)
        converged = _is_converged(residual, lam, tol)
    return _finish(
        "power_iteration", lam, v, k, converged, lams, residuals,
        "no single eigenvalue may dominate in magnitude (lambda_1 = -lambda_2, or a complex pair), "
        "or the gap |lambda_2/lambda_1| is close to 1: look at result.history",
    )


def inverse_iteration(
    A: Any,
    shift: float,
    x0: Any = None,
    *,
    tol: float = 1e-10,
    max_iter: int = 1000,
    seed: int | np.random.Generator | None = None,
) -> EigenResult:
    """The eigenpair of ``A`` whose eigenvalue is nearest ``shift`` (inverse iteration).

    Parameters
    ----------
    A : array_like, shape (n, n)
        A real square matrix (integers are promoted to float64).
    shift : float
        The shift :math:`\\mu`: a guess of the wanted eigenvalue.
    x0 : array_like, shape (n,), optional
        The start vector, nonzero.  Default: a Gaussian random vector.
    tol : float, default 1e-10
        Stop when :math:`\\|Av - \\lambda v\\|_2 \\le \\mathrm{tol}\\cdot\\max(1, |\\lambda|)`.
    max_iter : int, default 1000
        The most linear solves to try (at least 1).
    seed : int or numpy.random.Generator, optional
        Seeds the random start vector when ``x0`` is not given.

    Returns
    -------
    EigenResult
        The eigenpair nearest the shift, with its history.

    Raises
    ------
    ValueError
        If ``A`` is not square, is empty or holds NaN/inf; if ``shift`` is not
        finite; if ``x0`` has the wrong length or is zero; if ``tol`` is
        negative or ``max_iter`` < 1.
    TypeError
        If ``A``, ``x0`` or ``shift`` are not real numbers, or ``max_iter`` is
        not an integer.

    Warns
    -----
    ConvergenceWarning
        When ``max_iter`` solves did not reach the tolerance, for example when
        the shift is equally far from two eigenvalues.

    Notes
    -----
    Algorithm 27.2 of Trefethen & Bau: power iteration applied to
    :math:`(A - \\mu I)^{-1}`, whose eigenvalues are
    :math:`1/(\\lambda_j - \\mu)`.  The one nearest :math:`\\mu` dominates, and
    the direction error shrinks by
    :math:`|\\lambda_J - \\mu| / |\\lambda_K - \\mu|` per step, where
    :math:`\\lambda_J` is the nearest eigenvalue and :math:`\\lambda_K` the
    second nearest.  A shift close to an eigenvalue makes
    :math:`A - \\mu I` nearly singular; that is harmless, because the error of
    the solve points almost entirely along the wanted eigenvector.  A shift
    that *is* an eigenvalue makes the matrix exactly singular; then the
    eigenvector is its null vector, found here by an SVD, and the iteration
    stops converged after one step.

    :math:`A - \\mu I` is LU-factored once (:math:`\\tfrac{2}{3}n^3` flops);
    each step is then two triangular solves, :math:`2n^2` flops.
    Taught in lesson 02.

    See Also
    --------
    power_iteration : The same loop without the inverse.
    rayleigh_quotient_iteration : Updates the shift every step.

    Examples
    --------
    >>> A = [[2, 1, 1], [1, 3, 1], [1, 1, 4]]
    >>> res = inverse_iteration(A, shift=2.5, x0=[1, 1, 1])
    >>> res.converged, round(res.eigenvalue, 8)
    (True, 2.46081113)
    >>> inverse_iteration([[1, 0], [0, 2]], shift=2).iterations  # an exact eigenvalue
    1
    """
    A = as_square_matrix(A, "A")
    mu = _check_shift(shift)
    tol = check_tol(tol)
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    v = _start_vector(x0, A.shape[0], seed)
    n = A.shape[0]
    B = A - mu * np.eye(n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        lu_piv = scipy.linalg.lu_factor(B, check_finite=False)
    singular = bool(np.any(np.diag(lu_piv[0]) == 0))

    Av = A @ v
    lam = float(v @ Av)
    residual = float(np.linalg.norm(Av - lam * v))
    lams, residuals = [lam], [residual]
    converged = _is_converged(residual, lam, tol)
    k = 0
    while not converged and k < max_iter:
        k += 1
        # Solve (A - mu I) w = v: applies (A - mu I)^{-1}, whose largest
        # eigenvalue 1/(lambda_J - mu) belongs to the eigenvalue nearest mu.
        w = None if singular else scipy.linalg.lu_solve(lu_piv, v, check_finite=False)
        if w is None or not np.all(np.isfinite(w)):
            # mu is an eigenvalue: the solve is impossible, and the null vector
            # of A - mu I is exactly the eigenvector we are after.
            w = _null_vector(B)
        # Normalize: the solve blows the length up by about 1/|lambda_J - mu|.
        v = w / np.linalg.norm(w)
        # Rayleigh quotient: the eigenvalue estimate for this direction.
        Av = A @ v
        lam = float(v @ Av)
        residual = float(np.linalg.norm(Av - lam * v))
        lams.append(lam)
        residuals.append(residual)
        converged = _is_converged(residual, lam, tol)
    return _finish(
        "inverse_iteration", lam, v, k, converged, lams, residuals,
        "the shift may be equally far from two eigenvalues, or nearest a complex pair",
    )


def rayleigh_quotient_iteration(
    A: Any,
    x0: Any = None,
    *,
    tol: float = 1e-10,
    max_iter: int = 1000,
    seed: int | np.random.Generator | None = None,
) -> EigenResult:
    """An eigenpair of ``A`` by inverse iteration with the Rayleigh quotient as shift.

    Parameters
    ----------
    A : array_like, shape (n, n)
        A real square matrix (integers are promoted to float64); the cubic
        rate needs it symmetric.
    x0 : array_like, shape (n,), optional
        The start vector, nonzero.  Default: a Gaussian random vector.  Which
        eigenpair is found depends on it.
    tol : float, default 1e-10
        Stop when :math:`\\|Av - \\lambda v\\|_2 \\le \\mathrm{tol}\\cdot\\max(1, |\\lambda|)`.
    max_iter : int, default 1000
        The most linear solves to try (at least 1).
    seed : int or numpy.random.Generator, optional
        Seeds the random start vector when ``x0`` is not given.

    Returns
    -------
    EigenResult
        An eigenpair (usually the one whose eigenvector is closest to ``x0``)
        with its history; ``history["eigenvalue"][0]`` is the Rayleigh
        quotient of the start vector.

    Raises
    ------
    ValueError
        If ``A`` is not square, is empty or holds NaN/inf; if ``x0`` has the
        wrong length or is zero; if ``tol`` is negative or ``max_iter`` < 1.
    TypeError
        If ``A`` or ``x0`` hold strings or complex numbers, or ``max_iter`` is
        not an integer.

    Warns
    -----
    ConvergenceWarning
        When ``max_iter`` solves did not reach the tolerance (for example a
        nonsymmetric matrix whose nearby eigenvalues are complex: real
        arithmetic cannot reach them).

    Notes
    -----
    Algorithm 27.3 of Trefethen & Bau: :math:`\\lambda^{(0)} = (v^{(0)})^T A v^{(0)}`,
    then repeat: solve :math:`(A - \\lambda^{(k-1)} I) w = v^{(k-1)}`,
    :math:`v^{(k)} = w/\\|w\\|`, :math:`\\lambda^{(k)} = (v^{(k)})^T A v^{(k)}`.
    The better the eigenvalue estimate, the better the shift, and the better
    the next vector: for symmetric ``A`` the errors obey
    :math:`\\|v^{(k+1)} \\mp q_J\\| = O(\\|v^{(k)} \\mp q_J\\|^3)` and
    :math:`|\\lambda^{(k+1)} - \\lambda_J| = O(|\\lambda^{(k)} - \\lambda_J|^3)`
    (Theorem 27.3): the number of correct digits triples every step.  For
    nonsymmetric ``A`` the rate is quadratic.  Each step solves a new
    shifted system, :math:`\\tfrac{2}{3}n^3` flops.  If a shift hits an
    eigenvalue exactly, the system is singular and its null vector (from an
    SVD) is the eigenvector: the iteration then stops converged.
    Taught in lesson 02.

    See Also
    --------
    inverse_iteration : The same loop with a fixed shift.
    rayleigh_quotient : The shift this iteration uses.

    Examples
    --------
    Example 27.1 of Trefethen & Bau:

    >>> import numpy as np
    >>> A = [[2, 1, 1], [1, 3, 1], [1, 1, 4]]
    >>> res = rayleigh_quotient_iteration(A, x0=np.ones(3) / np.sqrt(3))
    >>> res.iterations, res.converged
    (3, True)
    >>> [f"{lam:.10f}" for lam in res.history["eigenvalue"]]
    ['5.0000000000', '5.2131147541', '5.2143197432', '5.2143197434']
    """
    A = as_square_matrix(A, "A")
    tol = check_tol(tol)
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    v = _start_vector(x0, A.shape[0], seed)
    I = np.eye(A.shape[0])

    Av = A @ v
    lam = float(v @ Av)
    residual = float(np.linalg.norm(Av - lam * v))
    lams, residuals = [lam], [residual]
    converged = _is_converged(residual, lam, tol)
    k = 0
    while not converged and k < max_iter:
        k += 1
        # Solve (A - lambda I) w = v: inverse iteration with the newest, best shift,
        # so the nearest eigenvalue dominates more strongly every step.
        B = A - lam * I
        try:
            w = np.linalg.solve(B, v)
        except np.linalg.LinAlgError:
            w = None
        if w is None or not np.all(np.isfinite(w)):
            # The shift is an eigenvalue: the null vector of A - lambda I is its eigenvector.
            w = _null_vector(B)
        # Normalize: only the direction matters, and w can be enormous near convergence.
        v = w / np.linalg.norm(w)
        # Rayleigh quotient: the new estimate, and the next shift.
        Av = A @ v
        lam = float(v @ Av)
        residual = float(np.linalg.norm(Av - lam * v))
        lams.append(lam)
        residuals.append(residual)
        converged = _is_converged(residual, lam, tol)
    return _finish(
        "rayleigh_quotient_iteration", lam, v, k, converged, lams, residuals,
        "A may be nonsymmetric with complex eigenvalues near the start's Rayleigh quotient",
    )


# ---------------------------------------------------------------------------
# Rayleigh quotient, spectral radius, matrix powers
# ---------------------------------------------------------------------------


def rayleigh_quotient(A: Any, x: Any) -> float:
    """The Rayleigh quotient :math:`r(x) = x^T A x / x^T x`.

    Parameters
    ----------
    A : array_like, shape (n, n)
        A real square matrix.
    x : array_like, shape (n,)
        A nonzero real vector.

    Returns
    -------
    float
        The scalar :math:`\\alpha` that minimizes :math:`\\|Ax - \\alpha x\\|_2`.

    Raises
    ------
    ValueError
        If ``A`` is not square, is empty or holds NaN/inf, or ``x`` has the
        wrong length or is zero.
    TypeError
        If ``A`` or ``x`` hold strings or complex numbers.

    Notes
    -----
    If :math:`x` is an eigenvector, :math:`r(x)` is its eigenvalue.  For
    symmetric :math:`A` the gradient of :math:`r` vanishes at eigenvectors,
    so an eigenvector error :math:`\\epsilon` gives an eigenvalue error of
    only :math:`O(\\epsilon^2)` (Trefethen & Bau, Lecture 27): the reason
    power iteration's eigenvalue converges twice as fast as its vector.
    Taught in lesson 02.

    See Also
    --------
    rayleigh_quotient_iteration : Uses it as an ever-improving shift.

    Examples
    --------
    >>> rayleigh_quotient([[2, 0], [0, 1]], [1, 0])
    2.0
    >>> rayleigh_quotient([[2, 0], [0, 1]], [1, 1])
    1.5
    """
    A = as_square_matrix(A, "A")
    x = as_vector(x, "x", size=A.shape[0])
    xx = float(x @ x)
    if xx == 0:
        raise ValueError("x is the zero vector; the Rayleigh quotient needs a nonzero x")
    return float(x @ A @ x) / xx


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
    LAPACK (:func:`numpy.linalg.eigvals`).  Taught in lesson 03.

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
    A = as_square_matrix(A, "A")
    return float(np.max(np.abs(np.linalg.eigvals(A))))


def matrix_power_eig(A: Any, k: int) -> np.ndarray:
    """:math:`A^k` through the eigendecomposition :math:`A = Q \\Lambda Q^{-1}`.

    Parameters
    ----------
    A : array_like, shape (n, n)
        A real, diagonalizable square matrix.
    k : int
        The power, a non-negative integer.

    Returns
    -------
    numpy.ndarray, shape (n, n)
        :math:`Q \\Lambda^k Q^{-1}`.  It is real (float64) when ``A`` is real:
        complex eigenvalues of a real matrix come in conjugate pairs, so the
        imaginary parts cancel up to rounding, and the rounding is dropped.
        ``A**0`` is the identity.

    Raises
    ------
    ValueError
        If ``A`` is not square, is empty or holds NaN/inf, or ``k`` is negative.
    TypeError
        If ``A`` holds strings or complex numbers, or ``k`` is not an integer.
    numpy.linalg.LinAlgError
        If ``A`` is not diagonalizable to working precision (its eigenvector
        matrix :math:`Q` has condition number above :math:`10^{-3}/\\epsilon`),
        such as the Jordan block ``[[1, 1], [0, 1]]``.

    Notes
    -----
    From :math:`A = Q\\Lambda Q^{-1}`,
    :math:`A^k = Q\\Lambda Q^{-1} Q\\Lambda Q^{-1}\\cdots = Q \\Lambda^k Q^{-1}`:
    the :math:`k` products collapse into :math:`k`-th powers of the
    eigenvalues.  The cost is one eigendecomposition, whatever :math:`k`; the
    price is accuracy, since rounding errors are amplified by the condition
    number of :math:`Q` and relative errors in :math:`\\lambda_j` grow by a
    factor :math:`k` in :math:`\\lambda_j^k`.  A matrix without a full set of
    eigenvectors (defective) has no such decomposition; use
    :func:`numpy.linalg.matrix_power` for it.  Taught in lesson 03.

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
    >>> R = [[0, -1], [1, 0]]  # a quarter turn: eigenvalues +-i
    >>> np.allclose(matrix_power_eig(R, 2), -np.eye(2))
    True
    """
    A = as_square_matrix(A, "A")
    k = check_int(k, "k")
    lam, Q = np.linalg.eig(A)
    kappa = np.linalg.cond(Q)
    if not np.isfinite(kappa) or kappa > 1e-3 / np.finfo(float).eps:
        raise np.linalg.LinAlgError(
            f"A is not diagonalizable to working precision (its eigenvector matrix has condition "
            f"number {kappa:.2g}); use numpy.linalg.matrix_power, which needs no eigenvectors"
        )
    Ak = (Q * lam**k) @ np.linalg.inv(Q)  # Q diag(lam**k) Q^{-1}
    return np.real(Ak) if np.iscomplexobj(Ak) else Ak


# ---------------------------------------------------------------------------
# Fibonacci numbers three ways
# ---------------------------------------------------------------------------


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
        ``"eig"``: float64, the entry of :math:`Q\\Lambda^n Q^{-1}` from
        :func:`matrix_power_eig`.
        ``"binet"``: float64, Binet's closed form.

    Returns
    -------
    int or float
        An ``int`` for ``"matrix"`` (exact for every ``n``); for ``"eig"`` and
        ``"binet"`` a ``float`` rounded to the nearest whole number.  The float
        methods lose exactness in the 70s (float64 has 53 bits, and
        :math:`F_n` outgrows them) and overflow to ``inf`` past ``n = 1474``.

    Raises
    ------
    ValueError
        If ``n`` is negative or ``method`` is unknown.
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
    the dominant eigenvalue takes over.  Taught in lesson 03.

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
    """
    n = check_int(n, "n")
    method = check_choice(method, "method", ["matrix", "eig", "binet"])
    if method == "matrix":
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
    with np.errstate(over="ignore", invalid="ignore"):
        if method == "eig":
            value = matrix_power_eig([[1, 1], [1, 0]], n)[0, 1]
        else:
            sqrt5 = np.sqrt(5.0)
            phi, psi = (1 + sqrt5) / 2, (1 - sqrt5) / 2
            value = (np.float64(phi) ** n - np.float64(psi) ** n) / sqrt5
    if not np.isfinite(value):
        return float("inf")
    return float(np.round(value)) + 0.0  # + 0.0 turns a rounded -0.0 into 0.0
