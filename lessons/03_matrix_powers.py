"""
03 · Matrix powers: Fibonacci, the golden ratio and the fate of Wᵗ
==================================================================

A recurrent network applies the same matrix at every step, so after
:math:`t` steps it has in effect applied a matrix *power*.  The
eigendecomposition :math:`A = V\\Lambda V^{-1}` turns such a power into powers
of numbers, :math:`A^t = V\\Lambda^t V^{-1}`, and shows at a glance which
directions explode and which die.  We learn it on the friendliest matrix
there is, the one that generates the Fibonacci numbers, and then carry it
over to :math:`W^t` and to the Jacobian products of backpropagation through
time.

**What you will learn**

* three ways to compute Fibonacci numbers with a matrix: repeated
  multiplication (:math:`O(n)`), repeated squaring (:math:`O(\\log n)`), and
  the eigenvalues, i.e. Binet's formula (:math:`O(1)`);
* that the golden ratio :math:`\\varphi` is the dominant eigenvalue, so it
  takes over the growth;
* where float64 Binet stops giving exact integers, and why;
* that :math:`\\|W^t\\|` decays, holds or explodes according to the spectral
  radius of :math:`W`, and how that reaches the RNN gradient
  :math:`\\partial h_t/\\partial h_1 = \\prod \\operatorname{diag}(\\tanh'(a_i))\\,W`.

**Prerequisites:** lesson 01 (eigenvalues) and lesson 02 (power iteration).
"""

# %%
# The Fibonacci matrix
# --------------------
#
# The step :math:`(F_{n+1}, F_n) \mapsto (F_{n+1} + F_n, F_{n+1})` is linear,
# so it is a matrix:
#
# .. math:: F = \begin{pmatrix} 1 & 1 \\ 1 & 0 \end{pmatrix}, \qquad
#           F^n = \begin{pmatrix} F_{n+1} & F_n \\ F_n & F_{n-1} \end{pmatrix}.
#
# :math:`F^0 = I` holds :math:`F_0 = 0` off the diagonal.  Multiplying by
# :math:`F` again and again walks along the sequence; every entry of every
# power is a Fibonacci number.

from fractions import Fraction

import matplotlib.pyplot as plt
import numpy as np
import sympy

from linalg_rnn.course import lesson_mode, race
from linalg_rnn.eigen import (
    eigenvalues_exact,
    fibonacci,
    matrix_power_eig,
    power_iteration,
    spectral_radius,
)

mode = lesson_mode()
print(f"mode = {mode}")

F = np.array([[1, 1], [1, 0]], dtype=np.int64)
F_power = np.eye(2, dtype=np.int64)
for n in range(6):
    print(f"F^{n} = {F_power.tolist()}")
    F_power = F_power @ F

# %%
# Three algorithms
# ----------------
#
# **Repeated multiplication.**  :math:`n` products by :math:`F`, each one a
# couple of additions: :math:`O(n)` operations.
#
# **Repeated squaring.**  :math:`F^{13} = F^8 F^4 F^1`, and
# :math:`F^2, F^4, F^8` come from squaring three times.  In general the
# binary digits of :math:`n` pick which squares to multiply in, so
# :math:`O(\log n)` products are enough.  This is
# ``fibonacci(n, method="matrix")``, exact with Python integers for any
# :math:`n`.
#
# **Eigenvalues.**  With :math:`F = V\Lambda V^{-1}`,
# :math:`F^n = V\Lambda^n V^{-1}`, and :math:`\Lambda^n` is just two numbers
# raised to the power :math:`n`: :math:`O(1)` operations, if ``pow`` counts as
# one (``method="eig"``, through :func:`linalg_rnn.eigen.matrix_power_eig`,
# and its closed form ``method="binet"``).  The price is floating point,
# as we will see.
#
# Python integers grow with :math:`F_n` (about :math:`n\log_2\varphi` bits,
# printed below), so for big :math:`n` even an addition is not free; the
# timings still show the :math:`n` against :math:`\log n` difference.  They
# come from :func:`linalg_rnn.course.race`, which runs the three methods in
# turns and keeps the best of three rounds for each.


