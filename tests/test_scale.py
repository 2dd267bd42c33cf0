"""Scale properties: the numerics hold across the whole float64 range (issue 10).

Multiplying by :math:`2^k` is exact in float64 (while the numbers stay normal),
so a routine that scales by powers of two internally must give *exactly*
scaled results -- the same steps, the same vectors, eigenvalues and norms
multiplied by :math:`2^k` to the last bit -- for every ``k`` across the range.
Each property below draws ``k`` from about :math:`[-1000, 1000]` (the range
is :math:`2^{-1022}` to :math:`2^{1024}`) and checks the routine against its
unscaled self and against NumPy/SciPy or exact arithmetic (``fractions``,
mpmath).  Examples are bounded so the module runs in seconds.
"""

from __future__ import annotations

import math
import warnings
from fractions import Fraction

import mpmath
import numpy as np
import pytest
import scipy.linalg
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from linalg_rnn import (
    ConvergenceWarning,
    bptt_jacobian_norms,
    cayley,
    clip_grad_norm,
    eigenvalues_exact,
    expm_skew,
    fibonacci,
    init_recurrent,
    inverse_iteration,
    matrix_power_eig,
    matrix_with_singular_values,
    nearest_orthogonal,
    orthogonality_error,
    power_iteration,
    qr_orthogonalize,
    random_orthogonal,
    rayleigh_quotient,
    rayleigh_quotient_iteration,
    repeated_products,
    spectral_radius,
)

EPS = np.finfo(float).eps
SCALE = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: k for 2^k: far enough to overflow float64 if squared, or to underflow.
powers = st.integers(-1000, 1000)


def times(A, k: int) -> np.ndarray:
    """A * 2^k, for examples where that is exact (the property's premise: all entries stay normal)."""
    A = np.asarray(A, dtype=float)
    with np.errstate(over="ignore", under="ignore"):
        B = np.ldexp(A, k)
        assume(np.all(np.isfinite(B)) and np.all((A == 0) | (np.abs(B) >= np.finfo(float).tiny)))
    return B


def ldexp(x, k):
    """x * 2^k rounded once, inf past float64 (NumPy's ldexp, warnings off)."""
    with np.errstate(over="ignore", under="ignore"):
        return np.ldexp(x, k)


@st.composite
def small_int_matrices(draw, symmetric: bool = False, min_n: int = 1, max_n: int = 5):
    """A square matrix of small integers (exact in float64 at every scale used here)."""
    n = draw(st.integers(min_n, max_n))
    entries = draw(st.lists(st.integers(-8, 8), min_size=n * n, max_size=n * n))
    A = np.array(entries, dtype=float).reshape(n, n)
    return A + A.T if symmetric else A


@st.composite
def gaussian_matrices(draw, square: bool = False, tall: bool = False):
    """A Gaussian matrix of a drawn shape and seed."""
    m = draw(st.integers(1, 6))
    n = m if square else draw(st.integers(1, m)) if tall else draw(st.integers(1, 6))
    return np.random.default_rng(draw(st.integers(0, 2**32 - 1))).standard_normal((m, n))


def assert_same_run(scaled, base, k: int) -> None:
    """Two EigenResults: the same steps and vector, the eigenvalue and history times 2^k exactly."""
    assert scaled.iterations == base.iterations and scaled.converged == base.converged
    np.testing.assert_array_equal(scaled.eigenvector, base.eigenvector)
    assert scaled.eigenvalue == math.ldexp(base.eigenvalue, k)
    np.testing.assert_array_equal(scaled.history["eigenvalue"], np.ldexp(base.history["eigenvalue"], k))
    np.testing.assert_array_equal(scaled.history["residual"], np.ldexp(base.history["residual"], k))


# --------------------------------------------------------------------------- the three iterations


