"""
04 · Orthogonal matrices: the transformations that keep length
==============================================================

Lessons 01--03 showed that a repeated product :math:`W^t` explodes when an
eigenvalue has :math:`|\\lambda| > 1` and vanishes when all have
:math:`|\\lambda| < 1`.  The matrices sitting exactly on the edge, for every
vector and every power, are the *orthogonal* ones.  This lesson meets them:
what they are, the two elementary kinds (rotations and reflections), how to
draw one at random fairly, how to build one from an unconstrained matrix, and
how to pull a matrix that has drifted away back onto them.

**What you will learn**

* the definition :math:`Q^\\top Q = I` and its consequences: :math:`\\|Qx\\| = \\|x\\|`,
  :math:`\\det Q = \\pm 1`, every :math:`|\\lambda| = 1`;
* rotations (eigenvalues :math:`e^{\\pm i\\theta}` on the unit circle) and
  Householder reflections;
* why sampling "QR of a Gaussian" needs a sign correction to be uniform
  (Haar);
* the Cayley transform and the exponential of a skew-symmetric matrix, two
  ways to *parametrize* orthogonal matrices;
* that the nearest orthogonal matrix is the polar factor :math:`UV^\\top`, and
  that the QR factor is **not** the nearest one, contrary to a common claim;
* what a bare ``torch.linalg.qr`` projection does to a nearly orthogonal
  :math:`W_{hh}` without the sign correction, and why the projection runs
  under ``torch.no_grad()``.

**Prerequisites:** lesson 01 (eigenvalues) and lesson 03 (matrix powers).
"""

# %%
# The definition and what follows from it
# ---------------------------------------
#
# A square real matrix :math:`Q` is *orthogonal* when its columns are
# orthonormal, :math:`Q^\top Q = I`.  Three facts follow at once:
#
# * lengths are kept: :math:`\|Qx\|^2 = x^\top Q^\top Qx = x^\top x = \|x\|^2`;
# * :math:`\det(Q)^2 = \det(Q^\top Q) = 1`, so :math:`\det Q = \pm 1`;
# * if :math:`Qx = \lambda x` then :math:`\|x\| = \|Qx\| = |\lambda|\,\|x\|`,
#   so every eigenvalue lies on the unit circle.
#
# The swap matrix :math:`P = \begin{pmatrix} 0 & 1 \\ 1 & 0\end{pmatrix}` is the
# smallest example: it sends :math:`(3, 4)` to :math:`(4, 3)`, both of length
# 5.  We measure how far a matrix is from orthogonal by
# :math:`\|Q^\top Q - I\|_2` (:func:`linalg_rnn.orthogonal.orthogonality_error`).

import matplotlib.pyplot as plt
import numpy as np
import scipy.linalg

from linalg_rnn.course import lesson_mode
from linalg_rnn.orthogonal import (
    cayley,
    expm_skew,
    householder_reflector,
    is_orthogonal,
    nearest_orthogonal,
    orthogonality_error,
    qr_orthogonalize,
    random_orthogonal,
    rotation_matrix,
)

mode = lesson_mode()
print(f"mode = {mode}")

P = np.array([[0.0, 1.0], [1.0, 0.0]])
x = np.array([3.0, 4.0])
print(f"P @ {x} = {P @ x},  norms {np.linalg.norm(x):g} -> {np.linalg.norm(P @ x):g}")
print(f"||P.T P - I|| = {orthogonality_error(P):g},  det P = {np.linalg.det(P):+.0f},")
print(f"eigenvalues of P: {np.sort(np.linalg.eigvals(P))}")

n = {"quick": 6, "default": 8, "full": 12}[mode]
Q = random_orthogonal(n, seed=0)
z = np.random.default_rng(1).standard_normal(n)
print(f"\nA random {n}x{n} orthogonal Q: ||Q.T Q - I||_2 = {orthogonality_error(Q):.1e}")
print(f"  ||z|| = {np.linalg.norm(z):.12f},  ||Q z|| = {np.linalg.norm(Q @ z):.12f}")
print(f"  det Q = {np.linalg.det(Q):+.12f}")
print(f"  |eigenvalues| = {np.round(np.abs(np.linalg.eigvals(Q)), 12)}")

