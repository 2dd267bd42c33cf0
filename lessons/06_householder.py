"""
06 · Householder and Givens: QR by orthogonal triangularization
===============================================================

Gram–Schmidt (lesson 05) makes :math:`Q` orthogonal by construction and
lets rounding spoil it.  Householder turns the idea around: apply
orthogonal matrices to :math:`A` until it is triangular, so
:math:`Q^\\top A = R`.  Each step is an exact reflection, errors do not pile up,
and :math:`Q` is orthogonal to rounding level whatever the condition number.
This lesson builds it (Trefethen and Bau, Algorithms 10.1--10.3), meets its
cousin built from plane rotations (Givens), counts the flops, and makes it
fast with the blocked compact-WY form that LAPACK uses.

**What you will learn**

* why a Householder reflector picks the sign :math:`v = x + \\mathrm{sign}(x_1)\\|x\\|e_1`;
* Householder triangularization, and watching the zeros appear;
* keeping :math:`Q` implicit: :math:`Q^\\top y` and :math:`Qx` from the
  reflectors (least squares without ever forming :math:`Q`);
* reduced versus complete QR, and what the extra columns are;
* Givens rotations, and flop counts :math:`2mn^2 - \\tfrac{2}{3}n^3` versus
  :math:`3mn^2 - n^3`;
* the compact WY form :math:`I - VTV^\\top` and why matrix--matrix (BLAS-3)
  blocks make the same flops many times faster, and how a recursive panel
  (Elmroth and Gustavson) makes even the panel matrix--matrix work.

**Prerequisites:** lesson 04 (reflections) and lesson 05 (QR by Gram–Schmidt).
"""

# %%
# One reflector, and why the sign matters
# ---------------------------------------
#
# A reflection :math:`F = I - 2vv^\top` (unit :math:`v`) can send any vector
# :math:`x` to :math:`\pm\|x\|e_1`: take :math:`v` along
# :math:`x \mp \|x\|e_1`.  Both signs are correct in exact arithmetic, but
# one of them subtracts two nearly equal numbers when :math:`x` is already
# close to the :math:`e_1` axis.  Trefethen and Bau choose
# :math:`v = x + \mathrm{sign}(x_1)\|x\|e_1`, which adds numbers of the same
# sign.  Watch the other choice fail on :math:`x = (1, 10^{-9})`: the first
# entry of :math:`x - \|x\|e_1` is :math:`1 - \sqrt{1 + 10^{-18}}`, which
# rounds to exactly 0, and the resulting "reflector" maps :math:`x` to
# :math:`(1, -10^{-9})` instead of onto the axis.

import matplotlib.pyplot as plt
import numpy as np

from linalg_rnn.course import best_time, lesson_mode, race
from linalg_rnn.orthogonal import householder_reflector, orthogonality_error
from linalg_rnn.qr import (
    apply_q,
    apply_qt,
    blocked_householder_qr,
    compact_wy,
    givens_qr,
    givens_rotations,
    householder_qr,
    householder_reflectors,
)

mode = lesson_mode()
print(f"mode = {mode}")

x = np.array([1.0, 1e-9])
good = householder_reflector(x) @ x
v_bad = x - np.linalg.norm(x) * np.array([1.0, 0.0])  # the cancelling sign
F_bad = np.eye(2) - 2 * np.outer(v_bad, v_bad) / (v_bad @ v_bad)
bad = F_bad @ x
print(f"x - ||x|| e1 = {v_bad}   (its first entry cancelled to 0)")
print(f"good sign: F x = {good},  entry that should be 0: {abs(good[1]):.1e}")
print(f" bad sign: F x = {bad},  entry that should be 0: {abs(bad[1]):.1e}")

# %%
# Householder triangularization (Algorithm 10.1)
# ----------------------------------------------
#
# For :math:`k = 1, \dots, n`, take the part of column :math:`k` on and below
# the diagonal, :math:`x = A_{k:m,k}`, build its reflector :math:`v_k`, and
# apply it to the trailing block,
# :math:`A_{k:m,k:n} \leftarrow A_{k:m,k:n} - 2v_k(v_k^\top A_{k:m,k:n})`.  The
# reflector zeros column :math:`k` below the diagonal and leaves the zeros
# made earlier alone, because it only touches rows :math:`k` and below.
# After :math:`n` steps :math:`F_n\cdots F_1A = R`.
# :func:`linalg_rnn.qr.householder_reflectors` returns the :math:`v_k` and
# :math:`R`; below we replay the reflectors one at a time on a 6-by-4 matrix
# to watch the zeros appear.

