"""
08 · Repeated multiplication: what each initialization does to Wᵗ
=================================================================

An RNN applies the same recurrent matrix :math:`W_{hh}` at every time step.
Strip the network down to nothing else -- no input, no bias, the identity as
activation and the identity matrix as initial state -- and the hidden state
after :math:`t` steps is exactly the matrix power :math:`W^t`.  Part I showed
that the eigenvalues of :math:`W` decide whether :math:`W^t` explodes or
vanishes; here we watch it happen for the initializations people actually use.

**What you will learn**

* how the common initializations (the schemes ``normal``, ``uniform``,
  ``orthogonal``, ``identity`` and ``scaled_orthogonal`` of
  :func:`linalg_rnn.dynamics.init_recurrent`; the trainer of part IV calls
  its orthogonal and identity inits by the same names) place the eigenvalues
  of :math:`W_{hh}`;
* that :math:`\\|W^t\\|_2` grows, shrinks or stays put according to those
  eigenvalues -- over 64 steps and over many more;
* why a ``tanh`` and real inputs take away the guarantee that an orthogonal
  :math:`W` keeps the norm.

**Prerequisites:** lessons 01--03 (eigenvalues, power iteration, matrix
powers) and lesson 04 (orthogonal matrices and the unit circle).
"""

# %%
# The simplest RNN
# ----------------
#
# With :math:`h_t = W h_{t-1}` and :math:`h_0 = I` the state is
# :math:`h_t = W^t`.  :func:`linalg_rnn.dynamics.repeated_products` forms these
# products one multiplication at a time, like the RNN does, and records the
# spectral norm :math:`\|W^t\|_2` and the eigenvalues of :math:`W^t`.
#
# We draw one :math:`H \times H` matrix per scheme, for a hidden size :math:`H`
# (printed below), with
# :func:`linalg_rnn.dynamics.init_recurrent`.  The two random schemes use the
# usual :math:`1/\sqrt{H}` scale; ``uniform`` at gain 1 is what
# ``torch.nn.RNN`` uses by default.  The ``scaled_orthogonal`` matrices are
# :math:`\gamma Q` with gains :math:`\gamma = 0.9` and :math:`1.1`, for the same
# :math:`Q` as ``orthogonal``.

import matplotlib.pyplot as plt
import numpy as np

from linalg_rnn.course import lesson_mode
from linalg_rnn.dynamics import init_recurrent, repeated_products

mode = lesson_mode()
hidden = {"quick": 32, "default": 64, "full": 128}[mode]  # H
short_steps = 64
long_steps = {"quick": 300, "default": 1000, "full": 1000}[mode]
print(f"mode={mode}: H={hidden}, {short_steps} and {long_steps} steps")

cases = {
    "normal": dict(scheme="normal"),
    "uniform": dict(scheme="uniform"),
    "orthogonal": dict(scheme="orthogonal"),
    "identity": dict(scheme="identity"),
    "0.9 x orthogonal": dict(scheme="scaled_orthogonal", gain=0.9),
    "1.1 x orthogonal": dict(scheme="scaled_orthogonal", gain=1.1),
}
matrices = {name: init_recurrent(hidden, seed=0, **kw) for name, kw in cases.items()}
runs = {name: repeated_products(W, long_steps) for name, W in matrices.items()}

print(f"{'scheme':>18} {'rho(W)':>8} {'||W||_2':>8} {'||W^64||_2':>11} {f'||W^{long_steps}||_2':>13}")
for name, run in runs.items():
    print(
        f"{name:>18} {run.spectral_radii[1]:8.4f} {run.norms[1]:8.4f} "
        f"{run.norms[short_steps]:11.3e} {run.norms[long_steps]:13.3e}"
    )

# %%
# Where the eigenvalues sit
# -------------------------
#
# The circular law says the eigenvalues of an :math:`H \times H` matrix with
# i.i.d. entries of variance :math:`\gamma^2/H` fill the disc of radius
# :math:`\gamma`.  So ``normal`` fills the unit disc -- some eigenvalues a
# little outside it, most well inside -- and ``uniform``, whose entries have
# standard deviation :math:`1/\sqrt{3n}`, fills the disc of radius
# :math:`1/\sqrt{3} \approx 0.577`.  The orthogonal matrix puts all of its
# eigenvalues *on* the unit circle, the scaled ones on circles of radius 0.9
# and 1.1.

