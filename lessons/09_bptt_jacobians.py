"""
09 · BPTT Jacobians: the product that vanishes or explodes
==========================================================

Backpropagation through time sends the gradient of a loss at step :math:`T`
back to step :math:`t` through the Jacobian :math:`\\partial h_T/\\partial
h_t`.  For a vanilla RNN that Jacobian is a product of :math:`T - t` factors,
one per step, each containing :math:`W_{hh}`.  This lesson computes it twice
-- with PyTorch's autograd and with the explicit product -- checks that the
two agree to rounding, and then measures how its norm depends on the lag for
different recurrent matrices and activations.

**What you will learn**

* the formula :math:`\\partial h_T/\\partial h_t = \\prod_{i=T}^{t+1}
  \\operatorname{diag}(f'(a_i))\\, W_{hh}` and how to check it against
  autograd;
* that the norm of this product must vanish when :math:`\\|W_{hh}\\|_2 < 1`,
  and that beyond that it is saturation, not the spectral radius, that
  decides whether it vanishes, holds or grows;
* that an orthogonal :math:`W_{hh}` keeps it at exactly 1 only for a linear
  activation, and how tanh saturation breaks that guarantee.

**Prerequisites:** lesson 08 (repeated multiplication), lesson 04
(orthogonal matrices).
"""

# %%
# The Jacobian as a product
# -------------------------
#
# The network is :math:`a_i = W_{hh} h_{i-1} + W_{ih} x_i + b` and
# :math:`h_i = f(a_i)`, with an activation :math:`f`.  One step has the Jacobian
# :math:`\partial h_i/\partial h_{i-1} = D_i W_{hh}` with
# :math:`D_i = \operatorname{diag}(f'(a_i))`, and the chain rule
# multiplies the steps in between:
#
# .. math::
#
#     \frac{\partial h_T}{\partial h_t} = D_T W_{hh}\, D_{T-1} W_{hh} \cdots
#     D_{t+1} W_{hh}.
#
# For :math:`f = \tanh`, :math:`f'(a) = 1 - \tanh^2 a \in (0, 1]`,
# so every :math:`D_i` can only shrink, and
# :math:`\|\partial h_T/\partial h_t\|_2 \le \|W_{hh}\|_2^{T-t}`.
#
# :func:`linalg_rnn.dynamics.bptt_jacobian_norms` runs the forward pass and
# accumulates the product in NumPy float64; we index it by the *lag*
# :math:`\ell = T - t`.  Its result keeps the slopes :math:`f'(a_t)` as
# ``sigma_prime``, and its argument ``W_xh`` is our :math:`W_{ih}`.

import matplotlib.pyplot as plt
import numpy as np
import torch

from linalg_rnn.course import lesson_mode
from linalg_rnn.dynamics import bptt_jacobian_norms, init_recurrent

torch.set_num_threads(1)  # tiny matrices: extra threads only contend
mode = lesson_mode()
hidden = {"quick": 16, "default": 32, "full": 64}[mode]  # H
T = {"quick": 60, "default": 120, "full": 300}[mode]
n_in = 8  # input width
print(f"mode={mode}: hidden size H={hidden}, sequence length T={T}, input width {n_in}")

rng = np.random.default_rng(0)
W_hh = init_recurrent(hidden, "normal", gain=1.0, seed=1)
W_ih = rng.standard_normal((hidden, n_in)) / np.sqrt(n_in)
b = 0.1 * rng.standard_normal(hidden)
X = 0.5 * rng.standard_normal((T, n_in))  # row t is x_t
h0 = np.zeros(hidden)

# bptt_jacobian_norms calls the input weights W_xh
explicit = bptt_jacobian_norms(W_hh, X, h0, W_xh=W_ih, b=b, activation="tanh", keep_jacobians=True)
print(explicit)

