"""
Worked solutions: lesson 08, repeated multiplication
====================================================

The solutions to the exercises at the end of lesson 08.  Every number they
quote is printed by the code; on the site each solution is folded under the
lesson's exercises, with the output of the run that built the page.
"""

# %%
# Exercise 1
# ----------
#
# The prediction first.  The ``normal`` scheme draws i.i.d. entries of
# variance :math:`\gamma^2/n` for the gain :math:`\gamma`; by the circular law
# the eigenvalues fill the disc of radius :math:`\gamma`, so
# :math:`\rho(W) \approx \gamma` and, by Gelfand's formula, :math:`\|W^t\|_2`
# should change by a factor of about :math:`\gamma` per step: about 0.5 (vanishing) for
# gain 0.5, 1.5 (exploding) for gain 1.5.  One refinement: for finite
# :math:`n` the largest eigenvalue sits a little *outside* the limiting
# disc (the edge of the disc fluctuates on a scale of about
# :math:`1/\sqrt n`), so the rate should come out slightly above the gain.
#
# The measurement: :func:`linalg_rnn.dynamics.init_recurrent` with gains
# 0.5, 1 and 1.5 for several seeds, :func:`linalg_rnn.dynamics.repeated_products`,
# and the growth rate per step over the second half of the run, as in the
# lesson.

import matplotlib.pyplot as plt
import numpy as np

from linalg_rnn.course import lesson_mode
from linalg_rnn.dynamics import init_recurrent, repeated_products

mode = lesson_mode()
n = {"quick": 32, "default": 64, "full": 128}[mode]
steps = {"quick": 100, "default": 200, "full": 400}[mode]
seeds = {"quick": [0, 1], "default": [0, 1, 2, 3], "full": list(range(8))}[mode]
gains = [0.5, 1.0, 1.5]
print(f"n = {n}, {steps} steps, seeds {seeds}")
print(f"{'gain':>5} {'seed':>5} {'rho(W)':>8} {'rate per step':>14} {'rate / gain':>12}")
runs = {}
for gain in gains:
    for seed in seeds:
        run = repeated_products(init_recurrent(n, "normal", gain=gain, seed=seed), steps)
        half = steps // 2
        rate = np.exp((np.log(run.norms[-1]) - np.log(run.norms[half])) / (steps - half))
        runs[(gain, seed)] = run
        print(f"{gain:5.1f} {seed:5d} {run.spectral_radii[1]:8.4f} {rate:14.4f} {rate / gain:12.4f}")

fig, ax = plt.subplots(figsize=(6.5, 4.2))
for color, gain in zip(("C0", "C1", "C3"), gains, strict=True):
    for k, seed in enumerate(seeds):
        ax.semilogy(runs[(gain, seed)].t, runs[(gain, seed)].norms, color=color, lw=1, alpha=0.7,
                    label=f"normal, gain {gain}" if k == 0 else None)
    ax.semilogy(runs[(gain, seeds[0])].t, gain ** runs[(gain, seeds[0])].t.astype(float), "k:", lw=1)
ax.plot([], [], "k:", label=r"$\gamma^t$ (circular-law prediction)")
ax.set_xlabel("t")
ax.set_ylabel(r"$\|W^t\|_2$")
ax.set_title(f"normal init, n = {n}: every seed, three gains")
ax.legend(fontsize=8)
fig.tight_layout()

# %%
# The prediction holds: the measured rate equals :math:`\rho(W)` to the
# printed digits, and :math:`\rho(W)` is the gain times a factor a little
# above 1 -- the same factor for all three gains at a given seed, because
# ``init_recurrent`` draws the same Gaussian matrix and only scales it.  On
# the log plot each run is parallel to :math:`\gamma^t` and slightly
# steeper (upward for 1.5, less steeply downward for 0.5).  Gain 1, the
# lesson's case, is the knife edge: with :math:`\rho` a few percent above 1
# the powers slowly explode, which is why lesson 08's ``normal`` run drifted
# away over many steps.

# %%
# Exercise 2
# ----------
#
# :math:`W = \begin{pmatrix} 0.9 & 5 \\ 0 & 0.9 \end{pmatrix} = 0.9I + K`
# with :math:`K^2 = 0`, so by the binomial theorem
#
# .. math::
#
#    W^t = 0.9^t I + t\,0.9^{t-1} K
#        = \begin{pmatrix} 0.9^t & 5t\,0.9^{t-1} \\ 0 & 0.9^t \end{pmatrix}.
#
# Both eigenvalues are 0.9, yet the off-diagonal entry first *grows*
# linearly in :math:`t` before the geometric factor wins.  It is largest
# where :math:`\frac{d}{dt}\,t\,0.9^{t-1} = 0.9^{t-1}(1 + t\ln 0.9) = 0`,
# i.e. :math:`t^* = -1/\ln 0.9 \approx 9.49`; at the integers,
# :math:`t = 9` and :math:`t = 10` give the same off-diagonal entry
# (:math:`10 \cdot 0.9^9 = 9 \cdot 0.9^8`), about 19.4.  The spectral norm
# adds a little on top of the off-diagonal entry.  Sympy confirms the formula
# for :math:`W^t`, and :func:`linalg_rnn.dynamics.repeated_products` gives the
# norms.

