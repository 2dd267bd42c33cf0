"""Batched members against their single runs: the same rows, results, run folders and checkpoints.

Tolerances (relative to max(1, |value|), every float of every metrics row but
``elapsed_s``; integers, keys and their order exactly):

* float64, against ``train()`` itself with its run's model and data in
  float64 (``build_run`` patched): 1e-10 (measured: about 1e-15);
* float32, against ``train()`` itself: 1e-5 over 25 steps (measured: below
  1e-6); two float32 trainings computed with different kernels drift apart
  over many steps, so longer runs are compared in float64 only;
* a batched run resumed from its checkpoints against the uninterrupted
  batched run: exactly (``elapsed_s`` aside).
"""

import dataclasses
import json
import math
import os
import signal
from unittest import mock

import pytest
import torch

from linalg_rnn._filesystem import read_jsonl
from linalg_rnn.rnn import TrainConfig, train, trainer
from linalg_rnn.rnn.checkpoint import load_checkpoint
from linalg_rnn.rnn.members import _train as members_train
from linalg_rnn.rnn.members import check_members, train_members
from linalg_rnn.rnn.trainer import build_run

F64 = torch.float64


class _Float64Task:
    """A task whose batches come in float64 (the single run's float64 reference)."""

    def __init__(self, task):
        self._task = task

    def __getattr__(self, name):
        return getattr(self._task, name)

    def sample(self, batch, generator, **kw):
        x, y = self._task.sample(batch, generator, **kw)
        return _f64(x), _f64(y)

    def held_out(self, *args, **kw):
        x, y = self._task.held_out(*args, **kw)
        return _f64(x), _f64(y)


def _f64(t):
    return t.double() if t is not None and t.is_floating_point() else t


def single_run_float64(config: TrainConfig):
    """``train()`` itself, with the run's model, data, updates and final evaluation in float64."""
    def build_run_float64(cfg):
        run = build_run(cfg)
        run.model.double()  # the optimizer keeps the same Parameter objects
        return dataclasses.replace(run, task=_Float64Task(run.task), val_x=_f64(run.val_x),
                                   val_y=_f64(run.val_y), lag_x=_f64(run.lag_x), lag_y=_f64(run.lag_y))

    with mock.patch.object(trainer, "build_run", build_run_float64):
        return train(config)


def worst_difference(rows: list[dict], reference: list[dict]) -> float:
    """The largest relative difference of any float; keys, their order and integers must be equal."""
    assert [r["step"] for r in rows] == [r["step"] for r in reference]
    worst = 0.0
    for row, ref in zip(rows, reference, strict=True):
        assert list(row) == list(ref), (list(row), list(ref))
        for key, value in row.items():
            if key == "elapsed_s":
                continue
            pairs = zip(value, ref[key], strict=True) if isinstance(value, list) else [(value, ref[key])]
            for a, b in pairs:
                if isinstance(b, float) and not (a is None or b is None):
                    if math.isnan(a) and math.isnan(b) or a == b:
                        continue
                    worst = max(worst, abs(a - b) / max(1.0, abs(b)))
                else:
                    assert a == b, (key, a, b)
    return worst


#: What the trainer's final evaluation adds to ``result.final`` (a diverged run: the second set only).
HELD_OUT_KEYS = {"val_loss", "test_loss", "val_sequences", "test_sequences", "trivial_val_loss",
                 "test_trivial_loss", "params"}
WITHOUT_OUTPUTS = {"val_sequences", "test_sequences", "trivial_val_loss", "test_trivial_loss", "params"}


def worst_result_difference(result, reference) -> float:
    """:func:`worst_difference` over the metrics rows and ``final`` (with the held-out numbers) together."""
    for r in (result, reference):
        if r.interrupted is None:  # a finished run was scored: the comparison of final covers its numbers
            assert (WITHOUT_OUTPUTS if r.diverged else HELD_OUT_KEYS) <= r.final.keys(), sorted(r.final)
            assert not r.diverged or "test_loss" not in r.final
    assert (result.diverged, result.divergence_step) == (reference.diverged, reference.divergence_step)
    return max(worst_difference(result.history, reference.history),
               worst_difference([result.final], [reference.final]))


