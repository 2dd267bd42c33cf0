"""
12 · Staying orthogonal: the exponential of a skew-symmetric matrix
===================================================================

Lessons 08 and 09 showed that an orthogonal :math:`W_{hh}` keeps the linear
part of the BPTT product at norm 1.  But training changes :math:`W_{hh}`, and
an ordinary gradient step does not know about orthogonality: one step can
leave the orthogonal (or, over the complex numbers, unitary) matrices
entirely.  One fix, behind expRNN and the course's slides, is never to
update :math:`W` itself: write :math:`W = \\exp(B)` with :math:`B`
skew-symmetric and update :math:`B`.  Every :math:`B` gives an orthogonal
:math:`W`, so no step can leave.  Another moves :math:`W` along the group
by multiplying it with an orthogonal factor.  Staying on the group is the
easy part; converging is not, as the slides' own rule shows.

**What you will learn**

* how far an additive update takes a matrix off the orthogonal group: to
  first order in the step, or only to second order along a tangent direction;
* why :math:`\\exp(B)` is orthogonal for every skew-symmetric :math:`B`, and
  where the proof needs :math:`B` and :math:`B^\\top` to commute;
* the update :math:`B \\leftarrow B - \\alpha(GW^\\top - WG^\\top)` and a check that
  it keeps :math:`W` orthogonal to :math:`10^{-12}` over 1000 updates;
* the Cayley map as a cheaper alternative;
* why the slides' rule (accumulate the step into :math:`B`) fails to converge
  for every learning rate, and what uRNN, full-capacity uRNN and expRNN
  actually do -- which is not what the slides say.

**Prerequisites:** lesson 04 (orthogonal matrices, ``expm_skew`` and
``cayley``), lesson 09 (BPTT Jacobians).
"""

# %%
# One additive step leaves the unitary set
# ----------------------------------------
#
# :math:`W = \begin{pmatrix} 0 & 1 \\ 1 & 0 \end{pmatrix}` swaps two
# coordinates: it is orthogonal (and unitary), with eigenvalues :math:`\pm 1`.
# Apply the update :math:`W \leftarrow W + \alpha \operatorname{sigmoid}(W)`
# with the logistic function :math:`\operatorname{sigmoid}(x) = 1/(1 + e^{-x})`
# (entrywise) and learning rate :math:`\alpha = 10`, and measure the distance from
# orthogonality :math:`\|W^\top W - I\|_2` with
# :func:`linalg_rnn.orthogonal.orthogonality_error`.

import itertools

import matplotlib.pyplot as plt
import numpy as np
import scipy.linalg
import torch
from threadpoolctl import threadpool_limits

from linalg_rnn.course import lesson_mode, race
from linalg_rnn.dynamics import init_recurrent
from linalg_rnn.orthogonal import cayley, expm_skew, is_orthogonal, orthogonality_error

mode = lesson_mode()
torch.set_num_threads(1)  # tiny matrices: extra threads only contend


def sigmoid(x):
    """The logistic function 1 / (1 + exp(-x))."""
    return 1.0 / (1.0 + np.exp(-x))


W = np.array([[0.0, 1.0], [1.0, 0.0]])
steps_taken = 0
print(f"before: error {orthogonality_error(W):.1e}, eigenvalues {np.linalg.eigvals(W)}")
while is_orthogonal(W):
    W = W + 10 * sigmoid(W)
    steps_taken += 1
print(f"left the orthogonal set after {steps_taken} update(s)")
print(f"after:  W = {W.round(3).tolist()}, error {orthogonality_error(W):.1f}, "
      f"|eigenvalues| {np.abs(np.linalg.eigvals(W)).round(3)}")

# %%
# The update was artificial (a sigmoid of the weights is not a gradient), but
# any additive step :math:`W \leftarrow W - \alpha G` from an orthogonal
# :math:`W` leaves the orthogonal matrices, which form a curved surface.  How
# far depends on the direction of :math:`G`.  Expanding,
#
# .. math::
#
#     (W - \alpha G)^\top (W - \alpha G) - I
#     = -\alpha\,(W^\top G + G^\top W) + \alpha^2\, G^\top G .
#
# The first-order term is twice the symmetric part of :math:`W^\top G`.  It
# vanishes exactly when :math:`W^\top G` is skew-symmetric, that is when
# :math:`G = WB` for a skew-symmetric :math:`B`: the *tangent* directions of
# the group at :math:`W`.  A straight step along a tangent direction leaves
# the set only at second order, by :math:`\alpha^2\|G\|_2^2`
# (:math:`G^\top G = B^\top B`); a step with a *normal* component
# (:math:`G = WS`, :math:`S` symmetric) leaves it at first order, by
# :math:`2\alpha\|S\|_2` to leading order.  A gradient has both components
# in general, so it leaves at :math:`O(\alpha\|G\|)`.  We measure both for a
# random orthogonal :math:`W` and directions of norm 1: the ratio
# error/:math:`\alpha^2` is constant for the tangent step, error/:math:`\alpha`
# for the normal one.

