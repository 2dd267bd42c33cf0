"""
Worked solutions: lesson 04, orthogonal matrices
================================================

The solutions to the exercises at the end of lesson 04.  Every number they
quote is printed by the code; on the site each solution is folded under the
lesson's exercises, with the output of the run that built the page.
"""

# %%
# Exercise 1
# ----------
#
# The first column of a 2-by-2 orthogonal :math:`Q` is a unit vector,
# :math:`(\cos\theta, \sin\theta)` for some :math:`\theta`.  The second is a
# unit vector orthogonal to it, so it is :math:`\pm(-\sin\theta, \cos\theta)`.
# The plus sign gives the rotation :math:`\operatorname{rot}(\theta)` (determinant
# :math:`+1`); the minus sign gives
#
# .. math:: S(\theta) = \begin{pmatrix}\cos\theta & \sin\theta \\
#                                     \sin\theta & -\cos\theta\end{pmatrix},
#           \qquad \det S = -\cos^2\theta - \sin^2\theta = -1 .
#
# :math:`S` is symmetric and orthogonal, so :math:`S^2 = S^\top S = I`; its
# eigenvalues have product :math:`\det S = -1` and sum
# :math:`\operatorname{tr} S = 0`, so they are :math:`+1` and :math:`-1`,
# with orthogonal eigenvectors (:math:`S` is symmetric).  A map that fixes one
# line and flips the perpendicular one is the reflection across that line.
# The fixed line is spanned by :math:`v_+ = (\cos\tfrac\theta2, \sin\tfrac\theta2)`:
# with the half-angle formulas,
# :math:`Sv_+ = (\cos\theta\cos\tfrac\theta2 + \sin\theta\sin\tfrac\theta2,\;
# \sin\theta\cos\tfrac\theta2 - \cos\theta\sin\tfrac\theta2)
# = (\cos\tfrac\theta2, \sin\tfrac\theta2) = v_+`, and
# :math:`v_- = (-\sin\tfrac\theta2, \cos\tfrac\theta2)` has :math:`Sv_- = -v_-`.
# So :math:`S(\theta)` mirrors across the line at angle :math:`\theta/2`.
# Sympy checks both eigenvector equations symbolically, and NumPy for a few
# angles.

import matplotlib.pyplot as plt
import numpy as np
import scipy.linalg
import sympy

from linalg_rnn.orthogonal import (
    cayley,
    nearest_orthogonal,
    orthogonality_error,
    qr_orthogonalize,
    random_orthogonal,
    rotation_matrix,
)

th = sympy.symbols("theta", real=True)
S = sympy.Matrix([[sympy.cos(th), sympy.sin(th)], [sympy.sin(th), -sympy.cos(th)]])
v_plus = sympy.Matrix([sympy.cos(th / 2), sympy.sin(th / 2)])
v_minus = sympy.Matrix([-sympy.sin(th / 2), sympy.cos(th / 2)])
print("S v+ - v+ =", sympy.simplify(S * v_plus - v_plus).T)
print("S v- + v- =", sympy.simplify(S * v_minus + v_minus).T)
print("det S     =", sympy.simplify(S.det()), "  S^2 =", sympy.simplify(S * S).tolist())
for theta in (0.3, 2.0, -1.2):
    S_num = np.array([[np.cos(theta), np.sin(theta)], [np.sin(theta), -np.cos(theta)]])
    lam, vecs = np.linalg.eigh(S_num)
    fixed = vecs[:, np.argmax(lam)]
    angle = np.arctan2(fixed[1], fixed[0]) % np.pi
    print(f"theta = {theta:5.2f}: eigenvalues {lam}, fixed line at {angle:.6f} rad; "
          f"theta/2 mod pi = {(theta / 2) % np.pi:.6f}")

# %%
# Exercise 2
# ----------
#
# Let :math:`B^\top = -B` and :math:`Q = (I+B)^{-1}(I-B)`.  :math:`I+B` is
# invertible: :math:`x^\top B x = 0` for skew :math:`B`, so
# :math:`(I+B)x = 0` would give :math:`0 = x^\top x + x^\top B x = \|x\|^2`.
# The factors :math:`I - B` and :math:`(I+B)^{-1}` commute, because
# :math:`I - B` and :math:`I + B` do (both are polynomials in :math:`B`).
# Transposing, :math:`(I-B)^\top = I + B` and
# :math:`((I+B)^{-1})^\top = (I - B)^{-1}`, so
#
# .. math::
#
#    Q^\top Q = (I+B)(I-B)^{-1}\,(I+B)^{-1}(I-B)
#             = (I+B)(I+B)^{-1}\,(I-B)^{-1}(I-B) = I ,
#
# where the middle step swaps the commuting inverses.
#
# Now the numerics.  The transform is its own inverse, so the skew matrix
# that gives a wanted orthogonal :math:`Q` is :math:`B = \operatorname{cay}(Q)`.
# For a rotation by :math:`\pi - \delta` (eigenvalues
# :math:`e^{\pm i(\pi - \delta)}`, close to :math:`-1`) one finds
# :math:`B = \begin{pmatrix} 0 & \omega \\ -\omega & 0 \end{pmatrix}` with
# :math:`\omega = \tan\tfrac{\pi-\delta}{2} \approx 2/\delta`: the parameter grows
# without bound, and an eigenvalue exactly :math:`-1` is out of reach.  We
# take an 8-by-8 orthogonal :math:`Q` with one rotation block at angle
# :math:`\pi - \delta` and three others at 0.5, 1 and 2 rad, hidden by a
# random change of basis, and measure for shrinking :math:`\delta`: the size
# of :math:`B`, the condition number of the solve with :math:`I + Q`, how
# far the computed :math:`B` is from skew-symmetric, the round-trip error
# :math:`\|\operatorname{cay}(\operatorname{cay}(Q)) - Q\|_2`, and the
# orthogonality error of the result.