A = np.random.default_rng(0).standard_normal((6, 4))
F = householder_reflectors(A)
print(F)
stages = [A.copy()]
B = A.copy()
for k, v in enumerate(F.vectors):
    B[k:] -= 2.0 * np.outer(v, v @ B[k:])  # one step of Algorithm 10.1
    stages.append(B.copy())
print(
    "R from the replay matches F.R up to the signs of its rows:",
    np.allclose(np.abs(np.triu(B[:4])), np.abs(F.R)),
)

fig, axes = plt.subplots(1, len(stages), figsize=(12, 3))
for k, (ax, S) in enumerate(zip(axes, stages, strict=True)):
    ax.imshow(np.log10(np.abs(S) + 1e-17), vmin=-17, vmax=1, cmap="viridis")
    ax.set_title("A" if k == 0 else f"after $F_{k}$")
    ax.set_xticks([])
    ax.set_yticks([])
fig.suptitle(
    r"$\log_{10}|a_{ij}|$: each reflector zeros one column below the diagonal (dark = rounding level)"
)
fig.tight_layout()

# %%
# Keeping Q implicit (Algorithms 10.2 and 10.3)
# ---------------------------------------------
#
# The reflectors *are* :math:`Q`: :math:`Q = F_1F_2\cdots F_n`.  To compute
# :math:`Q^\top y` apply :math:`F_1, \dots, F_n` to :math:`y` in that order
# (:func:`linalg_rnn.qr.apply_qt`, Algorithm 10.2); to compute :math:`Qx`
# apply them in reverse (:func:`linalg_rnn.qr.apply_q`, Algorithm 10.3).
# Each costs :math:`O(mn)` flops and needs only the :math:`v_k`, never an
# :math:`m \times m` matrix.  This is exactly what a least-squares fit needs:
# minimize :math:`\|Ax - y\|` by solving :math:`Rx = (Q^\top y)_{1:n}`.  Here we
# fit a cubic to noisy samples :math:`y` of :math:`\sin`.

m_ls = {"quick": 500, "default": 2000, "full": 5000}[mode]
t = np.linspace(0, 3, m_ls)
y = np.sin(t) + 0.01 * np.random.default_rng(1).standard_normal(m_ls)
V4 = np.vander(t, 4, increasing=True)  # columns 1, t, t^2, t^3
F_ls = householder_reflectors(V4)
c = np.linalg.solve(F_ls.R, apply_qt(F_ls, y)[:4])
print(f"cubic coefficients from the reflectors: {np.round(c, 6)}")
print(f"numpy.linalg.lstsq:                     {np.round(np.linalg.lstsq(V4, y, rcond=None)[0], 6)}")
stored = sum(v.size for v in F_ls.vectors)
print(f"numbers kept for Q: {stored} (the reflectors) instead of {m_ls * m_ls} (a complete {m_ls}x{m_ls} Q)")
print(f"apply_q(F, R) reproduces A: {np.allclose(apply_q(F_ls, F_ls.R), V4)}")

# %%
# Reduced and complete QR
# -----------------------
#
# The *reduced* factorization keeps the :math:`n` columns of :math:`Q` that
# span the columns of :math:`A` (:math:`m \times n` times :math:`n \times
# n`); the *complete* one adds :math:`m - n` orthonormal columns :math:`Q_2`
# spanning the orthogonal complement, and pads :math:`R` with zero rows.
# :math:`Q_2` is not decoration: :math:`Q_2^\top A = 0`, and the least-squares
# residual is exactly :math:`\|Q_2^\top y\|`.  Householder gives both for free;
# ``mode="reduced"`` never forms an :math:`m \times m` matrix.

