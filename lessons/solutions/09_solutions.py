"""
Worked solutions: lesson 09, BPTT Jacobians
===========================================

The solutions to the exercises at the end of lesson 09.  Every number they
quote is printed by the code; on the site each solution is folded under the
lesson's exercises, with the output of the run that built the page.
"""

# %%
# Exercise 1
# ----------
#
# With the logistic sigmoid as the activation,
# :math:`f(a) = \operatorname{sigmoid}(a) = 1/(1 + e^{-a})`,
#
# .. math::
#
#    f'(a) = \frac{e^{-a}}{(1 + e^{-a})^2} = f(a)\,(1 - f(a)),
#    \qquad D_i = \operatorname{diag}\bigl(h_i \odot (1 - h_i)\bigr),
#
# since :math:`h_i = f(a_i)`.  The product :math:`f(1 - f)` of
# two numbers in :math:`(0, 1)` that add up to 1 is at most
# :math:`\tfrac12\cdot\tfrac12 = \tfrac14`, reached at :math:`a = 0`.  So
# every factor has :math:`\|D_iW_{hh}\|_2 \le \tfrac14\|W_{hh}\|_2`, and for
# an orthogonal :math:`W_{hh}`
#
# .. math:: \|\partial h_T/\partial h_t\|_2 \le 4^{-(T-t)} :
#
# the gradient vanishes at least as fast as :math:`0.25^\ell`, whatever the
# inputs.  An orthogonal :math:`W_{hh}` cannot keep a sigmoid network's
# gradient alive; it would take :math:`\|W_{hh}\|_2 \ge 4` even to allow it,
# and then only for units held exactly at :math:`a = 0`.
#
# The lesson's autograd check with the sigmoid: the same network and inputs
# (same seeds), the torch code with ``torch.sigmoid``, against the explicit
# product :math:`D_T W \cdots D_{t+1} W` built in NumPy with the
# :math:`D_i` above (the package's ``bptt_jacobian_norms`` knows tanh and
# linear only), for the lesson's normal :math:`W_{hh}` and for an
# orthogonal one.

import matplotlib.pyplot as plt
import numpy as np
import torch

from linalg_rnn.course import lesson_mode
from linalg_rnn.dynamics import bptt_jacobian_norms, init_recurrent

torch.set_num_threads(1)
mode = lesson_mode()
n = {"quick": 16, "default": 32, "full": 64}[mode]
T = {"quick": 60, "default": 120, "full": 300}[mode]
n_in = 8  # input width
rng = np.random.default_rng(0)  # the lesson's draws, in the lesson's order
W_normal = init_recurrent(n, "normal", gain=1.0, seed=1)
W_ih = rng.standard_normal((n, n_in)) / np.sqrt(n_in)
b = 0.1 * rng.standard_normal(n)
X = 0.5 * rng.standard_normal((T, n_in))
drive = X @ W_ih.T + b  # row t is W_ih x_t + b


def sigmoid_jacobians(W):
    """Forward pass of the sigmoid RNN and the explicit products dh_T/dh_(T-lag), lag = 0..T."""
    h, sig_prime = np.zeros(n), []
    for t in range(T):
        h = 1.0 / (1.0 + np.exp(-(W @ h + drive[t])))
        sig_prime.append(h * (1.0 - h))  # f'(a) = f(a) (1 - f(a)) for f = sigmoid
    J, jacobians = np.eye(n), [np.eye(n)]
    for lag in range(1, T + 1):
        J = J @ (sig_prime[T - lag][:, None] * W)  # append D_(T-lag+1) W on the right
        jacobians.append(J)
    return np.array(jacobians), np.array(sig_prime)


def autograd_jacobians(W):
    """The same Jacobians from torch autograd: n backward passes, one per component of h_T."""
    Wt, Ut = torch.tensor(W), torch.tensor(drive)
    states = [torch.zeros(n, dtype=torch.float64, requires_grad=True)]
    for t in range(T):
        states.append(torch.sigmoid(Wt @ states[-1] + Ut[t]))
    rows = [torch.stack(torch.autograd.grad(states[-1][k], states, retain_graph=True)) for k in range(n)]
    return torch.stack(rows, dim=1).numpy()[::-1]  # index 0 is lag 0


sigmoid_runs = {}
for name, W in (("normal (lesson)", W_normal), ("orthogonal", init_recurrent(n, "orthogonal", seed=3))):
    explicit, sig_prime = sigmoid_jacobians(W)
    auto = autograd_jacobians(W)
    norms = np.linalg.norm(explicit, 2, axis=(1, 2))
    sigmoid_runs[name] = norms
    print(f"{name:>16}: max|autograd - explicit| = {np.abs(auto - explicit).max():.1e}; "
          f"largest f' {sig_prime.max():.4f} (bound 1/4), mean {sig_prime.mean():.4f}; "
          f"||dh_T/dh_0|| = {norms[-1]:.2e}, rate per step {norms[-1] ** (1 / T):.4f}")
