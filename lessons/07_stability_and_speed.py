"""
07 · The stability lab and the speed lab
========================================

Lessons 05 and 06 built six QR algorithms.  Here they race on two tracks.
On the first, accuracy: how far from orthogonal is the computed :math:`Q`
as the condition number :math:`\\kappa(A)` goes from 1 to :math:`10^{16}`?
Theory predicts three different laws, :math:`\\varepsilon\\kappa^2`,
:math:`\\varepsilon\\kappa` and :math:`\\varepsilon`, and we check them on a
log-log plot.  On the second, speed: how do the unblocked and blocked
Householder algorithms compare with LAPACK as :math:`n` grows?

**What you will learn**

* to build matrices with a prescribed condition number and measure
  :math:`\\|Q^\\top Q - I\\|_2` for every method
  (:func:`linalg_rnn.stability.orthogonality_vs_condition`);
* that classical Gram–Schmidt follows :math:`C\\varepsilon\\kappa^2` with
  a small constant :math:`C` (measured here) and breaks down completely once
  that reaches 1, modified Gram–Schmidt follows :math:`\\varepsilon\\kappa`,
  and Householder, Givens and CGS2 stay at :math:`\\varepsilon`; and when
  plain classical Gram–Schmidt is nevertheless fine (a recurrent matrix that
  drifted a little from orthogonal);
* that all of them still reproduce :math:`A = QR` to rounding (backward
  stability is not the issue);
* how the from-scratch Householder codes compare with
  :func:`numpy.linalg.qr` in time, as ratios; where the blocked code spends
  its time (panels, trailing updates, forming Q; Python overhead per
  column); and what the block size does.

**Prerequisites:** lessons 05 (Gram–Schmidt) and 06 (Householder, Givens,
blocking).
"""

# %%
# Matrices with a chosen condition number
# ---------------------------------------
#
# :func:`linalg_rnn.stability.matrix_with_singular_values` returns
# a matrix :math:`A` with the singular values :math:`\sigma_j` you give it and
# random singular vectors.  With :math:`\sigma_j` log-spaced from 1 down to
# :math:`1/\kappa`, :math:`\kappa(A) = \kappa`.  For each :math:`\kappa`,
# :func:`linalg_rnn.stability.orthogonality_vs_condition` builds one such
# matrix and hands the *same* matrix to every method.

import matplotlib.pyplot as plt
import numpy as np

from linalg_rnn.course import lesson_mode, race
from linalg_rnn.orthogonal import orthogonality_error, random_orthogonal
from linalg_rnn.qr import blocked_householder_qr, classical_gram_schmidt, householder_qr
from linalg_rnn.stability import matrix_with_singular_values, orthogonality_vs_condition

mode = lesson_mode()
print(f"mode = {mode}")
eps = np.finfo(float).eps

A = matrix_with_singular_values(np.logspace(0, -6, 10), 30, seed=0)
print(f"a 30x10 matrix asked for kappa = 1e6 has kappa = {np.linalg.cond(A):.3e}")

# %%
# The stability lab
# -----------------
#
# Classical Gram–Schmidt (``cgs``), modified (``mgs``), classical twice
# (``cgs2``), Householder (unblocked and blocked) and Givens, on tall
# matrices, for :math:`\kappa` from 1 to :math:`10^{16}`.  The Gram–Schmidt
# codes run with ``rank_tol=0`` here so that they report the damage instead
# of refusing nearly dependent columns.

K = {"quick": 9, "default": 17, "full": 33}[mode]
m, n = {"quick": (60, 15), "default": (100, 20), "full": (300, 60)}[mode]
kappas = np.logspace(0, 16, K)
methods = ["cgs", "mgs", "cgs2", "householder", "blocked_householder", "givens"]
study = orthogonality_vs_condition(methods, kappas, m, n, seed=1)
print(study)

# %%
# The growth rates, fitted on the log-log scale where each error is above
# rounding and below 1.  The laws hold up to a constant, and for classical
# Gram–Schmidt the constant matters: we measure :math:`C` in
# :math:`\|Q^\top Q - I\|_2 \approx C\varepsilon\kappa^2` as the median of
# error / :math:`\varepsilon\kappa^2` over :math:`10^2 \le \kappa \le 10^7`
# (:math:`\varepsilon = 2^{-52}`, NumPy's machine epsilon).  So classical
# Gram–Schmidt stops making sense not at :math:`\varepsilon\kappa^2 = 1`
# (:math:`\kappa = \varepsilon^{-1/2} \approx 6.7\times10^7`) but where
# :math:`C\varepsilon\kappa^2` reaches 1.

