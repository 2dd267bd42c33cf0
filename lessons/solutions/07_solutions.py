"""
Worked solutions: lesson 07, the stability lab and the speed lab
================================================================

The solutions to the exercises at the end of lesson 07.  Every number they
quote is printed by the code; on the site each solution is folded under the
lesson's exercises, with the output of the run that built the page.
"""

# %%
# Exercise 1
# ----------
#
# The theory does not depend on the shape: the bounds are
# :math:`\|Q^\top Q - I\| \le C_1(m, n)\,\varepsilon\kappa^2` for classical
# Gram--Schmidt (while that is small), :math:`C_2(m, n)\,\varepsilon\kappa`
# for modified and :math:`C_3(m, n)\,\varepsilon` for Householder, with
# constants that grow slowly with :math:`m` and :math:`n`.  So a square
# matrix should change the constants a little and the slopes not at all.
# We rerun the lab (:func:`linalg_rnn.stability.orthogonality_vs_condition`,
# the same :math:`\kappa` grid and seed as the lesson) on the lesson's tall
# shape and on square ones, and fit the slopes on the same ranges as the
# lesson.

import time

import matplotlib.pyplot as plt
import numpy as np
import scipy.optimize

from linalg_rnn.course import lesson_mode, race
from linalg_rnn.qr import givens_qr, modified_gram_schmidt
from linalg_rnn.stability import matrix_with_singular_values, orthogonality_vs_condition

mode = lesson_mode()
eps = np.finfo(float).eps
K = {"quick": 9, "default": 17, "full": 33}[mode]
kappas = np.logspace(0, 16, K)
methods = ["cgs", "mgs", "cgs2", "householder", "blocked_householder", "givens"]
shapes = {"quick": [(60, 15), (15, 15)], "default": [(100, 20), (20, 20), (100, 100)],
          "full": [(300, 60), (60, 60), (300, 300)]}[mode]
studies = {shape: orthogonality_vs_condition(methods, kappas, *shape, seed=1) for shape in shapes}
print(f"{'m x n':>9} {'CGS slope':>10} {'MGS slope':>10} {'Householder slope':>18} "
      f"{'CGS > 0.5 from kappa':>21} {'CGS, largest error':>19} {'stable methods, largest error':>30}")
for (m, n), study in studies.items():
    broken = kappas[study.errors["cgs"] > 0.5]
    stable = max(study.errors[name].max() for name in methods[2:])  # cgs2, Householder (both), Givens
    print(f"{f'{m}x{n}':>9} {study.slope('cgs', 1e2, 1e6):10.2f} {study.slope('mgs', 1e2, 1e12):10.2f} "
          f"{study.slope('householder'):18.2f} {broken.min() if broken.size else np.nan:21.0e} "
          f"{study.errors['cgs'].max():19.1e} {stable:30.1e}")
print(f"eps^(-1/2) = {eps ** -0.5:.1e} (where eps kappa^2 = 1)")

fig, axes = plt.subplots(1, len(shapes), figsize=(4.2 * len(shapes), 4), sharey=True)
styles = {"cgs": "o-", "mgs": "x-", "cgs2": "s-", "householder": "^-", "blocked_householder": "v--",
          "givens": "d:"}
for ax, ((m, n), study) in zip(axes, studies.items(), strict=True):
    for name in methods:
        ax.loglog(kappas, study.errors[name], styles[name], ms=4, label=name)
    ax.loglog(kappas, eps * kappas**2, "k-", lw=0.8, alpha=0.5)
    ax.loglog(kappas, eps * kappas, "k--", lw=0.8, alpha=0.5)
    ax.set_ylim(1e-17, 1e3)
    ax.set_xlabel(r"$\kappa(A)$")
    ax.set_title(f"{m} x {n}")
axes[0].set_ylabel(r"$\|Q^\top Q - I\|_2$")
axes[0].legend(fontsize=7, loc="upper left")
fig.suptitle(r"The stability lab, tall and square (black lines: $\varepsilon\kappa^2$, $\varepsilon\kappa$)")
fig.tight_layout()

# %%
# The slopes do not change: about 2, 1 and 0 for every shape (the printed
# fits), and classical Gram--Schmidt passes 0.5 at the same grid point,
# past :math:`\varepsilon^{-1/2}`.  What changes is the constant in front:
# the stable methods sit a little higher for the larger matrix (the last
# column), a few :math:`\varepsilon` that grow slowly with the size, and
# classical Gram--Schmidt's saturated error, which is about the size of the
# largest eigenvalue of :math:`Q^\top Q - I` for a set of columns that are
# no longer orthogonal, grows with :math:`n` (the "CGS, largest error"
# column, and the right-hand ends of the panels).  Squareness itself plays no role in any of the three
# arguments: they are about the columns of :math:`A`, and a square matrix is
# a tall one with :math:`m = n`.