def cell(strategy="vanilla", task="adding", steps=25, **fields) -> list[TrainConfig]:
    """Three members that differ in seed and learning rate (and orth_lr for expm, cayley and projections)."""
    if "tbptt" in strategy:
        fields.setdefault("tbptt_window", 4)
    seq_len = {"digits": None, "mnist": 28}.get(task, 10)
    base = TrainConfig(task=task, seq_len=seq_len, hidden=6, batch=5, steps=steps,
                       device="cpu", figures=False, strategy=strategy, eval_every=5, spectral_every=5,
                       norm_every=1, val_batch=16, eval_sequences=300, **fields)
    members = [dataclasses.replace(base, seed=s, lr=lr) for s, lr in ((0, 1e-3), (1, 1e-2), (5, 3e-3))]
    if strategy in ("expm", "cayley") or "projection" in strategy:
        members[2] = dataclasses.replace(members[2], orth_lr=3e-2)  # an orth_lr of its own (W_hh's group)
    return members


STRATEGIES = ["vanilla", "clip", "orthogonal_init", "qr_projection", "polar_projection", "expm", "cayley",
              "lstm", "tbptt", "orthogonal_init+qr_projection+clip"]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_each_member_matches_its_single_run_in_float64_to_1e_10(strategy):
    configs = cell(strategy)
    for config, result in zip(configs, train_members(configs, dtype=F64, per_run=False), strict=True):
        assert worst_result_difference(result, single_run_float64(config)) < 1e-10


@pytest.mark.parametrize("strategy", ["vanilla", "expm", "lstm", "qr_projection", "clip+tbptt"])
def test_each_member_matches_train_in_float32_to_1e_5(strategy):
    configs = cell(strategy)
    for config, result in zip(configs, train_members(configs, per_run=False), strict=True):
        single = train(config)
        assert worst_result_difference(result, single) < 1e-5
        assert result.to_dict().keys() == single.to_dict().keys()


@pytest.mark.parametrize("task", ["copy", "recall", "brackets", "digits", "mnist", "text"])
def test_members_match_their_single_runs_on_every_task_in_float64(task):
    configs = cell("clip", task=task, steps=15)
    for config, result in zip(configs, train_members(configs, dtype=F64), strict=True):
        assert worst_result_difference(result, single_run_float64(config)) < 1e-10


@pytest.mark.parametrize("options", [
    {"clip_value": 0.05},  # clamped entries instead of the norm
    {"tbptt_update": "batch"},  # one update per batch from the windows' summed gradients
    {"optimizer": "rmsprop"},
    {"optimizer": "sgd", "lr": 0.1},
    {"lag_grads_every": 5},
    {"model": "loop"},
])
def test_members_match_their_single_runs_with_other_options_in_float64(options):
    strategy = "clip" if "clip_value" in options else "tbptt" if "tbptt_update" in options else "vanilla"
    configs = [dataclasses.replace(c, **options) for c in cell(strategy, steps=15)]
    for config, result in zip(configs, train_members(configs, dtype=F64), strict=True):
        assert worst_result_difference(result, single_run_float64(config)) < 1e-10


@pytest.mark.parametrize("strategy,options", [
    ("expm", {"rebase_every": 4}),  # each member's map(B) folded into its base, moments kept
    ("cayley", {"rebase_every": 3, "init_scheme": "cayley"}),
    ("expm", {"init_scheme": "henaff"}),  # expRNN's start: base I, B = B_0
    ("lstm", {"lstm_init": "chrono"}),
    ("lstm", {"forget_bias": 0.5}),
])
def test_members_match_their_single_runs_with_the_models_options_in_float64(strategy, options):
    configs = [dataclasses.replace(c, **options) for c in cell(strategy, steps=13)]
    for config, result in zip(configs, train_members(configs, dtype=F64, per_run=False), strict=True):
        assert worst_result_difference(result, single_run_float64(config)) < 1e-10


def test_a_rebased_batched_run_resumed_from_its_checkpoints_ends_exactly_as_an_uninterrupted_one(tmp_path):
    configs = cell("cayley", steps=12, checkpoint_every=5, rebase_every=3)
    whole = train_members(configs, dtype=F64)
    dirs = [tmp_path / f"m{n}" for n in range(3)]
    train_members([dataclasses.replace(c, steps=5) for c in configs], dirs, dtype=F64)
    resumed = train_members(configs, dirs, resume=True, dtype=F64)
    for a, b in zip(resumed, whole, strict=True):
        assert worst_result_difference(a, b) == 0.0


def test_modrelu_cells_train_one_run_at_a_time_and_are_refused_batched():
    configs = cell("expm", steps=6, activation="modrelu")
    for config, result in zip(configs, train_members(configs), strict=True):
        assert worst_result_difference(result, train(config)) == 0.0  # it is the single run
        assert "batch_members" not in result.environment
    with pytest.raises(ValueError, match="per_run=False: the batched path cannot train activation modrelu"):
        train_members(configs, per_run=False)