print(
    f"slope of log(error) vs log(kappa): CGS {study.slope('cgs', 1e2, 1e6):.2f} (theory 2), "
    f"MGS {study.slope('mgs', 1e2, 1e12):.2f} (theory 1), "
    f"Householder {study.slope('householder'):.2f} (theory 0)"
)
in_range = (kappas >= 1e2) & (kappas <= 1e7)
C_ratios = study.errors["cgs"][in_range] / (eps * kappas[in_range] ** 2)
C_cgs = float(np.median(C_ratios))
kappa_sat = (C_cgs * eps) ** -0.5  # where C eps kappa^2 = 1
broken = kappas[study.errors["cgs"] > 0.5]
near_one = np.argmin(np.abs(np.log(eps * kappas**2)))  # the kappa with eps kappa^2 closest to 1
print(
    f"CGS: ||Q.T Q - I|| / (eps kappa^2) for 1e2 <= kappa <= 1e7: median C = {C_cgs:.3f}, "
    f"from {C_ratios.min():.3f} to {C_ratios.max():.3f}"
)
print(
    f"at kappa = {kappas[near_one]:.0e} (eps kappa^2 = {eps * kappas[near_one] ** 2:.1f}) the CGS error is "
    f"{study.errors['cgs'][near_one]:.1e};  C eps kappa^2 = 1 at kappa = {kappa_sat:.1e};  "
    f"the error first exceeds 0.5 at kappa = {broken.min():.0e}"
)
stable = ["cgs2", "householder", "blocked_householder", "givens"]
worst = {name: study.errors[name].max() for name in stable}
print("largest error over all kappa: " + ", ".join(f"{k} {v:.1e}" for k, v in worst.items()))

fig, ax = plt.subplots(figsize=(7.5, 5))
styles = {
    "cgs": "o-",
    "mgs": "x-",
    "cgs2": "s-",
    "householder": "^-",
    "blocked_householder": "v--",
    "givens": "d:",
}
for name in methods:
    ax.loglog(kappas, study.errors[name], styles[name], ms=5, label=name)
ax.loglog(kappas, eps * kappas**2, "k-", lw=0.8, alpha=0.6)
ax.loglog(kappas, eps * kappas, "k--", lw=0.8, alpha=0.6)
ax.loglog(kappas, eps * np.ones_like(kappas), "k:", lw=0.8, alpha=0.6)
ax.text(3e3, eps * 3e3**2 * 4, r"$\varepsilon\kappa^2$")
ax.text(1e12, eps * 1e12 * 4, r"$\varepsilon\kappa$")
ax.text(3e14, eps * 0.15, r"$\varepsilon$")
ax.axvline(kappa_sat, color="C0", lw=0.8, ls="-.")
ax.text(kappa_sat * 1.5, 1e-11, "$C\\varepsilon\\kappa^2 = 1$:\nCGS saturates", color="C0", fontsize=8)
ax.set_ylim(1e-17, 1e3)
ax.set_xlabel(r"$\kappa(A)$")
ax.set_ylabel(r"$\|Q^\top Q - I\|_2$")
ax.set_title(f"Loss of orthogonality of Q, {m}x{n} matrices")
ax.legend(fontsize=8, loc="upper left")
fig.tight_layout()

# %%
# Reading the plot:
#
# * **CGS** follows :math:`C\varepsilon\kappa^2`, parallel to the
#   :math:`\varepsilon\kappa^2` line but well below it: :math:`C` is a few
#   hundredths (printed above; it varies from matrix to matrix by a factor of
#   ten), so at :math:`\varepsilon\kappa^2 = 1` the error is still below 1.
#   It saturates once :math:`C\varepsilon\kappa^2` passes 1: from there on
#   its :math:`Q` is not orthogonal at all (errors of order 1 or larger).
# * **MGS** follows :math:`\varepsilon\kappa` until it, too, reaches order 1
#   near :math:`\kappa = 1/\varepsilon`.  It can still solve least-squares
#   problems stably if the right-hand side :math:`y` is orthogonalized as an
#   extra column of
#   :math:`A` (Bjorck and Paige, 1992), but its :math:`Q` is only as
#   orthogonal as :math:`\varepsilon\kappa`.
# * **Householder**, **blocked Householder** and **Givens** build :math:`Q` as
#   a product of exactly orthogonal transformations, and stay at a few
#   :math:`\varepsilon` whatever :math:`\kappa` is.
# * **CGS2** also stays at :math:`\varepsilon` here.  The proofs for it
#   assume :math:`\varepsilon\kappa` below 1 (about), so do not count on it
#   for numerically singular matrices.

