"""The sweep and the study's small-study behaviour: settings chosen on validation, kept out of the report."""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import shutil

import pytest
import torch

from linalg_rnn.cli import main
from linalg_rnn.rnn import TrainConfig
from linalg_rnn.rnn.showdown import (
    Cell,
    Executor,
    cell_record,
    evaluate_claims,
    expand_cells,
    grid_points,
    main_cells,
    parse_profile,
    pick_settings,
    run_study,
    summarize,
    sweep_cells,
    sweep_choices,
    verdict_markdown,
    work_units,
)

# lr 1e-5 leaves the untrained model's outputs where they start, 4-12 times the adding baseline
# after 60 steps; lr 3e-2 brings every seed to about the baseline: one learning rate is clearly right.
SWEPT = {"name": "swept", "seeds": [0, 1], "steps": 60, "hidden": 8, "batch": 16, "val_batch": 64,
         "eval_every": 20, "device": "cpu", "tasks": [{"task": "adding", "seq_len": 6}],
         "strategies": ["vanilla", "expm"],
         "sweep": {"lr": [1e-5, 3e-2], "orth_lr_ratio": [0.1, 1.0], "seeds": [1000, 1001]}}
BASE = {"name": "t", "seeds": [0], "tasks": [{"task": "adding", "seq_len": 8}], "strategies": ["vanilla"]}


def quiet(profile, out, **kwargs):
    executor = Executor(**({"workers": 1, "members": 1} | kwargs.pop("executor", {})))  # one run at a time
    return run_study(parse_profile(profile), out, executor=executor, echo=kwargs.pop("echo", None),
                     progress=False, figures=False, **kwargs)


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    return quiet(SWEPT, tmp_path_factory.mktemp("swept") / "study")


def test_the_sweep_picks_the_learning_rate_that_clearly_learns_and_main_rows_train_with_it(swept):
    sweep = [r for r in swept.rows if r["phase"] == "sweep"]
    main = [r for r in swept.rows if r["phase"] == "main"]
    # vanilla: 2 lrs; expm: 2 lrs x 2 orth_lr ratios; each on both sweep seeds
    assert len(sweep) == (2 + 4) * 2 and len(main) == 2 * 2
    assert {r["seed"] for r in sweep} == {1000, 1001} and {r["seed"] for r in main} == {0, 1}
    assert all(r["lr"] == 3e-2 for r in main)
    expm = [r for r in main if r["strategy"] == "expm"]
    assert all(math.isclose(r["orth_lr"], r["lr"] * r["setting"]["orth_lr_ratio"]) for r in expm)
    vanilla = [r for r in main if r["strategy"] == "vanilla"]
    assert all(r["orth_lr"] is None and r["setting"] == {"lr": 3e-2} for r in vanilla)
    # the sweep's own rows carry what they tried, and orth_lr follows the ratio there too
    assert {(r["lr"], r["orth_lr"]) for r in sweep if r["strategy"] == "expm"} == {
        (lr, lr * ratio) for lr in (1e-5, 3e-2) for ratio in (0.1, 1.0)}


def test_the_choice_and_every_candidate_are_in_the_meta(swept):
    meta = json.loads((swept.out_dir / "results.json").read_text())["meta"]["sweep"]
    assert meta["values"] == {"lr": [1e-5, 3e-2], "orth_lr_ratio": [0.1, 1.0]}
    assert meta["seeds"] == [1000, 1001]
    by_point = {c["strategy"]: c for c in meta["choices"]}
    assert set(by_point) == {"vanilla", "expm"}
    for choice in by_point.values():
        scores = [c["val_loss"] for c in choice["candidates"]]
        assert choice["val_loss"] == min(scores) and choice["setting"]["lr"] == 3e-2
        assert all(c["runs"] == 2 for c in choice["candidates"])
    sweep_rows = [r for r in swept.rows if r["phase"] == "sweep" and r["strategy"] == "vanilla"
                  and r["lr"] == 3e-2]
    assert by_point["vanilla"]["candidates"][1]["val_loss"] == pytest.approx(
        sum(r["val_loss"] for r in sweep_rows) / 2)  # the mean over the sweep seeds


