"""
01 · Eigenvalues: the directions a matrix only stretches
========================================================

A recurrent network multiplies its hidden state by the same matrix
:math:`W` at every time step, and backpropagation multiplies the gradient by
:math:`W^\\top` at every step on the way back.  Whether those repeated products
blow up, die out or stay put is decided by a handful of numbers attached to
:math:`W`: its eigenvalues.  This lesson meets them.

**What you will learn**

* what :math:`Ax = \\lambda x` says, and how to check it numerically;
* how to find eigenvalues exactly from :math:`\\det(A - \\lambda I) = 0`
  with sympy, for the all-ones matrix (:math:`\\lambda = 0, 2`) and for an
  orthogonal matrix (:math:`\\lambda = \\pm 1`);
* what a matrix does to the unit circle, and where its eigenvectors sit in
  that picture;
* the four regimes :math:`|\\lambda| > 1`, :math:`|\\lambda| = 1`,
  :math:`|\\lambda| < 1` and :math:`\\lambda < -1`, and what each one does to a
  repeated product and to a gradient flowing back through it.

**Prerequisites:** matrix-vector products and a little NumPy.  This is the
first lesson.
"""

# %%
# A vector the matrix only stretches
# ----------------------------------
#
# Most vectors change direction when a matrix hits them.  A few special ones
# do not: :math:`x \ne 0` is an *eigenvector* of the square matrix :math:`A`,
# with *eigenvalue* :math:`\lambda`, when
#
# .. math:: A x = \lambda x .
#
# The eigenvalue is the stretch factor along that direction (a negative one
# also flips it).  Take the all-ones matrix from the lecture and try three
# vectors: :math:`(1, 1)` is doubled, :math:`(1, -1)` is sent to zero (an
# eigenvalue of 0), and :math:`(1, 0)` is turned, so it is no eigenvector.

import matplotlib.pyplot as plt
import numpy as np
import sympy

from linalg_rnn.course import lesson_mode
from linalg_rnn.eigen import characteristic_polynomial, eigenvalues_exact, spectral_radius

mode = lesson_mode()
print(f"mode = {mode}")

A = np.array([[1.0, 1.0], [1.0, 1.0]])
for x in ([1.0, 1.0], [1.0, -1.0], [1.0, 0.0]):
    x = np.array(x)
    Ax = A @ x
    # x is an eigenvector exactly when Ax is parallel to x: the 2-D cross product is 0
    parallel = np.isclose(x[0] * Ax[1] - x[1] * Ax[0], 0.0)
    ratio = (Ax @ x) / (x @ x)
    print(f"x = {x},  A x = {Ax},  parallel: {parallel},  (x.Ax)/(x.x) = {ratio:g}")

# %%
# Eigenvalues exactly: the characteristic polynomial
# --------------------------------------------------
#
# :math:`Ax = \lambda x` with :math:`x \ne 0` means :math:`(A - \lambda I)x = 0`
# has a nonzero solution, so :math:`A - \lambda I` must be singular:
#
# .. math:: \det(A - \lambda I) = 0 .
#
# For an :math:`n \times n` matrix the left side is a polynomial of degree
# :math:`n` in :math:`\lambda`, the *characteristic polynomial*, and its roots
# are the eigenvalues.  :func:`linalg_rnn.eigen.characteristic_polynomial`
# expands the determinant with sympy, keeping integers exact.  For the
# all-ones matrix, :math:`(1-\lambda)^2 - 1 = \lambda^2 - 2\lambda`, so
# :math:`\lambda = 0` or :math:`\lambda = 2`, matching the two eigenvectors
# found above.

p = characteristic_polynomial([[1, 1], [1, 1]])
print("det(A - lambda I) =", p)
print("factored:          ", sympy.factor(p))
print("eigenvalues_exact: ", eigenvalues_exact([[1, 1], [1, 1]]))
print("numpy (floating):  ", np.sort(np.linalg.eigvals(A)))