# %%
# When plain classical Gram–Schmidt is fine
# ------------------------------------------
#
# The same law says when classical Gram–Schmidt is *good enough*: for a
# well-conditioned matrix :math:`C\varepsilon\kappa^2` is at rounding
# level.  The case Part III cares about is a recurrent matrix
# :math:`W_{hh}` that started orthogonal and drifted a little during
# training: its singular values are all near 1, so :math:`\kappa` is 1 or
# 2.  Re-orthogonalizing it with CGS is then as accurate as with
# Householder.  Here :math:`W = Q_0 + \delta Z/\sqrt{n}` with :math:`Q_0`
# orthogonal and :math:`Z` Gaussian:

n_w = {"quick": 32, "default": 64, "full": 128}[mode]
rng_w = np.random.default_rng(2)
Q0 = random_orthogonal(n_w, seed=rng_w)
for drift in (1e-3, 1e-2, 1e-1, 3e-1):
    W = Q0 + drift * rng_w.standard_normal((n_w, n_w)) / np.sqrt(n_w)
    print(
        f"drift {drift:.0e}: kappa(W) = {np.linalg.cond(W):5.2f},  ||Q.T Q - I||: "
        f"CGS {orthogonality_error(classical_gram_schmidt(W)[0]):.1e}, "
        f"Householder {orthogonality_error(householder_qr(W)[0]):.1e}"
    )
for tol in (1e-12, 1e-8):
    kappa_max = (tol / (C_cgs * eps)) ** 0.5
    print(f"CGS error below {tol:.0e} while kappa <= (tol / (C eps))^(1/2) = {kappa_max:.0e}")

# %%
# So "never classical Gram–Schmidt" is too strong.  For a matrix that is
# nearly orthogonal already, CGS (one matrix--vector product per column, the
# cheapest of the methods) gives an orthogonal factor to a few
# :math:`\varepsilon`; the trouble starts only when :math:`\kappa` grows
# towards the bounds printed above.  When :math:`\kappa` is not known to be
# small, use Householder, CGS2 or the polar factor.

# %%
# Backward stability: every method reproduces A
# ---------------------------------------------
#
# The failures above are failures of *orthogonality*.  The product
# :math:`QR` reproduces :math:`A` to rounding for every method, even CGS at
# :math:`\kappa = 10^{16}`: the relative residual
# :math:`\|QR - A\|_F / \|A\|_F` stays near :math:`\varepsilon`.  A small
# residual alone does not certify a factorization; check
# :math:`\|Q^\top Q - I\|` too.

fig, ax = plt.subplots(figsize=(6.5, 4))
for name in methods:
    ax.loglog(kappas, study.residuals[name], styles[name], ms=4, label=name)
ax.axhline(eps, color="k", ls=":", lw=0.8)
ax.set_ylim(1e-18, 1e-12)
ax.set_xlabel(r"$\kappa(A)$")
ax.set_ylabel(r"$\|QR - A\|_F / \|A\|_F$")
ax.set_title("Every method reproduces A to rounding")
ax.legend(fontsize=8, ncol=2)
fig.tight_layout()
print(
    "largest relative residual: " + ", ".join(f"{name} {study.residuals[name].max():.1e}" for name in methods)
)

# %%
# The speed lab
# -------------
#
# The same flops can take very different times (lesson 06).  We time the
# reduced factorization with :math:`Q` formed for square :math:`n \times n`
# matrices: unblocked Householder, blocked Householder (compact WY with a
# recursive panel, block size 64) and :func:`numpy.linalg.qr` (LAPACK
# ``dgeqrf`` + ``dorgqr``), each the best of a few rounds in which they take
# turns (:func:`linalg_rnn.course.race`), and report each time **as a
# ratio** to LAPACK's on the same matrix in the same run.  Ratios travel
# between machines far better than seconds.  (The default mode stops at
# :math:`n = 512` to stay quick; ``LINALG_RNN_MODE=full`` goes to 2048, and
# ``benchmarks/bench_qr.py`` is the full benchmark, on one BLAS thread.)

