"""
Worked solutions: lesson 01, eigenvalues
========================================

The solutions to the exercises at the end of lesson 01.  Every number they
quote is printed by the code; on the site each solution is folded under the
lesson's exercises, with the output of the run that built the page.
"""

# %%
# Exercise 1
# ----------
#
# The rotation by a quarter turn,
# :math:`A = \begin{pmatrix} 0 & -1 \\ 1 & 0 \end{pmatrix}`, has
# :math:`\det(A - \lambda I) = \lambda^2 + 1`, so its eigenvalues are
# :math:`\pm i`: no real number :math:`\lambda` and no real vector
# :math:`x \ne 0` satisfy :math:`Ax = \lambda x`.

import numpy as np
import sympy

from linalg_rnn.course import lesson_mode
from linalg_rnn.eigen import characteristic_polynomial, eigenvalues_exact

A = [[0, -1], [1, 0]]
print("det(A - lambda I) =", characteristic_polynomial(A))
print("eigenvalues_exact:", eigenvalues_exact(A))

# %%
# The lesson's picture draws the *real* unit eigenvectors :math:`v` and their
# images :math:`Av = \lambda v` as red and blue arrows.  This :math:`A` has none
# to draw: it turns every direction by 90 degrees.  The test the lesson used
# for "x is an eigenvector" is that :math:`x` and :math:`Ax` are parallel,
# i.e. the 2-D cross product :math:`x_1 (Ax)_2 - x_2 (Ax)_1` is zero.  For
# this :math:`A` it equals :math:`x_1^2 + x_2^2 = \|x\|^2`, which is 1 on the
# whole unit circle, so no point of the circle passes:

theta = np.linspace(0.0, 2.0 * np.pi, 3601)
x = np.vstack([np.cos(theta), np.sin(theta)])
Ax = np.array(A, dtype=float) @ x
cross = x[0] * Ax[1] - x[1] * Ax[0]
print(f"cross product x1 (Ax)2 - x2 (Ax)1 on 3601 points of the circle: min {cross.min():.15f}, "
      f"max {cross.max():.15f}")
print("numpy eigenvalues:", np.linalg.eigvals(np.array(A, dtype=float)))

# %%
# Exercise 2
# ----------
#
# For :math:`A = \begin{pmatrix} a_{11} & a_{12} \\ a_{21} & a_{22} \end{pmatrix}`,
#
# .. math::
#
#    \det(A - \lambda I) = (a_{11} - \lambda)(a_{22} - \lambda) - a_{12}a_{21}
#    = \lambda^2 - (a_{11} + a_{22})\lambda + (a_{11}a_{22} - a_{12}a_{21})
#    = \lambda^2 - \operatorname{tr}(A)\,\lambda + \det A .
#
# The same with sympy, on a matrix of symbols: the difference of the two
# sides expands to zero.

a11, a12, a21, a22, lam = sympy.symbols("a_11 a_12 a_21 a_22 lambda")
A = sympy.Matrix([[a11, a12], [a21, a22]])
p = (A - lam * sympy.eye(2)).det()
claim = lam**2 - A.trace() * lam + A.det()
print("det(A - lambda I) =", sympy.expand(p))
print("lambda^2 - tr(A) lambda + det A =", sympy.expand(claim))
print("difference, expanded:", sympy.expand(p - claim))

# %%
# A consequence worth keeping: the two eigenvalues add up to the trace and
# multiply to the determinant, :math:`\lambda_1 + \lambda_2 = \operatorname{tr} A`
# and :math:`\lambda_1\lambda_2 = \det A` (compare the coefficients with
# :math:`(\lambda - \lambda_1)(\lambda - \lambda_2)`).  For the rotation of
# exercise 1, trace 0 and determinant 1 give :math:`\pm i`.

l1, l2 = sympy.solve(p, lam)
print("lambda_1 + lambda_2 - tr A =", sympy.simplify(l1 + l2 - A.trace()))
print("lambda_1 * lambda_2 - det A =", sympy.simplify(l1 * l2 - A.det()))

