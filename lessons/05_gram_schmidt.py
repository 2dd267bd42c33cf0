"""
05 · Gram–Schmidt: orthogonalizing columns, and how rounding undoes it
======================================================================

Lesson 04 used the QR factorization as a black box to make orthogonal
matrices.  This lesson builds it the way it is first taught: take the
columns one at a time and subtract their components along the directions
already found.  Two orders of the same arithmetic, *classical* and
*modified* Gram–Schmidt, give identical results in exact arithmetic and very
different ones in floating point.  We reproduce two experiments from
Trefethen and Bau, *Numerical Linear Algebra*, Lecture 9.

**What you will learn**

* how Gram–Schmidt produces :math:`A = QR` column by column, and that our
  versions agree with :func:`numpy.linalg.qr`;
* what happens on a dependent column (an error naming it);
* Experiment 2: on a matrix with singular values :math:`2^{-1}, \\dots,
  2^{-80}` the computed :math:`|r_{jj}|` of classical Gram–Schmidt depart
  from :math:`2^{-j}` near :math:`\\sqrt{\\varepsilon}` and then wander one
  to two decades above it, while modified Gram–Schmidt follows
  :math:`2^{-j}` down to rounding level;
* Experiment 3: on a 2-by-2 nearly singular matrix modified Gram–Schmidt
  loses orthogonality to :math:`10^{-11}`, Householder does not;
* that running classical Gram–Schmidt twice (CGS2) repairs it.

**Prerequisites:** lesson 04 (orthogonal matrices).
"""

# %%
# Gram–Schmidt in one paragraph
# ------------------------------
#
# Write the columns of :math:`A` as :math:`a_1, \dots, a_n` and look for
# orthonormal :math:`q_1, \dots, q_n` with
# :math:`a_j = r_{1j}q_1 + \dots + r_{jj}q_j`, that is :math:`A = QR` with
# :math:`R` upper triangular.  Column :math:`j` gives the recipe: its
# coefficients along the earlier directions are :math:`r_{ij} = q_i^\top a_j`,
# what remains, :math:`v_j = a_j - \sum_{i<j} r_{ij}q_i`, is orthogonal to
# them, and its length :math:`r_{jj} = \|v_j\|` normalizes it,
# :math:`q_j = v_j / r_{jj}`.
#
# * **Classical** Gram–Schmidt (Trefethen and Bau, Algorithm 7.1) computes
#   all :math:`r_{ij}` of column :math:`j` from the *original* :math:`a_j`
#   (:func:`linalg_rnn.qr.classical_gram_schmidt`).
# * **Modified** Gram–Schmidt (Algorithm 8.1) removes :math:`q_i` from all
#   later columns as soon as :math:`q_i` is known, so each coefficient is
#   computed from a vector that has already lost its earlier components
#   (:func:`linalg_rnn.qr.modified_gram_schmidt`).
#
# Both cost :math:`2mn^2` flops.  First, check both against LAPACK on a
# random matrix: after :func:`linalg_rnn.qr.sign_normalize` (so that
# :math:`r_{jj} > 0`, which makes the factorization unique) they must agree
# to rounding.

import matplotlib.pyplot as plt
import numpy as np

from linalg_rnn.course import lesson_mode
from linalg_rnn.orthogonal import orthogonality_error
from linalg_rnn.qr import (
    classical_gram_schmidt,
    householder_qr,
    modified_gram_schmidt,
    reorthogonalized_gram_schmidt,
    sign_normalize,
)
from linalg_rnn.stability import matrix_with_singular_values

mode = lesson_mode()
print(f"mode = {mode}")
eps = np.finfo(float).eps

A = np.random.default_rng(0).standard_normal((8, 5))
Qn, Rn = sign_normalize(*np.linalg.qr(A))
for name, method in (("classical", classical_gram_schmidt), ("modified", modified_gram_schmidt)):
    Q, R = method(A)
    print(
        f"{name:>9}: ||QR - A|| = {np.linalg.norm(Q @ R - A):.1e},"
        f"  ||Q.T Q - I|| = {orthogonality_error(Q):.1e},"
        f"  max|Q - Q_numpy| = {np.abs(Q - Qn).max():.1e},  max|R - R_numpy| = {np.abs(R - Rn).max():.1e}"
    )

