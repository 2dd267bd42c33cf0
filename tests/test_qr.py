"""Tests for linalg_rnn.qr: every factorization against numpy.linalg.qr / scipy.linalg.qr."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st

from linalg_rnn.orthogonal import orthogonality_error, random_orthogonal
from linalg_rnn.qr import (
    GivensRotations,
    HouseholderReflectors,
    apply_q,
    apply_qt,
    blocked_householder_qr,
    classical_gram_schmidt,
    compact_wy,
    givens_qr,
    givens_rotations,
    householder_qr,
    householder_reflectors,
    modified_gram_schmidt,
    qr,
    reorthogonalized_gram_schmidt,
    sign_normalize,
)

EPS = np.finfo(float).eps
GRAM_SCHMIDT = [classical_gram_schmidt, modified_gram_schmidt, reorthogonalized_gram_schmidt]


def blocked3(A, mode="reduced"):
    """Blocked Householder with a small block, so several panels are exercised."""
    return blocked_householder_qr(A, block_size=3, mode=mode)


ANY_SHAPE = [householder_qr, blocked_householder_qr, blocked3, givens_qr]


@st.composite
def gaussian(draw, max_rows=10, max_cols=10, tall=False):
    """A Gaussian matrix of a drawn shape (1x1 up to max), from a drawn seed."""
    m = draw(st.integers(1, max_rows))
    n = draw(st.integers(1, m if tall else max_cols))
    seed = draw(st.integers(0, 2**32 - 1))
    return np.random.default_rng(seed).standard_normal((m, n))


def assert_valid_qr(Q, R, A, *, rel=1e-12):
    """Q @ R == A, Q has orthonormal columns, R upper triangular with diag >= 0."""
    assert Q.shape[1] == R.shape[0]
    assert np.linalg.norm(Q @ R - A) <= rel * max(np.linalg.norm(A), 1e-300) + 1e-300
    assert orthogonality_error(Q) < 1e-13
    np.testing.assert_array_equal(R, np.triu(R))
    assert np.all(np.diag(R) >= 0)


def well_conditioned(A, limit=1e6):
    s = np.linalg.svd(A, compute_uv=False)
    return s[-1] > 0 and s[0] / s[-1] < limit


# --- agreement with numpy / scipy --------------------------------------------------------


@pytest.mark.parametrize("method", ANY_SHAPE, ids=lambda f: getattr(f, "__name__", "blocked3"))
@given(A=gaussian())
@settings(max_examples=40, deadline=None)
def test_householder_and_givens_match_numpy_after_sign_normalize_on_any_shape(method, A):
    Q, R = method(A)
    m, n = A.shape
    p = min(m, n)
    assert Q.shape == (m, p) and R.shape == (p, n)
    assert_valid_qr(Q, R, A)
    Qn, Rn = sign_normalize(*np.linalg.qr(A, mode="reduced"))
    if well_conditioned(A[:, :p]):  # then the factorization is unique
        np.testing.assert_allclose(R, Rn, atol=1e-9 * np.abs(A).max())
        np.testing.assert_allclose(Q, Qn, atol=1e-9)


@pytest.mark.parametrize("method", ANY_SHAPE, ids=lambda f: getattr(f, "__name__", "blocked3"))
@given(A=gaussian())
@settings(max_examples=25, deadline=None)
def test_complete_mode_matches_scipy_full_qr_and_gives_square_orthogonal_q(method, A):
    Q, R = method(A, mode="complete")
    m, n = A.shape
    assert Q.shape == (m, m) and R.shape == (m, n)
    assert_valid_qr(Q, R, A)
    Qs, Rs = sign_normalize(*scipy.linalg.qr(A, mode="full"))
    p = min(m, n)
    if well_conditioned(A[:, :p]):
        np.testing.assert_allclose(R, Rs, atol=1e-9 * np.abs(A).max())
        # Only the first p columns are unique; the rest span the same complement.
        np.testing.assert_allclose(Q[:, :p], Qs[:, :p], atol=1e-9)
        np.testing.assert_allclose(Q[:, p:] @ Q[:, p:].T, Qs[:, p:] @ Qs[:, p:].T, atol=1e-9)


@pytest.mark.parametrize("method", GRAM_SCHMIDT, ids=lambda f: f.__name__)
@given(A=gaussian(max_rows=10, tall=True))
@settings(max_examples=40, deadline=None)
def test_gram_schmidt_matches_numpy_on_tall_and_square_full_rank(method, A):
    if not well_conditioned(A, 1e4):
        return
    Q, R = method(A)
    assert Q.shape == A.shape and R.shape == (A.shape[1],) * 2
    np.testing.assert_allclose(Q @ R, A, atol=1e-12 * np.abs(A).max())
    Qn, Rn = sign_normalize(*np.linalg.qr(A))
    np.testing.assert_allclose(R, Rn, atol=1e-9 * np.abs(A).max())
    np.testing.assert_allclose(Q, Qn, atol=1e-8)


def test_one_by_one_matrices_give_q_one_and_r_abs_value():
    for method in [*ANY_SHAPE, *GRAM_SCHMIDT]:
        for a in (-3.0, 2.5):
            Q, R = method([[a]])
            np.testing.assert_allclose(Q, [[np.sign(a)]])
            np.testing.assert_allclose(R, [[abs(a)]])


def test_known_small_example_r_has_3_4_5_diagonal():
    A = np.array([[3.0, 0.0], [4.0, 5.0], [0.0, 0.0]])
    for method in [*ANY_SHAPE, *GRAM_SCHMIDT]:
        Q, R = method(A)
        np.testing.assert_allclose(R, [[5.0, 4.0], [0.0, 3.0]], atol=1e-14)


# --- rank-deficient matrices (Householder / Givens only) --------------------------------


RANK_DEFICIENT = {
    "zeros": np.zeros((4, 3)),
    "zero_first_column": np.array([[0.0, 1.0, 2.0], [0.0, 3.0, 4.0], [0.0, 5.0, 7.0]]),
    "repeated_column": np.array([[1.0, 1.0, 2.0], [2.0, 2.0, 0.0], [3.0, 3.0, 1.0], [4.0, 4.0, 5.0]]),
    "rank_one_wide": np.outer([1.0, 2.0], [1.0, 2.0, 3.0, 4.0]),
    "rank_two_tall": np.random.default_rng(0).standard_normal((7, 2))
    @ np.random.default_rng(1).standard_normal((2, 5)),
}


@pytest.mark.parametrize("name", list(RANK_DEFICIENT))
@pytest.mark.parametrize("method", ANY_SHAPE, ids=lambda f: getattr(f, "__name__", "blocked3"))
@pytest.mark.parametrize("mode", ["reduced", "complete"])
def test_householder_and_givens_handle_rank_deficient_matrices(method, name, mode):
    A = RANK_DEFICIENT[name]
    Q, R = method(A, mode=mode)
    assert_valid_qr(Q, R, A, rel=1e-13)
    # R carries the rank: as many clearly nonzero rows as the rank of A.
    assert np.sum(np.abs(np.diag(R)) > 1e-10) <= np.linalg.matrix_rank(A)


# --- Gram-Schmidt refuses dependent columns, naming them -------------------------------


@pytest.mark.parametrize("method", GRAM_SCHMIDT, ids=lambda f: f.__name__)
def test_gram_schmidt_names_dependent_column_zero_based(method):
    A = np.array([[1.0, 0.0, 1.0, 4.0], [0.0, 1.0, 1.0, 5.0], [0.0, 0.0, 0.0, 6.0], [1.0, 1.0, 2.0, 0.0]])
    with pytest.raises(np.linalg.LinAlgError, match="column 2"):
        method(A)
    with pytest.raises(np.linalg.LinAlgError, match="column 0"):
        method(np.array([[0.0, 1.0], [0.0, 2.0]]))


@pytest.mark.parametrize("method", GRAM_SCHMIDT, ids=lambda f: f.__name__)
def test_gram_schmidt_threshold_is_n_eps_frobenius_norm_and_rank_tol_zero_relaxes_it(method):
    # Column 1 = column 0 + 1e-17 * e_2 (relative): below n*eps*||A||_F.
    a = np.array([1.0, 2.0, 2.0])
    A = np.column_stack([a, a + np.array([0.0, 0.0, 3e-16])])
    with pytest.raises(np.linalg.LinAlgError, match="column 1"):
        method(A)
    Q, R = method(A, rank_tol=0.0)  # accepted: the remainder is tiny but not zero
    assert R[1, 1] > 0
    with pytest.raises(ValueError, match="rank_tol"):
        method(A, rank_tol=-1.0)


@pytest.mark.parametrize("method", GRAM_SCHMIDT, ids=lambda f: f.__name__)
def test_gram_schmidt_rejects_wide_matrices(method):
    with pytest.raises(ValueError, match="rows"):
        method(np.ones((2, 3)))


# --- stability: the numbers of the issue --------------------------------------------------


@pytest.fixture(scope="module")
def graded_matrix():
    """A = U diag(logspace(0, -10, 20)) V^T with U 100 x 20: kappa = 1e10."""
    rng = np.random.default_rng(2024)
    U = np.linalg.qr(rng.standard_normal((100, 20)))[0]
    V = random_orthogonal(20, seed=rng)
    return (U * np.logspace(0, -10, 20)) @ V.T


@pytest.mark.parametrize(
    "method",
    [householder_qr, blocked_householder_qr, blocked3, givens_qr, reorthogonalized_gram_schmidt],
    ids=lambda f: getattr(f, "__name__", "blocked3"),
)
def test_stable_methods_stay_orthogonal_to_1e_13_at_kappa_1e10(method, graded_matrix):
    Q, R = method(graded_matrix)
    assert orthogonality_error(Q) <= 1e-13
    assert np.linalg.norm(Q @ R - graded_matrix) <= 1e-14 * np.linalg.norm(graded_matrix)


def test_mgs_loses_orthogonality_like_eps_kappa_at_kappa_1e10(graded_matrix):
    err = orthogonality_error(modified_gram_schmidt(graded_matrix)[0])
    assert 1e-9 <= err <= 1e-4


def test_cgs_loses_orthogonality_completely_at_kappa_1e10(graded_matrix):
    err = orthogonality_error(classical_gram_schmidt(graded_matrix)[0])
    assert err > 1e-3


def test_trefethen_bau_experiment_3_mgs_error_1e_11_householder_eps():
    A = np.array([[0.70000, 0.70711], [0.70001, 0.70711]])
    err_mgs = orthogonality_error(modified_gram_schmidt(A)[0])
    err_house = orthogonality_error(householder_qr(A)[0])
    assert 1e-12 < err_mgs < 1e-10  # T&B report 2.3e-11
    assert err_house < 1e-15


# --- blocked == unblocked ---------------------------------------------------------------


@given(A=gaussian(max_rows=14, max_cols=14), block_size=st.integers(1, 20))
@settings(max_examples=40, deadline=None)
def test_blocked_equals_unblocked_for_every_block_size(A, block_size):
    for mode in ("reduced", "complete"):
        Qb, Rb = blocked_householder_qr(A, block_size=block_size, mode=mode)
        Qu, Ru = householder_qr(A, mode=mode)
        np.testing.assert_allclose(Rb, Ru, atol=1e-12 * max(1.0, np.abs(A).max()))
        np.testing.assert_allclose(Qb, Qu, atol=1e-12)


def test_blocked_equals_unblocked_on_larger_matrix_with_default_block():
    A = np.random.default_rng(5).standard_normal((150, 130))
    Qb, Rb = blocked_householder_qr(A)
    Qu, Ru = householder_qr(A)
    np.testing.assert_allclose(Rb, Ru, atol=1e-11)
    np.testing.assert_allclose(Qb, Qu, atol=1e-11)


BLOCKED_SHAPES = {
    "tall": (230, 150),
    "wide": (120, 200),
    "square": (193, 193),
    "thin": (400, 7),
    "rank_30_of_140x90": None,  # built below: rank-deficient
}


def blocked_case(name):
    rng = np.random.default_rng(len(name))
    if BLOCKED_SHAPES[name] is None:
        return rng.standard_normal((140, 30)) @ rng.standard_normal((30, 90))
    return rng.standard_normal(BLOCKED_SHAPES[name])


@pytest.mark.parametrize("name", list(BLOCKED_SHAPES))
@pytest.mark.parametrize("block_size", [1, 2, 3, 5, 16, 33, 64, 128, 1000])
def test_blocked_matches_numpy_and_unblocked_at_many_shapes_and_block_sizes(name, block_size):
    A = blocked_case(name)
    Q, R = blocked_householder_qr(A, block_size=block_size)
    assert_valid_qr(Q, R, A)
    Qu, Ru = householder_qr(A)
    np.testing.assert_allclose(R, Ru, atol=1e-11 * np.abs(A).max())
    p = min(A.shape)
    if well_conditioned(A[:, :p]):  # unique factors: compare with LAPACK too
        Qn, Rn = sign_normalize(*np.linalg.qr(A))
        np.testing.assert_allclose(Q, Qn, atol=1e-10)
        np.testing.assert_allclose(R, Rn, atol=1e-11 * np.abs(A).max())
        np.testing.assert_allclose(Q, Qu, atol=1e-10)
    else:  # rank-deficient: Q is not unique, but it spans the same column space as A
        np.testing.assert_allclose(Q @ (Q.T @ A), A, atol=1e-11 * np.abs(A).max())


@given(A=gaussian(max_rows=40, max_cols=12, tall=True))
@settings(max_examples=40, deadline=None)
def test_recursive_panel_gives_the_compact_wy_form_of_the_unblocked_reflectors(A):
    from linalg_rnn.qr._blocked import _factor_panel

    m, b = A.shape
    panel, V, T = A.copy(), np.zeros((m, b)), np.zeros((b, b))
    _factor_panel(panel, V, T)
    F = householder_reflectors(A)
    V_ref, T_ref = compact_wy(F)
    np.testing.assert_array_equal(T, np.triu(T))
    np.testing.assert_allclose(V @ T @ V.T, V_ref @ T_ref @ V_ref.T, atol=1e-12)
    # The panel now holds R (up to the sign convention applied at the end) and zeros below.
    np.testing.assert_allclose(np.abs(np.triu(panel[:b])), np.abs(F.R), atol=1e-12 * np.abs(A).max())
    np.testing.assert_array_equal(panel[b:], 0.0)


def test_blocked_timings_add_up_the_three_stages_and_must_be_a_dict():
    A = np.random.default_rng(0).standard_normal((60, 40))
    seconds = {"panel": 1.0}
    blocked_householder_qr(A, block_size=8, timings=seconds)
    assert set(seconds) == {"panel", "update", "form_q"}
    assert seconds["panel"] > 1.0 and seconds["update"] >= 0 and seconds["form_q"] > 0
    with pytest.raises(TypeError, match="timings"):
        blocked_householder_qr(A, timings=[])


@given(A=gaussian(), data=st.data())
@settings(max_examples=30, deadline=None)
def test_compact_wy_equals_explicit_product_of_reflectors(A, data):
    F = householder_reflectors(A)
    m, p = A.shape[0], len(F.vectors)
    start = data.draw(st.integers(0, p - 1))
    stop = data.draw(st.integers(start + 1, p))
    product = np.eye(m)
    for k in range(start, stop):
        v = np.zeros(m)
        v[k:] = F.vectors[k]
        product = product @ (np.eye(m) - 2.0 * np.outer(v, v))
    V, T = compact_wy(F, start, stop)
    assert V.shape == (m, stop - start) and T.shape == (stop - start,) * 2
    np.testing.assert_array_equal(T, np.triu(T))
    np.testing.assert_allclose(np.eye(m) - V @ T @ V.T, product, atol=1e-12)


def test_compact_wy_rejects_bad_ranges_and_non_householder_factors():
    F = householder_reflectors(np.ones((4, 3)))
    with pytest.raises(ValueError, match="start < stop"):
        compact_wy(F, 2, 2)
    with pytest.raises(ValueError, match="start < stop"):
        compact_wy(F, 0, 4)
    with pytest.raises(ValueError, match="start"):
        compact_wy(F, -1)
    with pytest.raises(TypeError, match="householder_reflectors"):
        compact_wy(givens_rotations(np.ones((4, 3))))


# --- implicit Q: Algorithms 10.2 and 10.3 -------------------------------------------------


@pytest.mark.parametrize("factor", [householder_reflectors, givens_rotations])
@given(A=gaussian(), k=st.integers(1, 3), seed=st.integers(0, 1000))
@settings(max_examples=30, deadline=None)
def test_apply_qt_and_apply_q_equal_products_with_formed_q(factor, A, k, seed):
    F = factor(A)
    m = A.shape[0]
    p = min(A.shape)
    Qc = F.form_q("complete")
    rng = np.random.default_rng(seed)
    b, B = rng.standard_normal(m), rng.standard_normal((m, k))
    np.testing.assert_allclose(apply_qt(F, b), Qc.T @ b, atol=1e-12)
    np.testing.assert_allclose(apply_qt(F, B), Qc.T @ B, atol=1e-12)
    np.testing.assert_allclose(apply_q(F, B), Qc @ B, atol=1e-12)
    x = rng.standard_normal(p)  # p rows: the reduced Q
    np.testing.assert_allclose(apply_q(F, x), F.form_q("reduced") @ x, atol=1e-12)
    np.testing.assert_allclose(apply_q(F, F.R), A, atol=1e-12 * max(1.0, np.abs(A).max()))


@pytest.mark.parametrize("factor", [householder_reflectors, givens_rotations])
def test_least_squares_through_apply_qt_matches_lstsq(factor):
    rng = np.random.default_rng(3)
    A, b = rng.standard_normal((30, 4)), rng.standard_normal(30)
    F = factor(A)
    x = scipy.linalg.solve_triangular(F.R, apply_qt(F, b)[:4])
    np.testing.assert_allclose(x, np.linalg.lstsq(A, b, rcond=None)[0], atol=1e-12)


def test_implicit_factors_have_readable_repr():
    assert repr(householder_reflectors(np.ones((3, 2)))) == (
        "HouseholderReflectors(shape=(3, 2), reflectors=2, R=(2, 2))"
    )
    assert isinstance(givens_rotations(np.ones((3, 2))), GivensRotations)
    assert "GivensRotations(shape=(3, 2)" in repr(givens_rotations(np.ones((3, 2))))
    assert isinstance(householder_reflectors([[1.0]]), HouseholderReflectors)


def test_apply_qt_rejects_wrong_rows_and_non_factors():
    F = householder_reflectors(np.ones((4, 2)))
    with pytest.raises(ValueError, match="rows"):
        apply_qt(F, np.ones(3))
    with pytest.raises(ValueError, match="rows"):
        apply_q(F, np.ones(3))
    with pytest.raises(ValueError, match="NaN"):
        apply_qt(F, [1.0, np.nan, 0.0, 0.0])
    with pytest.raises(TypeError, match="householder_reflectors"):
        apply_qt(np.eye(4), np.ones(4))


def test_apply_qt_does_not_modify_its_argument():
    F = givens_rotations(np.arange(12.0).reshape(4, 3))
    b = np.arange(4.0)
    apply_qt(F, b)
    apply_q(F, b)
    np.testing.assert_array_equal(b, np.arange(4.0))


# --- reduced mode never forms an m x m matrix --------------------------------------------


@pytest.mark.parametrize("method", [householder_qr, blocked_householder_qr, givens_qr])
def test_reduced_mode_never_allocates_an_m_by_m_matrix(method):
    m, n = 4000, 3  # an m x m float64 matrix would take 128 MB
    A = np.random.default_rng(0).standard_normal((m, n))
    tracemalloc.start()
    try:
        Q, R = method(A)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert Q.shape == (m, n)
    assert peak < 20 * m * n * 8 + 1_000_000  # a few m x n arrays, far below m * m * 8


# --- dispatcher and sign_normalize --------------------------------------------------------


@pytest.mark.parametrize(
    "method",
    [
        "householder",
        "blocked_householder",
        "givens",
        "cgs",
        "mgs",
        "cgs2",
        "classical_gram_schmidt",
        "modified_gram_schmidt",
        "reorthogonalized_gram_schmidt",
    ],
)
def test_qr_dispatcher_runs_every_named_method_with_same_result(method):
    A = np.random.default_rng(1).standard_normal((8, 5))
    Q, R = qr(A, method=method)
    Qh, Rh = householder_qr(A)
    np.testing.assert_allclose(R, Rh, atol=1e-12)
    np.testing.assert_allclose(Q, Qh, atol=1e-12)


def test_qr_dispatcher_passes_options_and_rejects_bad_names():
    A = np.random.default_rng(1).standard_normal((8, 5))
    Q, _ = qr(A, method="blocked_householder", mode="complete", block_size=2)
    assert Q.shape == (8, 8)
    with pytest.raises(ValueError, match="method"):
        qr(A, method="lu")
    with pytest.raises(ValueError, match="mode"):
        qr(A, mode="full")
    with pytest.raises(ValueError, match="reduced"):
        qr(A, method="mgs", mode="complete")


def test_sign_normalize_makes_diagonal_nonnegative_and_keeps_product():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((6, 4))
    Q, R = np.linalg.qr(A)
    Q2, R2 = sign_normalize(Q, R)
    assert np.all(np.diag(R2) >= 0)
    np.testing.assert_allclose(Q2 @ R2, A, atol=1e-13)
    Qc, Rc = sign_normalize(*np.linalg.qr(A, mode="complete"))
    assert Qc.shape == (6, 6) and np.all(np.diag(Rc) >= 0)
    np.testing.assert_allclose(Qc @ Rc, A, atol=1e-13)


def test_sign_normalize_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="columns"):
        sign_normalize(np.eye(3), np.eye(2))


# --- the input contract --------------------------------------------------------------------

ALL_FACTORIZATIONS = [
    householder_qr,
    blocked_householder_qr,
    givens_qr,
    householder_reflectors,
    givens_rotations,
    classical_gram_schmidt,
    modified_gram_schmidt,
    reorthogonalized_gram_schmidt,
    qr,
]


@pytest.mark.parametrize("func", ALL_FACTORIZATIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize(
    ("bad", "err", "says"),
    [
        ([1.0, 2.0], ValueError, "2-D"),
        (np.zeros((3, 0)), ValueError, "empty"),
        ([[1.0, np.nan], [0.0, 1.0]], ValueError, "NaN"),
        ([[1.0, np.inf], [0.0, 1.0]], ValueError, "inf"),
        ([[1j, 0], [0, 1]], TypeError, "complex"),
        ("abc", TypeError, "string"),
        ([[1, 2], [3]], TypeError, "A must"),
        (np.zeros((2, 2, 2)), ValueError, "2-D"),
    ],
)
def test_factorizations_reject_bad_matrices_naming_a(func, bad, err, says):
    with pytest.raises(err, match=says):
        func(bad)


@pytest.mark.parametrize("func", [householder_qr, blocked_householder_qr, givens_qr])
def test_unknown_mode_is_rejected(func):
    with pytest.raises(ValueError, match="mode"):
        func(np.eye(2), mode="full")


@pytest.mark.parametrize(
    ("block_size", "err"), [(0, ValueError), (-2, ValueError), (2.5, TypeError), (True, TypeError)]
)
def test_blocked_rejects_bad_block_size(block_size, err):
    with pytest.raises(err, match="block_size"):
        blocked_householder_qr(np.eye(3), block_size=block_size)


@pytest.mark.parametrize("func", ALL_FACTORIZATIONS, ids=lambda f: f.__name__)
def test_factorizations_do_not_modify_input_and_promote_integers(func):
    A = np.array([[2, -1, 0], [1, 3, 1], [0, 1, 4], [1, 0, 1]])
    before = A.copy()
    out_int = func(A)
    np.testing.assert_array_equal(A, before)
    out_float = func(A.astype(float))
    if isinstance(out_int, tuple):
        for x, y in zip(out_int, out_float, strict=True):
            assert x.dtype == np.float64
            np.testing.assert_allclose(x, y)
    else:
        np.testing.assert_allclose(out_int.R, out_float.R)
    # Lists work too.
    func(A.tolist())