sizes = {"quick": [64, 128], "default": [128, 256, 512], "full": [256, 512, 1024, 2048]}[mode]
rows = []  # n, numpy seconds, blocked seconds, unblocked seconds, and the blocked run's three stages
print(f"{'n':>6} {'numpy (s)':>10} {'blocked/numpy':>14} {'unblocked/numpy':>16}")
for size in sizes:
    An = np.random.default_rng(size).standard_normal((size, size))
    runs = []  # the stage times of every blocked run; the fastest run's are kept

    def blocked(An=An, runs=runs):
        stages = {}
        blocked_householder_qr(An, block_size=64, timings=stages)
        runs.append(stages)

    contestants = {"numpy": lambda An=An: np.linalg.qr(An), "blocked": blocked}
    if size <= 1024:  # the unblocked loop takes minutes beyond
        contestants["unblocked"] = lambda An=An: householder_qr(An)
    best = race(contestants, repeats=3 if size <= 512 else 2)
    stages = min(runs, key=lambda stage: sum(stage.values()))
    t_np, t_b, t_u = best["numpy"], best["blocked"], best.get("unblocked", np.nan)
    rows.append((size, t_np, t_b, t_u, stages["panel"], stages["update"], stages["form_q"]))
    print(f"{size:6d} {t_np:10.4f} {t_b / t_np:14.2f} {t_u / t_np:16.2f}")
rows = np.array(rows)

# %%
# Where the time goes
# -------------------
#
# ``blocked_householder_qr(A, timings=seconds)`` adds up the seconds of its
# three stages: factoring the panels (recursively, lesson 06), updating the
# trailing matrix with each panel's :math:`I - VTV^\top`, and forming
# :math:`Q` block by block.  The last two are three large matrix--matrix
# products per panel; the panels are where the small operations are.  Here
# is the split of the fastest blocked run at each size, in milliseconds and
# as shares of the three stages together:

print(f"{'n':>6} {'panel':>16} {'trailing update':>18} {'form Q':>16}")
for size, _, _, _, *stages in rows:
    total = sum(stages)
    print(f"{int(size):6d}" + "".join(f"{t * 1e3:9.1f} ms ({t / total:4.0%})" for t in stages))

# %%
# The panels carry Python's fixed costs: every column is one step of
# Algorithm 10.1 and, in the recursion, one join of two :math:`T` s, each a
# handful of NumPy calls that cost microseconds whatever their size.  To
# measure that cost, factor a single panel of 64 columns (an
# :math:`m \times 64` matrix with ``block_size=64``) for growing :math:`m`
# and fit a straight line, panel time = intercept + slope :math:`\times\, m`:
# the intercept is the fixed cost (divided by 64, the cost per column), and
# slope :math:`\times\, m` is the arithmetic.

panel_rows = {"quick": [64, 256], "default": [64, 128, 256, 512], "full": [64, 128, 256, 512, 1024]}[mode]


def panel_time(Ap):
    """Seconds spent in the panel stage of one blocked factorization of ``Ap``."""
    stages = {}
    blocked_householder_qr(Ap, block_size=64, timings=stages)
    return stages["panel"]


panel_seconds = []
for m_p in panel_rows:
    Ap = np.random.default_rng(m_p).standard_normal((m_p, 64))
    panel_seconds.append(min(panel_time(Ap) for _ in range(5)))  # the least disturbed of five
slope, intercept = np.polyfit(panel_rows, panel_seconds, 1)
per_column = max(intercept, 0.0) / 64
print(
    f"one 64-column panel: {intercept * 1e3:.2f} ms fixed ({per_column * 1e6:.0f} us per column) "
    f"+ {slope * 1e6:.2f} us per row"
)
for size, _, t_b, *_ in rows[[0, -1]]:
    print(
        f"n = {int(size)}: {int(size)} columns x {per_column * 1e6:.0f} us = "
        f"{size * per_column * 1e3:.1f} ms of fixed cost, {size * per_column / t_b:.0%} of the blocked time"
    )

# %%
# The fixed cost grows like :math:`n` and the arithmetic like :math:`n^3`,
# so its share falls as :math:`n` grows (the two lines above): at small
# :math:`n` the Python calls decide the ratio, at large :math:`n` the three
# BLAS-3 stages do, and those run in the same kernels LAPACK calls.  The
# recursive panel keeps even the panel's arithmetic in matrix--matrix
# products (LAPACK's own panel, ``dgeqr2``, is vector code); what the panel
# costs beyond the fixed cost above is those products on thin matrices,
# which run far below a BLAS's peak.

# %%
# The block size :math:`n_b` trades the two kinds of work: a panel of :math:`n_b` columns
# costs the fixed Python cost per column plus extra flops for its
# :math:`T` (about :math:`mn_b^2`), while the trailing updates get more
# efficient as :math:`n_b` grows.  Very small blocks are many thin, slow
# matrix products; very large ones spend too much on :math:`T`.
# ``benchmarks/bench_qr.py --block-sizes`` races block sizes on large
# matrices; the default, 64, was chosen from that race: best or within the
# noise of the best from :math:`n = 512` to 2048 (larger blocks gain a
# little at 2048 and lose at 512).