# %%
# The same Jacobians with autograd
# --------------------------------
#
# PyTorch can differentiate :math:`h_T` with respect to any intermediate state.
# One backward pass from the output component :math:`h_T[k]` gives row
# :math:`k` of :math:`\partial h_T/\partial h_t` for *every* :math:`t` at
# once, so :math:`H` backward passes give all the Jacobians.  Everything is in
# float64, so the two computations should agree to about :math:`10^{-15}`
# relative, far inside the :math:`10^{-10}` we ask for.

Wt = torch.tensor(W_hh)
Ut = torch.tensor(X @ W_ih.T + b)  # row t is W_ih x_t + b
states = [torch.tensor(h0, requires_grad=True)]
for t in range(T):
    states.append(torch.tanh(Wt @ states[-1] + Ut[t]))
rows = []
for k in range(hidden):
    grads = torch.autograd.grad(states[-1][k], states, retain_graph=True)
    rows.append(torch.stack(grads))  # grads[t] = d h_T[k] / d h_t
autograd_jac = torch.stack(rows, dim=1).numpy()[::-1]  # reorder by lag: index 0 is t = T
autograd_norms = np.linalg.norm(autograd_jac, 2, axis=(1, 2))

jac_error = np.abs(autograd_jac - explicit.jacobians).max()
norm_rel_error = np.max(np.abs(autograd_norms - explicit.norms) / np.maximum(autograd_norms, 1e-300))
print(f"max |autograd - explicit| over all Jacobian entries: {jac_error:.2e}")
print(f"max relative difference of the norms:                  {norm_rel_error:.2e}")
print(f"agree to 1e-10: {jac_error < 1e-10 and norm_rel_error < 1e-10}")

fig, axes = plt.subplots(1, 2, figsize=(11, 4))
axes[0].semilogy(explicit.lags, explicit.norms, lw=3, alpha=0.5, label="explicit product (NumPy)")
axes[0].semilogy(explicit.lags, autograd_norms, "k--", lw=1, label="autograd (PyTorch)")
axes[0].set_xlabel(r"lag $\ell = T - t$")
axes[0].set_ylabel(r"$\|\partial h_T / \partial h_t\|_2$")
axes[0].legend()
axes[0].set_title("tanh RNN, normal init: the two agree")
rel_diff = np.abs(autograd_norms - explicit.norms) / autograd_norms
axes[1].semilogy(explicit.lags[1:], np.maximum(rel_diff[1:], 1e-18), ".")
axes[1].axhline(1e-10, color="C3", ls="--", label="1e-10")
axes[1].set_xlabel(r"lag $\ell = T - t$")
axes[1].set_ylabel("relative difference of the norms")
axes[1].set_ylim(1e-18, 1e-8)
axes[1].legend()
axes[1].set_title("difference: rounding only")
fig.tight_layout()

# %%
# Vanishing, exploding, flat: the linear case
# -------------------------------------------
#
# With a linear activation every :math:`D_i = I` and the Jacobian is
# :math:`W_{hh}^{\ell}`, the power of lesson 08.  For :math:`W_{hh} = \gamma Q` (a gain
# :math:`\gamma` times
# an orthogonal :math:`Q`), its norm is exactly :math:`\gamma^{\ell}`: vanishing for
# :math:`\gamma < 1`, exploding for :math:`\gamma > 1`, flat at 1 for :math:`\gamma = 1`,
# whatever the inputs are.

Z = rng.standard_normal((T, hidden))  # inputs fed straight into a_t
gains = [0.9, 0.95, 1.0, 1.05, 1.1]
fig, ax = plt.subplots(figsize=(6.5, 4))
for gain in gains:
    W = init_recurrent(hidden, "scaled_orthogonal", gain=gain, seed=2)
    res = bptt_jacobian_norms(W, Z, activation="linear")
    ax.semilogy(res.lags, res.norms, label=rf"$\gamma = {gain}$")
    print(f"linear, W = {gain} Q: norm at lag {T} = {res.norms[-1]:.3e}   (gamma^{T} = {gain**T:.3e})")
