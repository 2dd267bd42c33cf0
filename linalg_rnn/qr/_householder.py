"""Householder QR (Trefethen and Bau, Algorithms 10.1, 10.2 and 10.3), with Q kept implicit or formed.

One reflector :math:`F = I - 2vv^\\top` (unit :math:`v`) sends a column to a
multiple of :math:`e_1`; applying :math:`n` of them triangularizes
:math:`A`.  The Householder vector is computed in one place,
:func:`_householder_vector`, which every caller shares: the loop below, the
blocked code's panels and :func:`linalg_rnn.orthogonal.householder_reflector`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._validation import as_matrix
from ._base import _check_mode, _into_safe_range, _signed_r, _signed_rows
from ._implicit import _ImplicitQR


def _householder_vector(x: np.ndarray) -> tuple[np.ndarray, float]:
    """The unit Householder vector v of ``x`` and beta, so that ``(I - 2 v v.T) x = beta e1``.

    ``v`` is :math:`x + \\mathrm{sign}(x_1)\\|x\\|_2 e_1` normalized, and
    ``beta`` is :math:`-\\mathrm{sign}(x_1)\\|x\\|_2` (``sign(0) = +1``).  For
    ``x = 0`` there is nothing to reflect: ``v = 0`` and ``beta = 0``.  Safe at
    every scale, like LAPACK's ``dlarfg``: ``v`` is built from
    :math:`x/\\|x\\|` without forming :math:`\\|x\\|` unscaled, so it is right
    even where :math:`\\|x\\|` itself overflows (``beta`` is then inf).
    """
    scale = float(np.abs(x).max())
    if scale == 0.0:
        return np.zeros_like(x), 0.0
    u = x / scale  # x / max|x|: entries in [-1, 1], nothing below overflows or underflows
    norm_u = math.sqrt(u @ u)  # ||x|| / max|x|, between 1 and sqrt(m)
    sign = 1.0 if x[0] >= 0 else -1.0
    # Work with x / ||x||, a unit vector.
    v = u / norm_u
    # Add (never subtract) sign(x1) e1: the two terms have the same sign, so no cancellation.
    v[0] += sign
    # ||v||^2 = 2 (1 + |x1| / ||x||) lies in [2, 4]: normalizing is safe.
    v /= math.sqrt(v @ v)
    return v, -sign * norm_u * scale


@dataclass(frozen=True, repr=False, eq=False)
class HouseholderReflectors(_ImplicitQR):
    """A Householder QR held implicitly: the reflectors instead of the matrix Q.

    Attributes
    ----------
    vectors : tuple of ndarray
        ``vectors[k]`` is the book's :math:`v_k`, of length ``m - k`` and unit
        norm (all zeros when that step had nothing to reflect).  It defines
        :math:`F_k = I - 2 v_k v_k^\\top`, acting on rows ``k:`` of its argument.
    signs : ndarray, shape (p,)
        :math:`\\pm 1` per column, with ``p = min(m, n)``: the final
        :math:`Q = F_1 F_2 \\cdots F_p\\,\\mathrm{diag}(\\text{signs}, I)`, chosen so
        that ``R`` has a nonnegative diagonal.
    R : ndarray, shape (p, n)
        The reduced triangular factor.
    shape : tuple of int
        ``(m, n)``, the shape of the factored matrix.
    """

    vectors: tuple[np.ndarray, ...]
    signs: np.ndarray
    R: np.ndarray
    shape: tuple[int, int]

    def __repr__(self) -> str:
        return f"HouseholderReflectors(shape={self.shape}, reflectors={len(self.vectors)}, R={self.R.shape})"

    def _transforms_t(self, B: np.ndarray) -> np.ndarray:
        for k, v in enumerate(self.vectors):
            # Algorithm 10.2: Q.T = F_p ... F_1, so F_1 touches B first.
            B[k:] -= 2.0 * np.multiply.outer(v, v @ B[k:])
        return B

    def _transforms(self, X: np.ndarray) -> np.ndarray:
        for k in range(len(self.vectors) - 1, -1, -1):
            # Algorithm 10.3: Q = F_1 F_2 ... F_p, so the last reflector touches X first.
            v = self.vectors[k]
            X[k:] -= 2.0 * np.multiply.outer(v, v @ X[k:])
        return X

    def form_q(self, mode: str = "reduced") -> np.ndarray:
        """The matrix Q, shape (m, p) for ``"reduced"`` or (m, m) for ``"complete"``."""
        mode = _check_mode(mode)
        m = self.shape[0]
        Q = _signed_rows(np.eye(m, m if mode == "complete" else len(self.vectors)), self.signs)
        for k in range(len(self.vectors) - 1, -1, -1):
            # Backward accumulation: columns < k are still (signed) e_j, which F_k leaves
            # alone, so only the trailing block Q[k:, k:] needs the rank-one update.
            v = self.vectors[k]
            Q[k:, k:] -= 2.0 * np.outer(v, v @ Q[k:, k:])
        return Q


def householder_reflectors(A: np.ndarray) -> HouseholderReflectors:
    """Householder triangularization (Trefethen and Bau, Algorithm 10.1), keeping Q implicit.

    Parameters
    ----------
    A : array_like, shape (m, n)
        Any real matrix: tall, square or wide, rank-deficient too.

    Returns
    -------
    HouseholderReflectors
        The reflectors :math:`v_k`, the signs and ``R``.  Use
        :func:`apply_qt` / :func:`apply_q` to multiply by :math:`Q^\\top` or
        :math:`Q` in :math:`O(mn)` flops per vector, or ``.form_q(mode)`` to form Q.

    Raises
    ------
    ValueError, TypeError
        If ``A`` is not a finite, non-empty, real 2-D array.

    Notes
    -----
    For :math:`k = 1, \\dots, \\min(m, n)`: take :math:`x = A_{k:m,k}`, set
    :math:`v_k = x + \\mathrm{sign}(x_1)\\|x\\|_2 e_1`, normalize it, and update
    :math:`A_{k:m,k:n} \\leftarrow A_{k:m,k:n} - 2v_k(v_k^\\top A_{k:m,k:n})`.  Each
    step zeros column :math:`k` below the diagonal with an orthogonal
    reflection, so the errors stay at the size of rounding: the computed
    factors satisfy :math:`\\tilde Q\\tilde R = A + \\delta A`,
    :math:`\\|\\delta A\\|/\\|A\\| = O(\\varepsilon)` and the implicit
    :math:`\\tilde Q` is orthogonal to :math:`O(\\varepsilon)` whatever
    :math:`\\kappa(A)` is (Trefethen and Bau, Theorem 16.1).  Cost:
    :math:`2mn^2 - \\tfrac{2}{3}n^3` flops for R (for :math:`m \\ge n`);
    forming Q costs about the same again.  A column that is already zero
    below and on the diagonal gets no reflector (its :math:`v_k` is zero).

    *At the edges of float64.*  ``A`` is first multiplied by the power of two
    that brings its largest entry into :math:`[2^{-900}, 2^{1000}]` (if it is
    not there already), and each reflector is built from :math:`x/\\|x\\|_2`
    with a scaled norm, as LAPACK's ``dlascl``, ``dnrm2`` and ``dlarfg`` do.
    Scaling by a power of two is exact, so for every integer :math:`k` with
    :math:`2^kA` representable, the factors of :math:`2^kA` are the vectors
    and :math:`Q` of :math:`A`, bit for bit, and :math:`2^kR`, rounded once
    where an entry falls below :math:`2^{-1022}` (the subnormal range).  The
    result is finite whenever :math:`R` is representable (every column norm
    below :math:`1.8\\times10^{308}`).

    Taught in lesson 06.

    See Also
    --------
    householder_qr : the same, with Q formed.
    apply_qt : Algorithm 10.2, :math:`Q^\\top b` from the reflectors.
    apply_q : Algorithm 10.3, :math:`Qx` from the reflectors.

    Examples
    --------
    >>> A = np.array([[3.0, 1.0], [4.0, 2.0], [0.0, 0.0]])
    >>> F = householder_reflectors(A)
    >>> F
    HouseholderReflectors(shape=(3, 2), reflectors=2, R=(2, 2))
    >>> np.round(F.R, 12) + 0.0
    array([[5. , 2.2],
           [0. , 0.4]])
    >>> from linalg_rnn.qr import apply_q
    >>> np.allclose(apply_q(F, F.R), A)
    True
    """
    A = as_matrix(A, "A")  # a private copy: triangularized in place
    A, shift = _into_safe_range(A)
    m, n = A.shape
    p = min(m, n)
    vectors = []
    for k in range(p):
        # The reflector that sends x = A[k:, k] to beta * e1 (zero x: v = 0, F_k = I).
        v, beta = _householder_vector(A[k:, k])
        # Apply F_k to the columns to the right; to the left, rows k: are already zero.
        A[k:, k + 1 :] -= 2.0 * np.outer(v, v @ A[k:, k + 1 :])
        # Column k itself becomes beta * e1: store that exactly rather than recompute it.
        A[k, k] = beta
        A[k + 1 :, k] = 0.0
        vectors.append(v)
    signs, R = _signed_r(A, shift)
    return HouseholderReflectors(tuple(vectors), signs, R, (m, n))


def householder_qr(A: np.ndarray, mode: str = "reduced") -> tuple[np.ndarray, np.ndarray]:
    """QR factorization by Householder reflections (Trefethen and Bau, Algorithms 10.1 and 10.3).

    Parameters
    ----------
    A : array_like, shape (m, n)
        Any real matrix: tall, square or wide, rank-deficient too.
    mode : {"reduced", "complete"}, default "reduced"
        ``"reduced"``: Q is (m, p) and R is (p, n) with ``p = min(m, n)``;
        no m x m matrix is ever formed.  ``"complete"``: Q is (m, m), R is (m, n).

    Returns
    -------
    Q : ndarray
        Orthonormal columns.
    R : ndarray
        Upper triangular (trapezoidal if wide) with a nonnegative diagonal.

    Raises
    ------
    ValueError, TypeError
        If ``A`` is not a finite, non-empty, real 2-D array, or ``mode`` is unknown.

    Notes
    -----
    Triangularize with :func:`householder_reflectors`, then form Q by
    applying the reflectors backwards to the first columns of the identity,
    touching only the trailing block at each step.  Cost: :math:`2mn^2 -
    \\tfrac{2}{3}n^3` flops for R and about :math:`2mn^2 - \\tfrac{2}{3}n^3`
    for the reduced Q (:math:`\\tfrac{8}{3}n^3` in all when square).  Backward
    stable, and :math:`\\|Q^\\top Q - I\\|_2 = O(\\varepsilon)` for any
    :math:`\\kappa(A)`.  Every update is a matrix--vector product (BLAS-2),
    which is why :func:`blocked_householder_qr` is faster on large matrices.

    At the edges of float64 it keeps the guarantee of
    :func:`householder_reflectors`: for :math:`2^kA` representable, Q is that
    of :math:`A` bit for bit and R is :math:`2^kR`, rounded only where it is
    subnormal; finite whenever R is representable.

    Taught in lesson 06.

    See Also
    --------
    householder_reflectors : keeps Q implicit.
    blocked_householder_qr : the same factors, computed with matrix--matrix products.
    numpy.linalg.qr : LAPACK's blocked Householder QR.

    Examples
    --------
    >>> A = np.array([[1, 2], [3, 4], [5, 6]])
    >>> Q, R = householder_qr(A)
    >>> Q.shape, R.shape
    ((3, 2), (2, 2))
    >>> np.allclose(Q @ R, A), bool(np.all(np.diag(R) >= 0))
    (True, True)
    >>> householder_qr(A, mode="complete")[0].shape
    (3, 3)
    >>> Q_big, R_big = householder_qr(np.ldexp(A, 1000))   # 2^1000 A: same Q, R scaled exactly
    >>> bool(np.array_equal(Q_big, Q)), bool(np.array_equal(R_big, np.ldexp(R, 1000)))
    (True, True)
    """
    mode = _check_mode(mode)
    factors = householder_reflectors(A)
    return factors.form_q(mode), factors.form_r(mode)
