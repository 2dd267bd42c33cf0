"""
02 · Power iteration: repeated products find the dominant eigenvector
=====================================================================

Lesson 01 said that along an eigenvector, :math:`t` multiplications by a
matrix collapse into :math:`\\lambda^t`.  Here we look at an arbitrary
vector instead.  Multiply it by :math:`M` over and over and it swings round
to point along the eigenvector of the largest eigenvalue, at a speed set by
the gap between the two largest eigenvalues.  The same thing happens to the
hidden state and the gradient of an RNN: after many steps, only the
dominant direction of :math:`W` survives.  Turned around, the phenomenon is
an algorithm, *power iteration*, and its sharper relatives, inverse
iteration and Rayleigh quotient iteration.

**What you will learn**

* that :math:`M^k` has eigenvalues :math:`\\lambda_i^k`, keeps every
  eigenvector of :math:`M`, and can gain more;
* that :math:`M^k x` aligns with :math:`v_1` for almost every start
  :math:`x`, with angle error shrinking like :math:`|\\lambda_2/\\lambda_1|^k`,
  and that the eigenvalue estimate of a symmetric matrix converges twice
  as fast;
* the failure modes: :math:`|\\lambda_1| = |\\lambda_2|`, a complex dominant
  pair, and a start orthogonal to :math:`v_1` (fatal in exact arithmetic,
  rescued by rounding in floating point);
* inverse iteration and Rayleigh quotient iteration, and cubic convergence
  on Trefethen & Bau's Example 27.1.

**Prerequisites:** lesson 01 (eigenvalues and eigenvectors).
"""

# %%
# :math:`M^k` has eigenvalues :math:`\lambda_i^k`
# ---------------------------------------------------
#
# If :math:`Mv_i = \lambda_i v_i` then
# :math:`M^k v_i = M^{k-1}(\lambda_i v_i) = \lambda_i M^{k-1} v_i = \dots = \lambda_i^k v_i`:
# every eigenvector of :math:`M` is one of :math:`M^k`, with its eigenvalue
# raised to the :math:`k`-th power.  The converse can fail: when two different
# eigenvalues have the same power, :math:`\lambda_i^k = \lambda_j^k` (such as
# :math:`\pm 1` and :math:`k = 2`), every combination of :math:`v_i` and
# :math:`v_j` is an eigenvector of :math:`M^k` but not of :math:`M`; we meet
# that case below.  We check the rule on a symmetric matrix built with a known
# spectrum, :math:`M = Q \operatorname{diag}(\lambda) Q^\top` with a random
# orthogonal :math:`Q` (:func:`linalg_rnn.orthogonal.random_orthogonal`),
# comparing the eigenvalues NumPy finds for :math:`M^k` with :math:`\lambda_i^k`.

import warnings
from fractions import Fraction

import matplotlib.pyplot as plt
import numpy as np
import sympy

from linalg_rnn.course import lesson_mode
from linalg_rnn.eigen import (
    inverse_iteration,
    power_iteration,
    rayleigh_quotient,
    rayleigh_quotient_iteration,
)
from linalg_rnn.orthogonal import random_orthogonal

mode = lesson_mode()
n = {"quick": 8, "default": 40, "full": 200}[mode]
print(f"mode = {mode}, n = {n}")


def with_spectrum(lams, seed=0):
    """The symmetric Q diag(lams) Q.T for a random orthogonal Q, and Q (its columns: the eigenvectors)."""
    Q = random_orthogonal(len(lams), seed=seed)
    return (Q * lams) @ Q.T, Q


lams = np.array([2.0, -1.5, 1.0, 0.5])
M, Q = with_spectrum(lams)
print(f"{'k':>2} {'eigenvalues of M^k (numpy)':>38} {'lambda_i^k':>34} {'max rel. error':>15}")
for k in range(1, 7):
    Mk = np.linalg.matrix_power(M, k)
    numeric = np.sort(np.linalg.eigvalsh(Mk))
    predicted = np.sort(lams**k)
    err = np.max(np.abs(numeric - predicted) / np.abs(predicted))
    print(f"{k:2d} {np.array2string(numeric, precision=4):>38} "
          f"{np.array2string(predicted, precision=4):>34} {err:15.1e}")