Qr_, Rr_ = householder_qr(V4)
Qc, Rc = householder_qr(V4, mode="complete")
Q2 = Qc[:, 4:]
print(f"reduced:  Q {Qr_.shape}, R {Rr_.shape};   complete: Q {Qc.shape}, R {Rc.shape}")
print(f"||Q2.T A|| = {np.linalg.norm(Q2.T @ V4):.1e}")
print(f"||Q2.T y|| = {np.linalg.norm(Q2.T @ y):.10f},  ||A c - y|| = {np.linalg.norm(V4 @ c - y):.10f}")

# %%
# Givens rotations
# ----------------
#
# A rotation of two rows can zero a single entry: write the two entries as
# :math:`x = \|x\|(\cos\theta, \sin\theta)`; then the rotation by
# :math:`-\theta` turns :math:`x` onto the first axis,
# :math:`\operatorname{rot}(\theta)^\top x = (\|x\|, 0)`, with the cosine and
# sine read off :math:`x` itself, no angle computed.  Zeroing every
# subdiagonal entry, bottom up
# in each column, triangularizes :math:`A`
# (:func:`linalg_rnn.qr.givens_rotations`).  Column :math:`j` (from 0) of a
# tall :math:`m \times n` matrix has :math:`m - 1 - j` entries below the
# diagonal, one rotation each, so a dense matrix takes
# :math:`\sum_j (m - 1 - j) = mn - n(n+1)/2` rotations (fewer only if some
# entries are already zero), and :math:`3mn^2 - n^3` flops against
# Householder's :math:`2mn^2 - \tfrac{2}{3}n^3`.  Each rotation touches two
# rows only, which is what you want for sparse or Hessenberg matrices.  Both
# produce the same :math:`R` (with our sign convention) and both are stable.

m_g, n_g = 60, 20
Ag = np.random.default_rng(2).standard_normal((m_g, n_g))
rots = givens_rotations(Ag)
Qg, Rg = givens_qr(Ag)
Qh, Rh = householder_qr(Ag)
print(rots)
print(
    f"{m_g}x{n_g}: mn - n(n+1)/2 = {m_g * n_g - n_g * (n_g + 1) // 2} rotations predicted,"
    f"  {len(rots.rotations)} used  (mn = {m_g * n_g})"
)
print(f"max |R_givens - R_householder| = {np.abs(Rg - Rh).max():.1e}")
print(f"||Q.T Q - I||: Givens {orthogonality_error(Qg):.1e}, Householder {orthogonality_error(Qh):.1e}")
print(
    f"flops for R: Householder 2mn^2 - 2n^3/3 = {2 * m_g * n_g**2 - 2 * n_g**3 / 3:.0f},"
    f"  Givens 3mn^2 - n^3 = {3 * m_g * n_g**2 - n_g**3:.0f}"
)

# %%
# Counting flops and watching the clock
# -------------------------------------
#
# For a square :math:`n \times n` matrix, :math:`R` costs
# :math:`2n^3 - \tfrac{2}{3}n^3 = \tfrac{4}{3}n^3` flops and forming
# :math:`Q` another :math:`\tfrac{4}{3}n^3`: :math:`\tfrac{8}{3}n^3` in all.
# Doubling :math:`n` should multiply the time by 8.  Every step of
# Algorithm 10.1, though, is a matrix--vector product and a rank-one update
# (BLAS-2): each number of the trailing block is read from memory, used for
# two flops, and written back.  Memory, not arithmetic, sets the pace.
# A matrix--matrix product (BLAS-3) uses each number it loads many times.
# Compare the flop rates of the two kinds of product on this machine:

sizes = {"quick": [64, 128], "default": [64, 128, 256, 512], "full": [128, 256, 512, 1024]}[mode]
n_mv = 512
Mx = np.random.default_rng(3).standard_normal((n_mv, n_mv))


t_mv = best_time(lambda: [Mx @ Mx[:, 0] for _ in range(n_mv)])
t_mm = best_time(lambda: Mx @ Mx)
print(f"{n_mv} matrix-vector products: {2 * n_mv**3 / t_mv / 1e9:6.1f} GFLOP/s")
print(f"one {n_mv}x{n_mv} matrix-matrix product: {2 * n_mv**3 / t_mm / 1e9:6.1f} GFLOP/s  (same flops)")

