"""
Worked solutions: lesson 12, the exponential of a skew-symmetric matrix
=======================================================================

The solutions to the exercises at the end of lesson 12.  Every number they
quote is printed by the code; on the site each solution is folded under the
lesson's exercises, with the output of the run that built the page.
"""

# %%
# Exercise 1
# ----------
#
# The lesson's fitting problem -- :math:`L(W) = \tfrac12\|W - Q_\star\|_F^2` for a
# random rotation :math:`Q_\star` (same seed and size as the lesson), :math:`G =
# W - R`, step :math:`\alpha = 0.05`, 1000 updates from :math:`B = 0` --
# with :math:`W = \operatorname{cay}(B)` (:func:`linalg_rnn.orthogonal.cayley`)
# in place of :math:`\exp(B)`, next to the lesson's exponential.
#
# One expansion predicts what happens.  For small :math:`B`,
#
# .. math::
#
#    \operatorname{cay}(B) = (I + B)^{-1}(I - B) = (I - B + B^2 - \dots)(I - B)
#    = I - 2B + 2B^2 - 2B^3 + \dots = e^{-2B} - \tfrac23 B^3 + O(B^4) ,
#
# so the Cayley map runs the other way, twice as fast: where
# :math:`B \leftarrow B - \alpha\Omega` moves :math:`e^{B}` downhill (to first
# order :math:`W \to e^{-\alpha\Omega}W`), it moves :math:`\operatorname{cay}(B)`
# by about :math:`e^{+2\alpha\Omega}W`, *uphill*.  The straight replacement
# should make the loss go up; the update
# :math:`B \leftarrow B + \tfrac{\alpha}{2}\Omega` undoes both the sign and the
# factor 2.  We run all three.

import matplotlib.pyplot as plt
import numpy as np
import scipy.linalg
import sympy

from linalg_rnn.course import lesson_mode
from linalg_rnn.dynamics import init_recurrent
from linalg_rnn.orthogonal import cayley, expm_skew, orthogonality_error

mode = lesson_mode()
n = {"quick": 8, "default": 16, "full": 32}[mode]
updates = 1000
alpha = 0.05
Q_star = init_recurrent(n, "orthogonal", seed=1)  # the target
if np.linalg.det(Q_star) < 0:
    Q_star[:, 0] = -Q_star[:, 0]  # det +1, as in the lesson

B_test = np.random.default_rng(2).standard_normal((n, n))
B_test = 1e-3 * (B_test - B_test.T)
print(f"||cay(B) - exp(-2B)|| for a skew B with ||B|| = {np.linalg.norm(B_test, 2):.1e}: "
      f"{np.linalg.norm(cayley(B_test) - expm_skew(-2 * B_test), 2):.1e} (third order: "
      f"(2/3) ||B||^3 = {2 / 3 * np.linalg.norm(B_test, 2) ** 3:.1e})")

rules = {"exp(B), B -= alpha Omega (lesson)": (expm_skew, -alpha),
         "cay(B), B -= alpha Omega": (cayley, -alpha),
         "cay(B), B += (alpha/2) Omega": (cayley, alpha / 2)}
curves, errors, sizes, frobenius = {}, {}, {}, {}
for name, (parametrize, step) in rules.items():
    B = np.zeros((n, n))
    W = parametrize(B)
    curves[name], errors[name], sizes[name], frobenius[name] = [], [], [], []
    for _ in range(updates):
        G = W - Q_star
        B = B + step * (G @ W.T - W @ G.T)
        W = parametrize(B)
        curves[name].append(0.5 * np.linalg.norm(W - Q_star) ** 2)
        errors[name].append(orthogonality_error(W))
        sizes[name].append(np.linalg.norm(B, 2))
        frobenius[name].append(np.linalg.norm(B))
print(f"loss at W = I: {0.5 * np.linalg.norm(np.eye(n) - Q_star) ** 2:.3f}; the largest possible loss, at "
      f"W = -Q*: 2n = {2 * n}")
checkpoints = [9, 99, 299, updates - 1]
print(f"{'rule':>30} " + " ".join(f"{f'loss @{c + 1}':>11}" for c in checkpoints)
      + f" {'lowest':>9} {'worst orth. error':>18} {'final ||B||_2':>14}")
