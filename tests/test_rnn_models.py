"""Models: the explicit loop computes what nn.RNN computes; parametrizations stay orthogonal and train;
the literature's options (forget bias, chrono, skew starts, modReLU, re-basing) match their references."""

import numpy as np
import pytest
import scipy.linalg
import scipy.stats
import torch

from linalg_rnn.orthogonal import cayley, random_orthogonal
from linalg_rnn.rnn._modrelu import modrelu, modrelu_recurrence
from linalg_rnn.rnn._orthogonal_maps import (
    ORTHOGONAL_MAPS,
    SkewOrthogonal,
    cayley_map,
    expm_taylor,
    skew_init,
)
from linalg_rnn.rnn.models import (
    ACTIVATIONS,
    LSTM_GATES,
    MODEL_KINDS,
    FunctionalRNN,
    FusedRNN,
    LoopRNN,
    LSTMModel,
    ParametrizableRNN,
    RecurrentModel,
    build_model,
    equal_parameter_lstm_hidden,
    parameter_count,
    parametrize_orthogonal,
)
from linalg_rnn.rnn.strategies import orthogonal_matrix


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


# --- the class tree ------------------------------------------------------------------------------

def test_class_tree_says_which_models_own_their_weights_and_how_they_run():
    assert issubclass(LoopRNN, ParametrizableRNN) and issubclass(FunctionalRNN, ParametrizableRNN)
    assert not issubclass(FunctionalRNN, LoopRNN)  # it runs one op, not the loop
    for cls in (FusedRNN, LoopRNN, FunctionalRNN, LSTMModel):
        assert issubclass(cls, RecurrentModel)
    assert not issubclass(FusedRNN, ParametrizableRNN) and not issubclass(LSTMModel, ParametrizableRNN)


# --- LSTM: forget-gate bias 1, chrono init ---------------------------------------------------------

def fresh_lstm_biases(seed, I, H):
    torch.manual_seed(seed)
    lstm = torch.nn.LSTM(I, H, batch_first=True)
    return lstm.bias_ih_l0.detach(), lstm.bias_hh_l0.detach()


@pytest.mark.parametrize("setting", [1.0, 0.0, -2.5, 3.0])
def test_lstm_effective_forget_bias_equals_the_setting_and_other_gates_keep_pytorchs_init(setting):
    I, H = 3, 5
    torch.manual_seed(7)
    model = LSTMModel(I, H, 2, forget_bias=setting)
    b_ih, b_hh = model.lstm.bias_ih_l0.detach(), model.lstm.bias_hh_l0.detach()
    f = slice(H, 2 * H)  # nn.LSTM's gate order is i, f, g, o
    assert torch.equal(b_ih[f] + b_hh[f], torch.full((H,), setting))
    assert torch.equal(b_ih[f], torch.full((H,), setting)) and torch.equal(b_hh[f], torch.zeros(H))
    assert torch.equal(model.gate_bias("f"), torch.full((H,), setting))
    ref_ih, ref_hh = fresh_lstm_biases(7, I, H)  # what PyTorch drew, with the same seed
    for rows in (slice(0, H), slice(2 * H, 3 * H), slice(3 * H, 4 * H)):  # i, g, o untouched
        assert torch.equal(b_ih[rows], ref_ih[rows]) and torch.equal(b_hh[rows], ref_hh[rows])
    for k, gate in enumerate(LSTM_GATES):
        rows = slice(k * H, (k + 1) * H)
        assert torch.equal(model.gate_bias(gate), b_ih[rows] + b_hh[rows])


def test_lstm_default_forget_bias_is_one_and_pytorchs_is_about_zero():
    torch.manual_seed(0)
    built = build_model("lstm", 2, 64, 1)
    assert torch.equal(built.gate_bias("f"), torch.ones(64))
    ref_ih, ref_hh = fresh_lstm_biases(0, 2, 64)
    assert (ref_ih[64:128] + ref_hh[64:128]).abs().max() < 2 / 8  # uniform on +-1/sqrt(H), twice


