"""linalg_rnn.qr at the edges of float64: every representable scale gives the right factors.

Scaling by a power of two is exact, so the factors of ``2**k * A`` are known
exactly from those of ``A``: the same Q and ``2**k * R``.  The package
promises this **bit for bit** for every ``k`` with ``2**k * A`` representable
(each entry of R rounded once where it falls into the subnormal range), and
finite results whenever R is representable.  These tests check that promise
over the whole exponent range, against NumPy (LAPACK) as well as against the
unscaled factors, and the cases the reliability issue reported (A * 1e300,
A * 1e-300, Gram--Schmidt on A * 1e+-200).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from linalg_rnn.orthogonal import householder_reflector, orthogonality_error
from linalg_rnn.qr import (
    blocked_householder_qr,
    classical_gram_schmidt,
    givens_qr,
    householder_qr,
    householder_reflectors,
    modified_gram_schmidt,
    reorthogonalized_gram_schmidt,
    sign_normalize,
)

TINY = np.finfo(float).smallest_subnormal  # 2^-1074


def blocked1(A, mode="reduced"):
    return blocked_householder_qr(A, block_size=1, mode=mode)


def blocked3(A, mode="reduced"):
    return blocked_householder_qr(A, block_size=3, mode=mode)


ANY_SHAPE = [householder_qr, blocked_householder_qr, blocked1, blocked3, givens_qr]
GRAM_SCHMIDT = [classical_gram_schmidt, modified_gram_schmidt, reorthogonalized_gram_schmidt]
ALL = ANY_SHAPE + GRAM_SCHMIDT


@st.composite
def short_matrices(draw, tall=False):
    """A Gaussian matrix rounded to multiples of 1/64 (nonzero), from a drawn seed and shape.

    Short mantissas keep ``2**k * A`` exactly representable down into the
    subnormal range, so the exact-scaling promise can be tested there too.
    """
    m = draw(st.integers(1, 9))
    n = draw(st.integers(1, m if tall else 9))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    A = np.round(rng.standard_normal((m, n)) * 64) / 64
    assume(np.abs(A).max() > 0)
    return A


def scaled_exactly(A, k):
    """``2**k * A`` if every entry is exactly representable, else None."""
    with np.errstate(over="ignore"):
        Ak = np.ldexp(A, k)
    if not np.all(np.isfinite(Ak)) or not np.array_equal(np.ldexp(Ak, -k), A):
        return None
    return Ak


def full_rank(A, limit=1e8):
    s = np.linalg.svd(A, compute_uv=False)
    return s[-1] > 0 and s[0] / s[-1] < limit


# --- exact scaling, bit for bit, across the whole exponent range -------------------------


@pytest.mark.parametrize("method", ALL, ids=lambda f: f.__name__)
@given(A=short_matrices(tall=True), k=st.integers(-1074, 1023))
@settings(max_examples=60, deadline=None)
def test_factors_of_2_to_the_k_times_a_are_q_and_2_to_the_k_times_r_bit_for_bit(method, A, k):
    if method in GRAM_SCHMIDT:
        assume(full_rank(A))
    Ak = scaled_exactly(A, k)
    assume(Ak is not None)
    Q, R = method(A)
    with np.errstate(over="ignore"):
        Qk, Rk = method(Ak)
        expected_R = np.ldexp(R, k)  # rounded once where subnormal, inf where the exact R overflows
    np.testing.assert_array_equal(Qk, Q)
    np.testing.assert_array_equal(Rk, expected_R)


@pytest.mark.parametrize("method", ANY_SHAPE, ids=lambda f: f.__name__)
@given(A=short_matrices(), k=st.integers(-1074, 1023))
@settings(max_examples=40, deadline=None)
def test_wide_and_rank_deficient_inputs_scale_exactly_too(method, A, k):
    A = np.hstack([A, A[:, :1]])  # a repeated column: rank-deficient whatever A is
    Ak = scaled_exactly(A, k)
    assume(Ak is not None)
    Q, R = method(A)
    with np.errstate(over="ignore"):
        Qk, Rk = method(Ak)
        expected_R = np.ldexp(R, k)
    np.testing.assert_array_equal(Qk, Q)
    np.testing.assert_array_equal(Rk, expected_R)


@pytest.mark.parametrize("method", ALL, ids=lambda f: f.__name__)
@given(A=short_matrices(tall=True), k=st.integers(-1074, 1023))
@settings(max_examples=40, deadline=None)
def test_scaled_factors_match_numpy_of_the_unscaled_matrix_scaled(method, A, k):
    assume(full_rank(A, 1e6))
    Ak = scaled_exactly(A, k)
    assume(Ak is not None)
    Qn, Rn = sign_normalize(*np.linalg.qr(A))
    with np.errstate(over="ignore"):
        Qk, Rk = method(Ak)
        expected_R = np.ldexp(Rn, k)
    assume(np.all(np.isfinite(expected_R)))  # R itself representable
    assert np.all(np.isfinite(Qk)) and np.all(np.isfinite(Rk))
    np.testing.assert_allclose(Qk, Qn, atol=1e-9)
    # Relative to the size of R, plus half a subnormal step per entry for the final rounding.
    scale = np.ldexp(np.abs(Rn).max(), k)
    assert np.all(np.abs(Rk - expected_R) <= 1e-9 * scale + TINY)


@pytest.mark.parametrize("method", ANY_SHAPE, ids=lambda f: f.__name__)
@given(A=short_matrices(), k=st.integers(-1074, -1000))
@settings(max_examples=30, deadline=None)
def test_inputs_that_lose_bits_in_the_subnormal_range_still_get_a_backward_stable_qr(method, A, k):
    # 2^k A rounded to the subnormal grid is a different matrix A'; its QR must be right for A'.
    Ak = np.ldexp(A, k)
    assume(np.abs(Ak).max() > 0)
    Q, R = method(Ak)
    assert np.all(np.isfinite(Q)) and np.all(np.isfinite(R))
    assert orthogonality_error(Q) < 1e-13
    # Relative to the representable input, with a few subnormal steps of absolute error.
    assert np.abs(Q @ R - Ak).max() <= 1e-13 * np.abs(Ak).max() + 8 * A.shape[1] * TINY


# --- the cases the reliability campaign reported ---------------------------------------


@pytest.fixture(scope="module")
def gaussian():
    return np.random.default_rng(0).standard_normal((8, 5))


@pytest.mark.parametrize("method", ALL, ids=lambda f: f.__name__)
@pytest.mark.parametrize("c", [1e300, 1e200, 1e-200, 1e-300])
def test_a_times_huge_or_tiny_c_gives_finite_factors_that_reproduce_a(method, c, gaussian):
    A = gaussian * c
    Q, R = method(A)  # Gram-Schmidt must not call a full-rank c * A "dependent"
    assert np.all(np.isfinite(Q)) and np.all(np.isfinite(R))
    assert orthogonality_error(Q) < 1e-14
    # Q R = A relative to ||A||, computed in units of c so the check itself cannot overflow.
    assert np.linalg.norm(Q @ (R / c) - gaussian) <= 1e-14 * np.linalg.norm(gaussian)
    Qn, Rn = sign_normalize(*np.linalg.qr(gaussian))
    np.testing.assert_allclose(Q, Qn, atol=1e-13)
    np.testing.assert_allclose(R / c, Rn, atol=1e-13)


@pytest.mark.parametrize("method", ANY_SHAPE, ids=lambda f: f.__name__)
def test_graded_columns_from_2_to_the_1000_down_to_2_to_the_minus_1000_match_numpy(method, gaussian):
    # Column j scaled by d_j: the exact factors are Q and R D, with entries spanning 2^2000.
    d = np.ldexp(1.0, np.array([1000, -1000, 500, -900, 0]))
    Q, R = method(gaussian * d)
    Qn, Rn = sign_normalize(*np.linalg.qr(gaussian))
    np.testing.assert_allclose(Q, Qn, atol=1e-13)
    np.testing.assert_allclose(R / d, Rn, atol=1e-13)


@pytest.mark.parametrize("method", GRAM_SCHMIDT, ids=lambda f: f.__name__)
@pytest.mark.parametrize("k", [-1000, -600, 600, 1000])
def test_gram_schmidt_dependence_test_gives_the_same_verdict_at_every_scale(method, k):
    a = np.array([1.0, 2.0, 2.0])
    dependent = np.column_stack([a, a + np.array([0.0, 0.0, 3e-16])])  # below n eps ||A||_F
    with pytest.raises(np.linalg.LinAlgError, match="column 1"):
        method(np.ldexp(dependent, k))
    independent = np.column_stack([a, a + np.array([0.0, 0.0, 1e-6])])
    Q, R = method(np.ldexp(independent, k))
    np.testing.assert_array_equal(Q, method(independent)[0])


@pytest.mark.parametrize("method", GRAM_SCHMIDT, ids=lambda f: f.__name__)
def test_gram_schmidt_rank_tol_is_in_the_units_of_a_at_every_scale(method):
    a = np.array([1.0, 2.0, 2.0])
    A = np.column_stack([a, a + np.array([0.0, 0.0, 1e-6])])  # remainder about 7e-7
    for k in (-1000, 0, 1000):
        Ak = np.ldexp(A, k)
        method(Ak, rank_tol=np.ldexp(1e-7, k))  # accepted: 7e-7 > 1e-7
        with pytest.raises(np.linalg.LinAlgError, match="column 1"):
            method(Ak, rank_tol=np.ldexp(1e-5, k))


def test_householder_reflectors_keep_unit_vectors_at_every_scale(gaussian):
    vectors = householder_reflectors(gaussian).vectors
    for k in (-1070, -1000, 1000, 1020):
        Ak = scaled_exactly(gaussian, k)
        if Ak is None:
            continue
        for v, v0 in zip(householder_reflectors(Ak).vectors, vectors, strict=True):
            np.testing.assert_array_equal(v, v0)


@given(seed=st.integers(0, 2**32 - 1), k=st.integers(-1074, 1023), m=st.integers(1, 8))
@settings(max_examples=60, deadline=None)
def test_householder_reflector_of_2_to_the_k_x_is_that_of_x_bit_for_bit(seed, k, m):
    x = np.round(np.random.default_rng(seed).standard_normal(m) * 64) / 64
    xk = scaled_exactly(x, k)
    assume(xk is not None and np.abs(x).max() > 0)
    np.testing.assert_array_equal(householder_reflector(xk), householder_reflector(x))


@pytest.mark.parametrize("method", ANY_SHAPE, ids=lambda f: f.__name__)
def test_a_zero_pivot_that_underflows_when_unscaled_keeps_its_sign_and_q(method):
    # Rank 2: r_33 is rounding noise (~1e-17), which at 2^-1019 is below the smallest subnormal.
    A = np.array([[0.34375, 0.828125], [0.328125, -1.296875], [0.90625, 0.453125]])
    A = np.hstack([A, A[:, :1]])
    Q, R = method(A)
    Qk, Rk = method(np.ldexp(A, -1019))
    np.testing.assert_array_equal(Qk, Q)
    np.testing.assert_array_equal(Rk, np.ldexp(R, -1019))


def test_householder_reflector_is_right_when_the_norm_of_x_overflows():
    x = np.ldexp([1.0, -1.0, 1.0], 1023)  # ||x|| = sqrt(3) 2^1023 is not representable
    np.testing.assert_array_equal(householder_reflector(x), householder_reflector([1.0, -1.0, 1.0]))