# %%
# An orthogonal matrix: eigenvalues on the unit circle
# ----------------------------------------------------
#
# The lecture's orthogonal example is
#
# .. math:: Q = \begin{pmatrix} 1/\sqrt{2} & -1/\sqrt{2} \\
#                               -1/\sqrt{2} & -1/\sqrt{2} \end{pmatrix}.
#
# Its columns are orthonormal, so :math:`Q^\top Q = I`.  Giving sympy the exact
# number :math:`1/\sqrt{2}` (``1 / sympy.sqrt(2)``) instead of a rounded float
# keeps everything exact: :math:`\det(Q - \lambda I) = \lambda^2 - 1`, so
# :math:`\lambda = \pm 1`.  Both eigenvalues have magnitude exactly 1, the
# property that makes orthogonal matrices the hero of part II.  (This
# :math:`Q` is symmetric as well, a reflection: it keeps one line and flips
# the perpendicular one.)

r = 1 / sympy.sqrt(2)
Q_exact = sympy.Matrix([[r, -r], [-r, -r]])
print("Q.T @ Q =", (Q_exact.T * Q_exact).tolist(), "(exactly the identity)")
print("det(Q - lambda I) =", characteristic_polynomial(Q_exact))
print("eigenvalues_exact:", eigenvalues_exact(Q_exact))
Q = np.array(Q_exact.evalf(), dtype=float)
print("numpy eigenvalue magnitudes:", np.abs(np.linalg.eigvals(Q)))

# %%
# What a matrix does to the unit circle
# -------------------------------------
#
# A 2-by-2 matrix sends the unit circle to an ellipse (possibly squashed flat
# into a segment).  The eigenvectors are the radii that stay on their own
# line: each one lands on itself scaled by its eigenvalue.  Below, every grey
# spoke joins a point :math:`x` of the circle to its image :math:`Ax`; the
# coloured arrows are the unit eigenvectors :math:`v` (solid) and their
# images :math:`Av = \lambda v` (dashed).  The all-ones matrix flattens the
# circle onto the :math:`(1,1)` line (:math:`\lambda = 0` kills the other
# direction); the orthogonal :math:`Q` maps the circle onto itself; a
# generic symmetric matrix gives an ellipse whose axes are its eigenvectors.

examples = {
    "all ones: lambda = 0, 2": A,
    "orthogonal Q: lambda = -1, +1": Q,
    "[[1.5, 0.5], [0.5, 0.8]]": np.array([[1.5, 0.5], [0.5, 0.8]]),
}
theta = np.linspace(0.0, 2.0 * np.pi, 200)
circle = np.vstack([np.cos(theta), np.sin(theta)])

fig, axes = plt.subplots(1, 3, figsize=(12, 4.2))
for ax, (title, M) in zip(axes, examples.items(), strict=True):
    image = M @ circle
    ax.plot(*circle, color="0.6", lw=1, label="unit circle")
    ax.plot(*image, color="black", lw=2, label="its image A x")
    for j in range(0, theta.size, 10):
        ax.plot([circle[0, j], image[0, j]], [circle[1, j], image[1, j]], color="0.85", lw=0.8)
    lam, V = np.linalg.eig(M)
    for k, color in zip(range(2), ("tab:red", "tab:blue"), strict=True):
        v = V[:, k]
        ax.annotate("", xy=v, xytext=(0, 0), arrowprops=dict(arrowstyle="->", color=color, lw=2))
        ax.annotate(
            "", xy=lam[k] * v, xytext=(0, 0),
            arrowprops=dict(arrowstyle="->", color=color, lw=2, ls="--"),
        )
        ax.plot([], [], color=color, label=f"v, Av = {lam[k]:.2f} v")
    ax.set_title(title, fontsize=10)
    ax.set_aspect("equal")
    ax.set_xlim(-2.2, 2.2)
    ax.set_ylim(-2.2, 2.2)
    ax.legend(fontsize=8, loc="lower right")
fig.suptitle("Eigenvectors are the directions a matrix only stretches")
fig.tight_layout()