# %%
# Exercise 2
# ----------
#
# Gram--Schmidt twice with the modified algorithm: :math:`A = Q_1R_1`,
# :math:`Q_1 = Q_2R_2`, return :math:`(Q_2, R_2R_1)`.  The function passes
# ``rank_tol=0.0`` itself, as the lab does for its own Gram--Schmidt methods,
# and is keyed in the study by its ``__name__``.  We add :math:`\kappa` beyond
# :math:`10^{16}` to see whether it ever breaks.


def mgs_twice(A):
    """Modified Gram--Schmidt applied twice: A = Q2 (R2 R1)."""
    Q1, R1 = modified_gram_schmidt(A, rank_tol=0.0)
    Q2, R2 = modified_gram_schmidt(Q1, rank_tol=0.0)
    return Q2, R2 @ R1


m2, n2 = shapes[0]
kappas2 = np.logspace(0, 24, {"quick": 13, "default": 25, "full": 49}[mode])
study2 = orthogonality_vs_condition(["mgs", "cgs2", "householder", mgs_twice], kappas2, m2, n2, seed=1)
print(study2)
for name in ("mgs_twice", "cgs2", "householder"):
    print(f"{name:>12}: largest ||Q^T Q - I|| {study2.errors[name].max():.1e}, "
          f"largest ||QR - A|| / ||A|| {study2.residuals[name].max():.1e}")
for asked in (1e16, 1e20, 1e24):
    A = matrix_with_singular_values(np.logspace(0, -np.log10(asked), n2), m2, seed=0)
    print(f"asked for kappa = {asked:.0e}: the float64 matrix has kappa = {np.linalg.cond(A):.1e}")

fig, ax = plt.subplots(figsize=(6.5, 4))
for name, style in (("mgs", "x-"), ("cgs2", "s-"), ("householder", "^-"), ("mgs_twice", "o-")):
    ax.loglog(kappas2, study2.errors[name], style, ms=4, label=name)
ax.loglog(kappas2, eps * kappas2, "k--", lw=0.8, alpha=0.5, label=r"$\varepsilon\kappa$")
ax.axvline(1 / eps, color="0.5", lw=0.8, ls=":")
ax.set_ylim(1e-17, 1e1)
ax.set_xlabel(r"$\kappa$ asked for")
ax.set_ylabel(r"$\|Q^\top Q - I\|_2$")
ax.set_title(f"MGS twice joins the stable methods ({m2} x {n2})")
ax.legend(fontsize=8)
fig.tight_layout()

# %%
# MGS twice sits on the :math:`\varepsilon` line with CGS2 and Householder,
# at every :math:`\kappa` tried, at the level of Householder (the printed
# largest errors), except at the far end, where CGS2 starts to lose
# orthogonality on these numerically singular matrices, as lesson 07
# warned it might.  Why it works: the first pass leaves
# :math:`\|Q_1^\top Q_1 - I\| \approx \varepsilon\kappa`, and in this lab that
# stays below 1 even for :math:`\kappa` past :math:`1/\varepsilon` (the
# ``mgs`` column never reaches 1), so :math:`Q_1` is well conditioned and the
# second pass, which loses orthogonality like
# :math:`\varepsilon\kappa(Q_1)`, makes it orthogonal to rounding.  Past
# :math:`10^{16}` the :math:`\kappa` "asked for" is not what the matrix gets:
# forming :math:`U\Sigma V^\top` in float64 rounds the small singular values
# up to about :math:`\varepsilon\sigma_1`, so the matrices all have
# :math:`\kappa` of a few :math:`10^{16}` (printed).  On such numerically
# singular matrices both twice-methods still return orthonormal columns and
# reproduce :math:`A` to rounding; what they cannot promise is that those
# columns are the ones exact arithmetic would give, which no method can for
# a matrix that is singular to working precision.

# %%
# Exercise 3
# ----------
#
# :func:`linalg_rnn.qr.givens_qr` forms :math:`Q` as well as :math:`R`.  For
# a square :math:`n \times n` matrix it makes :math:`n_{\mathrm{rot}}(n) = n(n-1)/2` rotations;
# rotation :math:`(i, j)` (zeroing column :math:`j`) updates two rows of
# :math:`R` from column :math:`j` on, :math:`6(n - j)` flops, and forming
# :math:`Q` applies each rotation to two rows of length :math:`n` of the
# identity, :math:`6n` flops.  In all
#
# .. math:: \mathrm{flops}(n) = \sum_{j=0}^{n-2} (n-1-j)\,\bigl(6(n-j) + 6n\bigr)
#           \approx 2n^3 + 3n^3 = 5n^3 .
#
# We time it (best of interleaved rounds) for :math:`n = 64, 128, 256`,
# convert to a flop rate, and extrapolate to :math:`n = 2048` two ways:
# (a) as the exercise asks, :math:`\mathrm{flops}(2048)` at the rate measured at the
# largest :math:`n`, which is the same as scaling its time by
# :math:`(2048/256)^3 = 512`; (b) from a two-term model, a fixed cost per
# rotation plus a cost per flop,
# :math:`\text{time} \approx c_{\mathrm{rot}}\, n_{\mathrm{rot}}(n) + c_{\mathrm{flop}}\, \mathrm{flops}(n)`,
# fitted to the three timings.  Then both predictions are checked at
# :math:`n = 512`, where the clock can still be read in a few seconds.


