"""
Worked solutions: lesson 06, Householder and Givens
===================================================

The solutions to the exercises at the end of lesson 06.  Every number they
quote is printed by the code; on the site each solution is folded under the
lesson's exercises, with the output of the run that built the page.
"""

# %%
# Exercise 1
# ----------
#
# Suppose the first :math:`j` reflectors are already grouped,
# :math:`F_1\cdots F_j = I - VTV^\top`, and the next one is
# :math:`F_{j+1} = I - \beta vv^\top` (:math:`\beta = 2` for a unit :math:`v`; LAPACK and the
# package's code call it ``tau``).
# Multiply out:
#
# .. math::
#
#    (I - VTV^\top)(I - \beta vv^\top)
#    = I - VTV^\top - \beta vv^\top + \beta\, VTV^\top v\, v^\top .
#
# We want this in the form :math:`I - V_+T_+V_+^\top` with
# :math:`V_+ = [V\ \ v]` and an upper triangular
# :math:`T_+ = \begin{pmatrix} T & w \\ 0 & \eta \end{pmatrix}`.  Expanding
# the block product,
#
# .. math::
#
#    V_+T_+V_+^\top = VTV^\top + V w v^\top + \eta\, vv^\top .
#
# Comparing the two expressions term by term: the :math:`vv^\top` terms give
# :math:`\eta = \beta`, and the :math:`V(\cdot)v^\top` terms give
# :math:`Vwv^\top = -\beta VTV^\top v v^\top`, i.e.
#
# .. math::
#
#    w = -\beta\, T\,(V^\top v), \qquad
#    T_+ = \begin{pmatrix} T & -\beta\, T V^\top v \\ 0 & \beta \end{pmatrix},
#
# starting from the :math:`1\times1` matrix :math:`T = (\beta)` for one
# reflector.  Each new column costs a product :math:`V^\top v` (:math:`2mj`
# flops) and a triangular matrix--vector product (:math:`j^2`), so a block of
# :math:`n_b` reflectors costs :math:`O(mn_b^2)`.
#
# Sympy checks the identity for symbolic :math:`V` (4 by 2), an upper
# triangular :math:`T`, :math:`v` and :math:`\beta`; then the recurrence,
# coded from scratch on the reflectors of a random matrix, reproduces the
# :math:`T` of :func:`linalg_rnn.qr.compact_wy` and the explicit product of
# the reflectors.

import matplotlib.pyplot as plt
import numpy as np
import sympy

from linalg_rnn.course import lesson_mode, race
from linalg_rnn.qr import (
    blocked_householder_qr,
    compact_wy,
    givens_rotations,
    householder_qr,
    householder_reflectors,
    sign_normalize,
)

mode = lesson_mode()

Vs = sympy.Matrix(4, 2, sympy.symbols("V0:8"))
t11, t12, t22, beta = sympy.symbols("t11 t12 t22 beta")
Ts = sympy.Matrix([[t11, t12], [0, t22]])
vs = sympy.Matrix(4, 1, sympy.symbols("v0:4"))
I4 = sympy.eye(4)
lhs = (I4 - Vs * Ts * Vs.T) * (I4 - beta * vs * vs.T)
T_plus = Ts.row_join(-beta * Ts * Vs.T * vs).col_join(sympy.Matrix([[0, 0, beta]]))
V_plus = Vs.row_join(vs)
difference = sympy.expand(lhs - (I4 - V_plus * T_plus * V_plus.T))
print("(I - V T V.T)(I - beta v v.T) - (I - V+ T+ V+.T), expanded, is zero:", difference == sympy.zeros(4, 4))


def t_by_recurrence(V, beta=2.0):
    """T of the compact WY form, one column at a time: T+ = [[T, -beta T V.T v], [0, beta]]."""
    b = V.shape[1]
    T = np.zeros((b, b))
    for j in range(b):
        T[:j, j] = -beta * T[:j, :j] @ (V[:, :j].T @ V[:, j])
        T[j, j] = beta
    return T