def test_chrono_init_draws_log_uniform_forget_biases_and_the_opposite_input_biases():
    H, t_max = 4000, 100
    torch.manual_seed(3)
    model = LSTMModel(2, H, 1, chrono_t_max=t_max)
    torch.manual_seed(3)
    plain = LSTMModel(2, H, 1)  # the same nn.LSTM draws, then the forget bias
    u = 1 + (t_max - 2) * torch.rand(H, dtype=torch.float64)  # the next draws of the global generator
    b_ih, b_hh = model.lstm.bias_ih_l0.detach(), model.lstm.bias_hh_l0.detach()
    i, f, g, o = (slice(k * H, (k + 1) * H) for k in range(4))
    assert torch.allclose(b_ih[f], torch.log(u).float()) and torch.equal(b_hh[f], torch.zeros(H))
    assert torch.equal(b_ih[i], -b_ih[f]) and torch.equal(b_hh[i], torch.zeros(H))
    assert torch.equal(model.gate_bias("i"), -model.gate_bias("f"))
    for rows in (g, o):  # the other gates keep PyTorch's init
        assert torch.equal(b_ih[rows], plain.lstm.bias_ih_l0.detach()[rows])
    b_f = model.gate_bias("f").double()
    assert b_f.min() >= 0 and b_f.max() <= np.log(t_max - 1) + 1e-6
    # exp(b_f) is uniform on [1, T_max - 1]: a Kolmogorov-Smirnov test on 4000 draws
    assert scipy.stats.kstest(torch.exp(b_f).numpy(), "uniform", args=(1, t_max - 2)).pvalue > 1e-3


def test_chrono_init_with_a_generator_is_reproducible():
    model = LSTMModel(1, 8, 1)
    model.chrono_init_(50, generator=torch.Generator().manual_seed(1))
    first = model.gate_bias("f").clone()
    model.chrono_init_(50, generator=torch.Generator().manual_seed(1))
    assert torch.equal(model.gate_bias("f"), first)


def test_lstm_options_refuse_bad_input_in_one_line():
    with pytest.raises(ValueError, match="forget_bias must be a finite"):
        LSTMModel(1, 3, 1, forget_bias=float("nan"))
    with pytest.raises(ValueError, match="chrono_t_max must be an integer >= 2"):
        LSTMModel(1, 3, 1, chrono_t_max=1)
    with pytest.raises(ValueError, match="unknown gate"):
        LSTMModel(1, 3, 1).gate_bias("x")
    with pytest.raises(ValueError, match="forget_bias or chrono_t_max"):
        build_model("lstm", 1, 3, 1, forget_bias=1.0, chrono_t_max=10)
    with pytest.raises(ValueError, match="forget_bias is an LSTM option"):
        build_model("fused", 1, 3, 1, forget_bias=1.0)
    with pytest.raises(ValueError, match="chrono_t_max is an LSTM option"):
        build_model("loop", 1, 3, 1, chrono_t_max=10)
    with pytest.raises(ValueError, match="activation 'modrelu' needs kind='loop' or 'fused'"):
        build_model("lstm", 1, 3, 1, activation="modrelu")


# --- init_scheme henaff / cayley as the start of the skew parameter -------------------------------