for name in rules:
    print(f"{name:>30} " + " ".join(f"{curves[name][c]:11.2e}" for c in checkpoints)
          + f" {min(curves[name]):9.2e} {max(errors[name]):18.1e} {sizes[name][-1]:14.1f}")

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
for name in rules:
    ax1.semilogy(curves[name], label=name)
    ax2.semilogy(sizes[name], errors[name], ".", ms=2, label=name)
for name in rules:
    if "cay" in name:
        past = np.flatnonzero(np.array(frobenius[name]) > n)
        where = f"from update {past[0] + 1} on" if past.size else "never"
        print(f"{name}: ||B||_F > n (cayley's real-Schur road for a large skew argument) {where}")
ax1.axhline(2 * n, color="0.5", ls=":", lw=0.8, label=r"$2n$: the farthest point, $W = -Q_\star$")
ax1.set_xlabel("update")
ax1.set_ylabel(r"$\frac{1}{2}\|W - Q_\star\|_F^2$")
ax1.set_title("loss")
ax1.legend(fontsize=8)
ax2.set_xscale("log")
ax2.set_xlabel(r"$\|B\|_2$")
ax2.set_ylabel(r"$\|W^\top W - I\|_2$")
ax2.set_title("orthogonality error against the size of B")
ax2.legend(fontsize=8)
fig.tight_layout()

# %%
# The orthogonality error is of the same kind -- rounding, far below
# :math:`10^{-12}` for all three (the printed worst values) -- but it
# behaves differently, as the right-hand plot shows.  ``expm_skew``'s does
# not depend on the size of :math:`B`.  :func:`~linalg_rnn.orthogonal.cayley`
# solves with :math:`I + B` while :math:`B` is moderate, and that error
# grows with :math:`\|B\|`; for a larger skew argument
# (:math:`\|B\|_F > n`, see its docstring) it evaluates the map in the
# real Schur form of :math:`B` instead, and the literal run, whose
# :math:`B` keeps growing, crosses into that road (printed), where its
# error sits at a different level.
#
# The loss does *not* go down with the literal replacement: it climbs from
# its value at :math:`W = I` towards :math:`2n`, the loss of :math:`W = -Q_\star`,
# the point farthest from the target -- gradient ascent, as the expansion
# predicted.  It can only approach that point, since :math:`-Q_\star` has
# eigenvalues near :math:`-1`, which the Cayley map reaches only as
# :math:`\|B\| \to \infty` (the printed final :math:`\|B\|_2` keeps
# growing).  With the sign and factor corrected,
# :math:`B \leftarrow B + \tfrac{\alpha}{2}\Omega`, the loss goes down, though
# in this run far more slowly than with the lesson's exponential rule (the
# printed losses): the two maps agree only to second order in :math:`B`,
# and accumulating :math:`\Omega` into :math:`B` is a step along the group only
# while :math:`\Omega` and :math:`B` commute, for either map.

# %%
# Exercise 2
# ----------
#
# :math:`\det e^{B} = e^{\operatorname{tr}B} = e^0 = 1` for every skew
# :math:`B`, so the update never leaves :math:`SO(n)`, the rotations.  A
# target with :math:`\det Q_\star = -1` is out of reach, and the question is how
# close a rotation can get.  For orthogonal :math:`W` and :math:`Q_\star`,
#
# .. math::
#
#    \tfrac12\|W - Q_\star\|_F^2 = \tfrac12\bigl(\|W\|_F^2 + \|Q_\star\|_F^2\bigr)
#    - \operatorname{tr}(Q_\star^\top W) = n - \operatorname{tr}(Q_\star^\top W) .
#
# :math:`Q_\star^\top W` is orthogonal with :math:`\det(Q_\star^\top W) = -1`.  Its
# eigenvalues lie on the unit circle in conjugate pairs, and their product
# is :math:`-1`, so at least one of them is real and equal to :math:`-1`; the
# trace is then at most :math:`-1 + (n - 1) = n - 2`.  Hence
#
# .. math:: \min_{W \in SO(n)} \tfrac12\|W - Q_\star\|_F^2 = n - (n - 2) = 2 ,
#
# reached exactly when :math:`Q_\star^\top W` has eigenvalues
# :math:`(-1, 1, \dots, 1)`: a Householder reflection :math:`F = I - 2vv^\top`, i.e.
# :math:`W = Q_\star F` for any unit :math:`v` -- a whole sphere of best rotations,
# each the target with one direction flipped back.  Whatever the
# dimension, the lowest loss is 2.
#
# The measurement: the lesson's exponential update and the step along the
# group, :math:`W \leftarrow e^{-\alpha \Omega}W` (both from the lesson), on a
# target of determinant :math:`-1` (the lesson's :math:`Q_\star` with one column
# flipped the other way).

