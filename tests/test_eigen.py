"""Tests for linalg_rnn.eigen, checked against NumPy, sympy and Trefethen & Bau's numbers."""

from __future__ import annotations

import math
import warnings
from fractions import Fraction

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

import linalg_rnn.eigen as eigen
from linalg_rnn._validation import ConvergenceWarning
from linalg_rnn.eigen import (
    EigenResult,
    characteristic_polynomial,
    eigenvalues_exact,
    fibonacci,
    inverse_iteration,
    matrix_power_eig,
    power_iteration,
    rayleigh_quotient,
    rayleigh_quotient_iteration,
    spectral_radius,
)

LAM = sympy.Symbol("lambda")
T_B_27_1 = [[2, 1, 1], [1, 3, 1], [1, 1, 4]]
FAST = settings(max_examples=40, deadline=None)


def symmetric_with_spectrum(lams, seed: int) -> np.ndarray:
    """Q diag(lams) Q^T with a random orthogonal Q (QR of a Gaussian matrix)."""
    lams = np.asarray(lams, dtype=float)
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((lams.size, lams.size)))
    return (Q * lams) @ Q.T


@st.composite
def dominant_spectra(draw, max_ratio: float = 0.9):
    """(A, lams, seed): symmetric A whose first eigenvalue dominates by |lambda_2/lambda_1| <= max_ratio."""
    n = draw(st.integers(2, 6))
    lam1 = draw(st.floats(0.5, 10.0)) * draw(st.sampled_from([-1.0, 1.0]))
    ratio = draw(st.floats(0.05, max_ratio))
    rest = draw(st.lists(st.floats(-1.0, 1.0), min_size=n - 2, max_size=n - 2))
    sign2 = draw(st.sampled_from([-1.0, 1.0]))
    lams = [lam1, sign2 * ratio * abs(lam1)] + [ratio * abs(lam1) * t for t in rest]
    seed = draw(st.integers(0, 2**32 - 1))
    return symmetric_with_spectrum(lams, seed), np.array(lams), seed


@st.composite
def separated_spectra(draw):
    """(A, lams, seed): symmetric A with distinct integer eigenvalues (gaps >= 1)."""
    n = draw(st.integers(2, 6))
    lams = draw(st.lists(st.integers(-20, 20), min_size=n, max_size=n, unique=True))
    seed = draw(st.integers(0, 2**32 - 1))
    return symmetric_with_spectrum(lams, seed), np.array(lams, dtype=float), seed


small_int_matrices = st.integers(1, 3).flatmap(
    lambda n: st.lists(
        st.lists(st.integers(-5, 5), min_size=n, max_size=n), min_size=n, max_size=n
    )
)


def test_all_lists_exactly_the_public_teaching_names():
    assert sorted(eigen.__all__) == sorted(
        [
            "characteristic_polynomial", "eigenvalues_exact", "power_iteration", "inverse_iteration",
            "rayleigh_quotient_iteration", "rayleigh_quotient", "spectral_radius",
            "matrix_power_eig", "fibonacci", "EigenResult",
        ]
    )


# --------------------------------------------------------------------------- exact (sympy)


def test_characteristic_polynomial_of_all_ones_matrix_has_roots_zero_and_two():
    p = characteristic_polynomial([[1, 1], [1, 1]])
    assert sympy.expand(p - (LAM**2 - 2 * LAM)) == 0
    assert eigenvalues_exact([[1, 1], [1, 1]]) == {0: 1, 2: 1}


def test_orthogonal_reflection_has_eigenvalues_plus_and_minus_one_exactly():
    r = 1 / sympy.sqrt(2)
    A = [[r, -r], [-r, -r]]
    assert sympy.expand(characteristic_polynomial(A) - (LAM**2 - 1)) == 0
    assert eigenvalues_exact(A) == {-1: 1, 1: 1}
    assert eigenvalues_exact(sympy.Matrix(A)) == {-1: 1, 1: 1}


def test_characteristic_polynomial_keeps_fractions_exact():
    A = [[Fraction(1, 2), Fraction(1, 3)], [Fraction(1, 3), Fraction(1, 2)]]
    p = characteristic_polynomial(A)
    # (1/2 - l)^2 - 1/9, roots 1/2 +- 1/3 = 5/6 and 1/6: rational, not floats
    assert eigenvalues_exact(A) == {sympy.Rational(1, 6): 1, sympy.Rational(5, 6): 1}
    assert all(c.is_Rational for c in sympy.Poly(p, LAM).all_coeffs())


def test_characteristic_polynomial_with_float_entries_has_float_roots():
    vals = eigenvalues_exact([[1.5, 2.0], [4.0, 5.0]])
    assert np.allclose(sorted(complex(v).real for v in vals), np.sort(np.linalg.eigvals([[1.5, 2], [4, 5]])))


