"""Functions of a skew-symmetric matrix, block by block of its real Schur form.

The far-from-textbook road of :func:`linalg_rnn.orthogonal.cayley` and
:func:`linalg_rnn.orthogonal.expm_skew`, for matrices so large that an LU
solve or a Hermitian eigendecomposition would cost orthogonality: a product of
orthogonal factors stays orthogonal at every scale.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.linalg

from ._scaling import ldexp, scaled

__all__ = ["cayley_rotation", "skew_function"]


def skew_function(S: np.ndarray, rotation: Callable[[float], tuple[float, float]]) -> np.ndarray:
    """exp or Cayley of a skew ``S`` as :math:`Z R Z^\\top`, from its real Schur form :math:`Z T Z^\\top`.

    :math:`T` is block diagonal (S is normal): each 2 x 2 block with
    eigenvalues :math:`\\pm i\\omega` becomes the rotation whose cosine and
    sine are ``rotation(omega)``, each 1 x 1 block (eigenvalue 0) becomes 1.
    The Schur form of :math:`2^{-e}S` has the same :math:`Z`: scale, then
    scale :math:`\\omega` back.

    Examples
    --------
    >>> import scipy.linalg
    >>> S = np.array([[0.0, 2.0, 0.0], [-2.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
    >>> Q = skew_function(S, lambda omega: (np.cos(omega), np.sin(omega)))  # the exponential
    >>> np.allclose(Q, scipy.linalg.expm(S)), np.allclose(Q.T @ Q, np.eye(3))
    (True, True)
    """
    S, e = scaled(S)
    T, Z = scipy.linalg.schur(S, output="real")
    R = np.eye(S.shape[0])
    j = 0
    while j < S.shape[0]:
        if j + 1 < S.shape[0] and T[j + 1, j] != 0:  # a 2 x 2 block: eigenvalues +-i omega
            c, s = rotation(float(ldexp((T[j, j + 1] - T[j + 1, j]) / 2, e)))
            R[j : j + 2, j : j + 2] = [[c, s], [-s, c]]
            j += 2
        else:  # a 1 x 1 block: the eigenvalue 0, which both maps send to 1
            j += 1
    return Z @ R @ Z.T


def cayley_rotation(omega: float) -> tuple[float, float]:
    """Cosine and sine of the Cayley transform of [[0, w], [-w, 0]]: (1 - w)(1 + w)/(1 + w^2), -2w/(1 + w^2).

    No angle (a rounded pi would spoil tiny entries), no cancellation near w = 1, no overflow of w^2.

    Examples
    --------
    >>> cayley_rotation(0.5)  # the first row of cay([[0, 0.5], [-0.5, 0]]) = [[0.6, -0.8], [0.8, 0.6]]
    (0.6, -0.8)
    >>> cayley_rotation(1e300)  # no overflow of w^2: the rotation by almost -pi
    (-1.0, -2e-300)
    """
    if abs(omega) <= 2.0**500:
        return (1 - omega) * (1 + omega) / (1 + omega**2), -2 * omega / (1 + omega**2)
    t = 1 / omega  # |t| < 2^-500: t^2 is below rounding next to 1
    return -1.0, -2 * t
