"""The RNNs of N members at once, with backpropagation through time written out.

Every weight here has a leading *member* axis: :math:`W_{hh}` is ``(N, H, H)``,
one matrix per member, and one batched product ``torch.baddbmm`` advances
every member by a timestep. The forward pass of member :math:`n` is the
textbook recurrence with its readout,

.. math:: h_t = \\tanh(x_t W_{ih}^\\top + b + h_{t-1} W_{hh}^\\top), \\qquad
          \\hat y_t = h_t W_{hy}^\\top + b_y, \\qquad t = 0, \\dots, T - 1,

from the initial state :math:`h_{-1} = h_0`. Backpropagation through time
runs it backwards (lesson 11): with :math:`g_t = \\partial L / \\partial \\hat y_t`
and :math:`a_t = \\partial L / \\partial (x_t W_{ih}^\\top + b + h_{t-1} W_{hh}^\\top)`,

.. math:: a_t = (g_t W_{hy} + a_{t+1} W_{hh}) \\odot (1 - h_t^2), \\qquad
          \\frac{\\partial L}{\\partial W_{hh}} = \\sum_t a_t^\\top h_{t-1}, \\qquad
          \\frac{\\partial L}{\\partial W_{ih}} = \\sum_t a_t^\\top x_t, \\qquad
          \\frac{\\partial L}{\\partial W_{hy}} = \\sum_t g_t^\\top h_t.

:func:`tanh_rnn` computes all of it one timestep at a time -- input drive,
step, readout; and backwards every gradient's term of that timestep -- so
each operation works on the ``N x B x H`` states of one timestep, which
stay in the CPU's cache, and the only tensor as long as the sequence is the
stored states. With N = 16, H = 64, batch 64 and T = 60 a full-length
tensor is 16 MB: computing the input drive and the readout over all
timesteps at once, as one product each, and keeping the states member-major
cost more in memory traffic than the products themselves
(``benchmarks/bench_batched.py``, section 2, measures both ways). Written
out, one backward step is a few batched products and the tanh derivative,
where autograd's graph of the same loop holds several nodes per step.

The LSTM (:func:`lstm_recurrence`) takes its input drive from
:func:`member_affine`, computed for all timesteps at once.
"""

from __future__ import annotations

import torch