lags = np.arange(T + 1)
print(f"bound for the orthogonal W at lag {T}: 0.25^{T} = {0.25**T:.2e}")
below = np.all(sigmoid_runs["orthogonal"] <= 0.25**lags * (1 + 1e-12))
print(f"orthogonal W: norm <= 0.25^lag at every lag: {bool(below)}")

fig, ax = plt.subplots(figsize=(6.5, 4))
for name, norms in sigmoid_runs.items():
    ax.semilogy(lags, norms, label=f"sigmoid, {name} W")
ax.semilogy(lags, 0.25**lags, "k:", label=r"$0.25^\ell$ (bound for orthogonal W)")
ax.set_xlabel(r"lag $\ell = T - t$")
ax.set_ylabel(r"$\|\partial h_T / \partial h_t\|_2$")
ax.set_title(r"Sigmoid RNN: $f' \leq 1/4$ at every step")
ax.legend(fontsize=8)
fig.tight_layout()

# %%
# The explicit product and autograd agree to rounding, no :math:`f'`
# ever exceeds :math:`\tfrac14`, and the orthogonal network's Jacobian stays
# below :math:`0.25^\ell` at every lag, at a rate per step a little under
# 0.25 (printed): the sigmoid's states sit near :math:`\tfrac12`, where
# :math:`f'` is close to its maximum, so the bound is nearly reached
# -- and even then the gradient is gone after a handful of steps.  This is one reason sigmoid
# is used for gates (where a value in :math:`(0, 1)` is the point) and tanh
# for the state of a plain RNN.

# %%
# Exercise 2
# ----------
#
# :math:`W_{hh} = 1.5\,Q` (``scaled_orthogonal``, the lesson's seed), tanh,
# inputs :math:`0.02\,x_t` (the lesson's inputs have standard deviation
# 0.5, so these have 0.01) and no bias, from :math:`h_0 = 0`.  Next to it
# the lesson's own setting (inputs 0.5, bias) and, as the limit, no input at
# all (then every :math:`h_t = 0`, every :math:`D_i = I`, and the Jacobian
# is exactly :math:`1.5^\ell`).
#
# "For how many steps" has a clean meaning in the forward view,
# :math:`\|\partial h_k/\partial h_0\|_2` for :math:`k = 1, 2, \dots`: each
# new step multiplies by :math:`D_kW_{hh}`, which has the full factor 1.5
# only while the states are still near 0.  Starting from inputs of size
# 0.01, states growing by 1.5 per step reach order 1 after about
# :math:`\ln(100)/\ln(1.5) \approx 11` steps.  The package's
# :func:`~linalg_rnn.dynamics.bptt_jacobian_norms` gives
# :math:`\|\partial h_k/\partial h_0\|` as the last norm of a run of
# :math:`k` steps; we accumulate all :math:`k` at once from its
# ``sigma_prime`` and check a few against separate runs.

W15 = init_recurrent(n, "scaled_orthogonal", gain=1.5, seed=3)
cases = {"lesson: inputs 0.5, bias": (X, b), "inputs 0.01, no bias": (0.02 * X, None),
         "no input": (0.0 * X, None)}
forward = {}
print(f"ln(100) / ln(1.5) = {np.log(100) / np.log(1.5):.1f}")
for name, (inputs, bias) in cases.items():
    res = bptt_jacobian_norms(W15, inputs, W_xh=W_ih, b=bias, activation="tanh")
    J, norms = np.eye(n), [1.0]
    for k in range(T):
        J = (res.sigma_prime[k][:, None] * W15) @ J  # dh_(k+1)/dh_0 = D_(k+1) W dh_k/dh_0
        norms.append(np.linalg.norm(J, 2))
    norms = np.array(norms)
    forward[name] = norms
    check = max(abs(bptt_jacobian_norms(W15, inputs[:k], W_xh=W_ih, b=bias).norms[-1] / norms[k] - 1)
                for k in (5, 20, T))
    windows = [(0, 10), (10, 30), (30, T)]
    rates = ", ".join(f"steps {lo}-{hi}: {(norms[hi] / norms[lo]) ** (1 / (hi - lo)):.3f}"
                      for lo, hi in windows)
    mean_h = np.abs(res.hidden[1:]).mean(axis=1)
    print(f"{name:>25}: ||dh_T/dh_0|| = {norms[-1]:.3e} (lag view: {res.norms[-1]:.3e}); "
          f"rate per step {rates}")
    print(f"{'':>27}mean |h_k| at k = 1, 5, 10, 20: {mean_h[[0, 4, 9, 19]].round(3).tolist()}; "
          f"mean f' over steps 30-{T}: {res.sigma_prime[30:].mean():.3f}; "
          f"check against separate runs: {check:.1e}")