@SCALE
@given(small_int_matrices(symmetric=True), powers)
def test_power_iteration_of_2k_A_takes_the_same_steps_and_scales_the_eigenvalue_exactly(A, k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        base = power_iteration(A, seed=1, max_iter=300)
        assert_same_run(power_iteration(times(A, k), seed=1, max_iter=300), base, k)
    if base.converged:  # a true eigenpair of A: against NumPy, within the backward-error bound
        lam = np.linalg.eigvalsh(A)
        assert np.min(np.abs(lam - base.eigenvalue)) <= 1e-9 * max(1.0, np.linalg.norm(A))


@SCALE
@given(small_int_matrices(symmetric=True), powers, st.integers(-20, 20))
def test_inverse_iteration_of_2k_A_and_2k_shift_takes_the_same_steps_exactly(A, k, shift):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        base = inverse_iteration(A, shift + 0.25, seed=2, max_iter=100)
        scaled = inverse_iteration(times(A, k), math.ldexp(shift + 0.25, k), seed=2, max_iter=100)
    assert_same_run(scaled, base, k)
    if base.converged:
        assert np.min(np.abs(np.linalg.eigvalsh(A) - base.eigenvalue)) <= 1e-8 * max(1.0, np.linalg.norm(A))


@SCALE
@given(small_int_matrices(symmetric=True), powers)
def test_rayleigh_quotient_iteration_of_2k_A_takes_the_same_steps_exactly(A, k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        base = rayleigh_quotient_iteration(A, seed=3, max_iter=50)
        assert_same_run(rayleigh_quotient_iteration(times(A, k), seed=3, max_iter=50), base, k)
    assert base.converged  # symmetric: RQI always lands on an eigenpair
    assert np.min(np.abs(np.linalg.eigvalsh(A) - base.eigenvalue)) <= 1e-8 * max(1.0, np.linalg.norm(A))


# --------------------------------------------------------------------------- Rayleigh quotient, radius


@SCALE
@given(small_int_matrices(), st.data(), powers, powers)
def test_rayleigh_quotient_of_2j_A_and_2k_x_is_the_exact_rational_times_2j(A, data, j, k):
    n = A.shape[0]
    x = np.array(data.draw(st.lists(st.integers(-8, 8), min_size=n, max_size=n)), dtype=float)
    assume(np.any(x))
    xi, Ai = [int(t) for t in x], [[int(t) for t in row] for row in A]
    xAx = sum(xi[i] * Ai[i][l] * xi[l] for i in range(n) for l in range(n))
    exact = Fraction(xAx, sum(t * t for t in xi))
    # small integers: x^T A x and x^T x are exact in float64, so one division rounds once
    assert rayleigh_quotient(times(A, j), times(x, k)) == math.ldexp(float(exact), j)


@SCALE
@given(gaussian_matrices(square=True), powers)
def test_spectral_radius_of_2k_A_is_2k_times_rho_exactly_and_matches_numpy(A, k):
    rho = spectral_radius(A)
    assert spectral_radius(times(A, k)) == math.ldexp(rho, k)
    assert rho == pytest.approx(np.max(np.abs(np.linalg.eigvals(A))), rel=1e-12)


@FEW
@given(small_int_matrices(max_n=3), st.integers(-900, 900))
def test_eigenvalues_exact_of_a_float_matrix_scale_with_it_and_match_numpy(A, k):
    A = A + 0.5  # floats, so the numerical route runs
    def values(M):
        return sorted((complex(z) for z, m in eigenvalues_exact(M).items() for _ in range(m)),
                      key=lambda z: (z.real, z.imag))
    base, scaled = values(A), values(times(A, k))
    assert len(base) == A.shape[0]
    for z, w in zip(base, scaled, strict=True):  # complex() of a sympy Float: 2^k exact in each part
        assert w.real == math.ldexp(z.real, k) and w.imag == math.ldexp(z.imag, k)
    numeric = sorted(np.linalg.eigvals(A), key=lambda z: (round(z.real, 6), z.imag))
    np.testing.assert_allclose(sorted(base, key=lambda z: (round(z.real, 6), z.imag)), numeric,
                               rtol=1e-6, atol=1e-6 * np.abs(A).max())


# --------------------------------------------------------------------------- matrix powers, Fibonacci


@FEW
@given(small_int_matrices(symmetric=True, max_n=4), st.integers(0, 6), st.integers(-120, 120))
def test_matrix_power_eig_of_2j_A_is_2jk_times_the_numpy_power(A, k, j):
    A = A + np.eye(A.shape[0]) * 0.5  # distinct enough to be diagonalizable to working precision
    expected = np.linalg.matrix_power(A, k)  # exact: small integers and halves
    got = matrix_power_eig(times(A, j), k)
    top = np.abs(expected).max()
    assume(top > 0)
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(np.ldexp(got, -j * k), expected, rtol=0, atol=1e-9 * top)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 1476))
@example(1475)
@example(1476)
def test_float_fibonacci_is_within_rounding_of_the_exact_number_up_to_the_last_one_float64_holds(n):
    exact = fibonacci(n)
    for method in ("binet", "eig"):
        got = fibonacci(n, method=method)
        assert math.isfinite(got)
        assert abs(got - exact) <= max(0.5, 1e-12 * exact)  # phi is rounded: relative error ~ n eps
    assert fibonacci(n + 1477, method="binet") == math.inf == fibonacci(n + 1477, method="eig")


