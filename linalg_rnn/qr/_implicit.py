"""Q kept implicit: the product of the elementary transforms that triangularized A.

Householder QR (a list of reflectors) and Givens QR (a list of rotations) both
end with :math:`Q^\\top A = R`, where :math:`Q^\\top` is a product of simple orthogonal
matrices and a diagonal of signs.  Multiplying by :math:`Q` or :math:`Q^\\top`
never needs :math:`Q` itself: apply the transforms, in one order or the
other.  What the two share (the signs, padding a reduced right-hand side,
forming Q and R) is written once, in :class:`_ImplicitQR`; each factorization
supplies only its two loops.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ._base import _as_rhs, _check_mode, _pad_r, _signed_rows

if TYPE_CHECKING:
    from ._givens import GivensRotations
    from ._householder import HouseholderReflectors


class _ImplicitQR:
    """Q = (product of transforms) @ diag(signs, I), and R; a subclass says how to apply the transforms.

    A subclass is a dataclass with the fields ``signs`` (p,), ``R`` (p, n)
    and ``shape`` (m, n), and the two loops ``_transforms`` (:math:`X \\mapsto
    G_1 \\cdots G_k X`, last transform first) and ``_transforms_t``
    (:math:`B \\mapsto G_k^\\top \\cdots G_1^\\top B`, first transform first), both in
    place on a float64 array whose first dimension is m.
    """

    signs: np.ndarray
    R: np.ndarray
    shape: tuple[int, int]

    def _transforms(self, X: np.ndarray) -> np.ndarray:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def _transforms_t(self, B: np.ndarray) -> np.ndarray:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def apply_qt(self, B: Any) -> np.ndarray:
        """:math:`Q^\\top B` without forming Q; see :func:`apply_qt`."""
        B = _as_rhs(B, (self.shape[0],), "B")
        # Q.T = diag(signs, I) G_k.T ... G_1.T: the transforms first, the signs last.
        return _signed_rows(self._transforms_t(B), self.signs)

    def apply_q(self, X: Any) -> np.ndarray:
        """:math:`Q X` without forming Q; see :func:`apply_q`."""
        m = self.shape[0]
        p = len(self.signs)
        X = _as_rhs(X, (m, p), "X")
        if X.shape[0] == p and p < m:  # reduced Q: pad with zero rows to full length
            X = np.concatenate([X, np.zeros((m - p,) + X.shape[1:])])
        # Q = G_1 ... G_k diag(signs, I): the signs first, then the transforms.
        return self._transforms(_signed_rows(X, self.signs))

    def form_q(self, mode: str = "reduced") -> np.ndarray:
        """The matrix Q, shape (m, p) for ``"reduced"`` or (m, m) for ``"complete"``."""
        mode = _check_mode(mode)
        m = self.shape[0]
        return self.apply_q(np.eye(m, m if mode == "complete" else len(self.signs)))

    def form_r(self, mode: str = "reduced") -> np.ndarray:
        """The matrix R, shape (p, n) for ``"reduced"`` or (m, n) for ``"complete"``."""
        return _pad_r(self.R.copy(), self.shape[0], _check_mode(mode))


def _implicit_factor(factors: Any, name: str) -> _ImplicitQR:
    if not isinstance(factors, _ImplicitQR):
        raise TypeError(
            f"{name} must come from householder_reflectors(A) or givens_rotations(A), "
            f"got {type(factors).__name__}"
        )
    return factors


def apply_qt(factors: HouseholderReflectors | GivensRotations, B: np.ndarray) -> np.ndarray:
    """:math:`Q^\\top B` from an implicit QR, without forming Q (Trefethen and Bau, Algorithm 10.2).

    Parameters
    ----------
    factors : HouseholderReflectors or GivensRotations
        From :func:`householder_reflectors` or :func:`givens_rotations`.
    B : array_like, shape (m,) or (m, k)
        A vector or a matrix with as many rows as the factored matrix.

    Returns
    -------
    ndarray, same shape as ``B``
        :math:`Q^\\top B` with the complete (m x m) :math:`Q`: the first
        ``min(m, n)`` rows are the reduced :math:`Q^\\top B`.

    Raises
    ------
    ValueError, TypeError
        If ``B`` is not finite real numbers or has the wrong number of rows,
        or ``factors`` is not an implicit QR.

    Notes
    -----
    For Householder, :math:`y \\leftarrow y - 2v_k(v_k^\\top y)` for each
    column :math:`y` of ``B`` and :math:`k = 1, \\dots, n`: about
    :math:`4mn - 2n^2` flops per column, against :math:`2m^2` for multiplying
    by a formed :math:`Q^\\top`.  This is how least squares
    :math:`\\min\\|Ax - y\\|` is solved: :math:`Rx = (Q^\\top y)_{1:n}`.

    Taught in lesson 06.

    See Also
    --------
    apply_q : the product with Q.

    Examples
    --------
    >>> from linalg_rnn.qr import householder_reflectors
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
    For Householder, :math:`x \\leftarrow x - 2v_k(v_k^\\top x)` for
    :math:`k = n, \\dots, 1` (the reverse order of :func:`apply_qt`):
    :math:`Q = F_1 \\cdots F_n`.  Applying it to the columns of the identity
    forms Q.

    Taught in lesson 06.

    See Also
    --------
    apply_qt : the product with Q transposed.

    Examples
    --------
    >>> from linalg_rnn.qr import householder_reflectors
    >>> A = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    >>> F = householder_reflectors(A)
    >>> np.allclose(apply_q(F, F.R), A)
    True
    >>> np.allclose(apply_q(F, np.eye(3)), F.form_q("complete"))
    True
    """
    return _implicit_factor(factors, "factors").apply_q(X)
