"""Claim 6's in-process benchmark: the arithmetic on a fake trainer, and one real tiny run (no clock)."""

from __future__ import annotations

import json
import types

import pytest
import torch

from linalg_rnn.rnn import TrainConfig
from linalg_rnn.rnn.showdown import (
    Executor,
    _page,
    _study,
    _timing,
    _verdicts,
    parse_profile,
    results_page,
    run_study,
)
from linalg_rnn.rnn.showdown._timing import time_projection_steps
from linalg_rnn.rnn.showdown._verdicts import evaluate_claims

SMALL = {"task": "adding", "seq_len": 5, "hidden": 4, "batch": 2, "device": "cpu"}


class FakeTrainer:
    """Stands in for ``train`` and the process clock: each step of a variant costs a planted time.

    Setup and the first step take 0.5 s each and the last step (validation) 0.3 s extra. Round k (counted
    by the long runs of ``long_steps``; a short run belongs to the round of the long run after it) makes
    every step k ms slower, so rounds differ and the fastest one is known.
    """

    def __init__(self, per_step: dict, diverge_at: int | None = None, long_steps: int = 0):
        self.per_step, self.diverge_at, self.long_steps = per_step, diverge_at, long_steps
        self.calls, self.clock, self.longs = [], 100.0, dict.fromkeys(per_step, 0)

    def process_time(self) -> float:
        return self.clock

    def __call__(self, config: TrainConfig, progress=None):
        name = {None: "bare", 1: "every_1", 5: "every_5"}[config.proj_every]
        self.calls.append((name, config))
        self.longs[name] += config.steps == self.long_steps
        round_ = self.longs[name] + (config.steps != self.long_steps)
        cost = self.per_step[name] + 1e-3 * round_
        last = config.steps if self.diverge_at is None else min(config.steps, self.diverge_at - 1)
        elapsed, history = 0.0, []
        self.clock += 0.5  # setup: outside elapsed_s
        for step in range(1, last + 1):
            elapsed += 0.5 if step == 1 else cost + (0.3 if step == config.steps else 0.0)
            history.append({"step": step, "elapsed_s": elapsed})
        self.clock += elapsed
        return types.SimpleNamespace(history=history, steps_done=last, diverged=self.diverge_at is not None)


def test_the_time_per_step_is_read_over_the_window_and_the_fastest_round_kept(monkeypatch):
    fake = FakeTrainer({"bare": 0.010, "every_1": 0.012, "every_5": 0.0104}, long_steps=2 + 10 + 1)
    monkeypatch.setattr(_timing, "train", fake)
    monkeypatch.setattr(_timing, "process_time", fake.process_time)
    t = time_projection_steps(SMALL, rounds=3, timed_steps=10, warmup_steps=2)
    for clock in ("rounds_s", "cpu_rounds_s"):  # wall from elapsed_s; process time long run minus short
        assert t[clock]["every_1"] == pytest.approx([0.013, 0.014, 0.015])
    assert t["per_step_s"] == pytest.approx({"bare": 0.011, "every_1": 0.013, "every_5": 0.0114})
    assert t["cpu_per_step_s"] == pytest.approx(t["per_step_s"])
    assert (t["task"], t["seq_len"], t["hidden"], t["batch"], t["device"]) == ("adding", 5, 4, 2, "cpu")
    # each turn runs the short run, then the long one; turns rotate: each round starts with another variant
    assert [c.steps for _, c in fake.calls[:3]] == [3, 3, 13]  # an untimed first run, then short, long
    order = [name for name, c in fake.calls if c.steps == 13]
    assert order == ["bare", "every_1", "every_5", "every_1", "every_5", "bare", "every_5", "bare", "every_1"]


def test_each_variant_trains_its_own_strategy_and_only_the_window_is_free_of_metrics(monkeypatch):
    fake = FakeTrainer({"bare": 0.01, "every_1": 0.01, "every_5": 0.01})
    monkeypatch.setattr(_timing, "train", fake)
    # a qr_every_5 cell's config, with options of other strategies that each variant must drop
    cell = SMALL | {"strategy": "orthogonal_init+qr_projection+clip", "proj_every": 5, "clip_norm": 1.0,
                    "init_scheme": "orthogonal", "lr": 3e-3}
    time_projection_steps(TrainConfig(**cell), rounds=1, timed_steps=5, warmup_steps=3)
    configs = {name: c for name, c in fake.calls if c.steps == 3 + 5 + 1}
    assert {name: (c.strategy, c.proj_every) for name, c in configs.items()} == {
        "bare": ("vanilla", None), "every_1": ("qr_projection", 1), "every_5": ("qr_projection", 5)}
    for c in configs.values():
        assert c.clip_norm is None and c.lr == 3e-3 and c.steps == 3 + 5 + 1
        assert c.eval_every == c.spectral_every == c.norm_every == c.steps and c.log_every == 1


def test_a_run_that_stops_early_is_recorded_and_read_as_not_measured(monkeypatch):
    monkeypatch.setattr(_timing, "train", FakeTrainer({"bare": 0.01, "every_1": 0.01, "every_5": 0.01},
                                                      diverge_at=4))  # the short run (3 steps) finishes
    t = time_projection_steps(SMALL, rounds=2, timed_steps=5, warmup_steps=2)
    assert "rounds_s" not in t and t["error"].startswith("bare stopped at step 3 (diverged: True)")
    six = evaluate_claims([], timings=t)[5]
    assert "Time: not measured (the benchmark stopped: bare stopped at step 3" in six.evidence


