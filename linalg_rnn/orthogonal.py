"""Orthogonal matrices: how to test for them, sample them, build them and project onto them.

A real square matrix :math:`Q` is orthogonal when :math:`Q^\\top Q = I`.  Then
:math:`\\|Qx\\|_2 = \\|x\\|_2` for every :math:`x`, every eigenvalue has
:math:`|\\lambda| = 1` and :math:`\\det Q = \\pm 1`, which is why an RNN whose
recurrent matrix is orthogonal neither explodes nor vanishes through its linear
part.  This module collects the ways the book makes such matrices:

* measure: :func:`orthogonality_error`, :func:`is_orthogonal`;
* sample: :func:`random_orthogonal` (Haar measure);
* build: :func:`rotation_matrix`, :func:`householder_reflector`,
  :func:`cayley`, :func:`expm_skew`;
* project a matrix that drifted: :func:`nearest_orthogonal` (the polar factor,
  truly nearest) and :func:`qr_orthogonalize` (the sign-corrected QR factor,
  cheaper but *not* nearest).

Taught in lesson 04.
"""

from __future__ import annotations

import numpy as np

from ._scaling import ldexp, norm2, scaled, spectral_norm
from ._skew import cayley_rotation, skew_function
from ._validation import (
    as_matrix,
    as_square_matrix,
    as_vector,
    check_int,
    check_memory,
    check_real,
    check_seed,
    check_tol,
)
from .qr._base import _signs
from .qr._householder import _householder_vector

__all__ = [
    "cayley",
    "expm_skew",
    "householder_reflector",
    "is_orthogonal",
    "nearest_orthogonal",
    "orthogonality_error",
    "qr_orthogonalize",
    "random_orthogonal",
    "rotation_matrix",
]

SeedLike = int | np.random.Generator | None


def orthogonality_error(Q: np.ndarray) -> float:
    """How far the columns of ``Q`` are from orthonormal: :math:`\\|Q^\\top Q - I\\|_2`.

    Parameters
    ----------
    Q : array_like, shape (m, n)
        Any real matrix; for an orthogonal matrix (or one with orthonormal
        columns) the result is of the order of machine epsilon.

    Returns
    -------
    float
        The spectral norm of :math:`Q^\\top Q - I_n`.

    Raises
    ------
    ValueError, TypeError
        If ``Q`` is not a finite, non-empty, real 2-D array.

    Notes
    -----
    Zero exactly when the columns of :math:`Q` are orthonormal.  For a
    computed :math:`Q` from a QR factorization the size of this number is the
    stability result of the method: about :math:`\\varepsilon` for Householder,
    :math:`\\varepsilon\\kappa(A)` for modified Gram--Schmidt and
    :math:`\\varepsilon\\kappa(A)^2` for classical Gram--Schmidt (Trefethen and
    Bau, *Numerical Linear Algebra*, Lecture 9 and 16).  Cost: about :math:`2mn^2`
    flops for the product, plus an SVD of an :math:`n \\times n` matrix.

    When :math:`\\|Q\\|_2^2 - 1` is beyond float64 (:math:`Q^\\top Q` overflows)
    the result is ``inf``, as IEEE arithmetic rounds any number too large to
    represent, and no tolerance accepts it; never NaN (the largest float
    would claim a value).  A tiny :math:`Q` gives 1, as the exact value rounds.

    Taught in lesson 04.

    See Also
    --------
    is_orthogonal : the same number compared with a tolerance.

    Examples
    --------
    >>> orthogonality_error([[0, 1], [1, 0]])
    0.0
    >>> round(orthogonality_error([[2, 0], [0, 1]]), 6)
    3.0
    >>> orthogonality_error([[1e200, 0], [0, 1e200]])
    inf
    """
    Q = as_matrix(Q, "Q")
    with np.errstate(over="ignore", invalid="ignore"):
        G = Q.T @ Q
    if not np.all(np.isfinite(G)):
        # some column has ||q_j||^2 beyond float64, and ||Q.T Q - I||_2 >= ||q_j||^2 - 1
        return float("inf")
    return spectral_norm(G - np.eye(Q.shape[1]))


