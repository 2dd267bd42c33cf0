"""Tests for linalg_rnn.dynamics: every result checked against a reference.

References: numpy.linalg.matrix_power for W^t, PyTorch autograd (float64) for the
BPTT Jacobians, torch.nn.utils.clip_grad_norm_/clip_grad_value_ for clipping,
and the lecture's worked examples.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from linalg_rnn.dynamics import (
    INIT_SCHEMES,
    bptt_jacobian_norms,
    clip_grad_norm,
    clip_grad_value,
    init_recurrent,
    repeated_products,
)
from linalg_rnn.orthogonal import expm_skew, orthogonality_error

# ----------------------------------------------------------------------------
# init_recurrent
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", INIT_SCHEMES)
def test_init_same_seed_gives_same_matrix_and_shape(scheme):
    A = init_recurrent(6, scheme, seed=3)
    B = init_recurrent(6, scheme, seed=3)
    assert A.shape == (6, 6) and A.dtype == np.float64
    assert np.array_equal(A, B)


@pytest.mark.parametrize("scheme", ["normal", "uniform", "orthogonal", "scaled_orthogonal"])
def test_init_different_seeds_give_different_random_matrices(scheme):
    assert not np.allclose(init_recurrent(6, scheme, seed=1), init_recurrent(6, scheme, seed=2))


def test_init_accepts_a_numpy_generator_as_seed():
    A = init_recurrent(5, "normal", seed=np.random.default_rng(11))
    B = init_recurrent(5, "normal", seed=np.random.default_rng(11))
    assert np.array_equal(A, B)


@pytest.mark.parametrize("n", [1, 2, 7, 64])
def test_init_orthogonal_is_orthogonal(n):
    Q = init_recurrent(n, "orthogonal", seed=n)
    assert orthogonality_error(Q) < 1e-12
    assert np.allclose(np.abs(np.linalg.eigvals(Q)), 1.0, atol=1e-10)


@pytest.mark.parametrize("gain", [0.5, 0.9, 1.1, 3.0])
def test_init_scaled_orthogonal_is_gain_times_the_same_q_with_all_singular_values_gain(gain):
    Q = init_recurrent(8, "orthogonal", seed=5)
    W = init_recurrent(8, "scaled_orthogonal", gain=gain, seed=5)
    assert np.allclose(W, gain * Q, rtol=0, atol=1e-15)
    assert np.allclose(np.linalg.svd(W, compute_uv=False), gain, rtol=1e-12)


def test_init_identity_is_gain_times_identity():
    assert np.array_equal(init_recurrent(3, "identity", gain=0.7), 0.7 * np.eye(3))


@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_init_normal_entries_have_std_gain_over_sqrt_n(gain):
    n = 400  # 160 000 entries: the sample std is within ~0.2 % of the truth
    W = init_recurrent(n, "normal", gain=gain, seed=0)
    std = gain / math.sqrt(n)
    assert abs(W.mean()) < 5 * std / n  # standard error of the mean is std / n
    assert W.std() == pytest.approx(std, rel=0.01)


@pytest.mark.parametrize("gain", [1.0, 0.3])
def test_init_uniform_entries_lie_in_plus_minus_gain_over_sqrt_n_with_uniform_std(gain):
    n = 400
    W = init_recurrent(n, "uniform", gain=gain, seed=0)
    bound = gain / math.sqrt(n)
    assert np.all(np.abs(W) <= bound)
    assert np.abs(W).max() > 0.999 * bound  # fills the interval
    assert W.std() == pytest.approx(bound / math.sqrt(3), rel=0.01)


def test_init_uniform_matches_torch_rnn_default_bounds():
    # torch.nn.RNN draws W_hh from U(-1/sqrt(hidden), 1/sqrt(hidden)).
    n = 50
    rnn = torch.nn.RNN(3, n)
    torch_bound = rnn.weight_hh_l0.detach().abs().max().item()
    ours = np.abs(init_recurrent(n, "uniform", seed=0)).max()
    assert torch_bound <= 1 / math.sqrt(n) + 1e-7
    assert ours <= 1 / math.sqrt(n)
    assert ours == pytest.approx(torch_bound, rel=0.01)


def test_init_rejects_bad_n():
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        init_recurrent(0, "normal")
    with pytest.raises(TypeError, match="n must be an integer"):
        init_recurrent(3.0, "normal")
    with pytest.raises(TypeError, match="n must be an integer"):
        init_recurrent("3", "normal")


def test_init_rejects_unknown_scheme():
    with pytest.raises(ValueError, match="unknown scheme 'xavier'"):
        init_recurrent(3, "xavier")
    with pytest.raises(ValueError, match="unknown scheme"):
        init_recurrent(3, None)


@pytest.mark.parametrize("gain", [0.0, -1.0, float("nan"), float("inf")])
def test_init_rejects_gain_that_is_not_finite_and_positive(gain):
    with pytest.raises(ValueError, match="gain"):
        init_recurrent(3, "normal", gain=gain)


def test_init_rejects_gain_that_is_not_a_number():
    with pytest.raises(TypeError, match="gain"):
        init_recurrent(3, "normal", gain="1")
    with pytest.raises(TypeError, match="gain"):
        init_recurrent(3, "normal", gain=True)


def test_init_orthogonal_refuses_a_gain_and_points_to_scaled_orthogonal():
    with pytest.raises(ValueError, match="scaled_orthogonal"):
        init_recurrent(3, "orthogonal", gain=0.9)


def test_init_rejects_bad_seed():
    with pytest.raises(TypeError, match="seed"):
        init_recurrent(3, "normal", seed=1.5)
    with pytest.raises(ValueError, match="seed"):
        init_recurrent(3, "normal", seed=-1)


# ----------------------------------------------------------------------------
# repeated_products
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", INIT_SCHEMES)
def test_repeated_products_norms_match_matrix_power(scheme):
    W = init_recurrent(10, scheme, gain=1.0, seed=4)
    res = repeated_products(W, 30)
    expected = [np.linalg.norm(np.linalg.matrix_power(W, t), 2) for t in range(31)]
    assert np.allclose(res.norms, expected, rtol=1e-9, atol=1e-300)
    assert np.array_equal(res.t, np.arange(31))


def test_repeated_products_spectra_match_eigenvalues_of_matrix_power():
    W = init_recurrent(6, "normal", seed=1)
    res = repeated_products(W, 8)
    for t in range(9):
        lam = np.linalg.eigvals(np.linalg.matrix_power(W, t))
        assert np.allclose(np.sort_complex(res.eigenvalues[t]), np.sort_complex(lam), atol=1e-10)
        assert res.spectral_radii[t] == pytest.approx(np.abs(lam).max(), rel=1e-10)
    # and rho(W^t) = rho(W)^t
    rho = np.abs(np.linalg.eigvals(W)).max()
    assert np.allclose(res.spectral_radii, rho ** np.arange(9), rtol=1e-8)


def test_repeated_products_starts_from_identity_at_t0():
    res = repeated_products([[3.0, 1.0], [0.0, 2.0]], 0)
    assert res.norms.tolist() == [1.0]
    assert np.allclose(res.eigenvalues[0], [1.0, 1.0])


@pytest.mark.parametrize("gain, expected", [(0.9, 0.9), (1.0, 1.0), (1.1, 1.1)])
def test_repeated_products_of_scaled_orthogonal_have_norm_gain_to_the_t(gain, expected):
    W = init_recurrent(16, "scaled_orthogonal", gain=gain, seed=0)
    res = repeated_products(W, 200)
    assert np.allclose(res.norms, expected ** np.arange(201), rtol=1e-10)
    assert np.allclose(res.spectral_radii, expected ** np.arange(201), rtol=1e-8)


def test_repeated_products_reports_overflow_as_inf():
    res = repeated_products([[1e200]], 3)
    assert np.isinf(res.norms[2]) and np.isinf(res.norms[3])
    assert np.isfinite(res.norms[1])


def test_repeated_products_repr_is_readable():
    text = repr(repeated_products(np.eye(2) * 2, 3))
    assert text.startswith("RepeatedProducts(n=2, steps=3") and "norm[3]=8" in text


def test_repeated_products_does_not_modify_input():
    W = np.array([[0.5, 0.2], [0.1, 0.3]])
    before = W.copy()
    repeated_products(W, 5)
    assert np.array_equal(W, before)


def test_repeated_products_accepts_lists_and_ints():
    assert repeated_products([[2, 0], [0, 1]], 2).norms.tolist() == [1.0, 2.0, 4.0]


@pytest.mark.parametrize(
    "W, exc, match",
    [
        ([[1.0, 2.0, 3.0]], ValueError, "W must be square"),
        ([1.0, 2.0], ValueError, "W must be 2-D"),
        ([[np.nan, 0.0], [0.0, 1.0]], ValueError, "W contains NaN"),
        ("abc", TypeError, "W must be array_like"),
        ([[1j, 0], [0, 1]], TypeError, "W is complex"),
        (np.zeros((0, 0)), ValueError, "W is empty"),
    ],
)
def test_repeated_products_rejects_bad_W(W, exc, match):
    with pytest.raises(exc, match=match):
        repeated_products(W, 3)


def test_repeated_products_rejects_bad_steps():
    with pytest.raises(ValueError, match="steps must be an integer >= 0"):
        repeated_products(np.eye(2), -1)
    with pytest.raises(TypeError, match="steps must be an integer"):
        repeated_products(np.eye(2), 2.0)


# ----------------------------------------------------------------------------
# bptt_jacobian_norms against PyTorch autograd
# ----------------------------------------------------------------------------


def _torch_jacobians(W_hh, drive, h0, activation):
    """dh_T/dh_t for t = T, T-1, ..., 0 (so indexed by lag) with torch.autograd, float64."""
    W = torch.tensor(W_hh, dtype=torch.float64)
    U = torch.tensor(drive, dtype=torch.float64)
    sigma = torch.tanh if activation == "tanh" else (lambda a: a)
    T = U.shape[0]

    # the forward states, without graph
    states = [torch.tensor(h0, dtype=torch.float64)]
    for t in range(T):
        states.append(sigma(W @ states[-1] + U[t]))

    def run_from(t):
        def f(h):
            for i in range(t, T):
                h = sigma(W @ h + U[i])
            return h

        return f

    jacs = []
    for lag in range(T + 1):
        t = T - lag
        jacs.append(torch.autograd.functional.jacobian(run_from(t), states[t]).numpy())
    return np.array(jacs), torch.stack(states).numpy()


@pytest.mark.parametrize("activation", ["tanh", "linear"])
@pytest.mark.parametrize("scheme, gain", [("normal", 1.0), ("scaled_orthogonal", 1.3), ("uniform", 1.0)])
def test_bptt_jacobians_match_torch_autograd_to_1e_10(activation, scheme, gain):
    rng = np.random.default_rng(0)
    n, d, T = 5, 3, 12
    W_hh = init_recurrent(n, scheme, gain=gain, seed=1)
    W_xh = rng.standard_normal((n, d))
    b = 0.1 * rng.standard_normal(n)
    X = rng.standard_normal((T, d))
    h0 = rng.standard_normal(n)
    res = bptt_jacobian_norms(W_hh, X, h0, W_xh=W_xh, b=b, activation=activation, keep_jacobians=True)
    jacs, states = _torch_jacobians(W_hh, X @ W_xh.T + b, h0, activation)
    assert np.allclose(res.hidden, states, rtol=0, atol=1e-12)
    scale = np.maximum(1.0, np.abs(jacs).max(axis=(1, 2)))
    assert np.all(np.abs(res.jacobians - jacs).max(axis=(1, 2)) <= 1e-10 * scale)
    torch_norms = np.linalg.norm(jacs, 2, axis=(1, 2))
    assert np.all(np.abs(res.norms - torch_norms) <= 1e-10 * np.maximum(1.0, torch_norms))


def test_bptt_linear_without_input_gives_powers_of_W():
    W = init_recurrent(6, "normal", seed=2)
    res = bptt_jacobian_norms(W, activation="linear", steps=10, keep_jacobians=True)
    for lag in range(11):
        assert np.allclose(res.jacobians[lag], np.linalg.matrix_power(W, lag), atol=1e-12)
    assert np.allclose(res.norms, repeated_products(W, 10).norms, rtol=1e-12)


def test_bptt_linear_orthogonal_keeps_every_jacobian_norm_at_one():
    W = init_recurrent(32, "orthogonal", seed=0)
    X = np.random.default_rng(0).standard_normal((300, 32))
    res = bptt_jacobian_norms(W, X, activation="linear")
    assert np.allclose(res.norms, 1.0, atol=1e-12)


def test_bptt_tanh_norms_are_bounded_by_norm_of_W_to_the_lag():
    W = init_recurrent(8, "normal", gain=1.5, seed=3)
    X = np.random.default_rng(1).standard_normal((40, 8))
    res = bptt_jacobian_norms(W, X)
    bound = np.linalg.norm(W, 2) ** res.lags
    assert np.all(res.norms <= bound * (1 + 1e-12))
    assert np.all((res.sigma_prime > 0) & (res.sigma_prime <= 1))


def test_bptt_tanh_saturation_breaks_orthogonal_norm_preservation():
    W = init_recurrent(16, "orthogonal", seed=0)
    X = 5.0 * np.random.default_rng(2).standard_normal((30, 16))  # large inputs saturate tanh
    res = bptt_jacobian_norms(W, X)
    assert res.norms[30] < 1e-6


def test_bptt_small_and_large_spectral_radius_vanish_and_explode():
    small = bptt_jacobian_norms(init_recurrent(10, "scaled_orthogonal", gain=0.5, seed=0), steps=30)
    large = bptt_jacobian_norms(init_recurrent(10, "scaled_orthogonal", gain=1.5, seed=0),
                                activation="linear", steps=30)
    assert small.norms[30] < 1e-8
    assert large.norms[30] == pytest.approx(1.5**30, rel=1e-10)


def test_bptt_defaults_are_zero_state_and_zero_bias():
    W = init_recurrent(4, "normal", seed=0)
    X = np.random.default_rng(0).standard_normal((5, 4))
    a = bptt_jacobian_norms(W, X)
    b = bptt_jacobian_norms(W, X, np.zeros(4), b=np.zeros(4))
    c = bptt_jacobian_norms(W, X, W_xh=np.eye(4))
    assert np.array_equal(a.norms, b.norms) and np.allclose(a.norms, c.norms, rtol=1e-14)


def test_bptt_does_not_modify_inputs():
    rng = np.random.default_rng(0)
    args = [rng.standard_normal((3, 3)), rng.standard_normal((4, 2)), rng.standard_normal(3)]
    W_xh, b = rng.standard_normal((3, 2)), rng.standard_normal(3)
    copies = [a.copy() for a in (*args, W_xh, b)]
    bptt_jacobian_norms(*args, W_xh=W_xh, b=b)
    for original, copy in zip((*args, W_xh, b), copies, strict=True):
        assert np.array_equal(original, copy)


def test_bptt_repr_is_readable():
    text = repr(bptt_jacobian_norms(np.eye(2), steps=2))
    assert text.startswith("JacobianNorms(activation='tanh', T=2, n=2")


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(W_hh=[[1.0, 2.0]], steps=3), ValueError, "W_hh must be square"),
        (dict(W_hh=np.eye(2)), ValueError, "give inputs"),
        (dict(W_hh=np.eye(2), steps=0), ValueError, "steps must be an integer >= 1"),
        (dict(W_hh=np.eye(2), steps=2.5), TypeError, "steps must be an integer"),
        (dict(W_hh=np.eye(2), inputs=np.ones((3, 2)), steps=4), ValueError, "steps=4 disagrees"),
        (dict(W_hh=np.eye(2), inputs=np.ones((3, 5))), ValueError, "inputs has 5 columns"),
        (dict(W_hh=np.eye(2), inputs=np.ones(3)), ValueError, "inputs must be 2-D"),
        (dict(W_hh=np.eye(2), inputs=[[1.0, np.inf]]), ValueError, "inputs contains NaN"),
        (dict(W_hh=np.eye(2), inputs=np.ones((3, 5)), W_xh=np.ones((5, 2))), ValueError,
         r"W_xh must have shape \(2, 5\)"),
        (dict(W_hh=np.eye(2), W_xh=np.ones((2, 2)), steps=3), ValueError, "W_xh was given without inputs"),
        (dict(W_hh=np.eye(2), h0=[1.0, 2.0, 3.0], steps=3), ValueError, "h0 must have length 2"),
        (dict(W_hh=np.eye(2), b=[[1.0, 2.0]], steps=3), ValueError, "b must be a vector"),
        (dict(W_hh=np.eye(2), steps=3, activation="relu"), ValueError, "unknown activation 'relu'"),
        (dict(W_hh=np.eye(2), steps=3, keep_jacobians=1), TypeError, "keep_jacobians"),
        (dict(W_hh="eye", steps=3), TypeError, "W_hh must be array_like"),
    ],
)
def test_bptt_rejects_bad_input(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        bptt_jacobian_norms(**kwargs)


# ----------------------------------------------------------------------------
# Clipping against torch and the lecture
# ----------------------------------------------------------------------------


def _torch_clip_norm(arrays, max_norm):
    params = [torch.zeros(a.shape, dtype=torch.float64, requires_grad=True) for a in arrays]
    for p, a in zip(params, arrays, strict=True):
        p.grad = torch.tensor(a, dtype=torch.float64)
    total = torch.nn.utils.clip_grad_norm_(params, max_norm).item()
    return [p.grad.numpy() for p in params], total


def test_clip_norm_lecture_example_8_6_is_unchanged_at_threshold_10():
    clipped, norm = clip_grad_norm([8.0, 6.0], 10)
    assert norm == 10.0
    assert clipped.tolist() == [8.0, 6.0]


def test_clip_norm_lecture_example_80_60_becomes_8_6():
    clipped, norm = clip_grad_norm(np.array([80.0, 60.0]), 10)
    assert norm == 100.0
    assert np.allclose(clipped, [8.0, 6.0], rtol=1e-7, atol=0)
    assert np.linalg.norm(clipped) <= 10.0


def test_clip_norm_differs_from_torch_only_inside_the_epsilon_band():
    # torch always multiplies by min(1, c / (norm + 1e-6)): at norm == c that is 1 - 1e-7.
    torch_clipped, _ = _torch_clip_norm([np.array([8.0, 6.0])], 10)
    ours, _ = clip_grad_norm([8.0, 6.0], 10)
    assert not np.array_equal(torch_clipped[0], ours)
    assert np.allclose(torch_clipped[0], ours, rtol=2e-7, atol=0)


@settings(max_examples=60, deadline=None)
@given(
    shapes=st.lists(st.tuples(st.integers(1, 4), st.integers(1, 3)), min_size=1, max_size=4),
    scale=st.floats(1e-3, 1e3),
    max_norm=st.floats(1e-2, 1e2),
    seed=st.integers(0, 2**16),
)
def test_clip_norm_matches_torch_clip_grad_norm(shapes, scale, max_norm, seed):
    rng = np.random.default_rng(seed)
    grads = [scale * rng.standard_normal(s) for s in shapes]
    ours, norm = clip_grad_norm(grads, max_norm)
    theirs, torch_norm = _torch_clip_norm(grads, max_norm)
    assert norm == pytest.approx(torch_norm, rel=1e-12)
    assert isinstance(ours, list) and len(ours) == len(grads)
    # torch scales by min(1, c / (norm + 1e-6)); we skip the scaling when norm <= c
    in_band = max_norm - 1e-6 < norm <= max_norm
    rtol = 1e-6 / max_norm if in_band else 1e-12
    for a, b_ in zip(ours, theirs, strict=True):
        assert a.shape == b_.shape
        assert np.allclose(a, b_, rtol=rtol, atol=0)
    if norm > max_norm:
        total = math.sqrt(sum(float(np.sum(a * a)) for a in ours))
        assert total <= max_norm
        for a, g in zip(ours, grads, strict=True):
            assert np.array_equal(a, g * (max_norm / (norm + 1e-6)))
    else:
        assert all(np.array_equal(a, g) for a, g in zip(ours, grads, strict=True))


@settings(max_examples=60, deadline=None)
@given(
    shapes=st.lists(st.tuples(st.integers(1, 4), st.integers(1, 3)), min_size=1, max_size=4),
    limit=st.floats(1e-2, 10.0),
    seed=st.integers(0, 2**16),
)
def test_clip_value_matches_torch_clip_grad_value(shapes, limit, seed):
    rng = np.random.default_rng(seed)
    grads = [5 * rng.standard_normal(s) for s in shapes]
    params = [torch.zeros(s, dtype=torch.float64, requires_grad=True) for s in shapes]
    for p, g in zip(params, grads, strict=True):
        p.grad = torch.tensor(g)
    torch.nn.utils.clip_grad_value_(params, limit)
    ours = clip_grad_value(grads, limit)
    assert all(np.array_equal(a, p.grad.numpy()) for a, p in zip(ours, params, strict=True))


def test_clip_value_turns_the_direction_of_80_60():
    clipped = clip_grad_value([80.0, 60.0], 10)
    assert clipped.tolist() == [10.0, 10.0]
    cos = (80 * 10 + 60 * 10) / (100 * math.hypot(10, 10))
    assert math.degrees(math.acos(cos)) == pytest.approx(8.13, abs=0.01)


def test_clip_returns_the_same_kind_it_was_given():
    a, b = np.array([3.0, 4.0]), np.array([[12.0]])
    assert isinstance(clip_grad_norm(a, 1)[0], np.ndarray)
    assert isinstance(clip_grad_norm([a, b], 1)[0], list)
    assert isinstance(clip_grad_norm((a, b), 1)[0], tuple)
    assert isinstance(clip_grad_value((a, b), 1), tuple)
    assert isinstance(clip_grad_value([a, b], 1), list)
    assert clip_grad_norm(a, 1)[0].shape == (2,)
    assert clip_grad_norm([[3.0, 4.0]], 1)[0].shape == (1, 2)  # a nested list is one gradient


def test_clip_norm_total_norm_covers_all_arrays():
    _, norm = clip_grad_norm([np.array([3.0]), np.array([[4.0, 12.0]])], 100)
    assert norm == 13.0


def test_clip_functions_do_not_modify_inputs():
    grads = [np.array([80.0, 60.0]), np.array([[5.0, -50.0]])]
    copies = [g.copy() for g in grads]
    clip_grad_norm(grads, 1.0)
    clip_grad_value(grads, 1.0)
    clipped, _ = clip_grad_norm(grads[0], 1.0)
    clipped[0] = 0.0
    assert all(np.array_equal(g, c) for g, c in zip(grads, copies, strict=True))


def test_clip_below_threshold_returns_a_copy_not_the_input():
    g = np.array([1.0, 2.0])
    clipped, _ = clip_grad_norm(g, 10)
    assert clipped is not g and np.array_equal(clipped, g)


@pytest.mark.parametrize("fn, name", [(clip_grad_norm, "max_norm"), (clip_grad_value, "limit")])
@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_clip_rejects_threshold_that_is_not_finite_and_positive(fn, name, bad):
    with pytest.raises(ValueError, match=name):
        fn([1.0, 2.0], bad)


@pytest.mark.parametrize("fn, name", [(clip_grad_norm, "max_norm"), (clip_grad_value, "limit")])
def test_clip_rejects_threshold_that_is_not_a_number(fn, name):
    with pytest.raises(TypeError, match=name):
        fn([1.0, 2.0], "10")


@pytest.mark.parametrize("fn", [clip_grad_norm, clip_grad_value])
@pytest.mark.parametrize(
    "grads, exc, match",
    [
        ([], ValueError, "grads is empty"),
        ([1.0, np.nan], ValueError, "grads contains NaN"),
        ([np.array([1.0]), np.array([np.inf])], ValueError, r"grads\[1\] contains NaN"),
        ("grad", TypeError, "grads must be array_like"),
        ([1j, 2.0], TypeError, "grads is complex"),
        (np.zeros(0), ValueError, "grads is empty"),
    ],
)
def test_clip_rejects_bad_grads(fn, grads, exc, match):
    with pytest.raises(exc, match=match):
        fn(grads, 1.0)


# ----------------------------------------------------------------------------
# The unitary update of lesson 12
# ----------------------------------------------------------------------------


def test_additive_sigmoid_update_leaves_the_unitary_set_after_one_step_at_lr_10():
    W = np.array([[0.0, 1.0], [1.0, 0.0]])
    assert orthogonality_error(W) == 0.0
    W = W + 10 * (1 / (1 + np.exp(-W)))
    assert orthogonality_error(W) > 1.0


def test_exp_of_skew_update_keeps_W_orthogonal_to_1e_12_over_1000_updates():
    rng = np.random.default_rng(0)
    n, alpha = 8, 0.05
    target = init_recurrent(n, "orthogonal", seed=1)
    B = np.zeros((n, n))
    W = expm_skew(B)
    worst = 0.0
    for _ in range(1000):
        G = (W - target) + 0.1 * rng.standard_normal((n, n))  # a gradient, with noise
        B = B - alpha * (G @ W.T - W @ G.T)  # G W^T - W G^T is skew, so B stays skew
        W = expm_skew(B)
        worst = max(worst, orthogonality_error(W))
    assert np.allclose(B, -B.T, atol=0, rtol=0)
    assert worst < 1e-12


# ----------------------------------------------------------------------------
# Issue 10: the edges of float64 and of the input contract
# ----------------------------------------------------------------------------


def test_clip_norm_of_a_huge_gradient_is_its_direction_at_the_threshold():
    # before: the squares overflowed, the norm was inf and the clipped gradient zeros
    clipped, norm = clip_grad_norm([1e200, 1e200], 1)
    assert norm == pytest.approx(math.sqrt(2) * 1e200, rel=1e-15, abs=0)
    np.testing.assert_allclose(clipped, [math.sqrt(0.5)] * 2, rtol=1e-15)


def test_clip_norm_of_a_tiny_gradient_reports_its_norm_instead_of_zero():
    clipped, norm = clip_grad_norm([3e-170, 4e-170], 1)
    assert norm == pytest.approx(5e-170, rel=1e-15, abs=0) and clipped.tolist() == [3e-170, 4e-170]


def test_clip_norm_beyond_float64_reports_inf_and_still_clips_right():
    clipped, norm = clip_grad_norm([np.array([1.5e308]), np.array([-1.5e308])], 2)
    assert norm == math.inf
    np.testing.assert_allclose([clipped[0][0], clipped[1][0]], [math.sqrt(2), -math.sqrt(2)], rtol=1e-15)


def test_clip_reads_tensors_that_require_grad_as_their_values():
    g = [torch.tensor([80.0], requires_grad=True), torch.tensor([[60.0]], requires_grad=True)]
    parts, norm = clip_grad_norm(g, 10)
    assert norm == 100.0 and isinstance(parts, list) and len(parts) == 2
    np.testing.assert_allclose([parts[0][0], parts[1][0, 0]], [8.0, 6.0], rtol=1e-7)
    assert clip_grad_value(torch.tensor([80.0, -3.0], requires_grad=True), 10).tolist() == [10.0, -3.0]


def test_repeated_products_of_a_huge_nilpotent_matrix_reach_zero_not_inf():
    # W^2 = 0 exactly, but forming it as (2^600)^2 - (2^600)^2 overflowed to inf - inf before
    W = 2.0**600 * np.array([[1.0, 1.0], [-1.0, -1.0]])
    res = repeated_products(W, 3)
    np.testing.assert_array_equal(res.norms, [1.0, 2.0**601, 0.0, 0.0])
    lin = bptt_jacobian_norms(W, activation="linear", steps=2)
    np.testing.assert_array_equal(lin.norms, [1.0, 2.0**601, 0.0])


def test_repeated_products_norm_beyond_float64_is_inf_and_its_eigenvalue_inf_not_nan():
    res = repeated_products([[1e200]], 2)
    assert res.norms[2] == np.inf and res.eigenvalues[2, 0] == complex(np.inf, 0)


def test_repeated_products_refuses_steps_beyond_memory_naming_steps():
    # before: "array is too big; arr.size * arr.dtype.itemsize is larger than the maximum possible size"
    with pytest.raises(ValueError, match="steps=4611686018427387904 needs about .* choose a smaller steps"):
        repeated_products(np.eye(2), 2**62)
    with pytest.raises(ValueError, match="choose a smaller steps"):
        bptt_jacobian_norms(np.eye(2), steps=2**62)


def test_bptt_of_a_huge_recurrent_matrix_saturates_instead_of_failing():
    res = bptt_jacobian_norms(1e300 * np.eye(2), steps=3, h0=[1.0, -1.0])
    assert np.all(np.isfinite(res.norms)) and res.norms[1] == 0.0  # tanh'(+-inf) = 0


def test_init_at_the_largest_gains():
    # before: "uniform" raised OverflowError (high - low exceeds the range)
    W = init_recurrent(3, "uniform", gain=1.7e308, seed=0)
    assert np.all(np.isfinite(W)) and np.all(np.abs(W) <= 1.7e308 / math.sqrt(3))
    smaller = init_recurrent(3, "uniform", gain=1.7e308 / 2.0**1020, seed=0)
    np.testing.assert_array_equal(W / 2.0**1020, smaller)  # the same draws, exactly scaled
    for seed in range(5):  # an entry 1.7e308 z is beyond float64 exactly when |z| > 1.057
        if abs(np.random.default_rng(seed).standard_normal()) * 1.7e308 > np.finfo(float).max:
            with pytest.raises(ValueError, match="gain=1.7e\\+308 is too large"):
                init_recurrent(1, "normal", gain=1.7e308, seed=seed)
        else:
            assert np.isfinite(init_recurrent(1, "normal", gain=1.7e308, seed=seed)[0, 0])
    assert np.all(np.isfinite(init_recurrent(8, "scaled_orthogonal", gain=1.7e308, seed=0)))


def test_init_refuses_n_beyond_memory_naming_n():
    with pytest.raises(ValueError, match="n=1000000 needs about"):
        init_recurrent(10**6, "normal")


def test_every_function_reads_a_tensor_that_requires_grad_as_its_values():
    W = init_recurrent(4, "normal", seed=0)
    t = torch.tensor(W, requires_grad=True)
    X = np.random.default_rng(0).standard_normal((5, 4))
    np.testing.assert_array_equal(repeated_products(t, 3).norms, repeated_products(W, 3).norms)
    got = bptt_jacobian_norms(t, torch.tensor(X, requires_grad=True), torch.zeros(4, requires_grad=True))
    np.testing.assert_array_equal(got.norms, bptt_jacobian_norms(W, X).norms)
    assert init_recurrent(3, "normal", gain=torch.tensor(2.0), seed=1).shape == (3, 3)
    assert repeated_products(W, torch.tensor(2)).t.tolist() == [0, 1, 2]


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: init_recurrent(3, "normal", gain=10**400), "gain must be a finite number > 0, got an int"),
        (lambda: clip_grad_norm([1.0], 10**400), "max_norm must be .* > 0, got an integer of"),
        (lambda: clip_grad_value([1.0], 10**400), "limit must be a finite number > 0, got an integer of 401"),
        (lambda: repeated_products([[10**400]], 2), "W holds an integer of 401 digits, beyond float64"),
        (lambda: clip_grad_norm([10**400, 1], 1.0), "grads holds an integer of 401 digits, beyond float64"),
        (lambda: bptt_jacobian_norms(np.eye(1), [[10**400]]), "inputs holds an integer of 401 digits"),
        (lambda: repeated_products(np.array([[1, 1j]], dtype=object), 2), "W is complex"),
        (lambda: clip_grad_norm(np.array([1, np.complex128(1j)], dtype=object), 1), "grads is complex"),
    ],
)
def test_numbers_beyond_float64_and_complex_object_entries_get_one_line_errors(call, match):
    with pytest.raises((ValueError, TypeError), match=match) as info:
        call()
    assert "\n" not in str(info.value)
