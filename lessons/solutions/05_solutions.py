"""
Worked solutions: lesson 05, Gram--Schmidt
==========================================

The solutions to the exercises at the end of lesson 05.  Every number they
quote is printed by the code; on the site each solution is folded under the
lesson's exercises, with the output of the run that built the page.
"""

# %%
# Exercise 1
# ----------
#
# Both algorithms compute :math:`r_{ij}` (:math:`i < j`) as an inner product
# of :math:`q_i` with a vector; they differ in which vector.  Classical
# Gram--Schmidt uses the original column, :math:`r_{ij}^{\mathrm{CGS}} = q_i^\top a_j`.
# Modified Gram--Schmidt uses what is left of column :math:`j` after the
# first :math:`i - 1` projections,
#
# .. math::
#
#    v_j^{(i)} = a_j - \sum_{l < i} r_{lj}\, q_l ,
#    \qquad r_{ij}^{\mathrm{MGS}} = q_i^\top v_j^{(i)} .
#
# Suppose, by induction on :math:`j`, that both algorithms have produced the
# same orthonormal :math:`q_1, \dots, q_{j-1}`.  Then
#
# .. math::
#
#    r_{ij}^{\mathrm{MGS}} = q_i^\top a_j - \sum_{l < i} r_{lj}\, q_i^\top q_l
#               = q_i^\top a_j = r_{ij}^{\mathrm{CGS}},
#
# because :math:`q_i^\top q_l = 0` for :math:`l \ne i` (the hint).  With equal
# :math:`r_{ij}` for :math:`i < j`, both remainders
# :math:`v_j = a_j - \sum_{i<j} r_{ij}q_i` are the same vector, so
# :math:`r_{jj} = \|v_j\|` and :math:`q_j = v_j / r_{jj}` agree too, which
# completes the induction.  The two algorithms only do the subtractions in a
# different order.
#
# A check in exact arithmetic: both loops written out in sympy (square roots
# stay symbolic) on a small integer matrix give identical :math:`R`.

import time

import matplotlib.pyplot as plt
import numpy as np
import sympy

from linalg_rnn.course import lesson_mode, race
from linalg_rnn.orthogonal import orthogonality_error
from linalg_rnn.qr import (
    classical_gram_schmidt,
    householder_qr,
    modified_gram_schmidt,
    reorthogonalized_gram_schmidt,
)
from linalg_rnn.stability import matrix_with_singular_values

mode = lesson_mode()
eps = np.finfo(float).eps


def exact_gram_schmidt(A, modified):
    """Gram--Schmidt in exact sympy arithmetic: Algorithm 7.1 (classical) or 8.1 (modified)."""
    m, n = A.shape
    Q, R = sympy.zeros(m, n), sympy.zeros(n, n)
    for j in range(n):
        v = A[:, j]
        for i in range(j):
            # classical: project the original column; modified: what is left of it
            R[i, j] = (Q[:, i].T * (v if modified else A[:, j]))[0]
            v = v - R[i, j] * Q[:, i]
        R[j, j] = sympy.sqrt((v.T * v)[0])
        Q[:, j] = v / R[j, j]
    return Q, R


A_exact = sympy.Matrix([[1, 2, 0], [1, 0, 3], [0, 1, 1], [2, 1, 1]])
Q_c, R_c = exact_gram_schmidt(A_exact, modified=False)
Q_m, R_m = exact_gram_schmidt(A_exact, modified=True)
print("R (classical, exact) =", sympy.simplify(R_c).tolist())
print("R_classical - R_modified, simplified:", sympy.simplify(R_c - R_m).tolist())
print("Q^T Q - I (exact):", sympy.simplify(Q_c.T * Q_c - sympy.eye(3)).tolist())
print("R^T R - A^T A (exact):", sympy.simplify(R_c.T * R_c - A_exact.T * A_exact).tolist())

# %%
# In floating point the hint fails: the computed :math:`q_i^\top q_l` is not
# 0 but of the size of the loss of orthogonality, and the two orders of
# subtraction give different :math:`r_{ij}`.  On matrices with a chosen
# condition number the two computed :math:`R` (the package's functions) drift
# apart as :math:`\kappa` grows:

print(f"{'kappa':>8} {'max|R_cgs - R_mgs| / ||A||':>27} {'||Q^T Q - I|| of CGS':>21}")
for kappa in (1e0, 1e4, 1e8, 1e12):
    Ak = matrix_with_singular_values(np.logspace(0, -np.log10(kappa), 10), 40, seed=0)
    Qc, Rc = classical_gram_schmidt(Ak, rank_tol=0.0)
    Qm, Rm = modified_gram_schmidt(Ak, rank_tol=0.0)
    gap = np.abs(Rc - Rm).max() / np.linalg.norm(Ak, 2)
    print(f"{kappa:8.0e} {gap:27.1e} {orthogonality_error(Qc):21.1e}")

# %%
# Exercise 2
# ----------
#
# The same experiment with :math:`\sigma_j = 3^{-j}`, :math:`j = 1, \dots,
# 80` (:math:`3^{-80} \approx 7\times10^{-39}` is still an ordinary
# float64), now :math:`\|A\|_2 = 1/3`.  For every seed and method we print
# where :math:`|r_{jj}|` first exceeds ten times the exact :math:`3^{-j}`
# (the departure) and the median of :math:`|r_{jj}|` over the columns after
# it, next to the same numbers for the lesson's :math:`2^{-j}`.

m = 80
seeds = {"quick": [0, 1], "default": list(range(4)), "full": list(range(10))}[mode]
j = np.arange(1, m + 1)
methods = {
    "classical": lambda A: classical_gram_schmidt(A, rank_tol=0.0),
    "modified": lambda A: modified_gram_schmidt(A, rank_tol=0.0),
    "Householder": householder_qr,
}
diagonals = {}
floors = {}
print(f"{len(seeds)} seeds; eps = 2^-52 = {eps:.2e}, sqrt(eps) = {np.sqrt(eps):.2e}")
print(f"{'base':>4} {'method':>11} {'departs at j':>18} {'where base^-j =':>16} "
      f"{'median |r_jj|, j=61..80':>24} {'/ sqrt(eps)':>12} {'/ (eps ||A||)':>14}")
for base in (2.0, 3.0):
    exact = base**-j
    for name, method in methods.items():
        rows = np.array([np.abs(np.diag(method(matrix_with_singular_values(exact, seed=s))[1]))
                         for s in seeds])
        diagonals[(base, name)] = rows
        # The departure: the first j from which |r_jj| stays above ten times the exact base^-j.
        departs = [int(np.flatnonzero(row <= 10 * exact)[-1]) + 2 for row in rows]
        floors[(base, name)] = np.median(rows[:, 60:])
        level = floors[(base, name)]
        print(f"{base:4.0f} {name:>11} {str(departs):>18} "
              f"{f'{base ** -max(departs):.0e}..{base ** -min(departs):.0e}':>16} "
              f"{level:24.1e} {level / np.sqrt(eps):12.2g} {level / (eps * exact[0]):14.2g}")
print("floor with 3^-j / floor with 2^-j (j = 61..80): "
      + ", ".join(f"{name} {floors[(3.0, name)] / floors[(2.0, name)]:.2f}" for name in methods))

fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
styles = {"classical": ("o", "C0"), "Householder": (".", "C2"), "modified": ("x", "C1")}
for ax, base in zip(axes, (2.0, 3.0), strict=True):
    for name, (marker, color) in styles.items():
        for k, row in enumerate(diagonals[(base, name)]):
            ax.semilogy(j, row, marker, color=color, ms=3, alpha=0.5, label=name if k == 0 else None)
    ax.semilogy(j, base**-j, "k-", lw=0.8, label=f"${base:.0f}^{{-j}}$ (exact)")
    ax.axhline(np.sqrt(eps), color="C0", ls="--", lw=0.8)
    ax.axhline(eps, color="C1", ls="--", lw=0.8)
    ax.text(2, np.sqrt(eps) * 3, r"$\sqrt{\varepsilon}$", color="C0")
    ax.text(2, eps * 3, r"$\varepsilon$", color="C1")
    ax.set_ylim(1e-30, 2)
    ax.set_xlabel("j")
    ax.set_title(f"$\\sigma_j = {base:.0f}^{{-j}}$, {len(seeds)} seeds")