def fib_by_multiplication(n):
    """F_n from n products [[a, b], [c, d]] @ F, written out as additions."""
    a, b, c, d = 1, 0, 0, 1  # F^0 = I
    for _ in range(n):
        a, b, c, d = a + b, a, c + d, c
    return b


sizes = {"quick": [10, 100, 1000, 10_000], "default": [10, 100, 1000, 10_000, 100_000],
         "full": [10, 100, 1000, 10_000, 100_000, 1_000_000]}[mode]


timings = {"repeated multiplication": [], "repeated squaring": [], "eigenvalues (Binet)": []}
print(f"{'n':>8} {'agree':>6} {'products':>9} {'squarings+products':>19} "
      f"{'t mult (s)':>11} {'t square (s)':>13} {'t Binet (s)':>12}")
for n in sizes:
    agree = fib_by_multiplication(n) == fibonacci(n)
    best = race({
        "repeated multiplication": lambda n=n: fib_by_multiplication(n),
        "repeated squaring": lambda n=n: fibonacci(n),
        "eigenvalues (Binet)": lambda n=n: fibonacci(n, method="binet"),
    }, repeats=3)
    for name in timings:
        timings[name].append(best[name])
    squarings = n.bit_length() + bin(n).count("1")
    print(f"{n:8d} {agree!s:>6} {n:9d} {squarings:19d} "
          + " ".join(f"{timings[k][-1]:{w}.2e}" for k, w in zip(timings, (11, 13, 12), strict=True)))
print(f"F_100 = {fibonacci(100)}")
print(f"bits of F_n per unit of n at n = {sizes[-1]}: {fibonacci(sizes[-1]).bit_length() / sizes[-1]:.4f} "
      f"(log2 phi = {np.log2((1 + np.sqrt(5)) / 2):.4f})")

fig, ax = plt.subplots(figsize=(6.5, 4.2))
for name, ts in timings.items():
    ax.loglog(sizes, ts, "o-", label=name)
ax.set_xlabel("n")
ax.set_ylabel("seconds (best of 3)")
ax.set_title(r"Computing $F_n$: $O(n)$, $O(\log n)$ and $O(1)$ steps")
ax.legend()
fig.tight_layout()

# %%
# The eigendecomposition of :math:`F`
# -----------------------------------
#
# :math:`\det(F - \lambda I) = \lambda^2 - \lambda - 1`, whose roots are the
# golden ratio :math:`\varphi = (1+\sqrt5)/2 \approx 1.618` and
# :math:`\psi = (1-\sqrt5)/2 = -1/\varphi \approx -0.618`.  So
#
# .. math:: F^n = V \begin{pmatrix} \varphi^n & 0 \\ 0 & \psi^n \end{pmatrix} V^{-1},
#           \qquad F_n = \frac{\varphi^n - \psi^n}{\sqrt 5} \quad\text{(Binet)}.
#
# One eigenvalue has :math:`|\varphi| > 1` and explodes, the other has
# :math:`|\psi| < 1` and vanishes (with alternating sign, :math:`\psi < 0`).
# Already at :math:`n = 10`, :math:`\psi^n` is below 1% of 1, and
# :math:`\varphi^n` is 123: the small eigenvalue is almost irrelevant.

print("eigenvalues (exact):", eigenvalues_exact([[1, 1], [1, 0]]))
lam, V = np.linalg.eig(F.astype(float))
order = np.argsort(-lam)
lam, V = lam[order], V[:, order]
print("Lambda =", lam, "  V =", np.round(V, 4).tolist())
print("V Lambda^10 V^-1 =", np.round(V @ np.diag(lam**10) @ np.linalg.inv(V), 9).tolist())
print("matrix_power_eig(F, 10) =", matrix_power_eig(F, 10).round(9).tolist())
print(f"{'n':>3} {'phi^n':>12} {'psi^n':>12}")
for n in (1, 5, 10, 20, 40):
    print(f"{n:3d} {lam[0]**n:12.4f} {lam[1]**n:12.3e}")