def test_eigenvalues_exact_counts_multiplicity_of_repeated_eigenvalue():
    assert eigenvalues_exact([[2, 1, 0], [0, 2, 0], [0, 0, 3]]) == {2: 2, 3: 1}


def test_eigenvalues_exact_returns_conjugate_pair_for_rotation():
    vals = eigenvalues_exact([[0, -1], [1, 0]])
    assert vals == {-sympy.I: 1, sympy.I: 1}


@FAST
@given(small_int_matrices)
def test_characteristic_polynomial_coefficients_match_numpy_poly(rows):
    A = np.array(rows, dtype=float)
    n = A.shape[0]
    coeffs = [float(c) for c in sympy.Poly(characteristic_polynomial(rows), LAM).all_coeffs()]
    # numpy.poly gives det(lambda I - A), which differs by (-1)^n
    assert np.allclose(np.array(coeffs) * (-1) ** n, np.poly(A), atol=1e-9)


@settings(max_examples=30, deadline=None)
@given(small_int_matrices)
def test_eigenvalues_exact_agree_with_numpy_eigvals(rows):
    vals = eigenvalues_exact(rows)
    assert sum(vals.values()) == len(rows)
    exact = [complex(sympy.N(z, 30)) for z, m in vals.items() for _ in range(m)]
    numeric = list(np.linalg.eigvals(np.array(rows, dtype=float)).astype(complex))
    # a root of multiplicity m moves by about eps**(1/m) in floating point
    # (a triple root: ~1e-5), so compare loosely; distinct integer-matrix roots differ by far more.
    # Pair each exact root with its nearest numerical one (sorting would order real parts of
    # -6e-16 and 0 differently, and pair 0 with -i).
    for z in exact:
        nearest = min(range(len(numeric)), key=lambda j: abs(numeric[j] - z))
        assert abs(numeric.pop(nearest) - z) <= 1e-3


def test_eigenvalues_exact_gives_every_root_of_a_degree_five_polynomial():
    A = np.diag([1, 2, 3, 4, 5]) + np.diag([1, 1, 1, 1], 1) + np.diag([1, 1, 1, 1], -1)
    vals = eigenvalues_exact(A)
    got = np.sort([complex(sympy.N(z)).real for z in vals])
    assert np.allclose(got, np.linalg.eigvalsh(A.astype(float)))


# --------------------------------------------------------------------------- power iteration


@FAST
@given(dominant_spectra())
def test_power_iteration_finds_dominant_eigenpair_of_symmetric_matrix_with_known_spectrum(case):
    A, lams, seed = case
    res = power_iteration(A, seed=seed)
    assert res.converged
    assert res.eigenvalue == pytest.approx(lams[0], rel=1e-8)
    assert np.linalg.norm(res.eigenvector) == pytest.approx(1.0)
    q1 = np.linalg.eigh(A)[1][:, np.argmax(np.abs(np.linalg.eigvalsh(A)))]
    assert abs(res.eigenvector @ q1) == pytest.approx(1.0, abs=1e-9)
    final = np.linalg.norm(A @ res.eigenvector - res.eigenvalue * res.eigenvector)
    assert final <= 1e-10 * np.linalg.norm(A)  # the stopping test: tol * ||A||_F


def test_power_iteration_agrees_with_numpy_eig_on_a_positive_nonsymmetric_matrix():
    A = np.random.default_rng(3).uniform(0.1, 1.0, size=(6, 6))  # Perron: a simple dominant eigenvalue > 0
    res = power_iteration(A, seed=1)
    lam, V = np.linalg.eig(A)
    j = np.argmax(np.abs(lam))
    v = np.real(V[:, j]) / np.linalg.norm(np.real(V[:, j]))
    assert res.converged
    assert res.eigenvalue == pytest.approx(lam[j].real, rel=1e-9)
    assert abs(res.eigenvector @ v) == pytest.approx(1.0, abs=1e-9)


def _geometric_rate(errors: np.ndarray, lo: float, hi: float) -> float:
    """Mean factor per step of ``errors`` over the window where lo < error < hi."""
    idx = np.flatnonzero((errors > lo) & (errors < hi))
    assert idx.size > 5, "window too short to measure a rate"
    i0, i1 = idx[0], idx[-1]
    return float((errors[i1] / errors[i0]) ** (1.0 / (i1 - i0)))