def is_orthogonal(Q: np.ndarray, tol: float = 1e-10) -> bool:
    """True when ``Q`` has orthonormal columns up to ``tol``: :math:`\\|Q^\\top Q - I\\|_2 \\le` tol.

    Parameters
    ----------
    Q : array_like, shape (m, n)
        The matrix to test.  For a square ``Q`` this is the test for an
        orthogonal matrix.
    tol : float, default 1e-10
        Largest accepted :func:`orthogonality_error`; must be >= 0.

    Returns
    -------
    bool

    Raises
    ------
    ValueError, TypeError
        If ``Q`` is not a finite real 2-D array, or ``tol`` is negative.

    Notes
    -----
    A tolerance is needed because a computed orthogonal matrix is orthogonal
    only up to rounding: its error is a small multiple of
    :math:`\\varepsilon \\approx 2.2 \\times 10^{-16}`.

    Taught in lesson 04.

    See Also
    --------
    orthogonality_error : the number being compared.

    Examples
    --------
    >>> is_orthogonal([[0, 1], [1, 0]])
    True
    >>> is_orthogonal([[1, 1], [0, 1]])
    False
    """
    tol = check_tol(tol, "tol")
    return orthogonality_error(Q) <= tol


def random_orthogonal(n: int, *, seed: SeedLike = None) -> np.ndarray:
    """A random ``n`` x ``n`` orthogonal matrix drawn from the Haar (uniform) measure.

    Parameters
    ----------
    n : int
        Size of the matrix, at least 1.
    seed : int, numpy.random.Generator or None, optional
        Source of randomness; an integer gives a reproducible matrix.

    Returns
    -------
    Q : ndarray, shape (n, n)
        An orthogonal matrix.

    Raises
    ------
    TypeError, ValueError
        If ``n`` is not an integer >= 1 (or asks for more memory than the
        machine has), or ``seed`` is not a seed.

    Notes
    -----
    Draw :math:`Z` with independent standard normal entries, factor
    :math:`Z = QR`, then flip the columns of :math:`Q` whose :math:`r_{jj}` is
    negative: :math:`Q \\leftarrow Q\\,\\mathrm{diag}(\\mathrm{sign}\\, r_{jj})`.
    The Gaussian is invariant under rotation, and after the correction the
    factorization is unique, so the law of :math:`Q` is invariant too -- that
    is the Haar measure.  Without the correction the result depends on the
    sign convention of the QR routine and is biased: LAPACK's Householder QR
    makes :math:`E[Q_{11}]` clearly non-zero (Mezzadri, "How to generate random
    matrices from the classical compact groups", Notices of the AMS 54, 2007).
    Cost: about :math:`\\tfrac{4}{3}n^3` flops for R plus :math:`\\tfrac{4}{3}n^3`
    to form Q.

    Taught in lesson 04.

    See Also
    --------
    qr_orthogonalize : the same sign-corrected Q for a given matrix.

    Examples
    --------
    >>> Q = random_orthogonal(4, seed=0)
    >>> Q.shape, is_orthogonal(Q)
    ((4, 4), True)
    >>> np.allclose(Q, random_orthogonal(4, seed=0))
    True
    """
    n = check_int(n, "n", minimum=1)
    check_memory(3 * 8 * n * n, "n", n, "an n x n Gaussian matrix and its QR factors")
    Z = check_seed(seed).standard_normal((n, n))
    return qr_orthogonalize(Z)


def rotation_matrix(theta: float) -> np.ndarray:
    """The 2 x 2 matrix that rotates the plane counter-clockwise by ``theta`` radians.

    Parameters
    ----------
    theta : float
        The angle in radians; any finite real number.

    Returns
    -------
    G : ndarray, shape (2, 2)
        :math:`\\begin{bmatrix}\\cos\\theta & -\\sin\\theta\\\\ \\sin\\theta & \\cos\\theta\\end{bmatrix}`.

    Raises
    ------
    TypeError, ValueError
        If ``theta`` is not a finite real number.

    Notes
    -----
    A rotation is orthogonal with :math:`\\det G = +1`.  Its eigenvalues are
    the complex pair :math:`e^{\\pm i\\theta}` on the unit circle: a real
    rotation by an angle other than :math:`0` or :math:`\\pi` has no real
    eigenvector, since it moves every direction.

    Taught in lesson 04.

    See Also
    --------
    householder_reflector : the other elementary orthogonal matrix (det = -1).

    Examples
    --------
    >>> G = rotation_matrix(np.pi / 2)
    >>> np.round(G @ [1.0, 0.0], 12) + 0.0
    array([0., 1.])
    >>> np.allclose(np.linalg.eigvals(G), [1j, -1j])
    True
    """
    theta = check_real(theta, "theta")
    c, s = np.cos(theta), np.sin(theta)
    return np.array([[c, -s], [s, c]])