v1 = Q[:, 0]
print("M^6 v_1 = 2^6 v_1:", np.allclose(np.linalg.matrix_power(M, 6) @ v1, 2.0**6 * v1))

# %%
# A random start aligns with :math:`v_1`
# ----------------------------------------
#
# Write a start vector in the eigenvector basis,
# :math:`x = c_1 v_1 + \dots + c_n v_n`.  Then
#
# .. math:: M^k x = \lambda_1^k \Big( c_1 v_1 + \sum_{i \ge 2} c_i
#           \big(\tfrac{\lambda_i}{\lambda_1}\big)^k v_i \Big).
#
# If :math:`|\lambda_1| > |\lambda_2| \ge \dots` and :math:`c_1 \ne 0` (true
# with probability one for a random :math:`x`), every term but the first
# dies out, and the slowest one to die is the :math:`\lambda_2` term.  So the
# angle :math:`\theta_k` between :math:`M^k x` and :math:`v_1` obeys
#
# .. math:: \tan\theta_k \le \Big|\frac{\lambda_2}{\lambda_1}\Big|^k \tan\theta_0
#
# for a symmetric :math:`M` (orthogonal eigenvectors).  Normalizing
# :math:`x_k = M^k x / \|M^k x\|` changes no angle and keeps the numbers
# finite.  We track :math:`\tan\theta_k` for four gap ratios
# :math:`|\lambda_2/\lambda_1|` and draw the theoretical line next to each.


def tan_angle(x, v):
    """tan of the angle between the lines of x and of the unit vector v."""
    along = abs(x @ v)
    return np.linalg.norm(x - (x @ v) * v) / along


ratios = [0.5, 0.8, 0.9, 0.95]
x0 = np.random.default_rng(1).standard_normal(n)
fig, ax = plt.subplots(figsize=(7, 4.5))
print(f"{'|l2/l1|':>8} {'steps to tan < 1e-12':>21} {'measured rate':>14}")
for ratio in ratios:
    spectrum = np.r_[1.0, ratio, ratio * np.linspace(0.9, -0.9, n - 2)]
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
    rate = (tans[window[-1]] / tans[window[0]]) ** (1 / (window[-1] - window[0]))
    print(f"{ratio:8.2f} {window[-1] + 1:21d} {rate:14.4f}")
    k = np.arange(tans.size)
    line = ax.semilogy(k, tans, lw=2, label=rf"$|\lambda_2/\lambda_1| = {ratio}$")[0]
    ax.semilogy(k, tans[0] * ratio**k, ls="--", color=line.get_color(), lw=1)
ax.set_ylim(1e-15, 1e2)
ax.set_xlabel("k (number of multiplications)")
ax.set_ylabel(r"$\tan\theta_k$, angle error to $v_1$")
ax.set_title(r"$M^k x$ aligns with $v_1$; dashed: $|\lambda_2/\lambda_1|^k \tan\theta_0$")
ax.legend()
fig.tight_layout()

# %%
# After a short start, in which the smaller eigenvalues die out, each curve
# runs parallel to its dashed bound, and the measured rates (the average
# factor per step over the straight stretch) match the gap ratio.  Near 1 the alignment is slow: at
# :math:`|\lambda_2/\lambda_1| = 0.95` it takes hundreds of steps to gain 12
# digits.  For an RNN this is the good news and the bad news at once: after
# enough steps the hidden state (and the gradient) carries almost nothing but
# the dominant direction of :math:`W`.
#
# The eigenvalue converges twice as fast
# --------------------------------------
#
# :func:`linalg_rnn.eigen.power_iteration` runs this loop (Trefethen & Bau,
# Algorithm 27.1) and estimates the eigenvalue with the Rayleigh quotient
# :math:`r(x) = x^\top M x / x^\top x`
# (:func:`linalg_rnn.eigen.rayleigh_quotient`).  For a *symmetric* matrix,
# :math:`r` is flat at an eigenvector (its gradient vanishes there), so an
# eigenvector error of size :math:`\delta` costs only :math:`O(\delta^2)` in the
# eigenvalue: the eigenvalue error shrinks like :math:`|\lambda_2/\lambda_1|^{2k}`.
# A nonsymmetric matrix with the same spectrum
# (:math:`V \operatorname{diag}(\lambda) V^{-1}` with a random :math:`V`) has
# no such luck: its eigenvalue error shrinks only like
# :math:`|\lambda_2/\lambda_1|^k`.  The residual
# :math:`\|Mx - r(x)x\|`, which the iteration uses to stop, follows the
# vector: :math:`|\lambda_2/\lambda_1|^k` in both cases.

