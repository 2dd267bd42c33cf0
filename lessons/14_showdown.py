"""
14 · The showdown: which fix works, on which task, at which length?
===================================================================

Lesson 13 trained every strategy once, on one seed.  One run proves
little: two seeds of the same method can land on opposite sides of the
baseline.  This lesson runs a small *study* -- a grid of (task, length) ×
strategy × seed, each cell an ordinary trainer run -- with
:func:`linalg_rnn.rnn.showdown.run_study`, reads it the way the results
page does (means over seeds, bootstrap intervals, success rates), and then
opens the committed run of ``linalg-rnn showdown`` to draw its headline
figure and the verdicts on the claims the course was commissioned with.

**What you will learn**

* how a study is described (a profile: defaults, tasks, strategies, seeds)
  and why every cell gets the same data, steps and budget;
* how to summarize seeds honestly: mean ± standard deviation, a bootstrap
  95 % interval of the mean, and the share of seeds that got below 10 % of
  the task's baseline;
* how the verdicts on the source claims are computed from the rows, by
  rules you can read and change;
* how to run the full study yourself, resume it, and spread it over a Ray
  cluster.

**Prerequisites:** lesson 13 (the trainer and its strategies); lessons 10
and 11 (clipping, truncated BPTT); lesson 12 (the exponential map).
"""

# %%
# A small study, live
# -------------------
#
# A *profile* says what to run.  Keys at the top of the study are defaults
# for every cell (any :class:`~linalg_rnn.rnn.TrainConfig` field); a task
# entry names a task and its lengths; a strategy is a name, or a table with
# a ``label`` when it changes a setting.  The same profile as a TOML file
# runs from the shell with ``linalg-rnn showdown --profile my_study.toml``.
#
# The size of the slice depends on ``$LINALG_RNN_MODE``: seconds in
# ``quick``, under a minute in ``default``.

import json
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import torch

import linalg_rnn
from linalg_rnn.course import lesson_mode
from linalg_rnn.rnn.showdown import (
    CLAIMS,
    Executor,
    bootstrap_ci,
    evaluate_claims,
    parse_profile,
    plot_curves,
    plot_headline,
    run_study,
    summarize,
)

torch.set_num_threads(1)  # one thread per cell, as the study's workers use

