"""The pieces of the batched path, each against the single-run code (or torch) it stands in for."""

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg
import torch

from linalg_rnn.orthogonal import cayley, random_orthogonal
from linalg_rnn.rnn._orthogonal_maps import SkewOrthogonal, expm_taylor
from linalg_rnn.rnn.members import (
    MemberModel,
    MemberOptimizer,
    clip_members_by_norm_,
    clip_members_by_value_,
    lstm_recurrence,
    member_gradient_norms,
    member_polar_project_,
    member_qr_project_,
    member_skew_orthogonal,
    tanh_rnn,
)
from linalg_rnn.rnn.models import build_model
from linalg_rnn.rnn.strategies import polar_project_, qr_project_

F64 = torch.float64


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


# ----------------------------------------------------------------------------- recurrence
def _stacked_rnns(N, I, H, O, dtype=F64):
    """N single RNNs with readouts, and their weights stacked as tanh_rnn takes them (leaves)."""
    rnns = [torch.nn.RNN(I, H, batch_first=True, dtype=dtype) for _ in range(N)]
    readouts = [torch.nn.Linear(H, O, dtype=dtype) for _ in range(N)]
    stacked = [torch.stack(ps).detach().requires_grad_() for ps in (
        [r.weight_ih_l0 for r in rnns], [r.bias_ih_l0 + r.bias_hh_l0 for r in rnns],
        [r.weight_hh_l0 for r in rnns], [r.weight for r in readouts], [r.bias for r in readouts])]
    return rnns, readouts, stacked


def test_tanh_rnn_matches_nn_rnn_per_member_in_values_and_every_gradient():
    g = _gen()
    N, T, B, I, H, O = 3, 7, 4, 2, 5, 3
    rnns, readouts, stacked = _stacked_rnns(N, I, H, O)
    x = torch.randn(N, B, T, I, generator=g, dtype=F64, requires_grad=True)
    h0 = torch.randn(N, B, H, generator=g, dtype=F64, requires_grad=True)
    out, h = tanh_rnn(x, h0, *stacked)
    w_out = torch.randn(out.shape, generator=g, dtype=F64)
    w_h = torch.randn(h.shape, generator=g, dtype=F64)
    ((out * w_out).sum() + (h * w_h).sum()).backward()
    W_ih, b, W_hh, W_hy, b_y = stacked
    for n, (rnn, readout) in enumerate(zip(rnns, readouts, strict=True)):
        x_n, h0_n = x[n].detach().requires_grad_(), h0[n].detach()[None].requires_grad_()
        hs, h_n = rnn(x_n, h0_n)
        y = readout(hs)
        assert torch.allclose(out[n], y, atol=1e-13) and torch.allclose(h[n], h_n[0], atol=1e-13)
        ((y * w_out[n]).sum() + (h_n[0] * w_h[n]).sum()).backward()
        pairs = [(W_hh.grad, rnn.weight_hh_l0.grad), (W_ih.grad, rnn.weight_ih_l0.grad),
                 (b.grad, rnn.bias_ih_l0.grad), (b.grad, rnn.bias_hh_l0.grad),
                 (W_hy.grad, readout.weight.grad), (b_y.grad, readout.bias.grad),
                 (x.grad, x_n.grad), (h0.grad, h0_n.grad[0])]
        for stacked_grad, single_grad in pairs:
            assert torch.allclose(stacked_grad[n], single_grad, atol=1e-12)


def test_tanh_rnn_gradcheck_with_initial_state_and_one_step():
    g = _gen(1)
    for T in (1, 4):
        x = torch.randn(2, 3, T, 2, generator=g, dtype=F64, requires_grad=True)
        h0 = torch.randn(2, 3, 4, generator=g, dtype=F64, requires_grad=True)
        weights = [torch.randn(shape, generator=g, dtype=F64, requires_grad=True)
                   for shape in [(2, 4, 2), (2, 4), (2, 4, 4), (2, 3, 4), (2, 3)]]
        assert torch.autograd.gradcheck(tanh_rnn, (x, h0, *weights))