n = {"quick": 8, "default": 16, "full": 32}[mode]
W0 = init_recurrent(n, "orthogonal", seed=2)
M0 = np.random.default_rng(3).standard_normal((n, n))
tangent = W0 @ (M0 - M0.T)  # W B with B skew-symmetric
normal = W0 @ (M0 + M0.T)  # W S with S symmetric
tangent /= np.linalg.norm(tangent, 2)
normal /= np.linalg.norm(normal, 2)
print(f"{'alpha':>7} {'tangent step: error':>20} {'error / alpha^2':>16} "
      f"{'normal step: error':>19} {'error / alpha':>14}")
for step in (1e-1, 1e-2, 1e-3):
    e_t = orthogonality_error(W0 - step * tangent)
    e_n = orthogonality_error(W0 - step * normal)
    print(f"{step:7.0e} {e_t:20.3e} {e_t / step**2:16.4f} {e_n:19.3e} {e_n / step:14.4f}")

# %%
# Either way the matrix is off the group after the step, its spectral radius
# drifts off 1, and lesson 08's explosion or decay is back.
#
# Why exp(B) is orthogonal
# ------------------------
#
# For a skew-symmetric :math:`B` (:math:`B^\top = -B`),
#
# .. math::
#
#     W W^\top = e^{B} \left(e^{B}\right)^\top = e^{B} e^{B^\top}
#           = e^{B + B^\top} = e^{0} = I .
#
# The step :math:`e^{B} e^{B^\top} = e^{B + B^\top}` is *not* true for general
# matrices: :math:`e^{X} e^{Y} = e^{X+Y}` needs :math:`XY = YX`.  Here
# :math:`B^\top = -B` commutes with :math:`B`, so it holds.  We check both sides
# numerically with SciPy's general ``expm``: for a skew :math:`B` the identity
# holds to rounding, for a general :math:`B` it fails.

rng = np.random.default_rng(0)
M = rng.standard_normal((n, n))
for name, B in [("skew B = (M - M.T)/2", (M - M.T) / 2), ("general B = M", M)]:
    lhs = scipy.linalg.expm(B) @ scipy.linalg.expm(B.T)
    rhs = scipy.linalg.expm(B + B.T)
    commutator = np.linalg.norm(B @ B.T - B.T @ B)
    print(
        f"{name:>22}: ||B B.T - B.T B|| = {commutator:8.2e}, "
        f"||exp(B)exp(B.T) - exp(B+B.T)|| / ||exp(B+B.T)|| = "
        f"{np.linalg.norm(lhs - rhs, 2) / np.linalg.norm(rhs, 2):.2e}, "
        f"||W W.T - I|| = {np.linalg.norm(lhs - np.eye(n), 2):.2e}"
    )

# %%
# Updating B instead of W
# -----------------------
#
# Let :math:`G = \partial L/\partial W` be the ordinary gradient.  The matrix
# :math:`\Omega = G W^\top - W G^\top` is skew-symmetric (its transpose is
# :math:`W G^\top - G W^\top = -\Omega`), so
#
# .. math::
#
#     B \leftarrow B - \alpha\,(G W^\top - W G^\top), \qquad W = \exp(B)
#
# keeps :math:`B` skew and :math:`W` orthogonal, whatever :math:`G` and
# :math:`\alpha` are.  (The slides write :math:`+\alpha`; with :math:`G` the
# gradient of a loss to be *minimized* the sign is minus -- orthogonality
# does not care.)  :math:`\Omega` is the gradient projected onto the tangent
# directions of the orthogonal group at :math:`W`: moving along
# :math:`W \to e^{-\alpha \Omega} W` changes :math:`L` by
# :math:`-\alpha \langle G, \Omega W \rangle = -\tfrac{\alpha}{2}\|\Omega\|_F^2` to
# first order.  Accumulating :math:`\Omega` into :math:`B` is the same move only
# when :math:`\Omega` and :math:`B` commute, so we *measure* whether the loss
# goes down.
#
# The task: fit :math:`W` to a target rotation :math:`Q_\star` (with
# :math:`\det Q_\star = +1`, since :math:`\det e^B = e^{\operatorname{tr} B} = 1`),
# :math:`L(W) = \tfrac12 \|W - Q_\star\|_F^2`, so :math:`G = W - Q_\star`.  Next to it we
# run the plain additive step :math:`W \leftarrow W - \alpha G` from the same
# start.

