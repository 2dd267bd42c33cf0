"""Models: the explicit loop computes what nn.RNN computes; parametrizations stay orthogonal and train."""

import pytest
import torch

from linalg_rnn.rnn.models import (
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


@pytest.mark.parametrize("orthogonal_map", ["matrix_exp", "cayley"])
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
    parametrize_orthogonal(model, "matrix_exp")
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
        build_model("lstm", 1, 3, 1, parametrization="matrix_exp")
    with pytest.raises(ValueError, match="unknown model kind"):
        build_model("gru", 1, 3, 1)
    with pytest.raises(ValueError, match="unknown orthogonal_map"):
        parametrize_orthogonal(LoopRNN(1, 3, 1), "householder")
    with pytest.raises(ValueError, match="hidden_size must be an integer >= 1"):
        build_model("loop", 1, 0, 1)
