"""
10 · Gradient clipping: capping the explosion
=============================================

Lesson 09 showed that the BPTT product can grow geometrically with the lag.
One exploding gradient is enough to throw the weights far away, after which
the forward pass itself overflows.  Gradient clipping is the cheap, blunt fix
(Pascanu, Mikolov & Bengio 2013): when the gradient is too long, shorten it
before the update.  This lesson works the lecture's example, compares
clipping by norm with clipping by value, trains a real exploding RNN with and
without clipping, and shows what clipping cannot do.

**What you will learn**

* the norm-clipping rule and the lecture's worked example;
* why clipping by value changes the direction of the gradient, and by how
  much;
* how clipping keeps a real exploding RNN (a ReLU RNN with identity
  initialization) training where the unclipped one overflows within a few
  steps;
* that clipping does nothing for vanishing gradients.

**Prerequisites:** lesson 09 (BPTT Jacobians).
"""

# %%
# The rule and the lecture's example
# ----------------------------------
#
# With threshold :math:`\tau` and gradient :math:`g` (all parameters stacked
# into one vector),
#
# .. math::
#
#     g \leftarrow \begin{cases} g \cdot \tau / \|g\|_2 & \text{if } \|g\|_2 > \tau,\\
#     g & \text{otherwise.} \end{cases}
#
# :func:`linalg_rnn.dynamics.clip_grad_norm` implements it (with the same
# :math:`10^{-6}` that PyTorch adds to :math:`\|g\|` before dividing) and
# returns the clipped gradient and the norm *before* clipping.  The lecture's
# example: :math:`(8, 6)` has norm 10 and stays as it is at threshold 10;
# :math:`(80, 60)` has norm 100 and becomes :math:`(8, 6)`.

import matplotlib.pyplot as plt
import numpy as np
import torch

from linalg_rnn.course import lesson_mode
from linalg_rnn.dynamics import clip_grad_norm, clip_grad_value, init_recurrent
from linalg_rnn.rnn.tasks import AddingTask

torch.set_num_threads(1)  # tiny matrices: extra threads only contend
mode = lesson_mode()

for g in ([8.0, 6.0], [80.0, 60.0]):
    clipped, norm = clip_grad_norm(g, max_norm=10)
    print(f"grad {g}: norm {norm:g} -> clipped {np.round(clipped, 6)} (norm {np.linalg.norm(clipped):.6f})")

# %%
# PyTorch's ``clip_grad_norm_`` always multiplies by
# :math:`\min(1, \tau/(\|g\| + 10^{-6}))`, so exactly at the threshold it
# shrinks the gradient by a factor :math:`1 - 10^{-7}`; ours leaves it alone,
# as the lecture says.  Anywhere else the two agree to rounding.

for g in ([8.0, 6.0], [80.0, 60.0]):
    p = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    p.grad = torch.tensor(g, dtype=torch.float64)
    torch.nn.utils.clip_grad_norm_([p], 10)
    ours, _ = clip_grad_norm(g, 10)
    print(f"torch on {g}: {p.grad.numpy()}, |torch - ours| = {np.abs(p.grad.numpy() - ours).max():.1e}")

# %%
# Clipping by value turns the gradient
# ------------------------------------
#
# :func:`linalg_rnn.dynamics.clip_grad_value` clips each entry to
# :math:`[-\tau, \tau]` instead.  That keeps every entry small but not the
# direction: :math:`(80, 60)` clipped at 10 becomes :math:`(10, 10)`, which
# points 45 degrees up instead of 36.9.  Norm clipping projects onto the
# *ball* of radius :math:`\tau` along the ray through :math:`g`; value clipping
# projects onto the *box* :math:`[-\tau, \tau]^2`.


def angle_deg(u, v):
    """The angle between two vectors, in degrees."""
    u, v = np.ravel(u), np.ravel(v)
    cos = np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v))
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


g = np.array([80.0, 60.0])
by_norm, _ = clip_grad_norm(g, 10)
by_value = clip_grad_value(g, 10)
print(f"norm clipping:  {np.round(by_norm, 6)}, angle to g = {angle_deg(g, by_norm):.2f} degrees")
print(f"value clipping: {by_value}, angle to g = {angle_deg(g, by_value):.2f} degrees")