axes[0].set_ylabel(r"$|r_{jj}|$")
axes[0].legend(fontsize=8, loc="lower left")
fig.tight_layout()

# %%
# The curves flatten at the same heights as before, only earlier: classical
# Gram--Schmidt leaves :math:`3^{-j}` at :math:`j \approx 17`--20, where
# :math:`3^{-j}` has just passed :math:`\sqrt{\varepsilon}` (:math:`j = \log
# \varepsilon^{-1/2} / \log 3 \approx 16.4`, printed below), against
# :math:`j \approx 27`--31 for :math:`2^{-j}`; modified Gram--Schmidt and
# Householder at :math:`j \approx 37`, where :math:`3^{-j}` falls below
# :math:`\varepsilon\|A\|_2` (:math:`j \approx 34`), instead of
# :math:`j \approx 56`--58.  The floors after that are the same kind of
# number for both bases -- classical a decade or two above
# :math:`\sqrt\varepsilon`, modified and Householder a little below
# :math:`\varepsilon\|A\|_2` -- and the printed ratios of the floors are
# of order one, against the :math:`10^{14}` by which :math:`3^{-80}` and
# :math:`2^{-80}` differ.  (The floors are not perfectly flat: on the plot
# those of modified Gram--Schmidt and Householder sink slowly with
# :math:`j`, in both panels alike.)
#
# Why the level does not move: once :math:`\sigma_j` is below it, the
# computed :math:`r_{jj}` no longer measures the matrix but the rounding
# errors of the computation.  For modified Gram--Schmidt and Householder
# these are errors of size :math:`\varepsilon\|A\|` committed in each
# subtraction, whatever the small singular values are.  For classical
# Gram--Schmidt the remainder is polluted by the non-orthogonality of the
# earlier :math:`q_i`: a column's component along :math:`q_i` is removed only
# up to that error, which is of order :math:`\sqrt{\varepsilon}` and more
# once :math:`\varepsilon\kappa^2` of the leading columns has reached
# order 1 -- again a property of the arithmetic, not of how fast
# :math:`\sigma_j` falls.  The grading only decides *at which j* the exact
# curve crosses those floors.

print(f"log(eps^-1/2) / log 3 = {np.log(eps**-0.5) / np.log(3):.1f};  "
      f"log(1 / (eps ||A||)) / log 3 with ||A|| = 1/3: {np.log(3 / eps) / np.log(3):.1f}")
print(f"log(eps^-1/2) / log 2 = {np.log(eps**-0.5) / np.log(2):.1f};  "
      f"log(1 / (eps ||A||)) / log 2 with ||A|| = 1/2: {np.log(2 / eps) / np.log(2):.1f}")
print(f"2^-80 / 3^-80 = {1.5**80:.1e}")

# %%
# Exercise 3
# ----------
#
# Modified Gram--Schmidt twice: :math:`A = Q_1R_1`, then :math:`Q_1 =
# Q_2R_2`, so :math:`A = Q_2(R_2R_1)` with :math:`R_2R_1` upper triangular
# with a positive diagonal.  The first pass leaves
# :math:`\|Q_1^\top Q_1 - I\| \approx \varepsilon\kappa(A)`; for
# :math:`\varepsilon\kappa < 1` that makes :math:`\kappa(Q_1) \approx 1`, so
# the second pass is orthogonal to :math:`\varepsilon\kappa(Q_1) \approx
# \varepsilon`.  On a :math:`\kappa = 10^{10}` matrix, against one pass of MGS
# and CGS and against CGS2:

m3, n3 = {"quick": (100, 20), "default": (300, 60), "full": (600, 120)}[mode]
A3 = matrix_with_singular_values(np.logspace(0, -10, n3), m3, seed=5)
print(f"{m3}x{n3} matrix, kappa = {np.linalg.cond(A3):.2e}, eps * kappa = {eps * np.linalg.cond(A3):.1e}")