# %%
# Exercise 3
# ----------
#
# In the lesson's cell, :math:`W = V \operatorname{diag}(\lambda_1, \lambda_2) V^{-1}`
# with :math:`\lambda_2 = 0.5`, and the gradient after :math:`t` backward steps is
# :math:`g_t = (W^\top)^t g`.  Write :math:`g` in the eigenvectors
# :math:`\tilde v_1, \tilde v_2` of :math:`W^\top` (the same eigenvalues
# :math:`\lambda_1, \lambda_2`): :math:`g = c_1 \tilde v_1 + c_2 \tilde v_2`, so
#
# .. math:: g_t = c_1 \lambda_1^t \tilde v_1 + c_2 \lambda_2^t \tilde v_2 .
#
# The second term matters as long as :math:`|c_2 \lambda_2^t|` is not small next to
# :math:`|c_1 \lambda_1^t|`; their ratio changes by the factor
# :math:`|\lambda_2/\lambda_1|` per step.  With :math:`\lambda_2 = 0.5` the ratio shrinks
# by at least half a step for every :math:`|\lambda_1| \ge 1`; with
# :math:`\lambda_2 = 0.99` it barely moves, and for :math:`\lambda_1 = 0.9` the
# "second" eigenvalue is in fact the larger one and takes over.  We rebuild
# the cell (same seed, same :math:`V`, :math:`g`) for both values of
# :math:`\lambda_2` and measure, for each :math:`\lambda_1`, the share of
# :math:`g_t` that the :math:`\lambda_2` term carries and the first lag at which
# it falls below 1%.

mode = lesson_mode()
steps = {"quick": 100, "default": 200, "full": 400}[mode]
rng = np.random.default_rng(0)
V = rng.standard_normal((2, 2))
h0 = rng.standard_normal(2)  # drawn to keep the lesson's random stream; unused here
g_T = rng.standard_normal(2)
lams = (1.1, 1.0, 0.9, -1.1)
lags = [10, 50, 100]
print(f"steps = {steps}")
print(f"{'lambda_2':>8} {'lambda_1':>8} " + " ".join(f"{'|g_' + str(s) + '|':>10}" for s in lags)
      + " " + " ".join(f"{'lambda_2 share t=' + str(s):>20}" for s in lags) + f" {'share < 1% from':>18}")
for lam_2 in (0.5, 0.99):
    for lam_1 in lams:
        W = V @ np.diag([lam_1, lam_2]) @ np.linalg.inv(V)
        # Eigenvectors of W.T are the columns of inv(V).T: g = c1 v~1 + c2 v~2.
        V_tilde = np.linalg.inv(V).T
        c = np.linalg.solve(V_tilde, g_T)
        g, norms, shares = g_T.copy(), [np.linalg.norm(g_T)], []
        for t in range(1, steps + 1):
            g = W.T @ g
            norms.append(np.linalg.norm(g))
            lam_2_part = np.linalg.norm(c[1] * lam_2**t * V_tilde[:, 1])
            lam_1_part = np.linalg.norm(c[0] * lam_1**t * V_tilde[:, 0])
            shares.append(lam_2_part / (lam_2_part + lam_1_part))
        shares = np.array(shares)
        small = np.flatnonzero(shares < 0.01)
        stays_small = small.size and np.all(shares[small[0]:] < 0.01)
        first = f"t = {small[0] + 1}" if stays_small else f"not by t = {steps}"
        print(f"{lam_2:8.2f} {lam_1:8.1f} " + " ".join(f"{norms[s]:10.3g}" for s in lags) + " "
              + " ".join(f"{shares[s - 1]:20.1%}" for s in lags) + f" {first:>18}")

# %%
# What the table shows: with :math:`\lambda_2 = 0.5` the second eigenvalue is gone
# from the gradient within the first few steps for every :math:`\lambda_1`, so
# after that only :math:`|\lambda_1|^t` matters.  With :math:`\lambda_2 = 0.99` it
# stays in the gradient for far longer when :math:`|\lambda_1| = 1.1` or 1
# (for :math:`\lambda_1 = 1` the share shrinks only like :math:`0.99^t`), and
# for :math:`\lambda_1 = 0.9` it is the :math:`\lambda_1` term that dies: the
# gradient then decays like :math:`0.99^t` instead of :math:`0.9^t`, which is
# why its norm at the later lags is orders of magnitude larger than with
# :math:`\lambda_2 = 0.5`.  In short, the second eigenvalue matters for lags up to
# about :math:`\log(0.01\,|c_1|/|c_2|) / \log|\lambda_2/\lambda_1|` when
# :math:`|\lambda_2| < |\lambda_1|`, and for all lags when :math:`|\lambda_2| > |\lambda_1|`:
# the gradient follows the largest eigenvalue *in modulus*, whichever one we
# called "second".
