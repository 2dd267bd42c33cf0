"""Orthogonal parametrizations of W_hh whose gradients cost little: W_hh = Q_0 map(B), B skew-symmetric.

The ``expm`` and ``cayley`` strategies never let :math:`W_{hh}` leave the
orthogonal group: the optimizer moves an unconstrained matrix :math:`X`, and
the model sees

.. math:: W_{hh} = Q_0 \\, e^{B} \\quad\\text{or}\\quad
          W_{hh} = Q_0 \\operatorname{cay}(B) = Q_0 \\, (I + B)^{-1}(I - B),
          \\qquad B = K - K^\\top,

where :math:`K` is the strictly lower triangle of :math:`X` (so :math:`B` is
skew-symmetric), the map is the exponential or the Cayley map -- in the
book's one convention, that of :func:`linalg_rnn.orthogonal.cayley` -- and
:math:`Q_0` is a fixed orthogonal *base*. The letters are the book's
(``docs/notation.rst``): :math:`B` the skew-symmetric matrix, :math:`Q_0` the
orthogonal matrix it starts from. The maps are keyed by the word the user
types, as geotorch keys its trivializations: :data:`ORTHOGONAL_MAPS` is
``{"expm": expm_taylor, "cayley": cayley_map}``.

Where the parametrization starts (:func:`skew_init`, :meth:`SkewOrthogonal.right_inverse`):

* from a weight (the default): :math:`Q_0` is that weight (its QR factor if
  it is not orthogonal) and :math:`X = 0`, so :math:`B = 0` at step 0;
* from a skew matrix :math:`B_0` (``init_scheme`` ``henaff`` or ``cayley``), as
  expRNN starts (Lezcano-Casado & Martínez-Rubio 2019): :math:`Q_0 = I` and
  :math:`B = B_0`, so :math:`W_{hh} = \\operatorname{map}(B_0)` and the
  parameter itself is where the eigenvalue angles live.

Every ``K`` steps the trainer may fold :math:`\\operatorname{map}(B)` into the
base (:meth:`SkewOrthogonal.rebase_`, Lezcano-Casado 2019's *dynamic
trivialization*).

This is the construction of ``torch.nn.utils.parametrizations.orthogonal``,
registered the same way (``torch.nn.utils.parametrize``), with changes that
matter:

* **the exponential is a Taylor polynomial evaluated by matrix products**
  (:func:`expm_taylor`), so autograd differentiates it at about twice the
  cost of evaluating it. ``torch.matrix_exp`` is differentiated by
  exponentiating a :math:`2n \\times 2n` block matrix -- eight times the work
  of the forward pass -- which made an ``expm`` step 1.75 times a vanilla
  step at :math:`H = 256` (``benchmarks/bench_trainer.py``);
* **the Cayley map is the book's** (torch's and geotorch's is
  :math:`(I - B/2)^{-1}(I + B/2) = \\operatorname{cay}(-B/2)`), and it solves
  without an error check: :math:`I + B` is never singular when :math:`B` is
  skew-symmetric (its eigenvalues are :math:`1 \\pm i\\omega_j`), so
  ``torch.linalg.solve_ex`` skips the check that would read a flag back from
  a GPU every step.

Since :math:`\\operatorname{cay}(B) = e^{-2B} + O(\\|B\\|^3)`, the same step in
:math:`B` moves a ``cayley`` :math:`W_{hh}` about twice as far as an ``expm``
one near :math:`B = 0` (the gradient, taken through the map, accounts for
the direction).

The state dict has torch's names (``parametrizations.weight_hh_l0.original``
is :math:`X`, ``parametrizations.weight_hh_l0.0.base`` is :math:`Q_0`).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .._validation import check_choice, check_int
from ..orthogonal import nearest_orthogonal, orthogonality_error, qr_orthogonalize

__all__ = ["ORTHOGONAL_MAPS", "SKEW_INIT_SCHEMES", "SkewOrthogonal", "cayley_map", "expm_taylor", "skew_init"]

# 1/k! for the Taylor polynomial of degree 19 (blocks of four terms, see expm_taylor)
_TAYLOR = [1.0 / math.factorial(k) for k in range(20)]


def expm_taylor(A: torch.Tensor) -> torch.Tensor:
    """:math:`e^A` by scaling and squaring a degree-19 Taylor polynomial, in matrix products only.

    Parameters
    ----------
    A : torch.Tensor
        A square matrix (skew-symmetric in the trainer; any matrix works),
        or a stack of them ``(..., n, n)`` -- the members of a batched run
        (:mod:`~linalg_rnn.rnn.members`).

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
    (``torch.matrix_exp`` reads its norm too). A stack is exponentiated
    matrix by matrix on its own terms: each scaled by *its own*
    :math:`2^{s_k}` and squared :math:`s_k` times (in the rounds
    :math:`0 \\ldots \\max_k s_k - 1`, a matrix takes the square only in
    its first :math:`s_k`), so each goes through the very products it
    would alone; the norms come back to the host in one read. Higham,
    *Functions of Matrices*, ch. 10. Taught in lesson 12.

    Examples
    --------
    >>> import scipy.linalg
    >>> A = torch.randn(6, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    >>> bool(torch.allclose(expm_taylor(3 * A), torch.from_numpy(scipy.linalg.expm(3 * A.numpy()))))
    True
    >>> stack = torch.stack([0.1 * A, 3 * A, 8 * A])  # scaled 2^0, 2^4 and 2^6: each on its own terms
    >>> all(torch.equal(e, expm_taylor(a)) for e, a in zip(expm_taylor(stack), stack))
    True
    """
    norm = torch.linalg.matrix_norm(A.detach(), ord=1)
    norms = [norm.item()] if norm.dim() == 0 else norm.reshape(-1).tolist()  # one host read
    s = [max(0, math.ceil(math.log2(norm))) if norm > 1 else 0 for norm in norms]
    if len(s) == 1:  # one matrix: its power of two as a Python number
        X, rounds = A / 2 ** s[0], None
    else:  # a stack: one number per matrix, broadcast over its entries
        shape = A.shape[:-2] + (1, 1)
        X = A / torch.tensor([2.0**k for k in s], dtype=A.dtype, device=A.device).reshape(shape)
        rounds = torch.tensor(s, device=A.device).reshape(shape)
    powers = [torch.eye(A.shape[-1], dtype=A.dtype, device=A.device), X]
    powers.append(X @ X)
    powers.append(powers[2] @ X)  # I, X, X^2, X^3
    X4 = powers[3] @ X

    def block(j: int) -> torch.Tensor:  # Y_j = sum_i X^i / (4j + i)!
        return sum(_TAYLOR[4 * j + i] * powers[i] for i in range(4))

    P = block(4)
    for j in (3, 2, 1, 0):  # Horner's rule in X^4
        P = P @ X4 + block(j)
    for k in range(max(s)):  # undo the scaling, e^A = (e^(A / 2^s))^(2^s): matrix m in rounds k < s_m
        P = P @ P if rounds is None else torch.where(rounds > k, P @ P, P)
    return P


def cayley_map(B: torch.Tensor) -> torch.Tensor:
    """The Cayley map :math:`\\operatorname{cay}(B) = (I + B)^{-1}(I - B)` of a skew-symmetric matrix.

    Parameters
    ----------
    B : torch.Tensor
        Skew-symmetric, :math:`B^\\top = -B`.

    Returns
    -------
    torch.Tensor
        An orthogonal matrix with no eigenvalue at :math:`-1`: the same
        function as :func:`linalg_rnn.orthogonal.cayley` of the same
        argument (the book's one convention), in torch, so that autograd
        and a GPU can run it.

    Notes
    -----
    One LU factorization and :math:`n` triangular solve pairs,
    :math:`\\tfrac{8}{3}n^3` flops; its gradient reuses the factorization.
    The solve skips its singularity check: the eigenvalues of :math:`I + B`
    are :math:`1 \\pm i\\omega_j \\neq 0`, with :math:`\\pm i\\omega_j` those of
    :math:`B`. A block :math:`\\begin{pmatrix} 0 & w \\\\ -w & 0 \\end{pmatrix}`
    of :math:`B` becomes the rotation by the angle :math:`-2\\arctan w`.
    expRNN's ``cayley_map`` and scoRNN use this convention; torch and
    geotorch use :math:`(I - B/2)^{-1}(I + B/2) = \\operatorname{cay}(-B/2)`.
    Taught in lesson 12.

    Examples
    --------
    >>> import numpy as np
    >>> from linalg_rnn.orthogonal import cayley
    >>> Z = torch.randn(5, 5, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    >>> Q = cayley_map(Z - Z.T)
    >>> bool(torch.allclose(Q.T @ Q, torch.eye(5, dtype=torch.float64)))
    True
    >>> bool(np.allclose(Q.numpy(), cayley((Z - Z.T).numpy())))  # the book's function
    True
    """
    eye = torch.eye(B.shape[-1], dtype=B.dtype, device=B.device)
    return torch.linalg.solve_ex(eye + B, eye - B)[0]


#: The maps from skew-symmetric to orthogonal matrices, keyed by the strategy's name.
ORTHOGONAL_MAPS = {"expm": expm_taylor, "cayley": cayley_map}

#: The init schemes that give a starting skew matrix :math:`B_0` (:func:`skew_init`).
SKEW_INIT_SCHEMES = ("henaff", "cayley")


def skew_init(
    n: int, scheme: str, *, generator: torch.Generator | None = None, device: torch.device | str | None = None
) -> torch.Tensor:
    """A block-diagonal skew-symmetric :math:`B_0` to start a parametrization from, as expRNN draws it.

    Parameters
    ----------
    n : int
        Size.
    scheme : {"henaff", "cayley"}
        * ``henaff`` (Henaff, Szlam & LeCun 2016): blocks
          :math:`\\begin{pmatrix} 0 & -\\theta_k \\\\ \\theta_k & 0 \\end{pmatrix}`,
          :math:`\\theta_k` uniform in :math:`[-\\pi, \\pi]`, so
          :math:`e^{B_0}` is :func:`~linalg_rnn.rnn.strategies.orthogonal_matrix`'s
          ``henaff`` matrix (the same draws), with eigenvalues
          :math:`e^{\\pm i\\theta_k}`;
        * ``cayley`` (Helfrich, Willmott & Ye 2018, scoRNN): blocks
          :math:`\\begin{pmatrix} 0 & w_k \\\\ -w_k & 0 \\end{pmatrix}`,
          :math:`w_k = -\\tan(t_k/2)`, :math:`t_k` uniform in
          :math:`[0, \\pi/2]`, so :math:`\\operatorname{cay}(B_0)` is
          ``orthogonal_matrix``'s ``cayley`` matrix, with eigenvalues
          :math:`e^{\\pm i t_k}`.

        A last row and column of zeros when ``n`` is odd (the eigenvalue 1).
    generator : torch.Generator, optional
        Source of randomness; torch's global one if ``None``.
    device : torch.device or str, optional
        Of the result (the draw happens on the generator's device).

    Returns
    -------
    torch.Tensor
        :math:`B_0`, float64, :math:`B_0^\\top = -B_0`.

    Raises
    ------
    ValueError
        For another scheme, or ``n < 1``.

    Notes
    -----
    expRNN (``initialization.py``: ``henaff_init_``, ``cayley_init_``,
    ``create_diag_``) and nnRNN draw the skew matrix this way and start the
    parametrization at :math:`W_{hh} = \\operatorname{map}(B_0)` with base
    :math:`I`; scoRNN's ``cayley`` blocks are these, with
    :math:`w_k = -\\sqrt{(1 - \\cos t_k)/(1 + \\cos t_k)} = -\\tan(t_k/2)`. Either
    map may take either start: :math:`e^{B_0}` of the ``cayley`` blocks has
    the angles :math:`\\tan(t_k/2) \\in [0, 1]`, :math:`\\operatorname{cay}(B_0)`
    of the ``henaff`` blocks the angles :math:`2\\arctan\\theta_k`.

    Examples
    --------
    >>> B0 = skew_init(5, "henaff", generator=torch.Generator().manual_seed(0))
    >>> bool(torch.equal(B0.T, -B0)), B0.shape
    (True, torch.Size([5, 5]))
    >>> angles = torch.linalg.eigvals(cayley_map(skew_init(6, "cayley"))).angle().abs()
    >>> bool(angles.max() <= math.pi / 2)
    True
    """
    n = check_int(n, "n", minimum=1)
    check_choice(scheme, "skew init scheme", SKEW_INIT_SCHEMES)
    gen_device = generator.device if generator is not None else device
    u = torch.rand(n // 2, generator=generator, device=gen_device, dtype=torch.float64)
    if scheme == "henaff":
        upper = -(u * 2 - 1) * math.pi  # B0[2k, 2k+1] = -theta_k: e^B0 rotates by +theta_k
    else:
        upper = -torch.tan(u * (math.pi / 2) / 2)  # w_k = -tan(t_k / 2), t_k in [0, pi/2]
    B0 = torch.zeros(n, n, dtype=torch.float64, device=gen_device)
    k = torch.arange(n // 2, device=gen_device)
    B0[2 * k, 2 * k + 1] = upper
    B0[2 * k + 1, 2 * k] = -upper
    return B0 if device is None else B0.to(device)


class SkewOrthogonal(nn.Module):
    """The parametrization :math:`X \\mapsto Q_0\\,\\operatorname{map}(K - K^\\top)` of a square weight.

    Parameters
    ----------
    orthogonal_map : {"expm", "cayley"}
        The map, a key of :data:`ORTHOGONAL_MAPS`: :func:`expm_taylor` or
        :func:`cayley_map`.

    Notes
    -----
    Registered with ``torch.nn.utils.parametrize.register_parametrization``;
    :math:`K` is the strict lower triangle of :math:`X`.
    :meth:`right_inverse` runs once, at registration, and keeps the weight
    as the base :math:`Q_0` when it is orthogonal (an orthogonal init), its
    sign-corrected QR factor otherwise, and starts :math:`X` at 0.
    :meth:`rebase_` folds :math:`\\operatorname{map}(B)` into the base.
    Taught in lesson 13.

    Examples
    --------
    >>> p = SkewOrthogonal("cayley")
    >>> X = p.right_inverse(torch.eye(3))            # base I, X = 0
    >>> torch.equal(p(X), torch.eye(3))
    True
    """

    base: torch.Tensor

    def __init__(self, orthogonal_map: str) -> None:
        super().__init__()
        self.orthogonal_map = check_choice(orthogonal_map, "orthogonal_map", ORTHOGONAL_MAPS)
        self.register_buffer("base", None)

    @staticmethod
    def skew(X: torch.Tensor) -> torch.Tensor:
        """:math:`B = K - K^\\top`, :math:`K` the strict lower triangle of ``X``."""
        K = X.tril(-1)
        return K - K.T

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """:math:`W = Q_0\\,\\operatorname{map}(B)`, :math:`B = K - K^\\top`."""
        return self.base @ ORTHOGONAL_MAPS[self.orthogonal_map](self.skew(X))

    @torch.no_grad()
    def right_inverse(self, W: torch.Tensor) -> torch.Tensor:
        """Take ``W`` (or its sign-corrected QR factor) as the base; return :math:`X = 0`."""
        n = W.shape[-1]
        W64 = W.detach().cpu().double().numpy()
        if orthogonality_error(W64) <= 10 * n * torch.finfo(W.dtype).eps:
            self.base = W.detach().clone()
        else:  # the textbook QR projection, on a float64 CPU copy
            self.base = torch.from_numpy(qr_orthogonalize(W64)).to(dtype=W.dtype, device=W.device)
        return torch.zeros_like(W)

    @torch.no_grad()
    def rebase_(self, X: torch.Tensor) -> None:
        """Fold :math:`\\operatorname{map}(B)` into the base and zero ``X``, in place: W is unchanged.

        ``X`` is the parametrization's ``original`` (the optimizer's
        parameter); it stays the same object, so the optimizer keeps its
        state for it. The new base is :math:`Q_0\\,\\operatorname{map}(B)`
        computed in float64 on the CPU, then put back on the orthogonal
        group by the polar factor (:func:`linalg_rnn.orthogonal.nearest_orthogonal`,
        which moves it the least), so rounding cannot pile up over many
        re-basings.
        """
        base64, X64 = self.base.detach().cpu().double(), X.detach().cpu().double()
        W64 = base64 @ ORTHOGONAL_MAPS[self.orthogonal_map](self.skew(X64))
        self.base.copy_(torch.from_numpy(nearest_orthogonal(W64.numpy())))
        X.zero_()
