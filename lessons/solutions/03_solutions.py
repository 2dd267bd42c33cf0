"""
Worked solutions: lesson 03, matrix powers
==========================================

The solutions to the exercises at the end of lesson 03.  Every number they
quote is printed by the code; on the site each solution is folded under the
lesson's exercises, with the output of the run that built the page.
"""

# %%
# Exercise 1
# ----------
#
# :math:`\varphi` and :math:`\psi` are the roots of
# :math:`\lambda^2 = \lambda + 1`, so each of the sequences
# :math:`\varphi^n` and :math:`\psi^n` obeys the Fibonacci recurrence
# (:math:`\varphi^{n+1} = \varphi^n + \varphi^{n-1}`, multiplying the
# equation by :math:`\varphi^{n-1}`), and so does any sum of multiples of
# them.  :math:`\varphi^n + \psi^n` starts with :math:`\varphi^0 + \psi^0 = 2`
# and :math:`\varphi + \psi = 1` (the trace of :math:`F`), the first two Lucas
# numbers; a sequence that obeys the recurrence is fixed by its first two
# terms, so :math:`L_n = \varphi^n + \psi^n` for every :math:`n`.  In matrix
# terms, :math:`L_n = \operatorname{tr}(F^n)`.  Sympy confirms it exactly for
# the first 40 terms.

from fractions import Fraction

import matplotlib.pyplot as plt
import numpy as np
import sympy

from linalg_rnn.course import lesson_mode
from linalg_rnn.eigen import fibonacci, matrix_power_eig


def lucas(n):
    """L_n exactly, with Python integers, from L_0 = 2 and L_1 = 1."""
    a, b = 2, 1
    for _ in range(n):
        a, b = b, a + b
    return a


phi_s, psi_s = (1 + sympy.sqrt(5)) / 2, (1 - sympy.sqrt(5)) / 2
exact = all(sympy.expand(phi_s**n + psi_s**n) == lucas(n) for n in range(40))
print("phi^n + psi^n == L_n exactly for n = 0..39:", exact)
F = sympy.Matrix([[1, 1], [1, 0]])
print("trace(F^n) == L_n for n = 0..39:", all((F**n).trace() == lucas(n) for n in range(40)))
print("L_0..L_10:", [lucas(n) for n in range(11)])

# %%
# In float64, :math:`\varphi` is stored as :math:`\mathrm{fl}(\varphi)` with a
# relative error :math:`\delta_\varphi = \mathrm{fl}(\varphi)/\varphi - 1`;
# :math:`\mathrm{fl}(\varphi)^n` then carries a relative error of about
# :math:`n\,\delta_\varphi`, while the :math:`\psi^n` term is tiny.  So the
# computed :math:`L_n` is off by about :math:`n\,\delta_\varphi L_n`, and
# rounding to the nearest integer stops rescuing it once that passes
# :math:`1/2`.  We compute :math:`\delta_\varphi` exactly (the float as a
# fraction, against sympy's golden ratio to 30 digits), compare it with
# NumPy's machine epsilon :math:`\varepsilon = 2^{-52}` and the unit roundoff
# :math:`u = 2^{-53}`, predict the first wrong :math:`n` and search for it.

phi = (1 + np.sqrt(5.0)) / 2
psi = (1 - np.sqrt(5.0)) / 2
eps = np.finfo(float).eps
delta = float((sympy.Rational(Fraction(phi)) / sympy.GoldenRatio - 1).evalf(30))
print(f"delta_phi = {delta:.3e} = {delta / eps:.3f} eps = {delta / (eps / 2):.3f} u")
first_lucas = next(n for n in range(2000) if round(phi**n + psi**n) != lucas(n))
predicted_lucas = next(n for n in range(1, 2000) if n * abs(delta) * lucas(n) >= 0.5)
first_fib = next(n for n in range(2000) if round(fibonacci(n, method="binet")) != fibonacci(n))
predicted_fib = next(n for n in range(1, 2000) if n * abs(delta) * fibonacci(n) >= 0.5)
print(f"Lucas:     first wrong n = {first_lucas} (predicted {predicted_lucas}); "
      f"L_{first_lucas} has {lucas(first_lucas).bit_length()} bits")
print(f"Fibonacci: first wrong n = {first_fib} (predicted {predicted_fib}); "
      f"log(sqrt 5) / log(phi) = {np.log(np.sqrt(5)) / np.log(phi):.2f}")
print(f"{'n':>3} {'|float - L_n|':>14} {'n delta L_n':>12}")
for n in range(first_lucas - 3, first_lucas + 2):
    err = abs(Fraction(phi**n + psi**n) - lucas(n))
    print(f"{n:3d} {float(err):14.4f} {n * abs(delta) * lucas(n):12.4f}")

# %%
# The prediction :math:`n\,\delta_\varphi L_n` tracks the measured error
# closely, and the Lucas numbers fail a couple of steps before the Fibonacci
# numbers: :math:`L_n \approx \varphi^n` is larger than
# :math:`F_n \approx \varphi^n/\sqrt5` by the factor :math:`\sqrt5`, which
# the growth :math:`\varphi` per step makes up in
# :math:`\log\sqrt5/\log\varphi \approx 1.7` steps.