v = np.random.default_rng(5).standard_normal(n)
print(f"Rayleigh quotient at an eigenvector: {rayleigh_quotient(M, v1):.12f} (eigenvalue 1)")
print(f"Rayleigh quotient at v1 + 1e-4 * noise: error {abs(rayleigh_quotient(M, v1 + 1e-4 * v) - 1):.1e}"
      " (about the square of 1e-4, times a constant)")


def geometric_rate(errors, lo, hi):
    """The average factor per step over the stretch where lo < error < hi."""
    idx = np.flatnonzero((errors > lo) & (errors < hi))
    return (errors[idx[-1]] / errors[idx[0]]) ** (1 / (idx[-1] - idx[0]))


ratio = 0.8
spectrum = np.r_[1.0, ratio, ratio * np.linspace(0.9, -0.9, n - 2)]
M_sym, _ = with_spectrum(spectrum, seed=3)
V = np.random.default_rng(4).standard_normal((n, n))
M_non = V @ np.diag(spectrum) @ np.linalg.inv(V)
fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
print(f"|lambda_2/lambda_1| = {ratio}: theory {ratio} for the residual, "
      f"{ratio**2:.2f} (symmetric) or {ratio} (nonsymmetric) for the eigenvalue")
for ax, (name, Mx) in zip(axes, {"symmetric": M_sym, "nonsymmetric": M_non}.items(), strict=True):
    res = power_iteration(Mx, seed=0, tol=1e-15, max_iter=400)
    residual = res.history["residual"]
    lam_err = np.abs(res.history["eigenvalue"] - 1.0)
    k = np.arange(residual.size)
    print(f"  {name:>12}: {res.iterations} steps, eigenvalue {res.eigenvalue:.12f}, "
          f"measured rate residual {geometric_rate(residual, 1e-12, 1e-2):.3f}, "
          f"eigenvalue {geometric_rate(lam_err, 1e-13, 1e-2):.3f}")
    ax.semilogy(k, residual, label=r"residual $\|Mx - r(x)x\|$")
    ax.semilogy(k, lam_err, label=r"eigenvalue error $|r(x_k) - \lambda_1|$")
    ax.semilogy(k, ratio**k, "k--", lw=1, label=r"$0.8^k$")
    ax.semilogy(k, ratio ** (2 * k), "k:", lw=1, label=r"$0.8^{2k}$")
    ax.set_ylim(1e-17, 1e2)
    ax.set_title(f"power iteration, {name} M")
    ax.set_xlabel("k")
    ax.legend(fontsize=8)
fig.tight_layout()