def householder_reflector(x: np.ndarray) -> np.ndarray:
    """The Householder reflection :math:`F` with :math:`Fx = -\\mathrm{sign}(x_1)\\|x\\|_2 e_1`.

    Parameters
    ----------
    x : array_like, shape (m,)
        The vector to reflect onto the first axis.

    Returns
    -------
    F : ndarray, shape (m, m)
        Symmetric and orthogonal (:math:`F = F^\\top = F^{-1}`, :math:`\\det F = -1`),
        or the identity when ``x`` is zero.

    Raises
    ------
    ValueError, TypeError
        If ``x`` is not a finite, non-empty, real 1-D array.

    Notes
    -----
    With :math:`v = x + \\mathrm{sign}(x_1)\\|x\\|_2 e_1` (and
    :math:`\\mathrm{sign}(0) = 1`), :math:`F = I - 2vv^\\top / (v^\\top v)` reflects
    across the hyperplane orthogonal to :math:`v`.  Choosing the sign of
    :math:`x_1` makes :math:`x` and its image far apart, so forming :math:`v`
    never subtracts nearly equal numbers (Trefethen and Bau, Lecture 10).
    Forming :math:`F` costs :math:`m^2` flops; QR algorithms never form it and
    apply it as a rank-one update instead.  The vector is the one
    :func:`linalg_rnn.qr.householder_qr` uses, built from :math:`x/\\|x\\|_2`
    with a scaled norm, so it is right for every representable :math:`x`,
    however large or small (as LAPACK's ``dlarfg``).

    Taught in lesson 04 and lesson 06.

    See Also
    --------
    linalg_rnn.qr.householder_qr : a product of these reflectors gives the QR factorization.

    Examples
    --------
    >>> F = householder_reflector([3.0, 4.0])
    >>> np.round(F @ [3.0, 4.0], 12) + 0.0
    array([-5.,  0.])
    >>> np.allclose(F, F.T), is_orthogonal(F)
    (True, True)
    """
    x = as_vector(x, "x")
    # The one Householder vector of the book (scaled, so safe at every size); v = 0 for x = 0,
    # and then F = I maps x to 0 = -0 e1.
    v, _ = _householder_vector(x)
    return np.eye(x.shape[0]) - 2.0 * np.outer(v, v)


