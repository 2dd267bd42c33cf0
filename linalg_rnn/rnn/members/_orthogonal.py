"""Orthogonal maps and projections of N recurrent matrices at once, each member on its own terms.

The single run's :mod:`~linalg_rnn.rnn._orthogonal_maps` and
:mod:`~linalg_rnn.rnn.strategies` act on one :math:`H \\times H` matrix; here
every function takes a stack ``(N, H, H)`` and treats each member exactly as
the single run treats its one matrix:

* the maps need nothing of their own: the book's
  :func:`~linalg_rnn.rnn._orthogonal_maps.expm_taylor` takes a stack and
  scales each member by *its own* power of two :math:`2^{s_n}` (from its
  own :math:`\\|A_n\\|_1`), squaring it :math:`s_n` times -- so member
  :math:`n` goes through the very products the single run computes -- and
  :func:`~linalg_rnn.rnn._orthogonal_maps.cayley_map`,
  :math:`(I + B)^{-1}(I - B)`, is one solve, which takes a stack;
* :func:`member_qr_project_` and :func:`member_polar_project_` factor every
  member in float64 on the CPU (batched LAPACK calls), with each member's own
  sign correction, and copy the result back in place.
"""

from __future__ import annotations

import torch

from .._orthogonal_maps import ORTHOGONAL_MAPS


def member_skew_orthogonal(X: torch.Tensor, base: torch.Tensor, orthogonal_map: str) -> torch.Tensor:
    """:math:`W_n = Q_{0,n} \\operatorname{map}(K_n - K_n^\\top)` for every member.

    Parameters
    ----------
    X : torch.Tensor
        The unconstrained matrices, ``(N, H, H)``; :math:`K_n` is the strict
        lower triangle of :math:`X_n`.
    base : torch.Tensor
        The bases :math:`Q_{0,n}`, ``(N, H, H)``.
    orthogonal_map : {"expm", "cayley"}
        As :class:`~linalg_rnn.rnn._orthogonal_maps.SkewOrthogonal`: a key of
        :data:`~linalg_rnn.rnn._orthogonal_maps.ORTHOGONAL_MAPS`, whose maps take a stack.

    Returns
    -------
    torch.Tensor
        ``(N, H, H)``, differentiable in ``X``.

    Examples
    --------
    >>> X = torch.randn(2, 3, 3, dtype=torch.float64)
    >>> W = member_skew_orthogonal(X, torch.eye(3, dtype=torch.float64).expand(2, 3, 3), "cayley")
    >>> bool(torch.allclose(W.mT @ W, torch.eye(3, dtype=torch.float64).expand(2, 3, 3)))
    True
    """
    K = X.tril(-1)
    B = K - K.mT  # skew-symmetric: map(B) is orthogonal
    Q = ORTHOGONAL_MAPS[orthogonal_map](B)
    return base @ Q


def _member_sign_corrected_qr(W: torch.Tensor) -> torch.Tensor:
    """The Q of W_n = Q_n R_n with diag(R_n) >= 0, for every member, in float64 on the CPU."""
    Q, R = torch.linalg.qr(W.detach().cpu().double())
    signs = torch.where(torch.diagonal(R, dim1=-2, dim2=-1) < 0, -1.0, 1.0).to(Q.dtype)
    return Q * signs[:, None, :]  # flips column j of member n when R_n[j, j] < 0


@torch.no_grad()
def member_qr_project_(W: torch.Tensor) -> torch.Tensor:
    """Replace every member of ``W`` by the sign-corrected Q of its QR factorization, in place.

    Parameters
    ----------
    W : torch.Tensor
        ``(N, H, H)``, a leaf the optimizer holds (its state stays attached).

    Returns
    -------
    torch.Tensor
        ``W`` itself.

    Notes
    -----
    :func:`~linalg_rnn.rnn.strategies.qr_project_` for each member, in one
    batched float64 QR on the CPU. Taught in lesson 13.

    Examples
    --------
    >>> W = torch.randn(3, 4, 4, generator=torch.Generator().manual_seed(0))
    >>> P = member_qr_project_(W)
    >>> P is W, bool(torch.allclose(W.mT @ W, torch.eye(4).expand(3, 4, 4), atol=1e-5))
    (True, True)
    """
    return W.copy_(_member_sign_corrected_qr(W))


@torch.no_grad()
def member_polar_project_(W: torch.Tensor) -> torch.Tensor:
    """Replace every member of ``W`` by its polar factor :math:`U_n V_n^\\top`, in place.

    Parameters
    ----------
    W : torch.Tensor
        ``(N, H, H)``.

    Returns
    -------
    torch.Tensor
        ``W`` itself.

    Notes
    -----
    :func:`~linalg_rnn.rnn.strategies.polar_project_` for each member, in one
    batched float64 SVD on the CPU. Taught in lesson 13.

    Examples
    --------
    >>> W = torch.randn(2, 4, 4, generator=torch.Generator().manual_seed(0))
    >>> _ = member_polar_project_(W)
    >>> bool(torch.allclose(W.mT @ W, torch.eye(4).expand(2, 4, 4), atol=1e-5))
    True
    """
    U, _, Vh = torch.linalg.svd(W.detach().cpu().double())
    return W.copy_(U @ Vh)  # copy_ converts to W's dtype and device