updates = 1000
alpha = 0.05
Q_star = init_recurrent(n, "orthogonal", seed=1)  # the target
if np.linalg.det(Q_star) < 0:
    Q_star[:, 0] = -Q_star[:, 0]  # flip one column: det +1, still orthogonal

B = np.zeros((n, n))
W_exp = expm_skew(B)  # = I
W_add = np.eye(n)
history = {"exp(B) update": [], "additive W - alpha G": []}
losses = {"exp(B) update": [], "additive W - alpha G": []}
for _ in range(updates):
    G = W_exp - Q_star
    B = B - alpha * (G @ W_exp.T - W_exp @ G.T)
    W_exp = expm_skew(B)
    W_add = W_add - alpha * (W_add - Q_star)
    for name, Wk in (("exp(B) update", W_exp), ("additive W - alpha G", W_add)):
        history[name].append(orthogonality_error(Wk))
        losses[name].append(0.5 * np.linalg.norm(Wk - Q_star) ** 2)

worst = max(history["exp(B) update"])
print(f"exp(B) update: largest orthogonality error over {updates} updates = {worst:.2e} "
      f"(< 1e-12: {worst < 1e-12}); B stays skew: {np.array_equal(B, -B.T)}")
print(f"additive update: largest orthogonality error = {max(history['additive W - alpha G']):.2e}")
loss_at_identity = 0.5 * np.linalg.norm(np.eye(n) - Q_star) ** 2
for name, ls in losses.items():
    print(f"{name:>22}: loss {loss_at_identity:.3f} at W = I, {ls[-1]:.2e} after {updates} updates")
lowest = int(np.argmin(losses["exp(B) update"]))
rise = losses["exp(B) update"][-1] / losses["exp(B) update"][lowest]
print(f"exp(B) update: lowest loss {losses['exp(B) update'][lowest]:.2e} at update {lowest + 1}, then "
      + (f"back up by a factor {rise:.1e} by update {updates}" if rise > 100 else "no rise by a factor 100"))

fig, axes = plt.subplots(1, 2, figsize=(11, 4))
for name in history:
    axes[0].semilogy(np.maximum(history[name], 1e-17), label=name)
    axes[1].semilogy(losses[name], label=name)
axes[0].axhline(1e-12, color="C3", ls="--", lw=0.8, label="1e-12")
axes[0].set_xlabel("update")
axes[0].set_ylabel(r"$\|W^\top W - I\|_2$")
axes[0].set_title("distance from the orthogonal group")
axes[0].legend(fontsize=8)
axes[1].set_xlabel("update")
axes[1].set_ylabel(r"$\frac{1}{2}\|W - Q_\star\|_F^2$")
axes[1].set_title("loss")
axes[1].legend(fontsize=8)
fig.tight_layout()

# %%
# The additive step also reaches the target here -- the target is
# orthogonal, so the straight line from :math:`I` to :math:`Q_\star` ends on the
# group -- but every matrix in between is off it, and an RNN trained with
# such steps runs on non-orthogonal matrices.  The exponential update is
# orthogonal at *every* step.  (Look at its loss curve, though, and the
# line printed under the losses: after its lowest point it turns back up.
# We come back to that below.)
#
# A noisy gradient, as in real training, shows the difference better: random
# :math:`G` at every step.  The additive walk wanders away from the group; the
# exponential one cannot.

G_noise = rng.standard_normal((updates, n, n))
B = np.zeros((n, n))
W_exp, W_add = np.eye(n), np.eye(n)
noisy_exp, noisy_add = [], []
for k in range(updates):
    B = B - alpha * (G_noise[k] @ W_exp.T - W_exp @ G_noise[k].T)
    W_exp = expm_skew(B)
    W_add = W_add - alpha * G_noise[k]
    noisy_exp.append(orthogonality_error(W_exp))
    noisy_add.append(orthogonality_error(W_add))