@pytest.mark.parametrize("ratio", [0.5, 0.6, 0.7, 0.8, 0.9, 0.95])
def test_power_iteration_vector_converges_at_rate_of_gap_ratio(ratio):
    lams = np.r_[2.0, 2.0 * ratio, np.linspace(0.8 * ratio, -0.8 * ratio, 5)]
    A = symmetric_with_spectrum(lams, seed=7)
    res = power_iteration(A, seed=11, tol=1e-14, max_iter=5000)
    # the residual is proportional to the sine of the angle to q1
    measured = _geometric_rate(res.history["residual"], 1e-11, 1e-3)
    assert measured == pytest.approx(ratio, rel=0.10)


@settings(max_examples=30, deadline=None)
@given(
    ratio=st.floats(0.5, 0.95),
    scale=st.floats(0.5, 10.0),
    signs=st.tuples(st.sampled_from([-1.0, 1.0]), st.sampled_from([-1.0, 1.0])),
    rest=st.lists(st.floats(-0.7, 0.7), min_size=1, max_size=6),
    seed=st.integers(0, 2**32 - 1),
)
def test_power_iteration_rate_is_within_ten_percent_of_gap_ratio_on_random_spectra(
    ratio, scale, signs, rest, seed
):
    # lambda_3.. are kept below 0.7 |lambda_2|, and the start vector has equal
    # components along every eigenvector, so that the lambda_2 term alone sets
    # the rate over the measuring window.  (A random start can put almost
    # nothing along q_2 -- seed 87 gave 1e-3 of it -- and then the faster
    # lambda_3 term rules the window: that is the theory, not a failure of it.)
    lam1 = signs[0] * scale
    lams = np.r_[lam1, signs[1] * ratio * scale, ratio * scale * np.array(rest)]
    A = symmetric_with_spectrum(lams, seed)
    Q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((lams.size, lams.size)))
    res = power_iteration(A, x0=Q.sum(axis=1), tol=1e-14, max_iter=5000)
    measured = _geometric_rate(res.history["residual"], 1e-11 * scale, 1e-3 * scale)
    assert measured == pytest.approx(ratio, rel=0.10)


@pytest.mark.parametrize("ratio", [0.5, 0.7, 0.9, 0.95])
def test_power_iteration_eigenvalue_of_symmetric_matrix_converges_at_squared_rate(ratio):
    lams = np.r_[-3.0, 3.0 * ratio, np.linspace(0.5 * ratio, -0.5 * ratio, 4)]
    A = symmetric_with_spectrum(lams, seed=5)
    res = power_iteration(A, seed=2, tol=1e-14, max_iter=5000)
    errors = np.abs(res.history["eigenvalue"] - lams[0])
    measured = _geometric_rate(errors, 1e-12, 1e-3)
    assert measured == pytest.approx(ratio**2, rel=0.10)


def test_power_iteration_start_that_is_an_eigenvector_takes_zero_steps():
    res = power_iteration(np.diag([3.0, 1.0]), x0=[5.0, 0.0])
    assert res.converged and res.iterations == 0 and res.eigenvalue == 3.0
    assert len(res.history["eigenvalue"]) == 1


def test_power_iteration_on_zero_matrix_returns_eigenvalue_zero():
    res = power_iteration(np.zeros((3, 3)), seed=0)
    assert res.converged and res.eigenvalue == 0.0


def test_history_has_one_entry_per_step_plus_the_start():
    res = power_iteration([[4, 1], [1, 1]], seed=0)
    assert len(res.history["eigenvalue"]) == len(res.history["residual"]) == res.iterations + 1
    assert res.history["eigenvalue"][-1] == res.eigenvalue
    norm_A = np.linalg.norm([[4, 1], [1, 1]])  # the stopping test is relative: tol * ||A||_F
    assert res.history["residual"][-1] <= 1e-10 * norm_A
    assert np.all(res.history["residual"][:-1] > 1e-10 * norm_A)


def test_same_seed_gives_same_random_start_and_generator_is_accepted():
    A = [[2, 1], [1, 3]]
    a, b = power_iteration(A, seed=42), power_iteration(A, seed=42)
    assert np.array_equal(a.history["eigenvalue"], b.history["eigenvalue"])
    c = power_iteration(A, seed=np.random.default_rng(42))
    assert np.array_equal(a.history["eigenvalue"], c.history["eigenvalue"])
    assert not np.array_equal(a.history["eigenvalue"], power_iteration(A, seed=43).history["eigenvalue"])


# --------------------------------------------------------------------------- non-convergence


