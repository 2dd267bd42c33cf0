"""QR factorization from scratch: Gram--Schmidt, Householder (unblocked and blocked) and Givens.

Every routine here returns ``(Q, R)`` with ``Q @ R == A`` up to rounding, ``Q``
with orthonormal columns and ``R`` upper triangular with a **nonnegative
diagonal**.  With that sign convention the factorization of a full-rank
matrix is unique, so the results of different methods (and of
:func:`numpy.linalg.qr` after :func:`sign_normalize`) can be compared entry by
entry.  The methods differ in how well ``Q`` stays orthogonal in floating
point, which is what the book is about:

==============================  ======================================  ======================
method                          :math:`\\|Q^TQ - I\\|_2`                   taught in
==============================  ======================================  ======================
classical Gram--Schmidt         :math:`\\approx \\varepsilon\\kappa^2`     lesson 05
modified Gram--Schmidt          :math:`\\approx \\varepsilon\\kappa`       lesson 05
Gram--Schmidt twice (CGS2)      :math:`\\approx \\varepsilon`              lesson 05
Householder, blocked, Givens    :math:`\\approx \\varepsilon`              lesson 06
==============================  ======================================  ======================

The loops follow Trefethen and Bau, *Numerical Linear Algebra* (SIAM, 1997),
Algorithms 7.1, 8.1, 10.1, 10.2 and 10.3; the blocked form is the compact WY
representation of Schreiber and Van Loan (SIAM J. Sci. Stat. Comput. 10, 1989).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._validation import as_float_array, as_matrix, check_choice, check_int, check_tol

__all__ = [
    "GivensRotations",
    "HouseholderReflectors",
    "apply_q",
    "apply_qt",
    "blocked_householder_qr",
    "classical_gram_schmidt",
    "compact_wy",
    "givens_qr",
    "givens_rotations",
    "householder_qr",
    "householder_reflectors",
    "modified_gram_schmidt",
    "qr",
    "reorthogonalized_gram_schmidt",
    "sign_normalize",
]

MODES = ("reduced", "complete")
EPS = np.finfo(np.float64).eps


def _signs(diagonal: np.ndarray) -> np.ndarray:
    """+1 or -1 per entry, with 0 counted as +1 (so a zero pivot never flips or wipes anything)."""
    return np.where(diagonal < 0, -1.0, 1.0)


def sign_normalize(Q: np.ndarray, R: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flip signs so that ``R`` has a nonnegative diagonal, keeping ``Q @ R`` unchanged.

    Parameters
    ----------
    Q : array_like, shape (m, k)
        The orthogonal factor.
    R : array_like, shape (k, n)
        The triangular factor.

    Returns
    -------
    Q, R : ndarray
        New arrays :math:`QD` and :math:`DR` with
        :math:`D = \\mathrm{diag}(\\pm 1)` chosen so that :math:`r_{jj} \\ge 0`.

    Raises
    ------
    ValueError, TypeError
        If an input is not a finite real 2-D array, or the shapes do not chain.

    Notes
    -----
    Since :math:`D^2 = I`, :math:`(QD)(DR) = QR`, and :math:`QD` is still
    orthogonal.  A QR factorization of a full-rank matrix is unique up to
    exactly these signs, so after normalization two correct routines must
    agree.  A zero diagonal entry counts as :math:`+1`.  Rows of ``R`` beyond
    its diagonal (complete mode, tall ``A``) are left alone.

    Taught in lesson 05.

    See Also
    --------
    linalg_rnn.orthogonal.qr_orthogonalize : the sign-corrected Q of a matrix.

    Examples
    --------
    >>> A = np.array([[3.0, 1.0], [4.0, 2.0]])
    >>> Q, R = np.linalg.qr(A)
    >>> Q, R = sign_normalize(Q, R)
    >>> np.round(R, 12) + 0.0
    array([[5. , 2.2],
           [0. , 0.4]])
    >>> np.allclose(Q @ R, A)
    True
    """
    Q = as_matrix(Q, "Q")
    R = as_matrix(R, "R")
    if Q.shape[1] != R.shape[0]:
        raise ValueError(f"Q has {Q.shape[1]} columns but R has {R.shape[0]} rows; they must match (Q @ R)")
    d = np.ones(R.shape[0])
    p = min(R.shape)
    d[:p] = _signs(np.diag(R))
    return Q * d, R * d[:, None]


# --------------------------------------------------------------------------------------
# Gram--Schmidt (reduced only; needs full column rank)
# --------------------------------------------------------------------------------------


def _gram_schmidt_input(A: Any, rank_tol: float | None) -> tuple[np.ndarray, float]:
    """Check a Gram--Schmidt input; return it as float64 and the dependence threshold."""
    A = as_matrix(A, "A")
    m, n = A.shape
    if m < n:
        raise ValueError(
            f"Gram-Schmidt needs at least as many rows as columns (m >= n), got shape {A.shape}: "
            "a wide matrix has dependent columns; use householder_qr or givens_qr"
        )
    if rank_tol is None:
        threshold = n * EPS * float(np.linalg.norm(A))
    else:
        threshold = check_tol(rank_tol, "rank_tol")
    return A, threshold


