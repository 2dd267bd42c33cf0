"""The literature's model options through TrainConfig and train: checked at the door, built, trained, resumed.

(The options themselves are tested against their references in test_rnn_models.py.)
"""

import math

import numpy as np
import pytest
import torch

from linalg_rnn.rnn.config import TrainConfig
from linalg_rnn.rnn.models import FunctionalRNN, LoopRNN
from linalg_rnn.rnn.strategies import orthogonal_matrix
from linalg_rnn.rnn.trainer import build_run, train

SMALL = dict(task="recall", seq_len=10, delay=3, hidden=8, batch=8, device="cpu", figures=False)


def test_resolved_fills_the_literature_defaults_where_they_belong():
    lstm = TrainConfig(strategy="lstm", **SMALL).resolved()
    assert (lstm.lstm_init, lstm.forget_bias, lstm.activation) == ("forget_bias", 1.0, None)
    chrono = TrainConfig(strategy="lstm", lstm_init="chrono", **SMALL).resolved()
    assert (chrono.lstm_init, chrono.forget_bias) == ("chrono", None)
    rnn = TrainConfig(strategy="expm", **SMALL).resolved()
    assert (rnn.activation, rnn.lstm_init, rnn.forget_bias, rnn.init_scheme) == ("tanh", None, None, None)
    skew_start = TrainConfig(strategy="cayley", init_scheme="henaff", rebase_every=5, **SMALL).resolved()
    assert (skew_start.init_scheme, skew_start.rebase_every) == ("henaff", 5)


@pytest.mark.parametrize("fields, message", [
    ({"strategy": "lstm", "activation": "modrelu"}, "activation is set but the strategy 'lstm' has no tanh"),
    ({"strategy": "vanilla", "forget_bias": 1.0}, "forget_bias is set but the strategy 'vanilla'"),
    ({"strategy": "lstm", "lstm_init": "chrono", "forget_bias": 1.0}, "forget_bias is set"),
    ({"strategy": "expm", "lstm_init": "chrono"}, "lstm_init is set but the strategy 'expm' has no lstm"),
    ({"strategy": "vanilla", "rebase_every": 5}, "rebase_every is set but the strategy 'vanilla'"),
    ({"strategy": "clip", "init_scheme": "henaff"}, "init_scheme is set but the strategy 'clip'"),
    ({"strategy": "expm", "rebase_every": 0}, "rebase_every must be an integer >= 1"),
    ({"strategy": "vanilla", "activation": "relu"}, "unknown activation 'relu'"),
    ({"strategy": "lstm", "lstm_init": "keras"}, "unknown lstm_init 'keras'"),
    ({"strategy": "lstm", "forget_bias": float("inf")}, "forget_bias must be a finite"),
])
def test_a_literature_option_without_its_strategy_or_with_a_bad_value_is_refused_in_one_line(fields, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**{**SMALL, **fields}).resolved()


def test_build_run_gives_the_lstm_its_forget_bias_and_chrono_its_sequence_length():
    run = build_run(TrainConfig(strategy="lstm", forget_bias=2.0, **SMALL))
    assert torch.equal(run.model.gate_bias("f"), torch.full((8,), 2.0))
    copy = {**SMALL, "task": "copy", "hidden": 512, "delay": None}
    run = build_run(TrainConfig(**copy, strategy="lstm", lstm_init="chrono"))
    T = run.task.length  # copy T=10: 30 steps, so exp(b_f) is uniform on [1, 29]
    assert T == 30
    b_f = run.model.gate_bias("f").double()
    assert torch.equal(run.model.gate_bias("i"), -run.model.gate_bias("f"))
    assert b_f.min() >= 0 and b_f.max() <= math.log(T - 1) + 1e-6 and b_f.max() > math.log(T - 1) - 0.1


def test_build_run_starts_expm_at_henaffs_matrix_with_the_angles_in_the_parameter():
    run = build_run(TrainConfig(strategy="expm", init_scheme="henaff", **SMALL))
    with torch.random.fork_rng():
        torch.manual_seed(0)  # build_run seeds the model's init with the config's seed
        FunctionalRNN(run.task.input_size, 8, run.task.output_size)
        Q = orthogonal_matrix(8, "henaff")
    assert torch.allclose(run.model.recurrent_matrix(), Q, atol=1e-6)
    assert run.model.skew_norm() > 0.1
    assert run.optimizer.param_groups[1]["params"][0] is run.model.recurrent_parameter()


def test_train_with_modrelu_runs_on_the_one_node_loop_and_reports_per_lag_gradients():
    result = train(TrainConfig(strategy="expm", activation="modrelu", steps=4, lag_grads_every=2, **SMALL))
    assert isinstance(result.model, FunctionalRNN) and result.model.activation == "modrelu"
    assert result.steps_done == 4 and not result.diverged
    assert len(result.history[-1]["hidden_grad_norms"]) == 10
    loop = train(TrainConfig(strategy="expm", activation="modrelu", model="loop", steps=4, **SMALL))
    assert isinstance(loop.model, LoopRNN)
    # the same weights and data: the one-node loop and the autograd loop train the same run
    assert loop.final["train_loss"] == pytest.approx(result.final["train_loss"], rel=1e-5)


@pytest.mark.parametrize("strategy", ["expm", "cayley"])
def test_rebasing_every_k_steps_leaves_b_zero_after_a_rebase_and_w_hh_orthogonal(strategy):
    for steps, zero in ((6, True), (7, False)):
        cfg = TrainConfig(strategy=strategy, rebase_every=3, lr=0.05, orth_lr=0.05, steps=steps, **SMALL)
        result = train(cfg)
        assert (result.model.skew_norm() == 0.0) is zero
        W = result.model.recurrent_matrix().double()
        assert torch.allclose(W.T @ W, torch.eye(8, dtype=torch.float64), atol=1e-5)


def test_rebasing_does_not_change_the_function_at_the_step_it_happens():
    runs = [train(TrainConfig(strategy="expm", lr=0.05, orth_lr=0.05, steps=2, eval_every=1,
                              **{**SMALL, **extra})) for extra in ({}, {"rebase_every": 2})]
    assert runs[1].model.skew_norm() == 0.0 and runs[0].model.skew_norm() > 0
    assert torch.allclose(runs[0].model.recurrent_matrix(), runs[1].model.recurrent_matrix(), atol=2e-6)
    np.testing.assert_allclose(runs[0].history[-1]["val_loss"], runs[1].history[-1]["val_loss"], rtol=1e-5)


def test_a_rebasing_run_resumed_from_its_checkpoint_ends_as_the_uninterrupted_one(tmp_path):
    cfg = dict(strategy="cayley", init_scheme="cayley", rebase_every=2, lr=0.05, orth_lr=0.05, **SMALL)
    whole = train(TrainConfig(steps=6, **cfg), tmp_path / "whole")
    train(TrainConfig(steps=3, **cfg), tmp_path / "split")  # re-based at step 2, B moved at step 3
    resumed = train(TrainConfig(steps=6, **cfg), tmp_path / "split", resume=True)
    def after_the_split(rows):  # step 3 was the first session's last step, with its extra metrics
        return [{k: v for k, v in r.items() if k != "elapsed_s"} for r in rows if r["step"] > 3]

    assert len(after_the_split(whole.history)) == 3
    assert after_the_split(resumed.history) == after_the_split(whole.history)
    assert torch.equal(resumed.model.parametrizations.weight_hh_l0[0].base,
                       whole.model.parametrizations.weight_hh_l0[0].base)
