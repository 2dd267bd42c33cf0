"""Showdown without training: profiles, the grid, aggregation by hand, the brackets task.

The verdict rules are tested on planted grids in test_verdicts.py.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from linalg_rnn.rnn import TrainConfig
from linalg_rnn.rnn.showdown import (
    LABELS,
    MIN_SEEDS,
    Cell,
    bootstrap_ci,
    cell_record,
    expand_cells,
    load_profile,
    parse_profile,
    pick_settings,
    steps_to_threshold,
    success_rate,
    summarize,
    summary_markdown,
)
from linalg_rnn.rnn.tasks import TASK_NAMES, BracketsTask, make_task

BASE = {"name": "t", "seeds": [0], "tasks": [{"task": "adding", "seq_len": 8}], "strategies": ["vanilla"]}

# A valid value, with the task and strategy it needs, for every TrainConfig field a profile may set.
FIELD_VALUES = {
    "hidden": (5, "adding", "vanilla"), "batch": (3, "adding", "vanilla"), "lr": (0.01, "adding", "vanilla"),
    "optimizer": ("sgd", "adding", "vanilla"), "steps": (7, "adding", "vanilla"),
    "device": ("cpu", "adding", "vanilla"), "clip_norm": (2.5, "adding", "clip"),
    "clip_value": (0.5, "adding", "clip"), "tbptt_window": (3, "adding", "tbptt"),
    "proj_every": (3, "adding", "qr_projection"), "init_scheme": ("identity", "adding", "orthogonal_init"),
    "delay": (3, "recall", "vanilla"), "permute": (True, "digits", "vanilla"),
    "data_dir": ("/some/mnist", "mnist", "vanilla"), "model": ("loop", "adding", "vanilla"),
    "init_gain": (1.5, "adding", "vanilla"), "log_every": (2, "adding", "vanilla"),
    "eval_every": (4, "adding", "vanilla"), "spectral_every": (2, "adding", "vanilla"),
    "checkpoint_every": (9, "adding", "vanilla"), "lag_grads_every": (5, "adding", "vanilla"),
    "val_batch": (11, "adding", "vanilla"), "figures": (True, "adding", "vanilla"),
    "orth_lr": (1e-4, "adding", "expm"), "tbptt_update": ("batch", "adding", "tbptt"),
    "norm_every": (3, "adding", "vanilla"), "allow_tf32": (True, "adding", "vanilla"),
    "deterministic": (True, "adding", "vanilla"), "activation": ("modrelu", "adding", "expm"),
    "lstm_init": ("chrono", "adding", "lstm"), "forget_bias": (2.0, "adding", "lstm"),
    "rebase_every": (10, "adding", "cayley"), "eval_sequences": (64, "adding", "vanilla"),
}
SET_BY_STUDY = {"task", "seq_len", "strategy", "seed"}


def test_every_trainconfig_field_has_a_test_value():
    fields = {f.name for f in dataclasses.fields(TrainConfig) if not f.name.startswith("_")}
    assert fields - SET_BY_STUDY == set(FIELD_VALUES), "a new TrainConfig field needs a test value here"


@pytest.mark.parametrize("level", ["study", "task", "strategy"])
@pytest.mark.parametrize("field", sorted(FIELD_VALUES))
def test_every_trainconfig_field_can_be_set_at_every_level(field, level, tmp_path):
    value, task, strategy = FIELD_VALUES[field]
    if field == "data_dir":  # the mnist task checks that its files are there
        for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
            (tmp_path / name).write_bytes(b"")
        value = str(tmp_path)
    task_entry = {"task": task} | ({"seq_len": 8} if task in ("adding", "recall") else {})
    strategy_entry: dict | str = strategy
    study = {**BASE, "tasks": [task_entry], "strategies": [strategy]}
    if level == "study":
        study[field] = value
    elif level == "task":
        task_entry[field] = value
    else:
        strategy_entry = {"label": "mine", "strategy": strategy, field: value}
        study["strategies"] = [strategy_entry]
    (cell,) = expand_cells(parse_profile(study))
    assert getattr(cell.config, field) == value


def test_later_levels_win_strategy_over_task_over_study():
    study = {**BASE, "hidden": 4, "lr": 0.1, "steps": 3,
             "tasks": [{"task": "adding", "seq_len": 8, "hidden": 6, "lr": 0.2}],
             "strategies": [{"label": "s", "strategy": "vanilla", "lr": 0.3}]}
    (cell,) = expand_cells(parse_profile(study))
    assert (cell.config.hidden, cell.config.lr, cell.config.steps) == (6, 0.3, 3)


@pytest.mark.parametrize("change, message", [
    ({"strategies": [{"strategy": "clip", "clip_norm": 2.0}]}, "needs a label"),
    ({"strategies": ["clip", "clip"]}, "labels must be unique"),
    ({"stesp": 3}, "unknown key 'stesp'"),
    ({"seed": 3}, "set by the study itself"),
    ({"seeds": []}, "non-empty list"),
    ({"tasks": [{"task": "adding", "seq_len": 8, "hidden": 0}]}, "hidden must be an integer >= 1"),
    ({"tasks": [{"task": "sorting", "seq_len": 8}]}, "unknown task 'sorting'"),
    ({"strategies": [{"label": "x", "strategy": "tbptt", "tbptt_window_ratio": -1}]}, "ratio"),
    ({"strategies": ["qr_projection+expm"]}, "keeps W_hh orthogonal"),
    ({"sweep": {"lr": [1e-3, 1e-2], "seeds": [0]}}, "must differ from the study's seeds"),
    ({"tasks": [{"task": "adding", "seq_len": 8, "strategies": ["vanila"]}]}, "not among the study's"),
    ({"tasks": [{"task": "adding", "seq_len": 8, "strategies": []}]}, "non-empty list of strategy labels"),
])
def test_bad_profiles_fail_in_one_line_naming_the_profile(change, message):
    with pytest.raises(ValueError, match=message) as info:
        expand_cells(parse_profile({**BASE, **change}, "mine.toml"))
    assert str(info.value).startswith("profile mine.toml") and "\n" not in str(info.value)


def test_toml_profiles_load_and_bad_files_are_refused(tmp_path):
    good = tmp_path / "p.toml"
    good.write_text('[study]\nname = "p"\nseeds = [0, 1]\nsteps = 3\n'
                    'tasks = [{ task = "copy", seq_len = [2, 4] }]\n'
                    'strategies = ["vanilla", '
                    '{ label = "q1", strategy = "qr_projection", proj_every = 1 }]\n')
    cells = expand_cells(load_profile(good))
    assert len(cells) == 2 * 2 * 2 and {c.strategy for c in cells} == {"vanilla", "q1"}
    bad = tmp_path / "bad.toml"
    bad.write_text("[study\nname=")
    with pytest.raises(ValueError, match="cannot parse profile"):
        load_profile(bad)
    with pytest.raises(FileNotFoundError):
        load_profile(tmp_path / "missing.toml")
    with pytest.raises(ValueError, match="unknown profile"):
        load_profile("medium")


def test_a_task_entry_can_run_a_subset_of_the_strategies():
    study = {**BASE, "tasks": [{"task": "adding", "seq_len": 8},
                               {"task": "copy", "seq_len": 3, "strategies": ["expm"]}],
             "strategies": ["vanilla", "clip", "expm"]}
    cells = expand_cells(parse_profile(study))
    by_task = {t: sorted({c.strategy for c in cells if c.task == t}) for t in ("adding", "copy")}
    assert by_task == {"adding": ["clip", "expm", "vanilla"], "copy": ["expm"]}


def test_the_standard_profile_holds_the_quick_cells_as_the_same_runs():
    quick, standard = (load_profile(name) for name in ("quick", "standard"))
    assert quick.sweep == standard.sweep  # the same sweep, so the same settings get chosen
    for phase in ("sweep", "main"):
        same = {c.key: c.config for c in expand_cells(standard, phase=phase)}
        assert all(same[c.key] == c.config for c in expand_cells(quick, phase=phase))
    cells = expand_cells(standard)
    assert {(c.task, c.seq_len) for c in cells} >= {("recall", 50), ("mnist_permuted", 28),
                                                    ("text", 400), ("brackets", 100), ("adding", 60)}
    assert {c.strategy for c in cells if c.task in ("text", "brackets")} == {"vanilla", "expm"}


def test_builtin_profiles_expand_to_checked_cells_with_enough_seeds():
    quick, standard, full = load_profile("quick"), load_profile("standard"), load_profile("full")
    assert all(len(p.seeds) >= MIN_SEEDS and p.sweep for p in (quick, standard, full))
    claims = {LABELS.vanilla, LABELS.clip, LABELS.orthogonal_init, LABELS.qr_every_1, LABELS.qr_every_5,
              LABELS.expm, LABELS.cayley, LABELS.lstm}
    assert claims <= {s.label for s in quick.strategies}
    for profile in (standard, full):  # every label a claim's rule reads
        assert claims | {LABELS.tbptt_short, LABELS.tbptt_long, LABELS.lstm_equal_params} <= {
            s.label for s in profile.strategies}
        assert expand_cells(profile)
    assert {(t.task, t.seq_len) for t in full.tasks} >= {("text", 100), ("text", 200),
                                                         ("text", 400), ("copy", 1000)}


def test_tbptt_window_ratio_is_relative_to_the_dependency():
    tasks = [{"task": "copy", "seq_len": 10}, {"task": "recall", "seq_len": 20, "delay": 8}]
    study = {**BASE, "tasks": tasks,
             "strategies": [{"label": "short", "strategy": "tbptt", "tbptt_window_ratio": 0.5},
                            {"label": "long", "strategy": "tbptt", "tbptt_window_ratio": 1.5}]}
    windows = {(c.task, c.strategy): c.config.tbptt_window for c in expand_cells(parse_profile(study))}
    # copy T=10: a symbol is recalled T + 10 = 20 steps later (sequence 30); recall: the delay 8.
    # Windows divide the sequence, so the last window is as long as the others.
    assert windows == {("copy", "short"): 10, ("copy", "long"): 30, ("recall", "short"): 4,
                       ("recall", "long"): 20}


# --- aggregation, against hand-computed values ---------------------------------------------

def test_bootstrap_interval_of_two_values_is_their_range():
    # resample means of {1, 2} are 1, 1.5, 2 with chances 1/4, 1/2, 1/4: the 2.5th and 97.5th
    # percentiles are the extremes
    assert bootstrap_ci([1.0, 2.0], resamples=4000) == (1.0, 2.0)
    assert bootstrap_ci([3.0]) == (3.0, 3.0)
    assert all(math.isnan(v) for v in bootstrap_ci([]))


def test_bootstrap_interval_matches_a_literal_resampling():
    values = np.array([0.2, 0.9, 0.4, 0.7, 0.1])
    rng = np.random.default_rng(7)
    means = [values[rng.integers(0, 5, 5)].mean() for _ in range(3000)]
    expected = tuple(np.percentile(means, [2.5, 97.5]))
    assert bootstrap_ci(values, resamples=3000, seed=7) == pytest.approx(expected, abs=1e-12)
    with pytest.raises(ValueError, match="level"):
        bootstrap_ci(values, level=1.5)


def test_success_rate_and_median_steps_to_threshold():
    rows = [{"success": True, "steps_to_threshold": 150}, {"success": True, "steps_to_threshold": 450},
            {"success": True, "steps_to_threshold": 300}, {"success": False, "steps_to_threshold": None},
            {"success": None, "steps_to_threshold": None}]
    assert success_rate(rows) == (3, 5)
    assert steps_to_threshold(rows) == 300.0
    assert steps_to_threshold(rows[3:]) is None


def _row(strategy, seed, ratio, task="adding", seq_len=10, **extra):
    base = {"task": task, "seq_len": seq_len, "strategy": strategy, "seed": seed, "loss_ratio": ratio,
            "success": ratio is not None and ratio <= 0.1,
            "status": "finished" if ratio is not None else "diverged",
            "steps_to_threshold": None, "max_grad_norm": 1.0, "final_w_hh_spectral_norm": 1.0,
            "max_w_hh_spectral_norm": 1.0, "diverged": ratio is None, "wall_s": 2.0, "time_per_step_s": 0.01,
            "val_accuracy": None, "phase": "main"}
    return base | extra


def test_summary_mean_std_and_success_over_seeds_by_hand():
    rows = [_row("clip", 0, 0.05), _row("clip", 1, 0.5), _row("clip", 2, None)]
    (line,) = summarize(rows)
    assert line["n"] == 3 and line["n_finished"] == 2 and line["divergences"] == 1
    assert line["loss_ratio_mean"] == pytest.approx(0.275)
    assert line["loss_ratio_std"] == pytest.approx(math.sqrt(2 * 0.225**2))  # sample std, n - 1 = 1
    assert (line["successes"], line["success_rate"]) == (1, pytest.approx(1 / 3))


def test_summary_reports_the_test_numbers_and_the_settings_by_hand():
    rows = [_row("expm", s, 0.5, test_ratio=t, test_accuracy=a, test_trivial_ratio=1.0 + 0.01 * s, lr=1e-2,
                 orth_lr=1e-3, clip_norm=None, params=4618, skew_norm=k)
            for s, (t, a, k) in enumerate([(0.05, 0.9, 2.0), (0.2, 0.7, 3.0), (0.05, 0.8, 1.0),
                                           (0.1, 0.8, 2.0), (0.1, 0.8, 2.0)])]
    (line,) = summarize(rows)
    assert line["test_ratio_mean"] == pytest.approx(0.1) and line["test_successes"] == 4  # 0.1 counts
    assert line["test_ratio_std"] == pytest.approx(np.std([0.05, 0.2, 0.05, 0.1, 0.1], ddof=1))
    assert line["test_ratio_ci"] == bootstrap_ci([0.05, 0.2, 0.05, 0.1, 0.1])
    assert line["test_accuracy_mean"] == pytest.approx(0.8)
    assert line["trivial_ratio_mean"] == pytest.approx(1.02)
    assert (line["lr"], line["orth_lr"], line["clip_norm"], line["params"]) == (1e-2, 1e-3, None, 4618)
    assert line["skew_norm_mean"] == pytest.approx(2.0)
    assert line["loss_ratio_mean"] == pytest.approx(0.5)  # the validation number stays, apart
    # four seeds: no interval (intervals need MIN_SEEDS = 5), and a missing key is None, not an error
    short = summarize(rows[:4])[0]
    assert short["test_ratio_ci"] is None and short["test_ratio_mean"] == pytest.approx(0.1)
    old = summarize([_row("clip", s, 0.3) for s in range(5)])[0]
    assert old["test_ratio_mean"] is None and old["lr"] is None and old["skew_norm_mean"] is None


def test_summary_markdown_is_eight_columns_with_the_noise_check_above():
    rows = [_row(s, k, 0.5, task="copy", test_ratio=t, test_trivial_ratio=1.0, lr=lr, params=p)
            for s, t, lr, p in (("vanilla", 1.0, 1e-3, 4500), ("lstm", 0.02, 3e-3, 18000))
            for k in range(5)]
    rows.append(_row("vanilla", 5, None, task="copy"))  # a sixth vanilla seed diverged
    text = summary_markdown(summarize(rows))
    lines = text.splitlines()
    assert lines[0] == "### copy, T = 10"
    assert lines[2] == ("An input-ignoring model scores 1 of the baseline on the test batch "
                        "(the noise check: it should be close to 1).")
    table = [x for x in lines if x.startswith("|")]
    assert all(x.count("|") == 9 for x in table)  # eight columns
    assert table[2] == "| vanilla | 4.5k | 1e-3 | 1 ± 0 | [1, 1] | 0/6 (1 diverged) | – | 1 |"
    assert table[3].startswith("| lstm | 18.0k | 3e-3 | 0.02 ± 0 | [0.02, 0.02] | 5/5 |")


def test_the_sweep_picks_the_lowest_mean_validation_loss_and_diverged_runs_lose():
    rows = [{"phase": "sweep", "task": "a", "seq_len": 5, "strategy": "s", "lr": lr, "val_loss": v,
             "status": st} for lr, v, st in [(1e-3, 0.4, "finished"), (1e-3, 0.2, "finished"),
                                              (1e-2, 0.1, "diverged"), (1e-4, 0.35, "finished")]]
    assert pick_settings(rows) == {("a", 5, "s"): {"lr": 1e-3}}


class _FakeResult:
    """What cell_record reads from a TrainResult."""

    def __init__(self, history, diverged=False):
        self.history, self.diverged = history, diverged
        self.config = TrainConfig(task="adding", seq_len=10, strategy="clip", lr=0.01).resolved()
        self.baseline_loss, self.final = 0.5, {}
        self.divergence_step = history[-1]["step"] if diverged else None
        self.steps_done, self.interrupted, self.device = history[-1]["step"], None, "cpu"
        self.initial, self.model, self.initial_w_hh = {"w_hh_spectral_norm": 1.0}, None, torch.eye(2)


def test_cell_record_measures_by_hand():
    history = [{"step": s, "train_loss": 1.0, "grad_norm": g, "w_hh_spectral_norm": w, "elapsed_s": s * 0.5}
               | ({"val_loss": v} if v is not None else {})
               for s, g, w, v in [(1, 3.0, 1.2, None), (2, 40.0, None, 0.2), (3, 5.0, 1.5, 0.04),
                                  (4, 2.0, 1.1, 0.03)]]
    cell = Cell("adding", 10, "c", _FakeResult(history).config)
    row = cell_record(cell, _FakeResult(history), "cells/x")["row"]
    assert row["val_loss"] == 0.03 and row["loss_ratio"] == pytest.approx(0.06) and row["success"]
    assert row["steps_to_threshold"] == 3  # 0.04 / 0.5 = 0.08 <= 0.1 first at step 3
    norms = (row["max_grad_norm"], row["final_w_hh_spectral_norm"], row["max_w_hh_spectral_norm"])
    assert norms == (40.0, 1.1, 1.5)
    assert row["wall_s"] == 2.0 and row["time_per_step_s"] == 0.5
    history[-1]["grad_norm"] = float("nan")
    diverged = cell_record(cell, _FakeResult(history, diverged=True), "cells/x")["row"]
    assert diverged["loss_ratio"] is None and not diverged["success"] and diverged["status"] == "diverged"
    assert diverged["max_grad_norm"] == 40.0 and diverged["divergence_step"] == 4


# --- the brackets task -----------------------------------------------------------------------

def test_brackets_is_a_registered_task_with_shapes_and_baseline():
    assert "brackets" in TASK_NAMES
    task = make_task("brackets", 30)
    x, y = task.sample(5, torch.Generator().manual_seed(0))
    assert x.shape == (5, 30, 8) and y.shape == (5, 30) and task.baseline_loss == pytest.approx(math.log(4))
    assert torch.equal(x.sum(-1), torch.ones(5, 30))


def test_brackets_accuracy_counts_only_the_predictable_positions_also_in_the_trainer():
    task = make_task("brackets", 4)
    target = torch.tensor([[4, -100, 5, -100]])
    output = torch.nn.functional.one_hot(torch.tensor([[4, 0, 6, 1]]), 8).float()
    # 1 of the 2 scored positions right; the 2 unscored ones count for nothing (not as wrong)
    assert task.accuracy(output, target) == 0.5
    assert task.accuracy_tensor(output, target).item() == 0.5  # what the trainer logs
    x, y = task.sample(64, torch.Generator().manual_seed(1))
    right = torch.nn.functional.one_hot(y.clamp(min=0), 8).float()  # right wherever it is scored
    assert task.accuracy_tensor(right, y).item() == 1.0


def test_brackets_are_reproducible_from_the_seed():
    task = BracketsTask(40)
    a = task.sample(4, torch.Generator().manual_seed(3))
    b = task.sample(4, torch.Generator().manual_seed(3))
    c = task.sample(4, torch.Generator().manual_seed(4))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) and not torch.equal(a[0], c[0])


def test_brackets_scored_positions_are_exactly_the_closing_brackets_that_match_the_stack():
    task = BracketsTask(60, n_types=3)
    s = task.symbols(8, torch.Generator().manual_seed(1))
    _, y = task.sample(8, torch.Generator().manual_seed(1))
    for b in range(8):
        stack = []
        for t, symbol in enumerate(s[b].tolist()):
            if symbol < 3:
                stack.append(symbol)
            else:
                assert stack and symbol == 3 + stack.pop()  # a close matches the last open kind
            if t >= 1:
                assert y[b, t - 1].item() == (symbol if symbol >= 3 else -100)


def test_brackets_baseline_is_what_an_input_ignoring_model_scores():
    task = BracketsTask(50)
    x, y = task.sample(2000, torch.Generator().manual_seed(0))
    # the best input-ignoring guess: uniform over the 4 closing brackets
    logits = torch.full((2000, 50, 8), -math.inf)
    logits[..., 4:] = 0.0
    assert task.loss(logits, y).item() == pytest.approx(task.baseline_loss, rel=1e-6)
    always_last_kind = torch.arange(8.0).expand(2000, 50, 8)  # argmax: the closing bracket of kind 3
    assert task.accuracy(always_last_kind, y) == pytest.approx(task.baseline_accuracy, abs=0.01)
    # no position tells which kind closes: per position, the kinds are uniform
    scored = y >= 0
    for t in (5, 25, 49):
        counts = torch.bincount(y[scored[:, t], t] - 4, minlength=4).double()
        assert (counts / counts.sum() - 0.25).abs().max() < 0.05


def test_brackets_window_losses_add_up_to_the_batch_loss():
    task = BracketsTask(24)
    x, y = task.sample(6, torch.Generator().manual_seed(2))
    out = torch.randn(6, 24, 8, generator=torch.Generator().manual_seed(3))
    parts = sum(task.loss(out[:, t0:t0 + 5], y, t0) for t0 in range(0, 24, 5))
    assert parts.item() == pytest.approx(task.loss(out, y).item(), rel=1e-6)


def test_the_profile_example_on_the_results_page_is_a_valid_profile():
    import textwrap
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    from linalg_rnn.rnn.showdown._page import PROFILE_FORMAT

    block = textwrap.dedent(PROFILE_FORMAT.split("::\n\n", 1)[1].split("\n\nEvery cell", 1)[0])
    profile = parse_profile(tomllib.loads(block)["study"], "the results page")
    cells = expand_cells(profile)
    assert len(cells) == 3 * 3 * 5  # seeds x (task, length) x strategies
    # the sweep: 2 lrs each, times 2 orth_lr ratios for the two with a projection; one sweep seed
    sweep = expand_cells(profile, phase="sweep")
    assert len(sweep) == 3 * (2 + 4 + 4 + 2 + 2)
    lstm = {c.config.hidden for c in cells if c.strategy == "lstm_equal_params" and c.task == "adding"}
    assert lstm == {15}  # equal_parameter_lstm_hidden(32, 2, 1)
    assert "sweep_lrs" not in PROFILE_FORMAT and "[study.sweep]" in PROFILE_FORMAT


# --- the LSTM at the tanh RNN's parameter count ---------------------------------------------------

def _equal_params_profile(**task_options):
    return parse_profile({"name": "eq", "seeds": [0], "hidden": 64, "tasks": [
        {"task": "adding", "seq_len": 10, **task_options}, {"task": "copy", "seq_len": 5}],
        "strategies": ["vanilla", {"label": "lstm_equal_params", "strategy": "lstm",
                                   "hidden": "equal_params"}]})


def test_an_lstm_entry_at_equal_params_gets_the_hidden_size_whose_count_matches_the_rnns_per_task():
    from linalg_rnn.rnn.models import build_model, equal_parameter_lstm_hidden

    def count(model):
        return sum(p.numel() for p in model.parameters())

    cells = expand_cells(_equal_params_profile())
    lstm = {c.task: c.config for c in cells if c.strategy == "lstm_equal_params"}
    rnn = {c.task: c.config for c in cells if c.strategy == "vanilla"}
    assert lstm["adding"].hidden == equal_parameter_lstm_hidden(64, 2, 1) == 31
    assert lstm["copy"].hidden == equal_parameter_lstm_hidden(64, 10, 10)  # copy reads and writes 10 symbols
    for task in ("adding", "copy"):
        spec = lstm[task].task_spec()
        h = lstm[task].hidden
        P_rnn = count(build_model("fused", spec.input_size, rnn[task].hidden, spec.output_size))
        P_lstm = [count(build_model("lstm", spec.input_size, k, spec.output_size)) for k in (h - 1, h, h + 1)]
        assert abs(P_lstm[1] - P_rnn) <= min(abs(P_lstm[0] - P_rnn), abs(P_lstm[2] - P_rnn))
        assert abs(P_lstm[1] - P_rnn) <= P_lstm[2] - P_lstm[1]  # within one hidden unit's worth
    # a task's own hidden is the RNN's it matches
    matched = {c.config.hidden for c in expand_cells(_equal_params_profile(hidden=32))
               if c.task == "adding" and c.strategy == "lstm_equal_params"}
    assert matched == {equal_parameter_lstm_hidden(32, 2, 1)}


def test_equal_params_is_refused_for_a_strategy_without_lstm_before_any_work():
    profile = parse_profile({"name": "eq", "seeds": [0], "tasks": [{"task": "adding", "seq_len": 10}],
                             "strategies": [{"label": "v", "strategy": "clip", "hidden": "equal_params"}]})
    with pytest.raises(ValueError, match=r"^profile <dict>: task adding T=10, strategy v: hidden = "
                                         r"'equal_params' sizes an LSTM; the strategy 'clip' has no lstm$"):
        expand_cells(profile)