# --------------------------------------------------------------------------- orthogonality


@SCALE
@given(st.integers(1, 6), st.integers(0, 2**32 - 1), st.integers(-1000, 1000))
def test_orthogonality_error_of_2k_Q_is_the_exact_4k_minus_1_or_inf_never_nan(n, seed, k):
    Q = random_orthogonal(n, seed=seed)
    err = orthogonality_error(times(Q, k))
    # Q^T Q = I + E with ||E|| ~ eps, so ||4^k Q^T Q - I|| = |4^k - 1| + 4^k ||E||
    exact = abs(Fraction(2) ** (2 * k) - 1)
    if exact > Fraction(np.finfo(float).max) * (1 - Fraction(1, 10**12)):  # at or past the edge
        assert err == math.inf or err >= np.finfo(float).max * (1 - 1e-12)
    else:
        assert err == pytest.approx(float(exact), rel=100 * n * EPS, abs=100 * n * EPS)


@SCALE
@given(gaussian_matrices(tall=True), powers)
def test_nearest_orthogonal_of_2k_W_is_the_same_polar_factor_bit_for_bit(W, k):
    Q = nearest_orthogonal(W)
    np.testing.assert_array_equal(nearest_orthogonal(times(W, k)), Q)
    if np.linalg.matrix_rank(W) == W.shape[1]:
        np.testing.assert_allclose(Q, scipy.linalg.polar(W)[0], atol=1e-8)


@SCALE
@given(gaussian_matrices(tall=True), powers)
def test_qr_orthogonalize_of_2k_W_is_the_same_q_bit_for_bit(W, k):
    Q = qr_orthogonalize(W)
    np.testing.assert_array_equal(qr_orthogonalize(times(W, k)), Q)
    Qs, Rs = np.linalg.qr(W)
    np.testing.assert_allclose(Q, Qs * np.where(np.diag(Rs) < 0, -1.0, 1.0), atol=1e-12)


def _skew(n: int, seed: int) -> np.ndarray:
    W = np.random.default_rng(seed).standard_normal((n, n))
    return W - W.T


@SCALE
@given(st.integers(1, 7), st.integers(0, 2**32 - 1), st.integers(-1070, 1020))
def test_cayley_and_expm_of_2k_skew_are_orthogonal_with_det_one_at_every_scale(n, seed, k):
    S = times(_skew(n, seed), k)
    for Q in (cayley(S), expm_skew(S)):
        assert orthogonality_error(Q) <= 50 * n * EPS
        assert np.linalg.det(Q) == pytest.approx(1.0, abs=1e-12)


@SCALE
@given(st.integers(1, 2**20), st.integers(-1074, 1000))
def test_cayley_of_a_2x2_skew_matches_exact_rational_arithmetic_at_every_scale(a, k):
    omega = math.ldexp(a, k - 20)
    assume(omega != 0 and math.isfinite(omega))
    w = Fraction(omega)
    c, s = (1 - w * w) / (1 + w * w), -2 * w / (1 + w * w)  # (I + A)^-1 (I - A), exactly
    Q = cayley([[0.0, omega], [-omega, 0.0]])
    expected = np.array([[float(c), float(s)], [-float(s), float(c)]])
    np.testing.assert_allclose(Q, expected, rtol=8 * EPS, atol=0)


@SCALE
@given(st.integers(1, 2**20), st.integers(-1074, 40))
def test_expm_of_a_2x2_skew_is_the_rotation_by_its_angle_at_every_scale(a, k):
    theta = math.ldexp(a, k - 20)
    with mpmath.workdps(40):  # the exact cosine and sine of the float theta
        c, s = float(mpmath.cos(theta)), float(mpmath.sin(theta))
    Q = expm_skew([[0.0, -theta], [theta, 0.0]])
    np.testing.assert_allclose(Q, [[c, -s], [s, c]], rtol=0, atol=2 * EPS)


