"""Gram--Schmidt: QR one column at a time (Trefethen and Bau, Algorithms 7.1 and 8.1, and CGS2).

Three orders of the same arithmetic.  Each loop is the book's, with the
bookkeeping (checking the input, the dependence test, scaling) kept outside it
in :func:`_gram_schmidt_input` and :func:`_remainder_norm`, so that the one
line that differs between classical and modified Gram--Schmidt is visible.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._scaling import norm2
from .._validation import as_matrix, check_tol
from ._base import EPS, _into_safe_range, _undo_scaling


def _gram_schmidt_input(A: Any, rank_tol: float | None) -> tuple[np.ndarray, float, int]:
    """Check a Gram--Schmidt input; return it in the safe range, the dependence threshold and the shift.

    The threshold is relative, :math:`n\\varepsilon\\|A\\|_F`, so ``A`` and
    ``c * A`` give the same verdict for every representable ``c``; a given
    ``rank_tol`` is in the units of ``A`` and is scaled with it.
    """
    A = as_matrix(A, "A")
    m, n = A.shape
    if m < n:
        raise ValueError(
            f"Gram-Schmidt needs at least as many rows as columns (m >= n), got shape {A.shape}: "
            "a wide matrix has dependent columns; use householder_qr or givens_qr"
        )
    rank_tol = None if rank_tol is None else check_tol(rank_tol, "rank_tol")
    A, shift = _into_safe_range(A)
    threshold = n * EPS * norm2(A) if rank_tol is None else float(np.ldexp(rank_tol, shift))
    return A, threshold, shift


def _remainder_norm(v: np.ndarray, j: int, threshold: float, shift: int) -> float:
    """:math:`\\|v\\|_2`, what is left of column j after its projections; refused if at most ``threshold``.

    A remainder that small means column j is (numerically) a combination of
    columns 0..j-1, and dividing by it would amplify rounding into a direction.
    """
    r_jj = norm2(v)
    if r_jj > threshold:
        return r_jj
    earlier = "the columns before it" if j else "nothing: it is zero"
    remainder, threshold = np.ldexp([r_jj, threshold], -shift)  # in the units of A
    raise np.linalg.LinAlgError(
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
    For :math:`j = 1, \\dots, n`: :math:`r_{ij} = q_i^\\top a_j` for :math:`i < j`,
    :math:`v_j = a_j - \\sum_{i<j} r_{ij} q_i`, :math:`r_{jj} = \\|v_j\\|_2`,
    :math:`q_j = v_j / r_{jj}`.  Cost: :math:`2mn^2` flops.  Every projection
    uses the *original* column :math:`a_j`, so rounding errors in earlier
    :math:`q_i` are never corrected: the loss of orthogonality grows like
    :math:`c\\,\\varepsilon\\kappa(A)^2` (Giraud, Langou, Rozloznik and van den
    Eshof, Numer. Math. 101, 2005), with a small constant :math:`c` (lesson
    07 measures a few hundredths), and the method is unusable once
    :math:`c\\,\\varepsilon\\kappa^2` approaches 1.  For a well-conditioned
    matrix (:math:`\\kappa` of 1 or 2, like a recurrent matrix that drifted a
    little from orthogonal) it is as accurate as Householder.

    *At the edges of float64.*  ``A`` is first multiplied by the power of
    two that brings its largest entry into :math:`[2^{-900}, 2^{1000}]`, and
    every norm is taken scaled (as LAPACK's ``dnrm2`` does), so the
    dependence test is truly relative: :math:`cA` is called dependent exactly
    when :math:`A` is, for every representable :math:`c`.  For :math:`2^kA`
    representable, Q is that of :math:`A` bit for bit and R is
    :math:`2^kR`, rounded only where it is subnormal.

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
    A, threshold, shift = _gram_schmidt_input(A, rank_tol)
    m, n = A.shape
    Q = np.zeros((m, n))
    R = np.zeros((n, n))
    for j in range(n):
        # Project the ORIGINAL a_j on every earlier q_i at once (the "classical" choice).
        R[:j, j] = Q[:, :j].T @ A[:, j]
        # Remove those components; what is left is orthogonal to q_1..q_{j-1} in exact arithmetic.
        v = A[:, j] - Q[:, :j] @ R[:j, j]
        # Its length is the new diagonal entry; nearly zero means a_j added no new direction (refused).
        R[j, j] = _remainder_norm(v, j, threshold, shift)
        # Normalize to get the next orthonormal direction.
        Q[:, j] = v / R[j, j]
    return Q, _undo_scaling(R, shift)


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
    later* column: :math:`r_{ij} = q_i^\\top v_j`, :math:`v_j \\leftarrow v_j -
    r_{ij} q_i` for :math:`j > i`.  In exact arithmetic this equals classical
    Gram--Schmidt; in floating point each projection sees the already-reduced
    vector, which removes the error made by earlier steps.  Cost: :math:`2mn^2`
    flops.  Loss of orthogonality: :math:`\\|Q^\\top Q - I\\|_2 = O(\\varepsilon\\kappa(A))`
    (Bjorck, BIT 7, 1967; Trefethen and Bau, Lecture 9 and Experiment 2).

    At the edges of float64 it keeps the guarantee of
    :func:`classical_gram_schmidt`: a relative dependence test, and for
    :math:`2^kA` representable the Q of :math:`A` bit for bit and
    :math:`2^kR`, rounded only where it is subnormal.

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
    >>> Q_big, R_big = modified_gram_schmidt(A * 1e200)   # the dependence test is relative
    >>> np.allclose(Q_big, Q), np.allclose(R_big / 1e200, R)
    (True, True)
    """
    A, threshold, shift = _gram_schmidt_input(A, rank_tol)
    m, n = A.shape
    V = A  # the book's v_j: columns still being reduced (A is a private copy)
    Q = np.zeros((m, n))
    R = np.zeros((n, n))
    for i in range(n):
        # v_i has already lost its components along q_1..q_{i-1}; its length is r_ii.
        R[i, i] = _remainder_norm(V[:, i], i, threshold, shift)
        Q[:, i] = V[:, i] / R[i, i]
        # Project q_i out of every LATER column now, using the reduced columns (the "modified" choice).
        R[i, i + 1 :] = Q[:, i] @ V[:, i + 1 :]
        V[:, i + 1 :] -= np.outer(Q[:, i], R[i, i + 1 :])
    return Q, _undo_scaling(R, shift)


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

    At the edges of float64 it keeps the guarantee of
    :func:`classical_gram_schmidt`: a relative dependence test, and for
    :math:`2^kA` representable the Q of :math:`A` bit for bit and
    :math:`2^kR`, rounded only where it is subnormal.

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
    A, threshold, shift = _gram_schmidt_input(A, rank_tol)
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
        R[j, j] = _remainder_norm(v, j, threshold, shift)
        Q[:, j] = v / R[j, j]
    return Q, _undo_scaling(R, shift)

