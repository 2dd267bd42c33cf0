"""modReLU, the activation of the orthogonal RNNs, and its recurrence with a hand-written backward pass.

For a real pre-activation :math:`z` and a learned bias :math:`b` per unit,

.. math:: \\operatorname{modReLU}(z) = \\operatorname{sign}(z)\\,\\max(|z| + b,\\ 0),

the real case of Arjovsky, Shah & Bengio's (2016) activation for complex
units, :math:`\\operatorname{modReLU}(z) = \\frac{z}{|z|}\\max(|z| + b, 0)`: it
keeps the sign (the phase) and shrinks the size by :math:`-b`, switching a
unit off when :math:`|z| \\le -b`. Where it is on its derivative is 1, so
unlike tanh it does not shrink the gradient that BPTT carries back through
an orthogonal :math:`W_{hh}` (lesson 09's factors :math:`D_i W_{hh}` have
:math:`D_i` a 0/1 diagonal). expRNN, scoRNN, nnRNN and geotorch's examples
train their orthogonal RNNs with it.

``torch.rnn_tanh`` -- the fused kernel -- has no modReLU, so the recurrence
runs as a Python loop. :func:`modrelu_recurrence` is that loop with its
backward pass written out (BPTT as lesson 09 prints it), so autograd records
one node for the whole sequence instead of seven per timestep: measured on
one CPU thread at :math:`H = 64`, batch 64, it trains about as fast as tanh
on the fused kernel, and the autograd loop about twice as slow
(``benchmarks/bench_modrelu.py`` prints the ratios).
"""

from __future__ import annotations

import torch

__all__ = ["modrelu", "modrelu_recurrence"]


def modrelu(z: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """:math:`\\operatorname{sign}(z)\\max(|z| + b, 0)`, elementwise, with ``bias`` :math:`b` per unit.

    Parameters
    ----------
    z : torch.Tensor
        Pre-activations, the units in the last dimension.
    bias : torch.Tensor
        :math:`b`, one per unit (broadcast over the leading dimensions).

    Returns
    -------
    torch.Tensor
        Same shape as ``z``; 0 where :math:`|z| \\le -b` or :math:`z = 0`.

    Notes
    -----
    As expRNN's ``modrelu`` (``orthogonal.py``) and scoRNN's cell compute
    it. Arjovsky, Shah & Bengio (2016). Taught in lesson 12.

    Examples
    --------
    >>> modrelu(torch.tensor([-2.0, -0.5, 0.0, 0.5, 2.0]), torch.tensor(-1.0))
    tensor([-1., -0., 0., 0., 1.])
    """
    return torch.sign(z) * torch.relu(z.abs() + bias)


class _ModReLURecurrence(torch.autograd.Function):
    """:math:`h_t = \\operatorname{modReLU}(a_t + W_{hh} h_{t-1})` for all t, backward by hand."""

    @staticmethod
    def forward(ctx, drive: torch.Tensor, h0: torch.Tensor, W_hh: torch.Tensor,
                bias: torch.Tensor) -> torch.Tensor:
        hs = drive.new_empty(drive.shape)
        h = h0
        for t in range(drive.shape[1]):
            h = modrelu(torch.addmm(drive[:, t], h, W_hh.T), bias)
            hs[:, t] = h
        ctx.save_for_backward(h0, W_hh, hs)
        return hs

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_hs: torch.Tensor):
        h0, W_hh, hs = ctx.saved_tensors
        # dh_t/dz_t is 1 where the unit is on (h_t != 0) and 0 where it is off
        on = hs != 0
        grad_z = torch.empty_like(hs)
        g = torch.zeros_like(h0)  # dL/dh_t through the later steps
        for t in range(hs.shape[1] - 1, -1, -1):  # BPTT: back through time, one factor D_t W_hh a step
            g = g + grad_hs[:, t]
            grad_z[:, t] = g * on[:, t]
            g = grad_z[:, t] @ W_hh  # on to h_{t-1}
        h_prev = torch.cat([h0.unsqueeze(1), hs[:, :-1]], dim=1)
        H = hs.shape[-1]
        grad_W = grad_z.reshape(-1, H).T @ h_prev.reshape(-1, H)  # sum_t dz_t h_{t-1}^T
        grad_bias = (grad_z * torch.sign(hs)).sum(dim=(0, 1))  # dh/db = sign(z) where on
        return grad_z, g, grad_W, grad_bias


def modrelu_recurrence(drive: torch.Tensor, h0: torch.Tensor, W_hh: torch.Tensor,
                       bias: torch.Tensor) -> torch.Tensor:
    """All hidden states of :math:`h_t = \\operatorname{modReLU}(a_t + W_{hh} h_{t-1})`, one autograd node.

    Parameters
    ----------
    drive : torch.Tensor
        ``(N, T, H)``: the input part of each pre-activation,
        :math:`a_t = W_{ih} x_t + b_{ih} + b_{hh}`.
    h0 : torch.Tensor
        ``(N, H)``, the initial state.
    W_hh : torch.Tensor
        ``(H, H)``.
    bias : torch.Tensor
        ``(H,)``, modReLU's :math:`b`.

    Returns
    -------
    torch.Tensor
        ``(N, T, H)``, every :math:`h_t`; differentiable with respect to all
        four arguments (once: no second derivatives).

    Notes
    -----
    The forward pass is the loop; the backward pass is BPTT written out:
    with :math:`g_t = \\partial L/\\partial h_t` (from the output at step t
    plus what comes back from step t + 1), :math:`\\partial L/\\partial z_t =
    D_t g_t` with :math:`D_t = \\operatorname{diag}(h_t \\neq 0)`, the message
    to the step before is :math:`W_{hh}^\\top D_t g_t`, and
    :math:`\\partial L/\\partial W_{hh} = \\sum_t D_t g_t\\, h_{t-1}^\\top`,
    :math:`\\partial L/\\partial b = \\sum_t \\operatorname{sign}(h_t) D_t g_t`.
    At a kink (:math:`z = 0`, or :math:`|z| = -b`) it takes the derivative
    autograd takes for :func:`modrelu`, 0. Checked against autograd through
    the explicit loop and by ``torch.autograd.gradcheck`` in the tests.
    Taught in lesson 09 (BPTT) and lesson 12 (modReLU).

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> a = torch.randn(2, 5, 3, generator=g, dtype=torch.float64, requires_grad=True)
    >>> W = torch.randn(3, 3, generator=g, dtype=torch.float64, requires_grad=True)
    >>> b = torch.full((3,), -0.1, dtype=torch.float64, requires_grad=True)
    >>> h0 = torch.zeros(2, 3, dtype=torch.float64)
    >>> hs = modrelu_recurrence(a, h0, W, b)
    >>> h, loop = h0, []
    >>> for t in range(5):
    ...     h = modrelu(a[:, t] + h @ W.T, b)
    ...     loop.append(h)
    >>> torch.allclose(hs, torch.stack(loop, 1))
    True
    >>> torch.autograd.gradcheck(modrelu_recurrence, (a, h0, W, b))
    True
    """
    return _ModReLURecurrence.apply(drive, h0, W_hh, bias)