# %%
# The golden ratio takes over
# ---------------------------
#
# Because :math:`\psi^n \to 0`, :math:`F_n` is the integer nearest
# :math:`\varphi^n/\sqrt5`, and multiplying a Fibonacci number by
# :math:`\varphi` gives (nearly) the next one:
# :math:`13\varphi^i` rounds to 21, 34, 55, 89.  The ratio
# :math:`F_{n+1}/F_n` tends to :math:`\varphi` with error
# :math:`O(|\psi/\varphi|^n) = O(\varphi^{-2n})`, the rate of power iteration
# from lesson 02: :math:`(F_{n+1}, F_n)` *is* the power iterate
# :math:`F^n (1, 0)^\top`.  And :func:`linalg_rnn.eigen.power_iteration` on
# :math:`F` returns :math:`\varphi`.

phi = (1 + np.sqrt(5)) / 2
print("13 * phi^i rounded, i = 0..4:", [round(13 * phi**i) for i in range(5)])
print("F_7 .. F_11:                 ", [fibonacci(n) for n in range(7, 12)])
print(f"{'n':>3} {'F_(n+1)/F_n':>18} {'error':>10} {'phi^(-2n)':>10}")
for n in (1, 2, 5, 10, 15, 20):
    ratio = fibonacci(n + 1) / fibonacci(n)
    print(f"{n:3d} {ratio:18.15f} {abs(ratio - phi):10.2e} {phi ** (-2 * n):10.2e}")
res = power_iteration(F, x0=[1, 0])
print(f"power_iteration(F): {res.eigenvalue:.15f} after {res.iterations} products; phi = {phi:.15f}")

# %%
# Where float64 Binet breaks
# --------------------------
#
# Binet's formula is exact in exact arithmetic, but the stored
# :math:`\mathrm{fl}(\varphi)` is not :math:`\varphi`.  Its relative error
# :math:`\delta_\varphi = \mathrm{fl}(\varphi)/\varphi - 1` is a definite
# number, which we compute exactly with sympy below; it is smaller than the
# bound :math:`u = \varepsilon/2 = 2^{-53} \approx 1.1\times10^{-16}` that
# holds for every correctly rounded number (:math:`\varepsilon = 2^{-52}` is
# NumPy's machine epsilon, ``np.finfo(float).eps``; :math:`u` is the unit
# roundoff, Trefethen & Bau's :math:`\varepsilon_{\mathrm{machine}}`).
# Raising :math:`\mathrm{fl}(\varphi)` to the power :math:`n` multiplies that
# error by :math:`n`: :math:`(\varphi(1 + \delta_\varphi))^n \approx
# \varphi^n (1 + n\delta_\varphi)`.  The other roundings (of :math:`\sqrt 5`,
# of the power, of the division) each cost one :math:`u` or less and do not
# grow with :math:`n`, so the computed :math:`F_n` is off by
#
# .. math:: n\,\delta_\varphi\,F_n ,
#
# which grows exponentially because :math:`F_n` does.  Rounding to the
# nearest integer hides the error while it is below :math:`1/2`.  We search
# for the first :math:`n` where it no longer does, comparing with the exact
# integers of ``method="matrix"``, and compare the measured error with the
# prediction :math:`n\delta_\varphi F_n`.  Compare also the number of bits of
# that :math:`F_n` with the 53 of a float64 mantissa: the factor :math:`n` in
# the error makes Binet fail before :math:`F_n` itself stops being
# representable.

first_bad = {m: next(n for n in range(2000) if fibonacci(n, method=m) != fibonacci(n))
             for m in ("binet", "eig")}