# %%
# The blocked algorithm: the compact WY form
# ------------------------------------------
#
# The product of :math:`n_b` consecutive reflectors (:math:`n_b` is the block
# size) can be written as :math:`F_1\cdots F_{n_b} = I - VTV^\top`, with the
# :math:`v_k` as the columns of
# :math:`V` and a small upper triangular :math:`T` (Schreiber and Van Loan,
# 1989), built one column at a time (:func:`linalg_rnn.qr.compact_wy`): two
# such blocks join into one, :math:`(I - V_1T_1V_1^\top)(I - V_2T_2V_2^\top) =
# I - [V_1\ V_2]\begin{bmatrix} T_1 & -T_1V_1^\top V_2T_2 \\ 0 & T_2
# \end{bmatrix}[V_1\ V_2]^\top`.
# :func:`linalg_rnn.qr.blocked_householder_qr` factors a panel of :math:`n_b`
# columns, then applies the whole panel to the trailing columns
# :math:`A_{\mathrm{trail}}` with three matrix--matrix products,
# :math:`A_{\mathrm{trail}} \leftarrow A_{\mathrm{trail}} - V(T^\top(V^\top A_{\mathrm{trail}}))`,
# and builds :math:`Q` the same way, a block at a time.
#
# That leaves the panel.  Factored column by column it would be BLAS-2 work
# again, :math:`n_b` rank-one updates.  Elmroth and Gustavson (2000) factor it
# *recursively*: split the panel in half; factor the left half (recursively);
# update the right half with the left half's :math:`I - V_1T_1V_1^\top`, three
# matrix--matrix products; factor the right half below the rows already
# finished (recursively); join the two :math:`T`\ s with the formula above.
# A single column is one step of Algorithm 10.1.  Now only those single
# steps are vector work.  Same flops (plus lower-order terms for the
# :math:`T`\ s), same factors, same stability.  First, the algebra:

Fw = householder_reflectors(np.random.default_rng(4).standard_normal((8, 5)))
Vw, Tw = compact_wy(Fw)
product = np.eye(8)
for k, v in enumerate(Fw.vectors):
    vk = np.zeros(8)
    vk[k:] = v
    product = product @ (np.eye(8) - 2 * np.outer(vk, vk))
print(f"||(I - V T V.T) - F_1 F_2 ... F_5|| = {np.linalg.norm(np.eye(8) - Vw @ Tw @ Vw.T - product):.1e}")
print(f"T is upper triangular: {np.allclose(Tw, np.triu(Tw))}")
Ab = np.random.default_rng(5).standard_normal((300, 200))
Qu, Ru = householder_qr(Ab)
for block in (1, 7, 32, 64, 256):
    Qb, Rb = blocked_householder_qr(Ab, block_size=block)
    print(
        f"block size {block:3d}: max|Q - Q_unblocked| = {np.abs(Qb - Qu).max():.1e},"
        f"  max|R - R_unblocked| = {np.abs(Rb - Ru).max():.1e}"
    )

# %%
# Now the clock: unblocked and blocked Householder and LAPACK
# (:func:`numpy.linalg.qr`, which runs the blocked algorithm with a
# column-by-column panel in compiled code), all forming the reduced
# :math:`Q`, on square matrices, taking turns
# (:func:`linalg_rnn.course.race`).  The rate is :math:`\tfrac{8}{3}n^3`
# divided by the time.

rows = []
for n in sizes:
    An = np.random.default_rng(n).standard_normal((n, n))
    best = race(
        {
            "unblocked": lambda An=An: householder_qr(An),
            "blocked": lambda An=An: blocked_householder_qr(An),
            "numpy": lambda An=An: np.linalg.qr(An),
        },
        repeats=1 if n > 512 else 3,
    )
    t_u, t_b, t_np = best["unblocked"], best["blocked"], best["numpy"]
    rows.append((n, t_u, t_b, t_np))
    flops = 8 / 3 * n**3
    print(
        f"n = {n:5d}: unblocked {t_u:7.3f} s ({flops / t_u / 1e9:5.2f} GFLOP/s),"
        f"  blocked {t_b:7.4f} s ({flops / t_b / 1e9:5.2f}),  numpy {t_np:7.4f} s ({flops / t_np / 1e9:5.2f})"
    )