def _dependent_column(j: int, remainder: float, threshold: float) -> np.linalg.LinAlgError:
    """The error for column j, which is (numerically) a combination of columns 0..j-1."""
    earlier = "the columns before it" if j else "nothing: it is zero"
    return np.linalg.LinAlgError(
        f"column {j} of A is linearly dependent on {earlier} (what is left after its "
        f"projections has norm {remainder:.3g} <= {threshold:.3g}); Gram-Schmidt needs full "
        "column rank: use householder_qr or givens_qr for a rank-deficient matrix"
    )


def classical_gram_schmidt(A: np.ndarray, *, rank_tol: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Reduced QR by classical Gram--Schmidt (Trefethen and Bau, Algorithm 7.1).

    Parameters
    ----------
    A : array_like, shape (m, n) with m >= n
        A matrix of full column rank.
    rank_tol : float, optional
        Column :math:`j` counts as dependent when what is left of it after
        subtracting its projections has norm at most ``rank_tol``.  The default
        is :math:`n \\varepsilon \\|A\\|_F`.  Pass ``0.0`` to refuse only an
        exactly zero remainder (to watch the method fail gracefully on nearly
        dependent columns, as lessons 05 and 07 do).

    Returns
    -------
    Q : ndarray, shape (m, n)
        Columns :math:`q_j` (the book's :math:`q_j`), orthonormal in exact arithmetic.
    R : ndarray, shape (n, n)
        Upper triangular with positive diagonal (the book's :math:`r_{ij}`).

    Raises
    ------
    numpy.linalg.LinAlgError
        If a column depends on the earlier ones; the message names it, 0-based
        ("column 2" is ``A[:, 2]``).
    ValueError, TypeError
        If ``A`` is not a finite real 2-D array, is wide, or ``rank_tol < 0``.

    Notes
    -----
    For :math:`j = 1, \\dots, n`: :math:`r_{ij} = q_i^T a_j` for :math:`i < j`,
    :math:`v_j = a_j - \\sum_{i<j} r_{ij} q_i`, :math:`r_{jj} = \\|v_j\\|_2`,
    :math:`q_j = v_j / r_{jj}`.  Cost: :math:`2mn^2` flops.  Every projection
    uses the *original* column :math:`a_j`, so rounding errors in earlier
    :math:`q_i` are never corrected: the loss of orthogonality grows like
    :math:`\\varepsilon\\kappa(A)^2` (Giraud, Langou, Rozloznik and van den
    Eshof, Numer. Math. 101, 2005) and the method is unusable once
    :math:`\\varepsilon\\kappa^2 > 1`.

    Taught in lesson 05.

    See Also
    --------
    modified_gram_schmidt : the same arithmetic, reordered; error about eps * kappa.
    reorthogonalized_gram_schmidt : classical Gram--Schmidt run twice; error about eps.

    Examples
    --------
    >>> A = np.array([[1.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    >>> Q, R = classical_gram_schmidt(A)
    >>> np.allclose(Q @ R, A), np.allclose(Q.T @ Q, np.eye(2))
    (True, True)
    >>> classical_gram_schmidt([[1, 2], [2, 4], [3, 6]])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    numpy.linalg.LinAlgError: column 1 of A is linearly dependent on the columns before it ...
    """
    A, threshold = _gram_schmidt_input(A, rank_tol)
    m, n = A.shape
    Q = np.zeros((m, n))
    R = np.zeros((n, n))
    for j in range(n):
        # Project the ORIGINAL a_j on every earlier q_i at once (the "classical" choice).
        R[:j, j] = Q[:, :j].T @ A[:, j]
        # Remove those components; what is left is orthogonal to q_1..q_{j-1} in exact arithmetic.
        v = A[:, j] - Q[:, :j] @ R[:j, j]
        # Its length is the new diagonal entry; nearly zero means a_j added no new direction.
        R[j, j] = np.linalg.norm(v)
        if R[j, j] <= threshold:
            raise _dependent_column(j, R[j, j], threshold)
        # Normalize to get the next orthonormal direction.
        Q[:, j] = v / R[j, j]
    return Q, R


def modified_gram_schmidt(A: np.ndarray, *, rank_tol: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Reduced QR by modified Gram--Schmidt (Trefethen and Bau, Algorithm 8.1).

    Parameters
    ----------
    A : array_like, shape (m, n) with m >= n
        A matrix of full column rank.
    rank_tol : float, optional
        Threshold on what is left of a column after its projections; default
        :math:`n \\varepsilon \\|A\\|_F`, ``0.0`` refuses only an exact zero.

    Returns
    -------
    Q : ndarray, shape (m, n)
    R : ndarray, shape (n, n)
        Upper triangular with positive diagonal.

    Raises
    ------
    numpy.linalg.LinAlgError
        If a column depends on the earlier ones; the message names it, 0-based.
    ValueError, TypeError
        If ``A`` is not a finite real 2-D array, is wide, or ``rank_tol < 0``.

    Notes
    -----
    As soon as :math:`q_i` is known, its component is removed from *every
    later* column: :math:`r_{ij} = q_i^T v_j`, :math:`v_j \\leftarrow v_j -
    r_{ij} q_i` for :math:`j > i`.  In exact arithmetic this equals classical
    Gram--Schmidt; in floating point each projection sees the already-reduced
    vector, which removes the error made by earlier steps.  Cost: :math:`2mn^2`
    flops.  Loss of orthogonality: :math:`\\|Q^TQ - I\\|_2 = O(\\varepsilon\\kappa(A))`
    (Bjorck, BIT 7, 1967; Trefethen and Bau, Lecture 9 and Experiment 2).

    Taught in lesson 05.

    See Also
    --------
    classical_gram_schmidt, reorthogonalized_gram_schmidt, householder_qr

    Examples
    --------
    >>> A = np.array([[1.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    >>> Q, R = modified_gram_schmidt(A)
    >>> np.round(R, 6) + 0.0
    array([[1.414214, 0.707107],
           [0.      , 1.224745]])
    """
    A, threshold = _gram_schmidt_input(A, rank_tol)
    m, n = A.shape
    V = A.copy()  # the book's v_j: columns still being reduced
    Q = np.zeros((m, n))
    R = np.zeros((n, n))
    for i in range(n):
        # v_i has already lost its components along q_1..q_{i-1}; its length is r_ii.
        R[i, i] = np.linalg.norm(V[:, i])
        if R[i, i] <= threshold:
            raise _dependent_column(i, R[i, i], threshold)
        Q[:, i] = V[:, i] / R[i, i]
        # Project q_i out of every LATER column now, using the reduced columns (the "modified" choice).
        R[i, i + 1 :] = Q[:, i] @ V[:, i + 1 :]
        V[:, i + 1 :] -= np.outer(Q[:, i], R[i, i + 1 :])
    return Q, R


def reorthogonalized_gram_schmidt(
    A: np.ndarray, *, rank_tol: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Reduced QR by classical Gram--Schmidt with one reorthogonalization (CGS2).

    Parameters
    ----------
    A : array_like, shape (m, n) with m >= n
        A matrix of full column rank.
    rank_tol : float, optional
        Threshold on what is left of a column after both passes; default
        :math:`n \\varepsilon \\|A\\|_F`, ``0.0`` refuses only an exact zero.

    Returns
    -------
    Q : ndarray, shape (m, n)
    R : ndarray, shape (n, n)
        Upper triangular with positive diagonal.

    Raises
    ------
    numpy.linalg.LinAlgError
        If a column depends on the earlier ones; the message names it, 0-based.
    ValueError, TypeError
        If ``A`` is not a finite real 2-D array, is wide, or ``rank_tol < 0``.

    Notes
    -----
    Each column is projected out of :math:`q_1, \\dots, q_{j-1}` twice: the
    second pass removes what rounding left after the first, and the two sets
    of coefficients add up in :math:`R`.  "Twice is enough" (Kahan, Parlett;
    Giraud et al., Numer. Math. 101, 2005): when :math:`\\varepsilon\\kappa(A)`
    is well below 1 the result is orthogonal to :math:`O(\\varepsilon)`, like
    Householder, at :math:`4mn^2` flops, and each pass is a matrix--vector
    product (fast, and one reduction per pass in parallel settings).

    Taught in lesson 05.

    See Also
    --------
    classical_gram_schmidt, modified_gram_schmidt

    Examples
    --------
    >>> A = np.vander(np.linspace(0, 1, 30), 8)
    >>> Q, R = reorthogonalized_gram_schmidt(A)
    >>> bool(np.linalg.norm(Q.T @ Q - np.eye(8), 2) < 1e-14), np.allclose(Q @ R, A)
    (True, True)
    """
    A, threshold = _gram_schmidt_input(A, rank_tol)
    m, n = A.shape
    Q = np.zeros((m, n))
    R = np.zeros((n, n))
    for j in range(n):
        Qj = Q[:, :j]
        # First pass: classical Gram-Schmidt on the original column.
        s1 = Qj.T @ A[:, j]
        v = A[:, j] - Qj @ s1
        # Second pass: remove what rounding in the first pass left along q_1..q_{j-1}.
        s2 = Qj.T @ v
        v -= Qj @ s2
        # Both sets of coefficients are part of a_j's expansion.
        R[:j, j] = s1 + s2
        R[j, j] = np.linalg.norm(v)
        if R[j, j] <= threshold:
            raise _dependent_column(j, R[j, j], threshold)
        Q[:, j] = v / R[j, j]
    return Q, R


# --------------------------------------------------------------------------------------
# Householder (Algorithms 10.1, 10.2, 10.3)
# --------------------------------------------------------------------------------------


def _as_rhs(B: Any, rows: tuple[int, ...], name: str) -> np.ndarray:
    """A float64 copy of a vector or matrix whose first dimension is one of ``rows``."""
    B = as_float_array(B, name)
    if B.ndim not in (1, 2):
        raise ValueError(f"{name} must be a vector or a matrix, got an array with shape {B.shape}")
    if B.shape[0] not in rows:
        allowed = " or ".join(str(r) for r in sorted(set(rows)))
        raise ValueError(f"{name} must have {allowed} rows to match Q, got shape {B.shape}")
    return B


def _check_mode(mode: str) -> str:
    return check_choice(mode, "mode", MODES)


@dataclass(frozen=True, repr=False, eq=False)
class HouseholderReflectors:
    """A Householder QR held implicitly: the reflectors instead of the matrix Q.

    Attributes
    ----------
    vectors : tuple of ndarray
        ``vectors[k]`` is the book's :math:`v_k`, of length ``m - k`` and unit
        norm (all zeros when that step had nothing to reflect).  It defines
        :math:`F_k = I - 2 v_k v_k^T`, acting on rows ``k:`` of its argument.
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

    def apply_qt(self, B: Any) -> np.ndarray:
        """:math:`Q^T B` without forming Q (Algorithm 10.2); see :func:`apply_qt`."""
        m = self.shape[0]
        B = _as_rhs(B, (m,), "B")
        p = len(self.vectors)
        for k, v in enumerate(self.vectors):
            # Apply the reflectors in the order they were made: Q^T = F_p ... F_1.
            B[k:] -= 2.0 * np.multiply.outer(v, v @ B[k:])
        B[:p] *= self.signs.reshape((p,) + (1,) * (B.ndim - 1))
        return B

    def apply_q(self, X: Any) -> np.ndarray:
        """:math:`Q X` without forming Q (Algorithm 10.3); see :func:`apply_q`."""
        m = self.shape[0]
        p = len(self.vectors)
        X = _as_rhs(X, (m, p), "X")
        if X.shape[0] == p and p < m:  # reduced Q: pad with zero rows to a full-length vector
            X = np.concatenate([X, np.zeros((m - p,) + X.shape[1:])])
        X[:p] *= self.signs.reshape((p,) + (1,) * (X.ndim - 1))
        for k in range(p - 1, -1, -1):
            # Q = F_1 F_2 ... F_p, so the last reflector touches X first.
            v = self.vectors[k]
            X[k:] -= 2.0 * np.multiply.outer(v, v @ X[k:])
        return X

    def form_q(self, mode: str = "reduced") -> np.ndarray:
        """The matrix Q, shape (m, p) for ``"reduced"`` or (m, m) for ``"complete"``."""
        mode = _check_mode(mode)
        m = self.shape[0]
        p = len(self.vectors)
        Q = np.eye(m, m if mode == "complete" else p)
        for k in range(p - 1, -1, -1):
            # Backward accumulation: columns < k are still e_j, which F_k leaves alone,
            # so only the trailing block Q[k:, k:] needs the rank-one update.
            v = self.vectors[k]
            Q[k:, k:] -= 2.0 * np.outer(v, v @ Q[k:, k:])
        Q[:, :p] *= self.signs
        return Q

    def form_r(self, mode: str = "reduced") -> np.ndarray:
        """The matrix R, shape (p, n) for ``"reduced"`` or (m, n) for ``"complete"``."""
        mode = _check_mode(mode)
        m, n = self.shape
        if mode == "reduced" or m == self.R.shape[0]:
            return self.R.copy()
        return np.vstack([self.R, np.zeros((m - self.R.shape[0], n))])


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
        :func:`apply_qt` / :func:`apply_q` to multiply by :math:`Q^T` or
        :math:`Q` in :math:`O(mn)` flops per vector, or ``.form_q(mode)`` to form Q.

    Raises
    ------
    ValueError, TypeError
        If ``A`` is not a finite, non-empty, real 2-D array.

    Notes
    -----
    For :math:`k = 1, \\dots, \\min(m, n)`: take :math:`x = A_{k:m,k}`, set
    :math:`v_k = x + \\mathrm{sign}(x_1)\\|x\\|_2 e_1`, normalize it, and update
    :math:`A_{k:m,k:n} \\leftarrow A_{k:m,k:n} - 2v_k(v_k^T A_{k:m,k:n})`.  Each
    step zeros column :math:`k` below the diagonal with an orthogonal
    reflection, so the errors stay at the size of rounding: the computed
    factors satisfy :math:`\\tilde Q\\tilde R = A + \\delta A`,
    :math:`\\|\\delta A\\|/\\|A\\| = O(\\varepsilon)` and the implicit
    :math:`\\tilde Q` is orthogonal to :math:`O(\\varepsilon)` whatever
    :math:`\\kappa(A)` is (Trefethen and Bau, Theorem 16.1).  Cost:
    :math:`2mn^2 - \\tfrac{2}{3}n^3` flops for R (for :math:`m \\ge n`);
    forming Q costs about the same again.  A column that is already zero
    below and on the diagonal gets no reflector (its :math:`v_k` is zero).

    Taught in lesson 06.

    See Also
    --------
    householder_qr : the same, with Q formed.
    apply_qt : Algorithm 10.2, :math:`Q^T b` from the reflectors.
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
    >>> np.allclose(apply_q(F, F.R), A)
    True
    """
    A = as_matrix(A, "A")
    m, n = A.shape
    R = A  # as_matrix made a private copy; triangularize it in place
    vectors = []
    for k in range(min(m, n)):
        x = R[k:, k]
        # Reflect x to -sign(x_1)||x|| e_1: adding (not subtracting) avoids cancellation.
        v = x.copy()
        v[0] += (1.0 if x[0] >= 0 else -1.0) * np.linalg.norm(x)
        norm_v = np.linalg.norm(v)
        if norm_v == 0.0:  # x = 0: this column is already reduced; F_k = I
            vectors.append(v)
            continue
        # A unit v_k makes F_k = I - 2 v_k v_k^T.
        v /= norm_v
        # Apply F_k to the trailing block only: columns < k are already zero in rows k:.
        R[k:, k:] -= 2.0 * np.outer(v, v @ R[k:, k:])
        vectors.append(v)
    p = min(m, n)
    R = np.triu(R[:p])  # below the diagonal is rounding noise that should be exactly zero
    signs = _signs(np.diag(R))
    return HouseholderReflectors(tuple(vectors), signs, R * signs[:, None], (m, n))


def _implicit_factor(factors: Any, name: str) -> Any:
    if not isinstance(factors, (HouseholderReflectors, GivensRotations)):
        raise TypeError(
            f"{name} must come from householder_reflectors(A) or givens_rotations(A), "
            f"got {type(factors).__name__}"
        )
    return factors


def apply_qt(factors: HouseholderReflectors | GivensRotations, B: np.ndarray) -> np.ndarray:
    """:math:`Q^T B` from an implicit QR, without forming Q (Trefethen and Bau, Algorithm 10.2).

    Parameters
    ----------
    factors : HouseholderReflectors or GivensRotations
        From :func:`householder_reflectors` or :func:`givens_rotations`.
    B : array_like, shape (m,) or (m, k)
        A vector or a matrix with as many rows as the factored matrix.

    Returns
    -------
    ndarray, same shape as ``B``
        :math:`Q^T B` with the complete (m x m) :math:`Q`: the first
        ``min(m, n)`` rows are the reduced :math:`Q^T B`.

    Raises
    ------
    ValueError, TypeError
        If ``B`` is not finite real numbers or has the wrong number of rows,
        or ``factors`` is not an implicit QR.

    Notes
    -----
    For Householder, :math:`b \\leftarrow b - 2v_k(v_k^Tb)` for
    :math:`k = 1, \\dots, n`: about :math:`4mn - 2n^2` flops per column of
    ``B``, against :math:`2m^2` for multiplying by a formed :math:`Q^T`.
    This is how least squares is solved: :math:`Rx = (Q^Tb)_{1:n}`.

    Taught in lesson 06.

    See Also
    --------
    apply_q : the product with Q.

    Examples
    --------
    >>> A = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]])
    >>> b = np.array([1.0, 2.0, 4.0])
    >>> F = householder_reflectors(A)
    >>> x = np.linalg.solve(F.R, apply_qt(F, b)[:2])   # least squares fit of a line
    >>> np.allclose(x, np.linalg.lstsq(A, b, rcond=None)[0])
    True
    >>> np.round(x, 4) + 0.0
    array([0.8333, 1.5   ])
    """
    return _implicit_factor(factors, "factors").apply_qt(B)


def apply_q(factors: HouseholderReflectors | GivensRotations, X: np.ndarray) -> np.ndarray:
    """:math:`QX` from an implicit QR, without forming Q (Trefethen and Bau, Algorithm 10.3).

    Parameters
    ----------
    factors : HouseholderReflectors or GivensRotations
        From :func:`householder_reflectors` or :func:`givens_rotations`.
    X : array_like, shape (m,) or (m, k); or (p,) or (p, k) with p = min(m, n)
        With ``m`` rows it is multiplied by the complete Q; with ``p`` rows by
        the reduced Q.

    Returns
    -------
    ndarray, shape (m,) or (m, k)

    Raises
    ------
    ValueError, TypeError
        If ``X`` is not finite real numbers or has the wrong number of rows,
        or ``factors`` is not an implicit QR.

    Notes
    -----
    For Householder, :math:`x \\leftarrow x - 2v_k(v_k^Tx)` for
    :math:`k = n, \\dots, 1` (the reverse order of :func:`apply_qt`):
    :math:`Q = F_1 \\cdots F_n`.  Applying it to the columns of the identity
    forms Q, which is what :func:`householder_qr` does.

    Taught in lesson 06.

    See Also
    --------
    apply_qt : the product with Q transposed.

    Examples
    --------
    >>> A = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    >>> F = householder_reflectors(A)
    >>> np.allclose(apply_q(F, F.R), A)
    True
    >>> np.allclose(apply_q(F, np.eye(3)), F.form_q("complete"))
    True
    """
    return _implicit_factor(factors, "factors").apply_q(X)


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
    stable, and :math:`\\|Q^TQ - I\\|_2 = O(\\varepsilon)` for any
    :math:`\\kappa(A)`.  Every update is a matrix--vector product (BLAS-2),
    which is why :func:`blocked_householder_qr` is faster on large matrices.

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
    """
    mode = _check_mode(mode)
    factors = householder_reflectors(A)
    return factors.form_q(mode), factors.form_r(mode)


def compact_wy(
    factors: HouseholderReflectors, start: int = 0, stop: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The compact WY form :math:`I - VTV^T` of a run of Householder reflectors.

    Parameters
    ----------
    factors : HouseholderReflectors
        From :func:`householder_reflectors`.
    start, stop : int, optional
        Use reflectors ``start, ..., stop - 1`` (default: all of them).

    Returns
    -------
    V : ndarray, shape (m, b)
        Column ``j`` is the unit vector of reflector ``start + j``, padded with
        zeros above its first row; ``b = stop - start``.
    T : ndarray, shape (b, b)
        Upper triangular, such that
        :math:`F_{\\text{start}} \\cdots F_{\\text{stop}-1} = I - VTV^T` (the
        reflectors as m x m matrices).

    Raises
    ------
    ValueError, TypeError
        If ``factors`` is not a :class:`HouseholderReflectors` or the range is
        empty or out of bounds.

    Notes
    -----
    With :math:`\\tau = 2` for a unit :math:`v` (and :math:`\\tau = 0` for a
    skipped step), :math:`(I - V T V^T)(I - \\tau vv^T) = I - [V\\ v]
    \\begin{bmatrix} T & -\\tau T V^T v \\\\ 0 & \\tau \\end{bmatrix} [V\\ v]^T`,
    so :math:`T` grows one column at a time at :math:`O(mb^2)` flops
    (Schreiber and Van Loan, 1989).  :func:`blocked_householder_qr` uses this
    recurrence on each panel, so that a whole block of reflectors is applied
    with three matrix--matrix products instead of :math:`b` rank-one updates.

    Taught in lesson 06.

    See Also
    --------
    blocked_householder_qr

    Examples
    --------
    >>> A = np.random.default_rng(0).standard_normal((6, 4))
    >>> F = householder_reflectors(A)
    >>> V, T = compact_wy(F)
    >>> V.shape, T.shape
    ((6, 4), (4, 4))
    >>> Q_wy = (np.eye(6) - V @ T @ V.T)[:, :4] * F.signs
    >>> np.allclose(Q_wy, F.form_q())
    True
    """
    if not isinstance(factors, HouseholderReflectors):
        raise TypeError(f"factors must come from householder_reflectors(A), got {type(factors).__name__}")
    p = len(factors.vectors)
    start = check_int(start, "start")
    stop = p if stop is None else check_int(stop, "stop")
    if not start < stop <= p:
        raise ValueError(f"need 0 <= start < stop <= {p} (the number of reflectors), got {start}, {stop}")
    m = factors.shape[0]
    b = stop - start
    V = np.zeros((m, b))
    T = np.zeros((b, b))
    for j in range(b):
        k = start + j
        v = factors.vectors[k]
        V[k:, j] = v
        tau = 2.0 if v.any() else 0.0  # a skipped step (v = 0) is the identity
        # New column of T: the reflector's coupling with the ones already in the block.
        T[:j, j] = -tau * (T[:j, :j] @ (V[:, :j].T @ V[:, j]))
        T[j, j] = tau
    return V, T


def blocked_householder_qr(
    A: np.ndarray, block_size: int = 64, mode: str = "reduced"
) -> tuple[np.ndarray, np.ndarray]:
    """Householder QR in blocks, with the compact WY form :math:`I - VTV^T` (Schreiber--Van Loan).

    Parameters
    ----------
    A : array_like, shape (m, n)
        Any real matrix: tall, square or wide, rank-deficient too.
    block_size : int, default 64
        Columns per panel, at least 1.  Every block size gives the same factors
        as :func:`householder_qr` (up to rounding); it only changes the speed.
    mode : {"reduced", "complete"}, default "reduced"
        As in :func:`householder_qr`.

    Returns
    -------
    Q : ndarray
        Orthonormal columns, (m, min(m, n)) or (m, m).
    R : ndarray
        Upper triangular with a nonnegative diagonal, (min(m, n), n) or (m, n).

    Raises
    ------
    ValueError, TypeError
        If ``A`` is not a finite real 2-D array, ``block_size`` is not an
        integer >= 1, or ``mode`` is unknown.

    Notes
    -----
    The product of the :math:`b` reflectors of one panel is
    :math:`F_1 \\cdots F_b = I - VTV^T`, with :math:`V` holding the
    :math:`v_k` as columns and :math:`T` upper triangular, built one column at
    a time: :math:`T \\leftarrow \\begin{bmatrix} T & -\\tau T V^T v \\\\ 0 &
    \\tau \\end{bmatrix}`, :math:`\\tau = 2` for a unit :math:`v`.  Each panel
    is factored with the unblocked loop (cheap: only :math:`b` columns); the
    rest of the matrix is then updated with three matrix--matrix products,
    :math:`C \\leftarrow C - V(T^T(V^TC))`, and Q is accumulated backward the
    same way.  The flop count is that of :func:`householder_qr` plus lower
    order terms, but nearly all of it now runs in BLAS-3 (matrix--matrix)
    kernels, which reuse each number loaded from memory about :math:`b`
    times instead of once.  This is the algorithm of LAPACK's ``dgeqrf`` and
    ``dorgqr``.  Same stability as the unblocked form.  References: Schreiber
    and Van Loan, SIAM J. Sci. Stat. Comput. 10 (1989); Golub and Van Loan,
    *Matrix Computations*, 4th ed., Section 5.2.3.

    Taught in lesson 06 (and timed in lesson 07).

    See Also
    --------
    householder_qr : the unblocked algorithm.
    compact_wy : the I - V T V^T form of a run of reflectors.

    Examples
    --------
    >>> A = np.random.default_rng(0).standard_normal((50, 30))
    >>> Q, R = blocked_householder_qr(A, block_size=8)
    >>> Q1, R1 = householder_qr(A)
    >>> np.allclose(Q, Q1), np.allclose(R, R1)
    (True, True)
    """
    A = as_matrix(A, "A")
    block_size = check_int(block_size, "block_size", minimum=1)
    mode = _check_mode(mode)
    m, n = A.shape
    p = min(m, n)
    blocks = []  # (first column k0, V, T) of each panel, for the backward accumulation of Q
    for k0 in range(0, p, block_size):
        b = min(block_size, p - k0)
        panel = A[k0:, k0 : k0 + b]  # a view: factored in place
        V = np.zeros((m - k0, b))
        T = np.zeros((b, b))
        for j in range(b):
            # Algorithm 10.1 restricted to the panel's columns (BLAS-2, but only b wide).
            x = panel[j:, j]
            v = x.copy()
            v[0] += (1.0 if x[0] >= 0 else -1.0) * np.linalg.norm(x)
            norm_v = np.linalg.norm(v)
            if norm_v == 0.0:  # nothing to reflect: F = I, tau = 0, T's column stays zero
                continue
            v /= norm_v
            panel[j:, j:] -= 2.0 * np.outer(v, v @ panel[j:, j:])
            V[j:, j] = v
            # Grow T so that F_1 ... F_j = I - V T V^T (Schreiber-Van Loan recurrence).
            T[:j, j] = -2.0 * (T[:j, :j] @ (V[:, :j].T @ V[:, j]))
            T[j, j] = 2.0
        if k0 + b < n:
            # Apply the whole panel at once to the rest: C <- (I - V T V^T)^T C, three matmuls.
            C = A[k0:, k0 + b :]
            C -= V @ (T.T @ (V.T @ C))
        blocks.append((k0, V, T))
    R = np.triu(A[:p])
    # Backward accumulation of Q = (I - V_1 T_1 V_1^T) ... applied to the identity's first columns;
    # as in the unblocked case, block k0 only changes Q[k0:, k0:].
    Q = np.eye(m, m if mode == "complete" else p)
    for k0, V, T in reversed(blocks):
        B = Q[k0:, k0:]
        B -= V @ (T @ (V.T @ B))
    signs = _signs(np.diag(R))
    Q[:, :p] *= signs
    R *= signs[:, None]
    if mode == "complete" and m > p:
        R = np.vstack([R, np.zeros((m - p, n))])
    return Q, R


# --------------------------------------------------------------------------------------
# Givens rotations
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False, eq=False)
class GivensRotations:
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

    def apply_qt(self, B: Any) -> np.ndarray:
        """:math:`Q^T B` without forming Q; see :func:`apply_qt`."""
        B = _as_rhs(B, (self.shape[0],), "B")
        for i, c, s in self.rotations:
            top = B[i].copy()
            B[i] = c * top + s * B[i + 1]
            B[i + 1] = -s * top + c * B[i + 1]
        p = len(self.signs)
        B[:p] *= self.signs.reshape((p,) + (1,) * (B.ndim - 1))
        return B

    def apply_q(self, X: Any) -> np.ndarray:
        """:math:`Q X` without forming Q; see :func:`apply_q`."""
        m = self.shape[0]
        p = len(self.signs)
        X = _as_rhs(X, (m, p), "X")
        if X.shape[0] == p and p < m:
            X = np.concatenate([X, np.zeros((m - p,) + X.shape[1:])])
        X[:p] *= self.signs.reshape((p,) + (1,) * (X.ndim - 1))
        for i, c, s in reversed(self.rotations):
            # The transpose of each rotation, last one first.
            top = X[i].copy()
            X[i] = c * top - s * X[i + 1]
            X[i + 1] = s * top + c * X[i + 1]
        return X

    def form_q(self, mode: str = "reduced") -> np.ndarray:
        """The matrix Q, (m, p) for ``"reduced"`` or (m, m) for ``"complete"``."""
        mode = _check_mode(mode)
        m = self.shape[0]
        p = len(self.signs)
        return self.apply_q(np.eye(m) if mode == "complete" else np.eye(p))

    def form_r(self, mode: str = "reduced") -> np.ndarray:
        """The matrix R, (p, n) for ``"reduced"`` or (m, n) for ``"complete"``."""
        mode = _check_mode(mode)
        m, n = self.shape
        if mode == "reduced" or m == self.R.shape[0]:
            return self.R.copy()
        return np.vstack([self.R, np.zeros((m - self.R.shape[0], n))])


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
    Cost: :math:`3mn^2 - n^3` flops for R, 50% more than Householder; same
    :math:`O(\\varepsilon)` stability (Golub and Van Loan, Section 5.2.5;
    Trefethen and Bau, Exercise 10.4).

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
    A = as_matrix(A, "A")
    m, n = A.shape
    R = A  # a private copy, rotated in place
    rotations = []
    for j in range(min(m - 1, n)):
        for i in range(m - 1, j, -1):
            a, b = R[i - 1, j], R[i, j]
            if b == 0.0:  # already zero: no rotation needed
                continue
            # Choose c, s so that the rotation sends (a, b) to (r, 0).
            r = np.hypot(a, b)
            c, s = a / r, b / r
            # Rotate the two rows from column j on; to the left of j both are already zero.
            top = R[i - 1, j:].copy()
            R[i - 1, j:] = c * top + s * R[i, j:]
            R[i, j:] = -s * top + c * R[i, j:]
            R[i, j] = 0.0  # exactly zero by construction
            rotations.append((i - 1, float(c), float(s)))
    p = min(m, n)
    R = np.triu(R[:p])
    signs = _signs(np.diag(R))
    return GivensRotations(tuple(rotations), signs, R * signs[:, None], (m, n))


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
    See :func:`givens_rotations` for the algorithm.  Q is formed by applying
    the transposed rotations, last first, to the first columns of the
    identity.  Orthogonal to :math:`O(\\varepsilon)` for any :math:`\\kappa(A)`.
    The Python loop runs once per rotation (about :math:`mn` of them), so it
    is slow on large matrices; it is here to be read, not to be fast.

    Taught in lesson 06.

    See Also
    --------
    householder_qr, givens_rotations

    Examples
    --------
    >>> A = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    >>> Q, R = givens_qr(A)
    >>> np.allclose(Q @ R, A), np.allclose(R, householder_qr(A)[1])
    (True, True)
    """
    mode = _check_mode(mode)
    factors = givens_rotations(A)
    return factors.form_q(mode), factors.form_r(mode)


# --------------------------------------------------------------------------------------
# The dispatcher
# --------------------------------------------------------------------------------------

_METHODS = {
    "householder": householder_qr,
    "blocked_householder": blocked_householder_qr,
    "givens": givens_qr,
    "cgs": classical_gram_schmidt,
    "mgs": modified_gram_schmidt,
    "cgs2": reorthogonalized_gram_schmidt,
    "classical_gram_schmidt": classical_gram_schmidt,
    "modified_gram_schmidt": modified_gram_schmidt,
    "reorthogonalized_gram_schmidt": reorthogonalized_gram_schmidt,
}
_GRAM_SCHMIDT = {classical_gram_schmidt, modified_gram_schmidt, reorthogonalized_gram_schmidt}


def qr(
    A: np.ndarray, method: str = "householder", mode: str = "reduced", **options: Any
) -> tuple[np.ndarray, np.ndarray]:
    """QR factorization by the method named in ``method``.

    Parameters
    ----------
    A : array_like, shape (m, n)
        The matrix to factor.
    method : str, default "householder"
        ``"householder"``, ``"blocked_householder"``, ``"givens"``, ``"cgs"``,
        ``"mgs"`` or ``"cgs2"`` (the last three also by their function names,
        e.g. ``"modified_gram_schmidt"``).
    mode : {"reduced", "complete"}, default "reduced"
        Gram--Schmidt methods support ``"reduced"`` only.
    **options
        Passed on to the method, e.g. ``block_size`` or ``rank_tol``.

    Returns
    -------
    Q, R : ndarray
        As returned by the chosen method: ``Q @ R == A`` up to rounding, R
        with a nonnegative diagonal.

    Raises
    ------
    ValueError
        If ``method`` or ``mode`` is unknown, or Gram--Schmidt is asked for
        ``"complete"``.
    numpy.linalg.LinAlgError, TypeError
        As raised by the method.

    Notes
    -----
    Not exported as ``linalg_rnn.qr``: that name is this module.  See the
    module docstring for how the methods compare.

    Taught in lesson 07.

    Examples
    --------
    >>> A = np.random.default_rng(0).standard_normal((6, 4))
    >>> results = [qr(A, method=name) for name in ("householder", "givens", "mgs")]
    >>> all(np.allclose(R, results[0][1]) for _, R in results)
    True
    """
    method = check_choice(method, "method", _METHODS)
    mode = _check_mode(mode)
    func = _METHODS[method]
    if func in _GRAM_SCHMIDT:
        if mode != "reduced":
            raise ValueError(
                f"method {method!r} computes the reduced QR only; use mode='reduced' or a "
                "Householder/Givens method for mode='complete'"
            )
        return func(A, **options)
    return func(A, mode=mode, **options)