def cayley(A: np.ndarray) -> np.ndarray:
    """The Cayley transform :math:`(I + A)^{-1}(I - A)`: skew-symmetric in, orthogonal out.

    Parameters
    ----------
    A : array_like, shape (n, n)
        Square matrix.  When :math:`A^\\top = -A` the result is orthogonal;
        other matrices are accepted, and then the result is generally not
        orthogonal.

    Returns
    -------
    Q : ndarray, shape (n, n)

    Raises
    ------
    ValueError, TypeError
        If ``A`` is not a finite, square, real 2-D array.
    numpy.linalg.LinAlgError
        If :math:`I + A` is singular (never the case for skew-symmetric ``A``).

    Notes
    -----
    For skew-symmetric :math:`A` the eigenvalues are :math:`\\pm i\\omega`, so
    :math:`I + A` is invertible, and :math:`(I-A)` and :math:`(I+A)^{-1}`
    commute; then
    :math:`Q^\\top Q = (I+A)(I-A)^{-1}(I+A)^{-1}(I-A) = I`.  Every orthogonal
    matrix without eigenvalue :math:`-1` arises this way, and the map is its
    own inverse.  The Cayley parametrization of an RNN's recurrent matrix
    (Helfrich, Willmott and Ye, 2018) uses it.  Cost: one LU solve,
    about :math:`\\tfrac{8}{3}n^3` flops.

    **This is the book's one Cayley convention**, written
    :math:`\\operatorname{cay}(A)`: the lessons, the ``cayley`` init scheme
    and the trainer's ``cayley`` parametrization
    (:func:`linalg_rnn.rnn._orthogonal_maps.cayley_map`, a torch copy for
    autograd and the GPU, tested against this function) all compute this
    map of the same argument, as expRNN and scoRNN do.  Other books and
    libraries (torch's ``orthogonal`` parametrization, geotorch) use
    :math:`(I - A/2)^{-1}(I + A/2) = \\operatorname{cay}(-A/2)`, which agrees with
    :math:`e^{A}` to second order; ours agrees with :math:`e^{-2A}`.

    The solve's rounding errors are of size :math:`\\varepsilon\\|A\\|` and not
    skew, so :math:`Q` loses orthogonality as :math:`\\|A\\|` grows (order 1
    near :math:`\\|A\\| = 10^{15}` for odd :math:`n`).  An exactly skew ``A``
    (``A.T == -A``) with :math:`\\|A\\|_F > n` therefore takes another road: in
    its real Schur form each block with eigenvalues :math:`\\pm i\\omega`
    becomes the rotation with cosine :math:`(1 - \\omega^2)/(1 + \\omega^2)` and
    sine :math:`-2\\omega/(1 + \\omega^2)`, by the angle
    :math:`-2\\arctan\\omega \\in (-\\pi, \\pi)` -- so :math:`-1` is never an
    eigenvalue -- and :math:`Q` is orthogonal to within about :math:`n\\varepsilon`
    for every representable ``A`` (about :math:`25n^3` flops).

    Taught in lesson 04.

    See Also
    --------
    expm_skew : the other map from skew-symmetric to orthogonal matrices.

    Examples
    --------
    >>> A = [[0.0, 1.0], [-1.0, 0.0]]
    >>> np.round(cayley(A), 12) + 0.0
    array([[ 0., -1.],
           [ 1.,  0.]])
    >>> is_orthogonal(cayley(A)), is_orthogonal(cayley(np.multiply(A, 1e300)))
    (True, True)
    """
    A = as_square_matrix(A, "A")
    n = A.shape[0]  # ||A||_F <= n max|a_ij|: entries at most 1 never take the Schur road
    if np.max(np.abs(A)) > 1 and norm2(A) > n and np.array_equal(A, -A.T):
        return skew_function(A, cayley_rotation)  # the solve would cost orthogonality
    I = np.eye(A.shape[0])
    try:
        # Solve (I + A) Q = (I - A) rather than invert: cheaper and more accurate.
        return np.linalg.solve(I + A, I - A)
    except np.linalg.LinAlgError:
        raise np.linalg.LinAlgError(
            "cayley: I + A is singular (A has eigenvalue -1), so (I + A)^-1 does not exist; "
            "a skew-symmetric A never has this problem"
        ) from None