# %%
# Powers of an orthogonal matrix neither explode nor vanish
# ---------------------------------------------------------
#
# Since :math:`Q^t` is orthogonal too (a product of orthogonal matrices),
# :math:`\|Q^t x\| = \|x\|` for every power: the linear part of an RNN with an
# orthogonal recurrent matrix carries a signal (and its gradient) over any
# number of steps unchanged in size.  A matrix with the same random directions
# but singular values 0.9 or 1.1 loses or gains a factor at every step.

steps = {"quick": 50, "default": 100, "full": 300}[mode]
U, V = random_orthogonal(n, seed=2), random_orthogonal(n, seed=3)
fig, ax = plt.subplots(figsize=(6.5, 4))
for scale, label in ((0.9, "singular values 0.9"), (1.0, "orthogonal"), (1.1, "singular values 1.1")):
    W = scale * U @ V.T
    h, norms = z / np.linalg.norm(z), []
    for _ in range(steps):
        h = W @ h
        norms.append(np.linalg.norm(h))
    ax.semilogy(range(1, steps + 1), norms, label=label)
    print(f"{label:>22}: ||W^{steps} z|| / ||z|| = {norms[-1]:.3e}")
ax.set_xlabel("power t")
ax.set_ylabel(r"$\|W^t z\| / \|z\|$")
ax.set_title("Only the orthogonal matrix keeps the length")
ax.legend()
fig.tight_layout()

# %%
# Rotations: complex eigenvalues on the unit circle
# -------------------------------------------------
#
# The rotation by :math:`\theta`,
# :math:`\operatorname{rot}(\theta) = \begin{pmatrix}\cos\theta & -\sin\theta \\
# \sin\theta & \cos\theta\end{pmatrix}`
# (:func:`linalg_rnn.orthogonal.rotation_matrix`), has determinant 1 and
# moves every direction of the plane, so it has no real eigenvector: its
# eigenvalues are the complex pair :math:`e^{\pm i\theta}`.  Every orthogonal
# matrix is, in a suitable orthonormal basis, a block diagonal of such 2-by-2
# rotations and entries :math:`\pm 1`, which is why the eigenvalues of the
# random :math:`Q` above all sit on the circle.

thetas = [np.pi / 6, np.pi / 2, 2 * np.pi / 3]
for theta in thetas:
    lam = np.linalg.eigvals(rotation_matrix(theta))
    expected = np.exp(1j * theta)
    print(
        f"theta = {np.degrees(theta):5.1f} deg: eigenvalues {np.round(lam, 6)}, "
        f"|lambda - e^(i theta)| = {np.min(np.abs(lam - expected)):.1e}"
    )

fig, axes = plt.subplots(1, 2, figsize=(11, 5))
circle = np.exp(1j * np.linspace(0, 2 * np.pi, 400))
for ax in axes:
    ax.plot(circle.real, circle.imag, color="0.7", lw=1)
    ax.axhline(0, color="0.85", lw=0.8)
    ax.axvline(0, color="0.85", lw=0.8)
    ax.set_aspect("equal")
    ax.set_xlabel("Re")
    ax.set_ylabel("Im")
for theta in thetas:
    lam = np.linalg.eigvals(rotation_matrix(theta))
    axes[0].plot(lam.real, lam.imag, "o", ms=8, label=rf"$\theta$ = {np.degrees(theta):.0f}°")
axes[0].set_title(r"Eigenvalues $e^{\pm i\theta}$ of 2x2 rotations")
axes[0].legend(loc="center")
big = random_orthogonal(4 * n, seed=4)
lam_big = np.linalg.eigvals(big)
lam_gauss = np.linalg.eigvals(np.random.default_rng(4).standard_normal((4 * n, 4 * n)) / np.sqrt(4 * n))
axes[1].plot(lam_gauss.real, lam_gauss.imag, ".", color="0.5", label="Gaussian / sqrt(n)")
axes[1].plot(lam_big.real, lam_big.imag, "o", mfc="none", label="random orthogonal")
axes[1].set_title(f"Eigenvalues of {4 * n}x{4 * n} matrices")
axes[1].legend(loc="lower left", fontsize=8)
fig.tight_layout()