rows = np.array(rows)
growth = np.log(rows[-1, 1] / rows[0, 1]) / np.log(rows[-1, 0] / rows[0, 0])
print(f"unblocked time grows like n^{growth:.1f} over this range (the flops grow like n^3): "
      + ("more slowly than the flops" if growth < 2.9 else "about as fast as the flops" if growth <= 3.1
         else "faster than the flops (a disturbed timing? rerun)"))
for n, t_u, t_b, t_np in rows[[0, -1]]:
    print(f"n = {int(n)}: blocked / numpy = {t_b / t_np:.2f},  unblocked / numpy = {t_u / t_np:.2f}")
closing = rows[-1, 2] / rows[-1, 3] < rows[0, 2] / rows[0, 3]
print("blocked / numpy " + ("falls" if closing else "does not fall") + f" from n = {int(rows[0, 0])} "
      f"to n = {int(rows[-1, 0])} in this run")

fig, ax = plt.subplots(figsize=(6.5, 4.2))
for col, label, marker in (
    (1, "unblocked Householder", "o-"),
    (2, "blocked (compact WY)", "s-"),
    (3, "numpy.linalg.qr (LAPACK)", "^-"),
):
    ax.loglog(rows[:, 0], rows[:, col], marker, label=label)
ax.loglog(rows[:, 0], rows[0, 1] * (rows[:, 0] / rows[0, 0]) ** 3, "k:", label=r"$\propto n^3$")
ax.set_xlabel("n")
ax.set_ylabel("seconds (reduced Q and R)")
ax.set_title("Same flops, different speed: BLAS-2 vs BLAS-3")
ax.legend(fontsize=8)
fig.tight_layout()

# %%
# Two things to read in these numbers.  First the exponent printed above,
# against the flops' 3.  A Python loop runs once per column, and at small
# sizes that fixed cost per step is still comparable with the arithmetic,
# which pulls the exponent below 3; the larger :math:`n`, the closer it gets
# to 3 (the line under it says which way this run went: over a short range of
# sizes, one disturbed timing can tip it).  Second, the blocked form is
# expected to close in on LAPACK as :math:`n` grows: its fixed cost is a few
# Python calls per column (the single-column steps and the joins of the
# recursion), while its arithmetic grows like :math:`n^3` and runs in the
# same matrix--matrix kernels LAPACK calls.  Lesson 07 measures where the time goes and pushes :math:`n`
# further, as does ``benchmarks/bench_qr.py``.  Timings on a shared machine
# are noisy; the best of several runs is shown.

# %%
# Summary
# -------
#
# * A Householder reflector maps :math:`x` to :math:`-\mathrm{sign}(x_1)\|x\|e_1`;
#   the sign avoids cancellation.
# * Householder triangularization applies :math:`n` reflectors,
#   :math:`2mn^2 - \tfrac{2}{3}n^3` flops, and is stable for every
#   :math:`\kappa(A)`.
# * :math:`Q` can stay implicit: :math:`Q^\top y` and :math:`Qx` cost
#   :math:`O(mn)` from the reflectors; least squares needs nothing more.
# * Complete QR adds an orthonormal basis of the orthogonal complement;
#   reduced QR never builds an :math:`m \times m` matrix.
# * Givens rotations zero one entry at a time: 50% more flops, same stability,
#   ideal for sparse structure.
# * Grouping :math:`n_b` reflectors as :math:`I - VTV^\top` turns the work into
#   matrix--matrix products; the flops are the same, the speed is not.
#
# Lesson 07 measures the stability of every method against :math:`\kappa`
# and times them against LAPACK.
#
# Exercises
# ---------
#
# 1. Derive the recurrence for :math:`T` in the compact WY form from
#    :math:`(I - VTV^\top)(I - 2vv^\top)`.
# 2. Use :func:`linalg_rnn.qr.givens_rotations` on an upper Hessenberg matrix
#    (zero below the first subdiagonal).  How many rotations are needed, and
#    how does the cost compare with Householder now?
# 3. Time :func:`linalg_rnn.qr.blocked_householder_qr` for block sizes 1, 4,
#    16, 64, 256 on a 512-by-512 matrix.  Explain both ends of the curve.
