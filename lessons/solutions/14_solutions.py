"""
Worked solutions: lesson 14, the showdown
=========================================

The solutions to the exercises at the end of lesson 14.  Every number they
quote is printed by the code; on the site each solution is folded under the
lesson's exercises, with the output of the run that built the page.
"""

# %%
# Exercise 1
# ----------
#
# The lesson's live profile, with one more strategy: ``tbptt`` with a window
# of 2 steps, labelled ``tbptt_short`` so that the package's rule for claim
# 7 recognises it.  That rule also needs ``clip`` cells, so they come too;
# the lesson's other strategies are left out: every cell is its own run with
# its own seed, so adding a strategy does not change the rows the lesson
# printed for them.  Same tasks, seeds, steps, hidden size and learning rate
# as the lesson, in every mode.
#
# For the adding problem the dependency is the distance from the first
# marker to the answer: at least :math:`T/2` steps
# (:func:`~linalg_rnn.rnn.showdown.dependency_length`).  A window of 2
# is far below it: the loss at the last step reaches back through the last
# two inputs only (lesson 11), so the first marker is out of its reach.

import json
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

import linalg_rnn
from linalg_rnn.course import lesson_mode
from linalg_rnn.rnn import TrainConfig
from linalg_rnn.rnn.showdown import (
    CLAIMS,
    NEAR_BASELINE,
    Executor,
    bootstrap_ci,
    dependency_length,
    evaluate_claims,
    parse_profile,
    run_study,
    summarize,
)

torch.set_num_threads(1)  # one thread per cell, as the study's workers use

mode = lesson_mode()
size = {"quick": dict(seq_len=8, hidden=8, steps=40),  # the lesson's live slice, mode by mode
        "default": dict(seq_len=20, hidden=32, steps=300),
        "full": dict(seq_len=30, hidden=64, steps=1500)}[mode]