m1, n1 = 9, 6
F = householder_reflectors(np.random.default_rng(0).standard_normal((m1, n1)))
V_pkg, T_pkg = compact_wy(F)  # V: the unit reflector vectors, zero-padded above
T_mine = t_by_recurrence(V_pkg)
product = np.eye(m1)
for k, v in enumerate(F.vectors):
    vk = np.zeros(m1)
    vk[k:] = v
    product = product @ (np.eye(m1) - 2.0 * np.outer(vk, vk))
print(f"max |T_recurrence - T_compact_wy| = {np.abs(T_mine - T_pkg).max():.1e}")
wy_error = np.linalg.norm(np.eye(m1) - V_pkg @ T_mine @ V_pkg.T - product, 2)
print(f"||(I - V T V^T) - F_1 ... F_{n1}||_2 with T from the recurrence = {wy_error:.1e}")
print(f"T upper triangular: {np.allclose(T_mine, np.triu(T_mine))}, diagonal {np.diag(T_mine)}")

# %%
# Exercise 2
# ----------
#
# An upper Hessenberg matrix :math:`A` has one nonzero below the diagonal in
# each column, :math:`a_{k+1,k}`.  Givens needs one rotation per such entry, of
# rows :math:`k` and :math:`k+1`; it leaves the structure below intact
# (those rows are zero to the left of column :math:`k`), so an :math:`n
# \times n` Hessenberg matrix takes :math:`n - 1` rotations instead of
# :math:`n(n-1)/2` for a dense one.  :func:`linalg_rnn.qr.givens_rotations`
# skips entries that are already zero, so it does exactly that.  Rotation
# :math:`k` updates two rows from column :math:`k` on: 4 multiplications
# and 2 additions per column, :math:`6(n-k)` flops, in all
#
# .. math:: \sum_{k=1}^{n-1} 6(n - k + 1) \approx 3n^2 ,
#
# against :math:`\tfrac43 n^3` for Householder, which (as written in
# :func:`linalg_rnn.qr.householder_reflectors`) does not know that the
# columns are short and works on the whole trailing block anyway.  (A
# Householder code that knew would use reflectors of length 2 -- which are
# the same cost as rotations.)

ns = {"quick": [32, 64], "default": [64, 128, 256], "full": [64, 128, 256, 512]}[mode]
rng = np.random.default_rng(1)


def hessenberg_givens_r(H):
    """R of an upper Hessenberg H by n - 1 Givens rotations, visiting only the subdiagonal."""
    R = np.array(H, dtype=float)
    n = R.shape[1]
    for k in range(n - 1):
        a, b = R[k, k], R[k + 1, k]
        r = np.hypot(a, b)
        c, s = (1.0, 0.0) if r == 0.0 else (a / r, b / r)
        top = R[k, k:].copy()
        R[k, k:] = c * top + s * R[k + 1, k:]  # rotate rows k and k+1 from column k on
        R[k + 1, k:] = -s * top + c * R[k + 1, k:]
        R[k + 1, k] = 0.0
    return R * np.where(np.diag(R) < 0, -1.0, 1.0)[:, None]  # the package's sign convention


print(f"{'n':>5} {'rotations (H)':>14} {'(dense)':>8} {'n(n-1)/2':>9} {'max|R - R_numpy|':>17} "
      f"{'Householder':>12} {'givens_rot.':>12} {'on triu':>8} {'n-1 only':>9} {'flop ratio':>11}")