def test_members_clip_by_their_own_bounds_norm_or_value():
    first, second, third = cell("clip", steps=15)
    configs = [first, dataclasses.replace(second, clip_norm=0.1),
               dataclasses.replace(third, clip_norm=None, clip_value=0.02)]
    for config, result in zip(configs, train_members(configs, dtype=F64), strict=True):
        assert worst_result_difference(result, single_run_float64(config)) < 1e-10


def test_validation_in_turns_of_a_few_members_gives_the_same_rows(monkeypatch):
    configs = cell("expm", steps=10)
    together = train_members(configs, dtype=F64)
    monkeypatch.setattr(members_train, "_EVAL_BYTES", 1)  # one member per validation pass
    in_turns = train_members(configs, dtype=F64)
    for a, b in zip(in_turns, together, strict=True):
        assert worst_result_difference(a, b) < 1e-13


@pytest.mark.parametrize("strategy,window", [("vanilla", None), ("tbptt", 4)])
def test_a_diverging_member_stops_alone_at_its_single_runs_step(strategy, window):
    # plain SGD at a huge learning rate diverges within a few steps; the two others train on
    configs = [dataclasses.replace(c, optimizer="sgd", lr=lr, tbptt_window=window)
               for c, lr in zip(cell(strategy, task="recall", steps=20), (0.05, 1e30, 0.1), strict=True)]
    results = train_members(configs, dtype=F64)
    assert [r.diverged for r in results] == [False, True, False]
    for config, result in zip(configs, results, strict=True):
        assert worst_result_difference(result, single_run_float64(config)) < 1e-10
    assert results[1].divergence_step < 20 and results[1].history[-1].get("diverged") is True
    assert [r.steps_done for r in results] == [20, results[1].divergence_step, 20]


def test_every_member_diverging_ends_the_batch():
    configs = [dataclasses.replace(c, optimizer="sgd", lr=1e30) for c in cell(task="recall", steps=20)]
    results = train_members(configs, dtype=F64)
    assert all(r.diverged for r in results)
    for config, result in zip(configs, results, strict=True):
        assert worst_result_difference(result, single_run_float64(config)) < 1e-10


def _folder_contents(path):
    return sorted(n for n in os.listdir(path) if not n.startswith(".linalg-rnn-lock"))


def test_member_run_folders_hold_what_a_single_run_writes(tmp_path):
    configs = [dataclasses.replace(c, figures=True, checkpoint_every=10) for c in cell(steps=20)]
    members = [tmp_path / f"member{n}" for n in range(3)]
    results = train_members(configs, members)
    single = train(configs[1], tmp_path / "single")
    assert _folder_contents(members[1]) == _folder_contents(tmp_path / "single")
    assert read_jsonl(members[1] / "metrics.jsonl") == [
        {**r, "elapsed_s": r["elapsed_s"]} for r in results[1].history]
    batched_ckpt = load_checkpoint(members[1] / "checkpoint.pt")
    single_ckpt = load_checkpoint(tmp_path / "single" / "checkpoint.pt")
    assert sorted(batched_ckpt) == sorted(single_ckpt)
    assert batched_ckpt["config"] == single_ckpt["config"]
    assert torch.equal(batched_ckpt["rng"]["data"], single_ckpt["rng"]["data"])
    assert torch.equal(batched_ckpt["rng"]["torch_cpu"], single_ckpt["rng"]["torch_cpu"])
    assert batched_ckpt["model"].keys() == single_ckpt["model"].keys()
    for key, value in single_ckpt["model"].items():
        assert torch.allclose(batched_ckpt["model"][key], value, atol=1e-5)
    assert batched_ckpt["optimizer"]["param_groups"] == single_ckpt["optimizer"]["param_groups"]
    result_json = results[1].to_dict()
    assert result_json.keys() == single.to_dict().keys()
    assert worst_result_difference(results[1], single) < 1e-5  # the held-out numbers in result.json too
    assert json.loads((members[1] / "result.json").read_text())["final"].keys() == result_json["final"].keys()
    assert result_json["environment"]["batch_members"] == 3


def test_a_batched_run_resumed_from_its_checkpoints_ends_exactly_as_an_uninterrupted_one(tmp_path):
    configs = cell("expm", steps=20, checkpoint_every=5)
    whole = train_members(configs, dtype=F64)
    dirs = [tmp_path / f"m{n}" for n in range(3)]
    train_members([dataclasses.replace(c, steps=10) for c in configs], dirs, dtype=F64)
    resumed = train_members(configs, dirs, resume=True, dtype=F64)
    for a, b in zip(resumed, whole, strict=True):
        assert worst_result_difference(a, b) == 0.0
        assert a.environment["resumed_from"]["step"] == 10