# --------------------------------------------------------------------------- chosen singular values


@SCALE
@given(st.lists(st.floats(0.5, 1e3), min_size=1, max_size=5), st.integers(0, 3), st.integers(0, 2**16),
       st.integers(-1000, 1000))
def test_matrix_with_singular_values_2k_s_is_2k_times_the_matrix_exactly(s, extra, seed, k):
    A = matrix_with_singular_values(s, len(s) + extra, seed=seed)
    B = matrix_with_singular_values(times(s, k), len(s) + extra, seed=seed)
    assume(np.all(np.abs(A[A != 0]) * 2.0**k > 2**-1000))  # entries stay normal: ldexp is exact
    np.testing.assert_array_equal(B, np.ldexp(A, k))
    np.testing.assert_allclose(np.linalg.svd(A, compute_uv=False), np.sort(s)[::-1], rtol=1e-12)


# --------------------------------------------------------------------------- gradient flow


@SCALE
@given(gaussian_matrices(square=True), st.integers(0, 8), st.integers(-300, 300))
def test_repeated_products_of_2k_W_have_norms_2kt_times_exactly(W, steps, k):
    base, scaled = repeated_products(W, steps), repeated_products(times(W, k), steps)
    t = np.arange(steps + 1)
    np.testing.assert_array_equal(scaled.norms, ldexp(base.norms, k * t))  # inf only past float64
    expected = [np.linalg.norm(np.linalg.matrix_power(W, int(i)), 2) for i in t]
    np.testing.assert_allclose(base.norms, expected, rtol=1e-9, atol=1e-300)
    assert not np.any(np.isnan(scaled.norms))


@SCALE
@given(gaussian_matrices(square=True), st.integers(1, 8), st.integers(-300, 300))
def test_linear_bptt_jacobian_norms_of_2k_W_are_2k_lag_times_exactly(W, steps, k):
    base = bptt_jacobian_norms(W, activation="linear", steps=steps)
    scaled = bptt_jacobian_norms(times(W, k), activation="linear", steps=steps)
    np.testing.assert_array_equal(scaled.norms, ldexp(base.norms, k * base.lags))
    assert not np.any(np.isnan(scaled.norms))


@SCALE
@given(st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=6), st.floats(1e-3, 1e3), powers)
def test_clip_grad_norm_of_2k_g_has_norm_2k_times_the_exact_norm_and_is_capped(g, max_norm, k):
    g = np.array(g)
    with mpmath.workdps(50):
        exact = mpmath.sqrt(sum(mpmath.mpf(x) ** 2 for x in g.tolist())) * mpmath.mpf(2) ** k  # exact squares
    g_k = times(g, k)
    clipped, norm = clip_grad_norm(g_k, max_norm)
    if exact > np.finfo(float).max:
        assert norm == math.inf
    else:
        assert norm == pytest.approx(float(exact), rel=4 * EPS * len(g), abs=0)
    assert not np.any(np.isnan(clipped))
    if exact <= max_norm:
        np.testing.assert_array_equal(clipped, g_k)
    else:  # capped, and the direction kept: the same unit vector as g
        assert np.linalg.norm(clipped) <= max_norm * (1 + 8 * EPS)
        np.testing.assert_allclose(clipped / np.abs(clipped).max(), g_k / np.abs(g_k).max(),
                                   rtol=1e-12, atol=1e-15)


@SCALE
@given(st.sampled_from(["uniform", "normal", "scaled_orthogonal"]), st.integers(1, 6),
       st.integers(0, 2**16), st.integers(-1000, 1000))
def test_init_recurrent_at_gain_2k_is_2k_times_the_gain_1_matrix_exactly(scheme, n, seed, k):
    base = init_recurrent(n, scheme, seed=seed)
    assume(np.all(np.abs(base) * 2.0**k > 2**-1000))  # stays normal
    if np.max(np.abs(base)) * 2.0**k >= np.finfo(float).max:
        if scheme == "normal":  # an entry beyond float64 is refused, naming the gain
            with pytest.raises(ValueError, match="gain"):
                init_recurrent(n, scheme, gain=2.0**k, seed=seed)
        return
    np.testing.assert_array_equal(init_recurrent(n, scheme, gain=2.0**k, seed=seed), np.ldexp(base, k))
