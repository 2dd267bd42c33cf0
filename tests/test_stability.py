"""Tests for linalg_rnn.stability: chosen singular values, and the orthogonality-vs-kappa numbers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linalg_rnn.qr import householder_qr
from linalg_rnn.stability import StabilityStudy, matrix_with_singular_values, orthogonality_vs_condition

STABLE = ["householder", "blocked_householder", "givens", "cgs2"]


@given(
    s=st.lists(st.floats(0.0, 1e3), min_size=1, max_size=8),
    extra_rows=st.integers(0, 5),
    seed=st.integers(0, 2**32 - 1),
)
@settings(max_examples=40, deadline=None)
def test_matrix_has_exactly_the_requested_singular_values(s, extra_rows, seed):
    m = len(s) + extra_rows
    A = matrix_with_singular_values(s, m, seed=seed)
    assert A.shape == (m, len(s))
    got = np.linalg.svd(A, compute_uv=False)
    np.testing.assert_allclose(got, np.sort(s)[::-1], atol=1e-12 * max(1.0, max(s)))


def test_matrix_with_singular_values_is_square_by_default_and_reproducible():
    A = matrix_with_singular_values([3, 2, 1], seed=4)
    assert A.shape == (3, 3) and A.dtype == np.float64
    np.testing.assert_array_equal(A, matrix_with_singular_values([3, 2, 1], seed=4))
    assert not np.allclose(A, matrix_with_singular_values([3, 2, 1], seed=5))


def test_matrix_condition_number_is_ratio_of_extreme_singular_values():
    A = matrix_with_singular_values(np.logspace(0, -8, 10), 30, seed=0)
    assert np.linalg.cond(A) == pytest.approx(1e8, rel=1e-5)


@pytest.mark.parametrize(
    ("s", "m", "err", "says"),
    [
        ([1.0, -1.0], None, ValueError, ">= 0"),
        ([1.0, 2.0, 3.0], 2, ValueError, "m must be at least"),
        ([1.0], 0, ValueError, "m"),
        ([1.0], 2.5, TypeError, "m"),
        ([[1.0, 2.0]], None, ValueError, "s must be"),
        ([], None, ValueError, "empty"),
        ([1.0, np.nan], None, ValueError, "NaN"),
        ([1j, 1.0], None, TypeError, "complex"),
        ("ab", None, TypeError, "string"),
    ],
)
def test_matrix_with_singular_values_rejects_bad_input(s, m, err, says):
    with pytest.raises(err, match=says):
        matrix_with_singular_values(s, m)


def test_matrix_with_singular_values_rejects_bad_seed_and_keeps_input():
    with pytest.raises(TypeError, match="seed"):
        matrix_with_singular_values([1.0, 2.0], seed="x")
    s = np.array([3, 1])
    A = matrix_with_singular_values(s, 4, seed=0)
    np.testing.assert_array_equal(s, [3, 1])
    np.testing.assert_allclose(A, matrix_with_singular_values([3.0, 1.0], 4, seed=0))


# --- the numbers of the issue -------------------------------------------------------------


@pytest.fixture(scope="module")
def study() -> StabilityStudy:
    methods = ["householder", "blocked_householder", "givens", "cgs", "mgs", "cgs2"]
    return orthogonality_vs_condition(methods, np.logspace(0, 10, 11), 100, 20, seed=7)


@pytest.mark.parametrize("method", STABLE)
def test_stable_methods_error_at_most_1e_13_for_every_kappa_up_to_1e10(study, method):
    assert np.all(study.errors[method] <= 1e-13)


def test_mgs_error_between_1e_9_and_1e_4_at_kappa_1e10(study):
    assert 1e-9 <= study.errors["mgs"][-1] <= 1e-4


def test_cgs_error_above_1e_3_at_kappa_1e10(study):
    assert study.errors["cgs"][-1] > 1e-3


def test_mgs_error_grows_like_eps_kappa_slope_one_on_log_log(study):
    assert study.slope("mgs", 1e2, 1e8) == pytest.approx(1.0, abs=0.2)


def test_cgs_error_grows_like_eps_kappa_squared_until_it_saturates(study):
    assert study.slope("cgs", 1e2, 1e6) == pytest.approx(2.0, abs=0.4)


@pytest.mark.parametrize("method", STABLE)
def test_stable_methods_error_does_not_grow_with_kappa(study, method):
    assert abs(study.slope(method, 1.0, 1e10)) < 0.1


@pytest.mark.parametrize("method", ["householder", "blocked_householder", "givens", "cgs", "mgs", "cgs2"])
def test_every_method_is_backward_stable_small_residual(study, method):
    # Even CGS reproduces A well: its failure is in Q's orthogonality, not in Q R = A.
    assert np.all(study.residuals[method] < 1e-14)


def test_study_repr_is_a_readable_table(study):
    text = repr(study)
    assert text.startswith("StabilityStudy(m=100, n=20)")
    assert "kappa" in text and "householder" in text
    assert len(text.splitlines()) == 2 + len(study.kappas)


def test_study_accepts_callables_and_is_reproducible_with_seed():
    a = orthogonality_vs_condition([householder_qr, "mgs"], [1.0, 1e4], 30, 5, seed=1)
    b = orthogonality_vs_condition([householder_qr, "mgs"], [1.0, 1e4], 30, 5, seed=1)
    assert list(a.errors) == ["householder_qr", "mgs"]
    np.testing.assert_array_equal(a.errors["mgs"], b.errors["mgs"])


def test_gram_schmidt_in_the_study_does_not_refuse_kappa_1e16():
    study = orthogonality_vs_condition(["cgs", "mgs"], [1e16], 40, 10, seed=0)
    assert np.all(np.isfinite(study.errors["cgs"])) and np.all(np.isfinite(study.errors["mgs"]))


def test_slope_rejects_unknown_method_and_too_few_points(study):
    with pytest.raises(ValueError, match="unknown method"):
        study.slope("lu")
    with pytest.raises(ValueError, match="two kappas"):
        study.slope("mgs", 1e3, 1e3)


@pytest.mark.parametrize(
    ("kwargs", "err", "says"),
    [
        ({"methods": ["lu"]}, ValueError, "method"),
        ({"methods": []}, ValueError, "methods is empty"),
        ({"kappas": [0.5]}, ValueError, "kappa"),
        ({"kappas": [np.inf]}, ValueError, "kappas"),
        ({"kappas": []}, ValueError, "empty"),
        ({"m": 3, "n": 5}, ValueError, "m must be >= n"),
        ({"n": 1}, ValueError, "n"),
        ({"m": 4.0}, TypeError, "m"),
    ],
)
def test_orthogonality_vs_condition_rejects_bad_arguments(kwargs, err, says):
    args = {"methods": ["householder"], "kappas": [1.0, 10.0], "m": 10, "n": 4} | kwargs
    with pytest.raises(err, match=says):
        orthogonality_vs_condition(**args)


# --- issue 12: names checked without work; issue 10: the edges -----------------------------


def test_method_names_are_checked_without_a_trial_factorization(monkeypatch):
    import linalg_rnn.stability as stability

    calls = []
    real_qr = stability._qr.qr
    monkeypatch.setattr(stability._qr, "qr", lambda A, **kw: calls.append(A.shape) or real_qr(A, **kw))
    with pytest.raises(ValueError, match="unknown method 'lu'; choose one of 'householder'"):
        orthogonality_vs_condition(["householder", "lu"], [1.0, 10.0], 10, 4)
    assert calls == []  # refused before any work
    orthogonality_vs_condition(["householder", "mgs"], [1.0, 10.0], 10, 4, seed=0)
    assert calls == [(10, 4)] * 4  # one factorization per method and kappa, no trial on eye(2)


@pytest.mark.parametrize(
    "s, rtol",
    [([1.7e308, 1.0e308], 1e-14), ([1e-306, 5e-307], 1e-14), ([3e-310, 1e-311], 1e-2)],
)
def test_singular_values_anywhere_in_float64_come_out_right(s, rtol):
    # the last case has subnormal entries, which keep only a few bits: no method does better
    A = matrix_with_singular_values(s, 3, seed=0)
    assert np.all(np.isfinite(A))
    k = int(np.frexp(max(s))[1])  # take the SVD at a comfortable scale, exactly
    got = np.ldexp(np.linalg.svd(np.ldexp(A, -k), compute_uv=False), k)
    np.testing.assert_allclose(got, sorted(s, reverse=True), rtol=rtol)


def test_matrix_with_singular_values_refuses_an_m_beyond_memory_naming_m():
    with pytest.raises(ValueError, match="m=10000000000 needs about"):
        matrix_with_singular_values([1.0, 2.0], 10**10)


def test_seeds_are_checked_by_the_shared_rule():
    with pytest.raises(ValueError, match="seed must be an integer >= 0, got -1"):
        orthogonality_vs_condition(["householder"], [1.0], 10, 4, seed=-1)
    rng = np.random.default_rng(3)
    a = matrix_with_singular_values([1.0, 2.0], 4, seed=rng)
    b = matrix_with_singular_values([1.0, 2.0], 4, seed=rng)  # the Generator advances
    assert not np.array_equal(a, b)


def test_tensors_that_require_grad_are_read_as_their_values():
    torch = pytest.importorskip("torch")
    s = torch.tensor([3.0, 1.0], requires_grad=True)
    np.testing.assert_array_equal(matrix_with_singular_values(s, 4, seed=0),
                                  matrix_with_singular_values([3.0, 1.0], 4, seed=0))
    kappas = torch.tensor([1.0, 100.0], requires_grad=True)
    study = orthogonality_vs_condition(["householder"], kappas, 10, 4, seed=torch.tensor(1))
    np.testing.assert_array_equal(study.kappas, [1.0, 100.0])