for n in ns:
    H = np.triu(rng.standard_normal((n, n)), -1)  # upper Hessenberg
    G_h = givens_rotations(H)
    G_d = givens_rotations(rng.standard_normal((n, n)))
    _, R_np = sign_normalize(*np.linalg.qr(H))
    error = max(np.abs(G_h.R - R_np).max(), np.abs(hessenberg_givens_r(H) - G_h.R).max())
    U = np.triu(H)  # already triangular: no rotation at all
    t = race({"householder": lambda H=H: householder_reflectors(H),
              "givens": lambda H=H: givens_rotations(H),
              "triu": lambda U=U: givens_rotations(U),
              "hessenberg": lambda H=H: hessenberg_givens_r(H)},
             repeats={"quick": 2, "default": 5, "full": 5}[mode])
    flops_givens = sum(6 * (n - k) for k in range(n - 1))
    flops_house = 2 * n * n**2 - 2 * n**3 / 3
    print(f"{n:5d} {len(G_h.rotations):14d} {len(G_d.rotations):8d} {n * (n - 1) // 2:9d} {error:17.1e} "
          + " ".join(f"{1e3 * t[k]:{w}.2f}" for k, w in
                     (("householder", 9), ("givens", 9), ("triu", 8), ("hessenberg", 9)))
          + f" ms {flops_house / flops_givens:8.1f}")

# %%
# The count is :math:`n - 1` exactly, and :math:`R` agrees with LAPACK's
# (after the sign normalization) to rounding.  The clock, though, does not
# follow the flop ratio :math:`\tfrac{4}{3}n^3 / 3n^2 = 4n/9` (last column):
# :func:`~linalg_rnn.qr.givens_rotations` takes about as long as Householder
# here (within a factor of two either way; the machine was shared).  The
# column "on triu" says why: on an already triangular matrix it does no
# rotation at all and still takes a large part of that time.  The function is
# written for any matrix, so it visits every one of the :math:`n(n-1)/2`
# subdiagonal positions in a Python loop to test whether it is zero, and
# those :math:`O(n^2)` interpreter steps, about a microsecond each, cost as
# much as Householder's :math:`O(n^3)` flops at BLAS speed for these
# :math:`n`.  A loop that knows the structure and visits only the
# :math:`n - 1` subdiagonal entries (``hessenberg_givens_r`` above, checked
# against the package's :math:`R` in the error column) removes that overhead
# and wins by the factor in the "n-1 only" column -- still far below the
# flop ratio, because each of its rotations is a few small NumPy operations
# whose fixed cost dwarfs its :math:`6(n-k)` flops.  Structure pays when the
# loop is written for it; this is why the QR algorithm for eigenvalues
# reduces a matrix to Hessenberg form once and then uses rotations on it at
# every iteration.

# %%
# Exercise 3
# ----------
#
# :func:`linalg_rnn.qr.blocked_householder_qr` on one :math:`512 \times 512`
# matrix (smaller in quick mode) for block sizes 1, 4, 16, 64, 256, next to
# the unblocked :func:`linalg_rnn.qr.householder_qr` and
# :func:`numpy.linalg.qr`, in interleaved rounds
# (:func:`linalg_rnn.course.race`), all forming the reduced :math:`Q`.

n3 = {"quick": 128, "default": 512, "full": 1024}[mode]
A3 = np.random.default_rng(3).standard_normal((n3, n3))
block_sizes = [1, 4, 16, 64, 256]
contestants = {f"b = {b}": (lambda b=b: blocked_householder_qr(A3, block_size=b)) for b in block_sizes}
contestants["unblocked"] = lambda: householder_qr(A3)
contestants["numpy.linalg.qr"] = lambda: np.linalg.qr(A3)
times = race(contestants, repeats={"quick": 2, "default": 3, "full": 3}[mode])
flops = 8 / 3 * n3**3
print(f"n = {n3}; the best of {({'quick': 2, 'default': 3, 'full': 3}[mode])} interleaved rounds")
for name, seconds in times.items():
    print(f"{name:>16}: {seconds:7.3f} s, {flops / seconds / 1e9:6.2f} GFLOP/s, "
          f"{seconds / times['numpy.linalg.qr']:6.2f} x numpy")
