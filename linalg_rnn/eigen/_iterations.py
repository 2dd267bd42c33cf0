"""The three iterations of Trefethen & Bau, Lecture 27, and the Rayleigh quotient they share.

Power iteration (Algorithm 27.1), inverse iteration (27.2) and Rayleigh
quotient iteration (27.3) are the same loop::

    for k = 1, 2, ...
        w = ...                  how w is made: the one line that differs
        v = w / ||w||            normalize
        lam = v.T A v            Rayleigh quotient

Power iteration multiplies, ``w = A v``; inverse iteration solves
``(A - mu I) w = v`` with a fixed shift; Rayleigh quotient iteration solves
``(A - lam I) w = v`` with the newest estimate as the shift.  Everything else
-- the residual, the history, the stopping test, the warning -- is the same
for all three and lives in :class:`_Track`, so each function's body is the
book's four lines.  Taught in lesson 02.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg

from .._scaling import ldexp, norm2, scaled, unit
from .._validation import (
    ConvergenceWarning,
    as_square_matrix,
    as_vector,
    check_int,
    check_real,
    check_seed,
    check_tol,
)

__all__ = [
    "EigenResult",
    "inverse_iteration",
    "power_iteration",
    "rayleigh_quotient",
    "rayleigh_quotient_iteration",
]


@dataclass(repr=False)
class EigenResult:
    """One eigenpair found by an iteration, with how it got there.

    Attributes
    ----------
    eigenvalue : float
        The final estimate :math:`\\lambda^{(k)} = v^\\top A v`, the Rayleigh
        quotient of the final vector.
    eigenvector : numpy.ndarray, shape (n,)
        The final unit vector :math:`v^{(k)}`, signed so that its entry of
        largest magnitude is positive.
    iterations : int
        How many steps ran: matrix-vector products for
        :func:`power_iteration`, linear solves for :func:`inverse_iteration`
        and :func:`rayleigh_quotient_iteration`.
    converged : bool
        Whether :math:`\\|Av - \\lambda v\\|_2 \\le \\mathrm{tol}\\cdot\\|A\\|_F`
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


class _Track:
    """The bookkeeping of Lecture 27: Rayleigh quotients, residuals, history, stopping test.

    The iteration runs on :math:`\\hat A = 2^{-e}A`, whose largest entry is in
    :math:`[1/2, 1)` (multiplying by a power of two is exact), so that neither
    :math:`\\hat A v` nor the squares in its norm can overflow or underflow,
    whatever the scale of ``A``.  :meth:`result` multiplies the eigenvalue and
    the history back by :math:`2^e`.  The stopping test
    :math:`\\|\\hat Av - \\hat\\lambda v\\|_2 \\le \\mathrm{tol}\\,\\|\\hat A\\|_F`
    is the same inequality for ``A`` and for :math:`\\hat A`, so ``A`` and
    :math:`2^kA` run the same steps and give the same vectors, bit for bit.
    """

    def __init__(self, A: np.ndarray, tol: float, max_iter: int) -> None:
        self.A, self.e = scaled(A)  # A-hat, with A = 2^e A-hat
        self.threshold = tol * norm2(self.A)
        self.max_iter = max_iter
        self.k = 0
        self.converged = False
        self.Av = np.zeros(A.shape[0])
        self.lams: list[float] = []
        self.residuals: list[float] = []

    def shift(self, mu: float) -> float:
        """A shift of ``A``, as a shift of :math:`\\hat A`."""
        return float(ldexp(mu, -self.e))

    def rayleigh(self, v: np.ndarray) -> float:
        """:math:`v^\\top \\hat A v` for a unit ``v``; records it, its residual and the stopping test."""
        self.Av = self.A @ v
        lam = float(v @ self.Av)
        residual = float(np.linalg.norm(self.Av - lam * v))
        self.lams.append(lam)
        self.residuals.append(residual)
        self.converged = residual <= self.threshold
        return lam

    def steps(self) -> Iterator[int]:
        """``k = 1, 2, ...`` until the residual is small enough or ``max_iter`` steps ran."""
        while not self.converged and self.k < self.max_iter:
            self.k += 1
            yield self.k

    def result(self, name: str, lam: float, v: np.ndarray, hint: str) -> EigenResult:
        """Pack the last estimate at the scale of ``A``; warn (not raise) if the tolerance was not met."""
        history = {
            "eigenvalue": ldexp(np.array(self.lams), self.e),
            "residual": ldexp(np.array(self.residuals), self.e),
        }
        if not self.converged:
            warnings.warn(
                f"{name} did not converge in {self.k} iterations "
                f"(last residual {history['residual'][-1]:.3g}); {hint}",
                ConvergenceWarning,
                stacklevel=3,
            )
        v = v if v[np.argmax(np.abs(v))] >= 0 else -v  # sign: largest entry positive
        return EigenResult(float(ldexp(lam, self.e)), v + 0.0, self.k, bool(self.converged), history)


