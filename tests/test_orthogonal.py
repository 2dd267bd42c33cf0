"""Tests for linalg_rnn.orthogonal, checked against NumPy and SciPy."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st

from linalg_rnn.orthogonal import (
    cayley,
    expm_skew,
    householder_reflector,
    is_orthogonal,
    nearest_orthogonal,
    orthogonality_error,
    qr_orthogonalize,
    random_orthogonal,
    rotation_matrix,
)

EPS = np.finfo(float).eps


@st.composite
def matrices(draw, min_rows=1, max_rows=8, min_cols=1, max_cols=8, square=False, tall=False):
    """A random Gaussian matrix of a drawn shape, from a drawn seed."""
    m = draw(st.integers(min_rows, max_rows))
    if square:
        n = m
    elif tall:
        n = draw(st.integers(min_cols, m))
    else:
        n = draw(st.integers(min_cols, max_cols))
    seed = draw(st.integers(0, 2**32 - 1))
    return np.random.default_rng(seed).standard_normal((m, n))


# --- orthogonality_error / is_orthogonal -----------------------------------------------


def test_orthogonality_error_is_zero_for_permutation_and_equals_spectral_norm_otherwise():
    assert orthogonality_error(np.eye(3)[[2, 0, 1]]) == 0.0
    A = np.random.default_rng(0).standard_normal((5, 3))
    expected = np.linalg.norm(A.T @ A - np.eye(3), 2)
    assert orthogonality_error(A) == pytest.approx(expected, rel=1e-12)


def test_orthogonality_error_of_tall_orthonormal_columns_is_tiny():
    Q = np.linalg.qr(np.random.default_rng(1).standard_normal((9, 4)))[0]
    assert orthogonality_error(Q) < 10 * EPS * 9


def test_is_orthogonal_respects_tolerance():
    Q = np.diag([1.0, 1.0 + 1e-6])
    assert not is_orthogonal(Q)
    assert is_orthogonal(Q, tol=1e-5)


def test_is_orthogonal_rejects_negative_tol():
    with pytest.raises(ValueError, match="tol"):
        is_orthogonal(np.eye(2), tol=-1.0)


# --- random_orthogonal: Haar measure -----------------------------------------------------


@given(st.integers(1, 12), st.integers(0, 2**32 - 1))
@settings(max_examples=30, deadline=None)
def test_random_orthogonal_is_orthogonal_and_reproducible(n, seed):
    Q = random_orthogonal(n, seed=seed)
    assert Q.shape == (n, n)
    assert orthogonality_error(Q) < 50 * n * EPS
    np.testing.assert_array_equal(Q, random_orthogonal(n, seed=seed))


def test_random_orthogonal_has_haar_means_q11_and_trace_near_zero():
    # Under Haar measure E[Q11] = 0 and E[trace Q] = 0; sd of Q11 is 1/sqrt(n),
    # sd of the trace is 1, so over 4000 draws the means are within ~0.02.
    n, draws = 4, 4000
    rng = np.random.default_rng(12345)
    samples = np.array([random_orthogonal(n, seed=rng) for _ in range(draws)])
    q11_mean = samples[:, 0, 0].mean()
    trace_mean = np.trace(samples, axis1=1, axis2=2).mean()
    assert abs(q11_mean) < 5 / np.sqrt(n * draws)
    assert abs(trace_mean) < 5 / np.sqrt(draws)


def test_uncorrected_lapack_qr_is_not_haar_its_q11_mean_is_biased():
    # The same Gaussians without the sign correction: LAPACK makes r11 = -sign(z11)||z1||,
    # so Q11 = -|z11|/||z1|| < 0 always, and its mean is far from zero.
    n, draws = 4, 2000
    rng = np.random.default_rng(12345)
    q11 = np.array([np.linalg.qr(rng.standard_normal((n, n)))[0][0, 0] for _ in range(draws)])
    assert abs(q11.mean()) > 0.3


def test_random_orthogonal_rejects_bad_n_and_seed():
    with pytest.raises(ValueError, match="n"):
        random_orthogonal(0)
    with pytest.raises(TypeError, match="n"):
        random_orthogonal(2.5)
    with pytest.raises(TypeError, match="seed"):
        random_orthogonal(3, seed="zero")
    with pytest.raises(ValueError, match="seed"):
        random_orthogonal(3, seed=-1)


# --- rotation and reflection -------------------------------------------------------------


@given(st.floats(-10, 10))
@settings(max_examples=40, deadline=None)
def test_rotation_is_orthogonal_det_one_eigenvalues_exp_plus_minus_i_theta(theta):
    G = rotation_matrix(theta)
    assert orthogonality_error(G) < 10 * EPS
    assert np.linalg.det(G) == pytest.approx(1.0, abs=1e-14)
    lam = np.sort_complex(np.linalg.eigvals(G))
    expected = np.sort_complex(np.array([np.exp(1j * theta), np.exp(-1j * theta)]))
    np.testing.assert_allclose(lam, expected, atol=1e-7)
    np.testing.assert_allclose(np.abs(lam), 1.0, atol=1e-12)


def test_rotation_matrix_rejects_bad_angle():
    for bad, err in [(np.nan, ValueError), (np.inf, ValueError), ("1", TypeError), (True, TypeError)]:
        with pytest.raises(err, match="theta"):
            rotation_matrix(bad)


@given(st.lists(st.floats(-100, 100), min_size=1, max_size=8))
@settings(max_examples=50, deadline=None)
def test_householder_reflector_is_symmetric_orthogonal_and_maps_x_to_axis(x):
    x = np.array(x)
    H = householder_reflector(x)
    np.testing.assert_allclose(H, H.T, atol=0)
    assert orthogonality_error(H) < 20 * EPS * len(x)
    target = np.zeros_like(x)
    target[0] = -(1.0 if x[0] >= 0 else -1.0) * np.linalg.norm(x)
    np.testing.assert_allclose(H @ x, target, atol=1e-12 * max(1.0, np.linalg.norm(x)))


def test_householder_reflector_works_for_tiny_and_huge_vectors_without_under_or_overflow():
    for scale in (1e-300, 1e300):
        x = scale * np.array([3.0, 4.0])
        H = householder_reflector(x)
        np.testing.assert_allclose(H @ x / scale, [-5.0, 0.0], atol=1e-12)


def test_householder_reflector_of_zero_is_identity_and_det_is_minus_one_otherwise():
    np.testing.assert_array_equal(householder_reflector([0, 0, 0]), np.eye(3))
    assert np.linalg.det(householder_reflector([3, 4])) == pytest.approx(-1.0)


def test_slides_example_swap_maps_3_4_to_4_3_keeping_norm_5():
    P = np.array([[0, 1], [1, 0]])
    assert is_orthogonal(P)
    y = P @ np.array([3, 4])
    np.testing.assert_array_equal(y, [4, 3])
    assert np.linalg.norm(y) == np.linalg.norm([3, 4]) == 5.0


# --- Cayley and exp(skew) ----------------------------------------------------------------


def _skew(n: int, seed: int, scale: float = 1.0) -> np.ndarray:
    A = np.random.default_rng(seed).standard_normal((n, n)) * scale
    return A - A.T


@given(st.integers(1, 10), st.integers(0, 2**32 - 1), st.sampled_from([0.01, 1.0, 30.0]))
@settings(max_examples=40, deadline=None)
def test_cayley_of_skew_is_orthogonal_and_matches_inverse_formula(n, seed, scale):
    A = _skew(n, seed, scale)
    Q = cayley(A)
    assert orthogonality_error(Q) < 1e-12
    I = np.eye(n)
    np.testing.assert_allclose(Q, np.linalg.inv(I + A) @ (I - A), atol=1e-9)
    # The Cayley map is its own inverse on orthogonal matrices without eigenvalue -1.
    np.testing.assert_allclose(cayley(Q), A, atol=1e-6 * max(1.0, np.abs(A).max()) ** 2)


@pytest.mark.parametrize("size", [1e-2, 1e-3])
def test_cayley_convention_agrees_with_exp_of_minus_2a_and_torchs_with_exp_a_to_second_order(size):
    # the convention stated in cayley's Notes: cay(A) = e^{-2A} + O(A^3) (here (2/3)A^3 leads),
    # and torch's/geotorch's (I - A/2)^-1 (I + A/2) = cay(-A/2) = e^{A} + O(A^3)
    A = _skew(6, 11)
    A *= size / np.linalg.norm(A, 2)
    I = np.eye(6)
    ours = np.linalg.norm(cayley(A) - scipy.linalg.expm(-2 * A), 2)
    assert ours == pytest.approx(np.linalg.norm(-2 / 3 * A @ A @ A, 2), rel=0.05)
    torchs = np.linalg.solve(I - A / 2, I + A / 2)
    np.testing.assert_allclose(torchs, cayley(-A / 2), atol=1e-15)
    assert np.linalg.norm(torchs - scipy.linalg.expm(A), 2) < size**3


def test_cayley_raises_linalgerror_when_i_plus_a_is_singular():
    with pytest.raises(np.linalg.LinAlgError, match="singular"):
        cayley(-np.eye(2))


@given(st.integers(1, 10), st.integers(0, 2**32 - 1), st.sampled_from([0.01, 1.0, 30.0]))
@settings(max_examples=40, deadline=None)
def test_expm_skew_matches_scipy_expm_and_stays_orthogonal_with_det_one(n, seed, scale):
    B = _skew(n, seed, scale)
    Q = expm_skew(B)
    assert orthogonality_error(Q) < 100 * n * EPS
    assert np.linalg.det(Q) == pytest.approx(1.0, abs=1e-10)
    np.testing.assert_allclose(Q, scipy.linalg.expm(B), atol=1e-9 * max(1.0, scale * n))


def test_expm_skew_rejects_non_skew_input_with_clear_message():
    with pytest.raises(ValueError, match="skew-symmetric"):
        expm_skew([[0.0, 1.0], [1.0, 0.0]])
    with pytest.raises(ValueError, match="tol"):
        expm_skew([[0.0, 1.0], [-1.0, 0.0]], tol=-1.0)


def test_expm_skew_accepts_rounding_level_asymmetry():
    B = _skew(4, 0)
    B[0, 1] += 1e-14
    assert is_orthogonal(expm_skew(B))


# --- nearest_orthogonal (polar) vs qr_orthogonalize --------------------------------------


@given(matrices(tall=True))
@settings(max_examples=50, deadline=None)
def test_nearest_orthogonal_equals_scipy_polar_factor(W):
    Q = nearest_orthogonal(W)
    if np.linalg.matrix_rank(W) == W.shape[1]:
        np.testing.assert_allclose(Q, scipy.linalg.polar(W)[0], atol=1e-8)
    assert orthogonality_error(Q) < 1e-12


def test_polar_factor_is_nearer_than_qr_factor_and_than_random_orthogonal_matrices():
    rng = np.random.default_rng(7)
    W = np.eye(6) + 0.3 * rng.standard_normal((6, 6))
    d_polar = np.linalg.norm(W - nearest_orthogonal(W))
    d_qr = np.linalg.norm(W - qr_orthogonalize(W))
    assert d_polar < d_qr
    s = np.linalg.svd(W, compute_uv=False)
    assert d_polar == pytest.approx(np.sqrt(np.sum((s - 1) ** 2)), rel=1e-10)
    for seed in range(200):
        assert d_polar <= np.linalg.norm(W - random_orthogonal(6, seed=seed)) + 1e-12


def test_nearest_orthogonal_of_wide_matrix_has_orthonormal_rows():
    W = np.random.default_rng(3).standard_normal((3, 5))
    Q = nearest_orthogonal(W)
    assert Q.shape == (3, 5)
    np.testing.assert_allclose(Q @ Q.T, np.eye(3), atol=1e-13)


@given(matrices(tall=True))
@settings(max_examples=50, deadline=None)
def test_qr_orthogonalize_matches_sign_normalized_scipy_qr(W):
    Q = qr_orthogonalize(W)
    assert Q.shape == W.shape
    assert orthogonality_error(Q) < 1e-12
    Qs, Rs = scipy.linalg.qr(W, mode="economic")
    d = np.where(np.diag(Rs) < 0, -1.0, 1.0)
    np.testing.assert_allclose(Q, Qs * d, atol=1e-10)
    # R = Q^T W then has a nonnegative diagonal.
    assert np.all(np.diag(Q.T @ W) >= -1e-12)


def test_qr_orthogonalize_keeps_column_when_r_diagonal_is_zero():
    W = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    Q = qr_orthogonalize(W)
    assert is_orthogonal(Q)
    assert np.all(np.linalg.norm(Q, axis=0) > 0.99)


def test_qr_orthogonalize_rejects_wide_matrix_and_suggests_transpose():
    with pytest.raises(ValueError, match="W.T"):
        qr_orthogonalize(np.ones((2, 3)))


# --- the input contract ------------------------------------------------------------------

MATRIX_FUNCTIONS = [
    (orthogonality_error, "Q"),
    (is_orthogonal, "Q"),
    (cayley, "A"),
    (expm_skew, "B"),
    (nearest_orthogonal, "W"),
    (qr_orthogonalize, "W"),
]


@pytest.mark.parametrize(("func", "name"), MATRIX_FUNCTIONS)
@pytest.mark.parametrize(
    ("bad", "err"),
    [
        ([1.0, 2.0], ValueError),  # 1-D
        (np.zeros((0, 0)), ValueError),  # empty
        ([[1.0, np.nan], [0.0, 1.0]], ValueError),
        ([[1.0, np.inf], [0.0, 1.0]], ValueError),
        ([[1j, 0], [0, 1]], TypeError),
        ("abc", TypeError),
        ([["a", "b"], ["c", "d"]], TypeError),
        (np.zeros((2, 2, 2)), ValueError),  # 3-D
    ],
)
def test_matrix_functions_reject_bad_input_naming_the_argument(func, name, bad, err):
    with pytest.raises(err, match=name):
        func(bad)


@pytest.mark.parametrize("func", [cayley, expm_skew])
def test_square_only_functions_reject_non_square(func):
    with pytest.raises(ValueError, match="square"):
        func(np.zeros((2, 3)))


@pytest.mark.parametrize("bad", [[], [np.nan, 1.0], [[1.0, 2.0]], "xy", [1j, 1]])
def test_householder_reflector_rejects_bad_vector(bad):
    with pytest.raises((ValueError, TypeError), match="x"):
        householder_reflector(bad)


@pytest.mark.parametrize(
    "func",
    [orthogonality_error, is_orthogonal, cayley, expm_skew, nearest_orthogonal, qr_orthogonalize],
)
def test_matrix_functions_do_not_modify_input_and_promote_integers(func):
    A = np.array([[0, 2], [-2, 0]])
    before = A.copy()
    func(A)
    np.testing.assert_array_equal(A, before)
    F = np.array([[0.0, 2.0], [-2.0, 0.0]])
    np.testing.assert_allclose(np.asarray(func(A), dtype=float), np.asarray(func(F), dtype=float))


def test_householder_reflector_does_not_modify_input_and_promotes_integers():
    x = np.array([3, 4])
    H = householder_reflector(x)
    np.testing.assert_array_equal(x, [3, 4])
    assert H.dtype == np.float64
    np.testing.assert_allclose(H, householder_reflector([3.0, 4.0]))


def test_lists_work_as_input():
    assert is_orthogonal([[0, -1], [1, 0]])
    assert nearest_orthogonal([[1, 0], [0, 1]]).dtype == np.float64


# --- issue 10: the edges of float64 -------------------------------------------------------


@pytest.mark.parametrize("scale, expected", [(1e150, 1e300), (1e200, np.inf), (1e300, np.inf)])
def test_orthogonality_error_past_float64_is_inf_never_nan(scale, expected, capfd):
    # before: NaN for Q * 1e200, and LAPACK printed "DLASCL parameter had an illegal value"
    Q = random_orthogonal(3, seed=0) * scale
    err = orthogonality_error(Q)  # ||scale^2 Q^T Q - I||_2 = scale^2 - 1
    assert err == pytest.approx(expected, rel=1e-12)
    assert not is_orthogonal(Q)
    assert capfd.readouterr().err == ""


def test_orthogonality_error_of_a_tiny_q_is_one():
    assert orthogonality_error(random_orthogonal(3, seed=0) * 1e-200) == 1.0


@pytest.mark.parametrize("k", [20, 50, 100, 1000])
@pytest.mark.parametrize("n", [3, 5])
def test_cayley_and_expm_of_a_large_odd_skew_matrix_stay_orthogonal(n, k):
    # before: the LU solve lost orthogonality (error 0.24 at 2^50, 4.4 at 2^100) and
    # exp via eigh(iB) lost it too (0.36, det 0.80 at 2^50)
    S = np.ldexp(_skew(n, 0), k)
    for Q in (cayley(S), expm_skew(S)):
        assert orthogonality_error(Q) < 100 * n * EPS
        assert np.linalg.det(Q) == pytest.approx(1.0, abs=1e-12)


def test_cayley_of_a_huge_skew_matrix_is_minus_identity_plus_its_tiny_rotation():
    Q = cayley([[0.0, 1e200], [-1e200, 0.0]])  # exactly (1 - w^2, -2w) / (1 + w^2)
    np.testing.assert_array_equal(Q, [[-1.0, -2e-200], [2e-200, -1.0]])


@pytest.mark.parametrize("B", [np.ones((2, 2)) * 1e200, np.ones((2, 2)) * 1e-20])
def test_expm_skew_refuses_a_huge_or_tiny_matrix_that_is_not_skew(B):
    # before: both were accepted (inf > inf is False; the tolerance was absolute below 1)
    with pytest.raises(ValueError, match="skew-symmetric"):
        expm_skew(B)


def test_expm_skew_refuses_eigenvalues_beyond_float64():
    with pytest.raises(ValueError, match="beyond float64"):
        expm_skew(np.array([[0.0, 1.7e308, 1.7e308], [-1.7e308, 0.0, 1.7e308], [-1.7e308, -1.7e308, 0.0]]))


@pytest.mark.parametrize("scale", [1e300, 1e-300, 1e-320])
def test_projections_of_a_huge_or_tiny_matrix_are_those_of_the_matrix(scale):
    W = np.array([[2.0, 1.0], [0.5, 3.0]])
    np.testing.assert_allclose(nearest_orthogonal(W * scale), nearest_orthogonal(W), atol=1e-15)
    np.testing.assert_allclose(qr_orthogonalize(W * scale), qr_orthogonalize(W), atol=1e-15)


def test_rotation_matrix_names_theta_when_it_is_beyond_float64():
    words = "theta must be a finite real number, got an integer of 401 digits, beyond float64"
    with pytest.raises(ValueError, match=words):
        rotation_matrix(10**400)


def test_random_orthogonal_refuses_an_n_beyond_memory_naming_n():
    # before: MemoryError from inside numpy
    with pytest.raises(ValueError, match="n=1000000 needs about"):
        random_orthogonal(10**6)


def test_a_tensor_that_requires_grad_is_read_as_its_values():
    torch = pytest.importorskip("torch")
    W = np.random.default_rng(2).standard_normal((4, 4))
    t = torch.tensor(W, requires_grad=True)
    S = torch.tensor(W - W.T, requires_grad=True)
    assert orthogonality_error(t) == orthogonality_error(W)
    np.testing.assert_array_equal(nearest_orthogonal(t), nearest_orthogonal(W))
    np.testing.assert_array_equal(qr_orthogonalize(t), qr_orthogonalize(W))
    np.testing.assert_array_equal(cayley(S), cayley(W - W.T))
    np.testing.assert_array_equal(expm_skew(S), expm_skew(W - W.T))
    np.testing.assert_array_equal(rotation_matrix(torch.tensor(0.5)), rotation_matrix(0.5))