# %%
# Reflections
# -----------
#
# The Householder reflection :math:`F = I - 2vv^\top/(v^\top v)` mirrors space
# across the hyperplane orthogonal to :math:`v`.  It is symmetric and its own
# inverse (:math:`F^2 = I`), with eigenvalue :math:`-1` along :math:`v` and
# :math:`+1` on the hyperplane, so :math:`\det F = -1`.
# :func:`linalg_rnn.orthogonal.householder_reflector` picks :math:`v` so that
# :math:`Fx = \mp\|x\|e_1`: a reflection that flattens a vector onto the
# first axis, the building block of Householder QR in lesson 06.

x = np.array([3.0, 4.0])
F = householder_reflector(x)
print(f"F = \n{np.round(F, 6)}")
print(f"F @ x = {np.round(F @ x, 12) + 0.0}  (length {np.linalg.norm(F @ x):g})")
print(f"F symmetric: {np.allclose(F, F.T)},  F @ F = I: {np.allclose(F @ F, np.eye(2))}")
print(f"det F = {np.linalg.det(F):+.6f},  eigenvalues {np.sort(np.linalg.eigvalsh(F))}")
x3 = np.array([1.0, 2.0, 2.0, 4.0])
print(
    f"eigenvalues of a 4x4 reflector: {np.round(np.sort(np.linalg.eigvalsh(householder_reflector(x3))), 12)}"
)

# %%
# Drawing an orthogonal matrix at random: the sign correction
# -----------------------------------------------------------
#
# "Uniformly random orthogonal matrix" has a precise meaning, the Haar
# measure: the distribution that does not change when you multiply by any
# fixed orthogonal matrix.  A standard recipe takes a Gaussian matrix
# :math:`Z` and its QR factorization :math:`Z = QR`.  The Gaussian is
# rotation invariant, but :math:`Q` is only determined up to the signs of its
# columns, and LAPACK fixes them by its own convention.  With Householder QR
# that convention makes :math:`r_{11} = -\mathrm{sign}(z_{11})\|z_1\|`, so
# :math:`q_{11} = -|z_{11}|/\|z_1\|` is *always negative*: not Haar at all.
# :func:`linalg_rnn.orthogonal.random_orthogonal` multiplies by
# :math:`\mathrm{diag}(\mathrm{sign}\, r_{jj})`, which makes the
# factorization unique and the distribution invariant (Mezzadri, 2007).
# Under Haar, :math:`E[q_{11}] = 0` and :math:`E[\mathrm{tr}\,Q] = 0`.
# In the right-hand histogram the spikes at angles :math:`0` and
# :math:`\pm\pi` are real eigenvalues :math:`\pm 1` (a 5-by-5 orthogonal
# matrix always has at least one); without the correction the complex ones
# pile up in bumps instead of spreading evenly around the circle.

draws = {"quick": 1000, "default": 4000, "full": 20000}[mode]
k = 5
rng = np.random.default_rng(5)
fair, raw = [], []
for _ in range(draws):
    Z = rng.standard_normal((k, k))
    raw.append(np.linalg.qr(Z)[0])  # LAPACK's signs, no correction
    fair.append(qr_orthogonalize(Z))  # the same Z, corrected
fair, raw = np.array(fair), np.array(raw)
se = 1 / np.sqrt(draws)  # trace has standard deviation 1 under Haar
for name, sample in (("sign-corrected", fair), ("uncorrected QR", raw)):
    q11 = sample[:, 0, 0].mean()
    tr = np.trace(sample, axis1=1, axis2=2).mean()
    print(f"{name:>15}: E[Q11] = {q11:+.3f},  E[trace Q] = {tr:+.3f}   (Haar: 0 within +-{3 * se:.3f})")