def test_a_nan_in_one_member_stays_in_that_member():
    g = _gen(2)
    x = torch.randn(3, 2, 5, 2, generator=g)
    weights = [torch.randn(shape, generator=g, requires_grad=True)
               for shape in [(3, 4, 2), (3, 4), (3, 4, 4), (3, 1, 4), (3, 1)]]
    x[1, 0, 2, 0] = float("nan")
    out, h = tanh_rnn(x, torch.zeros(3, 2, 4), *weights)
    out.sum().backward()
    assert torch.isnan(out[1]).any() and torch.isfinite(out[[0, 2]]).all()
    W_hh = weights[2]
    assert torch.isnan(W_hh.grad[1]).any() and torch.isfinite(W_hh.grad[[0, 2]]).all()


def test_lstm_recurrence_matches_nn_lstm_per_member_in_values_and_gradients():
    g = _gen(3)
    N, T, B, I, H = 2, 6, 3, 2, 4
    lstms = [torch.nn.LSTM(I, H, batch_first=True, dtype=F64) for _ in range(N)]
    x = torch.randn(N, B, T, I, generator=g, dtype=F64)
    W_hh = torch.stack([m.weight_hh_l0 for m in lstms]).detach().requires_grad_()
    u = torch.stack([(x[n] @ m.weight_ih_l0.T + m.bias_ih_l0 + m.bias_hh_l0).transpose(0, 1).detach()
                     for n, m in enumerate(lstms)])
    zeros = torch.zeros(N, B, H, dtype=F64)
    hs, c = lstm_recurrence(u, zeros, zeros, W_hh)
    hs.square().sum().backward()
    for n, m in enumerate(lstms):
        out, (_, c_n) = m(x[n])
        out.square().sum().backward()
        assert torch.allclose(hs[n].transpose(0, 1), out, atol=1e-13)
        assert torch.allclose(c[n], c_n[0], atol=1e-13)
        assert torch.allclose(W_hh.grad[n], m.weight_hh_l0.grad, atol=1e-12)


# ----------------------------------------------------------------------------- orthogonal maps
def test_expm_taylor_of_a_stack_takes_each_members_own_scaling():
    g = _gen(4)
    Z = torch.randn(4, 6, 6, generator=g, dtype=F64)
    A = (Z - Z.mT) * torch.tensor([0.0, 0.05, 3.0, 40.0], dtype=F64)[:, None, None]  # s = 0, 0, >0, >>0
    E = expm_taylor(A)
    for n in range(4):
        assert torch.allclose(E[n], expm_taylor(A[n]), rtol=0, atol=1e-13)
        assert torch.allclose(E[n], torch.from_numpy(scipy.linalg.expm(A[n].numpy())), atol=1e-11)


def test_expm_taylor_of_a_stack_has_each_members_own_gradient():
    g = _gen(5)
    A = torch.randn(3, 5, 5, generator=g, dtype=F64) * torch.tensor([0.3, 2.0, 9.0], dtype=F64)[:, None, None]
    A.requires_grad_()
    weights = torch.randn(3, 5, 5, generator=g, dtype=F64)
    (expm_taylor(A) * weights).sum().backward()
    for n in range(3):
        a = A[n].detach().clone().requires_grad_()
        (expm_taylor(a) * weights[n]).sum().backward()
        assert torch.allclose(A.grad[n], a.grad, atol=1e-11)


@pytest.mark.parametrize("orthogonal_map", ["expm", "cayley"])
def test_member_skew_orthogonal_is_each_members_single_parametrization(orthogonal_map):
    X = torch.randn(3, 5, 5, generator=_gen(6), dtype=F64)
    base = torch.stack([torch.from_numpy(random_orthogonal(5, seed=n)) for n in range(3)])
    W = member_skew_orthogonal(X, base, orthogonal_map)
    for n in range(3):
        single = SkewOrthogonal(orthogonal_map)
        single.base = base[n]
        assert torch.allclose(W[n], single(X[n]), atol=1e-14)


def test_member_cayley_is_the_books_cayley_of_each_member():
    X = torch.randn(3, 5, 5, generator=_gen(6), dtype=F64)
    W = member_skew_orthogonal(X, torch.eye(5, dtype=F64).expand(3, 5, 5), "cayley")
    for n in range(3):
        K = X[n].tril(-1)
        assert np.allclose(W[n].numpy(), cayley((K - K.T).numpy()), atol=1e-14)  # (I + B)^-1 (I - B)