mode = lesson_mode()
size = {
    "quick": dict(seq_len=8, hidden=8, steps=40, strategies=["vanilla", "qr_every_5"]),
    "default": dict(seq_len=20, hidden=32, steps=300,
                    strategies=["vanilla", "orthogonal_init", "qr_every_5", "lstm"]),
    "full": dict(seq_len=30, hidden=64, steps=1500,
                 strategies=["vanilla", "clip", "orthogonal_init", "qr_every_5", "expm", "lstm"]),
}[mode]
entries = {"qr_every_5": {"label": "qr_every_5", "strategy": "qr_projection", "proj_every": 5}}
profile = parse_profile({
    "name": "lesson14", "seeds": [0, 1, 2], "steps": size["steps"], "hidden": size["hidden"],
    "batch": 64, "lr": 1e-3, "device": "cpu", "eval_every": max(1, size["steps"] // 10),
    "spectral_every": 1, "tasks": [{"task": "adding", "seq_len": size["seq_len"]}],
    "strategies": [entries.get(s, s) for s in size["strategies"]],
}, source="lesson 14")
print(f"mode {mode}: {len(profile.seeds)} seeds x {len(profile.strategies)} strategies on adding "
      f"T = {size['seq_len']}, {size['steps']} steps each")

with tempfile.TemporaryDirectory() as tmp:
    study = run_study(profile, Path(tmp) / "study", executor=Executor(workers=1), progress=False,
                      figures=False)
    curves = json.loads((study.out_dir / "curves.json").read_text())
rows = study.rows
print(f"the adding baseline (always answer 1) scores {rows[0]['baseline_loss']:.4f} = 1/6")

# %%
# Reading seeds honestly
# ----------------------
#
# Each row is one run.  The number that matters is the final validation
# loss over the task's *baseline* -- for the adding problem the mean squared
# error of always answering 1, which is :math:`1/6`.  A ratio near 1 means
# the network learned nothing a constant could not; a seed *succeeds* when
# its ratio is at most 0.1.
#
# With three seeds, the spread is part of the result.  The bootstrap
# interval resamples the seeds with replacement many times and takes the
# middle 95 % of the resampled means; it can never be wider than the range
# of the seeds, which is why the success count is printed beside it.

for line in summarize(rows):
    lo, hi = line["loss_ratio_ci"]
    seeds = [r["loss_ratio"] for r in rows if r["strategy"] == line["strategy"]]
    print(f"{line['strategy']:16s} seeds {', '.join(f'{s:.3f}' for s in seeds)}  "
          f"mean {line['loss_ratio_mean']:.3f} ± {line['loss_ratio_std']:.3f}  "
          f"95 % CI [{lo:.3f}, {hi:.3f}]  success {line['successes']}/{line['n']}  "
          f"max ‖W_hh‖₂ {line['max_w_hh']:.4f}")

values = [r["loss_ratio"] for r in rows if r["strategy"] == rows[0]["strategy"]]
print(f"\nthe same interval by hand: bootstrap_ci({[round(v, 3) for v in values]}) =",
      tuple(round(v, 3) for v in bootstrap_ci(values)))

fig = plot_curves(rows, curves, "val_loss", fig=plt.figure())  # held by pyplot, so the page shows it

# %%
# The committed run
# -----------------
#
# The book ships the results of one whole run of ``linalg-rnn showdown``
# (its profile is printed below: every strategy, three seeds, on the
# lengths a laptop CPU can afford).  Its ``results.json`` holds one row per cell; everything
# on the results page -- tables, figures, verdicts -- is computed from it.
# If this copy of the book has no committed run yet, the lesson reads the
# live slice above instead and says so.

# the book's source tree: docs/ sits next to the package (a checkout or an editable install)
committed = Path(linalg_rnn.__file__).resolve().parent.parent / "docs" / "results" / "study" / "results.json"
if committed.is_file():
    data = json.loads(committed.read_text())
    print(f"committed run: linalg-rnn showdown --profile {data['meta']['profile']['name']} "
          f"on {data['meta']['date']}, "
          f"{len(data['runs'])} rows, {len({r['seed'] for r in data['runs']})} seeds, "
          f"{len({r['strategy'] for r in data['runs']})} strategies")
    study_rows = data["runs"]
else:
    print("no committed run in this copy of the book: the figures and verdicts below read the live slice")
    study_rows = rows

fig = plot_headline(study_rows, fig=plt.figure())

# %%
# Verdicts on the source claims
# -----------------------------
#
# Each claim is checked by a rule in :mod:`linalg_rnn.rnn.showdown` (read
# ``_verdicts.py``: the thresholds are named constants).  A claim the run
# cannot reach -- missing strategies, too few seeds, lengths it did not
# train -- is *not decided by this run*, with the command that would
# decide it.

verdicts = evaluate_claims(study_rows)
for v in verdicts:
    print(f"{v.claim}. {CLAIMS[v.claim]}\n   -> {v.status.upper()}: {v.evidence}"
          + (f"\n   decide with: {v.decide}" if v.decide else ""))

fig, ax = plt.subplots(figsize=(7, 2.6), layout="constrained")
order = ["holds", "holds only when", "does not hold", "not decided by this run"]
counts = [sum(v.status == s for v in verdicts) for s in order]
ax.barh(order, counts, color=["C2", "C1", "C3", "0.6"])
ax.set(xlabel="claims", title="verdicts on the nine source claims")
ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))

# %%
# Running the study yourself
# --------------------------
#
# The whole study is one command; it prints a line per finished cell and,
# at the end, the folder with ``results.json``, ``results.csv``,
# ``summary.md`` and the figures::
#
#     linalg-rnn showdown                                  # quick profile, one worker per core
#     linalg-rnn showdown --profile standard               # every task on a CPU: the committed run
#     linalg-rnn showdown --profile full --device cuda     # literature scale, on a GPU
#     linalg-rnn showdown --out results/quick-2026-01-01 --resume   # after Ctrl-C
#     linalg-rnn showdown --profile full --executor ray --address auto   # on a Ray cluster
#
# Every cell is a trainer run in its own directory, so ``--resume`` skips
# finished cells and continues interrupted ones from their checkpoint; a
# cell that diverges or crashes is recorded and the study goes on.
#
# Summary
# -------
#
# * A study compares methods on the same data, steps and budget, over
#   several seeds, and reports spread and success rates, never one run.
# * The verdicts are code: rules with named thresholds, applied to the rows.
# * A claim a run cannot reach is left undecided, with the command to decide it.
#
# Exercises
# ---------
#
# 1. Add ``tbptt`` with ``tbptt_window = 2`` to the live profile.  Does the
#    short window stay near the baseline, as claim 7 says?
# 2. "Near the baseline" is a threshold: a loss/baseline in ``NEAR_BASELINE =
#    (0.8, 1.25)`` (``_verdicts.py``).  Recompute the verdicts of the committed run
#    with the band widened to ``(0.5, 2.0)``, as
#    ``evaluate_claims(study_rows, near_baseline=(0.5, 2.0))``.  Which claims change status?
# 3. Write a TOML profile with the brackets task at T = 100 and 200 and the
#    strategies ``vanilla`` and ``expm``, run it with
#    ``linalg-rnn showdown --profile mine.toml``, and compare the accuracies
#    with the slides' table (claim 9).