def test_sweep_rows_never_reach_the_summary_or_the_verdicts(swept):
    main = [r for r in swept.rows if r["phase"] == "main"]
    assert swept.summary == summarize(main)
    summary_md = (swept.out_dir / "summary.md").read_text()
    assert verdict_markdown(evaluate_claims(main)) in summary_md
    assert "| vanilla |" in summary_md and summary_md.count("| vanilla |") == 1  # one line, the main one


def test_the_csv_holds_the_setting_as_json(swept):
    with (swept.out_dir / "results.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert json.loads(rows[0]["setting"]) == swept.rows[0]["setting"]


def test_a_resumed_sweep_reruns_nothing_and_chooses_the_same(swept, tmp_path):
    again = quiet(SWEPT, swept.out_dir, resume=True)
    assert again.ran == 0 and again.rows == swept.rows


def test_a_crashed_sweep_run_loses_and_is_kept_so_the_choice_never_changes(tmp_path, monkeypatch):
    from linalg_rnn.rnn.showdown import _executors

    real = _executors.train

    def crash_at_the_good_lr(config, *args, **kwargs):
        if config.lr == 3e-2 and config.seed == 1001:
            raise RuntimeError("out of memory")
        return real(config, *args, **kwargs)

    monkeypatch.setattr(_executors, "train", crash_at_the_good_lr)
    profile = SWEPT | {"strategies": ["vanilla"], "sweep": {"lr": [1e-5, 3e-2], "seeds": [1000, 1001]}}
    first = quiet(profile, tmp_path / "s")
    assert [r["status"] for r in first.rows if r["phase"] == "sweep"] == ["finished", "finished", "finished",
                                                                         "crashed"]
    assert all(r["lr"] == 1e-5 for r in first.rows if r["phase"] == "main")  # +inf lost to a worse lr
    monkeypatch.setattr(_executors, "train", real)
    again = quiet(profile, tmp_path / "s", resume=True)
    assert again.ran == 0 and again.rows == first.rows


def test_ties_go_to_the_smaller_lr_and_one_diverged_seed_sinks_its_setting():
    def row(lr, loss, status="finished", seed=1000):
        return {"phase": "sweep", "task": "a", "seq_len": 5, "strategy": "s", "seed": seed, "lr": lr,
                "orth_lr": None, "setting": {"lr": lr}, "val_loss": loss, "status": status}

    assert pick_settings([row(1e-2, 0.5), row(1e-3, 0.5)]) == {("a", 5, "s"): {"lr": 1e-3}}
    diverged = [row(1e-2, 0.1), row(1e-2, None, "diverged", 1001), row(1e-3, 0.4), row(1e-3, 0.6, seed=1001)]
    (choice,) = sweep_choices(diverged)
    assert choice["setting"] == {"lr": 1e-3} and choice["val_loss"] == pytest.approx(0.5)
    assert [c["val_loss"] for c in choice["candidates"]] == [None, pytest.approx(0.5)]
    # every setting diverged: all +inf, the smallest lr, and no score
    (none,) = sweep_choices([row(1e-2, None, "diverged"), row(1e-3, float("nan"))])
    assert none["setting"] == {"lr": 1e-3} and none["val_loss"] is None
    assert pick_settings([row(1e-2, 0.1) | {"phase": "main"}]) == {}


def test_a_field_is_swept_only_where_the_strategy_has_it():
    study = BASE | {"strategies": ["vanilla", "clip", "expm", "qr_projection"],
                    "sweep": {"lr": [1e-3, 1e-2], "clip_norm": [0.5, 1.0], "orth_lr_ratio": [0.1, 1.0]}}
    profile = parse_profile(study)
    cells = sweep_cells(grid_points(profile), profile.sweep)
    count = {s: sum(c.strategy == s for c in cells) for s in ("vanilla", "clip", "expm", "qr_projection")}
    # "applies" = the strategy's checked config has a value for the field: clip has a clip_norm,
    # expm an orth_lr; a projection has one once the trainer gives W_hh's group its own rate
    projection_orth_lr = TrainConfig(strategy="qr_projection").resolved().orth_lr is not None
    assert count == {"vanilla": 2, "clip": 4, "expm": 4, "qr_projection": 4 if projection_orth_lr else 2}
    assert {c.config.clip_norm for c in cells if c.strategy == "clip"} == {0.5, 1.0}


def test_main_cells_take_orth_lr_from_the_ratio_or_default_to_lr_over_10():
    profile = parse_profile(BASE | {"strategies": ["expm"], "lr": 2e-3})
    points = grid_points(profile)
    (ratio,) = main_cells(points, profile.seeds, {points[0].id: {"lr": 0.01, "orth_lr_ratio": 1.0}})
    (plain,) = main_cells(points, profile.seeds, {points[0].id: {"lr": 0.01}})
    (none,) = main_cells(points, profile.seeds)
    assert (ratio.config.orth_lr, plain.config.orth_lr, none.config.orth_lr) == (0.01, 0.001, 2e-4)
    assert ratio.setting == (("lr", 0.01), ("orth_lr_ratio", 1.0)) and none.setting == ()


def test_a_sweep_of_one_value_sets_it_without_sweep_runs():
    profile = parse_profile(BASE | {"strategies": ["vanilla", "expm"], "sweep": {"lr": [0.01]}})
    assert expand_cells(profile, phase="sweep") == []
    assert {c.config.lr for c in expand_cells(profile)} == {0.01}


@pytest.mark.parametrize("sweep, message", [
    ({"lr": 1e-3}, "lr must be a non-empty list of distinct values"),
    ({"lr": []}, "lr must be a non-empty list"),
    ({"lr": [1e-3, 1e-3]}, "distinct values"),
    ({"lr": [1e-3], "steps": [10, 20]}, "steps must be one integer"),
    ({"lr": [1e-3], "seeds": 1000}, "seeds must be a list"),
    ({"lr": [1e-3], "seeds": [0]}, "must differ from the study's seeds"),
    ({"orth_lr": [1e-3], "orth_lr_ratio": [0.1]}, "not both"),
    ({"orth_lr_ratio": [0.0]}, "orth_lr_ratio must be numbers > 0"),
    ({"lrr": [1e-3]}, "unknown key 'lrr'"),
    ({"seed": [1, 2]}, "set by the study itself"),
    ({"seeds": [1000]}, "names nothing to sweep"),
    ({"clip_norm": [0.5, 1.0]}, "clip_norm applies to none of the study's strategies"),
    ({"lr": [1e-3, -1.0]}, "lr must be"),
    ("lr", "must be a table"),
])
def test_bad_sweeps_fail_in_one_line_naming_the_profile(sweep, message):
    with pytest.raises(ValueError, match=message) as info:
        expand_cells(parse_profile(BASE | {"sweep": sweep}, "mine.toml"), phase="sweep")
    assert str(info.value).startswith("profile mine.toml") and "\n" not in str(info.value)


def test_the_old_sweep_keys_say_where_they_went():
    with pytest.raises(ValueError, match=r"'sweep_lrs' is now \[study.sweep\] lr = "):
        parse_profile(BASE | {"sweep_lrs": [1e-3]})


# --- small studies -----------------------------------------------------------------------------

@pytest.mark.parametrize("steps, expected", [(50, 1), (100, 3), (1500, 50), (3000, 100)])
def test_eval_every_follows_the_steps_unless_the_profile_sets_it(steps, expected):
    (cell,) = expand_cells(parse_profile(BASE | {"steps": steps}))
    assert cell.config.eval_every == expected
    (given,) = expand_cells(parse_profile(BASE | {"steps": steps, "eval_every": 7}))
    assert given.config.eval_every == 7


def test_the_sweep_runs_get_evaluation_points_for_their_own_steps():
    profile = parse_profile(BASE | {"steps": 3000, "sweep": {"lr": [1e-3, 1e-2], "steps": 300}})
    cells = expand_cells(profile, phase="sweep")
    assert {(c.config.steps, c.config.eval_every) for c in cells} == {(300, 10)}


def test_seeds_must_be_a_list_not_one_number():
    with pytest.raises(ValueError, match=r"seeds: must be a list of integers \(write \[2\] for one\), got 2"):
        parse_profile(BASE | {"seeds": 2}, "mine.toml")


def test_a_resumed_study_says_how_many_cells_were_done_and_ends_with_a_count(tmp_path, capsys):
    profile = BASE | {"seeds": [0, 1], "steps": 4, "hidden": 4, "batch": 4, "val_batch": 8, "device": "cpu",
                      "strategies": ["vanilla", "clip"]}
    path = tmp_path / "p.toml"
    path.write_text("[study]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in profile.items()
                                          if k != "tasks") + 'tasks = [{ task = "adding", seq_len = 8 }]\n')
    out = tmp_path / "s"
    flags = ["--workers", "1", "--no-progress"]
    assert main(["showdown", "--profile", str(path), "--out", str(out), *flags]) == 0
    first = capsys.readouterr().out
    assert "main: running 4 cells" in first and "4 cells: 4 finished, 0 diverged, 0 crashed; 4 run in this" \
        " sitting" in first
    (out / "records" / "main/adding-T8/clip/seed1.json").unlink()  # as if it had never run
    shutil.rmtree(out / "cells" / "main/adding-T8/clip/seed1")
    assert main(["showdown", "--out", str(out), "--resume", *flags]) == 0
    again = capsys.readouterr().out
    assert "main: 3 of 4 cells already done; running 1" in again
    assert "[4/4] main adding T=8 clip seed 1" in again
    assert "4 cells: 4 finished, 0 diverged, 0 crashed; 1 run in this sitting, 3 done in earlier ones" \
        in again