@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_member_projections_equal_the_single_projections_per_member(dtype):
    W = torch.randn(4, 6, 6, generator=_gen(7), dtype=dtype)
    for batched, single in ((member_qr_project_, qr_project_), (member_polar_project_, polar_project_)):
        stacked = W.clone()
        assert batched(stacked) is stacked
        for n in range(4):
            alone = torch.nn.Parameter(W[n].clone())
            single(alone)
            assert torch.allclose(stacked[n], alone.detach(), rtol=0, atol=1e-14 if dtype == F64 else 1e-6)


# ----------------------------------------------------------------------------- gradients
def test_member_gradient_norms_and_clipping_equal_clip_grad_norm_per_member():
    g = _gen(8)
    shapes = [(3, 4, 5), (3, 5)]
    grads = [torch.randn(s, generator=g, dtype=F64) * torch.tensor([0.01, 1.0, 50.0], dtype=F64).view(
        (3,) + (1,) * (len(s) - 1)) for s in shapes]
    singles = [[torch.nn.Parameter(torch.zeros(s[1:], dtype=F64)) for s in shapes] for _ in range(3)]
    for n in range(3):
        for p, gr in zip(singles[n], grads, strict=True):
            p.grad = gr[n].clone()
    max_norm = torch.tensor([1.0, 1.0, math.inf], dtype=F64)  # the last member is not clipped
    total, _ = member_gradient_norms(grads)
    clip_members_by_norm_(grads, total, max_norm)
    for n in range(3):
        before = torch.nn.utils.clip_grad_norm_(singles[n], 1.0 if n < 2 else math.inf)
        assert math.isclose(total[n].item(), before.item(), rel_tol=1e-14)
        for p, gr in zip(singles[n], grads, strict=True):
            assert torch.allclose(gr[n], p.grad, rtol=1e-14, atol=0)


def test_clipping_one_member_leaves_the_others_gradients_alone():
    grads = [torch.tensor([[1e6, 1e6], [0.3, 0.4]])]
    total, _ = member_gradient_norms(grads)
    clip_members_by_norm_(grads, total, torch.tensor([1.0, 1.0]))
    assert grads[0][1].tolist() == pytest.approx([0.3, 0.4])  # its norm 0.5 < 1: untouched
    limited = [torch.tensor([[5.0, -5.0], [0.5, -0.5]])]
    clip_members_by_value_(limited, torch.tensor([1.0, math.inf]))
    assert limited[0].tolist() == [[1.0, -1.0], [0.5, -0.5]]


# ----------------------------------------------------------------------------- optimizer
@pytest.mark.parametrize("kind", [torch.optim.Adam, torch.optim.RMSprop, torch.optim.SGD])
def test_member_optimizer_moves_each_member_as_torch_optim_at_its_own_lr(kind):
    g = _gen(9)
    lrs = (1e-3, 3e-2, 0.5)
    models = [torch.nn.Linear(3, 2, dtype=F64) for _ in lrs]
    optimizers = [kind(m.parameters(), lr=lr) for m, lr in zip(models, lrs, strict=True)]
    member = MemberOptimizer(optimizers, models)
    params = {name: torch.stack([dict(m.named_parameters())[name].detach() for m in models]).clone()
              for name, _ in models[0].named_parameters()}
    for _ in range(6):
        for name, p in params.items():
            p.grad = torch.randn(p.shape, generator=g, dtype=F64)
            for n, m in enumerate(models):
                dict(m.named_parameters())[name].grad = p.grad[n].clone()
        member.step(params)
        for o in optimizers:
            o.step()
    for name, p in params.items():
        for n, m in enumerate(models):
            assert torch.allclose(p[n], dict(m.named_parameters())[name].detach(), rtol=1e-15, atol=1e-16)