# %%
# Four regimes of a repeated product
# ----------------------------------
#
# Along an eigenvector, :math:`A^t v = \lambda^t v`: :math:`t` multiplications
# become one power of a number.  The lecture's table follows from the four
# ways :math:`\lambda^t` can behave:
#
# ======================== ============================== ===============================
# eigenvalue               :math:`\lambda^t` as t grows      effect on gradients
# ======================== ============================== ===============================
# :math:`|\lambda| > 1`     grows exponentially            exploding gradients
# :math:`|\lambda| = 1`     keeps its size                 stable gradients
# :math:`|\lambda| < 1`     decays exponentially           vanishing gradients
# :math:`\lambda < -1`      flips sign and grows           exploding, with oscillation
# ======================== ============================== ===============================
#
# The numbers, for :math:`\lambda = 1.1, 1.0, 0.9, -1.1`, show how little it
# takes: 10% away from 1 means a factor of more than 100 after 50 steps, up
# or down, and more than :math:`10^4` after 100.

steps = {"quick": 100, "default": 200, "full": 400}[mode]
lams = {"|lambda| > 1 (1.1)": 1.1, "|lambda| = 1 (1.0)": 1.0,
        "|lambda| < 1 (0.9)": 0.9, "lambda < -1 (-1.1)": -1.1}
t = np.arange(steps + 1)
print(f"{'regime':>20} " + " ".join(f"{'t=' + str(s):>11}" for s in (1, 2, 3, 10, 50, 100)))
for name, lam in lams.items():
    print(f"{name:>20} " + " ".join(f"{lam**s:11.4g}" for s in (1, 2, 3, 10, 50, 100)))

# %%
# The same four regimes for a matrix and for its gradient
# -------------------------------------------------------
#
# Now a real recurrence.  Build :math:`W = V \operatorname{diag}(\lambda, 0.5) V^{-1}`
# with a fixed random :math:`V`, so that :math:`\lambda` is the dominant
# eigenvalue, and run the linear RNN :math:`h_t = W h_{t-1}`.  The state is
# :math:`h_t = W^t h_0`.  For a loss :math:`L(h_T)` at the last step
# :math:`T` (the *horizon*), the chain rule sends the gradient back one step
# at a time, :math:`\partial L/\partial h_{t-1} = W^\top\, \partial L/\partial h_t`,
# so the gradient :math:`\ell` steps back is
#
# .. math:: \frac{\partial L}{\partial h_{T-\ell}} = (W^\top)^{\ell}\, g,
#           \qquad g = \frac{\partial L}{\partial h_T},
#
# a power of :math:`W^\top` whose exponent is the *lag* :math:`\ell`.
# (:math:`{}^\top` is the transpose throughout the book; :math:`T` is always
# the horizon.)  :math:`W^\top` has the same eigenvalues as :math:`W`, so the
# gradient follows the same regime as the state: after many steps both scale
# like :math:`|\lambda|^t` (state) and :math:`|\lambda|^\ell` (gradient).

rng = np.random.default_rng(0)
V = rng.standard_normal((2, 2))
h0 = rng.standard_normal(2)
g_T = rng.standard_normal(2)  # dL/dh_T for some loss
lags = [10, 50, 100]
print(f"{'dominant lambda':>16} {'spectral radius':>16} "
      + " ".join(f"{'|h_' + str(s) + '|':>10}" for s in lags)
      + " " + " ".join(f"{'|dL/dh_T-' + str(s) + '|':>14}" for s in lags))
states, grads = {}, {}
for name, lam in lams.items():
    W = V @ np.diag([lam, 0.5]) @ np.linalg.inv(V)
    h, g = h0.copy(), g_T.copy()
    h_norms, g_norms = [np.linalg.norm(h)], [np.linalg.norm(g)]
    for _ in range(steps):
        h = W @ h  # forward: one step of the recurrence
        g = W.T @ g  # backward: one step of backpropagation through time
        h_norms.append(np.linalg.norm(h))
        g_norms.append(np.linalg.norm(g))
    states[name], grads[name] = np.array(h_norms), np.array(g_norms)
    print(f"{lam:16.1f} {spectral_radius(W):16.4f} "
          + " ".join(f"{h_norms[s]:10.3g}" for s in lags)
          + " " + " ".join(f"{g_norms[s]:14.3g}" for s in lags))

