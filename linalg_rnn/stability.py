"""The stability lab: matrices of chosen conditioning, and how orthogonal each QR method's Q stays.

The condition number :math:`\\kappa(A) = \\sigma_{\\max}/\\sigma_{\\min}` decides
how much a method's rounding errors are amplified.  To see the theory
(:math:`\\varepsilon\\kappa^2` for classical Gram--Schmidt,
:math:`\\varepsilon\\kappa` for modified, :math:`\\varepsilon` for Householder,
Givens and CGS2) we need matrices whose singular values we choose:
:func:`matrix_with_singular_values` builds them, and
:func:`orthogonality_vs_condition` runs every method on them across a range of
:math:`\\kappa`.

Taught in lesson 07.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import qr as _qr
from ._scaling import ldexp, scaled
from ._validation import as_vector, check_choice, check_int, check_memory, check_seed, from_torch
from .orthogonal import orthogonality_error, qr_orthogonalize, random_orthogonal

__all__ = ["StabilityStudy", "matrix_with_singular_values", "orthogonality_vs_condition"]

_GRAM_SCHMIDT = {
    "cgs",
    "mgs",
    "cgs2",
    "classical_gram_schmidt",
    "modified_gram_schmidt",
    "reorthogonalized_gram_schmidt",
}


def matrix_with_singular_values(
    s: Sequence[float] | np.ndarray, m: int | None = None, *, seed: Any = None
) -> np.ndarray:
    """A random m x n matrix :math:`A = U\\,\\mathrm{diag}(s)\\,V^\\top` whose singular values are ``s``.

    Parameters
    ----------
    s : array_like, shape (n,)
        The singular values, all >= 0 (any order).
    m : int, optional
        Number of rows, at least ``n``; default ``n`` (a square matrix).
    seed : int, numpy.random.Generator or None, optional
        Source of randomness for :math:`U` and :math:`V`.

    Returns
    -------
    A : ndarray, shape (m, n)
        Its condition number is :math:`\\max s / \\min s` (up to the rounding
        in forming the product).

    Raises
    ------
    ValueError, TypeError
        If ``s`` is not a finite non-empty real vector, has a negative entry,
        or ``m < n``; or ``seed`` is not a seed.

    Notes
    -----
    :math:`U` (m x n, orthonormal columns) and :math:`V` (n x n, orthogonal)
    are Haar-random, from sign-corrected QR of Gaussian matrices, so the
    singular vectors have no special alignment with the coordinate axes and
    the experiment tests the method, not a lucky structure.  This is how
    Trefethen and Bau build the matrix of Experiment 2 (Lecture 9).  Cost:
    :math:`O(mn^2)`.  The product is formed with :math:`s` scaled by a power
    of two to a largest entry in :math:`[1/2, 1)` and scaled back (exactly),
    so singular values anywhere in float64's range -- :math:`10^{308}`,
    :math:`10^{-310}` -- come out right, and ``s * 2**k`` gives exactly
    ``2**k`` times the matrix.

    Taught in lesson 05 and lesson 07.

    See Also
    --------
    orthogonality_vs_condition : the experiment that uses these matrices.

    Examples
    --------
    >>> A = matrix_with_singular_values([1.0, 1e-3, 1e-6], m=5, seed=0)
    >>> A.shape
    (5, 3)
    >>> np.allclose(np.linalg.svd(A, compute_uv=False), [1.0, 1e-3, 1e-6])
    True
    >>> print(f"{np.linalg.cond(A):.3g}")
    1e+06
    """
    s = as_vector(s, "s")
    if np.any(s < 0):
        raise ValueError(f"s holds singular values, which are >= 0; got a minimum of {s.min():g}")
    n = s.shape[0]
    m = n if m is None else check_int(m, "m", minimum=1)
    if m < n:
        raise ValueError(f"m must be at least len(s) = {n} (a tall or square matrix), got m = {m}")
    check_memory(8 * (2 * m * n + 2 * n * n), "m", m, "the m x n factors")
    rng = check_seed(seed)
    U = qr_orthogonalize(rng.standard_normal((m, n)))
    V = random_orthogonal(n, seed=rng)
    s, e = scaled(s)
    return ldexp((U * s) @ V.T, e)


@dataclass(repr=False, eq=False)
class StabilityStudy:
    """The result of :func:`orthogonality_vs_condition`: one row of numbers per method.

    Attributes
    ----------
    kappas : ndarray, shape (k,)
        The condition numbers tried.
    errors : dict of str to ndarray
        ``errors[method][i]`` is :math:`\\|Q^\\top Q - I\\|_2` for the matrix with
        condition number ``kappas[i]`` (NaN if the method refused it).
    residuals : dict of str to ndarray
        ``residuals[method][i]`` is :math:`\\|QR - A\\|_F / \\|A\\|_F`.
    m, n : int
        The matrix shape used.
    """

    kappas: np.ndarray
    errors: dict[str, np.ndarray] = field(default_factory=dict)
    residuals: dict[str, np.ndarray] = field(default_factory=dict)
    m: int = 0
    n: int = 0

    def slope(self, method: str, kappa_min: float = 0.0, kappa_max: float = np.inf) -> float:
        """Least-squares slope of log10(error) against log10(kappa) for ``kappa_min <= kappa <= kappa_max``.

        About 2 for classical Gram--Schmidt, 1 for modified and 0 for the
        stable methods, in the range where the error is above rounding and
        below 1.
        """
        if method not in self.errors:
            raise ValueError(f"unknown method {method!r}; this study has {list(self.errors)}")
        keep = (self.kappas >= kappa_min) & (self.kappas <= kappa_max) & np.isfinite(self.errors[method])
        if keep.sum() < 2:
            raise ValueError("need at least two kappas in the range to fit a slope")
        x = np.log10(self.kappas[keep])
        y = np.log10(np.maximum(self.errors[method][keep], np.finfo(float).tiny))
        return float(np.polyfit(x, y, 1)[0])

    def __repr__(self) -> str:
        names = list(self.errors)
        widths = [max(10, len(name) + 2) for name in names]
        lines = [f"StabilityStudy(m={self.m}, n={self.n}): ||Q.T Q - I||_2 per method"]
        lines.append(f"{'kappa':>9}" + "".join(f"{name:>{w}}" for name, w in zip(names, widths, strict=True)))
        for i, kappa in enumerate(self.kappas):
            row = "".join(f"{self.errors[name][i]:>{w}.2e}" for name, w in zip(names, widths, strict=True))
            lines.append(f"{kappa:>9.0e}{row}")
        return "\n".join(lines)


def orthogonality_vs_condition(
    methods: Iterable[str | Callable[..., tuple[np.ndarray, np.ndarray]]],
    kappas: Iterable[float],
    m: int,
    n: int,
    *,
    seed: Any = None,
) -> StabilityStudy:
    """Measure :math:`\\|Q^\\top Q - I\\|_2` of each QR method on matrices of growing condition number.

    Parameters
    ----------
    methods : iterable of str or callable
        Method names understood by :func:`linalg_rnn.qr.qr` (``"householder"``,
        ``"blocked_householder"``, ``"givens"``, ``"cgs"``, ``"mgs"``,
        ``"cgs2"``, ...) or functions ``A -> (Q, R)`` (keyed by their
        ``__name__``).
    kappas : iterable of float
        Condition numbers, each >= 1.
    m, n : int
        Shape of the test matrices, ``m >= n >= 2``.
    seed : int, numpy.random.Generator or None, optional
        Source of randomness for the matrices.

    Returns
    -------
    StabilityStudy
        ``errors`` and ``residuals`` per method, one entry per kappa; its repr
        prints a table, ``.slope(method, lo, hi)`` fits the growth rate.

    Raises
    ------
    ValueError, TypeError
        If a method name is unknown, a kappa is < 1 or not finite, or the
        shape is invalid.

    Notes
    -----
    For each :math:`\\kappa` one matrix :math:`A = U\\,\\mathrm{diag}(\\sigma)V^\\top`
    with :math:`\\sigma_j` log-spaced from 1 down to :math:`1/\\kappa` is
    built by :func:`matrix_with_singular_values` and every method factors the
    same matrix.  Gram--Schmidt methods run with ``rank_tol=0.0``: the point
    is to watch them lose orthogonality, not to have them refuse a nearly
    dependent column (an exactly zero remainder still gives NaN).  Expected
    (Trefethen and Bau, Lectures 9, 10, 16; Giraud et al., 2005):
    :math:`\\approx\\varepsilon\\kappa^2` for CGS until it saturates when
    :math:`\\varepsilon\\kappa^2 > 1` (an error of order 1 or more: the
    columns are no longer orthogonal at all), :math:`\\approx\\varepsilon\\kappa`
    for MGS, :math:`\\approx\\varepsilon` for Householder, Givens and (while
    :math:`\\varepsilon\\kappa < 1`) CGS2.  Cost: one factorization per method
    and kappa.

    Taught in lesson 07.

    See Also
    --------
    matrix_with_singular_values, linalg_rnn.orthogonal.orthogonality_error

    Examples
    --------
    >>> study = orthogonality_vs_condition(["householder", "mgs"], [1e2, 1e6], 40, 10, seed=0)
    >>> bool(study.errors["householder"].max() < 1e-14)
    True
    >>> bool(1e-13 < study.errors["mgs"][1] < 1e-7)
    True
    """
    m = check_int(m, "m", minimum=2)
    n = check_int(n, "n", minimum=2)
    if m < n:
        raise ValueError(f"m must be >= n (tall or square test matrices), got m = {m}, n = {n}")
    kappas = from_torch(kappas)
    kappas = as_vector(kappas if isinstance(kappas, np.ndarray) else list(kappas), "kappas")
    if np.any(kappas < 1):
        raise ValueError(f"every kappa must be >= 1 (a condition number), got {kappas.min():g}")
    methods = list(methods)
    if not methods:
        raise ValueError("methods is empty; name at least one, e.g. ['householder', 'mgs']")
    named: dict[str, Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]] = {}
    for method in methods:
        if callable(method):
            named[getattr(method, "__name__", repr(method))] = method
        else:
            name = check_choice(method, "method", _qr._METHODS)  # before any work
            options = {"rank_tol": 0.0} if name in _GRAM_SCHMIDT else {}
            named[name] = lambda A, _name=name, _opt=options: _qr.qr(A, method=_name, **_opt)
    check_memory(8 * 4 * m * n, "m", m, "the m x n test matrix and its factors")
    rng = check_seed(seed)
    errors = {name: np.full(len(kappas), np.nan) for name in named}
    residuals = {name: np.full(len(kappas), np.nan) for name in named}
    for i, kappa in enumerate(kappas):
        A = matrix_with_singular_values(np.logspace(0, -np.log10(kappa), n), m, seed=rng)
        norm_A = np.linalg.norm(A)
        for name, factor in named.items():
            try:
                Q, R = factor(A)
            except np.linalg.LinAlgError:
                continue  # an exactly dependent column: recorded as NaN
            errors[name][i] = orthogonality_error(Q)
            residuals[name][i] = np.linalg.norm(Q @ R - A) / norm_A
    return StabilityStudy(kappas, errors, residuals, m, n)