# %%
# When power iteration fails
# --------------------------
#
# The argument needs one eigenvalue strictly larger in magnitude than all the
# others, and a start with :math:`c_1 \ne 0`.  Break either and the
# iteration stalls.  :func:`linalg_rnn.eigen.power_iteration` does not raise
# then: it returns ``converged=False`` and warns with a
# :class:`linalg_rnn.ConvergenceWarning`.  We catch the warnings and print
# them.
#
# **Equal magnitudes, opposite signs.**  With :math:`\lambda_1 = 1` and
# :math:`\lambda_2 = -1`, :math:`M^k x = c_1 v_1 + (-1)^k c_2 v_2 + \dots`
# alternates between two directions forever.  :math:`M^2` has the double
# eigenvalue 1, so every combination of :math:`v_1` and :math:`v_2` is an
# eigenvector of :math:`M^2` (though not of :math:`M`: the extra eigenvectors
# announced at the top), and every second iterate does settle.
#
# **A complex dominant pair.**  A real matrix with eigenvalues
# :math:`\rho e^{\pm i\theta}` (so :math:`\rho` is its spectral radius) has
# no real eigenvector in the plane they span, so no real direction there is
# ever kept.  How the iterate moves depends on
# the 2-by-2 block that acts on the plane.  When the block is *normal* --
# :math:`\rho` times a rotation by :math:`\theta` in an orthonormal basis of the
# plane, as in our first example -- each step turns every vector of the plane
# by exactly :math:`\theta`, and the Rayleigh quotient of every such vector is
# :math:`\rho\cos\theta`, the real part of the eigenvalues.  A non-normal block
# with the same eigenvalues, :math:`X(\rho\operatorname{rot}(\theta))X^{-1}` with a
# non-orthogonal :math:`X`, moves the iterate round an ellipse instead: the
# angle it turns changes from step to step, and so does the Rayleigh quotient.