print(f"random G: exp(B) update worst error {max(noisy_exp):.2e}; additive error after {updates} "
      f"updates {noisy_add[-1]:.2e}, spectral radius {np.abs(np.linalg.eigvals(W_add)).max():.2f} "
      f"(exp(B): {np.abs(np.linalg.eigvals(W_exp)).max():.12f})")

fig, ax = plt.subplots(figsize=(5, 5))
theta = np.linspace(0, 2 * np.pi, 300)
ax.plot(np.cos(theta), np.sin(theta), color="0.6", lw=1, label="unit circle")
lam_exp, lam_add = np.linalg.eigvals(W_exp), np.linalg.eigvals(W_add)
ax.scatter(lam_add.real, lam_add.imag, s=14, color="C1", label="additive steps")
ax.scatter(lam_exp.real, lam_exp.imag, s=14, color="C0", label="exp(B) steps")
ax.set_aspect("equal")
ax.legend(fontsize=8)
ax.set_title(f"Eigenvalues after {updates} random-gradient steps")
fig.tight_layout()

# %%
# The Cayley map: a cheaper alternative
# -------------------------------------
#
# :math:`\operatorname{cay}(B) = (I + B)^{-1}(I - B)` is also orthogonal for
# every skew-symmetric :math:`B`: :math:`I + B` is always invertible (the
# eigenvalues of :math:`B` are imaginary), and :math:`(I - B)` and
# :math:`(I + B)^{-1}` commute.  It costs one LU solve instead of an
# eigendecomposition or a Padé approximation with scaling and squaring.  Its
# one blind spot: it never produces an orthogonal matrix with eigenvalue
# :math:`-1`, since :math:`\operatorname{cay}(B) x = -x` would need
# :math:`(I - B)x = -(I + B)x`, i.e. :math:`x = 0`.
#
# We time :func:`linalg_rnn.orthogonal.cayley`,
# :func:`linalg_rnn.orthogonal.expm_skew` and SciPy's general ``expm`` on
# skew matrices of a few sizes with :func:`linalg_rnn.course.race` (the three
# take turns, and each keeps its best of several rounds), with the BLAS
# library held to one thread so that the numbers compare operation counts
# rather than how busy the machine is; your numbers will differ.

sizes = {"quick": [16, 64], "default": [16, 64, 128], "full": [16, 64, 256, 512]}[mode]
repeats = {"quick": 3, "default": 5, "full": 10}[mode]


functions = {"cayley": cayley, "expm_skew": expm_skew, "scipy expm": scipy.linalg.expm}
timings = {name: [] for name in functions}  # milliseconds per call
one_thread = threadpool_limits(limits=1)  # undone below, after the timings
for size in sizes:
    M = rng.standard_normal((size, size))
    B = (M - M.T) / (2 * np.sqrt(size))
    best = race({name: lambda f=f, B=B: f(B) for name, f in functions.items()}, repeats=repeats)
    for name in functions:
        timings[name].append(1e3 * best[name])
    errors = [orthogonality_error(f(B)) for f in (cayley, expm_skew, scipy.linalg.expm)]
    print(
        f"n = {size:4d}: cayley {timings['cayley'][-1]:7.2f} ms (error {errors[0]:.1e}), "
        f"expm_skew {timings['expm_skew'][-1]:7.2f} ms (error {errors[1]:.1e}), "
        f"scipy expm {timings['scipy expm'][-1]:7.2f} ms (error {errors[2]:.1e})"
    )

# %%
# Read the timings with care: they depend on the machine, the BLAS library
# and whatever else is running, and the lesson does not assert an order.
# What does not change is the operation count.  The Cayley map is one LU
# solve, about :math:`\tfrac{8}{3}n^3` flops; ``expm_skew`` pays for a
# complex Hermitian eigendecomposition of :math:`iB`, several times more,
# and in exchange its result is orthogonal to rounding by construction;
# SciPy's general ``expm`` (scaling and squaring with a Padé approximant)
# sits in between and does not know that its result should be orthogonal,
# though for these well-scaled matrices it is, to rounding.

one_thread.restore_original_limits()

for k, size in enumerate(sizes):
    fastest = min(timings, key=lambda name: timings[name][k])
    print(f"n = {size:4d}: fastest in this run: {fastest}")

fig, ax = plt.subplots(figsize=(6, 4))
for name, ms in timings.items():
    ax.loglog(sizes, ms, "o-", label=name)