fig, ax = plt.subplots(figsize=(5.5, 5))
theta = np.linspace(0, 2 * np.pi, 300)
ax.plot(10 * np.cos(theta), 10 * np.sin(theta), color="0.6", lw=1, label="ball of radius 10")
ax.plot([-10, 10, 10, -10, -10], [-10, -10, 10, 10, -10], color="0.6", ls="--", lw=1,
        label=r"box $[-10, 10]^2$")
for vec, name, color in [(g / 5, "g / 5 = (16, 12)", "k"), (by_norm, "norm-clipped", "C0"),
                         (by_value, "value-clipped", "C3")]:
    ax.annotate("", xy=vec, xytext=(0, 0), arrowprops=dict(arrowstyle="->", color=color, lw=2))
    ax.plot([], [], color=color, lw=2, label=name)
ax.set_xlim(-12, 18)
ax.set_ylim(-12, 18)
ax.set_aspect("equal")
ax.legend(loc="lower right", fontsize=8)
ax.set_title("Clipping (80, 60) at 10: norm keeps the direction")
fig.tight_layout()

# %%
# A real exploding RNN
# --------------------
#
# Le, Jaitly & Hinton (2015) proposed the *IRNN*: a ReLU RNN whose
# :math:`W_{hh}` starts as the identity, with zero biases.  For ReLU,
# :math:`f'(a)` is 1 where a unit is active (:math:`a > 0`) and 0 where it
# is not, so each :math:`D_i` is a 0/1 diagonal that keeps the active units.
# Unlike tanh, an active unit never saturates: along the units that stay
# active, the BPTT product is a plain power of :math:`W_{hh}` restricted to
# them, starting exactly at the edge (:math:`W_{hh} = I`).  As soon as
# training nudges an eigenvalue there above 1, it grows geometrically.  Not
# every unit is active, though, even though the inputs are non-negative: the
# input weights :math:`W_{ih}` (torch's default initialization) have entries
# of both signs, so some units are switched off at some steps, and some at
# every step.  We measure the active fraction below.
#
# We train the IRNN on the adding problem
# (:class:`linalg_rnn.rnn.tasks.AddingTask`: two marked numbers in a sequence
# of uniform values; the target, at the last step, is their sum) with plain
# SGD, once as it is and once with :func:`clip_grad_norm` at :math:`\tau = 1`
# applied to the gradients before every update, and record the gradient norm
# before clipping at every step.  Same seed, same batches.

hidden = 16
seq_len = {"quick": 60, "default": 60, "full": 100}[mode]
train_steps = {"quick": 60, "default": 250, "full": 1000}[mode]
batch = 32
lr = 0.01
max_norm = 1.0


task = AddingTask(seq_len)  # x: (batch, seq_len, 2), values and markers; y: the sum, at the last step


def last_step_loss(head, out, y):
    """The task's loss: squared error of the read-out at the last step, the only one with a target."""
    return task.loss(head(out[:, -1:]), y, start=seq_len - 1)


def make_irnn():
    """A ReLU RNN with W_hh = I and zero biases, plus a linear read-out (seeded)."""
    torch.manual_seed(0)
    rnn = torch.nn.RNN(2, hidden, nonlinearity="relu", batch_first=True)
    head = torch.nn.Linear(hidden, 1)
    with torch.no_grad():
        rnn.weight_hh_l0.copy_(torch.from_numpy(init_recurrent(hidden, "identity")))
        rnn.bias_hh_l0.zero_()
        rnn.bias_ih_l0.zero_()
    return rnn, head


def train_irnn(clip):
    """Train the IRNN; return per-update pre-clip gradient norm, loss and rho(W_hh) (stops at overflow)."""
    rnn, head = make_irnn()
    gen = torch.Generator().manual_seed(0)
    params = list(rnn.parameters()) + list(head.parameters())
    opt = torch.optim.SGD(params, lr=lr)
    norms, losses, radii = [], [], []
    for _ in range(train_steps):
        x, y = task.sample(batch, gen)
        out, _ = rnn(x)
        loss = last_step_loss(head, out, y)
        opt.zero_grad()
        loss.backward()
        grads = [p.grad.double().numpy() for p in params]
        if not (np.isfinite(loss.item()) and all(np.all(np.isfinite(g_)) for g_ in grads)):
            break  # the forward or backward pass overflowed: training is over
        if clip:
            clipped, norm = clip_grad_norm(grads, max_norm)
            with torch.no_grad():
                for p, c in zip(params, clipped, strict=True):
                    p.grad.copy_(torch.from_numpy(c))
        else:
            norm = float(np.sqrt(sum(np.sum(g_ * g_) for g_ in grads)))
        norms.append(norm)
        losses.append(loss.item())
        opt.step()
        W_now = rnn.weight_hh_l0.detach().double().numpy()
        radii.append(np.abs(np.linalg.eigvals(W_now)).max() if np.all(np.isfinite(W_now)) else np.inf)
    return np.array(norms), np.array(losses), np.array(radii)