def _start_vector(x0: Any, n: int, rng: np.random.Generator) -> np.ndarray:
    """A unit start vector: ``x0`` normalized, or a Gaussian one drawn from ``rng``."""
    x = rng.standard_normal(n) if x0 is None else as_vector(x0, "x0", size=n)
    if not np.any(x):
        raise ValueError("x0 is the zero vector, which is no direction at all; give a nonzero start vector")
    return unit(x)


def _solve(B: np.ndarray, v: np.ndarray, lu: Any = None) -> np.ndarray:
    """``w`` with :math:`Bw = v` (from the LU factors ``lu`` if given); B's null vector if B is singular.

    :math:`B = A - \\mu I` is singular exactly when the shift is an
    eigenvalue, and then its null vector -- the last right singular vector --
    is the eigenvector the iteration is after.
    """
    try:
        w = np.linalg.solve(B, v) if lu is None else scipy.linalg.lu_solve(lu, v, check_finite=False)
    except np.linalg.LinAlgError:
        w = None
    if w is None or not np.all(np.isfinite(w)):
        w = np.linalg.svd(B)[2][-1]
    return w


def _check_iteration(A: Any, x0: Any, tol: Any, max_iter: Any, seed: Any) -> tuple[_Track, np.ndarray]:
    """The arguments every iteration takes, checked: its track and its start vector."""
    A = as_square_matrix(A, "A")
    tol = check_tol(tol)
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    rng = check_seed(seed)
    return _Track(A, tol, max_iter), _start_vector(x0, A.shape[0], rng)


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
        Stop when :math:`\\|Av - \\lambda v\\|_2 \\le \\mathrm{tol}\\cdot\\|A\\|_F`.
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
    :math:`\\lambda^{(k)} = (v^{(k)})^\\top A v^{(k)}`.  Writing the start in the
    eigenvector basis, :math:`v^{(0)} = \\sum_j c_j q_j`, gives

    .. math:: A^k v^{(0)} = \\lambda_1^k \\Big(c_1 q_1 + \\sum_{j \\ge 2} c_j
              (\\lambda_j/\\lambda_1)^k q_j\\Big),

    so when :math:`|\\lambda_1| > |\\lambda_2|` and :math:`c_1 \\ne 0` the
    direction error shrinks like :math:`|\\lambda_2/\\lambda_1|^k`.  For
    symmetric ``A`` the eigenvalue error shrinks twice as fast,
    :math:`|\\lambda_2/\\lambda_1|^{2k}`, because the Rayleigh quotient is
    stationary at eigenvectors (Trefethen & Bau, Theorem 27.1).  Each step
    costs one matrix-vector product, :math:`2n^2` flops.

    The stopping test is a backward error: :math:`(\\lambda, v)` is an exact
    eigenpair of :math:`A + E` with :math:`\\|E\\|_2 = \\|Av - \\lambda v\\|_2`,
    so the tolerance is relative to :math:`\\|A\\|_F` and means the same for
    :math:`A` and :math:`cA`.  At the edges of float64 the iteration runs on
    :math:`2^{-e}A`, with its largest entry in :math:`[1/2, 1)`, and scales the
    eigenvalue back: it works for every representable nonzero scale of ``A``
    (``A`` and :math:`2^kA` take the same steps and give the same vector, bit
    for bit), and the eigenvalue is ``inf`` only if it is itself beyond
    float64.  Taught in lesson 02.

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
    >>> power_iteration([[2e300, 1e300], [1e300, 3e300]], seed=0).eigenvalue
    3.618033988749895e+300
    """
    track, v = _check_iteration(A, x0, tol, max_iter, seed)
    lam = track.rayleigh(v)
    for _k in track.steps():
        # Apply A: every eigen-direction is stretched by its eigenvalue, so the
        # dominant one gains on the others by |lambda_1/lambda_j| each step.
        # (A v^(k-1) was already formed for lambda^(k-1): one product per step.)
        w = track.Av
        # Normalize: only the direction matters, and A^k v would overflow or underflow.
        v = unit(w)
        # Rayleigh quotient: the best eigenvalue estimate for this direction.
        lam = track.rayleigh(v)
    return track.result(
        "power_iteration", lam, v,
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
        Stop when :math:`\\|Av - \\lambda v\\|_2 \\le \\mathrm{tol}\\cdot\\|A\\|_F`.
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
    each step is then two triangular solves, :math:`2n^2` flops.  The
    tolerance and the edges of float64 are handled as in
    :func:`power_iteration` (the shift is scaled with ``A``).
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
    mu = check_real(shift, "shift")
    track, v = _check_iteration(A, x0, tol, max_iter, seed)
    B = track.A - track.shift(mu) * np.eye(len(v))
    with warnings.catch_warnings():  # an exactly singular B is expected: _solve handles it
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        lu = scipy.linalg.lu_factor(B, check_finite=False)
    lam = track.rayleigh(v)
    for _k in track.steps():
        # Solve (A - mu I) w = v: applies (A - mu I)^{-1}, whose largest
        # eigenvalue 1/(lambda_J - mu) belongs to the eigenvalue nearest mu.
        w = _solve(B, v, lu)
        # Normalize: the solve blows the length up by about 1/|lambda_J - mu|.
        v = unit(w)
        # Rayleigh quotient: the eigenvalue estimate for this direction.
        lam = track.rayleigh(v)
    return track.result(
        "inverse_iteration", lam, v,
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
        Stop when :math:`\\|Av - \\lambda v\\|_2 \\le \\mathrm{tol}\\cdot\\|A\\|_F`.
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
    Algorithm 27.3 of Trefethen & Bau: :math:`\\lambda^{(0)} = (v^{(0)})^\\top A v^{(0)}`,
    then repeat: solve :math:`(A - \\lambda^{(k-1)} I) w = v^{(k-1)}`,
    :math:`v^{(k)} = w/\\|w\\|`, :math:`\\lambda^{(k)} = (v^{(k)})^\\top A v^{(k)}`.
    The better the eigenvalue estimate, the better the shift, and the better
    the next vector: for symmetric ``A`` the errors obey
    :math:`\\|v^{(k+1)} \\mp q_J\\| = O(\\|v^{(k)} \\mp q_J\\|^3)` and
    :math:`|\\lambda^{(k+1)} - \\lambda_J| = O(|\\lambda^{(k)} - \\lambda_J|^3)`
    (Theorem 27.3): the number of correct digits triples every step.  For
    nonsymmetric ``A`` the rate is quadratic.  Each step solves a new
    shifted system, :math:`\\tfrac{2}{3}n^3` flops.  If a shift hits an
    eigenvalue exactly, the system is singular and its null vector (from an
    SVD) is the eigenvector: the iteration then stops converged.  The
    tolerance and the edges of float64 are handled as in
    :func:`power_iteration`.  Taught in lesson 02.

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
    track, v = _check_iteration(A, x0, tol, max_iter, seed)
    I = np.eye(len(v))
    lam = track.rayleigh(v)
    for _k in track.steps():
        # Solve (A - lambda I) w = v: inverse iteration with the newest, best shift,
        # so the nearest eigenvalue dominates more strongly every step.
        w = _solve(track.A - lam * I, v)
        # Normalize: only the direction matters, and w can be enormous near convergence.
        v = unit(w)
        # Rayleigh quotient: the new estimate, and the next shift.
        lam = track.rayleigh(v)
    return track.result(
        "rayleigh_quotient_iteration", lam, v,
        "A may be nonsymmetric with complex eigenvalues near the start's Rayleigh quotient",
    )


def rayleigh_quotient(A: Any, x: Any) -> float:
    """The Rayleigh quotient :math:`r(x) = x^\\top A x / x^\\top x`.

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
    so an eigenvector error of size :math:`\\delta` gives an eigenvalue error
    of only :math:`O(\\delta^2)` (Trefethen & Bau, Lecture 27): the reason
    power iteration's eigenvalue converges twice as fast as its vector.

    :math:`r(cx) = r(x)` and :math:`r` scales with :math:`A`, so ``x`` and
    ``A`` are first scaled by powers of two (exactly) to have their largest
    entries near 1: ``x = [1e160, 0]`` and ``x = [1e-170, 0]`` are the same
    direction as ``[1, 0]``, and the result is ``inf`` or 0 only when
    :math:`r(x)` itself is beyond float64.  Taught in lesson 02.

    See Also
    --------
    rayleigh_quotient_iteration : Uses it as an ever-improving shift.

    Examples
    --------
    >>> rayleigh_quotient([[2, 0], [0, 1]], [1, 0])
    2.0
    >>> rayleigh_quotient([[2, 0], [0, 1]], [1, 1])
    1.5
    >>> rayleigh_quotient([[2, 0], [0, 1]], [1e160, 0])
    2.0
    """
    A = as_square_matrix(A, "A")
    x = as_vector(x, "x", size=A.shape[0])
    if not np.any(x):
        raise ValueError("x is the zero vector; the Rayleigh quotient needs a nonzero x")
    A, e = scaled(A)
    x, _ = scaled(x)
    return float(ldexp(float(x @ A @ x) / float(x @ x), e))