@pytest.mark.parametrize(
    "A",
    [
        pytest.param([[1.0, 0.0], [0.0, -1.0]], id="lambda1=-lambda2"),
        pytest.param(symmetric_with_spectrum([2.0, -2.0, 0.5], seed=1), id="plus-minus-pair"),
        pytest.param([[0.0, -2.0], [2.0, 0.0]], id="complex-pair"),
        pytest.param([[0.9, -0.5, 0.1], [0.5, 0.9, 0.0], [0.0, 0.0, 0.3]], id="complex-dominant-pair"),
    ],
)
def test_power_iteration_without_dominant_eigenvalue_warns_and_reports_not_converged(A):
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        res = power_iteration(A, seed=0, max_iter=200)
    assert not res.converged
    assert res.iterations == 200 and len(res.history["residual"]) == 201
    assert issubclass(ConvergenceWarning, RuntimeWarning)


def test_inverse_iteration_with_shift_halfway_between_two_eigenvalues_warns():
    with pytest.warns(ConvergenceWarning):
        res = inverse_iteration(np.diag([1.0, 3.0]), shift=2.0, x0=[1.0, 1.0], max_iter=50)
    assert not res.converged and res.iterations == 50


def test_converged_runs_emit_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        power_iteration(T_B_27_1, seed=0)
        inverse_iteration(T_B_27_1, 1.0, seed=0)
        rayleigh_quotient_iteration(T_B_27_1, seed=0)


# --------------------------------------------------------------------------- inverse iteration, RQI


def test_rayleigh_quotient_iteration_reproduces_trefethen_bau_example_27_1():
    res = rayleigh_quotient_iteration(T_B_27_1, x0=np.ones(3) / np.sqrt(3))
    book = [5.0, 5.2131147541, 5.2143197432, 5.2143197434]
    assert res.converged and res.iterations == 3
    assert np.allclose(res.history["eigenvalue"], book, rtol=0, atol=5e-11)
    assert res.eigenvalue == pytest.approx(np.linalg.eigvalsh(np.array(T_B_27_1, float))[-1], abs=1e-13)


def test_rayleigh_quotient_iteration_errors_shrink_cubically_on_example_27_1():
    with pytest.warns(ConvergenceWarning):  # tol=0 on purpose: we want exactly two steps
        res = rayleigh_quotient_iteration(T_B_27_1, x0=[1, 1, 1], tol=0, max_iter=2)
    true = np.linalg.eigvalsh(np.array(T_B_27_1, float))[-1]
    e = np.abs(res.history["eigenvalue"] - true)
    # each error is bounded by a modest constant times the cube of the previous one
    assert e[1] <= 2 * e[0] ** 3 and e[2] <= 2 * e[1] ** 3
    assert e[2] < 1e-9


@FAST
@given(separated_spectra())
def test_rayleigh_quotient_iteration_converges_to_an_eigenpair_of_symmetric_matrix(case):
    A, lams, seed = case
    res = rayleigh_quotient_iteration(A, seed=seed)
    assert res.converged and res.iterations <= 20
    assert np.min(np.abs(lams - res.eigenvalue)) <= 1e-8 * max(1.0, abs(res.eigenvalue))


@FAST
@given(separated_spectra(), st.data())
def test_inverse_iteration_finds_eigenvalue_nearest_the_shift(case, data):
    A, lams, seed = case
    target = data.draw(st.sampled_from(sorted(lams)))
    shift = target + data.draw(st.floats(-0.3, 0.3))
    res = inverse_iteration(A, shift, seed=seed)
    assert res.converged
    assert res.eigenvalue == pytest.approx(target, abs=1e-8 * max(1.0, abs(target)))
    assert np.linalg.norm(res.eigenvector) == pytest.approx(1.0)


def test_inverse_iteration_with_shift_exactly_an_eigenvalue_converges_in_one_step():
    res = inverse_iteration(np.diag([1.0, 2.0, 3.0]), shift=2, seed=0)
    assert res.converged and res.iterations == 1 and res.eigenvalue == 2.0
    assert np.allclose(res.eigenvector, [0, 1, 0])
    res = inverse_iteration([[2, 1], [1, 2]], shift=1, x0=[1, 0])  # A - I = [[1,1],[1,1]]
    assert res.converged and res.eigenvalue == pytest.approx(1.0, abs=1e-14)
    assert abs(res.eigenvector @ np.array([1, -1])) / np.sqrt(2) == pytest.approx(1.0)


def test_rayleigh_quotient_iteration_whose_shift_hits_an_eigenvalue_exactly_converges():
    # the Rayleigh quotient of (1,1,1) for diag(1,2,3) is exactly 2: A - 2I is singular
    res = rayleigh_quotient_iteration(np.diag([1.0, 2.0, 3.0]), x0=[1, 1, 1])
    assert res.converged and res.eigenvalue == 2.0 and res.iterations == 1
    assert np.allclose(res.eigenvector, [0, 1, 0])


# --------------------------------------------------------------------------- Rayleigh quotient, radius