class _TanhRNN(torch.autograd.Function):
    """The tanh RNN of every member, input drive to readout, one timestep at a time; backward is BPTT."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, h0: torch.Tensor, W_ih: torch.Tensor, b: torch.Tensor,
                W_hh: torch.Tensor, W_hy: torch.Tensor,
                b_y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        N, B, T, _ = x.shape
        hs = x.new_empty(T, N, B, W_hh.shape[-1])  # time-major: the states of one timestep are contiguous
        out = x.new_empty(T, N, B, W_hy.shape[1])
        b, b_y = b[:, None, :], b_y[:, None, :]
        W_ih_T, W_hh_T, W_hy_T = W_ih.mT, W_hh.mT, W_hy.mT
        h = h0
        for t in range(T):
            u = torch.baddbmm(b, x[:, :, t], W_ih_T, out=hs[t])  # u_t = x_t W_ih^T + b
            h = u.baddbmm_(h, W_hh_T).tanh_()  # h_t = tanh(u_t + h_{t-1} W_hh^T)
            torch.baddbmm(b_y, h, W_hy_T, out=out[t])  # y_t = h_t W_hy^T + b_y
        ctx.save_for_backward(x, h0, W_ih, W_hh, W_hy, hs)
        return out.permute(1, 2, 0, 3), h.clone()

    @staticmethod
    def backward(ctx, g_out: torch.Tensor, g_last: torch.Tensor):
        x, h0, W_ih, W_hh, W_hy, hs = ctx.saved_tensors
        T = hs.shape[0]
        G = g_out.permute(2, 0, 1, 3).contiguous()  # dL/dy_t, time-major (T, N, B, O)
        dW_hh, dW_hy = torch.zeros_like(W_hh), torch.zeros_like(W_hy)
        # dL/dW_ih accumulates transposed, x_t^T a_t: with fewer inputs than hidden units (K = 1 to 38
        # in every profile's tasks) that product has the fewer result rows, which BLAS ran faster than
        # a_t^T x_t (benchmarks/bench_batched.py, section 2, times both). Only the speed depends on it.
        dW_ih_T = W_ih.new_zeros(W_ih.shape[0], W_ih.shape[2], W_ih.shape[1])
        db = W_ih.new_zeros(W_ih.shape[:2])
        dx = torch.zeros_like(x) if ctx.needs_input_grad[0] else None
        one_output = W_hy.shape[1] == 1  # then g_t W_hy is an outer product: a broadcast multiply
        a = None  # a_{t+1}
        for t in range(T - 1, -1, -1):
            # dL/dh_t: the readout of step t ...
            dh = torch.mul(G[t], W_hy) if one_output else torch.bmm(G[t], W_hy)
            if a is not None:
                dh.baddbmm_(a, W_hh)  # ... and the step after it, a_{t+1} W_hh
            elif g_last is not None:
                dh += g_last  # ... or, at the last step, the returned state's gradient
            a = torch.ops.aten.tanh_backward(dh, hs[t])  # a_t = dh (1 - h_t^2)
            dW_hh.baddbmm_(a.mT, hs[t - 1] if t > 0 else h0)  # a_t^T h_{t-1}
            dW_ih_T.baddbmm_(x[:, :, t].mT, a)  # x_t^T a_t
            db += a.sum(1)
            dW_hy.baddbmm_(G[t].mT, hs[t])  # g_t^T h_t
            if dx is not None:
                dx[:, :, t] = torch.bmm(a, W_ih)
        dh0 = torch.bmm(a, W_hh) if ctx.needs_input_grad[1] else None
        return dx, dh0, dW_ih_T.mT.contiguous(), db, dW_hh, dW_hy, G.sum((0, 2))


def tanh_rnn(x: torch.Tensor, h0: torch.Tensor, W_ih: torch.Tensor, b: torch.Tensor, W_hh: torch.Tensor,
             W_hy: torch.Tensor, b_y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """N tanh RNNs at once, input to readout: every output :math:`\\hat y_t` and the last state.

    Parameters
    ----------
    x : torch.Tensor
        The inputs, ``(N, B, T, K)``: member, sequence, time, feature.
    h0 : torch.Tensor
        The initial state :math:`h_{-1}`, ``(N, B, H)``.
    W_ih, b : torch.Tensor
        Input weights ``(N, H, K)`` and the bias ``(N, H)`` (``nn.RNN``'s two
        biases added).
    W_hh : torch.Tensor
        The recurrent matrices, ``(N, H, H)``.
    W_hy, b_y : torch.Tensor
        The readout, ``(N, O, H)`` and ``(N, O)`` (``nn.Linear``'s layout).

    Returns
    -------
    out : torch.Tensor
        :math:`\\hat y_0, \\dots, \\hat y_{T-1}`, ``(N, B, T, O)`` (a view of
        time-major storage).
    h : torch.Tensor
        :math:`h_{T-1}`, ``(N, B, H)``.

    Notes
    -----
    Everything above is differentiable, by the backpropagation through time
    the module docstring writes out. Per timestep, forward: three batched
    products (input drive, :math:`h_{t-1} W_{hh}^\\top` -- :math:`2NBH^2`
    flops, the big one -- and readout) and one tanh; backward: the tanh
    derivative and the products for :math:`\\partial L/\\partial h_{t-1}` and
    each weight's gradient. All of it works on the states of one timestep,
    ``N x B x H`` numbers that stay in the CPU's cache; the only full-length
    tensor is the stored states (time-major). Members never mix: a NaN in one
    member's slice stays there.

    Examples
    --------
    >>> rnn = torch.nn.RNN(2, 4, batch_first=True, dtype=torch.float64)
    >>> readout = torch.nn.Linear(4, 1, dtype=torch.float64)
    >>> x = torch.randn(5, 3, 2, dtype=torch.float64)  # one member: 5 sequences of 3 steps
    >>> stacked = [p[None] for p in (rnn.weight_ih_l0, rnn.bias_ih_l0 + rnn.bias_hh_l0,
    ...                               rnn.weight_hh_l0, readout.weight, readout.bias)]
    >>> out, h = tanh_rnn(x[None], torch.zeros(1, 5, 4, dtype=torch.float64), *stacked)
    >>> hs, h_n = rnn(x)
    >>> bool(torch.allclose(out[0], readout(hs))), bool(torch.allclose(h[0], h_n[0]))
    (True, True)
    """
    return _TanhRNN.apply(x, h0, W_ih, b, W_hh, W_hy, b_y)


class _LSTMRecurrence(torch.autograd.Function):
    """The LSTM of every member (``nn.LSTM``'s equations and gate order); the backward pass is BPTT."""

    @staticmethod
    def forward(ctx, u: torch.Tensor, h0: torch.Tensor, c0: torch.Tensor,
                W_hh: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        N, T, B, G = u.shape
        H = G // 4
        gates = torch.empty_like(u)  # the activated gates i, f, g, o of every step
        cs, tanh_cs, hs = (u.new_empty(N, T, B, H) for _ in range(3))
        W_hh_T = W_hh.transpose(1, 2)
        h, c = h0, c0
        for t in range(T):
            z = torch.baddbmm(u[:, t], h, W_hh_T, out=gates[:, t])  # z = u_t + h_{t-1} W_hh^T
            z[..., : 2 * H].sigmoid_()  # input and forget gates
            z[..., 2 * H : 3 * H].tanh_()  # cell candidate
            z[..., 3 * H :].sigmoid_()  # output gate
            i, f, g, o = z.split(H, dim=-1)
            c = torch.addcmul(i * g, f, c, out=cs[:, t])  # c_t = f c_{t-1} + i g
            h = torch.mul(o, torch.tanh(c, out=tanh_cs[:, t]), out=hs[:, t])  # h_t = o tanh(c_t)
        ctx.save_for_backward(gates, cs, tanh_cs, hs, h0, c0, W_hh)
        return hs, c.clone()

    @staticmethod
    def backward(ctx, g_hs: torch.Tensor, g_c: torch.Tensor | None):
        gates, cs, tanh_cs, hs, h0, c0, W_hh = ctx.saved_tensors
        N, T, B, G = gates.shape
        H = G // 4
        dz = torch.empty_like(gates)  # dL/dz_t, z_t the gates before their activations
        dc = torch.zeros_like(c0) if g_c is None else g_c.clone()  # dL/dc_t, carried backwards
        dh = g_hs[:, T - 1]
        for t in range(T - 1, -1, -1):
            i, f, g, o = gates[:, t].split(H, dim=-1)
            d_i, d_f, d_g, d_o = dz[:, t].split(H, dim=-1)
            tanh_c, c_prev = tanh_cs[:, t], cs[:, t - 1] if t > 0 else c0
            torch.mul(dh, tanh_c, out=d_o).mul_(o * (1 - o))  # h_t = o tanh(c_t); sigmoid' = o (1 - o)
            dc.addcmul_(dh * o, 1 - tanh_c * tanh_c)  # ... and through tanh(c_t)
            torch.mul(dc, g, out=d_i).mul_(i * (1 - i))  # c_t = f c_{t-1} + i g
            torch.mul(dc, c_prev, out=d_f).mul_(f * (1 - f))
            torch.mul(dc, i, out=d_g).mul_(1 - g * g)
            dc = dc * f  # dL/dc_{t-1}: the cell state's additive path, through the forget gate
            if t > 0:
                dh = torch.baddbmm(g_hs[:, t - 1], dz[:, t], W_hh)  # g_{t-1} + dz_t W_hh
        # dL/dW_hh = sum_t dz_t^T h_{t-1}: one product over all timesteps and sequences
        dW_hh = torch.bmm(dz[:, 0].transpose(1, 2), h0)
        if T > 1:
            dW_hh.baddbmm_(dz[:, 1:].reshape(N, -1, G).transpose(1, 2), hs[:, :-1].reshape(N, -1, H))
        dh0 = torch.bmm(dz[:, 0], W_hh) if ctx.needs_input_grad[1] else None
        return dz, dh0, dc if ctx.needs_input_grad[2] else None, dW_hh


def lstm_recurrence(
    u: torch.Tensor, h0: torch.Tensor, c0: torch.Tensor, W_hh: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Every hidden state of N LSTMs at once, and the last cell state (``nn.LSTM``'s gate order).

    Parameters
    ----------
    u : torch.Tensor
        The input drive of the four gates, :math:`x_t W_{ih}^\\top + b`, shape
        ``(N, T, B, 4H)``, in ``nn.LSTM``'s order: input, forget, cell, output.
    h0, c0 : torch.Tensor
        The initial hidden and cell states, ``(N, B, H)`` each.
    W_hh : torch.Tensor
        The stacked recurrent weights, ``(N, 4H, H)``.

    Returns
    -------
    hs : torch.Tensor
        :math:`h_0, \\dots, h_{T-1}`, shape ``(N, T, B, H)``.
    c : torch.Tensor
        The last cell state, ``(N, B, H)``.

    Notes
    -----
    Per timestep, with :math:`z = u_t + h_{t-1} W_{hh}^\\top` split into
    :math:`(z_i, z_f, z_g, z_o)`, :math:`i, f, o = \\operatorname{sigmoid}(z_{i,f,o})`,
    :math:`g = \\tanh(z_g)`: :math:`c_t = f c_{t-1} + i g` and
    :math:`h_t = o \\tanh(c_t)` -- the equations of ``nn.LSTM``. The backward
    pass is written out like :func:`tanh_rnn`'s; with :math:`\\bar x`
    standing for :math:`\\partial L / \\partial x`,
    :math:`\\bar h_t = g_t + \\bar z_{t+1} W_{hh}` and
    :math:`\\bar c_t = \\bar h_t\\, o\\,(1 - \\tanh^2 c_t) + \\bar c_{t+1} f_{t+1}`,
    the gates' gradients are :math:`\\bar z_o = \\bar h_t \\tanh(c_t)\\, o(1-o)`,
    :math:`\\bar z_i = \\bar c_t\\, g\\, i(1-i)`,
    :math:`\\bar z_f = \\bar c_t\\, c_{t-1} f(1-f)`,
    :math:`\\bar z_g = \\bar c_t\\, i\\,(1-g^2)`. On one CPU core ``nn.LSTM``
    (a fused oneDNN cell) is faster per member than this batched cell, so
    :func:`~linalg_rnn.rnn.members.train_members` trains LSTM cells one run at
    a time there by default; ``benchmarks/bench_batched.py`` measures both.

    Examples
    --------
    >>> lstm = torch.nn.LSTM(2, 3, batch_first=True, dtype=torch.float64)
    >>> x = torch.randn(4, 5, 2, dtype=torch.float64)
    >>> u = (x @ lstm.weight_ih_l0.T + lstm.bias_ih_l0 + lstm.bias_hh_l0).transpose(0, 1)[None]
    >>> zeros = torch.zeros(1, 4, 3, dtype=torch.float64)
    >>> hs, c = lstm_recurrence(u, zeros, zeros, lstm.weight_hh_l0[None])
    >>> out, (h_n, c_n) = lstm(x)
    >>> bool(torch.allclose(hs[0].transpose(0, 1), out)), bool(torch.allclose(c[0], c_n[0]))
    (True, True)
    >>> u, W = u.detach().requires_grad_(), lstm.weight_hh_l0.detach()[None].requires_grad_()
    >>> h0 = torch.randn(1, 4, 3, dtype=torch.float64, requires_grad=True)
    >>> torch.autograd.gradcheck(lstm_recurrence, (u, h0, h0.detach().clone().requires_grad_(), W))
    True
    """
    return _LSTMRecurrence.apply(u, h0, c0, W_hh)


class _MemberAffine(torch.autograd.Function):
    """:math:`Y_n = X_n W_n^\\top + b_n` for every member; each product in the orientation BLAS runs fast."""

    @staticmethod
    def forward(ctx, X: torch.Tensor, W: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(X, W)
        if X.shape[-1] == 1:  # one input feature: Y is an outer product, an elementwise multiply-add
            return torch.addcmul(b[:, None, :], X, W.transpose(1, 2))
        return torch.baddbmm(b[:, None, :], X, W.transpose(1, 2))

    @staticmethod
    def backward(ctx, G: torch.Tensor):
        X, W = ctx.saved_tensors
        G = G.contiguous()
        dX = torch.bmm(G, W) if ctx.needs_input_grad[0] else None  # dL/dX_n = G_n W_n
        # dL/dW_n = G_n^T X_n, a (J, K) matrix summed over the M rows. Of the two orientations of
        # this product, BLAS ran the one whose result has the fewer rows several times faster here
        # (benchmarks/bench_batched.py, section 2, times both for the input weights)
        if W.shape[1] > W.shape[2]:
            dW = torch.bmm(X.transpose(1, 2), G).transpose(1, 2).contiguous()  # (X_n^T G_n)^T
        else:
            dW = torch.bmm(G.transpose(1, 2), X)
        return dX, dW, G.sum(1)


def member_affine(X: torch.Tensor, W: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Every member's affine map :math:`Y_n = X_n W_n^\\top + b_n`, in one batched product.

    Parameters
    ----------
    X : torch.Tensor
        ``(N, M, K)``: M rows per member (all timesteps and sequences).
    W : torch.Tensor
        ``(N, J, K)``, a weight per member (``nn.Linear``'s layout).
    b : torch.Tensor
        ``(N, J)``.

    Returns
    -------
    torch.Tensor
        ``(N, M, J)``; differentiable in all three.

    Notes
    -----
    The same map as ``torch.baddbmm`` (and ``nn.Linear`` per member), with a
    backward pass that computes :math:`\\partial L / \\partial W_n = G_n^\\top X_n`
    in whichever orientation, :math:`G_n^\\top X_n` or :math:`(X_n^\\top G_n)^\\top`,
    has the fewer result rows: with a few input features (the tasks have 1,
    2 or 10) against 64 hidden units, autograd's rule for ``baddbmm`` took
    several times longer on this CPU.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> X = torch.randn(2, 6, 3, generator=g, dtype=torch.float64, requires_grad=True)
    >>> W = torch.randn(2, 1, 3, generator=g, dtype=torch.float64, requires_grad=True)
    >>> b = torch.randn(2, 1, generator=g, dtype=torch.float64, requires_grad=True)
    >>> bool(torch.allclose(member_affine(X, W, b)[1], torch.nn.functional.linear(X[1], W[1], b[1])))
    True
    >>> torch.autograd.gradcheck(member_affine, (X, W, b))
    True
    """
    return _MemberAffine.apply(X, W, b)