for m, n in first_bad.items():
    print(f"method={m!r}: first wrong at n = {n}: exact {fibonacci(n)}, "
          f"float {int(fibonacci(n, method=m))}, off by {int(fibonacci(n, method=m)) - fibonacci(n)}")
n_bad = first_bad["binet"]
print(f"F_{n_bad} needs {fibonacci(n_bad).bit_length()} bits; float64 has 53")

eps = np.finfo(float).eps
# delta_phi = fl(phi)/phi - 1, exactly: the stored float is a rational number, phi is sympy's golden ratio
delta_phi = float(sympy.N(sympy.Rational(Fraction(phi)) / sympy.GoldenRatio - 1, 30))
print(f"delta_phi = fl(phi)/phi - 1 = {delta_phi:.3e} = {delta_phi / eps:.3f} eps "
      f"(eps = 2^-52 = {eps:.3e}; the bound u = eps/2 = {eps / 2:.3e})")
sqrt5 = np.sqrt(5.0)
psi = (1 - sqrt5) / 2
print(f"{'n':>3} {'F_n':>16} {'Binet error (unrounded)':>24} {'n delta_phi F_n':>16}")
for n in range(n_bad - 4, n_bad + 2):
    exact = fibonacci(n)
    error = Fraction((phi**n - psi**n) / sqrt5) - exact  # the float minus the integer, exactly
    print(f"{n:3d} {exact:16d} {float(error):24.3f} {n * delta_phi * exact:16.3f}")

n_max = {"quick": 300, "default": 1474, "full": 1474}[mode]  # phi^1475 overflows float64
ns = np.arange(1, n_max + 1)
abs_err, rel_err = [], []
for n in ns:
    raw = (phi**n - psi**n) / sqrt5  # Binet before rounding
    exact = fibonacci(int(n))
    err = abs(Fraction(raw) - exact)  # exact difference of the float and the integer
    abs_err.append(float(err))
    rel_err.append(float(err / exact))
abs_err, rel_err = np.array(abs_err), np.array(rel_err)
print(f"first n with unrounded error >= 1/2: {ns[np.argmax(abs_err >= 0.5)]}")
print(f"relative error at n = {n_max}: {rel_err[-1]:.2e}  (n * delta_phi = {n_max * delta_phi:.2e}, "
      f"n * eps = {n_max * eps:.2e})")

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
ax1.semilogy(ns[:120], np.maximum(abs_err[:120], 1e-20), ".", ms=3)
ax1.axhline(0.5, color="tab:red", lw=1, label="1/2: rounding can no longer fix it")
ax1.axvline(n_bad, color="0.5", ls="--", lw=1, label=f"first wrong n = {n_bad}")
ax1.set_ylim(1e-18, 1e12)
ax1.set_xlabel("n")
ax1.set_ylabel(r"$|\mathrm{Binet}_{64}(n) - F_n|$")
ax1.set_title("absolute error of float64 Binet")
ax1.legend(fontsize=8)
ax2.loglog(ns, np.maximum(rel_err, 1e-20), ".", ms=3, label="relative error")
ax2.loglog(ns, ns * delta_phi, "k--", lw=1, label=r"$n\,\delta_\varphi$ (prediction)")
ax2.loglog(ns, ns * eps, ":", color="0.5", lw=1, label=r"$n\,\varepsilon$, $\varepsilon = 2^{-52}$")
ax2.set_ylim(1e-18, 1e-11)
ax2.set_xlabel("n")
ax2.set_title(r"relative error grows like $n\,\delta_\varphi$")
ax2.legend(fontsize=8)
fig.tight_layout()