ax.set_xlabel(r"lag $\ell = T - t$")
ax.set_ylabel(r"$\|\partial h_T / \partial h_t\|_2$")
ax.set_title(r"linear activation, $W = \gamma Q$: exactly $\gamma^\ell$")
ax.legend()
fig.tight_layout()

# %%
# With tanh: the usual initializations
# ------------------------------------
#
# Now the tanh network with inputs, for the initializations of lesson 08.  The
# measured rate per step (the geometric mean of the Jacobian norm ratio) is
# printed next to :math:`\rho(W_{hh})` and :math:`\|W_{hh}\|_2`.  Because
# :math:`f' \le 1`, every factor has
#
# .. math:: \|D_i W_{hh}\|_2 \le \max_j f'(a_{i,j})\, \|W_{hh}\|_2 ,
#
# so the rate can never exceed :math:`\|W_{hh}\|_2`: tanh adds decay, never
# growth.  That is the whole guarantee.  It makes the product vanish when
# :math:`\|W_{hh}\|_2 < 1`; when :math:`\|W_{hh}\|_2 \ge 1` it promises
# nothing, and the :math:`f'` factors -- how saturated the units are --
# decide.  The spectral radius does not: below, ``normal`` has
# :math:`\rho(W_{hh}) > 1` and vanishes anyway.

inits = {
    "uniform (torch default)": init_recurrent(hidden, "uniform", seed=3),
    "normal": init_recurrent(hidden, "normal", seed=3),
    "orthogonal": init_recurrent(hidden, "orthogonal", seed=3),
    "1.5 x orthogonal": init_recurrent(hidden, "scaled_orthogonal", gain=1.5, seed=3),
}
fig, ax = plt.subplots(figsize=(6.5, 4))
rates = {}
for name, W in inits.items():
    res = bptt_jacobian_norms(W, X, W_xh=W_ih, b=b, activation="tanh")
    ok = res.norms > 0
    ax.semilogy(res.lags[ok], res.norms[ok], label=name)
    rate = res.norms[-1] ** (1 / T) if res.norms[-1] > 0 else 0.0
    rho = np.abs(np.linalg.eigvals(W)).max()
    print(
        f"tanh, {name:>24}: rate per step {rate:.3f}, rho(W) = {rho:.3f}, ||W||_2 = "
        f"{np.linalg.norm(W, 2):.3f}, mean f' = {res.sigma_prime.mean():.3f}"
    )
    rates[name] = (rate, rho)
ax.set_xlabel(r"lag $\ell = T - t$")
ax.set_ylabel(r"$\|\partial h_T / \partial h_t\|_2$")
ax.set_title("tanh RNN with inputs")
ax.legend(fontsize=8)
fig.tight_layout()
print("vanished (rate < 1) although rho(W) >= 1:",
      [name for name, (rate, rho) in rates.items() if rate < 1 <= rho])
print("rate at least 1:", [name for name, (rate, rho) in rates.items() if rate >= 1],
      "-- with 1.5 x orthogonal the linear part alone would have rate 1.5")

# %%
# The ``1.5 x orthogonal`` line shows how saturation works.  The linear part
# alone would explode like :math:`1.5^\ell`.  But the same large
# :math:`W_{hh}` amplifies the *state* too, and drives the pre-activations
# away from zero until enough units sit in the flat part of tanh, where
# :math:`f'(a) = 1 - \tanh^2 a \approx 4e^{-2|a|}` is small (the lowest
# mean :math:`f'` of the four).  The growth is then cancelled: the
# measured rate per step comes out far below 1.5, close to 1.  Saturation
# caps the explosion; it does not guarantee the opposite either.  So a tanh
# RNN's gradient explodes only when :math:`W_{hh}` is large *and* the units
# stay in tanh's linear region (small inputs, states near zero) -- exercise 2
# tries that.  A ReLU unit has no flat part while it is active
# (:math:`f' = 1` exactly, whatever its size), which is why lesson 10's
# exploding example is a ReLU network.