def test_a_signal_stops_every_member_checkpointed_and_resume_finishes_the_same(tmp_path, monkeypatch):
    configs = cell("clip", steps=16, checkpoint_every=100)
    whole = train_members(configs)
    step_of = members_train._train_step

    def interrupting(batch, step):
        rows = step_of(batch, step)
        if step == 7:
            os.kill(os.getpid(), signal.SIGINT)  # the handler only records it; the step finishes
        return rows

    monkeypatch.setattr(members_train, "_train_step", interrupting)
    dirs = [tmp_path / f"m{n}" for n in range(3)]
    stopped = train_members(configs, dirs)
    assert [(r.interrupted, r.steps_done) for r in stopped] == [("SIGINT", 7)] * 3
    assert all(load_checkpoint(d / "checkpoint.pt")["step"] == 7 for d in dirs)
    monkeypatch.setattr(members_train, "_train_step", step_of)
    resumed = train_members(configs, dirs, resume=True)
    for a, b in zip(resumed, whole, strict=True):
        assert a.interrupted is None and worst_result_difference(a, b) == 0.0


def test_the_single_trainer_resumes_a_member_from_its_batched_checkpoint(tmp_path):
    configs = cell("qr_projection", steps=20, checkpoint_every=10)
    dirs = [tmp_path / f"m{n}" for n in range(3)]
    train_members([dataclasses.replace(c, steps=10) for c in configs], dirs)
    alone = train(configs[2], dirs[2], resume=True)
    reference = train(configs[2])
    assert alone.steps_done == 20
    assert worst_result_difference(alone, reference) < 1e-5


def test_members_resumed_from_different_steps_train_in_groups(tmp_path):
    configs = cell("vanilla", steps=15, checkpoint_every=5)  # stops at the evaluation cadence (5)
    dirs = [tmp_path / f"m{n}" for n in range(3)]
    train(dataclasses.replace(configs[0], steps=10), dirs[0])  # one member ran alone to step 10
    train_members([dataclasses.replace(c, steps=5) for c in configs[1:]], dirs[1:])  # two to step 5
    results = train_members(configs, dirs, resume=True, dtype=torch.float32)
    assert [r.steps_done for r in results] == [15, 15, 15]
    for config, result in zip(configs, results, strict=True):
        assert worst_result_difference(result, train(config)) < 1e-5


def test_a_finished_member_is_not_trained_again(tmp_path):
    configs = cell(steps=6)
    dirs = [tmp_path / f"m{n}" for n in range(3)]
    first = train_members(configs, dirs)
    again = train_members(configs, dirs, resume=True)
    for a, b in zip(again, first, strict=True):
        assert a.history == b.history
        assert a.final == b.final  # scored again, on the checkpoint's weights: the same numbers
        assert any("nothing to train" in note for note in a.notes)


def test_lstm_cells_train_one_run_at_a_time_on_the_cpu_by_default(tmp_path):
    configs = cell("lstm", steps=8)
    dirs = [tmp_path / f"m{n}" for n in range(3)]
    results = train_members(configs, dirs)
    for config, result in zip(configs, results, strict=True):
        single = train(config)
        assert worst_result_difference(result, single) == 0.0  # it is the single run
        assert "batch_members" not in result.environment
    with pytest.raises(ValueError, match="per_run=False"):
        train_members(configs, dtype=F64)


# ----------------------------------------------------------------------------- refusals
def test_members_may_differ_only_in_the_member_fields():
    configs = cell()
    with pytest.raises(ValueError, match=r"configs\[1\] differs from configs\[0\] in hidden"):
        check_members([configs[0], dataclasses.replace(configs[1], hidden=8)])
    with pytest.raises(ValueError, match="at least one"):
        check_members([])
    with pytest.raises(TypeError, match=r"configs\[0\] must be a TrainConfig"):
        check_members([{"task": "adding"}])


def test_train_members_refuses_bad_arguments_before_any_work(tmp_path):
    configs = cell()
    with pytest.raises(ValueError, match="dtype"):
        train_members(configs, dtype=torch.float16)
    with pytest.raises(ValueError, match="out_dirs has 2 folders for 3 members"):
        train_members(configs, [tmp_path / "a", tmp_path / "b"])
    with pytest.raises(ValueError, match="resume must be a bool or 3 bools"):
        train_members(configs, resume=[True])
    with pytest.raises(FileNotFoundError):
        train_members(configs, [tmp_path / f"m{n}" for n in range(3)], resume=True)
    assert not any((tmp_path / f"m{n}").exists() for n in range(3))  # nothing was left behind