@FAST
@given(separated_spectra())
def test_rayleigh_quotient_of_an_eigenvector_is_its_eigenvalue(case):
    A, lams, _ = case
    w, V = np.linalg.eigh(A)
    for j in range(len(w)):
        assert rayleigh_quotient(A, 3.0 * V[:, j]) == pytest.approx(w[j], abs=1e-9)


def test_rayleigh_quotient_error_is_quadratic_in_eigenvector_error_for_symmetric_matrix():
    A = np.array(T_B_27_1, dtype=float)
    w, V = np.linalg.eigh(A)
    d = np.random.default_rng(0).standard_normal(3)
    errors = [abs(rayleigh_quotient(A, V[:, 2] + eps * d) - w[2]) for eps in (1e-2, 1e-3)]
    assert errors[1] / errors[0] == pytest.approx(1e-2, rel=0.05)


def test_spectral_radius_matches_numpy_eigvals_including_complex_eigenvalues():
    rng = np.random.default_rng(0)
    for n in (1, 2, 5, 20):
        A = rng.standard_normal((n, n))
        assert spectral_radius(A) == pytest.approx(np.max(np.abs(np.linalg.eigvals(A))))
    assert spectral_radius([[0, -2], [2, 0]]) == pytest.approx(2.0)


# --------------------------------------------------------------------------- matrix powers


@FAST
@given(dominant_spectra(max_ratio=0.95), st.integers(0, 12))
def test_matrix_power_eig_matches_numpy_matrix_power(case, k):
    A, lams, _ = case
    expected = np.linalg.matrix_power(A, k)
    got = matrix_power_eig(A, k)
    scale = max(1.0, np.max(np.abs(lams)) ** k)
    assert got.dtype == np.float64
    assert np.allclose(got, expected, rtol=1e-9, atol=1e-9 * scale)


def test_matrix_power_eig_of_rotation_is_real_and_periodic():
    t = 2 * np.pi / 8
    R = [[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]]
    R8 = matrix_power_eig(R, 8)
    assert R8.dtype == np.float64 and np.allclose(R8, np.eye(2))
    assert np.array_equal(matrix_power_eig(R, 0), np.eye(2))


def test_matrix_power_eig_refuses_a_defective_matrix():
    with pytest.raises(np.linalg.LinAlgError, match="diagonalizable"):
        matrix_power_eig([[1, 1], [0, 1]], 5)


# --------------------------------------------------------------------------- Fibonacci