import sympy

tt = sympy.symbols("t", integer=True, positive=True)
W_sym = sympy.Matrix([[sympy.Rational(9, 10), 5], [0, sympy.Rational(9, 10)]])
claim = sympy.Matrix([[sympy.Rational(9, 10) ** tt, 5 * tt * sympy.Rational(9, 10) ** (tt - 1)],
                      [0, sympy.Rational(9, 10) ** tt]])
print("W^t - formula at t = 1..30, all zero:",
      all((W_sym**k - claim.subs(tt, k)).is_zero_matrix for k in range(1, 31)))
print(f"t* = -1 / ln 0.9 = {-1 / np.log(0.9):.4f};  5 t 0.9^(t-1) at t = 9: {5 * 9 * 0.9**8:.4f}, "
      f"at t = 10: {5 * 10 * 0.9**9:.4f}")

W2 = np.array([[0.9, 5.0], [0.0, 0.9]])
run2 = repeated_products(W2, 100)
peak = int(np.argmax(run2.norms))
back_below_1 = int(np.flatnonzero((run2.t > peak) & (run2.norms < 1.0))[0])
print(f"largest ||W^t||_2 = {run2.norms[peak]:.4f} at t = {peak} "
      f"(t = 9: {run2.norms[9]:.4f}, t = 10: {run2.norms[10]:.4f})")
print(f"||W^t||_2 falls back below 1 at t = {back_below_1} "
      f"(||W^{back_below_1 - 1}|| = {run2.norms[back_below_1 - 1]:.3f}, ||W^{back_below_1}|| = "
      f"{run2.norms[back_below_1]:.3f}); at t = 100 it is {run2.norms[100]:.2e}, 0.9^100 = {0.9**100:.2e}")

fig, ax = plt.subplots(figsize=(6.5, 4))
ax.semilogy(run2.t, run2.norms, label=r"$\|W^t\|_2$, $W = [[0.9, 5], [0, 0.9]]$")
ax.semilogy(run2.t[1:], 5 * run2.t[1:] * 0.9 ** (run2.t[1:] - 1.0), "--",
            label=r"$5t\,0.9^{t-1}$ (off-diagonal entry)")
ax.semilogy(run2.t, 0.9 ** run2.t.astype(float), ":", label=r"$\rho(W)^t = 0.9^t$")
ax.axhline(1.0, color="0.6", lw=0.8)
ax.plot([peak], [run2.norms[peak]], "ko")
ax.annotate(f"peak {run2.norms[peak]:.1f} at t = {peak}", (peak, run2.norms[peak]),
            xytext=(peak + 8, run2.norms[peak] / 4))
ax.set_xlabel("t")
ax.set_title("Non-normal W: both eigenvalues 0.9, transient growth first", fontsize=10)
ax.legend(fontsize=8)
fig.tight_layout()

# %%
# So the transient reaches a norm of about 19.4 at :math:`t = 9` (the
# spectral norm is a hair larger at 9 than at 10), and the decay only
# brings :math:`\|W^t\|_2` back below 1 after several dozen steps (printed
# above), although every eigenvalue is 0.9.  For an RNN
# this means that "spectral radius below 1" does not promise that a gradient
# or a state stays small over the lags that matter: a strongly non-normal
# :math:`W_{hh}` can amplify by a factor 20 over ten steps first.  The
# amplification is set by the size of the nilpotent part (here 5); the
# spectral norm, not the spectral radius, bounds it step by step.

# %%
# Exercise 3
# ----------
#
# The lesson's experiment -- an orthogonal :math:`Q` (``init_recurrent``,
# same seed as the lesson), :math:`n` hidden states started at the columns
# of :math:`I`, :math:`h_t = \tanh(Qh_{t-1} + x_t)` with Gaussian inputs of
# standard deviation ``input_std`` -- for ``input_std`` from 0.05 to 3.  We
# run longer than the lesson (so that even the smallest inputs have time to
# settle), take the *settled* mean norm as the mean of
# :math:`\|h_t\|_2` over the last quarter of the run, check that it did not
# move between the third and the last quarter, and count a unit as saturated
# when :math:`|h| > 0.95`, as the lesson does.
#
# A prediction to hold the measurement against.  If the :math:`n` units
# behave like independent Gaussian pre-activations (a mean-field picture,
# reasonable for a random rotation :math:`Q` that mixes all units), then
# the mean square :math:`\nu = \|h\|^2/n` settles where
# :math:`\nu = E\,\tanh^2\!\bigl(\sqrt{\nu + \nu_x}\,z\bigr)`,
# :math:`z \sim \mathcal{N}(0, 1)`, because :math:`(Qh)_i` has variance
# :math:`\nu` and the input adds its variance :math:`\nu_x`
# (``input_std`` squared).  The settled norm is then :math:`\sqrt{n\nu}` and
# the saturated fraction
# :math:`\Pr(|z| > \operatorname{artanh}(0.95) / \sqrt{\nu + \nu_x})`.