fig, axes = plt.subplots(1, 2, figsize=(11, 4))
bins = np.linspace(-1, 1, 41)
axes[0].hist(fair[:, 0, 0], bins=bins, alpha=0.6, density=True, label="sign-corrected (Haar)")
axes[0].hist(raw[:, 0, 0], bins=bins, alpha=0.6, density=True, label="uncorrected numpy.linalg.qr")
axes[0].set_xlabel(r"$Q_{11}$")
axes[0].set_title(f"Top-left entry, {draws} draws of {k}x{k}")
axes[0].legend(fontsize=8)
angle_bins = np.linspace(-np.pi, np.pi, 37)
axes[1].hist(
    np.angle(np.linalg.eigvals(fair)).ravel(),
    bins=angle_bins,
    alpha=0.6,
    density=True,
    label="sign-corrected (Haar)",
)
axes[1].hist(
    np.angle(np.linalg.eigvals(raw)).ravel(), bins=angle_bins, alpha=0.6, density=True, label="uncorrected"
)
axes[1].set_xlabel(r"eigenvalue angle $\arg\lambda$")
axes[1].set_title("Where the eigenvalues sit on the circle")
axes[1].legend(fontsize=8)
fig.tight_layout()

# %%
# Building orthogonal matrices from free parameters: Cayley and exp
# -----------------------------------------------------------------
#
# Training updates a weight matrix by adding a gradient step, and a sum of
# orthogonal matrices is not orthogonal: the swap matrix :math:`P` plus any
# small step already fails the test.  One cure is to train a *skew-symmetric*
# :math:`B` (:math:`B^\top = -B`, any real numbers above the diagonal) and map it
# to an orthogonal matrix:
#
# * the Cayley transform :math:`\operatorname{cay}(B) = (I + B)^{-1}(I - B)`
#   (:func:`linalg_rnn.orthogonal.cayley`);
# * the matrix exponential :math:`e^B` (:func:`linalg_rnn.orthogonal.expm_skew`),
#   orthogonal because :math:`(e^B)^\top e^B = e^{-B}e^{B} = I`, with
#   :math:`\det e^B = e^{\mathrm{tr} B} = 1`.
#
# A skew-symmetric matrix has eigenvalues :math:`\pm i\omega` on the
# imaginary axis; the exponential sends them to :math:`e^{\pm i\omega}` and
# the Cayley transform to :math:`(1 - i\omega)/(1 + i\omega)`, both on the
# unit circle.

step = 0.1 * np.random.default_rng(6).standard_normal((2, 2))
print(
    f"||(P + step).T (P + step) - I|| = {orthogonality_error(P + step):.3f}  (a plain update leaves the set)"
)

M = np.random.default_rng(7).standard_normal((n, n))
B = M - M.T
for name, Qa in (("cayley(B)", cayley(B)), ("expm_skew(B)", expm_skew(B))):
    print(f"{name:>12}: ||Q.T Q - I||_2 = {orthogonality_error(Qa):.1e},  det = {np.linalg.det(Qa):+.6f}")
gap = np.abs(expm_skew(B) - scipy.linalg.expm(B)).max()
print(f"expm_skew(B) vs scipy.linalg.expm(B): max difference {gap:.1e}")
omega = np.sort(np.abs(np.linalg.eigvals(B).imag))[::2]
lam_exp = np.linalg.eigvals(expm_skew(B))
print(f"eigenvalues of B: +-i * {np.round(omega, 3)}")
print(f"|eigenvalues of e^B| = {np.round(np.abs(lam_exp), 12)}")
try:
    expm_skew(M)
except ValueError as err:
    print(f"expm_skew on a matrix that is not skew-symmetric -> ValueError: {str(err)[:70]}...")

# %%
# The nearest orthogonal matrix is the polar factor, not the QR factor
# --------------------------------------------------------------------
#
# During training :math:`W` drifts away from orthogonality, and one may
# *project* it back now and then.  Two projections are in use:
#
# * the **polar factor** :math:`UV^\top` from the SVD :math:`W = U\Sigma V^\top`
#   (:func:`linalg_rnn.orthogonal.nearest_orthogonal`): it replaces every
#   singular value by 1, and it is the orthogonal matrix *nearest* to
#   :math:`W` in the Frobenius norm, at distance
#   :math:`\sqrt{\sum_i (\sigma_i - 1)^2}`;
# * the **QR factor** with signs fixed
#   (:func:`linalg_rnn.orthogonal.qr_orthogonalize`): cheaper, and
#   orthogonal, but it keeps the first column's direction exactly and
#   treats the columns in order, so it is in general farther away.
#
# It is often claimed that a QR projection returns "the nearest orthogonal
# matrix".  That is wrong, and easy to check.  The cleanest counterexample
# is any upper triangular :math:`W` with a positive diagonal: it already *is*
# its own :math:`R`, so its QR factor is the identity whatever the entries
# above the diagonal are.

