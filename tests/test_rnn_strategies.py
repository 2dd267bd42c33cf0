"""Strategies: parsing and combination rules, orthogonal inits, projections that keep the optimizer."""

import json

import numpy as np
import pytest
import scipy.linalg
import torch

from linalg_rnn.rnn.config import TrainConfig
from linalg_rnn.rnn.strategies import (
    ORTHOGONAL_INIT_SCHEMES,
    STRATEGY_NAMES,
    orthogonal_init_,
    orthogonal_matrix,
    parse_strategy,
    polar_project_,
    qr_project_,
)
from linalg_rnn.rnn.trainer import build_run, train, train_step


def test_parse_orders_parts_canonically_and_derives_model_and_options():
    s = parse_strategy("clip + qr_projection+orthogonal_init")
    assert s.names == ("clip", "orthogonal_init", "qr_projection")
    assert str(s) == "clip+orthogonal_init+qr_projection"
    assert (s.model_kind, s.projection, s.parametrization) == ("fused", "qr", None)
    assert parse_strategy("expm+clip").model_kind == "fused"  # W_hh computed, then the fused kernel
    assert parse_strategy("cayley").parametrization == "cayley"
    assert parse_strategy("lstm+tbptt").model_kind == "lstm"
    assert parse_strategy("polar_projection").projection == "polar"


@pytest.mark.parametrize("name", STRATEGY_NAMES)
def test_every_single_name_parses(name):
    assert parse_strategy(name).names == (name,)


@pytest.mark.parametrize(
    "text, message",
    [
        ("adam", "unknown strategy 'adam'"),
        ("clip+qr", "unknown strategy 'qr'"),
        ("", "names joined by"),
        ("clip+clip", "clip given more than once"),
        ("vanilla+clip", "vanilla means no strategy"),
        ("expm+cayley", "one parametrization"),
        ("qr_projection+polar_projection", "one projection"),
        ("expm+qr_projection", "keeps W_hh orthogonal by construction"),
        ("lstm+qr_projection", "lstm has none"),
        ("lstm+orthogonal_init", "lstm has none"),
        ("cayley+lstm", "lstm has none"),
    ],
)
def test_parse_rejects_unknown_and_nonsensical_combinations(text, message):
    with pytest.raises(ValueError, match=message):
        parse_strategy(text)


@pytest.mark.parametrize("scheme", ORTHOGONAL_INIT_SCHEMES)
@pytest.mark.parametrize("n", [1, 4, 7])
def test_every_init_scheme_is_orthogonal_with_eigenvalues_on_the_unit_circle(scheme, n):
    Q = orthogonal_matrix(n, scheme, generator=torch.Generator().manual_seed(n), dtype=torch.float64)
    assert torch.allclose(Q.T @ Q, torch.eye(n, dtype=torch.float64), atol=1e-12)
    assert np.allclose(np.abs(np.linalg.eigvals(Q.numpy())), 1.0, atol=1e-10)