# %%
# Saturation breaks the orthogonal guarantee
# ------------------------------------------
#
# Keep :math:`W_{hh} = Q` orthogonal and scale the inputs up.  Each factor is
# :math:`D_i Q` with :math:`\|D_i Q\|_2 = \max_j f'(a_{i,j}) \le 1`, so the
# norm can only shrink, and it shrinks roughly like the typical
# :math:`f'` along the sequence.  With tiny inputs the units stay near 0,
# :math:`f' \approx 1` and the norm stays close to 1; with large inputs
# most units saturate and the gradient vanishes as fast as with a bad
# initialization.

Q = init_recurrent(hidden, "orthogonal", seed=4)
scales = [0.01, 0.3, 1.0, 3.0]
fig, ax = plt.subplots(figsize=(6.5, 4))
for s in scales:
    res = bptt_jacobian_norms(Q, s * Z, activation="tanh")
    ok = res.norms > 0
    ax.semilogy(res.lags[ok], res.norms[ok], label=f"input std {s}")
    saturated = np.mean(res.sigma_prime < 0.1)
    print(
        f"orthogonal W, tanh, input std {s:>4}: norm at lag {T // 4} = {res.norms[T // 4]:.3e}, "
        f"at lag {T} = {res.norms[-1]:.3e}; mean f' = {res.sigma_prime.mean():.3f}, "
        f"units with f' < 0.1: {100 * saturated:.1f}%"
    )
ax.set_xlabel(r"lag $\ell = T - t$")
ax.set_ylabel(r"$\|\partial h_T / \partial h_t\|_2$")
ax.set_title("orthogonal W, tanh: larger inputs, more saturation")
ax.legend()
fig.tight_layout()

# %%
# The same :math:`W_{hh}`, with :math:`\rho(W_{hh}) = \|W_{hh}\|_2 = 1`,
# gives a Jacobian norm still near 1 after :math:`T` steps with the smallest
# inputs and one that has vanished with the largest (the printed lines): the
# matrix alone does not decide.  "With :math:`\rho(W) \le 1` the gradient
# vanishes" is too strong; what holds is the bound above -- it must vanish
# when :math:`\|W_{hh}\|_2 < 1`, and otherwise the :math:`f'` factors
# decide.

# %%
# Summary
# -------
#
# * :math:`\partial h_T/\partial h_t` is the product of :math:`T - t` factors
#   :math:`D_i W_{hh}`; the explicit NumPy product and PyTorch's autograd agree
#   to rounding (well below :math:`10^{-10}` in float64).
# * With a linear activation the norm is governed by :math:`W_{hh}` alone:
#   :math:`\gamma^{\ell}` for :math:`W_{hh} = \gamma Q` -- vanishing, flat or exploding.
# * With tanh, :math:`f' \le 1` adds decay on top: the product must
#   vanish when :math:`\|W_{hh}\|_2 < 1`.  Beyond that, saturation decides:
#   ``normal`` (:math:`\rho > 1`) vanished, ``1.5 x orthogonal`` ran at a rate
#   near 1 instead of 1.5.  Torch's default
#   uniform initialization already vanishes quickly; an orthogonal
#   :math:`W_{hh}` keeps the norm near 1 only while the units stay out of
#   saturation.
#
# Exercises
# ---------
#
# 1. Replace tanh by the logistic sigmoid in the autograd check (change the
#    torch code) and derive :math:`D_i` for it.  What is the largest possible
#    :math:`f'`, and what does that imply for an orthogonal
#    :math:`W_{hh}`?
# 2. For ``1.5 x orthogonal`` with tanh, scale the inputs down to 0.01 and
#    the bias to 0.  Does the gradient explode now?  For how many steps?
# 3. Show that :math:`\|D_i Q\|_2 = \max_j |f'(a_{i,j})|` for orthogonal
#    :math:`Q` and check it numerically with ``res.sigma_prime`` (which holds
#    :math:`f'(a_t)`).