ax.set_xlabel("n")
ax.set_ylabel("time per call (ms, best of runs)")
ax.set_title("Cost of one orthogonal matrix from a skew one")
ax.legend()
fig.tight_layout()

# %%
# What uRNN, full-capacity uRNN and expRNN actually do
# ----------------------------------------------------
#
# The slides tell this history wrongly, so here it is from the papers.
#
# Arjovsky, Shah & Bengio (arXiv 2015, ICML 2016) built the *unitary
# evolution RNN* (uRNN).  Its activation is not a sigmoid, as the slides say,
# but *modReLU*, a ReLU applied to the modulus of each complex hidden unit
# (with a learned bias) that keeps its phase.  And its :math:`W_{hh}` is
# unitary *by construction*: a product of cheap unitary factors (diagonal
# phase matrices, reflections, a permutation, the Fourier transform and its
# inverse), each parametrized so that every parameter value gives a unitary
# matrix.  No update, whatever the learning rate, can take it off the group,
# and the activation has nothing to do with that; the slides' swap-matrix
# experiment, an additive update of :math:`W` itself, is not how uRNN trains.
# The price of the factors is capacity: with :math:`O(n)` parameters they
# reach only a small part of the unitary group, as Wisdom et al. pointed out.
#
# Wisdom, Powers, Hershey, Le Roux & Atlas (NeurIPS 2016), *full-capacity
# uRNN*, optimize the whole :math:`W` on the unitary group: with
# :math:`\Omega = GW^* - WG^*` (our :math:`\Omega`, with the conjugate
# transpose :math:`{}^*`) they update
# :math:`W \leftarrow (I + \tfrac{\alpha}{2}\Omega)^{-1}(I - \tfrac{\alpha}{2}\Omega)\,W`.
# That is exactly the step along the group, :math:`W \leftarrow e^{-\alpha \Omega}W`,
# with the Cayley map :math:`\operatorname{cay}(\tfrac{\alpha}{2}\Omega)` in place
# of the exponential (the two agree to second order in :math:`\alpha`).
#
# Lezcano-Casado & Martínez-Rubio (2019) took the exponential route in full:
# *expRNN* stores an unconstrained matrix, makes it skew, and sets
# :math:`W = \exp(B)`; the optimizer works on :math:`B` with ordinary
# gradients, computed *through* the exponential by backpropagation, so every
# step is an exact gradient step in :math:`B` and :math:`W` stays
# orthogonal.  (``torch.nn.utils.parametrizations.orthogonal`` packages
# exactly this, with a Cayley map as an option, in the convention
# :math:`(I - B/2)^{-1}(I + B/2) = \operatorname{cay}(-B/2)`.  Part IV's
# ``expm`` and ``cayley`` strategies register the same construction, with an
# exponential whose gradient is cheaper and with this book's
# :math:`\operatorname{cay}(B)`, the map expRNN and scoRNN use:
# :func:`linalg_rnn.rnn.models.parametrize_orthogonal`.  Like expRNN they can
# start :math:`B` at a block-diagonal skew matrix of Henaff or Cayley
# rotation angles, and fold :math:`e^{B}` into a fixed base every few steps,
# Lezcano-Casado's *dynamic trivialization*.)
#
# The slides' rule is none of these: it adds :math:`-\alpha \Omega`, a step built
# from the gradient with respect to :math:`W`, to :math:`B`, which is not the
# gradient with respect to :math:`B`.  We run all four on the same fitting
# problem: expRNN with PyTorch's ``matrix_exp`` and autograd, the slides'
# rule, the step along the group, and Wisdom et al.'s Cayley step
# (:func:`linalg_rnn.orthogonal.cayley`).