W = np.array([[1.0, 1.0], [0.0, 1.0]])
d_qr = np.linalg.norm(W - qr_orthogonalize(W))
d_polar = np.linalg.norm(W - nearest_orthogonal(W))
s = np.linalg.svd(W, compute_uv=False)
print(f"W = [[1, 1], [0, 1]]: QR factor = I, ||W - Q_qr||_F = {d_qr:.4f}")
print(
    f"    polar factor:     ||W - Q_polar||_F = {d_polar:.4f}  "
    f"(= sqrt(sum (sigma_i - 1)^2) = {np.sqrt(np.sum((s - 1) ** 2)):.4f})"
)

# %%
# The same comparison on a drifted recurrent matrix: start from a random
# orthogonal :math:`Q_0`, add a perturbation of relative size
# :math:`\delta`, project both ways, and also try many random orthogonal
# matrices to see that nothing beats the polar factor.

deltas = np.logspace(-3, 0, {"quick": 6, "default": 10, "full": 16}[mode])
n_rnn = {"quick": 16, "default": 32, "full": 64}[mode]
Q0 = random_orthogonal(n_rnn, seed=8)
E = np.random.default_rng(9).standard_normal((n_rnn, n_rnn))
E /= np.linalg.norm(E)
rows, d_bare = [], []
for delta in deltas:
    Wd = Q0 + delta * np.sqrt(n_rnn) * E
    d_polar = np.linalg.norm(Wd - nearest_orthogonal(Wd))
    d_qr = np.linalg.norm(Wd - qr_orthogonalize(Wd))
    rows.append((delta, d_polar, d_qr))
    d_bare.append(np.linalg.norm(Wd - np.linalg.qr(Wd)[0]))  # LAPACK's signs, uncorrected: see below
rows = np.array(rows)
print(f"{'delta':>8} {'||W - polar||_F':>16} {'||W - QR||_F':>14} {'QR / polar':>11}")
for delta, dp, dq in rows:
    print(f"{delta:8.1e} {dp:16.4e} {dq:14.4e} {dq / dp:11.2f}")
Wd = Q0 + 0.1 * np.sqrt(n_rnn) * E
Q_polar = nearest_orthogonal(Wd)
d_best = np.linalg.norm(Wd - Q_polar)
# Other orthogonal matrices close to the polar factor: Q_polar times exp of a small skew matrix.
trials = {"quick": 200, "default": 1000, "full": 5000}[mode]
rng = np.random.default_rng(11)
others = []
for _ in range(trials):
    Y = rng.standard_normal((n_rnn, n_rnn))
    B_step = (Y - Y.T) * rng.uniform(0.01, 0.2) / np.linalg.norm(Y - Y.T)  # a random skew step
    others.append(np.linalg.norm(Wd - Q_polar @ expm_skew(B_step)))
print(
    f"\ndelta = 0.1: polar distance {d_best:.4f}; the nearest of {trials} orthogonal matrices "
    f"around it: {min(others):.4f}"
)
print(
    f"is_orthogonal(polar) = {is_orthogonal(nearest_orthogonal(Wd))}, "
    f"is_orthogonal(QR) = {is_orthogonal(qr_orthogonalize(Wd))}"
)

fig, ax = plt.subplots(figsize=(6.5, 4))
ax.loglog(rows[:, 0], d_bare, "^:", color="0.5", label="QR factor, no sign correction (next section)")
ax.loglog(rows[:, 0], rows[:, 2], "s-", label="QR factor (sign-corrected)")
ax.loglog(rows[:, 0], rows[:, 1], "o-", label=r"polar factor $UV^\top$ (nearest)")
ax.set_xlabel(r"drift $\delta$ (relative size of the perturbation)")
ax.set_ylabel(r"distance $\|W - Q\|_F$")
ax.set_title(f"Projecting a drifted {n_rnn}x{n_rnn} matrix back")
ax.legend(fontsize=8)
fig.tight_layout()