# %%
# A dependent column has nothing left to normalize
# ------------------------------------------------
#
# If :math:`a_j` is a combination of the earlier columns, :math:`v_j = 0` and
# :math:`q_j = v_j / r_{jj}` is undefined.  In floating point :math:`v_j` is
# not exactly zero but of the size of rounding, so the functions call a
# column dependent when :math:`\|v_j\| \le n\varepsilon\|A\|_F`, with
# :math:`\varepsilon = 2^{-52}` NumPy's machine epsilon (more on it below), and
# say which one (0-based, so "column 2" is ``A[:, 2]``).  Householder QR, in lesson 06,
# has no such problem.

A_dep = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 1.0, 2.0], [2.0, 0.0, 2.0]])  # a3 = a1 + a2
try:
    modified_gram_schmidt(A_dep)
except np.linalg.LinAlgError as err:
    print(f"LinAlgError: {err}")

# %%
# Experiment 2: the diagonal of R on a graded matrix
# --------------------------------------------------
#
# Build an 80-by-80 matrix :math:`A = U\Sigma V^\top` with random orthogonal
# :math:`U, V` and singular values :math:`\sigma_j = 2^{-j}`
# (:func:`linalg_rnn.stability.matrix_with_singular_values`).  Its columns
# are very nearly dependent: :math:`\kappa(A) = 2^{79} \approx 6\times10^{23}`.
# Because the singular values are graded so steeply, the diagonal entries
# :math:`r_{jj}` should decrease like :math:`2^{-j}` (up to a modest factor
# that comes from the random :math:`V`).  In floating point a
# computed :math:`r_{jj}` cannot be smaller than the rounding error committed
# while computing it.  The functions would refuse such columns as dependent,
# so here we pass ``rank_tol=0.0`` (refuse only an exact zero) to watch them
# go all the way.  Each seed draws new :math:`U` and :math:`V`; we plot every
# seed.
#
# A word on :math:`\varepsilon`.  Here, as in NumPy, :math:`\varepsilon = 2^{-52}
# \approx 2.2\times10^{-16}` (``np.finfo(float).eps``), the gap between 1 and
# the next float.  Trefethen and Bau's :math:`\varepsilon_{\mathrm{machine}}` is
# half of it, the unit roundoff :math:`u = 2^{-53}`, so their
# :math:`\sqrt{\varepsilon_{\mathrm{machine}}}` is :math:`\sqrt 2` times
# smaller than our :math:`\sqrt{\varepsilon}`: the same place on a plot that
# spans 26 decades.

m = 80
seeds = {"quick": [0, 1], "default": list(range(8)), "full": list(range(20))}[mode]
j = np.arange(1, m + 1)
diagonals = {"classical": [], "modified": [], "Householder": []}
for seed in seeds:
    A2 = matrix_with_singular_values(2.0**-j, seed=seed)
    diagonals["classical"].append(np.diag(classical_gram_schmidt(A2, rank_tol=0.0)[1]))
    diagonals["modified"].append(np.diag(modified_gram_schmidt(A2, rank_tol=0.0)[1]))
    diagonals["Householder"].append(np.diag(householder_qr(A2)[1]))
diagonals = {name: np.array(rows) for name, rows in diagonals.items()}

print(f"{len(seeds)} seeds; eps = 2^-52 = {eps:.2e}, sqrt(eps) = {np.sqrt(eps):.2e}, "
      f"u = eps/2 = {eps / 2:.2e}, eps * ||A||_2 = {eps * 0.5:.2e}")
blocks = ((31, 45), (61, 80))
for name, rows in diagonals.items():
    r = np.abs(rows)
    # The first j where the computed |r_jj| is ten times larger than the exact 2^-j.
    departs = [int(np.argmax(row > 10 * 2.0**-j)) + 1 for row in r]
    print(f"{name:>11}: leaves 2^-j at j = {departs}, where 2^-j = {2.0 ** -min(departs):.1e} "
          f"to {2.0 ** -max(departs):.1e}")
    for lo, hi in blocks:
        part = r[:, lo - 1 : hi]
        print(f"{'':>13}j = {lo}..{hi}: median |r_jj| {np.median(part):.1e} "
              f"({np.log10(np.median(part) / np.sqrt(eps)):+.1f} decades from sqrt(eps)), "
              f"range [{part.min():.1e}, {part.max():.1e}]")