@pytest.mark.parametrize("n", [1, 6, 7])
def test_skew_init_maps_to_the_schemes_matrix_with_the_schemes_angles(n):
    for scheme, to_orthogonal in (("henaff", expm_taylor), ("cayley", cayley_map)):
        B0 = skew_init(n, scheme, generator=torch.Generator().manual_seed(4))
        assert torch.equal(B0.T, -B0) and B0.dtype == torch.float64
        Q = orthogonal_matrix(n, scheme, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
        assert torch.allclose(to_orthogonal(B0), Q, rtol=0, atol=1e-14)
        # the blocks: B0[2k, 2k+1] = -theta_k (henaff) or w_k = -tan(t_k / 2) (cayley)
        u = torch.rand(n // 2, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
        upper = B0[torch.arange(n // 2) * 2, torch.arange(n // 2) * 2 + 1]
        angles = (u * 2 - 1) * np.pi if scheme == "henaff" else u * np.pi / 2
        expected = -angles if scheme == "henaff" else -torch.tan(angles / 2)
        assert torch.allclose(upper, expected, rtol=0, atol=1e-15)
        eig = np.sort(np.angle(np.linalg.eigvals(Q.numpy())))
        want = np.sort(np.concatenate([angles.numpy(), -angles.numpy(), np.zeros(n % 2)]))
        np.testing.assert_allclose(eig, want, atol=1e-10)
        if scheme == "cayley":
            assert np.abs(eig).max() <= np.pi / 2 + 1e-12


@pytest.mark.parametrize("orthogonal_map, scheme", [("expm", "henaff"), ("cayley", "cayley")])
@pytest.mark.parametrize("kind", ["fused", "loop"])
def test_parametrized_model_starts_at_the_schemes_matrix_and_its_skew_parameter_moves(
        orthogonal_map, scheme, kind):
    H = 6
    torch.manual_seed(0)
    model = build_model(kind, 2, H, 1, parametrization=orthogonal_map, init_scheme=scheme)
    torch.manual_seed(0)
    (FunctionalRNN if kind == "fused" else LoopRNN)(2, H, 1)  # the same weight draws, then the scheme's
    Q = orthogonal_matrix(H, scheme)
    assert torch.allclose(model.recurrent_matrix(), Q, rtol=0, atol=1e-6)  # W_hh = map(B_0) = the scheme's
    assert torch.equal(model.parametrizations.weight_hh_l0[0].base, torch.eye(H))  # base I
    X = model.recurrent_parameter()
    B = SkewOrthogonal.skew(X.detach())
    assert torch.allclose(ORTHOGONAL_MAPS[orthogonal_map](B.double()).float(), Q, atol=1e-6)
    assert model.skew_norm() > 0.1  # the angles live in the parameter, not in a frozen base
    opt = torch.optim.Adam([X], lr=0.05)
    model(torch.randn(4, 5, 2))[0].pow(2).mean().backward()
    opt.step()
    W = model.recurrent_matrix()
    assert (W - Q).abs().max() > 1e-3 and torch.allclose(W.T @ W, torch.eye(H), atol=1e-5)


@pytest.mark.parametrize("orthogonal_map, scheme, angle_of", [
    ("expm", "cayley", lambda w: -w),                          # e^B: the block's own angle
    ("cayley", "henaff", lambda w: -2 * np.arctan(w)),         # cay(B): -2 arctan w
])
def test_either_map_takes_either_skew_start_with_the_maps_angles(orthogonal_map, scheme, angle_of):
    H = 8
    torch.manual_seed(1)
    model = build_model("fused", 1, H, 1, parametrization=orthogonal_map, init_scheme=scheme)
    B = SkewOrthogonal.skew(model.recurrent_parameter().detach().double())
    w = B[torch.arange(H // 2) * 2, torch.arange(H // 2) * 2 + 1].numpy()
    W = model.recurrent_matrix().double().numpy()
    eig = np.sort(np.angle(np.linalg.eigvals(W)))
    angles = np.array([angle_of(v) for v in w])
    np.testing.assert_allclose(eig, np.sort(np.concatenate([angles, -angles])), atol=1e-5)


@pytest.mark.parametrize("scheme", ["orthogonal", "identity"])
def test_other_schemes_under_a_parametrization_are_the_base_with_a_zero_skew_part(scheme):
    torch.manual_seed(2)
    model = build_model("fused", 1, 5, 1, parametrization="cayley", init_scheme=scheme)
    assert model.recurrent_parameter().abs().max() == 0 and model.skew_norm() == 0.0
    assert torch.equal(model.recurrent_matrix(), model.parametrizations.weight_hh_l0[0].base)


def test_a_skew_start_that_is_not_skew_symmetric_is_refused():
    with pytest.raises(ValueError, match="skew-symmetric 4 x 4"):
        parametrize_orthogonal(LoopRNN(1, 4, 1), "expm", skew=torch.ones(4, 4))
    with pytest.raises(ValueError, match="unknown skew init scheme"):
        skew_init(4, "orthogonal")


# --- modReLU --------------------------------------------------------------------------------------

def test_modrelu_is_sign_times_relu_of_modulus_plus_bias():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(50, 7, generator=g, dtype=torch.float64) * 2
    b = torch.randn(7, generator=g, dtype=torch.float64)
    expected = np.sign(z.numpy()) * np.maximum(np.abs(z.numpy()) + b.numpy(), 0.0)
    np.testing.assert_array_equal(modrelu(z, b).numpy(), expected)
    assert torch.equal(modrelu(torch.zeros(3), torch.ones(3)), torch.zeros(3))  # sign(0) = 0


def test_modrelu_gradient_passes_gradcheck_in_float64():
    g = torch.Generator().manual_seed(1)
    z = (torch.randn(6, 5, generator=g, dtype=torch.float64) * 2).requires_grad_()
    b = (torch.randn(5, generator=g, dtype=torch.float64) * 0.5).requires_grad_()
    assert torch.autograd.gradcheck(modrelu, (z, b))


def explicit_modrelu_loop(drive, h0, W, b):
    h, hs = h0, []
    for t in range(drive.shape[1]):
        h = modrelu(drive[:, t] + h @ W.T, b)
        hs.append(h)
    return torch.stack(hs, 1)


def test_modrelu_recurrence_values_and_gradients_equal_autograd_through_the_explicit_loop():
    g = torch.Generator().manual_seed(2)
    args = [torch.randn(4, 12, 6, generator=g, dtype=torch.float64),
            torch.randn(4, 6, generator=g, dtype=torch.float64),
            torch.randn(6, 6, generator=g, dtype=torch.float64) / 2,
            torch.randn(6, generator=g, dtype=torch.float64) * 0.3]
    C = torch.randn(4, 12, 6, generator=g, dtype=torch.float64)
    results = []
    for f in (modrelu_recurrence, explicit_modrelu_loop):
        leaves = [a.clone().requires_grad_() for a in args]
        hs = f(*leaves)
        (hs * C).sum().backward()
        results.append((hs.detach(), [p.grad for p in leaves]))
    (hs_a, grads_a), (hs_b, grads_b) = results
    assert torch.allclose(hs_a, hs_b, rtol=0, atol=1e-14)
    assert (hs_a == 0).any() and (hs_a != 0).any()  # some units off, some on: both branches run
    for name, ga, gb in zip(("drive", "h0", "W_hh", "bias"), grads_a, grads_b, strict=True):
        assert torch.allclose(ga, gb, rtol=0, atol=1e-12), name


def test_modrelu_recurrence_passes_gradcheck_in_float64():
    g = torch.Generator().manual_seed(3)
    args = [torch.randn(3, 7, 4, generator=g, dtype=torch.float64).requires_grad_(),
            torch.randn(3, 4, generator=g, dtype=torch.float64).requires_grad_(),
            (torch.randn(4, 4, generator=g, dtype=torch.float64) / 2).requires_grad_(),
            (torch.randn(4, generator=g, dtype=torch.float64) * 0.2).requires_grad_()]
    assert torch.autograd.gradcheck(modrelu_recurrence, args)


@pytest.mark.parametrize("parametrization", [None, "expm", "cayley"])
def test_modrelu_models_on_the_one_node_loop_and_the_explicit_loop_agree(parametrization):
    models = []
    for kind in ("fused", "loop"):
        torch.manual_seed(5)
        models.append(build_model(kind, 3, 7, 2, activation="modrelu", parametrization=parametrization,
                                  init_scheme="henaff" if parametrization else None).double())
    fast, loop = models
    assert isinstance(fast, FunctionalRNN) and isinstance(loop, LoopRNN) and fast.activation == "modrelu"
    x = torch.randn(4, 9, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(6))
    h0 = torch.randn(4, 7, dtype=torch.float64, generator=torch.Generator().manual_seed(7))
    outs = []
    for model in (fast, loop):
        out, h = model(x, h0)
        (out.pow(2).sum() + h.sum()).backward()
        outs.append(out.detach())
    assert torch.allclose(outs[0], outs[1], rtol=0, atol=1e-12)
    grads = dict(loop.named_parameters())
    for name, p in fast.named_parameters():
        assert torch.allclose(p.grad, grads[name].grad, rtol=0, atol=1e-10), name
    assert fast.modrelu_bias.grad.abs().max() > 0
    kept, _, hs = fast(x, h0, keep_hidden=True)  # per-lag gradients: the explicit loop
    assert len(hs) == 9 and torch.allclose(kept, outs[0], atol=1e-12)


def test_tanh_models_are_unchanged_by_the_activation_option():
    torch.manual_seed(8)
    tanh = LoopRNN(2, 5, 1)
    torch.manual_seed(8)
    mod = LoopRNN(2, 5, 1, activation="modrelu")
    for name, p in tanh.named_parameters():  # modReLU's bias is drawn after every tanh weight
        assert torch.equal(p, dict(mod.named_parameters())[name]), name
    assert mod.modrelu_bias.abs().max() <= 0.01 and not hasattr(tanh, "modrelu_bias")
    assert isinstance(build_model("fused", 2, 5, 1), FusedRNN)
    assert isinstance(build_model("fused", 2, 5, 1, activation="modrelu"), FunctionalRNN)
    with pytest.raises(ValueError, match="unknown activation 'relu'"):
        build_model("fused", 2, 5, 1, activation="relu")


# --- re-basing (dynamic trivialization) --------------------------------------------------------------

@pytest.mark.parametrize("orthogonal_map", ["expm", "cayley"])
@pytest.mark.parametrize("dtype, atol", [(torch.float64, 1e-12), (torch.float32, 2e-6)])
def test_rebase_keeps_w_hh_zeroes_the_parameter_and_keeps_its_optimizer_state(orthogonal_map, dtype, atol):
    torch.manual_seed(0)
    model = build_model("fused", 2, 6, 1, parametrization=orthogonal_map, init_scheme="orthogonal").to(dtype)
    with torch.no_grad():  # a base orthogonal to the rounding of the dtype, not of float32
        model.parametrizations.weight_hh_l0[0].base.copy_(torch.from_numpy(random_orthogonal(6, seed=0)))
    X = model.recurrent_parameter()
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    for _ in range(3):  # move B away from 0 and give X an optimizer state
        opt.zero_grad()
        model(torch.randn(4, 5, 2, dtype=dtype))[0].pow(2).mean().backward()
        opt.step()
    W_before = model.recurrent_matrix().clone()
    state_before = {k: v.clone() for k, v in opt.state[X].items()}
    assert model.skew_norm() > 0.05
    model.rebase_()
    assert torch.allclose(model.recurrent_matrix(), W_before, rtol=0, atol=atol)  # W_hh unchanged
    assert X.abs().max() == 0 and model.skew_norm() == 0.0  # the parameter is zero after
    assert model.recurrent_parameter() is X and any(p is X for p in opt.param_groups[0]["params"])
    for k, v in state_before.items():  # the optimizer state is kept as it was, as expRNN does
        assert torch.equal(opt.state[X][k], v), k
    base = model.parametrizations.weight_hh_l0[0].base
    assert torch.allclose(base, W_before, atol=atol)
    assert torch.allclose(base.T @ base, torch.eye(6, dtype=dtype), atol=10 * atol)
    opt.zero_grad()
    model(torch.randn(4, 5, 2, dtype=dtype))[0].pow(2).mean().backward()
    opt.step()
    assert model.skew_norm() > 0  # training goes on from the new base


def test_rebase_needs_a_parametrization():
    with pytest.raises(ValueError, match="rebase_ needs an expm or cayley"):
        LoopRNN(1, 3, 1).rebase_()


# --- the size of the skew parameter ----------------------------------------------------------------

def test_skew_norm_is_the_spectral_norm_of_the_skew_matrix():
    torch.manual_seed(0)
    model = build_model("fused", 2, 7, 1, parametrization="expm")
    assert model.skew_norm() == 0.0
    X = torch.randn(7, 7, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        model.recurrent_parameter().copy_(X)
    K = np.tril(X.double().numpy(), -1)
    assert model.skew_norm() == pytest.approx(np.linalg.norm(K - K.T, 2), rel=1e-12)
    torch.manual_seed(0)
    henaff = build_model("fused", 2, 6, 1, parametrization="expm", init_scheme="henaff")
    B = SkewOrthogonal.skew(henaff.recurrent_parameter().detach().double())
    assert henaff.skew_norm() == pytest.approx(B.abs().max().item(), rel=1e-7)  # the largest |theta_k|
    assert FusedRNN(1, 3, 1).skew_norm() is None and LSTMModel(1, 3, 1).skew_norm() is None


# --- equal parameter counts ---------------------------------------------------------------------

@pytest.mark.parametrize("n_in, H, n_out", [(1, 1, 1), (2, 64, 1), (10, 128, 9), (1, 17, 10)])
def test_parameter_count_is_the_number_of_trained_numbers_of_every_built_model(n_in, H, n_out):
    for kind in MODEL_KINDS:
        for activation in (("tanh",) if kind == "lstm" else ACTIVATIONS):
            for parametrization in ((None,) if kind == "lstm" else (None, "expm", "cayley")):
                model = build_model(kind, n_in, H, n_out, activation=activation,
                                    parametrization=parametrization)
                counted = sum(p.numel() for p in model.parameters())
                assert counted == parameter_count(kind, n_in, H, n_out, activation=activation), \
                    (kind, activation, parametrization)


@pytest.mark.parametrize("n_in, H, n_out", [(2, 64, 1), (10, 128, 9), (1, 190, 9), (1, 1, 1), (3, 5, 2)])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_equal_parameter_lstm_hidden_is_the_nearest_count_by_brute_force(n_in, H, n_out, activation):
    rnn = build_model("fused", n_in, H, n_out, activation=activation)
    target = sum(p.numel() for p in rnn.parameters())
    gaps = {h: abs(sum(p.numel() for p in build_model("lstm", n_in, h, n_out).parameters()) - target)
            for h in range(1, H + 2)}
    best = min(gaps.values())
    H_lstm = equal_parameter_lstm_hidden(H, n_in, n_out, activation=activation)
    assert gaps[H_lstm] == best and H_lstm == min(h for h, gap in gaps.items() if gap == best)