Q1, R1 = blocked_householder_qr(A3, block_size=1)
Qu, Ru = householder_qr(A3)
print(f"block size 1 vs unblocked: max|Q - Q_unblocked| = {np.abs(Q1 - Qu).max():.1e}")

fig, ax = plt.subplots(figsize=(6.5, 4))
ax.loglog(block_sizes, [times[f"b = {b}"] for b in block_sizes], "s-", label="blocked_householder_qr")
ax.axhline(times["unblocked"], color="C1", ls="--", label="householder_qr (unblocked)")
ax.axhline(times["numpy.linalg.qr"], color="k", ls=":", label="numpy.linalg.qr")
ax.set_xscale("log", base=2)
ax.set_xlabel("block size b")
ax.set_ylabel("seconds (best of the rounds)")
ax.set_title(f"Blocked Householder QR of a {n3} x {n3} matrix")
ax.legend(fontsize=8)
fig.tight_layout()

# %%
# Where the time goes: ``blocked_householder_qr`` adds up, in a dict passed
# as ``timings=``, the seconds spent factoring panels, applying them to the
# trailing matrix, and forming :math:`Q` (the best of three calls for each
# block size):

split = {}
for b in block_sizes:
    runs = []
    for _ in range(3):
        seconds = {}
        blocked_householder_qr(A3, block_size=b, timings=seconds)
        runs.append(seconds)
    split[b] = min(runs, key=lambda t: sum(t.values()))
    print(f"b = {b:3d}: panel {split[b]['panel']:6.3f} s, update {split[b]['update']:6.3f} s, "
          f"form Q {split[b]['form_q']:6.3f} s")

# %%
# On a quiet machine both ends are slower than the middle, for different
# reasons (the split above); the "fastest block size" line says how this
# run came out, and on a shared machine one disturbed timing can reorder it.
#
# * **Small blocks.**  With :math:`n_b = 1` the compact WY form is a single
#   reflector, :math:`T = (2)`, and the "matrix--matrix" update
#   :math:`A_{\mathrm{trail}} - V(T^\top(V^\top A_{\mathrm{trail}}))` is the rank-one update of the unblocked
#   algorithm: BLAS-2 work, limited by memory bandwidth, made as three
#   separate calls per column, for the trailing update and again for forming
#   :math:`Q`.  Those two stages take almost all of the time at
#   :math:`n_b = 1`, which is no faster than the unblocked code (the same
#   factors, to rounding).  As :math:`n_b` grows, each number loaded from
#   memory is used for about :math:`n_b` flops and there are :math:`n/n_b`
#   times fewer calls: the update and :math:`Q` stages shrink fast.
# * **Large blocks.**  Now the panel stage grows.  The panel is factored
#   recursively, in matrix--matrix products too, but with more bookkeeping
#   the wider it is: the joins of the :math:`T` matrices, the single-column
#   steps at the bottom of the recursion, and products whose inner
#   dimension is only a few columns.  And the :math:`T` factors add flops
#   that are "lower order" only while :math:`n_b \ll n`: applying a block
#   reflector to :math:`p` columns costs :math:`4mn_bp` flops for the
#   :math:`V` products and :math:`2n_b^2p` more for :math:`T`, a fraction
#   :math:`n_b/2m` extra -- a quarter more at :math:`n_b = 256`, :math:`m = 512`
#   -- which shows in the form-:math:`Q` stage growing again.
#
# The best block size in this run is printed below; reference LAPACK's
# ``ilaenv`` suggests 32 for ``dgeqrf``, and tuned libraries choose their
# own per machine.  On a busy, shared machine single timings move by tens
# of percent; the shape of the curve (high, low, higher) is what to compare.

best = min(block_sizes, key=lambda b: times[f"b = {b}"])
print(f"fastest block size in this run: {best}; b = 1 took {times['b = 1'] / times[f'b = {best}']:.1f} x, "
      f"b = 256 took {times['b = 256'] / times[f'b = {best}']:.1f} x as long as b = {best}")