def _fib_loop(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def test_fibonacci_methods_match_the_recurrence_for_small_n():
    for n in range(60):
        exact = _fib_loop(n)
        assert fibonacci(n) == exact
        assert fibonacci(n, method="eig") == exact
        assert fibonacci(n, method="binet") == exact


def test_fibonacci_matrix_method_is_exact_for_large_n():
    assert fibonacci(100) == 354224848179261915075
    assert isinstance(fibonacci(100), int)
    assert fibonacci(5000) == _fib_loop(5000)


def test_first_n_where_float_binet_is_wrong_matches_a_direct_computation():
    first_bad = next(n for n in range(200) if fibonacci(n, method="binet") != fibonacci(n))
    sqrt5 = math.sqrt(5)
    phi, psi = (1 + sqrt5) / 2, (1 - sqrt5) / 2
    direct = next(n for n in range(200) if round((phi**n - psi**n) / sqrt5) != _fib_loop(n))
    assert first_bad == direct
    # F_79 is odd and above 2**53, where float64 holds only even integers: the bound is forced
    assert _fib_loop(79) > 2**53 and _fib_loop(79) % 2 == 1
    assert 60 < first_bad <= 79


def test_float_fibonacci_methods_overflow_to_inf():
    assert fibonacci(2000, method="binet") == math.inf
    assert fibonacci(2000, method="eig") == math.inf


# --------------------------------------------------------------------------- input contract


A_OK = [[2.0, 1.0], [1.0, 3.0]]

NUMERIC_CALLS = {
    "power_iteration": lambda A: power_iteration(A, seed=0),
    "inverse_iteration": lambda A: inverse_iteration(A, 0.5, seed=0),
    "rayleigh_quotient_iteration": lambda A: rayleigh_quotient_iteration(A, seed=0),
    "rayleigh_quotient": lambda A: rayleigh_quotient(A, np.ones(np.shape(A)[0] if np.ndim(A) else 1)),
    "spectral_radius": spectral_radius,
    "matrix_power_eig": lambda A: matrix_power_eig(A, 2),
    "characteristic_polynomial": characteristic_polynomial,
    "eigenvalues_exact": eigenvalues_exact,
}

BAD_MATRICES = [
    pytest.param([1.0, 2.0], ValueError, "2-D", id="1-D"),
    pytest.param(np.ones((2, 2, 2)), ValueError, "2-D", id="3-D"),
    pytest.param([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], ValueError, "square", id="non-square"),
    pytest.param(np.zeros((0, 0)), ValueError, "empty", id="empty"),
    pytest.param([[1.0, float("nan")], [0.0, 1.0]], ValueError, "NaN", id="nan"),
    pytest.param([[1.0, float("inf")], [0.0, 1.0]], ValueError, "inf", id="inf"),
    pytest.param([[1 + 1j, 0], [0, 1]], TypeError, "complex", id="complex"),
    pytest.param([["a", "b"], ["c", "d"]], TypeError, "A must", id="strings"),
    pytest.param("[[1, 2], [3, 4]]", TypeError, "string", id="a-string"),
]


@pytest.mark.parametrize("name", sorted(NUMERIC_CALLS))
@pytest.mark.parametrize(("A", "error", "match"), BAD_MATRICES)
def test_every_function_rejects_bad_matrix_naming_the_argument(name, A, error, match):
    with pytest.raises(error, match=match) as info:
        NUMERIC_CALLS[name](A)
    assert "A" in str(info.value)


@pytest.mark.parametrize(
    "entry, error",
    [
        (sympy.nan, ValueError),
        (sympy.oo, ValueError),
        (sympy.I, TypeError),
        (sympy.Symbol("a"), TypeError),
        (None, TypeError),
    ],
)
def test_exact_functions_reject_bad_sympy_entries(entry, error):
    for fn in (characteristic_polynomial, eigenvalues_exact):
        with pytest.raises(error, match="A"):
            fn([[1, entry], [0, 1]])


ITERATIONS = [
    power_iteration,
    rayleigh_quotient_iteration,
    lambda A, *a, **k: inverse_iteration(A, 0.5, *a, **k),
]


@pytest.mark.parametrize("it", ITERATIONS, ids=["power", "rqi", "inverse"])
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"x0": [0.0, 0.0]}, ValueError, "x0 is the zero vector"),
        ({"x0": [1.0, 2.0, 3.0]}, ValueError, "x0 must have length 2"),
        ({"x0": [[1.0, 2.0]]}, ValueError, "x0 must be a vector"),
        ({"x0": [1.0, float("nan")]}, ValueError, "x0 contains NaN"),
        ({"x0": [1j, 1.0]}, TypeError, "x0 is complex"),
        ({"tol": -1e-3}, ValueError, "tol must be"),
        ({"tol": "small"}, TypeError, "tol must be"),
        ({"max_iter": -5}, ValueError, "max_iter must be"),
        ({"max_iter": 0}, ValueError, "max_iter must be"),
        ({"max_iter": 10.0}, TypeError, "max_iter must be an integer"),
        ({"max_iter": True}, TypeError, "max_iter must be an integer"),
        ({"seed": "abc"}, TypeError, "seed must be an integer"),
        ({"seed": -1}, ValueError, "seed must be"),
    ],
)
def test_iterations_reject_bad_arguments_naming_them(it, kwargs, error, match):
    with pytest.raises(error, match=match):
        it(A_OK, **kwargs)


@pytest.mark.parametrize(
    ("shift", "error"),
    [
        (float("nan"), ValueError),
        (float("inf"), ValueError),
        (1j, TypeError),
        ("2", TypeError),
        (None, TypeError),
    ],
)
def test_inverse_iteration_rejects_bad_shift(shift, error):
    with pytest.raises(error, match="shift"):
        inverse_iteration(A_OK, shift)


def test_rayleigh_quotient_rejects_zero_and_wrong_length_vectors():
    with pytest.raises(ValueError, match="x is the zero vector"):
        rayleigh_quotient(A_OK, [0, 0])
    with pytest.raises(ValueError, match="x must have length 2"):
        rayleigh_quotient(A_OK, [1, 2, 3])


@pytest.mark.parametrize(
    ("k", "error"), [(-1, ValueError), (2.0, TypeError), (True, TypeError), ("3", TypeError)]
)
def test_matrix_power_eig_rejects_negative_or_non_integer_k(k, error):
    with pytest.raises(error, match="k must be"):
        matrix_power_eig(A_OK, k)


@pytest.mark.parametrize(("n", "error"), [(-1, ValueError), (10.0, TypeError), ("10", TypeError)])
def test_fibonacci_rejects_negative_or_non_integer_n(n, error):
    with pytest.raises(error, match="n must be"):
        fibonacci(n)