# --- units of work and records -----------------------------------------------------------------

def test_units_of_several_members_give_the_rows_of_one_cell_at_a_time_to_float32_rounding(tmp_path):
    profile = BASE | {"seeds": [0, 1, 2], "steps": 5, "hidden": 4, "batch": 4, "val_batch": 8,
                      "device": "cpu", "strategies": ["vanilla", "clip"]}
    units = work_units(expand_cells(parse_profile(profile)), members=2)
    assert [[c.key.split("/", 2)[2] for c in u] for u in units] == [
        ["vanilla/seed0", "vanilla/seed1"], ["vanilla/seed2"], ["clip/seed0", "clip/seed1"], ["clip/seed2"]]
    one = quiet(profile, tmp_path / "one")
    two = quiet(profile, tmp_path / "two", executor={"members": 2, "workers": 2})
    timing = {"wall_s", "time_per_step_s"}
    # a unit's members train as one batched model: the same numbers to float32 rounding, not bit for bit
    for a, b in zip(one.rows, two.rows, strict=True):
        assert list(a) == list(b)
        for key in a.keys() - timing:
            if isinstance(a[key], float) and isinstance(b[key], float):
                assert math.isclose(a[key], b[key], rel_tol=1e-5, abs_tol=1e-5), key
            else:
                assert a[key] == b[key], key
    # and the study's reader is told which way they trained, and what its seconds per step then mean
    from linalg_rnn.rnn.showdown import results_page
    assert "one run at a time" in results_page(one.out_dir)
    together = "up to 2 cells of one grid point trained together as one batched model"
    assert (together in results_page(two.out_dir)
            and "seconds per step are its whole model's" in (two.out_dir / "summary.md").read_text())