def givens_flops(n):
    """Flops of givens_qr on an n x n matrix: R (6 per entry of two rows) plus forming Q (6n per rotation)."""
    return sum((n - 1 - j) * (6 * (n - j) + 6 * n) for j in range(n - 1))


sizes = {"quick": [32, 64, 128], "default": [64, 128, 256], "full": [64, 128, 256, 512]}[mode]
check = {"quick": 256, "default": 512, "full": 1024}[mode]
mats = {n: np.random.default_rng(n).standard_normal((n, n)) for n in sizes + [check]}
times = race({n: (lambda n=n: givens_qr(mats[n])) for n in sizes}, repeats={"quick": 2, "default": 3,
                                                                             "full": 3}[mode])
rotations = {n: n * (n - 1) // 2 for n in sizes + [check, 2048]}
print(f"{'n':>5} {'rotations':>10} {'flops':>10} {'seconds':>9} {'GFLOP/s':>8} {'us per rotation':>16}")
for n in sizes:
    print(f"{n:5d} {rotations[n]:10d} {givens_flops(n):10.2e} {times[n]:9.3f} "
          f"{givens_flops(n) / times[n] / 1e9:8.3f} {1e6 * times[n] / rotations[n]:16.1f}")
growth = np.log(times[sizes[-1]] / times[sizes[0]]) / np.log(sizes[-1] / sizes[0])
print(f"time grows like n^{growth:.2f} over these sizes (flops: n^3, rotations: n^2)")

n_big = sizes[-1]
rate = givens_flops(n_big) / times[n_big]
X = np.array([[rotations[n], givens_flops(n)] for n in sizes], dtype=float)
c_rot, c_flop = scipy.optimize.nnls(X, np.array([times[n] for n in sizes]))[0]
arithmetic = f"{1e-9 / c_flop:.2f} GFLOP/s" if c_flop > 0 else "too small to resolve at these sizes"
print(f"model: {1e6 * c_rot:.1f} us per rotation + {1e9 * c_flop:.3f} ns per flop (arithmetic: {arithmetic})")
predict = {name: {n: f(n) for n in (check, 2048)} for name, f in (
    ("(a) flops at the measured rate", lambda n: givens_flops(n) / rate),
    ("(b) per-rotation + per-flop model", lambda n: c_rot * rotations[n] + c_flop * givens_flops(n)))}
start = time.perf_counter()
givens_qr(mats[check])
measured = time.perf_counter() - start
for name, p in predict.items():
    print(f"{name:>34}: n = {check}: {p[check]:7.1f} s predicted;  n = 2048: {p[2048]:8.0f} s "
          f"= {p[2048] / 60:5.1f} min")
print(f"{'measured':>34}: n = {check}: {measured:7.1f} s (one run)")

# %%
# What the numbers say.  At these sizes the time grows more slowly than
# :math:`n^3` (the printed exponent): the flop rate *rises* with :math:`n`
# because the cost is dominated by the fixed cost of each rotation -- a
# handful of NumPy calls on short rows, microseconds each whatever the row
# length -- and the number of rotations grows only like :math:`n^2`.  So the
# estimate the exercise asks for, (a), which assumes the rate stays what it
# was at the largest timed :math:`n`, overestimates: at the checked size it
# predicts more than the measured time (the ratio printed below), and its
# :math:`n = 2048` figure is best read as an upper bound.  The model (b)
# charges the rotations and the flops separately (fitted with nonnegative
# coefficients); its prediction at the checked size is the one to compare
# with the measured time before believing its :math:`n = 2048` figure.
# Both say the same thing in the end: minutes of Python loops for a
# factorization that LAPACK does in a small fraction of the time (the last
# line times :func:`numpy.linalg.qr` at the checked size), which is why
# Givens rotations are kept for sparse and structured matrices (exercise 2
# of lesson 06).
print(f"(a) / measured at n = {check}: {predict['(a) flops at the measured rate'][check] / measured:.1f};  "
      f"(b) / measured: {predict['(b) per-rotation + per-flop model'][check] / measured:.2f}")
t_numpy = race({"numpy": lambda: np.linalg.qr(mats[check])}, repeats=3)["numpy"]
print(f"numpy.linalg.qr at n = {check}: {t_numpy:.3f} s, {measured / t_numpy:.0f} times faster "
      "than givens_qr")