profile = parse_profile({
    "name": "exercise1", "seeds": [0, 1, 2], "steps": size["steps"], "hidden": size["hidden"],
    "batch": 64, "lr": 1e-3, "device": "cpu", "eval_every": max(1, size["steps"] // 10),
    "spectral_every": 1, "tasks": [{"task": "adding", "seq_len": size["seq_len"]}],
    "strategies": ["vanilla", "clip", {"label": "tbptt_short", "strategy": "tbptt", "tbptt_window": 2}],
}, source="exercise 1")
T = size["seq_len"]
print(f"mode {mode}: adding T = {T}, {size['steps']} steps, 3 seeds; dependency "
      f"{dependency_length(TrainConfig(task='adding', seq_len=T))} steps, window 2")

with tempfile.TemporaryDirectory() as tmp:
    study = run_study(profile, Path(tmp) / "study", executor=Executor(workers=1), progress=False,
                      figures=False, echo=None)
    curves = json.loads((study.out_dir / "curves.json").read_text())
rows = study.rows
for line in summarize(rows):
    own = [r for r in rows if r["strategy"] == line["strategy"]]
    lo, hi = line["loss_ratio_ci"]
    seeds = ", ".join(f"{r['loss_ratio']:.3f}" for r in own)
    print(f"{line['strategy']:12s} seeds {seeds}  "
          f"mean {line['loss_ratio_mean']:.3f}  95 % CI [{lo:.3f}, {hi:.3f}]  "
          f"success {line['successes']}/{line['n']}  "
          f"optimizer updates per step {own[0]['optimizer_updates'] // own[0]['steps']}")


def window_only(T: int, k: int) -> float:
    """Best loss/baseline of a model that uses only the last k inputs (adding problem, k <= T/2).

    The second marker is uniform over the T - T//2 steps of the second half, so it falls in the
    window with chance p = k / (T - T//2); the first marker never does.  Each unseen value costs
    its variance 1/12; the baseline is 2/12.  So the ratio is (1/12 + (1 - p)/12) / (2/12) = 1 - p/2.
    """
    return 1 - k / (T - T // 2) / 2


print(f"a model that used only the window's 2 inputs could reach at best {window_only(T, 2):.3f}")
live7 = evaluate_claims(rows)[6]
print(f"\nclaim 7 on this run -> {live7.status.upper()}: {live7.evidence}")

fig, ax = plt.subplots(figsize=(6.5, 3.6), layout="constrained")
for strategy, color in zip(("vanilla", "clip", "tbptt_short"), ("C0", "C1", "C3"), strict=True):
    runs = [c["curves"]["val_loss"] for c in curves.values() if c["strategy"] == strategy]
    steps = [s for s, _ in runs[0]]
    ratios = np.array([[v for _, v in run] for run in runs]) / rows[0]["baseline_loss"]
    ax.plot(steps, np.median(ratios, axis=0), color=color, label=strategy)
    ax.fill_between(steps, ratios.min(axis=0), ratios.max(axis=0), color=color, alpha=0.2)
ax.axhspan(0.8, 1.25, color="0.85", zorder=0, label="'near the baseline' (0.8-1.25)")
ax.set(xlabel="step", ylabel="validation loss / baseline", ylim=(0, None),
       title=f"adding, T = {T}: median and min-max of 3 seeds")
ax.legend(fontsize=8)

# %%
# So, does the short window stay near the baseline?  In this run (the
# default mode: 300 steps at :math:`T = 20`), yes: every seed of
# ``tbptt_short`` ends inside the band, at 0.944 to 1.022.  But so do
# vanilla and clip, which backpropagate through the whole sequence, seed
# for seed within a few thousandths of the short window (the figure's
# three bands lie on top of each other).  Nothing learns the adding
# problem at this size, whatever its window -- not even the 0.900 that a
# model reading only the last two inputs could reach (printed; the formula
# is in ``window_only``).  A run cannot blame the window for a failure
# that full backpropagation shares, and the package's rule says so:
# claim 7 is *not decided by this run*.  (All three make one optimizer
# update per step, printed: the trainer updates once per window *that
# carries loss*, and the adding problem's loss sits at the last step only.
# What the window changes is how far back that one gradient reaches.)
#
# The committed study has the comparison this slice lacks, at several
# task-lengths: its ``tbptt_short`` window is half the dependency rounded
# down to a divisor of the sequence length, its ``tbptt_long`` window 1.5
# times the dependency (so at these lengths it covers the whole sequence and
# runs the same computation as vanilla), 1500 steps at hidden size 64.  The
# package's rule reads each pair: the short window is blamed only where the
# long one clearly learned, its whole 95 % interval below the band.

committed = Path(linalg_rnn.__file__).resolve().parent.parent / "docs" / "results" / "study" / "results.json"
if committed.is_file():
    study_rows = json.loads(committed.read_text())["runs"]
    lines = {(x["task"], x["seq_len"], x["strategy"]): x for x in summarize(study_rows)}
    low = NEAR_BASELINE[0]  # the band's lower edge

    def per_seed(task: str, L: int, label: str) -> tuple[int, str]:
        own = [r for r in study_rows if (r["task"], r["seq_len"], r["strategy"]) == (task, L, label)]
        return own[0]["tbptt_window"] or L, ", ".join(f"{r['loss_ratio']:.3f}" for r in own)

    print(f"committed run, {study_rows[0]['steps']} steps, hidden {study_rows[0]['hidden']}: "
          "loss/baseline per seed, short window | long window (its 95 % CI's upper end)")
    for task, L, label in lines:
        if label != "tbptt_short" or task not in ("adding", "copy", "recall"):
            continue
        (w_short, short), (w_long, long_) = per_seed(task, L, "tbptt_short"), per_seed(task, L, "tbptt_long")
        upper = lines[(task, L, "tbptt_long")]["loss_ratio_ci"][1]
        print(f"  {task:6s} T={L:3d}: window {w_short:2d}: {short} | "
              f"window {w_long:3d}: {long_} ({upper:.3f})"
              + ("   <- the long window learned: tested" if upper < low else ""))
    print(f"claim 7 on the committed run -> {evaluate_claims(study_rows)[6].status.upper()}; "
          f"at adding T = 10 a window of 2 reading only its 2 inputs could reach at best "
          f"{window_only(10, 2):.3f}")
else:
    print("no committed run in this copy of the book")

# %%
# One pair decides the claim: delayed recall at :math:`T = 20`.  There
# the window covering the dependency learned on every seed (one or two
# thousandths of the baseline) and the window of half the dependency learned
# nothing (0.985 to 1.022 of the baseline, printed): the recalled bit lies
# outside the window, and the gradient never reaches the step that stored
# it.  That is the claim exactly, and the verdict is *holds* -- on that one
# task-length.  Everywhere else the long window did not clearly learn either
# (its interval reaches the band), so the pair cannot blame the window; the
# verdict lists those as untested.
#
# Adding at :math:`T = 10`, where the window is 2 as in this exercise, is
# the instructive near miss.  Full backpropagation's seeds end at 0.506,
# 0.139 and 0.869: one learned, one half-way, one near the baseline, so its
# interval reaches 0.869 and the pair is not tested.  The window of 2 ends
# at 0.940, 0.652 and 0.876 -- and its seed at 0.652 is *below* 0.800,
# the best a model could do with the window's two inputs alone.  That is
# no contradiction: truncation cuts the gradient, not the forward pass.
# The hidden state carried into the window still holds something of the
# earlier inputs, and the gradient inside the window can teach the network
# to read what happens to be there; it cannot teach the earlier steps to
# write it.  So "cannot learn dependencies longer than its window" is too
# strong as stated for the adding problem; "learns them much worse" is what
# that cell suggests, on three seeds.  Exercise 2 shows how the verdict
# moves with the band.

# %%
# Exercise 2
# ----------
#
# :func:`~linalg_rnn.rnn.showdown.evaluate_claims` takes the band as an
# argument, ``near_baseline`` (default
# :data:`~linalg_rnn.rnn.showdown.NEAR_BASELINE`, ``(0.8, 1.25)``), so the
# committed run's verdicts can be recomputed without touching the package.
# Besides the exercise's band, a narrower one, ``(0.9, 1.1)``, shows which
# way each verdict leans.

if committed.is_file():
    bands = {"(0.9, 1.1)": (0.9, 1.1), "default (0.8, 1.25)": NEAR_BASELINE, "(0.5, 2.0)": (0.5, 2.0)}
    verdicts = {name: evaluate_claims(study_rows, near_baseline=band) for name, band in bands.items()}
    print(f"{'claim':6s}" + "".join(f"{name:>26s}" for name in bands))
    for i in range(9):
        statuses = [verdicts[name][i].status for name in bands]
        print(f"{i + 1:<6d}" + "".join(f"{s:>26s}" for s in statuses)
              + ("   <- changes" if len(set(statuses)) > 1 else ""))
    default = verdicts["default (0.8, 1.25)"]
    for name in ("(0.5, 2.0)", "(0.9, 1.1)"):
        changed = [v for d, v in zip(default, verdicts[name], strict=True) if d.status != v.status]
        print(f"\nchanged by {name}: claims {[v.claim for v in changed]}")
        for v in changed:
            print(f"claim {v.claim}. {CLAIMS[v.claim]}\n  {name}: {v.status}: {v.evidence}")

# %%
# The numbers those rules read, against the three bands.  Three rules read
# the band: claim 1 (vanilla at each task's longest length), claim 4 (the
# orthogonal init there) and claim 7 (the short window's mean, and the
# long window's interval, whose upper end must lie below the band's lower
# edge).  Claim 7's pairs are drawn where the long window's upper end is
# below 0.9, the lowest edge tried: elsewhere no band here could test them.

if committed.is_file():
    read = {}
    for n, strategy in ((1, "vanilla"), (4, "orthogonal_init")):
        for task in dict.fromkeys(k[0] for k in lines if k[2] == strategy):
            L = max(k[1] for k in lines if k[0] == task and k[2] == strategy)
            read[f"claim {n}: {strategy}, {task} T={L}"] = lines[(task, L, strategy)]["loss_ratio_mean"]
    for (task, L, label), line in lines.items():
        if (label == "tbptt_short" and task in ("adding", "copy", "recall")  # the tasks the rule reads
                and lines[(task, L, "tbptt_long")]["loss_ratio_ci"][1] < 0.9):
            read[f"claim 7: tbptt_short, {task} T={L}"] = line["loss_ratio_mean"]
            top = lines[(task, L, "tbptt_long")]["loss_ratio_ci"][1]
            read[f"claim 7: tbptt_long, {task} T={L} (CI top)"] = top
    fig, ax = plt.subplots(figsize=(8, 0.3 * len(read) + 1.2), layout="constrained")
    ax.scatter(list(read.values()), range(len(read)), color="k", zorder=3)
    for (name, band), color in zip(bands.items(), ("C2", "C0", "C1"), strict=True):
        ax.axvspan(*band, color="0.5", alpha=0.15)  # nested bands: the narrower, the darker
        for edge in band:
            ax.axvline(edge, color=color, lw=1.5, label=name if edge == band[0] else None)
    ax.set_yticks(range(len(read)), list(read), fontsize=8)
    ax.invert_yaxis()
    ax.set(xscale="log", xlabel="loss / baseline (mean over 3 seeds; the long window: its interval's top)",
           title="what claims 1, 4 and 7 read, and the three bands")
    ax.legend(fontsize=8, loc="upper left", title="band edges", title_fontsize=8)
    print("the values behind the figure:\n  " + "\n  ".join(f"{k}: {v:.3g}" for k, v in read.items()))

# %%
# The band of the exercise, ``(0.5, 2.0)``, changes no verdict; the
# narrow one, ``(0.9, 1.1)``, moves claim 7 from *holds* to *holds only
# when*.  Where the numbers sit says why:
#
# * claims 1 and 4 read numbers that are either inside every band tried
#   (vanilla at adding :math:`T = 60`, copy :math:`T = 20` and recall
#   :math:`T = 100`: 0.996, 1.05 and 0.99; the orthogonal init on adding
#   and copy: 0.998 and 1.03) or far below all of them (vanilla on digits
#   and brackets, 0.131 to 0.261; the orthogonal init on recall, 0.00829).
#   No edge between 0.5 and 0.9 falls between those two groups, so both
#   verdicts stay *holds only when* under all three bands;
# * claim 7 reads recall at :math:`T = 20` -- the short window at 0.999,
#   inside every band, and the long window's interval topping out at
#   0.00159, far below every lower edge -- so that pair says *holds* under
#   all three.  The narrow band adds a second pair: adding at :math:`T =
#   10`, where the long window's interval tops out at 0.869, now below the
#   lower edge 0.9 (so it counts as learned), and the short window's 0.823
#   is now outside the band (so it counts as having learned too).  The
#   claim fails there, and the verdict becomes *holds only when*.
#
# So a verdict is only as firm as its distance from the edges: recall at
# :math:`T = 20` decides claim 7 the same way at every band, while adding at
# :math:`T = 10` sits a few hundredths from two edges and tips as soon as
# one moves.  That is what the named thresholds, and an argument to move
# them, are for.

# %%
# Exercise 3
# ----------
#
# The profile, written to a TOML file and run by the command the exercise
# names, ``linalg-rnn showdown --profile mine.toml`` (here through
# :func:`linalg_rnn.cli.main`, the same entry point, with one worker and
# no progress bar).  The brackets task scores next-symbol prediction on the
# positions where the next symbol is determined -- a closing bracket, whose
# kind was fixed when its partner opened -- so "accuracy" is the share of
# those positions predicted right (chance: 1 in 4 kinds).
#
# The exercise does not fix a training budget, and at :math:`T = 100` and
# 200 every step runs the recurrence 100 or 200 times, one step after
# the other, on a CPU core.  So the size depends on the mode, and the
# default mode, which builds this page, is a *short* version: 3 seeds,
# hidden 32, batch 32, 100 steps (the per-cell times are printed).
# ``full`` runs 5 seeds, hidden 64, batch 64, 2000 steps, which is the
# exercise as a study would run it -- twenty times the steps, so leave it
# running, or give it a GPU (``device = "auto"`` takes one when there is
# one).  Both methods get the same learning rate, 3e-3 (``expm``'s
# skew-symmetric parameter gets a tenth of it, the ``orth_lr`` default
# taken from expRNN).

from linalg_rnn.cli import main as linalg_rnn_main  # the console script's entry point
from linalg_rnn.rnn.tasks import BracketsTask

budget = {"quick": dict(seeds=[0, 1, 2], hidden=8, batch=8, steps=10, device="cpu"),
          "default": dict(seeds=[0, 1, 2], hidden=32, batch=32, steps=100, device="cpu"),
          "full": dict(seeds=[0, 1, 2, 3, 4], hidden=64, batch=64, steps=2000, device="auto")}[mode]
toml = f"""[study]
name = "mine"
seeds = {budget['seeds']}
steps = {budget['steps']}
hidden = {budget['hidden']}
batch = {budget['batch']}
lr = 3e-3
device = "{budget['device']}"
eval_every = {max(1, budget['steps'] // 5)}
tasks = [{{ task = "brackets", seq_len = [100, 200] }}]
strategies = ["vanilla", "expm"]
"""
print(toml)
with tempfile.TemporaryDirectory() as tmp:
    (Path(tmp) / "mine.toml").write_text(toml)
    out = Path(tmp) / "study"
    status = linalg_rnn_main(["showdown", "--profile", str(Path(tmp) / "mine.toml"), "--out", str(out),
                              "--workers", "1", "--no-progress"])
    results = json.loads((out / "results.json").read_text())["runs"]
    history = {(r["seq_len"], r["strategy"], r["seed"]):
               [json.loads(line) for line in (out / r["run_dir"] / "metrics.jsonl").read_text().splitlines()]
               for r in results}
print(f"exit status {status}")

# %%
# The accuracies, mean over seeds with the bootstrap interval, beside the
# slides' table.  The package's verdict on claim 9 needs :math:`T = 400`
# too, so on these rows it can only say *not decided*; the comparison below
# applies its rule (expm "clearly less accurate" when its whole interval
# lies below vanilla's) at the two lengths run here.

claimed = {(100, "vanilla"): 0.92, (100, "expm"): 0.38, (200, "vanilla"): 0.80, (200, "expm"): 0.34}
acc = {}
for L in (100, 200):
    for strategy in ("vanilla", "expm"):
        values = [r["val_accuracy"] for r in results if (r["seq_len"], r["strategy"]) == (L, strategy)]
        acc[(L, strategy)] = (float(np.mean(values)), bootstrap_ci(values))
        lo, hi = acc[(L, strategy)][1]
        print(f"T = {L}, {strategy:7s}: accuracy per seed {', '.join(f'{v:.3f}' for v in values)}; "
              f"mean {acc[(L, strategy)][0]:.3f}, 95 % CI [{lo:.3f}, {hi:.3f}]; "
              f"slides {claimed[(L, strategy)]:.2f}")
    (mv, (vlo, vhi)), (me, (elo, ehi)) = acc[(L, "vanilla")], acc[(L, "expm")]
    by_seed = {(r["strategy"], r["seed"]): r["val_accuracy"] for r in results if r["seq_len"] == L}
    paired = ", ".join(f"{100 * (by_seed[('expm', k)] - by_seed[('vanilla', k)]):+.1f}"
                       for k in budget["seeds"])
    gap = 100 * (claimed[(L, "expm")] - claimed[(L, "vanilla")])
    print(f"  T = {L}: expm - vanilla = {100 * (me - mv):+.1f} points (seed by seed: {paired}; "
          f"slides {gap:+.0f}); "
          + ("expm clearly less accurate" if ehi < vlo else "expm clearly more accurate" if elo > vhi
             else "the intervals overlap"))
chance = BracketsTask(100)
print(f"chance (a uniform guess among {chance.n_types} kinds): {chance.baseline_accuracy}")
verdict9 = evaluate_claims(results)[8]
print(f"claim 9 on these rows -> {verdict9.status.upper()}: {verdict9.evidence}")

# %%
# How much of the task is long-range?  A closing bracket's kind was fixed
# when its partner opened, :math:`\ell` steps earlier.  A reader that
# remembers only the last :math:`m` symbols gets every close with
# :math:`\ell \le m` right and can only guess the others, so it scores
# :math:`P(\ell \le m) + P(\ell > m)/4`.  Counted on 1000 strings of the
# task's own generator:

for L in (100, 200):
    task = BracketsTask(L)
    strings = task.symbols(1000, torch.Generator().manual_seed(0)).numpy()
    lags = []
    for string in strings:
        opened = []  # the positions of the brackets still open (a stack)
        for t, symbol in enumerate(string):
            if symbol < task.n_types:
                opened.append(t)
            else:
                lags.append(t - opened.pop())
    lags = np.array(lags)
    memory = ", ".join(f"m={m}: {np.mean(lags <= m) + np.mean(lags > m) / task.n_types:.3f}"
                       for m in (1, 3, 7, 15, 31, 63))
    print(f"T = {L}: {np.mean(lags == 1):.3f} of the closes follow their partner at once; "
          f"longest lag {lags.max()}; a reader of the last m symbols scores {memory}")

fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), layout="constrained", sharey=True)
for ax, L in zip(axes, (100, 200), strict=True):
    for strategy, color in (("vanilla", "C0"), ("expm", "C2")):
        for seed in budget["seeds"]:
            points = [(row["step"], row["val_accuracy"]) for row in history[(L, strategy, seed)]
                      if "val_accuracy" in row]
            ax.plot(*zip(*points, strict=True), color=color, lw=1,
                    label=f"{strategy} (one line per seed)" if seed == 0 else None)
        ax.axhline(claimed[(L, strategy)], color=color, ls=":", lw=1.5, label=f"slides: {strategy}")
    ax.axhline(0.25, color="gray", ls="--", lw=1, label="chance, 1/4")
    ax.set(xlabel="step", title=f"brackets, T = {L}", ylim=(0, 1))