fig, ax = plt.subplots(figsize=(7, 4.5))
styles = {"classical": ("o", "C0"), "modified": ("x", "C1"), "Householder": (".", "C2")}
for name in ("classical", "Householder", "modified"):  # modified last: its crosses on top
    rows, (marker, color) = diagonals[name], styles[name]
    for k, row in enumerate(rows):  # every seed, in the method's colour
        ax.semilogy(j, np.abs(row), marker, color=color, ms=3, alpha=0.5,
                    label=(f"{name} Gram-Schmidt" if name != "Householder" else name) if k == 0 else None)
ax.semilogy(j, 2.0**-j, "k-", lw=0.8, label=r"$2^{-j}$ (exact)")
ax.axhline(np.sqrt(eps), color="C0", ls="--", lw=0.8)
ax.axhline(eps, color="C1", ls="--", lw=0.8)
ax.text(2, np.sqrt(eps) * 3, r"$\sqrt{\varepsilon}$, $\varepsilon = 2^{-52}$", color="C0")
ax.text(2, eps * 3, r"$\varepsilon$", color="C1")
ax.set_xlabel("j")
ax.set_ylabel(r"$|r_{jj}|$")
ax.set_ylim(1e-26, 2)
ax.set_title(f"Trefethen & Bau Experiment 2, {len(seeds)} seeds: "
             "where the computed $r_{jj}$ stop following $2^{-j}$", fontsize=10)
ax.legend(fontsize=8)
fig.tight_layout()

# %%
# Classical Gram–Schmidt departs from the exact curve where :math:`2^{-j}`
# reaches about :math:`\sqrt{\varepsilon}` (the printed :math:`j` and
# :math:`2^{-j}`), as in the book.  It does not level off there, though: it
# wanders upward, with medians about one to two decades above :math:`\sqrt{\varepsilon}`
# that creep higher with :math:`j`, and single values higher still (the top
# of the printed ranges).  From there on its :math:`q_j` are so far from orthogonal to
# the earlier ones that each projection leaves a remainder of that size, and
# the loss of orthogonality grows as the columns go on.  Modified
# Gram–Schmidt, like Householder, follows :math:`2^{-j}` down to rounding
# level -- :math:`\varepsilon\|A\|_2` with :math:`\|A\|_2 = 1/2`, and below
# it (the printed ranges for :math:`j = 61..80`) -- and stays there.

# %%
# Experiment 3: a 2-by-2 matrix that is nearly singular
# -----------------------------------------------------
#
# :math:`A = \begin{pmatrix} 0.70000 & 0.70711 \\ 0.70001 & 0.70711\end{pmatrix}`
# has :math:`\kappa(A) \approx 2.8\times10^5`.  Modified Gram–Schmidt
# loses orthogonality in proportion to :math:`\varepsilon\kappa(A)`, while
# Householder stays at rounding level whatever :math:`\kappa` is.  (With two
# columns, classical and modified Gram–Schmidt do the same arithmetic.)

A3 = np.array([[0.70000, 0.70711], [0.70001, 0.70711]])
print(f"kappa(A) = {np.linalg.cond(A3):.2e},  eps * kappa = {eps * np.linalg.cond(A3):.1e}")
for name, method in (
    ("Householder", householder_qr),
    ("modified Gram-Schmidt", modified_gram_schmidt),
    ("classical Gram-Schmidt", classical_gram_schmidt),
    ("CGS2", reorthogonalized_gram_schmidt),
):
    Q, R = method(A3)
    print(
        f"{name:>23}: ||Q.T Q - I||_2 = {orthogonality_error(Q):.2e},"
        f"  ||QR - A|| = {np.linalg.norm(Q @ R - A3):.1e}"
    )