Q_star_minus = init_recurrent(n, "orthogonal", seed=1)
if np.linalg.det(Q_star_minus) > 0:
    Q_star_minus[:, 0] = -Q_star_minus[:, 0]
print(f"det Q* = {np.linalg.det(Q_star_minus):.6f}")
B, W_slides, W_group = np.zeros((n, n)), np.eye(n), np.eye(n)
loss_slides, loss_group = [], []
for _ in range(updates):
    G = W_slides - Q_star_minus
    B = B - alpha * (G @ W_slides.T - W_slides @ G.T)
    W_slides = expm_skew(B)
    G = W_group - Q_star_minus
    W_group = expm_skew(-alpha * (G @ W_group.T - W_group @ G.T)) @ W_group
    loss_slides.append(0.5 * np.linalg.norm(W_slides - Q_star_minus) ** 2)
    loss_group.append(0.5 * np.linalg.norm(W_group - Q_star_minus) ** 2)
for name, losses in (("exp(B) update (lesson)", loss_slides), ("step along the group", loss_group)):
    print(f"{name:>24}: loss after 10, 100, {updates} updates: {losses[9]:.6f}, {losses[99]:.6f}, "
          f"{losses[-1]:.6f}; lowest {min(losses):.12f}")
print(f"det W at the end: {np.linalg.det(W_slides):.6f}, {np.linalg.det(W_group):.6f}")
QtW = Q_star_minus.T @ W_group
print("eigenvalues of Q*.T W (step along the group), rounded:",
      np.round(np.sort(np.linalg.eigvals(QtW).real), 6).tolist())
v = np.random.default_rng(3).standard_normal(n)
v /= np.linalg.norm(v)
W_best = Q_star_minus @ (np.eye(n) - 2 * np.outer(v, v))
print(f"a random best rotation Q*(I - 2vv.T): det {np.linalg.det(W_best):.6f}, "
      f"loss {0.5 * np.linalg.norm(W_best - Q_star_minus) ** 2:.12f}")

# %%
# Both updates stop at a loss of 2 (printed to twelve digits), with
# determinant 1 throughout, and the rotation they reach is the target times
# a reflection: :math:`Q_\star^\top W` has one eigenvalue :math:`-1` and all others
# 1.  A random member of the sphere of minimizers has the same loss.  This
# is why orthogonal RNNs built on :math:`\exp` (or Cayley) cover only
# :math:`SO(n)`: if the best :math:`W_{hh}` has determinant :math:`-1`, the
# parametrization cannot express it, and practical implementations either
# accept that or multiply by a fixed reflection.

# %%
# Exercise 3
# ----------
#
# Write :math:`B = \begin{pmatrix} 0 & \omega \\ -\omega & 0 \end{pmatrix}` and
# :math:`S = \begin{pmatrix} s_{11} & s_{12} \\ s_{12} & s_{22} \end{pmatrix}`.
# Sympy computes the commutator:

omega, s11, s12, s22 = sympy.symbols("omega s_11 s_12 s_22", real=True)
B_s = sympy.Matrix([[0, omega], [-omega, 0]])
S_s = sympy.Matrix([[s11, s12], [s12, s22]])
commutator = sympy.simplify(B_s * S_s - S_s * B_s)
print("BS - SB =", commutator.tolist())
print("||BS - SB||_F^2 =", sympy.factor(sum(x**2 for x in commutator)))