# %%
# The QR factor also depends on the order of the columns: permuting the
# columns of :math:`W` changes which direction is kept exactly.  The polar
# factor does not care: :math:`\mathrm{polar}(W\Pi) = \mathrm{polar}(W)\,\Pi`
# for a permutation :math:`\Pi`.

perm = np.random.default_rng(10).permutation(n_rnn)
Pi = np.eye(n_rnn)[:, perm]
print(f"polar(W Pi) == polar(W) Pi: {np.allclose(nearest_orthogonal(Wd @ Pi), nearest_orthogonal(Wd) @ Pi)}")
print(f"   QR(W Pi) ==    QR(W) Pi: {np.allclose(qr_orthogonalize(Wd @ Pi), qr_orthogonalize(Wd) @ Pi)}")

# %%
# Projecting a torch parameter: the sign correction and ``torch.no_grad()``
# -------------------------------------------------------------------------
#
# A project README among the course's sources projects :math:`W_{hh}` back
# with two lines, ``Q, R = torch.linalg.qr(W_hh); W_hh = Q``, run under
# ``torch.no_grad()``, and adds a sign correction "to keep the determinant
# stable".  Both lines deserve a closer look.  We take the drifted matrix of
# the last section with :math:`\delta = 0.01` and put it into a
# ``torch.nn.RNN`` as its recurrent weight, a parameter the optimizer updates.
#
# **The sign correction keeps** :math:`Q` **next to** :math:`W`.  LAPACK's
# Householder QR, which ``torch.linalg.qr`` calls on the CPU, chooses the sign
# of each :math:`r_{jj}` by the sign of the entry it reflects, so about half
# of them come out negative, whatever :math:`W` is.  Since
# :math:`Q = WR^{-1}`, every negative :math:`r_{jj}` flips a column of
# :math:`Q`.  For a nearly orthogonal :math:`W`, :math:`R` is nearly a
# diagonal of signs, :math:`\mathrm{diag}(\pm 1)`, so the bare :math:`Q` is
# nearly :math:`W\mathrm{diag}(\pm 1)`: :math:`W` with some columns negated, at distance about
# :math:`2\sqrt{k}` when :math:`k` columns flip.  As a training step, that
# negates the outgoing recurrent weights of :math:`k` hidden units each time
# the projection runs.  Multiplying by :math:`\mathrm{diag}(\mathrm{sign}\,
# r_{jj})` undoes the flips and leaves :math:`Q` within the drift of :math:`W`.
# It has nothing to do with keeping a determinant stable: :math:`\det Q` is
# :math:`\pm 1` with or without it (the flips change its sign only when an
# odd number of columns flip).
#
# **Why** ``torch.no_grad()``.  The projection repairs the weights; it is not
# part of the model whose loss autograd differentiates.  A parameter is a
# *leaf* of autograd's graph, and autograd refuses to let anyone overwrite a
# leaf that requires a gradient while it records.  Rebinding the name
# instead (``W_hh = Q``) does not change the module's parameter at all -- the
# tensor the optimizer updates stays as it was, and a module refuses a plain
# tensor in its place -- while the new tensor drags the QR factorization's
# backward graph along.  Under ``torch.no_grad()``
# nothing is recorded, the in-place copy ``W_hh.copy_(Q)`` is allowed, and
# the optimizer keeps updating the same parameter, now orthogonal.

import torch  # noqa: E402  (only this section needs it)

rnn = torch.nn.RNN(1, n_rnn, dtype=torch.float64)
W_drift = Q0 + 0.01 * np.sqrt(n_rnn) * E  # delta = 0.01, as in the table above
with torch.no_grad():
    rnn.weight_hh_l0.copy_(torch.from_numpy(W_drift))