# %%
# The fate of :math:`W^t`
# -----------------------
#
# Everything above holds for any diagonalizable :math:`W`:
# :math:`W^t = V\Lambda^t V^{-1}`, so as :math:`t` grows, :math:`W^t`
#
# * vanishes if every :math:`|\lambda_j| < 1`;
# * keeps its size if every :math:`|\lambda_j| = 1`;
# * explodes if any :math:`|\lambda_j| > 1`.
#
# The spectral radius :math:`\rho(W) = \max_j|\lambda_j|`
# (:func:`linalg_rnn.eigen.spectral_radius`) decides, and
# :math:`\|W^t\|^{1/t} \to \rho(W)`.  We compare two families with
# :math:`\rho = 0.9, 1, 1.1`: :math:`\rho` times an orthogonal matrix, whose
# norm is exactly :math:`\rho^t`, and a Gaussian random matrix rescaled to the
# same spectral radius.  The Gaussian one is not normal (its eigenvectors
# are not orthogonal), so its norm can first *grow* for a while even when
# :math:`\rho < 1`; in the long run the eigenvalues win.

n_hidden = {"quick": 32, "default": 64, "full": 128}[mode]
T = {"quick": 150, "default": 400, "full": 1000}[mode]
rng = np.random.default_rng(0)
Q_orth, _ = np.linalg.qr(rng.standard_normal((n_hidden, n_hidden)))
Z = rng.standard_normal((n_hidden, n_hidden)) / np.sqrt(n_hidden)
Z /= spectral_radius(Z)
norms = {}
for rho in (0.9, 1.0, 1.1):
    for kind, W in (("rho Q (orthogonal)", rho * Q_orth), ("Gaussian, rescaled", rho * Z)):
        P = np.eye(n_hidden)  # W^t, one factor at a time
        path = [1.0]
        for _ in range(T):
            P = W @ P  # one more step of the recurrence
            path.append(np.linalg.norm(P, 2))
        norms[(rho, kind)] = np.array(path)
print(f"{'rho':>4} {'W':>20} {'spectral radius':>16} {'max_t ||W^t||':>14} "
      f"{f'||W^{T}||':>10} {f'||W^{T}||^(1/{T})':>16}")
for (rho, kind), path in norms.items():
    W = rho * (Q_orth if "orth" in kind else Z)
    print(f"{rho:4.1f} {kind:>20} {spectral_radius(W):16.4f} {path.max():14.3g} "
          f"{path[-1]:10.3g} {path[-1] ** (1 / T):16.4f}")

fig, ax = plt.subplots(figsize=(7, 4.5))
colors = {0.9: "tab:blue", 1.0: "tab:green", 1.1: "tab:red"}
for (rho, kind), path in norms.items():
    ax.semilogy(path, color=colors[rho], ls="-" if "orth" in kind else "--",
                label=rf"$\rho = {rho}$, " + kind.replace("rho Q", r"$\rho\,Q$"))
ax.set_xlabel("t")
ax.set_ylabel(r"$\|W^t\|_2$")
ax.set_title("Spectral radius < 1, = 1, > 1")
ax.legend(fontsize=8)
fig.tight_layout()

