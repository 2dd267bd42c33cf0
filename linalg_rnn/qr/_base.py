"""What every QR factorization here shares: the sign convention, the modes, the safe range of float64.

Three pieces of bookkeeping would otherwise be written into every algorithm:

* the **sign convention**: ``R`` has a nonnegative diagonal, so a full-rank
  factorization is unique (:func:`sign_normalize`);
* the **modes**: ``"reduced"`` (Q is m x p, ``p = min(m, n)``) or
  ``"complete"`` (Q is m x m);
* the **safe range**: every routine first multiplies ``A`` by a power of two
  that brings its largest entry into :math:`[2^{-900}, 2^{1000}]` and takes
  every norm scaled (:func:`linalg_rnn._scaling.norm2`), the way LAPACK's
  drivers (``dlascl``) and ``dnrm2`` do.  A power of two is an exact scaling, so this changes no
  digit of the answer; it only keeps squares and intermediate sums away from
  overflow (:math:`> 1.8 \\times 10^{308}`) and from the subnormal range
  (:math:`< 2.2 \\times 10^{-308}`), where float64 loses digits.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import as_float_array, as_matrix, check_choice

MODES = ("reduced", "complete")
EPS = np.finfo(np.float64).eps  # NumPy's machine epsilon 2^-52 (Trefethen and Bau's eps_machine is 2^-53)

# The band that every factorization works in.  Below 2^-900, values of the size of
# rounding (eps^2 times an entry, about 2^-104 of it) would reach the subnormal range;
# above 2^1000, a column norm (at most sqrt(m) times an entry) or an update could overflow.
SAFE_MIN = 2.0**-900
SAFE_MAX = 2.0**1000


def _into_safe_range(A: np.ndarray) -> tuple[np.ndarray, int]:
    """``A * 2**shift`` with max|entry| in [SAFE_MIN, SAFE_MAX], and ``shift`` (0 if already there).

    Multiplying by a power of two is exact unless an entry leaves the float64
    range, so the factorization of the scaled matrix is the exactly scaled
    factorization of ``A``: Q is unchanged and R is divided by ``2**shift``.
    Scaling up loses nothing; scaling down moves the largest entry only as
    far as ``SAFE_MAX``, so only entries below about 2^-1050 of a matrix with
    an entry above 2^1000 can be flushed to zero.
    """
    largest = float(np.abs(A).max())
    if largest == 0.0 or SAFE_MIN <= largest <= SAFE_MAX:
        return A, 0
    exponent = np.frexp(largest)[1]  # largest = f * 2**exponent with 0.5 <= f < 1
    target = np.frexp(SAFE_MIN)[1] if largest < SAFE_MIN else np.frexp(SAFE_MAX)[1] - 1
    shift = int(target - exponent)
    return np.ldexp(A, shift), shift


def _undo_scaling(R: np.ndarray, shift: int) -> np.ndarray:
    """``R * 2**-shift``, rounded once (an entry below 2^-1022 keeps what bits the subnormals have)."""
    return np.ldexp(R, -shift) if shift else R


def _signs(diagonal: np.ndarray) -> np.ndarray:
    """+1 or -1 per entry, with 0 counted as +1 (so a zero pivot never flips or wipes anything)."""
    return np.where(diagonal < 0, -1.0, 1.0)


def _signed_r(A: np.ndarray, shift: int) -> tuple[np.ndarray, np.ndarray]:
    """The diagonal signs of a triangularized (scaled) ``A``; R made nonnegative there, scaled back.

    R is the upper triangle of the first ``p = min(m, n)`` rows.  The signs
    are taken before the scaling is undone, which can round a tiny
    :math:`r_{jj}` to zero and lose its sign.
    """
    R = np.triu(A[: min(A.shape)])
    signs = _signs(np.diag(R))
    return signs, _undo_scaling(R * signs[:, None], shift)


def _signed_rows(X: np.ndarray, signs: np.ndarray) -> np.ndarray:
    """Multiply row i of ``X`` (a vector or a matrix) by ``signs[i]`` for i < len(signs), in place."""
    p = len(signs)
    X[:p] *= signs.reshape((p,) + (1,) * (X.ndim - 1))
    return X


def _check_mode(mode: str) -> str:
    return check_choice(mode, "mode", MODES)


def _pad_r(R: np.ndarray, m: int, mode: str) -> np.ndarray:
    """The reduced R (p x n) as returned in ``mode``: padded with zero rows to m x n for "complete"."""
    if mode == "reduced" or R.shape[0] == m:
        return R
    return np.vstack([R, np.zeros((m - R.shape[0], R.shape[1]))])


def _as_rhs(B: Any, rows: tuple[int, ...], name: str) -> np.ndarray:
    """A float64 copy of a vector or matrix whose first dimension is one of ``rows``."""
    B = as_float_array(B, name)
    if B.ndim not in (1, 2):
        raise ValueError(f"{name} must be a vector or a matrix, got an array with shape {B.shape}")
    if B.shape[0] not in rows:
        allowed = " or ".join(str(r) for r in sorted(set(rows)))
        raise ValueError(f"{name} must have {allowed} rows to match Q, got shape {B.shape}")
    return B


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
    its diagonal (complete mode, tall ``A``) are left alone.  Flipping a sign
    is exact, at every scale.

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
