"""
Worked solutions: lesson 02, power iteration
============================================

The solutions to the exercises at the end of lesson 02.  Every number they
quote is printed by the code; on the site each solution is folded under the
lesson's exercises, with the output of the run that built the page.
"""

# %%
# Exercise 1
# ----------
#
# Expand the start in the eigenvectors, :math:`x = \sum_i c_i v_i`.  With
# :math:`\lambda_3 = \lambda_2`,
#
# .. math:: M^k x = \lambda_1^k \Big( c_1 v_1
#           + \big(\tfrac{\lambda_2}{\lambda_1}\big)^k (c_2 v_2 + c_3 v_3)
#           + \sum_{i \ge 4} c_i \big(\tfrac{\lambda_i}{\lambda_1}\big)^k v_i \Big).
#
# The components along :math:`v_2` and :math:`v_3` shrink by the same factor
# :math:`|\lambda_2/\lambda_1|` per step; together they are one vector
# :math:`c_2 v_2 + c_3 v_3` of the two-dimensional eigenspace of
# :math:`\lambda_2`, and its length shrinks by exactly that factor.  So
# :math:`\tan\theta_k \le |\lambda_2/\lambda_1|^k \tan\theta_0` still holds:
# the rate depends on the *value* of the second eigenvalue, not on how many
# eigenvectors share it.  We rerun the lesson's rate experiment (same sizes,
# seeds and start vector) with :math:`\lambda_3 = \lambda_2` and measure the
# rate the same way.

import warnings

import numpy as np

from linalg_rnn.course import lesson_mode
from linalg_rnn.eigen import power_iteration, rayleigh_quotient_iteration

mode = lesson_mode()
n = {"quick": 8, "default": 40, "full": 200}[mode]
print(f"mode = {mode}, n = {n}")


def with_spectrum(lams, seed=0):
    """Q diag(lams) Q.T for a random orthogonal Q (as in the lesson)."""
    Q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((len(lams), len(lams))))
    return (Q * lams) @ Q.T, Q


def tan_angle(x, v):
    """tan of the angle between the lines of x and of the unit vector v."""
    return np.linalg.norm(x - (x @ v) * v) / abs(x @ v)


def measured_rate(spectrum, x0):
    """Power iteration's average factor per step on tan(theta_k) over 1e-2 > tan > 1e-12."""
    M, Q = with_spectrum(spectrum, seed=2)
    v1 = Q[:, 0]
    x = x0 / np.linalg.norm(x0)
    tans = [tan_angle(x, v1)]
    while tans[-1] > 1e-14 and len(tans) < 2000:
        x = M @ x
        x /= np.linalg.norm(x)
        tans.append(tan_angle(x, v1))
    tans = np.array(tans)
    window = np.flatnonzero((tans < 1e-2) & (tans > 1e-12))
    return (tans[window[-1]] / tans[window[0]]) ** (1 / (window[-1] - window[0])), window[-1] + 1


x0 = np.random.default_rng(1).standard_normal(n)
print(f"{'|l2/l1|':>8} {'rate (lesson)':>14} {'rate (l3 = l2)':>15} "
      f"{'steps (lesson)':>15} {'steps (l3 = l2)':>16}")
for ratio in (0.5, 0.8, 0.9, 0.95):
    lesson = np.r_[1.0, ratio, ratio * np.linspace(0.9, -0.9, n - 2)]
    double = np.r_[1.0, ratio, ratio, ratio * np.linspace(0.9, -0.9, n - 3)]
    (r1, k1), (r2, k2) = measured_rate(lesson, x0), measured_rate(double, x0)
    print(f"{ratio:8.2f} {r1:14.4f} {r2:15.4f} {k1:15d} {k2:16d}")

# %%
# Both columns of rates are close to the ratio :math:`|\lambda_2/\lambda_1|`
# (closest in the larger default size, where the straight stretch of the
# curve is longer).  The step counts differ because the matrices differ, and
# with them the factor in front of :math:`|\lambda_2/\lambda_1|^k`; the rate
# does not.  Multiplicity does matter for the *dominant* eigenvalue: with
# :math:`\lambda_1 = \lambda_2` the iterates converge to some vector of the
# two-dimensional eigenspace, which one depending on the start.