# %%
# So :math:`[B, S] = BS - SB = \omega\begin{pmatrix} 2s_{12} & s_{22} - s_{11}
# \\ s_{22} - s_{11} & -2s_{12} \end{pmatrix}`, which vanishes exactly when
# :math:`\omega = 0` or :math:`S` is a multiple of the identity
# (:math:`s_{12} = 0`, :math:`s_{11} = s_{22}`): a 2-by-2
# rotation generator commutes only with scalars among the symmetric
# matrices.  The Baker--Campbell--Hausdorff formula says
#
# .. math::
#
#    e^{X}e^{Y} = e^{X + Y + \frac12[X, Y] + \frac1{12}([X,[X,Y]] + [Y,[Y,X]]) + \dots},
#
# so for :math:`X = \delta B`, :math:`Y = \delta S` with a small :math:`\delta`,
#
# .. math::
#
#    e^{\delta B}e^{\delta S} - e^{\delta(B+S)} = \frac{\delta^2}{2}[B, S] + O(\delta^3) :
#
# the defect is the commutator, to leading order.  We check it with SciPy's
# general ``expm`` (:math:`S` is not skew, so ``expm_skew`` does not apply),
# on a random pair, shrinking :math:`\delta`; and on a commuting pair
# (:math:`S` a multiple of :math:`I`) the defect is rounding only.

rng = np.random.default_rng(4)
omega_val = rng.standard_normal()
B2 = np.array([[0.0, omega_val], [-omega_val, 0.0]])
S2 = rng.standard_normal((2, 2))
S2 = (S2 + S2.T) / 2
commutator_BS = B2 @ S2 - S2 @ B2
print(f"B = {B2.round(4).tolist()}, S = {S2.round(4).tolist()}; "
      f"||[B, S]||_2 = {np.linalg.norm(commutator_BS, 2):.4f}")
print(f"{'delta':>8} {'||e^dB e^dS - e^d(B+S)||_2':>28} {'d^2/2 ||[B,S]||_2':>18} {'ratio':>7}")
deltas = np.logspace(0, -4, 9)
defects = []
for delta in deltas:
    defect = (scipy.linalg.expm(delta * B2) @ scipy.linalg.expm(delta * S2)
              - scipy.linalg.expm(delta * (B2 + S2)))
    defects.append(np.linalg.norm(defect, 2))
    print(f"{delta:8.0e} {defects[-1]:28.3e} {delta**2 / 2 * np.linalg.norm(commutator_BS, 2):18.3e} "
          f"{defects[-1] / (delta**2 / 2 * np.linalg.norm(commutator_BS, 2)):7.4f}")
D_dir = (scipy.linalg.expm(1e-4 * B2) @ scipy.linalg.expm(1e-4 * S2) - scipy.linalg.expm(1e-4 * (B2 + S2)))
print(f"at delta = 1e-4, (defect) / (delta^2/2) - [B, S], largest entry: "
      f"{np.abs(D_dir / 0.5e-8 - commutator_BS).max():.1e} "
      f"(||[B, S]|| = {np.linalg.norm(commutator_BS, 2):.2f})")
S_scalar = 0.7 * np.eye(2)
D0 = scipy.linalg.expm(B2) @ scipy.linalg.expm(S_scalar) - scipy.linalg.expm(B2 + S_scalar)
print(f"S = 0.7 I (commutes with B): ||e^B e^S - e^(B+S)||_2 = {np.linalg.norm(D0, 2):.1e}")

fig, ax = plt.subplots(figsize=(6, 4))
ax.loglog(deltas, defects, "o-", label=r"$\|e^{\delta B}e^{\delta S} - e^{\delta(B+S)}\|_2$")
ax.loglog(deltas, deltas**2 / 2 * np.linalg.norm(commutator_BS, 2), "k--",
          label=r"$\frac{\delta^2}{2}\|[B, S]\|_2$")
ax.set_xlabel(r"$\delta$")
ax.set_title("B skew, S symmetric: the defect is the commutator")
ax.legend(fontsize=8)
fig.tight_layout()

# %%
# The ratio of the defect to :math:`\tfrac{\delta^2}{2}\|[B, S]\|_2` tends to 1
# as :math:`\delta` shrinks, and the defect matrix itself, divided by
# :math:`\delta^2/2`, tends to :math:`[B, S]` entry by entry (printed); at
# :math:`\delta = 1` the higher BCH terms still matter.  For an :math:`S` that
# commutes with :math:`B` the defect is zero up to rounding.  This is the
# lesson's argument in reverse: :math:`e^{B}e^{B^\top} = e^{B + B^\top}`
# holds because :math:`B^\top = -B` commutes with :math:`B`; a symmetric
# :math:`S` in general does not, and the identity fails by about
# :math:`\tfrac12[B, S]`.