n = 8
X = random_orthogonal(n, seed=0)  # the random change of basis
print(f"{'delta':>7} {'||B||_2':>9} {'cond(I + Q)':>12} {'||B + B.T||':>12} "
      f"{'round trip':>11} {'||Q.T Q - I||':>14}  (of cay(B))")
for k in range(1, 13):
    delta = 10.0**-k
    angles = (np.pi - delta, 0.5, 1.0, 2.0)
    Q = X @ scipy.linalg.block_diag(*(rotation_matrix(a) for a in angles)) @ X.T
    B = cayley(Q)
    Q_back = cayley(B)
    print(f"{delta:7.0e} {np.linalg.norm(B, 2):9.2e} {np.linalg.cond(np.eye(n) + Q):12.2e} "
          f"{np.linalg.norm(B + B.T, 2):12.1e} {np.linalg.norm(Q_back - Q, 2):11.1e} "
          f"{orthogonality_error(Q_back):14.1e}")

# %%
# What the table shows: :math:`\|B\|_2 \approx 2/\delta` and the condition
# number of :math:`I + Q` grows like :math:`1/\delta` too, and the rounding errors of
# the solve grow with them.  The computed :math:`B` stops being skew (so
# :math:`\operatorname{cay}(B)` stops being exactly orthogonal), and the round
# trip loses about as many digits as :math:`\delta` has zeros.  A
# Cayley-parametrized network therefore cannot represent rotations by
# :math:`\pi` and handles nearby ones with huge, badly conditioned
# parameters; the exponential map has no such hole (every rotation angle is
# reached with a skew matrix of norm at most :math:`\pi`).

# %%
# Exercise 3
# ----------
#
# :math:`W = \begin{pmatrix} 1 & \delta \\ 0 & 1 \end{pmatrix}` with :math:`\delta > 0`
# is upper triangular with a positive diagonal, so it is its own :math:`R`
# and its sign-corrected QR factor is :math:`I`:
# :math:`\|W - Q_{qr}\|_F = \delta`.  Its singular values are
# :math:`\sigma_\pm = \sqrt{1 + \delta^2/4} \pm \delta/2` (they multiply to
# :math:`\det W = 1`), so the polar factor is at distance
#
# .. math:: \|W - UV^\top\|_F = \sqrt{(\sigma_+ - 1)^2 + (\sigma_- - 1)^2}
#           = \frac{\delta}{\sqrt2} + O(\delta^3)
#
# for small :math:`\delta` (:math:`\sigma_\pm - 1 = \pm \delta/2 + \delta^2/8 + O(\delta^4)`).
# Both distances are linear in :math:`\delta` for small :math:`\delta`, with ratio
# :math:`\sqrt2`; for large :math:`\delta`, :math:`\sigma_+ \approx \delta` and
# :math:`\sigma_- \approx 1/\delta`, so both grow like :math:`\delta` and the ratio
# tends to 1.

deltas = np.logspace(-4, 2, 61)
W_of_delta = [np.array([[1.0, delta], [0.0, 1.0]]) for delta in deltas]
d_qr = np.array([np.linalg.norm(W - qr_orthogonalize(W)) for W in W_of_delta])
d_polar = np.array([np.linalg.norm(W - nearest_orthogonal(W)) for W in W_of_delta])
print(f"{'delta':>8} {'||W - Q_qr||_F':>15} {'||W - Q_polar||_F':>18} {'ratio':>8} {'delta / sqrt 2':>15}")
for i in range(0, deltas.size, 10):
    print(f"{deltas[i]:8.0e} {d_qr[i]:15.6e} {d_polar[i]:18.6e} {d_qr[i] / d_polar[i]:8.4f} "
          f"{deltas[i] / np.sqrt(2):15.6e}")
print(f"sqrt(2) = {np.sqrt(2):.4f}")

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
ax1.loglog(deltas, d_qr, label=r"QR factor: $\|W - Q_{qr}\|_F = \delta$")
ax1.loglog(deltas, d_polar, "--", label=r"polar factor $UV^\top$")
ax1.loglog(deltas, deltas / np.sqrt(2), ":", color="0.4", label=r"$\delta/\sqrt{2}$")
ax1.set_xlabel(r"$\delta$")
ax1.set_ylabel("distance")
ax1.set_title(r"$W = [[1, \delta], [0, 1]]$: distance to each factor")
ax1.legend(fontsize=8)
ax2.semilogx(deltas, d_qr / d_polar)
ax2.axhline(np.sqrt(2), color="0.4", ls=":", label=r"$\sqrt{2}$")
ax2.set_xlabel(r"$\delta$")
ax2.set_ylabel("QR distance / polar distance")
ax2.set_title(r"the ratio: $\sqrt{2}$ for small $\delta$, 1 for large $\delta$")
ax2.legend()
fig.tight_layout()

# %%
# The printed table and the plot show the predicted behaviour: for small
# :math:`\delta` both distances are linear, the polar one :math:`\delta/\sqrt2`, and
# the QR factor is :math:`\sqrt2` times farther; as :math:`\delta` grows the
# ratio falls towards 1.