theta = np.linspace(0, 2 * np.pi, 400)
fig, axes = plt.subplots(2, 3, figsize=(10, 6.6), sharex=True, sharey=True)
for ax, (name, run) in zip(axes.ravel(), runs.items(), strict=True):
    lam = run.eigenvalues[1]
    ax.plot(np.cos(theta), np.sin(theta), color="0.6", lw=1, label="unit circle")
    ax.scatter(lam.real, lam.imag, s=10, color="C0")
    ax.set_title(f"{name}: rho = {np.abs(lam).max():.3f}")
    ax.set_aspect("equal")
    ax.set_xlim(-1.3, 1.3)
    ax.set_ylim(-1.3, 1.3)
axes[0, 0].legend(loc="lower left", fontsize=8)
fig.suptitle(f"Eigenvalues of W ({hidden} x {hidden}) against the unit circle")
fig.tight_layout()

for name, run in runs.items():
    inside = np.mean(np.abs(run.eigenvalues[1]) < 1 - 1e-9)
    print(f"{name:>18}: {100 * inside:5.1f}% of the eigenvalues strictly inside the unit circle")

# %%
# Norms of W^t over 64 and over many steps
# ----------------------------------------
#
# On a logarithmic axis a geometric sequence :math:`\rho^t` is a straight
# line of slope :math:`\log \rho`.  The orthogonal and identity runs stay at
# exactly 1; :math:`0.9\,Q` and :math:`1.1\,Q` are the straight lines
# :math:`0.9^t` and :math:`1.1^t`; ``uniform`` dives like :math:`\rho(W)^t`,
# with :math:`\rho(W)` near the disc's radius 0.577 (the printed value: a
# small matrix's eigenvalues spill a little past the edge).
# ``normal`` is the interesting one: its spectral radius is close to 1, so
# over 64 steps it grows far less than :math:`1.1\,Q`, but its largest
# eigenvalue is not exactly 1 and a non-normal matrix can also grow for a
# while before the eigenvalues take over.  Over many steps the largest
# eigenvalue wins.

fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
for ax, steps in zip(axes, (short_steps, long_steps), strict=True):
    for name, run in runs.items():
        norms = run.norms[: steps + 1]
        ok = np.isfinite(norms) & (norms > 0)
        style = "--" if name == "identity" else "-"  # identity lies on top of orthogonal
        ax.semilogy(run.t[: steps + 1][ok], norms[ok], style, label=name)
    ax.set_xlabel("t")
    ax.set_ylabel(r"$\|W^t\|_2$")
    ax.set_title(f"{steps} steps")
    ax.grid(True, which="major", alpha=0.3)
axes[0].legend(fontsize=8)
fig.suptitle(r"Repeated multiplication: the norm of the state $h_t = W^t$")
fig.tight_layout()

# %%
# The numbers behind the straight lines: the measured slope of
# :math:`\log \|W^t\|_2` over the last half of the long run against
# :math:`\log \rho(W)`.  They agree, which is Gelfand's formula
# :math:`\|W^t\|^{1/t} \to \rho(W)` at work.

for name, run in runs.items():
    half = long_steps // 2
    norms = run.norms[half:]
    if np.all(np.isfinite(norms)) and np.all(norms > 0):
        slope = (np.log(norms[-1]) - np.log(norms[0])) / (long_steps - half)
        print(f"{name:>18}: growth rate per step {np.exp(slope):.4f}   rho(W) = {run.spectral_radii[1]:.4f}")
    else:
        print(f"{name:>18}: left the float64 range (norm hit 0 or inf)")

# %%
# Spectral radius against norm for the normal matrix
# --------------------------------------------------
#
# For a normal matrix (orthogonal, identity, symmetric) :math:`\|W^t\|_2 =
# \rho(W)^t` exactly.  A Gaussian matrix is not normal, so
# :math:`\|W^t\|_2` sits above :math:`\rho(W)^t`; the ratio measures how far
# from normal the matrix is.  Both eventually grow or shrink at the rate
# :math:`\rho(W)`.

run = runs["normal"]
rho = run.spectral_radii[1]
fig, ax = plt.subplots(figsize=(6.5, 4))
ax.semilogy(run.t, run.norms, label=r"$\|W^t\|_2$")
ax.semilogy(run.t, run.spectral_radii, "--", label=r"$\rho(W^t)$ of the computed product")
ax.semilogy(run.t, rho ** run.t.astype(float), ":", label=r"$\rho(W)^t$")
ax.set_xlabel("t")
ax.legend()
ax.set_title("normal init: norm above the spectral radius (non-normal W)")
fig.tight_layout()
ratio = run.norms[short_steps] / rho**short_steps
print(f"normal init: ||W^64|| / rho(W)^64 = {ratio:.2f} (1 for a normal matrix)")