def test_init_schemes_have_their_structure():
    g = torch.Generator().manual_seed(0)
    assert torch.equal(orthogonal_matrix(4, "identity"), torch.eye(4))
    H = orthogonal_matrix(5, "henaff", generator=g, dtype=torch.float64)
    assert H[0, 2:].abs().max() == 0 and H[4, 4] == 1  # 2x2 rotation blocks, 1 for odd n
    assert torch.allclose(H[0, 0], H[1, 1]) and torch.allclose(H[0, 1], -H[1, 0])
    C = orthogonal_matrix(6, "cayley", generator=g, dtype=torch.float64)
    assert torch.linalg.eigvals(C).real.min() > -1 + 1e-9  # the Cayley map never reaches -1
    a = orthogonal_matrix(6, "haar", generator=torch.Generator().manual_seed(3))
    b = orthogonal_matrix(6, "qr", generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


def test_haar_scheme_is_the_sign_corrected_q_of_a_gaussian():
    g = torch.Generator().manual_seed(5)
    G = torch.randn(6, 6, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    Q = orthogonal_matrix(6, "qr", generator=g, dtype=torch.float64)
    R = Q.T @ G  # G = QR with R upper triangular and a positive diagonal
    assert torch.allclose(torch.tril(R, -1), torch.zeros(6, 6, dtype=torch.float64), atol=1e-12)
    assert (torch.diagonal(R) > 0).all()


def test_orthogonal_init_refuses_a_non_square_weight():
    with pytest.raises(ValueError, match="square"):
        orthogonal_init_(torch.nn.Parameter(torch.zeros(4, 3)))
    with pytest.raises(ValueError, match="unknown init scheme"):
        orthogonal_matrix(3, "random")


def test_qr_projection_keeps_the_parameter_object_and_its_adam_state():
    W = torch.nn.Parameter(torch.randn(6, 6, generator=torch.Generator().manual_seed(0)))
    opt = torch.optim.Adam([W], lr=0.1)
    (W**3).sum().backward()
    opt.step()
    exp_avg = opt.state[W]["exp_avg"].clone()
    W0 = W.detach().clone()
    assert qr_project_(W) is W
    assert opt.param_groups[0]["params"][0] is W and torch.equal(opt.state[W]["exp_avg"], exp_avg)
    assert torch.allclose(W.T @ W, torch.eye(6), atol=1e-5)
    R = W.detach().T @ W0
    assert torch.allclose(torch.tril(R, -1), torch.zeros(6, 6), atol=1e-4) and (R.diagonal() > 0).all()


def test_qr_projection_of_an_orthogonal_matrix_changes_nothing_thanks_to_the_sign_correction():
    Q = orthogonal_matrix(8, "qr", generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    W = torch.nn.Parameter(Q.clone())
    qr_project_(W)
    assert torch.allclose(W.detach(), Q, atol=1e-12)


def test_polar_projection_is_scipys_polar_factor_and_nearer_than_qr():
    A = torch.randn(6, 6, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    W = torch.nn.Parameter(A.clone())
    polar_project_(W)
    U, _ = scipy.linalg.polar(A.numpy())
    assert np.allclose(W.detach().numpy(), U, atol=1e-10)
    Wq = qr_project_(torch.nn.Parameter(A.clone()))
    assert torch.linalg.norm(A - W.detach()) < torch.linalg.norm(A - Wq.detach())


def test_trainer_projects_on_the_same_parameter_right_after_the_step():
    run = build_run(TrainConfig(task="adding", seq_len=6, hidden=5, batch=4, device="cpu",
                                strategy="qr_projection", proj_every=2, lr=0.05))
    W = run.model.recurrent_parameter()
    train_step(run, 1)  # no projection at step 1
    assert run.model.recurrent_parameter() is W
    err_1 = torch.linalg.matrix_norm(W.detach().T @ W.detach() - torch.eye(5), 2)
    train_step(run, 2)  # projection at step 2
    err_2 = torch.linalg.matrix_norm(W.detach().T @ W.detach() - torch.eye(5), 2)
    assert run.model.recurrent_parameter() is W
    # the projected parameter trains in its own group, at the orthogonal learning rate
    assert [p is W for p in run.optimizer.param_groups[1]["params"]] == [True]
    assert run.optimizer.param_groups[1]["lr"] == run.config.orth_lr
    assert err_1 > 0.1 and err_2 < 1e-5
    assert W in run.optimizer.state


ALL_STRATEGIES = list(STRATEGY_NAMES) + ["orthogonal_init+qr_projection+clip", "orthogonal_init+expm",
                                         "tbptt+cayley", "lstm+clip+tbptt"]


@pytest.mark.parametrize("strategy", ALL_STRATEGIES)
def test_effective_w_hh_changes_under_training_for_every_strategy(strategy):
    # PyTorch issue 65688: a parametrized W_hh can silently stop training; this must not happen here.
    # projections are pushed past the last step so only the optimizer can move W_hh
    extra = {"proj_every": 1000} if "projection" in strategy else {}
    cfg = TrainConfig(task="recall", seq_len=8, delay=2, hidden=6, batch=4, steps=3, lr=0.02,
                      device="cpu", strategy=strategy, **extra)
    result = train(cfg)
    W0, W = result.initial_w_hh, result.model.recurrent_matrix()
    assert (W - W0).abs().max() > 1e-4
    assert result.final["grad_norm_w_hh"] > 0


def test_orthogonal_strategies_keep_w_hh_orthogonal_and_vanilla_does_not():
    base = dict(task="recall", seq_len=8, delay=2, hidden=6, batch=4, steps=10, lr=0.05, device="cpu")
    errs = {s: train(TrainConfig(strategy=s, **base)).final["orthogonality_error"]
            for s in ("vanilla", "orthogonal_init", "qr_projection", "polar_projection", "expm", "cayley")}
    for s in ("qr_projection", "polar_projection", "expm", "cayley"):
        assert errs[s] < 1e-5, s
    assert errs["vanilla"] > 0.1 and errs["orthogonal_init"] > 1e-3


def test_orthogonal_is_the_canonical_init_name_and_qr_haar_are_its_aliases(tmp_path):
    from linalg_rnn import dynamics

    assert ORTHOGONAL_INIT_SCHEMES == ("orthogonal", "identity", "henaff", "cayley")
    assert {"orthogonal", "identity"} <= set(dynamics.INIT_SCHEMES)  # one word across the book
    draws = [orthogonal_matrix(6, s, generator=torch.Generator().manual_seed(3)) for s in ("orthogonal",
                                                                                             "qr", "haar")]
    assert torch.equal(draws[0], draws[1]) and torch.equal(draws[0], draws[2])
    base = dict(task="recall", seq_len=8, delay=2, hidden=6, batch=4, steps=2, device="cpu",
                strategy="orthogonal_init")
    for alias in ("qr", "haar", "orthogonal", None):
        assert TrainConfig(init_scheme=alias, **base).resolved().init_scheme == "orthogonal"
    result = train(TrainConfig(init_scheme="haar", **base), tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["init_scheme"] == "orthogonal"
    same = train(TrainConfig(init_scheme="orthogonal", **base))
    assert torch.equal(result.initial_w_hh, same.initial_w_hh)
