"""Orthogonal parametrizations of W_hh whose gradients cost little: W = Q_0 · map(B), B skew-symmetric.

The ``expm`` and ``cayley`` strategies never let :math:`W_{hh}` leave the
orthogonal group: the optimizer moves an unconstrained matrix :math:`X`, and
the model sees

.. math:: W_{hh} = Q_0 \\, e^{B} \\quad\\text{or}\\quad
          W_{hh} = Q_0 \\, (I - B/2)^{-1}(I + B/2), \\qquad B = K - K^\\top,

where :math:`K` is the strictly lower triangle of :math:`X` (so :math:`B` is
skew-symmetric), the map is the exponential or the Cayley map in torch's
convention (both send skew-symmetric matrices to orthogonal ones) and
:math:`Q_0` is a fixed orthogonal *base*, the starting :math:`W_{hh}`
("dynamic trivialization", Lezcano-Casado 2019). :math:`X` starts at 0, so
:math:`W_{hh} = Q_0` at step 0.
This is the construction of ``torch.nn.utils.parametrizations.orthogonal``,
registered the same way (``torch.nn.utils.parametrize``), with two changes
that matter for speed:

* **the exponential is a Taylor polynomial evaluated by matrix products**
  (:func:`expm_taylor`), so autograd differentiates it at about twice the
  cost of evaluating it. ``torch.matrix_exp`` is differentiated by
  exponentiating a :math:`2n \\times 2n` block matrix -- eight times the work
  of the forward pass -- which made an ``expm`` step 1.75 times a vanilla
  step at :math:`H = 256` (``benchmarks/bench_trainer.py``);
* **the Cayley map solves without an error check**: :math:`I - B/2` is never
  singular when :math:`B` is skew-symmetric (its eigenvalues are
  :math:`1 \\mp i\\omega_j/2`), so ``torch.linalg.solve_ex`` skips the check that
  would read a flag back from a GPU every step.

The state dict has torch's names (``parametrizations.weight_hh_l0.original``
is :math:`X`, ``parametrizations.weight_hh_l0.0.base`` is :math:`Q_0`).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .._validation import check_choice
from .strategies import _sign_corrected_qr

ORTHOGONAL_MAPS = ("matrix_exp", "cayley")

# 1/k! for the Taylor polynomial of degree 19 (blocks of four terms, see expm_taylor)
_TAYLOR = [1.0 / math.factorial(k) for k in range(20)]


def expm_taylor(A: torch.Tensor) -> torch.Tensor:
    """:math:`e^A` by scaling and squaring a degree-19 Taylor polynomial, in matrix products only.

    Parameters
    ----------
    A : torch.Tensor
        A square matrix (skew-symmetric in the trainer; any matrix works).

    Returns
    -------
    torch.Tensor
        :math:`e^A`, differentiable by autograd at about twice the cost of
        the evaluation.

    Notes
    -----
    Scaling: with :math:`s = \\lceil \\log_2 \\|A\\|_1 \\rceil` (0 when
    :math:`\\|A\\|_1 \\le 1`), :math:`X = A / 2^s` has :math:`\\|X\\|_1 \\le 1`,
    where the Taylor remainder after degree 19 is below
    :math:`1/20! \\approx 4 \\times 10^{-19}`, under the unit roundoff of
    float64. Paterson--Stockmeyer evaluation: with :math:`X^2, X^3, X^4`
    formed (3 products), :math:`p(X) = \\sum_{j=0}^{4} Y_j (X^4)^j` with
    :math:`Y_j = \\sum_{i=0}^{3} X^i/(4j+i)!` is evaluated by Horner's rule in
    :math:`X^4` (4 products). Then :math:`s` squarings undo the scaling,
    :math:`e^A = (e^{X})^{2^s}`. Cost :math:`(7 + s)` products of
    :math:`n \\times n` matrices, :math:`2(7 + s)` more for the gradient.
    Reading :math:`\\|A\\|_1` to choose :math:`s` is one host read per call
    (``torch.matrix_exp`` reads its norm too). Higham, *Functions of
    Matrices*, ch. 10. Taught in lesson 12.

    Examples
    --------
    >>> import scipy.linalg
    >>> A = torch.randn(6, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    >>> bool(torch.allclose(expm_taylor(3 * A), torch.from_numpy(scipy.linalg.expm(3 * A.numpy()))))
    True
    """
    norm = torch.linalg.matrix_norm(A.detach(), ord=1).item()
    s = max(0, math.ceil(math.log2(norm))) if norm > 1 else 0
    X = A / 2**s
    powers = [torch.eye(A.shape[-1], dtype=A.dtype, device=A.device), X]
    powers.append(X @ X)
    powers.append(powers[2] @ X)  # I, X, X^2, X^3
    X4 = powers[3] @ X

    def block(j: int) -> torch.Tensor:  # Y_j = sum_i X^i / (4j + i)!
        return sum(_TAYLOR[4 * j + i] * powers[i] for i in range(4))

    P = block(4)
    for j in (3, 2, 1, 0):  # Horner's rule in X^4
        P = P @ X4 + block(j)
    for _ in range(s):  # undo the scaling: e^A = (e^(A / 2^s))^(2^s)
        P = P @ P
    return P


def cayley_map(B: torch.Tensor) -> torch.Tensor:
    """The Cayley map :math:`(I - B/2)^{-1}(I + B/2)` of a skew-symmetric matrix.

    Parameters
    ----------
    B : torch.Tensor
        Skew-symmetric, :math:`B^\\top = -B`.

    Returns
    -------
    torch.Tensor
        An orthogonal matrix with no eigenvalue at :math:`-1` (torch's
        convention for its ``cayley`` map).

    Notes
    -----
    One LU factorization and :math:`n` triangular solve pairs,
    :math:`\\tfrac{8}{3}n^3` flops; its gradient reuses the factorization.
    The solve skips its singularity check: the eigenvalues of :math:`I - B/2`
    are :math:`1 \\mp i\\omega_j/2 \\neq 0`, with :math:`\\pm i\\omega_j` those of
    :math:`B`. Taught in lesson 12.

    Examples
    --------
    >>> Z = torch.randn(5, 5, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    >>> Q = cayley_map(Z - Z.T)
    >>> bool(torch.allclose(Q.T @ Q, torch.eye(5, dtype=torch.float64)))
    True
    """
    eye = torch.eye(B.shape[-1], dtype=B.dtype, device=B.device)
    return torch.linalg.solve_ex(eye - B / 2, eye + B / 2)[0]


class SkewOrthogonal(nn.Module):
    """The parametrization :math:`X \\mapsto Q_0\\,\\operatorname{map}(K - K^\\top)` of a square weight.

    Parameters
    ----------
    orthogonal_map : {"matrix_exp", "cayley"}
        The map: :func:`expm_taylor` or :func:`cayley_map`.

    Notes
    -----
    Registered with ``torch.nn.utils.parametrize.register_parametrization``;
    :math:`K` is the strict lower triangle of :math:`X`.
    :meth:`right_inverse` runs once, at registration, and keeps the weight
    as the base :math:`Q_0` when it is orthogonal (an orthogonal init), its
    sign-corrected QR factor otherwise, and starts :math:`X` at 0. Taught in
    lesson 13.
    """

    base: torch.Tensor

    def __init__(self, orthogonal_map: str) -> None:
        super().__init__()
        self.orthogonal_map = check_choice(orthogonal_map, "orthogonal_map", ORTHOGONAL_MAPS)
        self.register_buffer("base", None)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """:math:`W = Q_0\\,\\operatorname{map}(K - K^\\top)`, :math:`K` the strict lower triangle of X."""
        K = X.tril(-1)
        B = K - K.T  # skew-symmetric: map(B) is orthogonal
        Q = expm_taylor(B) if self.orthogonal_map == "matrix_exp" else cayley_map(B)
        return self.base @ Q

    @torch.no_grad()
    def right_inverse(self, W: torch.Tensor) -> torch.Tensor:
        """Take ``W`` (or its nearest QR factor) as the base; return :math:`X = 0`."""
        n = W.shape[-1]
        W64 = W.detach().cpu().double()
        orthogonal = torch.allclose(W64.T @ W64, torch.eye(n, dtype=torch.float64),
                                    atol=10 * n * torch.finfo(W.dtype).eps)
        self.base = W.detach().clone() if orthogonal else _sign_corrected_qr(W)
        return torch.zeros_like(W)