def run_quietly(*args, **kwargs):
    """power_iteration, with any ConvergenceWarning caught and printed instead."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = power_iteration(*args, **kwargs)
    for w in caught:
        print(f"    warned: {str(w.message)[:90]}...")
    return res


max_iter = 200


def two_more_steps(M, x):
    """|cos| of the angles from x to Mx and to M^2 x (1 means the same line)."""
    x1 = M @ x / np.linalg.norm(M @ x)
    x2 = M @ x1 / np.linalg.norm(M @ x1)
    return abs(x @ x1), abs(x @ x2)


M_pm, Q_pm = with_spectrum(np.r_[1.0, -1.0, 0.5 * np.linspace(0.9, -0.9, n - 2)], seed=6)
print("lambda_1 = 1, lambda_2 = -1:")
res_pm = run_quietly(M_pm, seed=0, max_iter=max_iter)
c1, c2 = two_more_steps(M_pm, res_pm.eigenvector)
print(f"    converged = {res_pm.converged}; Rayleigh quotient stuck at {res_pm.eigenvalue:.4f}, "
      f"residual {res_pm.history['residual'][-1]:.3f}")
print(f"    |cos| to the next iterate {c1:.4f}, to the one after {c2:.12f}: a 2-cycle")
w = (Q_pm[:, 0] + Q_pm[:, 1]) / np.sqrt(2)  # a combination of v_1 and v_2
print(f"    w = (v1 + v2)/sqrt(2): ||M^2 w - w|| = {np.linalg.norm(M_pm @ (M_pm @ w) - w):.1e} "
      f"(an eigenvector of M^2), ||M w - r(w) w|| = "
      f"{np.linalg.norm(M_pm @ w - rayleigh_quotient(M_pm, w) * w):.3f} (not one of M)")


def turns_and_quotients(M, x, steps=40):
    """Angles (rad) between successive normalized iterates from x, and their Rayleigh quotients."""
    angles, quotients = [], []
    for _ in range(steps):
        y = M @ x
        y /= np.linalg.norm(y)
        angles.append(np.arccos(min(abs(x @ y), 1.0)))
        quotients.append(rayleigh_quotient(M, y))
        x = y
    return np.array(angles), np.array(quotients)


theta = 0.5
block = 0.95 * np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])  # 0.95 rot(theta)
X = np.array([[1.0, 1.0], [0.0, 1.0]])  # not orthogonal: the same eigenvalues, a non-normal block
rest = with_spectrum(0.5 * np.linspace(0.9, -0.9, n - 2), seed=7)[0]
complex_runs = {}
for name, B2 in (("normal block", block), ("non-normal block", X @ block @ np.linalg.inv(X))):
    M_c = np.zeros((n, n))
    M_c[:2, :2] = B2
    M_c[2:, 2:] = rest
    print(f"complex pair, {name}: eigenvalues {np.round(np.linalg.eigvals(B2), 4)}")
    res_c = run_quietly(M_c, seed=0, max_iter=max_iter)
    angles, quotients = turns_and_quotients(M_c, res_c.eigenvector)
    complex_runs[name] = res_c
    print(f"    converged = {res_c.converged}, residual {res_c.history['residual'][-1]:.3f}; "
          f"over {angles.size} more steps the iterate turns by {angles.min():.4f} to "
          f"{angles.max():.4f} rad per step, Rayleigh quotient {quotients.min():.4f} to "
          f"{quotients.max():.4f}")
print(f"    theta = {theta}, rho cos(theta) = {0.95 * np.cos(theta):.4f}")

# %%
# With :math:`\pm 1`, and with the normal block, the Rayleigh quotient settles
# at a wrong value (for the normal block at :math:`\rho\cos\theta`, and each
# step turns by exactly :math:`\theta`); with the non-normal block it never
# settles, and the angle per step varies.  In every case the residual
# :math:`\|Mx - r(x)x\|` does not shrink: the residual, not the estimate, is
# the honest convergence test.
#
# %%
# **A start orthogonal to** :math:`v_1`.  If :math:`c_1 = 0` exactly, the
# :math:`v_1` term is zero and stays zero: :math:`M^k x` never sees
# :math:`v_1`.  To see it we need a matrix whose eigenvectors are exact
# rational numbers.  Take the rotation by the 3-4-5 triangle,
# :math:`Q = \frac{1}{5}\begin{pmatrix} 3 & -4 \\ 4 & 3 \end{pmatrix}`,
# and :math:`M = Q \operatorname{diag}(3, 1) Q^\top`; the start
# :math:`x_0 = v_2 = (-4/5, 3/5)` has :math:`c_1 = 0`.  With
# :class:`fractions.Fraction` entries (in a sympy matrix), every product is
# exact, and :math:`M^k x_0 = 1^k x_0 = x_0` for every :math:`k`.

Q_exact = sympy.Matrix([[Fraction(3, 5), Fraction(-4, 5)], [Fraction(4, 5), Fraction(3, 5)]])
M_exact = Q_exact * sympy.diag(3, 1) * Q_exact.T
x_exact = Q_exact[:, 1]
k_exact = {"quick": 40, "default": 100, "full": 200}[mode]
xk = x_exact
for _ in range(k_exact):
    xk = M_exact * xk
print("M =", M_exact.tolist())
print(f"exact:  M^{k_exact} x0 = {xk.T.tolist()[0]},  v1 . (M^{k_exact} x0) = {(Q_exact[:, 0].T * xk)[0]}")

# %%
# In floating point the story changes.  :math:`43/25`, :math:`24/25` and
# :math:`4/5` have no exact binary representation, so the stored
# :math:`M` and :math:`x_0` are off by about :math:`10^{-16}`, and the first
# product already carries a :math:`v_1` component of that size.  Each step
# triples it relative to the rest (:math:`\lambda_1/\lambda_2 = 3`), so after
# about :math:`\log(10^{16})/\log 3 \approx 33.5` steps (printed below)
# rounding error has become the whole answer.  Note that :func:`~linalg_rnn.eigen.power_iteration`
# itself stops at once: :math:`x_0` *is* an eigenvector (of
# :math:`\lambda = 1`) to working precision, and that is all its stopping test
# can check.  Power iteration finds *an* eigenvector; it is the dominant one
# only when the start has a component along it.

M_float = np.array(M_exact.tolist(), dtype=float)
x_float = np.array(x_exact.T.tolist()[0], dtype=float)
v1_float = np.array([0.6, 0.8])
res_orth = power_iteration(M_float, x0=x_float)
print(f"power_iteration from x0 = v2: eigenvalue {res_orth.eigenvalue:.15f}, "
      f"iterations {res_orth.iterations}, converged {res_orth.converged}")
xs = [x_float]
for _ in range(60):
    x = M_float @ xs[-1]
    xs.append(x / np.linalg.norm(x))
component = np.array([abs(v1_float @ x) for x in xs])
for k in (0, 1, 5, 10, 20, 30, 40, 60):
    print(f"    float: k = {k:2d}  |v1 . x_k| = {component[k]:.3e},  "
          f"Rayleigh quotient {rayleigh_quotient(M_float, xs[k]):.6f}")
print(f"steps for a factor 3 per step to turn 1e-16 into 1: "
      f"log(1e16)/log(3) = {np.log(1e16) / np.log(3):.1f}")

fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
for ax, res, title, which in (
    (axes[0], res_pm, r"$\lambda_1 = 1,\ \lambda_2 = -1$", ""),
    (axes[1], complex_runs["normal block"], r"complex pair $0.95e^{\pm 0.5i}$", ", normal block"),
):
    ax.plot(res.history["eigenvalue"], label=r"Rayleigh quotient $r(x_k)$" + which)
    ax.plot(res.history["residual"], label=r"residual $\|Mx_k - r(x_k)x_k\|$" + which)
    ax.set_ylim(-1.1, 2.3)
    ax.set_title(title + ": no convergence")
axes[1].plot(complex_runs["non-normal block"].history["eigenvalue"], lw=0.8, color="tab:green",
             label=r"$r(x_k)$, non-normal block")
for ax in axes[:2]:
    ax.legend(fontsize=8, loc="upper right")
kk = np.arange(component.size)
axes[2].semilogy(kk, np.maximum(component, 1e-20), ".-", label=r"float: $|v_1 \cdot x_k|$")
axes[2].semilogy(kk, np.minimum(1e-16 * 3.0**kk, 1), "k--", lw=1, label=r"$10^{-16}\cdot 3^k$")
axes[2].axhline(1e-20, color="tab:red", lw=2, label="exact arithmetic: 0 for ever")
axes[2].set_title(r"start orthogonal to $v_1$")
axes[2].legend(fontsize=8)
for ax in axes:
    ax.set_xlabel("k")
fig.tight_layout()

# %%
# Inverse iteration: any eigenvalue, fast
# ---------------------------------------
#
# The eigenvalues of :math:`(A - \mu I)^{-1}` are :math:`1/(\lambda_i - \mu)`,
# and the largest of them belongs to the eigenvalue nearest the shift
# :math:`\mu`.  Power iteration on :math:`(A - \mu I)^{-1}`, which means one
# linear solve per step, finds that eigenpair
# (:func:`linalg_rnn.eigen.inverse_iteration`, Algorithm 27.2), with rate
# :math:`|\lambda_j - \mu| / |\lambda_k - \mu|`, where :math:`\lambda_j` is the
# eigenvalue nearest :math:`\mu` and :math:`\lambda_k` the second nearest.  A
# good shift makes that ratio tiny.  We use Trefethen & Bau's matrix
#
# .. math:: A = \begin{pmatrix} 2 & 1 & 1 \\ 1 & 3 & 1 \\ 1 & 1 & 4 \end{pmatrix}.

A = np.array([[2.0, 1.0, 1.0], [1.0, 3.0, 1.0], [1.0, 1.0, 4.0]])
eigs = np.linalg.eigvalsh(A)
print("eigenvalues of A (numpy):", np.round(eigs, 10))
x_start = np.ones(3) / np.sqrt(3)
print(f"{'shift':>6} {'found':>14} {'solves':>7} {'predicted rate':>15} {'measured rate':>14}")
for mu in (1.0, 2.5, 5.0):
    res = inverse_iteration(A, mu, x0=[1.0, 0.0, 0.0])
    dist = np.sort(np.abs(eigs - mu))
    measured = geometric_rate(res.history["residual"], 1e-11, 1.0) if res.iterations > 3 else float("nan")
    print(f"{mu:6.1f} {res.eigenvalue:14.10f} {res.iterations:7d} {dist[0] / dist[1]:15.4f} {measured:14.4f}")

# %%
# Rayleigh quotient iteration: cubic convergence
# ----------------------------------------------
#
# Why keep the shift fixed?  The Rayleigh quotient of the current vector is
# the best eigenvalue estimate available, so use it as the next shift
# (:func:`linalg_rnn.eigen.rayleigh_quotient_iteration`, Algorithm 27.3).
# For a symmetric matrix the number of correct digits then roughly
# *triples* every step.  Trefethen & Bau's Example 27.1 starts from
# :math:`(1,1,1)/\sqrt{3}` and reports :math:`\lambda^{(0)} = 5`,
# :math:`\lambda^{(1)} = 5.2131\ldots`, :math:`\lambda^{(2)} = 5.2143197432\ldots`,
# :math:`\lambda^{(3)} = 5.2143197434\ldots`.  Our run:

rqi = rayleigh_quotient_iteration(A, x0=x_start)
lam_true = eigs[-1]
print(f"{'k':>2} {'lambda^(k)':>15} {'error':>10} {'correct digits':>15}")
for k, lam in enumerate(rqi.history["eigenvalue"]):
    err = abs(lam - lam_true)
    digits = -np.log10(max(err, np.finfo(float).eps * lam_true))
    print(f"{k:2d} {lam:15.10f} {err:10.1e} {digits:15.1f}")

power = power_iteration(A, x0=x_start)
shifted = inverse_iteration(A, 5.0, x0=x_start)
print(f"to tol 1e-10: power iteration {power.iterations} products, inverse iteration (shift 5) "
      f"{shifted.iterations} solves, Rayleigh quotient iteration {rqi.iterations} solves")

fig, ax = plt.subplots(figsize=(7, 4.5))
for name, res, style in (
    ("power iteration", power, "o-"),
    ("inverse iteration, shift 5", shifted, "s-"),
    ("Rayleigh quotient iteration", rqi, "^-"),
):
    err = np.maximum(np.abs(res.history["eigenvalue"] - lam_true), 1e-17)
    ax.semilogy(np.arange(err.size), err, style, label=name)
ax.set_xlabel("k (products or solves)")
ax.set_ylabel(r"$|\lambda^{(k)} - \lambda_1|$")
ax.set_title("Example 27.1 of Trefethen & Bau: three iterations, three rates")
ax.legend()
fig.tight_layout()

# %%
# Summary
# -------
#
# * :math:`M^k` has eigenvalues :math:`\lambda_i^k` and keeps every eigenvector
#   of :math:`M`; it has more when two different :math:`\lambda_i^k` coincide.
# * For almost every start, :math:`M^k x` turns toward :math:`v_1` with angle
#   error :math:`O(|\lambda_2/\lambda_1|^k)`; the Rayleigh quotient of a
#   symmetric matrix converges at the squared rate.
# * It fails without a single dominant eigenvalue (:math:`\lambda_1 = -\lambda_2`,
#   a complex pair, which a normal block turns by a fixed angle and a
#   non-normal one by a varying angle), and from a start with no
#   :math:`v_1` component, which only exact arithmetic can keep: in floating
#   point, rounding supplies one.
# * Inverse iteration finds the eigenvalue nearest a shift; Rayleigh quotient
#   iteration updates the shift and converges cubically for symmetric
#   matrices (three steps to machine precision on Example 27.1).
#
# For RNNs: a hidden state or a gradient pushed through :math:`W` many times
# forgets everything but the dominant direction of :math:`W`, and its size
# goes like :math:`|\lambda_1|^k`.  Lesson 03 makes the second half precise
# with matrix powers.
#
# Exercises
# ---------
#
# 1. Change the symmetric matrix of the rate experiment so that
#    :math:`\lambda_3 = \lambda_2`.  Does the rate change?  Why not?
# 2. Run :func:`linalg_rnn.eigen.power_iteration` on
#    :math:`M + 0.5 I` for the :math:`\lambda = \pm 1` matrix above.  Why does
#    the shift cure the failure, and which eigenvalue does it find?
# 3. Start Rayleigh quotient iteration on Example 27.1 from
#    :math:`(1, 0, 0)` and from :math:`(0, 0, 1)`.  Which eigenvalues do you get?