@pytest.mark.parametrize("method", ["exact", "Matrix", None, 3])
def test_fibonacci_rejects_unknown_method(method):
    with pytest.raises(ValueError, match="unknown method"):
        fibonacci(10, method=method)


def test_no_function_modifies_its_inputs():
    A = np.array([[2.0, 1.0, 1.0], [1.0, 3.0, 1.0], [1.0, 1.0, 4.0]])
    x0 = np.array([1.0, 2.0, 3.0])
    A_copy, x0_copy = A.copy(), x0.copy()
    power_iteration(A, x0)
    inverse_iteration(A, 1.0, x0)
    rayleigh_quotient_iteration(A, x0)
    rayleigh_quotient(A, x0)
    spectral_radius(A)
    matrix_power_eig(A, 3)
    characteristic_polynomial(A)
    eigenvalues_exact(A.astype(int))
    assert np.array_equal(A, A_copy) and np.array_equal(x0, x0_copy)
    rows = [[2, 1], [1, 3]]
    characteristic_polynomial(rows)
    power_iteration(rows, seed=0)
    assert rows == [[2, 1], [1, 3]]


def test_integer_input_is_promoted_to_float64_with_same_results():
    A_int = np.array(T_B_27_1)
    A_float = A_int.astype(float)
    assert matrix_power_eig(A_int, 3).dtype == np.float64
    assert np.allclose(matrix_power_eig(A_int, 3), np.linalg.matrix_power(A_float, 3))
    for fn in (power_iteration, rayleigh_quotient_iteration):
        r_int, r_float = fn(A_int, x0=[1, 2, 3]), fn(A_float, x0=[1.0, 2.0, 3.0])
        assert isinstance(r_int.eigenvalue, float) and r_int.eigenvector.dtype == np.float64
        assert r_int.eigenvalue == r_float.eigenvalue
    assert isinstance(rayleigh_quotient(A_int, [1, 0, 0]), float)
    assert isinstance(spectral_radius(A_int), float)


def test_eigen_result_repr_is_short_and_readable_for_large_matrices():
    A = symmetric_with_spectrum(np.r_[5.0, np.linspace(-2, 2, 199)], seed=0)
    res = power_iteration(A, seed=0)
    text = repr(res)
    assert isinstance(res, EigenResult)
    assert len(text) < 250 and "shape (200,)" in text and "converged=True" in text
    assert "eigenvalue=5" in text


# --------------------------------------------------------------------------- issue 10: the edges of float64

M_2 = np.array([[2.0, 1.0], [1.0, 3.0]])
GOLDEN = (5 + np.sqrt(5)) / 2  # the larger eigenvalue of M_2
Q_GOLDEN = np.array([0.5257311121191336, 0.8506508083520399])


@pytest.mark.parametrize("scale", [1e160, 1e300, 1e-12, 1e-300])
def test_power_iteration_converges_at_any_scale_with_the_scaled_eigenvalue(scale):
    # before: 1e160 "converged" to eigenvalue 0 and a zero vector; 1e-12 stopped after 0 steps
    base = power_iteration(M_2, seed=0)
    res = power_iteration(M_2 * scale, seed=0)
    assert res.converged and res.iterations == base.iterations
    assert res.eigenvalue == pytest.approx(GOLDEN * scale, rel=1e-12, abs=0)
    np.testing.assert_allclose(res.eigenvector, Q_GOLDEN, atol=1e-9)


def test_a_tiny_matrix_is_not_converged_at_step_zero_by_an_absolute_tolerance():
    res = power_iteration(M_2 * 1e-12, x0=[1.0, 0.0])
    assert res.iterations > 5 and res.eigenvalue == pytest.approx(GOLDEN * 1e-12, rel=1e-9, abs=0)


@pytest.mark.parametrize("scale", [1e300, 1e-300])
def test_rayleigh_quotient_and_inverse_iteration_survive_any_scale(scale):
    # before: RQI of M * 1e300 raised "SVD did not converge"; inverse iteration never converged
    rqi = rayleigh_quotient_iteration(M_2 * scale, x0=[0.0, 1.0])
    assert rqi.converged and rqi.eigenvalue == pytest.approx(GOLDEN * scale, rel=1e-12, abs=0)
    inv = inverse_iteration(M_2 * scale, 3.5 * scale, x0=[1.0, 0.0])
    assert inv.converged and inv.eigenvalue == pytest.approx(GOLDEN * scale, rel=1e-12, abs=0)


def test_an_eigenvalue_beyond_float64_is_inf_with_the_right_vector():
    res = power_iteration(np.full((2, 2), 1e308), seed=0)  # eigenvalue 2e308
    assert res.converged and res.eigenvalue == np.inf
    np.testing.assert_allclose(res.eigenvector, [np.sqrt(0.5), np.sqrt(0.5)])