def test_member_optimizer_state_goes_into_torch_optim_in_its_own_format():
    g = _gen(10)
    models = [torch.nn.Linear(2, 2) for _ in range(2)]
    optimizers = [torch.optim.Adam(m.parameters(), lr=lr) for m, lr in zip(models, (1e-3, 1e-2), strict=True)]
    reference = torch.nn.Linear(2, 2)
    reference.load_state_dict(models[1].state_dict())
    ref_opt = torch.optim.Adam(reference.parameters(), lr=1e-2)
    member = MemberOptimizer(optimizers, models)
    params = {name: torch.stack([dict(m.named_parameters())[name].detach() for m in models]).clone()
              for name, _ in models[0].named_parameters()}
    for _ in range(3):
        for name, p in params.items():
            p.grad = torch.randn(p.shape, generator=g)
            dict(reference.named_parameters())[name].grad = p.grad[1].clone()
        member.step(params)
        ref_opt.step()
    member.store(1, optimizers[1], models[1])
    mine, theirs = optimizers[1].state_dict(), ref_opt.state_dict()
    assert mine["param_groups"] == theirs["param_groups"]
    for k, state in theirs["state"].items():
        assert sorted(mine["state"][k]) == sorted(state)
        for key, value in state.items():
            assert mine["state"][k][key].dtype == value.dtype
            assert torch.allclose(mine["state"][k][key], value)


def test_member_optimizer_refuses_settings_it_does_not_implement():
    models = [torch.nn.Linear(2, 1) for _ in range(2)]
    with pytest.raises(ValueError, match="momentum"):
        MemberOptimizer([torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9) for m in models], models)
    with pytest.raises(TypeError, match="Adagrad"):
        MemberOptimizer([torch.optim.Adagrad(m.parameters()) for m in models], models)


# ----------------------------------------------------------------------------- model
@pytest.mark.parametrize("kind,parametrization,init", [
    ("fused", None, None), ("loop", None, None), ("fused", "expm", "orthogonal"), ("fused", "expm", "henaff"),
    ("fused", "cayley", "cayley"), ("loop", "cayley", None),
    ("fused", "cayley", None), ("lstm", None, None)])
def test_member_model_is_each_single_model_in_outputs_and_gradients(kind, parametrization, init):
    torch.manual_seed(11)
    singles = [build_model(kind, 3, 5, 2, parametrization=parametrization, init_scheme=init).double()
               for _ in range(3)]
    if parametrization is not None:  # move the skew parameter off zero, so the map is exercised
        for m in singles:
            with torch.no_grad():
                m.recurrent_parameter().copy_(torch.randn(5, 5, dtype=F64))
    stack = MemberModel(singles)
    x = torch.randn(3, 4, 6, 3, dtype=F64)
    out, _ = stack(x)
    out.square().sum().backward()
    for n, m in enumerate(singles):
        single_out, _ = m(x[n])
        single_out.square().sum().backward()
        assert torch.allclose(out[n], single_out, atol=1e-12)
        assert torch.allclose(stack.recurrent_matrix()[n], m.recurrent_matrix(), atol=1e-12)
        for name, p in m.named_parameters():
            assert torch.allclose(stack.params[name].grad[n], p.grad, atol=1e-11), name


def test_member_model_write_back_and_keep_move_the_right_member():
    torch.manual_seed(12)
    singles = [build_model("fused", 2, 4, 1) for _ in range(3)]
    stack = MemberModel(singles)
    with torch.no_grad():
        for p in stack.parameters():
            p.add_(torch.arange(3.0).view((3,) + (1,) * (p.ndim - 1)))
    stack.keep([2, 0])
    target = build_model("fused", 2, 4, 1)
    stack.write_back(0, target)
    for name, p in target.named_parameters():
        assert torch.equal(p.detach(), dict(singles[2].named_parameters())[name].detach() + 2)
    assert stack.members == 2


def test_member_model_refuses_members_of_different_kinds():
    with pytest.raises(TypeError, match="one model class"):
        MemberModel([build_model("fused", 2, 4, 1), build_model("lstm", 2, 4, 1)])
    with pytest.raises(ValueError, match="names or shapes"):
        MemberModel([build_model("fused", 2, 4, 1), build_model("fused", 2, 5, 1)])


# ----------------------------------------------------------------------------- the benchmark
def test_bench_batched_runs_every_section_at_a_small_size_on_the_cpu(capsys):
    path = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_batched.py"
    spec = importlib.util.spec_from_file_location("bench_batched", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.main(["--quick", "--device", "cpu", "--sections", "1,2,3", "--threads", "0"])
    out = capsys.readouterr().out
    assert "runs/core-hour" in out and "gain" in out and "written out" in out
    assert "no estimate" not in out  # the full profile's grid is read through the showdown's own API
    assert "the full profile:" in out and "est." in out
