"""Models: the explicit loop computes what nn.RNN computes; parametrizations stay orthogonal and train."""

import numpy as np
import pytest
import scipy.linalg
import torch

from linalg_rnn.orthogonal import cayley
from linalg_rnn.rnn._orthogonal_maps import cayley_map, expm_taylor
from linalg_rnn.rnn.models import (
    FunctionalRNN,
    FusedRNN,
    LoopRNN,
    LSTMModel,
    build_model,
    parametrize_orthogonal,
)


def pair(seed=0, I=3, H=7, O=2):
    torch.manual_seed(seed)
    fused = FusedRNN(I, H, O)
    loop = LoopRNN(I, H, O)
    loop.load_state_dict(fused.state_dict_for_loop())
    return fused, loop


def test_loop_and_fused_rnn_with_the_same_weights_give_the_same_outputs():
    fused, loop = pair()
    x = torch.randn(5, 11, 3)
    h0 = torch.randn(5, 7)
    for init in (None, h0):
        y_f, h_f = fused(x, init)
        y_l, h_l = loop(x, init)
        assert torch.allclose(y_f, y_l, atol=1e-6) and torch.allclose(h_f, h_l, atol=1e-6)


def test_loop_and_fused_rnn_give_the_same_gradients():
    fused, loop = pair(1)
    x = torch.randn(4, 9, 3)
    fused(x)[0].pow(2).sum().backward()
    loop(x)[0].pow(2).sum().backward()
    grads_f = dict(fused.state_dict_for_loop())
    for name, p in loop.named_parameters():
        ref = fused.rnn if not name.startswith("readout") else fused.readout
        key = name.split(".", 1)[1] if name.startswith("readout") else name
        assert torch.allclose(p.grad, getattr(ref, key).grad, atol=1e-5), name
    assert set(grads_f) == {n for n, _ in loop.named_parameters()}


def test_loop_keeps_every_hidden_state_with_its_gradient():
    _, loop = pair()
    x = torch.randn(2, 6, 3)
    out, h, hs = loop(x, keep_hidden=True)
    out[:, -1].sum().backward()
    assert len(hs) == 6 and torch.equal(hs[-1], h)
    assert all(t.grad is not None for t in hs)


@pytest.mark.parametrize("orthogonal_map", ["expm", "cayley"])
def test_parametrized_w_hh_is_orthogonal_and_moves_under_adam(orthogonal_map):
    torch.manual_seed(0)
    model = parametrize_orthogonal(LoopRNN(2, 6, 1), orthogonal_map)
    W0 = model.recurrent_matrix().clone()
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(3):
        opt.zero_grad()
        model(torch.randn(4, 5, 2))[0].pow(2).mean().backward()
        opt.step()
    W = model.recurrent_matrix()
    assert (W - W0).abs().max() > 1e-3  # issue 65688 would leave it unchanged
    assert torch.allclose(W.T @ W, torch.eye(6), atol=1e-5)
    assert model.recurrent_parameter() is model.parametrizations.weight_hh_l0.original


def test_parametrization_keeps_an_orthogonal_starting_matrix():
    torch.manual_seed(0)
    model = LoopRNN(2, 6, 1)
    Q = torch.linalg.qr(torch.randn(6, 6))[0]
    with torch.no_grad():
        model.weight_hh_l0.copy_(Q)
    parametrize_orthogonal(model, "expm")
    assert torch.allclose(model.recurrent_matrix(), Q, atol=1e-6)


def test_lstm_recurrent_matrix_is_the_cell_candidate_block():
    model = LSTMModel(2, 5, 1)
    full = model.lstm.weight_hh_l0.detach()
    assert full.shape == (20, 5)
    assert torch.equal(model.recurrent_matrix(), full[10:15])
    assert model.recurrent_parameter() is model.lstm.weight_hh_l0
    y, (h, c) = model(torch.zeros(3, 4, 2), (torch.zeros(3, 5), torch.zeros(3, 5)))
    assert y.shape == (3, 4, 1) and h.shape == c.shape == (3, 5)


def test_fused_recurrent_parameter_is_the_nn_rnn_weight_itself():
    fused, _ = pair()
    assert fused.recurrent_parameter() is fused.rnn.weight_hh_l0
    assert not fused.is_parametrized


def test_parametrizing_anything_but_the_loop_is_refused():
    with pytest.raises(TypeError, match="65688"):
        parametrize_orthogonal(FusedRNN(1, 3, 1), "cayley")
    with pytest.raises(ValueError, match="needs kind='loop'"):
        build_model("lstm", 1, 3, 1, parametrization="expm")
    with pytest.raises(ValueError, match="unknown model kind"):
        build_model("gru", 1, 3, 1)
    with pytest.raises(ValueError, match="unknown orthogonal_map"):
        parametrize_orthogonal(LoopRNN(1, 3, 1), "householder")
    with pytest.raises(ValueError, match="hidden_size must be an integer >= 1"):
        build_model("loop", 1, 0, 1)


# --- the parametrized strategies on the fused kernel (performance issue) -----------------------

def parametrized_pair(orthogonal_map, seed=0, I=3, H=7, O=2):
    """The same parametrized weights as a FunctionalRNN (fused kernel) and a LoopRNN, in float64."""
    models = []
    for kind in ("fused", "loop"):
        torch.manual_seed(seed)
        m = build_model(kind, I, H, O, parametrization=orthogonal_map, init_scheme="orthogonal").double()
        models.append(m)
    X = 0.4 * torch.randn(H, H, generator=torch.Generator().manual_seed(seed + 1), dtype=torch.float64)
    for m in models:  # move away from A = 0, where exp and its Taylor series are trivial
        with torch.no_grad():
            m.parametrizations.weight_hh_l0.original.copy_(X)
    return models