rnn0, _ = make_irnn()
with torch.no_grad():
    h_first = rnn0(task.sample(batch, torch.Generator().manual_seed(0))[0])[0]  # the first batch
active = h_first > 0  # ReLU output > 0: the unit is active at that step, its f' is 1
print(f"initial IRNN on the first batch: {active.float().mean().item():.1%} of (sequence, step, unit) "
      f"entries active; units never active: {int((~active.any(dim=(0, 1))).sum())} of {hidden}; "
      f"units active at every step of every sequence: {int(active.all(dim=1).all(dim=0).sum())}")
W_ih = rnn0.weight_ih_l0.detach()
print(f"W_ih entries: {int((W_ih < 0).sum())} negative, {int((W_ih > 0).sum())} positive")

results = {"no clipping": train_irnn(clip=False), f"clip_grad_norm at {max_norm}": train_irnn(clip=True)}
for name, (norms, losses, radii) in results.items():
    status = (f"finished {train_steps} updates" if len(norms) == train_steps
              else f"overflowed after {len(norms)} updates")
    print(
        f"{name:>22}: {status}; largest gradient norm {norms.max():.3g}, "
        f"loss at update 0: {losses[0]:.3f}, "
        f"mean of the last {min(20, len(losses))}: {losses[-20:].mean():.4g}"
    )
    first = ", ".join(f"{r:.4g}" for r in radii[:4])
    print(f"{'':>22}  rho(W_hh) after the first updates: {first}; largest over the run: {radii.max():.4g}")
print("predicting the mean sum (1.0) would score MSE 1/6 = 0.167")

fig, axes = plt.subplots(1, 2, figsize=(11, 4))
for name, (norms, losses, _) in results.items():
    axes[0].semilogy(norms, ".-", ms=3, label=name)
    axes[1].semilogy(losses, ".-", ms=3, label=name)
axes[0].axhline(max_norm, color="0.5", ls="--", lw=0.8, label=r"threshold $\tau$")
axes[0].set_xlabel("update")
axes[0].set_ylabel("gradient norm before clipping")
axes[0].legend(fontsize=8)
axes[1].axhline(1 / 6, color="0.5", ls=":", lw=0.8, label="predict-the-mean baseline")
axes[1].set_xlabel("update")
axes[1].set_ylabel("training MSE")
axes[1].legend(fontsize=8)
fig.suptitle(f"IRNN on the adding problem (T = {seq_len}), SGD lr = {lr}")
fig.tight_layout()

# %%
# Without clipping, one large gradient step pushes the spectral radius of
# :math:`W_{hh}` above 1 (see the printed :math:`\rho(W_{hh})`), the next
# forward pass grows geometrically, the next gradient is larger still, and
# within a few updates the numbers overflow.  With clipping every update has
# length at most :math:`\alpha\tau` (:math:`\alpha` the learning rate ``lr``),
# so the weights can only move slowly and the feedback loop never starts. Note
# what the loss says: clipping kept training alive; it did not make this tiny
# network solve the adding problem in this short run (the number of updates
# is printed above) -- compare the final loss with the predict-the-mean
# baseline printed under it.  Part IV trains for
# real.
#
# The same gradients show how much value clipping would turn them: the angle
# between the first gradient of the run and its value-clipped version, for a
# range of limits.  Norm clipping turns it by 0 degrees at every threshold.

probe, probe_head = make_irnn()
x, y = task.sample(batch, torch.Generator().manual_seed(0))  # the first batch of both runs
out, _ = probe(x)
last_step_loss(probe_head, out, y).backward()
first_grad = [p.grad.double().numpy() for p in (*probe.parameters(), *probe_head.parameters())]
flat = np.concatenate([g_.ravel() for g_ in first_grad])
limits = np.abs(flat).max() * np.array([0.003, 0.01, 0.03, 0.1, 0.3, 0.6])
angles = [angle_deg(flat, np.concatenate([c.ravel() for c in clip_grad_value(first_grad, lim)]))
          for lim in limits]
norm_angles = [angle_deg(flat, np.concatenate([c.ravel() for c in clip_grad_norm(first_grad, lim)[0]]))
               for lim in limits]
