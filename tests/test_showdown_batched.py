"""A study with --batch-members: the cells of a grid point trained as one model, recorded as before.

Rows of a batched study (the held-out numbers of each member's final
evaluation included) agree with those of the one-run-at-a-time study to
float32 rounding (every float relative to max(1, |value|) within 1e-5,
everything else exactly); a batched study stopped by a signal and resumed
with the same --batch-members ends with exactly the rows of an
uninterrupted batched study.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import signal

import pytest

from linalg_rnn.cli import main
from linalg_rnn.rnn import TrainConfig
from linalg_rnn.rnn.members import _train as members_train
from linalg_rnn.rnn.showdown import Cell, Executor, _executors, parse_profile, run_study

# a sweep (two learning rates on two seeds) and a main grid of three seeds: units of 2-4 members;
# the LSTM trains one run at a time whatever --batch-members says
PROFILE = {"name": "tiny", "seeds": [0, 1, 2], "steps": 12, "hidden": 4, "batch": 4, "val_batch": 8,
           "eval_every": 4, "checkpoint_every": 4, "spectral_every": 2, "device": "cpu",
           "tasks": [{"task": "adding", "seq_len": 6}],
           "strategies": ["vanilla", "expm", "lstm",
                          {"label": "qr_every_1", "strategy": "qr_projection", "proj_every": 1}],
           "sweep": {"lr": [1e-3, 1e-2], "seeds": [100, 101], "steps": 8}}
TIMING = {"wall_s", "time_per_step_s"}


def study(tmp_path, name, members, profile=PROFILE, **kwargs):
    executor = Executor(workers=kwargs.pop("workers", 1), members=members, kind=kwargs.pop("kind", "local"))
    return run_study(parse_profile(profile), tmp_path / name, executor=executor, echo=None, progress=False,
                     figures=False, **kwargs)


def untimed(rows):
    return [{k: v for k, v in r.items() if k not in TIMING} for r in rows]


def worst_difference(rows, reference):
    """The largest relative difference of any float of two lists of rows; the rest must be equal."""
    worst = 0.0
    for row, ref in zip(untimed(rows), untimed(reference), strict=True):
        assert list(row) == list(ref)
        for key, value in row.items():
            if isinstance(value, float) and isinstance(ref[key], float) and math.isfinite(ref[key]):
                worst = max(worst, abs(value - ref[key]) / max(1.0, abs(ref[key])))
            else:
                assert value == ref[key], (key, value, ref[key])
    return worst


def _files(run_dir):
    return sorted(n for n in os.listdir(run_dir) if not n.startswith(".linalg-rnn-lock"))


def test_a_batched_study_gives_the_rows_and_run_folders_of_one_run_at_a_time_to_float32_rounding(tmp_path):
    alone = study(tmp_path, "alone", members=1)
    together = study(tmp_path, "together", members=4)
    assert len(together.rows) == len(alone.rows) == 4 * 2 * 2 + 4 * 3  # sweep: 2 lrs x 2 seeds; main: 3 seeds
    assert worst_difference(together.rows, alone.rows) < 1e-5
    held_out = ("val_loss", "test_loss", "test_ratio", "test_trivial_ratio", "params")  # final_evaluation's
    assert all(row[key] is not None for row in together.rows for key in held_out)  # compared above, then
    meta_alone = json.loads((alone.out_dir / "results.json").read_text())["meta"]
    meta_together = json.loads((together.out_dir / "results.json").read_text())["meta"]
    chosen = [(c["strategy"], c["setting"]) for c in meta_together["sweep"]["choices"]]
    assert chosen == [(c["strategy"], c["setting"]) for c in meta_alone["sweep"]["choices"]]
    assert (meta_alone["members"], meta_together["members"]) == (1, 4)
    for row in together.rows:  # every run folder holds what a single run writes, rows of the same keys
        batched, single = together.out_dir / row["run_dir"], alone.out_dir / row["run_dir"]
        assert _files(batched) == _files(single)
        def keys(run_dir):
            return [list(json.loads(line)) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]

        assert keys(batched) == keys(single)
        environment = json.loads((batched / "result.json").read_text())["environment"]
        trained_together = row["strategy"] != "lstm"
        assert ("batch_members" in environment) == trained_together, row["run_dir"]


def test_work_units_group_only_cells_that_may_train_together():
    base = TrainConfig(task="adding", seq_len=6, device="cpu")

    def cell(strategy="vanilla", phase="main", **fields):
        config = dataclasses.replace(base, strategy=strategy, **fields)
        return Cell("adding", 6, strategy, config, phase)

    cells = [cell(seed=0), cell(seed=1, lr=0.1), cell(seed=2, clip_norm=None), cell(seed=3),
             cell(seed=0, hidden=8),  # another model: apart
             cell("lstm", seed=0), cell("lstm", seed=1),  # one run at a time
             cell(seed=4, phase="sweep"), cell(seed=5)]
    units = _executors.work_units(cells, members=3)
    assert [[(c.phase, c.strategy, c.seed, c.config.hidden) for c in u] for u in units] == [
        [("main", "vanilla", 0, 64), ("main", "vanilla", 1, 64), ("main", "vanilla", 2, 64)],
        [("main", "vanilla", 3, 64), ("main", "vanilla", 5, 64)],
        [("main", "vanilla", 0, 8)],
        [("main", "lstm", 0, 64)], [("main", "lstm", 1, 64)],
        [("sweep", "vanilla", 4, 64)]]
    assert [len(u) for u in _executors.work_units(cells, members=1)] == [1] * len(cells)


def test_a_batched_study_stopped_by_a_signal_resumes_to_the_rows_of_an_uninterrupted_one(tmp_path,
                                                                                           monkeypatch):
    profile = {k: v for k, v in PROFILE.items() if k != "sweep"} | {"steps": 20, "checkpoint_every": 5}
    reference = study(tmp_path, "reference", members=3, profile=profile)
    step_of = members_train._train_step
    calls = []

    def interrupting(batch, step):
        rows = step_of(batch, step)
        calls.append(step)
        if len(calls) == 27:  # in the second batch, at its step 7: the handler records it, the step ends
            os.kill(os.getpid(), signal.SIGINT)
        return rows

    monkeypatch.setattr(members_train, "_train_step", interrupting)
    stopped = study(tmp_path, "cut", members=3, profile=profile)
    assert stopped.interrupted == "SIGINT"
    interrupted = [r for r in stopped.rows if r["status"] == "interrupted"]
    assert len(interrupted) == 3 and {r["steps"] for r in interrupted} == {7}  # the batch's three members
    assert len(stopped.rows) == 3 + 3  # one batch finished before, nothing started after the signal
    monkeypatch.setattr(members_train, "_train_step", step_of)
    resumed = study(tmp_path, "cut", members=3, profile=profile, resume=True)
    assert resumed.interrupted is None and untimed(resumed.rows) == untimed(reference.rows)


def test_a_new_study_batches_by_default_and_a_resume_keeps_the_studys_own_choice(tmp_path):
    profile = {k: v for k, v in PROFILE.items() if k != "sweep"} | {"strategies": ["vanilla"], "steps": 4}
    new = study(tmp_path, "new", members=None, profile=profile)
    meta = json.loads((new.out_dir / "results.json").read_text())["meta"]
    assert meta["members"] == _executors.DEFAULT_BATCH_MEMBERS
    # the three seeds of the one grid point train as one model
    results = [json.loads((new.out_dir / r["run_dir"] / "result.json").read_text()) for r in new.rows]
    assert {r["environment"]["batch_members"] for r in results} == {3}
    single = study(tmp_path, "single", members=1, profile=profile)
    again = study(tmp_path, "single", members=None, profile=profile, resume=True)
    assert json.loads((again.out_dir / "results.json").read_text())["meta"]["members"] == 1
    assert untimed(again.rows) == untimed(single.rows)


def test_a_batch_that_raises_is_run_again_one_cell_at_a_time(tmp_path, monkeypatch):
    profile = {k: v for k, v in PROFILE.items() if k != "sweep"} | {"strategies": ["vanilla"]}
    real = _executors.train

    def flaky(config, *args, **kwargs):
        if config.seed == 1:
            raise RuntimeError("disk on fire")
        return real(config, *args, **kwargs)

    def broken(*args, **kwargs):
        raise RuntimeError("batched path broke")

    monkeypatch.setattr(_executors, "train_members", broken)
    monkeypatch.setattr(_executors, "train", flaky)
    rows = study(tmp_path, "s", members=3, profile=profile).rows
    assert [(r["seed"], r["status"], r["error"]) for r in rows] == [
        (0, "finished", None), (1, "crashed", "RuntimeError: disk on fire"), (2, "finished", None)]


def test_ray_runs_batched_units_to_the_rows_of_the_local_executor(tmp_path):
    ray = pytest.importorskip("ray")
    profile = {k: v for k, v in PROFILE.items() if k != "sweep"} | {"strategies": ["vanilla", "expm"]}
    local = study(tmp_path, "local", members=3, profile=profile)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        remote = study(tmp_path, "ray", members=3, profile=profile, kind="ray")
    finally:
        ray.shutdown()
    assert untimed(remote.rows) == untimed(local.rows)
    assert all(json.loads((remote.out_dir / r["run_dir"] / "result.json").read_text())
               ["environment"]["batch_members"] == 3 for r in remote.rows)


@pytest.mark.parametrize("flags, message", [
    (["--batch-members", "-1"], "--batch-members must be an integer >= 0"),
])
def test_a_bad_batch_members_flag_fails_in_one_line(flags, message, tmp_path, capsys):
    out = tmp_path / "study"
    assert main(["showdown", "--out", str(out), *flags]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and not out.exists()


def test_batch_members_0_and_1_run_one_cell_at_a_time(tmp_path, monkeypatch):
    import linalg_rnn.rnn.showdown._study as study_module

    seen = []

    def fake_run_study(profile, out, *, executor, **kwargs):
        seen.append(executor.members)
        raise ValueError("stop here")

    monkeypatch.setattr(study_module, "run_study", fake_run_study)
    for value in ("0", "1", "2"):
        assert main(["showdown", "--out", str(tmp_path / "o"), "--batch-members", value]) == 2
    assert seen == [1, 1, 2]
    assert main(["showdown", "--out", str(tmp_path / "o")]) == 2 and seen[-1] is None  # run_study decides
    assert _executors.DEFAULT_BATCH_MEMBERS == 16 and Executor().members is None