def expm_skew(B: np.ndarray, *, tol: float = 1e-10) -> np.ndarray:
    """The matrix exponential :math:`e^B` of a skew-symmetric ``B``, an orthogonal matrix.

    Parameters
    ----------
    B : array_like, shape (n, n)
        Skew-symmetric: :math:`B^\\top = -B`, checked up to ``tol``.
    tol : float, default 1e-10
        Accepted asymmetry, relative: :math:`\\|B + B^\\top\\|_F \\le`
        tol :math:`\\cdot \\|B\\|_F`.

    Returns
    -------
    Q : ndarray, shape (n, n)
        :math:`e^B`, orthogonal with :math:`\\det Q = +1`.

    Raises
    ------
    ValueError
        If ``B`` is not skew-symmetric (say how far it is), not square, or
        not finite; or ``tol`` is negative; or an eigenvalue
        :math:`\\pm i\\omega` of ``B`` is beyond float64.
    TypeError
        If ``B`` is not real.

    Notes
    -----
    :math:`(e^B)^\\top e^B = e^{B^\\top} e^{B} = e^{-B} e^{B} = I`, because :math:`B`
    and :math:`-B` commute.  To keep that property in floating point the
    exponential is taken through the eigendecomposition of the Hermitian
    matrix :math:`iB = V \\Lambda V^*`: with :math:`V` unitary,
    :math:`e^B = V e^{-i\\Lambda} V^*`, a product of unitary factors.
    (The exactly skew part :math:`(B - B^\\top)/2` is used.)  Cost: one
    Hermitian eigendecomposition, :math:`O(n^3)`.  This is the exponential
    parametrization of Lezcano-Casado and Martinez-Rubio (2019).

    The eigenvalues carry errors :math:`\\varepsilon\\|B\\|`, which become phase
    errors of :math:`e^{\\pm i\\omega}` that break the conjugate pairs; the real
    part then loses orthogonality like :math:`(\\varepsilon\\|B\\|)^2`, which
    passes :math:`\\varepsilon` at :math:`\\|B\\| = \\varepsilon^{-1/2} = 2^{26}`.  Beyond
    that the exponential is taken block by block of the real Schur form
    :math:`B = Q \\tilde B Q^\\top` (:math:`Q` orthogonal, :math:`\\tilde B` block
    diagonal): the 2 x 2 blocks
    :math:`\\begin{bmatrix} 0 & \\omega \\\\ -\\omega & 0 \\end{bmatrix}` become
    rotations by :math:`\\omega` and the zeros ones, so
    :math:`e^B = Q e^{\\tilde B} Q^\\top` is orthogonal, with determinant +1, to
    within about :math:`n\\varepsilon` up to the largest float.  The accepted
    asymmetry is relative, so :math:`cB` passes or fails as :math:`B` does.

    Taught in lesson 04.

    See Also
    --------
    cayley : a rational (cheaper) map with the same property.
    scipy.linalg.expm : the general matrix exponential.

    Examples
    --------
    >>> B = [[0.0, -np.pi / 2], [np.pi / 2, 0.0]]
    >>> np.round(expm_skew(B), 12) + 0.0
    array([[ 0., -1.],
           [ 1.,  0.]])
    >>> expm_skew([[1.0, 0.0], [0.0, 0.0]])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    ValueError: B must be skew-symmetric (B.T == -B); ||B + B.T||_F = 2 is larger ...
    """
    B = as_square_matrix(B, "B")
    tol = check_tol(tol, "tol")
    B_hat, e = scaled(B)  # the test is scale-free; scaled, it neither overflows nor underflows
    asym = norm2(B_hat + B_hat.T)
    if asym > tol * norm2(B_hat):
        raise ValueError(
            f"B must be skew-symmetric (B.T == -B); ||B + B.T||_F = {float(ldexp(asym, e)):.3g} is "
            f"larger than tol = {tol:g} times ||B||_F; use (B - B.T) / 2 for its skew part"
        )
    S = 0.5 * B - 0.5 * B.T  # the exactly skew part (halves first: B - B.T could overflow)
    size = float(ldexp(norm2(B_hat), e))  # ||B||_F >= omega for every eigenvalue +-i omega
    if size > 2.0**26:  # eigh's phase errors would cost orthogonality: real Schur instead
        if np.isinf(size) and np.isinf(spectral_norm(S)):
            raise ValueError("B is too large: its eigenvalues +-i omega are beyond float64, and so is exp(B)")
        return skew_function(S, lambda omega: (np.cos(omega), np.sin(omega)))
    # iS is Hermitian, so its eigenvectors V are unitary and its eigenvalues real.
    lam, V = np.linalg.eigh(1j * S)
    # S = -i (iS), so exp(S) = V exp(-i lam) V^*; every factor is unitary.
    Q = (V * np.exp(-1j * lam)) @ V.conj().T
    return np.ascontiguousarray(Q.real)