@pytest.mark.parametrize("orthogonal_map", ["expm", "cayley"])
def test_fused_parametrized_gradient_equals_the_explicit_loops_in_float64(orthogonal_map):
    fused, loop = parametrized_pair(orthogonal_map)
    assert isinstance(fused, FunctionalRNN) and not isinstance(loop, FunctionalRNN)
    x = torch.randn(4, 9, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    h0 = torch.randn(4, 7, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    for model in (fused, loop):
        out, h = model(x, h0)
        (out.pow(2).sum() + h.sum()).backward()
    grads = dict(loop.named_parameters())
    for name, p in fused.named_parameters():
        assert torch.allclose(p.grad, grads[name].grad, rtol=0, atol=1e-10), name
    assert fused.recurrent_parameter().grad.abs().max() > 1e-3  # the gradient reached A


@pytest.mark.parametrize("orthogonal_map", ["expm", "cayley"])
def test_effective_w_hh_changes_after_an_optimizer_step_on_the_fused_path(orthogonal_map):
    # PyTorch issue 65688: a parametrized nn.RNN weight can stop training silently on cuDNN
    torch.manual_seed(0)
    model = build_model("fused", 2, 6, 1, parametrization=orthogonal_map, init_scheme="orthogonal")
    W0 = model.recurrent_matrix().clone()
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    x = torch.randn(4, 5, 2)
    model(x)[0].pow(2).mean().backward()
    opt.step()
    W1 = model.recurrent_matrix()
    assert (W1 - W0).abs().max() > 1e-3
    assert torch.allclose(W1.T @ W1, torch.eye(6), atol=1e-5)
    loop = LoopRNN(2, 6, 1)  # the next forward uses the new W_hh: compare with a plain loop holding it
    state = {k: v for k, v in model.state_dict().items() if not k.startswith("parametrizations")}
    loop.load_state_dict({**state, "weight_hh_l0": W1}, strict=True)
    assert torch.allclose(model(x)[0], loop(x)[0], atol=1e-6)


def test_every_tanh_model_runs_the_explicit_loop_on_its_own_weights_when_asked():
    fused, loop = pair(4)
    x = torch.randn(3, 6, 3)
    y_f, h_f, hs = fused(x, keep_hidden=True)
    assert len(hs) == 6 and torch.allclose(y_f, fused(x)[0], atol=1e-6)
    y_l, _, _ = loop(x, keep_hidden=True)
    assert torch.allclose(y_f, y_l, atol=1e-6)
    functional, _ = parametrized_pair("cayley")
    xd = x.double()
    assert torch.allclose(functional(xd, keep_hidden=True)[0], functional(xd)[0], atol=1e-12)


@pytest.mark.parametrize("scale", [0.0, 1e-3, 0.7, 3.0, 40.0])
@pytest.mark.parametrize("skew", [True, False])
def test_taylor_exponential_matches_scipy(scale, skew):
    G = torch.randn(8, 8, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    A = scale * ((G - G.T) / 2 if skew else G / 4)
    expected = torch.from_numpy(scipy.linalg.expm(A.numpy()))
    got = expm_taylor(A)
    assert torch.linalg.norm(got - expected) <= 1e-13 * torch.linalg.norm(expected)


def test_taylor_exponential_gradient_matches_torch_matrix_exp():
    G = torch.randn(6, 6, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    C = torch.randn(6, 6, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    grads = []
    for f in (expm_taylor, torch.matrix_exp):
        A = (2.5 * (G - G.T)).requires_grad_()
        (f(A) * C).sum().backward()
        grads.append(A.grad)
    assert torch.allclose(grads[0], grads[1], rtol=0, atol=1e-10)


@pytest.mark.parametrize("scale", [1e-3, 0.3, 1.0, 5.0])
def test_trainers_cayley_map_is_the_books_cayley_of_the_same_argument(scale):
    G = torch.randn(6, 6, generator=torch.Generator().manual_seed(8), dtype=torch.float64)
    B = scale * (G - G.T)
    Q = cayley_map(B)
    np.testing.assert_allclose(Q.numpy(), cayley(B.numpy()), rtol=0, atol=1e-13)
    eye = np.eye(6)  # the formula of DESIGN.md, (I + B)^-1 (I - B)
    np.testing.assert_allclose(Q.numpy(), np.linalg.inv(eye + B.numpy()) @ (eye - B.numpy()), atol=1e-12)
    assert torch.allclose(Q.T @ Q, torch.eye(6, dtype=torch.float64), atol=1e-13)


def test_parametrization_state_dict_keeps_torchs_names_and_its_base():
    torch.manual_seed(0)
    model = build_model("fused", 2, 5, 1, parametrization="expm", init_scheme="orthogonal")
    keys = set(model.state_dict())
    assert {"parametrizations.weight_hh_l0.original", "parametrizations.weight_hh_l0.0.base"} <= keys
    assert model.recurrent_parameter().abs().max() == 0  # X starts at 0: W_hh = the base
    assert torch.equal(model.recurrent_matrix(), model.parametrizations.weight_hh_l0[0].base)
