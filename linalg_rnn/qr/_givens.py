"""Givens QR: triangularize with plane rotations, one entry at a time (lesson 06).

A rotation of two rows,
:math:`G = \\begin{bmatrix} c & s \\\\ -s & c \\end{bmatrix}`, zeros one entry.
Zeroing the subdiagonal column by column, from the bottom up, leaves R; the
rotations, kept in order, are Q.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import as_matrix
from ._base import _check_mode, _into_safe_range, _signed_r
from ._implicit import _ImplicitQR


@dataclass(frozen=True, repr=False, eq=False)
class GivensRotations(_ImplicitQR):
    """A Givens QR held implicitly: the list of plane rotations instead of the matrix Q.

    Attributes
    ----------
    rotations : tuple of (int, float, float)
        ``(i, c, s)`` for each rotation, in the order applied: it replaces rows
        ``i`` and ``i + 1`` by :math:`c\\,r_i + s\\,r_{i+1}` and
        :math:`-s\\,r_i + c\\,r_{i+1}`.
    signs : ndarray, shape (p,)
        :math:`\\pm 1` per column so that ``R`` has a nonnegative diagonal.
    R : ndarray, shape (p, n)
        The reduced triangular factor, ``p = min(m, n)``.
    shape : tuple of int
        ``(m, n)``.
    """

    rotations: tuple[tuple[int, float, float], ...]
    signs: np.ndarray
    R: np.ndarray
    shape: tuple[int, int]

    def __repr__(self) -> str:
        return f"GivensRotations(shape={self.shape}, rotations={len(self.rotations)}, R={self.R.shape})"

    def _transforms_t(self, B: np.ndarray) -> np.ndarray:
        for i, c, s in self.rotations:
            # Q.T applies the rotations in the order they were made.
            top = B[i].copy()
            B[i] = c * top + s * B[i + 1]
            B[i + 1] = -s * top + c * B[i + 1]
        return B

    def _transforms(self, X: np.ndarray) -> np.ndarray:
        for i, c, s in reversed(self.rotations):
            # Q applies the transpose of each rotation, last one first.
            top = X[i].copy()
            X[i] = c * top - s * X[i + 1]
            X[i + 1] = s * top + c * X[i + 1]
        return X


def givens_rotations(A: np.ndarray) -> GivensRotations:
    """Triangularize ``A`` with Givens plane rotations, keeping Q implicit.

    Parameters
    ----------
    A : array_like, shape (m, n)
        Any real matrix: tall, square or wide, rank-deficient too.

    Returns
    -------
    GivensRotations
        The rotations, signs and ``R``; use :func:`apply_qt`, :func:`apply_q`
        or ``.form_q(mode)``.

    Raises
    ------
    ValueError, TypeError
        If ``A`` is not a finite, non-empty, real 2-D array.

    Notes
    -----
    Column by column, from the bottom up, the entry :math:`a_{ij}` is zeroed
    by rotating rows :math:`i-1` and :math:`i` by
    :math:`G = \\begin{bmatrix} c & s \\\\ -s & c \\end{bmatrix}`,
    :math:`c = a/r`, :math:`s = b/r`, :math:`r = \\sqrt{a^2 + b^2}` where
    :math:`a, b` are the entries of the two rows in column :math:`j`.  A
    rotation touches two rows only, so it can zero single entries (useful for
    sparse or Hessenberg matrices, and in the QR algorithm for eigenvalues).
    There is one rotation per subdiagonal entry that is not already zero: at
    most :math:`mn - n(n+1)/2` for :math:`m > n` (and :math:`m(m-1)/2` for
    :math:`m \\le n`).  Cost: :math:`3mn^2 - n^3` flops for R, 50% more than
    Householder; same :math:`O(\\varepsilon)` stability (Golub and Van Loan,
    Section 5.2.5; Trefethen and Bau, Exercise 10.4).

    *At the edges of float64.*  :math:`r = \\sqrt{a^2 + b^2}` is computed by
    :func:`numpy.hypot`, which never squares an unscaled number, and ``A`` is
    first brought into :math:`[2^{-900}, 2^{1000}]` by a power of two, as in
    :func:`householder_reflectors`: for :math:`2^kA` representable, the
    rotations are those of :math:`A` bit for bit and R is :math:`2^kR`,
    rounded only where it is subnormal; finite whenever R is representable.

    Taught in lesson 06.

    See Also
    --------
    givens_qr : the same with Q formed.
    linalg_rnn.orthogonal.rotation_matrix : a rotation by an angle.

    Examples
    --------
    >>> G = givens_rotations([[3.0], [4.0]])
    >>> G
    GivensRotations(shape=(2, 1), rotations=1, R=(1, 1))
    >>> G.R
    array([[5.]])
    """
    A = as_matrix(A, "A")  # a private copy, rotated in place
    A, shift = _into_safe_range(A)
    m, n = A.shape
    rotations = []
    for j in range(min(m - 1, n)):
        for i in range(m - 1, j, -1):
            a, b = A[i - 1, j], A[i, j]
            if b == 0.0:  # already zero: no rotation needed
                continue
            # Choose c, s so that the rotation sends (a, b) to (r, 0); hypot never overflows.
            r = np.hypot(a, b)
            c, s = a / r, b / r
            # Rotate the two rows from column j on; to the left of j both are already zero.
            top = A[i - 1, j:].copy()
            A[i - 1, j:] = c * top + s * A[i, j:]
            A[i, j:] = -s * top + c * A[i, j:]
            A[i, j] = 0.0  # exactly zero by construction
            rotations.append((i - 1, float(c), float(s)))
    signs, R = _signed_r(A, shift)
    return GivensRotations(tuple(rotations), signs, R, (m, n))


def givens_qr(A: np.ndarray, mode: str = "reduced") -> tuple[np.ndarray, np.ndarray]:
    """QR factorization by Givens rotations.

    Parameters
    ----------
    A : array_like, shape (m, n)
        Any real matrix: tall, square or wide, rank-deficient too.
    mode : {"reduced", "complete"}, default "reduced"
        As in :func:`householder_qr`; reduced mode never forms an m x m matrix.

    Returns
    -------
    Q : ndarray
        Orthonormal columns, (m, min(m, n)) or (m, m).
    R : ndarray
        Upper triangular with a nonnegative diagonal.

    Raises
    ------
    ValueError, TypeError
        If ``A`` is not a finite real 2-D array, or ``mode`` is unknown.

    Notes
    -----
    See :func:`givens_rotations` for the algorithm and its guarantee at the
    edges of float64.  Q is formed by applying the transposed rotations, last
    first, to the first columns of the identity.  Orthogonal to
    :math:`O(\\varepsilon)` for any :math:`\\kappa(A)`.  The Python loop runs
    once per rotation (:math:`mn - n(n+1)/2` of them for a tall matrix), so it
    is slow on large matrices; it is here to be read, not to be fast.

    Taught in lesson 06.

    See Also
    --------
    householder_qr, givens_rotations

    Examples
    --------
    >>> from linalg_rnn.qr import householder_qr
    >>> A = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    >>> Q, R = givens_qr(A)
    >>> np.allclose(Q @ R, A), np.allclose(R, householder_qr(A)[1])
    (True, True)
    """
    mode = _check_mode(mode)
    factors = givens_rotations(A)
    return factors.form_q(mode), factors.form_r(mode)
