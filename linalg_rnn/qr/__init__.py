"""QR factorization from scratch: Gram--Schmidt, Householder (unblocked and blocked) and Givens.

Every routine here returns ``(Q, R)`` with ``Q @ R == A`` up to rounding, ``Q``
with orthonormal columns and ``R`` upper triangular with a **nonnegative
diagonal**.  With that sign convention the factorization of a full-rank
matrix is unique, so the results of different methods (and of
:func:`numpy.linalg.qr` after :func:`sign_normalize`) can be compared entry by
entry.  The methods differ in how well ``Q`` stays orthogonal in floating
point, which is what the book is about:

==============================  ======================================  ======================
method                          :math:`\\|Q^\\top Q - I\\|_2`              taught in
==============================  ======================================  ======================
classical Gram--Schmidt         :math:`\\approx c\\,\\varepsilon\\kappa^2`  lesson 05
modified Gram--Schmidt          :math:`\\approx \\varepsilon\\kappa`       lesson 05
Gram--Schmidt twice (CGS2)      :math:`\\approx \\varepsilon`              lesson 05
Householder, blocked, Givens    :math:`\\approx \\varepsilon`              lesson 06
==============================  ======================================  ======================

(:math:`\\varepsilon = 2^{-52}`, NumPy's machine epsilon; lesson 07 measures
the constant :math:`c` of classical Gram--Schmidt: a few hundredths.)  Every
routine gives the right answer for every representable input scale: ``A`` is
brought into a safe range by a power of two and norms are taken scaled, so
the factors of :math:`2^kA` are Q and :math:`2^kR`, exactly.

The loops follow Trefethen and Bau, *Numerical Linear Algebra* (SIAM, 1997),
Algorithms 7.1, 8.1, 10.1, 10.2 and 10.3; the blocked form is the compact WY
representation of Schreiber and Van Loan (SIAM J. Sci. Stat. Comput. 10, 1989)
with the recursive panel of Elmroth and Gustavson (IBM J. Res. Dev. 44, 2000).
Each idea has its own private file, re-exported here: ``_gram_schmidt.py``
(lesson 05), ``_householder.py`` and ``_blocked.py`` (lesson 06),
``_givens.py`` (lesson 06), ``_implicit.py`` (Q kept implicit) and
``_base.py`` (the sign convention and the safe range).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_choice
from ._base import EPS as EPS  # the module's constants, kept where they always were
from ._base import MODES as MODES
from ._base import _check_mode, sign_normalize
from ._blocked import blocked_householder_qr, compact_wy
from ._givens import GivensRotations, givens_qr, givens_rotations
from ._gram_schmidt import classical_gram_schmidt, modified_gram_schmidt, reorthogonalized_gram_schmidt
from ._householder import HouseholderReflectors, householder_qr, householder_reflectors
from ._implicit import apply_q, apply_qt

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