n_sweep = {"quick": 128, "default": 384, "full": 1024}[mode]
As = np.random.default_rng(7).standard_normal((n_sweep, n_sweep))
block_sizes = {
    "quick": [8, 32, 128],
    "default": [8, 16, 32, 64, 128, 256],
    "full": [4, 8, 16, 32, 64, 128, 256],
}[mode]
contestants = {"numpy": lambda: np.linalg.qr(As)}
contestants |= {b: (lambda b=b: blocked_householder_qr(As, block_size=b)) for b in block_sizes}
best = race(contestants, repeats=2 if mode == "quick" else 3)
block_ratios = [best[b] / best["numpy"] for b in block_sizes]
print(f"n = {n_sweep}: blocked time / numpy time by block size")
print("  " + ", ".join(f"n_b={b}: {r:.2f}" for b, r in zip(block_sizes, block_ratios, strict=True)))

fig, axes = plt.subplots(1, 3, figsize=(15, 4))
axes[0].semilogy(rows[:, 0], rows[:, 3] / rows[:, 1], "o-", label="unblocked Householder")
axes[0].semilogy(rows[:, 0], rows[:, 2] / rows[:, 1], "s-", label=r"blocked Householder ($n_b = 64$)")
axes[0].axhline(1.0, color="k", lw=0.8, ls=":", label="numpy.linalg.qr")
axes[0].set_xscale("log", base=2)
axes[0].set_xlabel("n")
axes[0].set_ylabel("time / time of numpy.linalg.qr")
axes[0].set_title("From-scratch QR against LAPACK (lower is better)")
axes[0].legend(fontsize=8)
shares = rows[:, 4:] / rows[:, 4:].sum(axis=1, keepdims=True)
bottom = np.zeros(len(rows))
for k, label in enumerate(("panels", "trailing updates", "forming Q")):
    axes[1].bar([str(int(s)) for s in rows[:, 0]], shares[:, k], bottom=bottom, label=label)
    bottom += shares[:, k]
axes[1].set_xlabel("n")
axes[1].set_ylabel("share of the blocked time")
axes[1].set_title("Where the blocked code spends its time")
axes[1].legend(fontsize=8)
axes[2].semilogx(block_sizes, block_ratios, "s-")
axes[2].axhline(1.0, color="k", lw=0.8, ls=":")
axes[2].set_xscale("log", base=2)
axes[2].set_xlabel(r"block size $n_b$")
axes[2].set_ylabel("time / time of numpy.linalg.qr")
axes[2].set_title(f"Blocked Householder, n = {n_sweep}")
fig.tight_layout()

# %%
# On a busy, shared machine the numbers jump around; rerun before drawing
# conclusions from any single ratio.

# %%
# Summary
# -------
#
# * Loss of orthogonality of the computed :math:`Q`: CGS
#   :math:`\approx C\varepsilon\kappa^2` with :math:`C` a few hundredths
#   (useless once that passes 1), MGS :math:`\approx\varepsilon\kappa`,
#   Householder, blocked Householder, Givens and CGS2
#   :math:`\approx\varepsilon`.
# * All of them reproduce :math:`A = QR` to rounding: residuals do not reveal
#   the problem, the orthogonality error does.
# * Blocking changes the speed, not the numbers: the compact WY form with a
#   recursive panel gets the Householder algorithm to LAPACK's speed by
#   moving the work into matrix--matrix products; what is left is a fixed
#   Python cost per column, which matters only for small matrices.
# * For keeping an RNN's recurrent matrix orthogonal (Part III): while it
#   has drifted only a little (:math:`\kappa` of 1 or 2) even plain CGS is
#   accurate to a few :math:`\varepsilon`; when :math:`\kappa` can be large,
#   use a Householder-based QR, CGS2 or the polar factor.
#
# Exercises
# ---------
#
# 1. Repeat the stability lab with square matrices (:math:`m = n`).  Do the
#    slopes change?
# 2. Add Gram–Schmidt applied twice with *modified* Gram–Schmidt as a
#    method (pass a function to
#    :func:`linalg_rnn.stability.orthogonality_vs_condition`).  Where does it
#    sit on the plot?
# 3. Time :func:`linalg_rnn.qr.givens_qr` for :math:`n = 64, 128, 256`.
#    Estimate from its flop count and the measured rate how long
#    :math:`n = 2048` would take.