@pytest.mark.parametrize("kwargs, error, message", [
    ({"config": "adding"}, TypeError, "config must be a TrainConfig or a dict"),
    ({"rounds": 0}, ValueError, "rounds must be an integer >= 1"),
    ({"timed_steps": 12}, ValueError, "timed_steps must be a multiple of 5"),
    ({"warmup_steps": 1.5}, ValueError, "warmup_steps must be an integer >= 1"),
    ({"config": SMALL | {"hidden": 0}}, ValueError, "hidden"),
])
def test_bad_arguments_fail_before_any_training(kwargs, error, message, monkeypatch):
    monkeypatch.setattr(_timing, "train", lambda *a, **k: pytest.fail("trained before checking"))
    config = kwargs.pop("config", SMALL)
    with pytest.raises(error, match=message):
        time_projection_steps(config, **kwargs)


def test_a_real_tiny_run_gives_one_positive_time_per_round_and_restores_the_threads():
    before = torch.get_num_threads()
    t = time_projection_steps(SMALL, rounds=2, timed_steps=5, warmup_steps=1)
    assert torch.get_num_threads() == before and t["torch_threads"] == 1
    assert {k: len(v) for k, v in t["rounds_s"].items()} == {"bare": 2, "every_1": 2, "every_5": 2}
    assert all(x > 0 for v in t["rounds_s"].values() for x in v)
    # a window of 5 tiny steps may drown in the process clock's variation: then it is left out, said so
    assert ("cpu_rounds_s" in t) != ("cpu_note" in t)
    clock = "process" if "cpu_rounds_s" in t else "wall"
    evidence = evaluate_claims([], timings=t)[5].evidence
    assert evidence.count(f"Time per training step in {clock} time (task adding") == 1


def test_process_time_that_measured_nothing_is_left_out(monkeypatch):
    fake = FakeTrainer({"bare": 0.010, "every_1": 0.012, "every_5": 0.0104}, long_steps=1 + 5 + 1)
    monkeypatch.setattr(_timing, "train", fake)
    monkeypatch.setattr(_timing, "process_time", lambda: 7.0)  # a clock that never moves
    t = time_projection_steps(SMALL, rounds=2, timed_steps=5, warmup_steps=1)
    assert "cpu_rounds_s" not in t and t["cpu_note"].startswith("process time not kept")
    assert t["per_step_s"]["every_1"] == pytest.approx(0.013)  # wall time still read


# --- the study runs the benchmark once, after its cells -------------------------------------------

def _tiny_study(strategies):
    return parse_profile({"name": "tiny", "seeds": [3], "steps": 3, "hidden": 4, "batch": 4, "val_batch": 8,
                          "eval_sequences": 16, "device": "cpu", "tasks": [{"task": "adding", "seq_len": 6}],
                          "strategies": strategies})


QR_EVERY = [{"label": "qr_every_1", "strategy": "qr_projection", "proj_every": 1},
            {"label": "qr_every_5", "strategy": "qr_projection", "proj_every": 5}]


def test_a_study_with_both_projection_cadences_times_them_once_and_its_verdicts_read_the_times(
        tmp_path, monkeypatch):
    seen, given = [], []

    def timed(config, **kw):
        seen.append((config, kw))
        return time_projection_steps(config, **kw)

    def claims(rows, **kw):  # what summary.md and the results page pass to the rules
        given.append(kw.get("timings"))
        return evaluate_claims(rows, **kw)

    monkeypatch.setattr(_study, "time_projection_steps", timed)
    monkeypatch.setattr(_verdicts, "evaluate_claims", claims)
    monkeypatch.setattr(_page, "evaluate_claims", claims)
    kwargs = dict(executor=Executor(workers=1), echo=None, progress=False, figures=False)
    run_study(_tiny_study(QR_EVERY), tmp_path / "s", **kwargs)
    ((config, kw),) = seen  # once, on the qr_every_5 cell's config at seed 0, a few hundred steps at most
    assert (config["strategy"], config["proj_every"], config["seed"], config["task"]) == (
        "qr_projection", 5, 0, "adding")
    assert 3 * kw["rounds"] * (2 * kw["warmup_steps"] + kw["timed_steps"] + 2) <= 300
    meta = json.loads((tmp_path / "s" / "results.json").read_text())["meta"]
    assert sorted(meta["timings"]["rounds_s"]) == ["bare", "every_1", "every_5"]
    assert given == [meta["timings"]]  # summary.md
    results_page(tmp_path / "s")
    assert given[-1] == meta["timings"]  # the results page
    assert "Time per training step" in evaluate_claims([], timings=meta["timings"])[5].evidence
    # a resume with nothing left to run keeps the timings and does not time again
    run_study(None, tmp_path / "s", resume=True, **kwargs)
    assert len(seen) == 1
    again = json.loads((tmp_path / "s" / "results.json").read_text())["meta"]
    assert again["timings"] == meta["timings"] and given[-1] == meta["timings"]


def test_a_study_without_both_cadences_times_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(_study, "time_projection_steps", lambda *a, **k: pytest.fail("timed"))
    run_study(_tiny_study(QR_EVERY[:1]), tmp_path / "s", executor=Executor(workers=1), echo=None,
              progress=False, figures=False)
    assert json.loads((tmp_path / "s" / "results.json").read_text())["meta"]["timings"] is None