axes[0].set_ylabel("validation accuracy (predictable positions)")
axes[0].legend(fontsize=7, loc="lower right")

# %%
# What the default run measured, and what it can decide.  After 100 steps
# both methods are far above chance at both lengths: vanilla at 0.839
# (:math:`T = 100`) and 0.814 (:math:`T = 200`), ``expm`` at 0.779 and
# 0.758.  ``expm`` is behind by about 6 points, and behind on every seed
# (the seed-by-seed differences, printed, are all negative: same seed, same
# data).  The intervals over seeds barely separate at :math:`T = 100`
# (0.808 against 0.809) and overlap at :math:`T = 200`, so three seeds do
# not make a 6-point gap firm; the figure shows ``expm`` ahead early and
# vanilla overtaking it.  The direction of claim 9 shows at this budget;
# its size does not: the slides put the gap at 54 and 46 points, with the
# unitary RNN at 38 % and 34 %, and ``expm`` here is at twice that after
# 100 steps.
#
# The run cannot decide claim 9: it has no :math:`T = 400`, and 100 steps
# is the start of training while the claim is about trained models (the
# curves are still rising).  The counting above adds a caution about what
# any accuracy on this task means.  More than half of the closes follow
# their partner at once, so a reader that remembers one symbol already
# scores 0.686 at :math:`T = 100`, and one that remembers 15 scores 0.934.
# Both models after 100 steps sit between the 3- and 7-symbol readers:
# nothing in them needs long-range memory yet.  And the slides' 38 % is
# *below* the one-symbol reader: a model that closed the bracket it just
# read would have beaten it.  Either the slides' task and scoring differ
# from this one, or their unitary RNN did not learn even that -- either
# way their table cannot be compared number for number with this one.
# The full mode of this script (2000 steps, five seeds) shows where the
# two methods end at these lengths.  The package's verdict needs all three
# lengths: ``linalg-rnn showdown --profile standard`` runs brackets at
# :math:`T = 100`, 200 and 400 on a CPU (3 seeds, hidden 64, 1500 steps),
# and ``--profile full`` at literature scale (hidden 190, a learning-rate
# sweep, on a GPU).  The committed run is the standard profile, so it has
# a verdict:

if committed.is_file():
    verdict9 = evaluate_claims(study_rows)[8]
    print(f"claim 9 on the committed run -> {verdict9.status.upper()}: {verdict9.evidence}")

# %%
# Trained for 1500 steps, both methods end higher than the default run's
# 100 steps, and ``expm`` is behind at every length with the intervals
# apart: 93.3 % against 95.9 % at :math:`T = 100`, 89.5 % against 93.2 % at
# :math:`T = 400`.  So the *direction* of claim 9 holds, and the package
# says *holds*; the *size* does not: the gap is 2.6 to 3.7 points where
# the slides have 42 to 54, and neither method falls towards chance as
# the sequence grows.  The counting above puts the numbers in scale: at
# :math:`T = 100`, ``expm``'s 93.3 % is what a reader of the last 15
# symbols scores (0.934), and vanilla's 95.9 % lies between the 15- and
# the 31-symbol readers.  This book's RNN is tanh; the slides' unitary RNN
# used modReLU, and their task may differ from this one.