# %%
# The plot tells the same story.  On the left, the signed scalar
# :math:`\lambda^t` for the first steps: :math:`\lambda = -1.1` alternates in
# sign with a growing envelope.  On the right, the gradient norms of the
# linear RNN on a log axis: straight lines of slope :math:`\log_{10}|\lambda|`.
# :math:`\lambda = 1.1` and :math:`\lambda = -1.1` explode at the same rate;
# only their signs differ.

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
for name, lam in lams.items():
    ax1.plot(t[:31], lam ** t[:31], marker=".", label=name)
    ax2.semilogy(t, grads[name], label=name, ls="--" if lam < 0 else "-")
ax1.set_xlabel("t")
ax1.set_ylabel(r"$\lambda^t$")
ax1.set_title("The scalar power: grow, keep, decay, oscillate")
ax1.legend(fontsize=8)
ax2.set_xlabel(r"lag $\ell$ (steps back from the horizon $T$)")
ax2.set_ylabel(r"$\|\partial L/\partial h_{T-\ell}\|$")
ax2.set_title("Gradient norm through a linear RNN")
ax2.legend(fontsize=8)
fig.tight_layout()

# %%
# Where random initialization puts the eigenvalues
# ------------------------------------------------
#
# The lecture's diagnosis: a recurrent matrix drawn as
# :math:`W_{ij} \sim \mathcal{N}(0, \gamma^2/n)`, with a *gain*
# :math:`\gamma` (the ``gain`` of :func:`linalg_rnn.dynamics.init_recurrent`),
# has eigenvalues spread over a disc of radius about :math:`\gamma`, so its
# spectral radius :math:`\max_j |\lambda_j|`
# (:func:`linalg_rnn.eigen.spectral_radius`) lands wherever :math:`\gamma`
# puts it, and most eigenvalues sit well inside the disc, where products
# vanish.  A slightly too large :math:`\gamma` and the dominant direction
# explodes; a slightly too small one and everything vanishes.  Only
# :math:`\gamma \approx 1` gives a radius near 1, and even then the bulk of
# the spectrum has magnitude well below 1.

n = {"quick": 64, "default": 128, "full": 512}[mode]
print(f"n = {n}")
print(f"{'gain':>6} {'spectral radius':>16} {'median |lambda|':>16} {'share |lambda| < 0.9':>22}")
for gain in (0.5, 0.9, 1.0, 1.1, 2.0):
    W = np.random.default_rng(1).standard_normal((n, n)) * gain / np.sqrt(n)
    mags = np.abs(np.linalg.eigvals(W))
    print(f"{gain:6.1f} {spectral_radius(W):16.3f} {np.median(mags):16.3f} {np.mean(mags < 0.9):22.0%}")

# %%
# Summary
# -------
#
# * An eigenpair satisfies :math:`Ax = \lambda x`: along :math:`x` the matrix
#   only stretches, by :math:`\lambda`.
# * The eigenvalues are the roots of :math:`\det(A - \lambda I)`; sympy finds
#   them exactly for small matrices (0 and 2 for the all-ones matrix,
#   :math:`\pm 1` for the orthogonal :math:`Q`).
# * Repeated multiplication turns into powers: :math:`A^t v = \lambda^t v`.
#   :math:`|\lambda| > 1` explodes, :math:`|\lambda| < 1` vanishes,
#   :math:`|\lambda| = 1` is the only stable case, and a negative
#   :math:`\lambda` adds a sign flip every step.
# * Gradients flow back through :math:`W^\top`, which has the same eigenvalues,
#   so they inherit the same fate.
#
# Lesson 02 shows that repeated multiplication also *finds* the dominant
# eigenvector, and how fast.
#
# Exercises
# ---------
#
# 1. Use :func:`linalg_rnn.eigen.characteristic_polynomial` on the rotation
#    :math:`\begin{pmatrix} 0 & -1 \\ 1 & 0 \end{pmatrix}`.  What are its
#    eigenvalues, and why does the unit-circle picture have no red or blue
#    arrows for it?
# 2. Show that :math:`\det(A - \lambda I)` for a 2-by-2 matrix is
#    :math:`\lambda^2 - \operatorname{tr}(A)\lambda + \det A`; check it with
#    sympy on a matrix of symbols.
# 3. In the linear-RNN cell, replace :math:`0.5` by :math:`0.99`.  For which
#    lags does the second eigenvalue still matter, and why?