long_updates = {"quick": 1200, "default": 3000, "full": 8000}[mode]
checkpoints = np.linspace(long_updates // 8, long_updates, 8).astype(int) - 1

X = torch.zeros(n, n, dtype=torch.float64, requires_grad=True)
Q_star_t = torch.from_numpy(Q_star)
opt = torch.optim.SGD([X], lr=alpha)
long_losses = {"expRNN-style (autograd through exp)": [], "slides' rule: B += step": [],
               "W <- exp(-alpha Omega) W": [], "Wisdom et al.: W <- cay(alpha Omega/2) W": []}
long_errors = {name: [] for name in long_losses}
B = np.zeros((n, n))
W_slides, W_mult, W_cay = np.eye(n), np.eye(n), np.eye(n)
B_best, best = B, np.inf  # the slides' B where its loss was lowest
for _ in range(long_updates):
    W_t = torch.linalg.matrix_exp(X - X.T)  # skew argument: W orthogonal for every X
    loss = 0.5 * ((W_t - Q_star_t) ** 2).sum()
    opt.zero_grad()
    loss.backward()
    opt.step()
    G = W_slides - Q_star
    B = B - alpha * (G @ W_slides.T - W_slides @ G.T)
    W_slides = expm_skew(B)
    G = W_mult - Q_star
    W_mult = expm_skew(-alpha * (G @ W_mult.T - W_mult @ G.T)) @ W_mult  # step along the group
    G = W_cay - Q_star
    W_cay = cayley(alpha / 2 * (G @ W_cay.T - W_cay @ G.T)) @ W_cay  # the same step, Cayley retraction
    for name, Wk in zip(long_losses, (W_t.detach().numpy(), W_slides, W_mult, W_cay), strict=True):
        long_losses[name].append(0.5 * np.linalg.norm(Wk - Q_star) ** 2)
        long_errors[name].append(orthogonality_error(Wk))
    if long_losses["slides' rule: B += step"][-1] < best:
        B_best, best = B, long_losses["slides' rule: B += step"][-1]
print(f"loss after update {', '.join(str(c + 1) for c in checkpoints)}:")
for name in long_losses:
    values = ", ".join(f"{long_losses[name][c]:.1e}" for c in checkpoints)
    print(f"{name:>42}: {values}; worst orthogonality error {max(long_errors[name]):.1e}")

fig, ax = plt.subplots(figsize=(6.5, 4))
for name, ls in long_losses.items():
    ax.semilogy(np.maximum(ls, 1e-32), label=name)
ax.set_xlabel("update")
ax.set_ylabel(r"$\frac{1}{2}\|W - Q_\star\|_F^2$")
ax.set_title("Four ways to stay orthogonal: do they converge?")
ax.legend(fontsize=8)
fig.tight_layout()

# %%
# All four keep :math:`W` orthogonal at every step -- that part of the
# slides' argument is right.  (The two steps along the group multiply
# thousands of orthogonal factors, so their rounding errors add up, slowly;
# the other two recompute :math:`W` from scratch each time.)  But orthogonal
# is not the same as convergent: the expRNN-style descent and the two steps
# along the group reach the target and stay there, while the slides' rule
# gets close and then drifts away again (the printed losses).
#
# Why the slides' rule drifts
# ---------------------------
#
# Near a point :math:`B_\star` with :math:`e^{B_\star} = Q_\star`, write
# :math:`B = B_\star + \delta`.  To first order :math:`G W^\top` is skew, so
# :math:`\Omega \approx 2\,G W^\top`, and
#
# .. math::
#
#     G W^\top \approx \int_0^1 e^{sB_\star} \delta\, e^{-sB_\star} \, ds .
#
# The eigenvalues of :math:`B_\star` are :math:`\pm i\omega_j`, where the
# :math:`\omega_j` are the rotation angles of :math:`Q_\star`.  This integral
# multiplies the component of :math:`\delta` that couples the eigenvalues
# :math:`i\omega_j` and :math:`i\omega_k` by :math:`(e^{i\theta} - 1)/(i\theta)`
# with :math:`\theta = \omega_j - \omega_k`.  One update therefore multiplies
# that component by
#
# .. math::
#
#     \lambda(\theta) = 1 - 2\alpha\,\frac{e^{i\theta} - 1}{i\theta}, \qquad
#     |\lambda(\theta)|^2 = 1 - 4\alpha\,\frac{\sin\theta}{\theta}
#                    + 4\alpha^2\,\frac{|e^{i\theta} - 1|^2}{\theta^2} ,
#
# since the real part of :math:`(e^{i\theta} - 1)/(i\theta)` is
# :math:`\sin\theta/\theta`.  (:math:`\lambda(\theta)` is an eigenvalue of
# the linearized update.)  Where :math:`\sin\theta/\theta > 0`
# (:math:`|\theta| < \pi`) a small enough :math:`\alpha` makes
# :math:`|\lambda(\theta)| < 1`.  Where :math:`\sin\theta/\theta \le 0`
# (:math:`\pi \le |\theta| \le 2\pi`), :math:`|\lambda(\theta)| > 1` for
# **every** :math:`\alpha > 0`: no learning rate, however small, makes the
# fixed point attract.  (:math:`\theta = 2\pi` is also where the derivative of
# the matrix exponential becomes singular.)
#
# Which :math:`\theta` occur?  :math:`B_\star` is real, so its eigenvalues
# come in pairs :math:`\pm i\omega_j`, one pair per rotation plane of
# :math:`Q_\star`.  Between two planes :math:`j \ne k` the couplings therefore
# have :math:`\theta = \pm(\omega_j - \omega_k)` *and*
# :math:`\theta = \pm(\omega_j + \omega_k)`.  (Within one plane there is
# none: a real skew :math:`\delta` has :math:`x^\top \delta x = 0` for every
# complex :math:`x`, which is exactly the component between :math:`i\omega_j`
# and :math:`-i\omega_j`.)  With the principal logarithm, angles in
# :math:`[0, \pi]`, the sums are the dangerous ones: whenever two planes'
# angles add up to :math:`\pi` or more -- for instance whenever two angles
# exceed :math:`\pi/2` -- the fixed point repels for every :math:`\alpha`.  A
# random rotation has its angles spread over :math:`[0, \pi]`, so it almost
# always has such a pair.
#
# Aiming for another logarithm does not help.  The rule has a fixed point at
# every real logarithm of :math:`Q_\star` (angles :math:`\omega_j + 2\pi k_j`
# for integers :math:`k_j`), but moving an angle past :math:`\pi` only makes
# its sums and differences with the other angles land in :math:`[\pi, 2\pi]`
# again.  We check every logarithm whose angles stay below :math:`3\pi` (each
# angle :math:`\omega_j`, :math:`2\pi - \omega_j` or :math:`2\pi + \omega_j`;
# a random sample of them when there are too many).  The step along the group
# has no such factor: there the update is exactly :math:`e^{-\alpha \Omega}`,
# a descent step for every :math:`\theta`.
#
# The predictions can be checked twice.  The linearized update is a linear
# map on skew matrices; its spectral radius, computed by finite differences
# around :math:`B_\star`, must equal :math:`\max_\theta|\lambda(\theta)|`.
# And the loss is quadratic in :math:`\delta`, so near :math:`B_\star` it
# should grow by :math:`\max_\theta |\lambda(\theta)|^2` per update.


def couplings(angles):
    """The theta of every coupling of two rotation planes: omega_j - omega_k and omega_j + omega_k, j < k."""
    angles = np.asarray(angles, dtype=float)
    j, k = np.triu_indices(angles.shape[-1], 1)
    return np.concatenate([angles[..., j] - angles[..., k], angles[..., j] + angles[..., k]], axis=-1)


def growth(theta):
    """|lambda(theta)|^2 = |1 - 2 alpha (e^{i theta} - 1)/(i theta)|^2, elementwise."""
    return np.abs(1 - 2 * alpha * (np.exp(1j * theta) - 1) / (1j * theta)) ** 2


def slides_update(B):
    """One step of the slides' rule on the fitting problem."""
    W_ = expm_skew(B)
    G_ = W_ - Q_star
    return B - alpha * (G_ @ W_.T - W_ @ G_.T)


B_star = np.real(scipy.linalg.logm(Q_star))
B_star = (B_star - B_star.T) / 2  # the principal logarithm of Q_star, skew-symmetric
ev = np.linalg.eigvals(B_star).imag
omega = np.sort(ev[ev > 1e-9])  # one angle per rotation plane, in (0, pi); n is even, so n/2 planes
print(f"exp(B*) = Q* to {np.abs(expm_skew(B_star) - Q_star).max():.1e}; "
      f"rotation angles omega_j / pi: {np.round(omega / np.pi, 3)}")
print(f"angles above pi/2: {int(np.sum(omega > np.pi / 2))} of {omega.size}; largest sum of two angles: "
      f"{np.sort(omega)[-2:].sum() / np.pi:.3f} pi")
theta = couplings(omega)
print(f"predicted growth per update, max |lambda(theta)|^2 = {growth(theta).max():.6f}; couplings with "
      f"sin(theta)/theta <= 0 (repelling for every alpha > 0): {int(np.sum(np.sin(theta) / theta <= 0))} "
      f"of {theta.size}")

upper = np.triu_indices(n, 1)
jacobian = np.empty((upper[0].size, upper[0].size))
for c, (i, j) in enumerate(zip(*upper, strict=True)):
    E = np.zeros((n, n))
    E[i, j], E[j, i] = 1.0, -1.0  # a basis vector of the skew-symmetric matrices
    fd = 1e-6  # the step of the central difference
    jacobian[:, c] = ((slides_update(B_star + fd * E) - slides_update(B_star - fd * E)) / (2 * fd))[upper]
radius = np.abs(np.linalg.eigvals(jacobian)).max()
print(f"spectral radius of the linearized update (finite differences): {radius:.6f}, "
      f"squared {radius**2:.6f}")

choices = np.stack([omega, 2 * np.pi - omega, 2 * np.pi + omega])  # three candidate angles per plane
if 3 ** omega.size <= 60_000:
    logs = np.array(list(itertools.product(*choices.T)))
    which = f"all {len(logs)}"
else:
    pick = np.random.default_rng(4).integers(0, 3, size=(20_000, omega.size))
    logs = choices[pick, np.arange(omega.size)]
    which = f"{len(logs)} random ones of the {3 ** omega.size}"
theta_logs = couplings(logs)
repel_all = np.any(np.sin(theta_logs) / theta_logs <= 0, axis=1)
print(f"other logarithms ({which} with angles below 3 pi): repelling for every alpha > 0: "
      f"{int(repel_all.sum())}; smallest max |lambda(theta)|^2 at alpha = {alpha}: "
      f"{growth(theta_logs).max(axis=1).min():.4f}")
print(f"the slides' closest B vs B*: ||B_best - B*||_F = {np.linalg.norm(B_best - B_star):.1e}")

slides = np.array(long_losses["slides' rule: B += step"])
lowest = int(np.argmin(slides))
rising = np.arange(lowest, long_updates)
rising = rising[(slides[rising] > 1e3 * slides[lowest]) & (slides[rising] < 1e-6)]
if rising.size > 10:
    measured = np.exp(np.polyfit(rising, np.log(slides[rising]), 1)[0])
    measured_text = f"{measured:.4f}"
else:
    measured_text = "not measurable in this run (too few rising updates)"
print(f"loss growth per update near the optimum: predicted {growth(theta).max():.4f}, "
      f"measured {measured_text}")

# %%
# Summary
# -------
#
# * One additive update (:math:`W + 10\operatorname{sigmoid}(W)`) took the swap matrix off the
#   unitary set; any straight step leaves the curved set, at first order in
#   the step size, or at second order along a tangent direction.
# * :math:`\exp(B)` is orthogonal for every skew-symmetric :math:`B` because
#   :math:`B` and :math:`B^\top = -B` commute; for a general :math:`B` the
#   identity :math:`e^B e^{B^\top} = e^{B + B^\top}` fails, as measured.
# * Updating :math:`B \leftarrow B - \alpha(GW^\top - WG^\top)` kept :math:`W`
#   orthogonal to a few :math:`10^{-15}` (far inside :math:`10^{-12}`) for
#   1000 updates, with a clean or a random gradient; the additive walk
#   drifted off.
# * Staying orthogonal does not make an update rule converge: adding the
#   step to :math:`B`, as the slides do, drifted away from the optimum, and
#   near it the optimum repels for every learning rate once two rotation
#   angles add up to :math:`\pi` or more, for every choice of logarithm we
#   checked.  Stepping along the group (with the exponential, or with the
#   Cayley map as Wisdom et al.'s full-capacity uRNN does) or differentiating
#   through the exponential (expRNN) converged and stayed.
# * The Cayley map does the same job with one linear solve and misses only
#   the matrices with eigenvalue :math:`-1`.
# * uRNN (modReLU, a product of unitary factors) and expRNN parametrize
#   :math:`W_{hh}` so that it is unitary for every parameter value;
#   full-capacity uRNN moves :math:`W_{hh}` along the group.
#
# Exercises
# ---------
#
# 1. Replace ``expm_skew`` by ``cayley`` in the :math:`B` update (use
#    :math:`W = \operatorname{cay}(B)`).  Is the orthogonality error the same?
#    Does the loss still go down?
# 2. Make the target :math:`Q_\star` have determinant :math:`-1`.  What is the
#    lowest loss the :math:`\exp(B)` update can reach, and why?
# 3. Take :math:`B` skew and :math:`S` symmetric, both :math:`2 \times 2`.
#    Compute :math:`\|e^{B}e^{S} - e^{B+S}\|` and relate it to the
#    commutator :math:`BS - SB`.