@pytest.mark.parametrize("x", [[1e160, 0.0], [1e-170, 0.0], [1e308, 0.0], [5e-324, 0.0]])
def test_rayleigh_quotient_of_a_huge_or_tiny_vector_is_that_of_its_direction(x):
    # before: [1e160, 0] gave NaN and [1e-170, 0] was called the zero vector
    assert rayleigh_quotient(M_2, x) == 2.0


def test_spectral_radius_beyond_float64_is_inf_not_nan():
    assert spectral_radius(np.full((2, 2), 1e308)) == np.inf
    assert spectral_radius(M_2 * 1e-320) == pytest.approx(GOLDEN * 1e-320, rel=1e-3, abs=0)  # subnormal input


@pytest.mark.parametrize("n", [1475, 1476])
def test_float_fibonacci_reaches_the_last_fibonacci_number_float64_holds(n):
    # before: both overflowed to inf, although F_1475 and F_1476 are below 1.8e308
    exact = fibonacci(n)
    for method in ("binet", "eig"):
        assert fibonacci(n, method=method) == pytest.approx(exact, rel=1e-12)
    assert fibonacci(n + 2, method="binet") == math.inf == fibonacci(10**400, method="eig")


def test_matrix_power_eig_does_not_overflow_on_the_way_to_a_representable_entry():
    F1476 = matrix_power_eig([[1, 1], [1, 0]], 1476)
    assert F1476[0, 1] == pytest.approx(fibonacci(1476), rel=1e-12)
    assert F1476[0, 0] == np.inf  # F_1477 is beyond float64
    with pytest.raises(ValueError, match=r"k must be an integer in \[0, 9223372036854775807\]"):
        matrix_power_eig(M_2, 2**63)


def test_fibonacci_matrix_refuses_an_n_whose_number_would_not_fit_in_memory():
    with pytest.raises(ValueError, match="n=an integer of 401 digits needs over 1e300 bytes"):
        fibonacci(10**400)


@pytest.mark.parametrize(
    "A, expected",
    [
        ([[1e300, 1], [1, 1]], [1.0, 1e300]),  # before: mpmath's NoConvergence
        ([[1e300, 0], [0, 1e-300]], [1e-300, 1e300]),  # before: {0, 1e300}, silently wrong
        ([[0.5, 1e-300], [1e-300, 1e-300]], [1e-300, 0.5]),  # before: {0, 0.5}
        ([[1e200, 1, 0], [1, 1, 1], [0, 1, 1e-200]], [-0.6180339887498949, 1.618033988749895, 1e200]),
        ([[1e300, 0, 0], [0, 0, -1.0], [0, 1.0, 0]], [-1j, 1j, 1e300]),
    ],
)
def test_eigenvalues_exact_of_a_float_matrix_at_the_edges(A, expected):
    vals = eigenvalues_exact(A)
    got = [complex(z) for z in vals]
    np.testing.assert_allclose(got, expected, rtol=1e-14)
    assert all(m == 1 for m in vals.values())


def test_eigenvalues_exact_counts_multiplicity_for_floats_too():
    assert eigenvalues_exact([[2.0, 1.0], [0.0, 2.0]]) == {sympy.Float(2.0): 2}
    zero = eigenvalues_exact([[0.0, 0.0], [0.0, 0.0]])
    assert list(zero.values()) == [2] and complex(next(iter(zero))) == 0
    assert eigenvalues_exact([[2.5]]) == {sympy.Float(2.5): 1}


def test_a_tensor_that_requires_grad_is_read_as_its_values_by_every_function():
    torch = pytest.importorskip("torch")
    t = torch.tensor(T_B_27_1, dtype=torch.float64, requires_grad=True)
    x = torch.ones(3, requires_grad=True)
    A = np.array(T_B_27_1, dtype=float)
    assert power_iteration(t, x).eigenvalue == power_iteration(A, np.ones(3)).eigenvalue
    shifted = inverse_iteration(A, 5.0, np.ones(3)).eigenvalue
    assert inverse_iteration(t, torch.tensor(5.0), x).eigenvalue == shifted
    assert rayleigh_quotient(t, x) == rayleigh_quotient(A, np.ones(3))
    assert spectral_radius(t) == spectral_radius(A)
    np.testing.assert_array_equal(matrix_power_eig(t, torch.tensor(2)), matrix_power_eig(A, 2))
    assert characteristic_polynomial(t) == characteristic_polynomial(A)


def test_seed_is_checked_before_any_work_even_when_x0_is_given():
    with pytest.raises(TypeError, match="seed must be an integer"):
        power_iteration(A_OK, x0=[1.0, 0.0], seed="abc")