from scipy.stats import norm as gaussian

Q = init_recurrent(n, "orthogonal", seed=0)
long_steps = {"quick": 256, "default": 512, "full": 1024}[mode]
stds = np.geomspace(0.05, 3.0, {"quick": 7, "default": 13, "full": 25}[mode])
z, w = np.polynomial.hermite_e.hermegauss(80)  # Gauss quadrature for E f(z), z ~ N(0, 1)
w = w / w.sum()


def mean_field(s):
    """Fixed point nu of nu = E tanh^2(sqrt(nu + s^2) z), s = input_std: settled norm, saturated share."""
    nu = 1.0
    for _ in range(500):
        nu = float(np.sum(w * np.tanh(np.sqrt(nu + s * s) * z) ** 2))
    return np.sqrt(n * nu), 2 * gaussian.sf(np.arctanh(0.95) / np.sqrt(nu + s * s))


rng = np.random.default_rng(1)
quarter = long_steps // 4
settled, saturated, drift, predicted = [], [], [], []
print(f"{'input_std':>9} {'settled ||h||':>14} {'mean field':>11} {'3rd->4th quarter':>17} "
      f"{'saturated':>10} {'mean field':>11}")
for s in stds:
    H = np.eye(n)
    norms, sat = [], []
    for t in range(long_steps):
        H = np.tanh(Q @ H + s * rng.standard_normal((n, n)))
        norms.append(np.linalg.norm(H, axis=0).mean())
        if t >= long_steps - quarter:
            sat.append(np.mean(np.abs(H) > 0.95))
    norms = np.array(norms)
    settled.append(norms[-quarter:].mean())
    drift.append(settled[-1] / norms[-2 * quarter : -quarter].mean() - 1)
    saturated.append(np.mean(sat))
    predicted.append(mean_field(s))
    print(f"{s:9.3f} {settled[-1]:14.3f} {predicted[-1][0]:11.3f} {100 * drift[-1]:16.1f}% "
          f"{100 * saturated[-1]:9.1f}% {100 * predicted[-1][1]:10.1f}%")
print(f"sqrt(n) = {np.sqrt(n):.3f}")

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
ax1.semilogx(stds, settled, "o-", label="measured")
ax1.semilogx(stds, [p[0] for p in predicted], "k--", lw=1, label="mean-field prediction")
ax1.axhline(np.sqrt(n), color="0.5", ls=":", label=r"$\sqrt{n}$: every unit at $\pm1$")
ax1.set_xlabel("input_std")
ax1.set_ylabel(r"settled mean $\|h_t\|_2$")
ax1.set_title(f"tanh RNN, orthogonal W, n = {n}")
ax1.legend(fontsize=8)
ax2.semilogx(stds, 100 * np.array(saturated), "o-", label="measured")
ax2.semilogx(stds, [100 * p[1] for p in predicted], "k--", lw=1, label="mean-field prediction")
ax2.set_xlabel("input_std")
ax2.set_ylabel(r"units with $|h| > 0.95$ (%)")
ax2.set_title("fraction of saturated units")
ax2.legend(fontsize=8)
fig.tight_layout()

# %%
# Both curves rise monotonically with the input size.  Small inputs leave
# the units in the nearly linear part of tanh, with no saturation at all;
# the norm settles where the inputs' energy balances what tanh takes away,
# which for every input size tried is above the starting norm of 1 (the
# first row); around ``input_std`` of order 1 the pre-activations
# reach the flat part of tanh and the saturated fraction climbs steeply;
# with large inputs most units sit at :math:`\pm1` and the norm approaches
# the ceiling :math:`\sqrt n`.  The mean-field prediction follows the
# measured curves closely over the whole range (compare the columns); the
# "3rd -> 4th quarter" column shows that the runs had settled.  For
# training this is the trade-off of lessons 08 and 09 in one picture: an
# orthogonal :math:`W_{hh}` only keeps the signal alive if the inputs keep
# the units out of saturation, because every saturated unit contributes a
# :math:`f' \approx 0` to the backward product.