class _Finished:
    """What cell_record reads from a TrainResult, with the test stream's final metrics."""

    def __init__(self, final, diverged=False):
        self.config = TrainConfig(task="adding", seq_len=6, strategy="expm", seed=4).resolved()
        self.history = [{"step": 1, "train_loss": 1.0, "grad_norm": 1.0, "w_hh_spectral_norm": 1.0,
                         "elapsed_s": 0.1, "val_loss": 0.2}]
        self.final, self.diverged, self.baseline_loss = final, diverged, 0.5
        self.divergence_step, self.steps_done, self.interrupted, self.device = None, 1, None, "cpu"
        self.initial, self.model, self.initial_w_hh = {}, None, torch.eye(2)


def test_cell_record_copies_the_test_stream_and_reads_the_seed_from_the_config():
    final = {"val_loss": 0.2, "test_loss": 0.1, "test_accuracy": 0.9, "test_trivial_loss": 0.55,
             "skew_norm": 0.3, "params": 123}
    cell = Cell("adding", 6, "expm", dataclasses.replace(_Finished(final).config, seed=4), "main",
                (("lr", 0.001),))
    row = cell_record(cell, _Finished(final), "cells/x")["row"]
    assert (row["seed"], row["setting"]) == (4, {"lr": 0.001})
    assert (row["test_loss"], row["test_accuracy"]) == (0.1, 0.9)
    assert row["test_ratio"] == pytest.approx(0.2) and row["test_trivial_ratio"] == pytest.approx(1.1)
    assert (row["skew_norm"], row["params"]) == (0.3, 123)
    absent = cell_record(cell, _Finished({"val_loss": 0.2}), "cells/x")["row"]
    assert all(absent[k] is None for k in ("test_loss", "test_ratio", "test_accuracy", "test_trivial_ratio",
                                           "skew_norm", "params"))
    diverged = cell_record(cell, _Finished(final, diverged=True), "cells/x")["row"]
    assert diverged["test_loss"] is None and diverged["test_ratio"] is None and diverged["params"] == 123