# %%
# Add a tanh and random inputs
# ----------------------------
#
# A real RNN computes :math:`h_t = \tanh(W h_{t-1} + x_t)`.  Keep the
# orthogonal :math:`W` and follow a batch of :math:`H` hidden states at once,
# started at the columns of the identity (each of norm 1).  Four variants, measuring
# the mean norm of a column :math:`\|h_t\|_2`:
#
# 1. linear, no input -- the orthogonal case above: the norm stays 1;
# 2. tanh, no input -- :math:`|\tanh a| < |a|` for :math:`a \neq 0`, so every
#    step *shrinks* the state a little; nothing puts energy back;
# 3. linear, random inputs -- inputs add energy: with independent inputs the
#    squared norm grows like a random walk, :math:`\|h_t\|^2 \approx 1 + t
#    \|x\|^2`;
# 4. tanh, random inputs -- the inputs add energy and tanh takes it away:
#    large pre-activations are squashed towards :math:`\pm 1`, so the norm
#    stops growing and settles at a level set by the input size.  It can never
#    pass :math:`\sqrt{H}`, where every unit would be saturated.
#
# So the orthogonal matrix preserves norm, but the *network* does not: the
# activation contracts, the inputs inject, saturation caps.  Lesson 09 shows
# what the same facts do to the gradients.

Q = matrices["orthogonal"]
rng = np.random.default_rng(1)
input_std = 0.5
steps = short_steps * 2
X = input_std * rng.standard_normal((steps, hidden, hidden))  # X[t] holds x_t for each of the H sequences

variants = {
    "linear, no input": (lambda A: A, 0.0),
    "tanh, no input": (np.tanh, 0.0),
    "linear, random input": (lambda A: A, 1.0),
    "tanh, random input": (np.tanh, 1.0),
}
state_norms = {}
for name, (f, use_input) in variants.items():
    states = np.eye(hidden)  # column j: the hidden state of sequence j
    norms = [1.0]
    for t in range(steps):
        states = f(Q @ states + use_input * X[t])  # h_t = f(W h_(t-1) + x_t), every column at once
        norms.append(np.linalg.norm(states, axis=0).mean())
    state_norms[name] = np.array(norms)
    saturated = np.mean(np.abs(states) > 0.95) if f is np.tanh else 0.0
    print(
        f"{name:>22}: mean ||h_t|| at t={short_steps}: {norms[short_steps]:.4f}, "
        f"t={steps}: {norms[-1]:.4f}; units with |h| > 0.95: {100 * saturated:.1f}%"
    )
print(f"random-walk prediction for the linear input case at t={steps}: "
      f"sqrt(1 + t H input_std^2) = {np.sqrt(1 + steps * hidden * input_std**2):.2f}")

fig, ax = plt.subplots(figsize=(6.5, 4))
for name, norms in state_norms.items():
    ax.semilogy(norms, label=name)
ax.axhline(np.sqrt(hidden), color="0.5", lw=0.8, ls="--", label=r"$\sqrt{H}$: tanh ceiling")
ax.set_xlabel("t")
ax.set_ylabel(r"mean $\|h_t\|_2$")
ax.set_title("Orthogonal W: the network does not keep the norm")
ax.legend(fontsize=8)
fig.tight_layout()

# %%
# Summary
# -------
#
# * With no input and no nonlinearity the state is :math:`W^t`, and its norm
#   grows or decays at the rate :math:`\rho(W)` (Gelfand's formula); a
#   non-normal :math:`W` adds a transient on top.
# * The random schemes scatter eigenvalues over a disc: ``uniform`` (torch's
#   default) well inside the unit circle, so :math:`W^t` vanishes; ``normal``
#   around it, so :math:`W^t` eventually drifts away from 1.
# * Orthogonal and identity initializations put every eigenvalue on the unit
#   circle and keep :math:`\|W^t\|_2 = 1` for any :math:`t`; scaling them by
#   0.9 or 1.1 gives exactly :math:`0.9^t` and :math:`1.1^t`.
# * A tanh and real inputs break norm preservation even for orthogonal
#   :math:`W`: tanh contracts, inputs add, saturation caps.
#
# Exercises
# ---------
#
# 1. Change ``gain`` for the ``normal`` scheme to 0.5 and 1.5.  Predict the
#    growth rate per step from the circular law before you run it.
# 2. Build a non-normal matrix with both eigenvalues 0.9, such as
#    ``[[0.9, 5.0], [0.0, 0.9]]``, and plot ``repeated_products(W, 100).norms``.
#    How large does the transient get before the decay wins, and at which t?
# 3. In the tanh-with-input experiment, vary ``input_std`` from 0.05 to 3.
#    Plot the settled mean norm and the fraction of saturated units against it.
