"""Orthogonal maps and projections of N recurrent matrices at once, each member on its own terms.

The single run's :mod:`~linalg_rnn.rnn._orthogonal_maps` and
:mod:`~linalg_rnn.rnn.strategies` act on one :math:`H \\times H` matrix; here
every function takes a stack ``(N, H, H)`` and treats each member exactly as
the single run treats its one matrix:

* :func:`member_expm` scales each member by *its own* power of two
  :math:`2^{s_n}` (chosen from its own :math:`\\|A_n\\|_1`) and squares each
  member :math:`s_n` times, not the largest :math:`s` for all -- so member
  :math:`n` goes through the very products the single run computes;
* the Cayley map needs nothing of its own: the book's
  :func:`~linalg_rnn.rnn._orthogonal_maps.cayley_map`,
  :math:`(I + B)^{-1}(I - B)`, is one solve, and a solve takes a stack;
* :func:`member_qr_project_` and :func:`member_polar_project_` factor every
  member in float64 on the CPU (batched LAPACK calls), with each member's own
  sign correction, and copy the result back in place.
"""

from __future__ import annotations

import math

import torch

from .._orthogonal_maps import _TAYLOR, cayley_map


def member_expm(A: torch.Tensor) -> torch.Tensor:
    """:math:`e^{A_n}` of every member, by its own scaling and squaring (degree-19 Taylor).

    Parameters
    ----------
    A : torch.Tensor
        Shape ``(N, H, H)``.

    Returns
    -------
    torch.Tensor
        Shape ``(N, H, H)``; differentiable by autograd.

    Notes
    -----
    :func:`~linalg_rnn.rnn._orthogonal_maps.expm_taylor` for each member:
    :math:`s_n = \\lceil \\log_2 \\|A_n\\|_1 \\rceil` (0 when the norm is at most
    1), the Paterson--Stockmeyer polynomial of :math:`A_n / 2^{s_n}`, then
    :math:`\\max_n s_n` rounds of squaring in which member :math:`n` takes the
    square only in its first :math:`s_n` rounds. The :math:`N` norms are read
    back to the host together, in one transfer. Taught in lesson 12.

    Examples
    --------
    >>> import scipy.linalg
    >>> g = torch.Generator().manual_seed(0)
    >>> scale = torch.tensor([0.1, 1.0, 8.0], dtype=torch.float64)[:, None, None]
    >>> A = torch.randn(3, 5, 5, generator=g, dtype=torch.float64) * scale
    >>> E = member_expm(A)
    >>> all(torch.allclose(E[n], torch.from_numpy(scipy.linalg.expm(A[n].numpy()))) for n in range(3))
    True
    """
    norms = torch.linalg.matrix_norm(A.detach(), ord=1).tolist()  # one read for every member
    s = [max(0, math.ceil(math.log2(norm))) if norm > 1 else 0 for norm in norms]
    scale = torch.tensor([2.0**k for k in s], dtype=A.dtype, device=A.device)
    X = A / scale[:, None, None]
    powers = [torch.eye(A.shape[-1], dtype=A.dtype, device=A.device), X]
    powers.append(X @ X)
    powers.append(powers[2] @ X)  # I, X, X^2, X^3
    X4 = powers[3] @ X

    def block(j: int) -> torch.Tensor:  # Y_j = sum_i X^i / (4j + i)!
        return sum(_TAYLOR[4 * j + i] * powers[i] for i in range(4))

    P = block(4)
    for j in (3, 2, 1, 0):  # Horner's rule in X^4
        P = P @ X4 + block(j)
    squarings = torch.tensor(s, device=A.device)[:, None, None]
    for k in range(max(s, default=0)):  # member n is squared in rounds 0 .. s_n - 1 only
        P = torch.where(squarings > k, P @ P, P)
    return P


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
        As :class:`~linalg_rnn.rnn._orthogonal_maps.SkewOrthogonal`: :func:`member_expm`,
        or :func:`~linalg_rnn.rnn._orthogonal_maps.cayley_map` (which takes a stack as it is).

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
    Q = member_expm(B) if orthogonal_map == "expm" else cayley_map(B)
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