def nearest_orthogonal(W: np.ndarray) -> np.ndarray:
    """The orthogonal matrix nearest to ``W`` in Frobenius norm: the polar factor :math:`UV^\\top`.

    Parameters
    ----------
    W : array_like, shape (m, n)
        Any real matrix.

    Returns
    -------
    Q : ndarray, shape (m, n)
        :math:`UV^\\top` from the thin SVD :math:`W = U\\Sigma V^\\top`: orthogonal
        when ``W`` is square, orthonormal columns when it is tall, orthonormal
        rows when it is wide.

    Raises
    ------
    ValueError, TypeError
        If ``W`` is not a finite, non-empty, real 2-D array.

    Notes
    -----
    Among all :math:`Q` with :math:`Q^\\top Q = I` (for :math:`m \\ge n`),
    :math:`\\|W - Q\\|_F` is smallest at the polar factor :math:`Q = UV^\\top`
    (the orthogonal Procrustes problem; Higham, *Functions of Matrices*,
    Theorem 8.4), and then :math:`\\|W - Q\\|_F^2 = \\sum_i (\\sigma_i - 1)^2`.
    The QR factor of :func:`qr_orthogonalize` is also orthogonal, but it
    depends on the order of the columns and is in general farther from
    :math:`W`: a common claim that "QR projection gives the nearest
    orthogonal matrix" is wrong; lesson 04 measures both distances.  When
    :math:`W` is rank-deficient the nearest matrix is not unique and this
    returns one of them.  Cost: one SVD, about :math:`O(mn^2)` flops with a
    larger constant than QR.  :math:`W` and :math:`cW` (:math:`c > 0`) have
    the same polar factor, so :math:`W` is first scaled by a power of two to
    a largest entry in :math:`[1/2, 1)`: the result is the same, bit for bit,
    for every representable scale of :math:`W`.

    Taught in lesson 04.

    See Also
    --------
    qr_orthogonalize : cheaper, but not nearest.
    scipy.linalg.polar : the full polar decomposition W = QP.

    Examples
    --------
    >>> W = [[2.0, 0.0], [0.0, 0.5]]
    >>> nearest_orthogonal(W)
    array([[1., 0.],
           [0., 1.]])
    """
    W, _ = scaled(as_matrix(W, "W"))  # the polar factor of cW is that of W: scale to keep LAPACK central
    U, _, Vt = np.linalg.svd(W, full_matrices=False)
    return U @ Vt


def qr_orthogonalize(W: np.ndarray) -> np.ndarray:
    """The Q factor of :math:`W = QR`, signs fixed so that :math:`R` has a nonnegative diagonal.

    Parameters
    ----------
    W : array_like, shape (m, n) with m >= n
        The matrix whose columns are orthonormalized.

    Returns
    -------
    Q : ndarray, shape (m, n)
        Orthonormal columns spanning the same nested subspaces as the columns
        of ``W``.

    Raises
    ------
    ValueError, TypeError
        If ``W`` is not a finite real 2-D array, or is wide (m < n).

    Notes
    -----
    A QR routine may return :math:`Q` with any column's sign flipped (with the
    matching row of :math:`R` flipped).  Multiplying by
    :math:`D = \\mathrm{diag}(\\mathrm{sign}\\, r_{jj})` makes the factorization
    unique for full-rank :math:`W`, so the projection does not flip signs from
    one call to the next.  A zero :math:`r_{jj}` (a dependent column) counts as
    :math:`+1`, so no column of :math:`Q` is wiped out.  This is the "QR
    projection" used to pull a drifting recurrent matrix back to orthogonality.
    It is cheap (about :math:`2mn^2` flops for R plus the same to form Q),
    but it is *not* the nearest orthogonal matrix; see
    :func:`nearest_orthogonal`.  Uses LAPACK's Householder QR
    (:func:`numpy.linalg.qr`); lesson 06 builds the same factor from scratch.
    As for :func:`nearest_orthogonal`, :math:`W` is first scaled by a power
    of two, so every representable scale of :math:`W` gives the same
    :math:`Q`, bit for bit.

    Taught in lesson 04.

    See Also
    --------
    nearest_orthogonal : the nearest orthogonal matrix (polar factor).
    linalg_rnn.qr.sign_normalize : the same correction for a (Q, R) pair.

    Examples
    --------
    >>> W = [[2.0, 1.0], [0.0, -3.0]]
    >>> np.round(qr_orthogonalize(W), 12) + 0.0
    array([[ 1.,  0.],
           [ 0., -1.]])
    """
    W = as_matrix(W, "W")
    m, n = W.shape
    if m < n:
        raise ValueError(
            f"W must have at least as many rows as columns to orthonormalize its columns, "
            f"got shape {W.shape}; pass W.T to orthonormalize its rows"
        )
    W, _ = scaled(W)  # the Q of cW (c > 0) is the Q of W: scale by a power of two, exactly
    Q, R = np.linalg.qr(W, mode="reduced")
    return Q * _signs(np.diag(R))  # a zero r_jj counts as +1