# %%
# Exercise 2
# ----------
#
# Shifting adds the same number to every eigenvalue and keeps the
# eigenvectors: :math:`(M + \mu I)v = (\lambda + \mu)v`.  The failing matrix had
# :math:`\lambda_1 = 1`, :math:`\lambda_2 = -1` and the rest in
# :math:`[-0.45, 0.45]`; with :math:`\mu = 0.5` these become :math:`1.5`,
# :math:`-0.5` and :math:`[0.05, 0.95]`.  Now one eigenvalue, :math:`1.5`, is
# strictly largest in modulus, so power iteration converges, at the rate
# :math:`0.95/1.5` (the largest of the others over it), to the eigenvector
# of :math:`\lambda = +1` of :math:`M`.  Subtracting the shift gives that
# eigenvalue back.  A shift of :math:`-0.5` favours :math:`-1` instead.


def geometric_rate(errors, lo, hi):
    """The average factor per step over the stretch where lo < error < hi (as in the lesson)."""
    idx = np.flatnonzero((errors > lo) & (errors < hi))
    return (errors[idx[-1]] / errors[idx[0]]) ** (1 / (idx[-1] - idx[0]))


spectrum = np.r_[1.0, -1.0, 0.5 * np.linspace(0.9, -0.9, n - 2)]
M_pm, Q_pm = with_spectrum(spectrum, seed=6)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    plain = power_iteration(M_pm, seed=0, max_iter=200)
print(f"no shift: converged = {plain.converged} after {plain.iterations} products "
      f"({len(caught)} convergence warning caught)")
print(f"{'shift mu':>8} {'converged':>10} {'products':>9} {'eigenvalue - mu':>15} "
      f"{'|cos| to v(+1)':>15} {'|cos| to v(-1)':>15} {'predicted rate':>15} {'measured rate':>14}")
for mu in (0.5, -0.5):
    res = power_iteration(M_pm + mu * np.eye(n), seed=0, max_iter=200)
    shifted = np.abs(spectrum + mu)
    predicted = np.sort(shifted)[-2] / shifted.max()
    measured = geometric_rate(res.history["residual"], 1e-9, 1e-2)
    print(f"{mu:8.1f} {res.converged!s:>10} {res.iterations:9d} {res.eigenvalue - mu:15.12f} "
          f"{abs(res.eigenvector @ Q_pm[:, 0]):15.12f} {abs(res.eigenvector @ Q_pm[:, 1]):15.12f} "
          f"{predicted:15.4f} {measured:14.4f}")

# %%
# Exercise 3
# ----------
#
# Rayleigh quotient iteration is inverse iteration with a shift that moves to
# the current Rayleigh quotient, so it tends to lock on to the eigenpair
# whose eigenvector is nearest the start.  We start from :math:`e_1` and
# :math:`e_3`, print the eigenvalue each run ends on, and the
# :math:`|\cos|` of the angle between the start and each eigenvector of
# :math:`A` (eigenvalues in increasing order).

A = np.array([[2.0, 1.0, 1.0], [1.0, 3.0, 1.0], [1.0, 1.0, 4.0]])
eigs, vecs = np.linalg.eigh(A)
print("eigenvalues of A:", np.round(eigs, 10))
for x_start in ([1.0, 0.0, 0.0], [0.0, 0.0, 1.0]):
    res = rayleigh_quotient_iteration(A, x0=x_start)
    cosines = np.abs(vecs.T @ np.array(x_start))
    found = int(np.argmin(np.abs(eigs - res.eigenvalue)))
    print(f"start {x_start}: lambda = {res.eigenvalue:.10f} after {res.iterations} solves; "
          f"|cos| to the eigenvectors {np.round(cosines, 3)}; "
          f"found the nearest eigenvector's eigenvalue: {found == int(np.argmax(cosines))}")
    print(f"    Rayleigh quotients on the way: {np.round(res.history['eigenvalue'], 8)}")

# %%
# From :math:`e_1` the iteration ends on the smallest eigenvalue, from
# :math:`e_3` on the largest (the one Example 27.1 finds from
# :math:`(1,1,1)/\sqrt3`); in both runs it is the eigenvector that makes the
# smallest angle with the start, as the last column says.  That is a
# tendency, not a theorem: the first shift is the start's Rayleigh quotient
# (2 and 4 here), and a start about equally close to two eigenvectors can go
# either way.