W_hh = rnn.weight_hh_l0
for attempt, assign in (
    ("rnn.weight_hh_l0 = Q", lambda Q: setattr(rnn, "weight_hh_l0", Q)),
    ("W_hh.copy_(Q), autograd recording", lambda Q: W_hh.copy_(Q)),
):
    try:
        assign(torch.linalg.qr(W_hh)[0])
    except (TypeError, RuntimeError) as err:
        print(f"{attempt:>34} -> {type(err).__name__}: {err}")
print(f"{'Q = torch.linalg.qr(W_hh)[0]':>34} -> a graph node: grad_fn "
      f"{type(torch.linalg.qr(W_hh)[0].grad_fn).__name__}")
with torch.no_grad():
    Q, R = torch.linalg.qr(W_hh)  # the README's line
    signs = torch.sign(torch.diagonal(R))
    Q_fixed = Q * signs  # Q diag(sign r_jj): the sign correction
flips = int((signs < 0).sum())
print(f"negative r_jj: {flips} of {n_rnn} columns flipped by the bare QR")
d_polar = np.linalg.norm(W_drift - nearest_orthogonal(W_drift))
print(f"||W - Q||_F: bare QR {torch.linalg.norm(W_hh - Q):.4f} (2 sqrt(flips) = {2 * np.sqrt(flips):.4f}), "
      f"sign-corrected {torch.linalg.norm(W_hh - Q_fixed):.4f}, polar {d_polar:.4f}")
print(f"det W = {np.linalg.det(W_drift):+.4f}, det Q: bare {torch.det(Q):+.4f}, "
      f"sign-corrected {torch.det(Q_fixed):+.4f}")
print(f"sign-corrected Q == qr_orthogonalize(W): {np.allclose(Q_fixed.numpy(), qr_orthogonalize(W_drift))}")
with torch.no_grad():
    W_hh.copy_(Q_fixed)  # the projection, in place: the same parameter object, now orthogonal
print(f"after the projection under no_grad: same parameter {rnn.weight_hh_l0 is W_hh}, "
      f"||W.T W - I||_2 = {orthogonality_error(rnn.weight_hh_l0.detach().numpy()):.1e}, "
      f"requires_grad {rnn.weight_hh_l0.requires_grad}")

# %%
# Summary
# -------
#
# * :math:`Q^\top Q = I` means lengths are kept, :math:`\det Q = \pm 1` and every
#   eigenvalue is on the unit circle, so powers of :math:`Q` neither explode
#   nor vanish.
# * Rotations have eigenvalues :math:`e^{\pm i\theta}`; reflections are
#   symmetric with eigenvalues :math:`\pm 1`.
# * QR of a Gaussian matrix is Haar-distributed only after the sign correction
#   :math:`Q\,\mathrm{diag}(\mathrm{sign}\, r_{jj})`.
# * Cayley and the exponential turn any skew-symmetric matrix into an
#   orthogonal one; this is how orthogonal RNN parametrizations work.
# * The nearest orthogonal matrix is the polar factor :math:`UV^\top`; the QR
#   factor is orthogonal but farther away (and order-dependent), so a "QR
#   projection" is a cheap approximation, not the nearest point.
# * A QR projection needs the sign correction, or it flips about half the
#   columns of a nearly orthogonal :math:`W_{hh}`; in torch it runs under
#   ``torch.no_grad()`` and copies into the parameter in place.
#
# Lesson 05 builds the QR factorization itself, starting with Gram–Schmidt.
#
# Exercises
# ---------
#
# 1. Show that a 2-by-2 orthogonal matrix with :math:`\det = -1` is a
#    reflection, and find the line it mirrors across for
#    :math:`\begin{pmatrix}\cos\theta & \sin\theta \\ \sin\theta & -\cos\theta\end{pmatrix}`.
# 2. Prove that :math:`(I+B)^{-1}(I-B)` is orthogonal for skew-symmetric
#    :math:`B`, and check numerically what happens to
#    :func:`linalg_rnn.orthogonal.cayley` when an eigenvalue of the orthogonal
#    matrix you want is close to :math:`-1`.
# 3. For :math:`W = \begin{pmatrix}1 & \delta \\ 0 & 1\end{pmatrix}`, plot the
#    two distances of the last section as functions of :math:`\delta`.  How do
#    they behave for small :math:`\delta`?