def mgs_twice(A):
    """Modified Gram--Schmidt applied to A, then to its computed Q: A = Q2 (R2 R1)."""
    Q1, R1 = modified_gram_schmidt(A, rank_tol=0.0)
    Q2, R2 = modified_gram_schmidt(Q1, rank_tol=0.0)
    return Q2, R2 @ R1


contestants = {
    "MGS": lambda: modified_gram_schmidt(A3, rank_tol=0.0),
    "CGS": lambda: classical_gram_schmidt(A3, rank_tol=0.0),
    "MGS twice": lambda: mgs_twice(A3),
    "CGS2": lambda: reorthogonalized_gram_schmidt(A3, rank_tol=0.0),
}
Q1, _ = modified_gram_schmidt(A3, rank_tol=0.0)
print(f"after the first MGS pass: kappa(Q1) - 1 = {np.linalg.cond(Q1) - 1:.1e}")
for name, run in contestants.items():
    Q, R = run()
    print(f"{name:>9}: ||Q^T Q - I||_2 = {orthogonality_error(Q):.1e},  "
          f"||QR - A||_F / ||A||_F = {np.linalg.norm(Q @ R - A3) / np.linalg.norm(A3):.1e}")

# %%
# Both twice-methods reach rounding level.  The cost: each pass of either
# algorithm is :math:`2mn^2` flops, so both cost :math:`4mn^2`, twice one
# pass.  The flops are the same; the *kind* of work is not.  MGS subtracts
# one projection at a time from every later column (a rank-one update per
# column, BLAS-2 at best, and a loop over :math:`i` inside a loop over
# :math:`j` in this from-scratch code), while CGS2 projects a whole column
# with two matrix--vector products :math:`Q_{j-1}^\top a_j` per pass.  The
# clock (best of interleaved runs, :func:`linalg_rnn.course.race`; the
# machine that built this page was shared, so read the ratios, not the
# seconds):

times = race(contestants, repeats={"quick": 3, "default": 21, "full": 31}[mode])
flops = 2 * m3 * n3**2
for name, seconds in times.items():
    passes = 2 if "twice" in name or name == "CGS2" else 1
    print(f"{name:>9}: {1e3 * seconds:7.2f} ms, {seconds / times['CGS2']:5.2f} x CGS2,  "
          f"{passes * flops / seconds / 1e9:5.2f} GFLOP/s for {passes} x 2mn^2 flops")


def best_cpu_time(func, repeats):
    """The least CPU time of this thread over a few calls: time another program took is not counted."""
    best = np.inf
    for _ in range(repeats):
        start = time.thread_time()
        func()
        best = min(best, time.thread_time() - start)
    return best


cpu = {name: best_cpu_time(contestants[name], 5) for name in ("MGS", "MGS twice")}
print(f"self-check, (MGS twice) / MGS: wall clock {times['MGS twice'] / times['MGS']:.2f}, "
      f"CPU time {cpu['MGS twice'] / cpu['MGS']:.2f}; 2 by the code (two identical passes)")

# %%
# So MGS twice buys the same orthogonality as CGS2 (both at rounding
# level, printed above) for the same flop count.  In time, the one real
# advantage of CGS2 shows: its inner work is a matrix--vector product, and
# MGS twice ran at a fraction of its flop rate in this run (the printed
# ratio and GFLOP/s).  Check the self-check line before trusting the
# ratios: MGS twice is two calls of the same code, so it should take twice
# as long as MGS.  On a heavily shared machine a call of a few milliseconds
# is often interrupted by other programs, the best of many runs still
# includes the interruption, and the longer calls come out slower than their
# work; the CPU time of the thread (``time.thread_time``) does not count the
# interruptions, and its ratio should be close to 2.  Note also what
# neither of them does: once :math:`\varepsilon\kappa \gtrsim 1` the first
# pass returns a numerically rank-deficient :math:`Q_1` and no second pass
# can recover the lost directions; Householder QR (lesson 06) has no such
# limit.