fig, ax = plt.subplots(figsize=(6.5, 4))
for name, norms in forward.items():
    ax.semilogy(np.arange(T + 1), norms, label=name)
ax.semilogy(np.arange(T + 1), 1.5 ** np.arange(T + 1.0), "k:", lw=0.8, label=r"$1.5^k$")
ax.set_ylim(0.5, 1e8)
ax.set_xlabel("k")
ax.set_ylabel(r"$\|\partial h_k / \partial h_0\|_2$")
ax.set_title(r"$W_{hh} = 1.5\,Q$, tanh: how long the explosion lasts")
ax.legend(fontsize=8)
fig.tight_layout()

# %%
# Yes, it explodes now: with inputs of 0.01 and no bias the Jacobian over
# the whole sequence is many orders of magnitude larger than in the lesson's
# setting (printed).  At the full rate 1.5 it explodes for about ten steps
# -- exactly as long as the states take to grow from the input size to
# order 1 (the printed :math:`|h_k|` and the estimate of 11).  After that the
# rate drops, but in this run it stays above 1 for the rest of the
# sequence (the printed rates for steps 10-30 and 30-:math:`T`): with tiny
# inputs the network runs almost on its own, :math:`h_t \approx
# \tanh(1.5\,Qh_{t-1})`, and its states settle less saturated (a larger
# mean :math:`f'`, printed) than with the lesson's inputs and bias,
# where the rate after the first steps is just below 1.  Without any input the states stay exactly at
# 0 and the gradient follows :math:`1.5^k` for ever: the pure linear
# explosion of the lesson's linear case.  So an exploding gradient needs the
# large :math:`W_{hh}` and units in their linear region, and it lasts as
# long as they stay there.

# %%
# Exercise 3
# ----------
#
# For any matrix :math:`M`, :math:`\|M\|_2^2` is the largest eigenvalue of
# :math:`MM^\top`.  With :math:`M = DQ`, :math:`D` diagonal and :math:`Q`
# orthogonal,
#
# .. math::
#
#    MM^\top = D\,QQ^\top D = D^2 ,
#
# whose eigenvalues are the :math:`d_j^2`.  Hence :math:`\|DQ\|_2 =
# \max_j |d_j| = \max_j |f'(a_{i,j})|`: an orthogonal factor does not
# change singular values, and a diagonal matrix's singular values are the
# moduli of its entries.  Consequently :math:`\|\partial h_T/\partial h_t\|_2
# \le \prod_{i=t+1}^{T} \max_j f'(a_{i,j})`.
#
# Numerically, for every step of a tanh run with the lesson's orthogonal
# :math:`Q` (seed 4) and inputs of standard deviation 1:

Q = init_recurrent(n, "orthogonal", seed=4)
Z = np.random.default_rng(5).standard_normal((T, n))
res = bptt_jacobian_norms(Q, Z, activation="tanh")
norms_DQ = np.array([np.linalg.norm(sp[:, None] * Q, 2) for sp in res.sigma_prime])
max_sp = res.sigma_prime.max(axis=1)
print(f"{T} steps: max over steps of | ||D_i Q||_2 - max_j f'_ij | / max_j f'_ij = "
      f"{np.max(np.abs(norms_DQ - max_sp) / max_sp):.1e}")
print(f"range of max_j f'_ij over the steps: [{max_sp.min():.4f}, {max_sp.max():.4f}]")
bound = np.concatenate([[1.0], np.cumprod(max_sp[::-1])])  # prod over the last `lag` steps
print(f"the bound prod max_j f' holds at every lag: {bool(np.all(res.norms <= bound * (1 + 1e-12)))}; "
      f"at lag {T}: norm {res.norms[-1]:.2e}, bound {bound[-1]:.2e}")

# %%
# The identity holds to rounding at every step.  The bound it gives for the
# whole product is valid but loose: the largest :math:`f'` of a step
# is usually close to 1 (some unit is always near 0), while the norm of the
# product decays at a rate set by the typical units, because the directions
# that a unit with large :math:`f'` preserves at one step are mixed by
# :math:`Q` into saturated units at the next.