# %%
# The bridge to RNNs
# ------------------
#
# A vanilla RNN updates :math:`h_t = \tanh(a_t)` with
# :math:`a_t = W h_{t-1} + W_{ih} x_t + b`.  The chain rule gives the Jacobian
# of one step, :math:`\partial h_t/\partial h_{t-1} = \operatorname{diag}(\tanh'(a_t))\,W`,
# and across many steps
#
# .. math:: \frac{\partial h_t}{\partial h_1} = \prod_{i=2}^{t}
#           \operatorname{diag}(\tanh'(a_i))\, W .
#
# Backpropagation through time multiplies by this product (transposed), so
# the gradient from step :math:`t` reaching step 1 is a matrix power of
# :math:`W` with a diagonal factor in between.  Since
# :math:`0 < \tanh' \le 1`, every diagonal factor has norm at most 1, and
#
# .. math:: \Big\|\frac{\partial h_t}{\partial h_1}\Big\|_2 \le
#           \prod_{i=2}^{t} \max_j \tanh'(a_{i,j}) \; \|W\|_2^{\,t-1} .
#
# That bound guarantees exactly this much, and no more:
#
# * :math:`\|W\|_2 < 1` makes the product vanish, at least as fast as
#   :math:`\|W\|_2^{t-1}`; the tanh factors only add decay.  (It is the norm
#   that counts: a non-normal :math:`W` can have :math:`\rho(W) < 1 < \|W\|_2`,
#   like the Gaussian matrices above, whose powers grew for a while.)
# * :math:`\|W\|_2 = 1`, an orthogonal :math:`W`, guarantees neither: the
#   product decays exactly as fast as the :math:`\tanh'` factors make it.
#   That is fast when the pre-activations :math:`a_t` are large and slow when
#   they stay near 0, where :math:`\tanh'(a) = 1 - \tanh^2 a \approx 1 - a^2`;
#   lesson 09 measures a norm still near 1 after a hundred steps with tiny
#   inputs.
# * :math:`\|W\|_2 > 1` lets the product grow only while
#   :math:`\|\operatorname{diag}(\tanh'(a_i))W\|_2 > 1`, that is while the
#   units stay near tanh's linear region.  But a large :math:`W` also
#   amplifies the state, which pushes the pre-activations out to where
#   :math:`\tanh'(a) \approx 4e^{-2|a|}` is tiny, and then the product stops
#   growing.  Saturation, not the spectral radius, decides.
#
# We compute :math:`\|\partial h_t/\partial h_1\|_2` for a random input
# sequence, starting from :math:`h_0 = 0`, for :math:`W = \rho Q` (so
# :math:`\|W\|_2 = \rho(W) = \rho`), compare it with :math:`\|W^{t-1}\|_2`,
# and print the mean :math:`\tanh'` and the growth rate per step over the
# first ten steps and over the rest of the run.

W_ih = rng.standard_normal(n_hidden) * 0.5  # one input per step: W_ih is a single column
inputs = rng.standard_normal(T)
jac_norms, mean_tanh_prime = {}, {}
print(f"{'W':>17} {'rho(W)':>7} " + " ".join(f"{'t=' + str(t):>10}" for t in (11, 50, T))
      + "   (||dh_t/dh_1||_2, then ||W^(t-1)||_2)")
for rho in (0.9, 1.0, 1.5):
    W = rho * Q_orth
    h = np.zeros(n_hidden)
    J = np.eye(n_hidden)  # dh_1/dh_1
    path, path_w, tanh_prime = [1.0], [1.0], []
    for t in range(2, T + 1):
        a = W @ h + W_ih * inputs[t - 1]
        h = np.tanh(a)
        tanh_prime.append(1 - h**2)  # tanh'(a_t), one entry per unit
        J = tanh_prime[-1][:, None] * (W @ J)  # diag(tanh'(a_t)) W times the product so far
        path.append(np.linalg.norm(J, 2))
        path_w.append(rho ** (t - 1))  # ||W^(t-1)||_2 for rho times an orthogonal matrix
    jac_norms[rho] = (np.array(path), np.array(path_w))
    mean_tanh_prime[rho] = np.mean(tanh_prime)
    print(f"{f'{rho} x orthogonal':>17} {spectral_radius(W):7.2f} "
          + " ".join(f"{path[t - 1]:10.2e}" for t in (11, 50, T)))
    print(f"{'':>17} {'':>7} " + " ".join(f"{path_w[t - 1]:10.2e}" for t in (11, 50, T)))
mean_label = "mean tanh'"
print(f"{'W':>17} {mean_label:>17} {'rate, t = 1..11':>16} {f'rate, t = 50..{T}':>17} "
      f"{'largest norm (at t)':>20}")
for rho, (path, _) in jac_norms.items():
    early = (path[10] / path[0]) ** (1 / 10)  # path[t - 1] is ||dh_t/dh_1||
    late = (path[T - 1] / path[49]) ** (1 / (T - 50))
    print(f"{f'{rho} x orthogonal':>17} {mean_tanh_prime[rho]:17.3f} {early:16.3f} {late:17.3f} "
          f"{path.max():12.3g} (t={int(np.argmax(path)) + 1})")