def test_the_results_page_shows_the_sweep_and_reports_test_numbers_with_the_chosen_rates(swept):
    from linalg_rnn.rnn.showdown import results_page
    data = json.loads((swept.out_dir / "results.json").read_text())
    page = results_page(swept.out_dir)
    choices = data["meta"]["sweep"]["choices"]
    assert f"{len(choices)} choices were made" in page
    at_top = sum(1 for c in choices if c["setting"]["lr"] == 3e-2)
    assert (f"{at_top} of {len(choices)} ({len(choices) - at_top} at 1e-5, {at_top} at 3e-2)") in page
    assert "final held-out test loss over the task's baseline" in page
    for line in summarize(data["runs"]):  # the table's number is the test one, with the chosen lr
        assert f"``{line['strategy']}``\n     - {line['test_ratio_mean']:.3g} ±" in page
        assert f"     - {'3e-2' if line['lr'] == 3e-2 else '1e-5'}" in page
    expm = next(line for line in summarize(data["runs"]) if line["strategy"] == "expm")
    assert f"skew-symmetric parameter, mean over seeds: ``expm`` {expm['skew_norm_mean']:.3g}." in page


def test_publishing_over_a_committed_run_keeps_its_verdicts_and_the_page_compares_them(swept, tmp_path):
    from linalg_rnn.rnn.showdown import publish
    from linalg_rnn.rnn.showdown._page import PREVIOUS, previous_verdicts
    dest, page = tmp_path / "docs" / "results" / "study", tmp_path / "docs" / "results.rst"
    publish(swept.out_dir, dest, page)
    assert not (dest / PREVIOUS).exists()  # nothing was replaced
    first = previous_verdicts((dest / "summary.md").read_text())
    assert sorted(first, key=int) == [str(n) for n in range(1, 10)]
    lines = (dest / "summary.md").read_text().splitlines()  # plant an earlier verdict for claim 1
    (dest / "summary.md").write_text("\n".join(
        line.replace(f"| {first['1']} |", "| planted earlier verdict |", 1)
        if line.startswith("| 1 |") else line for line in lines))
    publish(swept.out_dir, dest, page)
    kept = json.loads((dest / PREVIOUS).read_text())
    assert kept["verdicts"]["1"] == "planted earlier verdict" and kept["profile"] == "swept"
    text = page.read_text()
    assert "What changed since the previous committed run" in text and "planted earlier verdict" in text
    # the summary is written again by the code, not copied: the planted line is gone
    assert (dest / "summary.md").read_text() == (swept.out_dir / "summary.md").read_text()


def test_publish_writes_the_curves_on_one_line_and_keeps_none_from_a_replaced_run(swept, tmp_path):
    from linalg_rnn.rnn.showdown import publish
    dest, page = tmp_path / "study", tmp_path / "results.rst"
    publish(swept.out_dir, dest, page)
    published = (dest / "curves.json").read_text()
    assert published.count("\n") == 1 and json.loads(published) == json.loads(
        (swept.out_dir / "curves.json").read_text())
    assert (dest / "figures" / "loss_curves.png").is_file()
    bare = tmp_path / "bare"  # the same study without its curves
    shutil.copytree(swept.out_dir, bare, ignore=shutil.ignore_patterns("curves.json", "cells", "records"))
    publish(bare, dest, page)
    assert not (dest / "curves.json").exists()  # the replaced run's curves would draw its figures
    assert sorted(p.name for p in (dest / "figures").iterdir()) == ["headline.png"]