for lim, a, b in zip(limits, angles, norm_angles, strict=True):
    print(f"limit {lim:9.3g}: value clipping turns the gradient by {a:5.1f} deg, "
          f"norm clipping by {b:.1e} deg")

fig, ax = plt.subplots(figsize=(6, 4))
ax.semilogx(limits, angles, "o-", label="clip_grad_value")
ax.semilogx(limits, norm_angles, "s--", label="clip_grad_norm")
ax.set_xlabel(r"clipping limit $\tau$")
ax.set_ylabel("angle to the unclipped gradient (deg)")
ax.set_title(f"A real RNN gradient ({flat.size} entries)")
ax.legend()
fig.tight_layout()

# %%
# What clipping cannot fix
# ------------------------
#
# Clipping multiplies the *whole* gradient by one number :math:`\le 1`.  It
# cannot make anything larger, and it does not change the ratios between
# parts of the gradient.  Take a tanh RNN with PyTorch's default
# initialization and look at how much the loss at the last step depends on
# the input at each earlier step, :math:`\|\partial L/\partial x_t\|`.  The
# signal from far back is tiny before clipping, and after clipping it is just
# as tiny relative to the rest -- or smaller in absolute terms.

torch.manual_seed(1)
T_v = {"quick": 40, "default": 80, "full": 200}[mode]
tanh_rnn = torch.nn.RNN(4, 32, batch_first=True, dtype=torch.float64)  # torch default: U(+-1/sqrt(32))
readout = torch.nn.Linear(32, 1, dtype=torch.float64)
gen_v = torch.Generator().manual_seed(1)
xs = torch.randn(1, T_v, 4, dtype=torch.float64, generator=gen_v, requires_grad=True)
out, _ = tanh_rnn(xs)
readout(out[:, -1]).sum().backward()
per_step = xs.grad[0].numpy()  # row t is dL/dx_t
clipped_per_step, total = clip_grad_norm(per_step, max_norm=1e-3)
lag = np.arange(T_v)[::-1]  # lag of row t is T - 1 - t
before = np.linalg.norm(per_step, axis=1)
after = np.linalg.norm(clipped_per_step, axis=1)
far = lag >= T_v // 2
print(f"total norm of dL/dx: {total:.3e}")
print(f"largest ||dL/dx_t|| at lags >= {T_v // 2}, as a fraction of the largest overall: "
      f"before clipping {before[far].max() / before.max():.2e}, after {after[far].max() / after.max():.2e}")

fig, ax = plt.subplots(figsize=(6.5, 4))
ax.semilogy(lag, before, "o", ms=3, label="before clipping")
ax.semilogy(lag, after, "x", ms=3, label=r"after clip_grad_norm ($\tau = 10^{-3}$)")
ax.set_xlabel(r"lag $T - t$")
ax.set_ylabel(r"$\|\partial L / \partial x_t\|$")
ax.set_title("Vanishing gradients: clipping only scales everything down")
ax.legend()
fig.tight_layout()

# %%
# Summary
# -------
#
# * Norm clipping rescales the whole gradient to length :math:`\tau` when it is
#   longer; :math:`(80, 60)` becomes :math:`(8, 6)` at :math:`\tau = 10`, and
#   :math:`(8, 6)` stays put.  The direction is kept.
# * Value clipping bounds each entry; it turns the gradient -- by about 8
#   degrees for :math:`(80, 60)`, by tens of degrees for a real RNN gradient
#   at a tight limit.
# * An IRNN trained with SGD overflowed within a few updates without
#   clipping and trained stably with it: clipping breaks the feedback loop
#   between large weights and large gradients.
# * Clipping never enlarges a gradient, so it cannot help with vanishing
#   gradients; orthogonal weights (lessons 08, 12), gated cells and the
#   methods of part IV address that.
#
# Exercises
# ---------
#
# 1. Rerun the IRNN with ``max_norm`` 0.1, 10 and 100.  Which thresholds
#    still prevent the overflow, and how does the loss curve change?
# 2. Replace norm clipping by ``clip_grad_value`` in ``train_irnn``.  Does
#    it also prevent the overflow?  Measure the angle of each update.
# 3. Show that both rules still give a descent direction,
#    :math:`\langle g, \operatorname{clip}(g)\rangle > 0` for :math:`g \ne 0`.
#    For value clipping in two dimensions, which :math:`g` makes the angle
#    to :math:`g` largest at a given limit?