# %%
# Note that every method reproduces :math:`A` to rounding (:math:`\|QR - A\|`
# is tiny for all): the damage is entirely in the orthogonality of
# :math:`Q`.  Trefethen and Bau report :math:`2.3\times10^{-11}` for modified
# Gram–Schmidt, as printed here, and about :math:`3\times10^{-16}` for
# Householder, rounding level like ours.

# %%
# Twice is enough: CGS2
# ---------------------
#
# Classical Gram–Schmidt has one big practical advantage: all projections
# of a column are one matrix--vector product :math:`Q_{j-1}^\top a_j`, which is
# fast and parallel.  Its weakness is that errors in the earlier :math:`q_i`
# are never corrected.  Running the projection a second time on the
# remainder removes what the first pass left behind
# (:func:`linalg_rnn.qr.reorthogonalized_gram_schmidt`).  On matrices with
# :math:`\sigma_j` from 1 down to :math:`1/\kappa`:

kappas = {
    "quick": [1e2, 1e5, 1e8],
    "default": [1e2, 1e4, 1e6, 1e8, 1e10],
    "full": [1e2, 1e4, 1e6, 1e8, 1e10, 1e12],
}[mode]
m, n = {"quick": (60, 15), "default": (100, 20), "full": (300, 60)}[mode]
errors = {"CGS": [], "MGS": [], "CGS2": []}
methods = {"CGS": classical_gram_schmidt, "MGS": modified_gram_schmidt, "CGS2": reorthogonalized_gram_schmidt}
print(
    f"{'kappa':>8} " + " ".join(f"{name:>10}" for name in methods) + f" {'eps*kappa':>10} {'eps*kappa^2':>12}"
)
for kappa in kappas:
    Ak = matrix_with_singular_values(np.logspace(0, -np.log10(kappa), n), m, seed=3)
    for name, method in methods.items():
        errors[name].append(orthogonality_error(method(Ak, rank_tol=0.0)[0]))
    print(
        f"{kappa:8.0e} "
        + " ".join(f"{errors[name][-1]:10.1e}" for name in methods)
        + f" {eps * kappa:10.1e} {eps * kappa**2:12.1e}"
    )

fig, ax = plt.subplots(figsize=(6.5, 4))
for name, marker in (("CGS", "o-"), ("MGS", "x-"), ("CGS2", "s-")):
    ax.loglog(kappas, errors[name], marker, label=name)
ax.set_xlabel(r"$\kappa(A)$")
ax.set_ylabel(r"$\|Q^\top Q - I\|_2$")
ax.set_title(f"Loss of orthogonality, {m}x{n} matrices (lesson 07 goes further)")
ax.legend()
fig.tight_layout()

# %%
# Summary
# -------
#
# * Gram–Schmidt builds :math:`A = QR` one column at a time; classical and
#   modified are the same arithmetic in a different order, and both agree
#   with :func:`numpy.linalg.qr` on well-conditioned matrices.
# * A column with nothing left after its projections is dependent;
#   Gram–Schmidt cannot continue and says which column it was.
# * In floating point the order matters: classical Gram–Schmidt loses
#   orthogonality like :math:`\varepsilon\kappa^2` and its :math:`r_{jj}`
#   depart from the truth near :math:`\sqrt{\varepsilon}` and then wander one
#   to two decades above it; modified Gram–Schmidt loses
#   it like :math:`\varepsilon\kappa` (Experiment 3: :math:`2.3\times10^{-11}`).
# * Reorthogonalizing once (CGS2) gives orthogonality to rounding level.
#
# Lesson 06 takes a different route, triangularizing :math:`A` with
# orthogonal reflections, which is stable for every :math:`\kappa`.
#
# Exercises
# ---------
#
# 1. Show that classical and modified Gram–Schmidt compute the same
#    :math:`r_{ij}` in exact arithmetic.  (Hint: :math:`q_i^\top q_k = 0`.)
# 2. Repeat Experiment 2 with singular values :math:`3^{-j}`.  Where does
#    each curve flatten now, and why does the level not change?
# 3. Apply modified Gram–Schmidt twice (to :math:`A`, then to the computed
#    :math:`Q`) on a matrix with :math:`\kappa = 10^{10}`.  How orthogonal is
#    the result, and what does this cost compared with CGS2?