fig, ax = plt.subplots(figsize=(7, 4.5))
for rho, color in zip((0.9, 1.0, 1.5), ("tab:blue", "tab:green", "tab:red"), strict=True):
    path, path_w = jac_norms[rho]
    t_axis = np.arange(1, T + 1)
    ax.semilogy(t_axis, path, color=color, label=rf"$\|\partial h_t/\partial h_1\|$, $W = {rho}\,Q$")
    ax.semilogy(t_axis, path_w, color=color, ls=":", label=rf"$\|W^{{t-1}}\| = {rho}^{{t-1}}$")
ax.set_ylim(1e-60, 1e30)
ax.set_xlabel("t")
ax.set_title(r"tanh RNN: the Jacobian product vs the bare matrix power")
ax.legend(fontsize=8)
fig.tight_layout()

# %%
# The diagonal factors pull every curve below its matrix power, as the
# bound says.  With :math:`W = 0.9\,Q` the product vanishes faster than
# :math:`0.9^t`.  With :math:`W = Q` the bare power keeps norm 1, and the
# Jacobian decays at a rate set only by the :math:`\tanh'` factors: these
# inputs are large enough to keep the mean :math:`\tanh'` well below 1 (the
# printed value), so it vanishes too -- a consequence of the inputs, not of
# :math:`\rho(W) = 1`.  With :math:`W = 1.5\,Q` the product does grow over the
# first steps, while the state started at :math:`h_0 = 0` is still small; then
# the state saturates (the lowest mean :math:`\tanh'` of the three), the rate
# per step drops to about 1, and the product wanders up and down instead of
# exploding like :math:`1.5^t`.  Part III
# studies these products in detail, and part II builds the orthogonal matrices
# that keep the linear part of the product at norm 1.
#
# Summary
# -------
#
# * :math:`A^n = V\Lambda^n V^{-1}`: a matrix power is a power of its
#   eigenvalues, in the eigenvector basis.
# * Fibonacci three ways: :math:`n` products, :math:`O(\log n)` squarings
#   (exact), or Binet's :math:`O(1)` formula, which in float64 is first wrong
#   at the :math:`n` printed above, because its error
#   :math:`\approx n\,\delta_\varphi F_n` passes :math:`1/2`; the relative
#   error :math:`\delta_\varphi` of the stored :math:`\varphi` is a definite
#   number, well below the bound :math:`u = 2^{-53}`.
# * The golden ratio is the dominant eigenvalue of :math:`F`, so it sets the
#   growth: :math:`F_{n+1} \approx \varphi F_n`.
# * :math:`\|W^t\|` vanishes, holds or explodes as :math:`\rho(W) <, =, > 1`,
#   after a possible transient when :math:`W` is not normal.
# * In an RNN, :math:`\partial h_t/\partial h_1` multiplies such powers with
#   :math:`\operatorname{diag}(\tanh')` factors, which only shrink: it must
#   vanish when :math:`\|W\|_2 < 1`; with :math:`\|W\|_2 \ge 1` it does
#   whatever the saturation of the units lets it do.
#
# Exercises
# ---------
#
# 1. The Lucas numbers obey the same recurrence with :math:`L_0 = 2, L_1 = 1`.
#    Show that :math:`L_n = \varphi^n + \psi^n` and find where float64 gets
#    them wrong.
# 2. Use :func:`linalg_rnn.eigen.matrix_power_eig` on the Jordan block
#    :math:`\begin{pmatrix} 1 & 1 \\ 0 & 1 \end{pmatrix}`.  Why does it refuse,
#    and how does :math:`\|J^t\|` grow although :math:`\rho(J) = 1`?
# 3. In the RNN cell, scale the input weights :math:`W_{ih}` (``W_ih``) by 10.  What happens to the
#    Jacobian norms for :math:`W = Q`, and why?