# %%
# Exercise 2
# ----------
#
# :math:`J = \begin{pmatrix} 1 & 1 \\ 0 & 1 \end{pmatrix}` has the double
# eigenvalue 1 but only one eigenvector direction, :math:`e_1`
# (:math:`(J - I)x = 0` forces :math:`x_2 = 0`).  It is not diagonalizable,
# so :math:`J = V\Lambda V^{-1}` does not exist.  NumPy still returns two
# eigenvector columns, but they are parallel to working precision, so
# :math:`V` is numerically singular, and
# :func:`linalg_rnn.eigen.matrix_power_eig` refuses instead of returning
# garbage:

J = np.array([[1.0, 1.0], [0.0, 1.0]])
_, V = np.linalg.eig(J)
print("numpy's eigenvector matrix:\n", V)
print(f"its condition number: {np.linalg.cond(V):.2e}")
try:
    matrix_power_eig(J, 10)
except np.linalg.LinAlgError as err:
    print(f"matrix_power_eig(J, 10) -> LinAlgError: {err}")

# %%
# By induction :math:`J^t = \begin{pmatrix} 1 & t \\ 0 & 1 \end{pmatrix}`
# (:math:`J^{t+1} = J^t J` adds the two entries of the first row).  Its
# largest singular value is :math:`\|J^t\|_2 = \big(t + \sqrt{t^2 + 4}\big)/2`,
# which grows *linearly* in :math:`t`: slower than any exponential
# :math:`c^t` with :math:`c > 1`, but without bound, although
# :math:`\rho(J) = 1`.  The spectral radius only promises
# :math:`\|J^t\|^{1/t} \to 1`, and a polynomial factor is allowed.

print(f"{'t':>6} {'||J^t||_2':>12} {'(t + sqrt(t^2+4))/2':>20} {'||J^t||^(1/t)':>14}")
for t in (1, 10, 100, 1000, 10_000):
    norm = np.linalg.norm(np.linalg.matrix_power(J, t), 2)
    print(f"{t:6d} {norm:12.4f} {(t + np.sqrt(t * t + 4)) / 2:20.4f} {norm ** (1 / t):14.6f}")

# %%
# Exercise 3
# ----------
#
# We rebuild the lesson's RNN cell with :math:`W = Q` (same seed, same
# draws) and compare the input weights :math:`W_{ih}` with :math:`10\,W_{ih}`.  Each factor of
# :math:`\partial h_t/\partial h_1` is :math:`\operatorname{diag}(\tanh'(a_t))\,Q`
# with :math:`\tanh'(a) = 1 - \tanh^2(a)`.  Ten times larger inputs make the
# pre-activations :math:`a_t` larger, the units saturate, :math:`\tanh'`
# drops towards 0, and every factor shrinks the product more.  We print the
# Jacobian norms, the mean of :math:`\tanh'` over all unit-steps, and the
# share of unit-steps with :math:`\tanh' < 0.01`.

mode = lesson_mode()
n_hidden = {"quick": 32, "default": 64, "full": 128}[mode]
T = {"quick": 150, "default": 400, "full": 1000}[mode]
rng = np.random.default_rng(0)
Q_orth, _ = np.linalg.qr(rng.standard_normal((n_hidden, n_hidden)))
rng.standard_normal((n_hidden, n_hidden))  # the lesson's Gaussian Z: drawn to keep the stream
W_ih = rng.standard_normal(n_hidden) * 0.5
inputs = rng.standard_normal(T)
print(f"n_hidden = {n_hidden}, T = {T}")
print(f"{'inputs':>9} " + " ".join(f"{'t=' + str(t):>10}" for t in (10, 50, T))
      + f" {'mean tanh-prime':>16} {'share < 0.01':>13}")
curves = {}
for scale in (1, 10):
    h = np.zeros(n_hidden)
    J = np.eye(n_hidden)
    path, slopes = [1.0], []
    for t in range(2, T + 1):
        h = np.tanh(Q_orth @ h + scale * W_ih * inputs[t - 1])
        slope = 1 - h**2
        J = slope[:, None] * (Q_orth @ J)
        path.append(np.linalg.norm(J, 2))
        slopes.append(slope)
    slopes = np.array(slopes)
    curves[scale] = np.array(path)
    print(f"{str(scale) + ' x W_ih':>9} " + " ".join(f"{path[t - 1]:10.2e}" for t in (10, 50, T))
          + f" {slopes.mean():16.3f} {np.mean(slopes < 0.01):13.1%}")

fig, ax = plt.subplots(figsize=(6.5, 4))
for scale, path in curves.items():
    ax.semilogy(np.arange(1, T + 1), np.maximum(path, 1e-300), label=rf"inputs ${scale}\,W_{{ih}}$")
ax.set_xlabel("t")
ax.set_ylabel(r"$\|\partial h_t/\partial h_1\|_2$, $W = Q$")
ax.set_title("Larger inputs saturate tanh and cut the gradient")
ax.legend()
fig.tight_layout()

# %%
# With :math:`10\,W_{ih}` the Jacobian norm falls much faster, although :math:`Q`
# itself keeps every length: the mean slope :math:`\tanh'` is far lower and
# a large share of unit-steps is saturated, so information about
# :math:`h_1` is wiped out within a few steps.  An orthogonal :math:`W`
# protects the linear part of the product only; the nonlinearity decides the
# rest, and its factor depends on how large the inputs drive the units.
