"""
A tour of the trainer: every strategy on one memory task
=========================================================

Parts I to III proved things about :math:`W_{hh}` on paper and on toy
products.  This lesson trains real recurrent networks with
:func:`linalg_rnn.rnn.train` and watches the same quantities while they
learn: the loss, the gradient norm and the spectral norm
:math:`\\|W_{hh}\\|_2`.  Each strategy of the trainer gets one short run on the
delayed-recall task, and at the end we look at where training moved the
eigenvalues of :math:`W_{hh}`.

**What you will learn**

* how to run the trainer from Python (and the same run from the command line);
* the delayed-recall task and why predicting 0 scores exactly 1;
* what each strategy does to :math:`\\|W_{hh}\\|_2` and the gradient norm
  during training -- the projections and parametrizations pin
  :math:`\\|W_{hh}\\|_2` at 1, the others let it drift;
* why truncated BPTT with a window shorter than the delay cannot learn the task;
* how to read the eigenvalues of :math:`W_{hh}` on the unit circle before and after.

**Prerequisites:** lesson 04 (orthogonal matrices), lessons 08 and 09
(repeated products and BPTT Jacobians), lesson 10 (clipping), lesson 12
(the exponential of a skew-symmetric matrix).
"""

# %%
# The task and the settings
# -------------------------
#
# In delayed recall the input is Gaussian noise :math:`x_t \sim N(0, 1)` and
# the target at step :math:`t` is the input :math:`d` steps earlier,
# :math:`x_{t-d}`.  A network that remembers nothing can do no better than
# predicting 0, whose mean squared error is :math:`E[x^2] = 1`: that is the
# *baseline* every run is measured against.  To do better, the hidden state
# must carry each :math:`x_t` through :math:`d` multiplications by
# :math:`W_{hh}`, and the gradient must come back through the same :math:`d`
# Jacobians -- the product studied in lesson 09.
#
# How much work the lesson does depends on ``$LINALG_RNN_MODE``
# (:func:`linalg_rnn.course.lesson_mode`): ``quick`` for the test suite,
# ``default`` for reading, ``full`` for a longer look.

import time

import matplotlib.pyplot as plt
import numpy as np
import torch

from linalg_rnn.course import lesson_mode
from linalg_rnn.rnn import TrainConfig, make_task, train
from linalg_rnn.rnn.strategies import STRATEGY_NAMES

# These networks are tiny: one CPU thread beats two, which would mostly wait
# for each other (and for anything else running on the machine).
torch.set_num_threads(1)

mode = lesson_mode()
settings = {
    "quick": dict(seq_len=20, delay=5, hidden=16, steps=60),
    "default": dict(seq_len=40, delay=15, hidden=32, steps=400),
    "full": dict(seq_len=60, delay=20, hidden=64, steps=1000),
}[mode]
common = dict(task="recall", batch=32, lr=3e-3, seed=0, device="cpu",
              eval_every=max(1, settings["steps"] // 10), spectral_every=5, **settings)
task = make_task("recall", settings["seq_len"], delay=settings["delay"])
print(f"mode {mode}: {task}")
print(f"the baseline (predict 0) scores {task.baseline_loss}")

# %%
# One run from Python
# -------------------
#
# A run is described by a :class:`~linalg_rnn.rnn.TrainConfig` and executed
# by :func:`~linalg_rnn.rnn.train`.  Without a run directory everything stays
# in memory: ``result.history`` holds one row per step, the same rows the
# command line writes to ``metrics.jsonl``.  The same run from a shell is::
#
#     linalg-rnn train --task recall --seq-len 40 --delay 15 --hidden 32 \
#         --steps 400 --strategy vanilla --lr 3e-3 --device cpu --out runs/recall-vanilla
#
# which also writes ``config.json``, ``result.json``, a checkpoint (so
# ``--resume`` can continue an interrupted run) and ``curves.png``.

result = train(TrainConfig(strategy="vanilla", **common))
print(f"{result.steps_done} steps, final validation loss {result.final['val_loss']:.4f}")
print("the first row:", {k: round(v, 4) for k, v in result.history[0].items()
                         if isinstance(v, float)})

# %%
# Every strategy, one short run each
# ----------------------------------
#
# The strategies (:mod:`linalg_rnn.rnn.strategies`) are: ``clip`` (gradient
# norm at most 1), ``tbptt`` (backpropagate through windows of half the
# delay), ``orthogonal_init`` (start from a Haar-random orthogonal
# :math:`W_{hh}`), ``qr_projection`` and ``polar_projection`` (every 5 steps,
# replace :math:`W_{hh}` by an orthogonal matrix), ``expm`` and ``cayley``
# (parametrize :math:`W_{hh}` so it is orthogonal by construction), and
# ``lstm`` (a gated network instead of the tanh RNN).  Same seed, same data,
# same learning rate for all.

results = {"vanilla": result}
seconds = {}
for name in STRATEGY_NAMES[1:]:
    extra = {"tbptt_window": max(1, settings["delay"] // 2)} if name == "tbptt" else {}
    start = time.perf_counter()
    results[name] = train(TrainConfig(strategy=name, **common, **extra))
    seconds[name] = time.perf_counter() - start

print(f"{'strategy':18s} {'val loss':>9s} {'max |grad|':>10s} {'||W_hh||_2':>10s} "
      f"{'orth. err':>9s} {'window':>6s}")
for name, r in results.items():
    f = r.final
    max_grad = max(row["grad_norm"] for row in r.history)
    window = r.config.tbptt_window or r.config.sequence_length()
    print(f"{name:18s} {f['val_loss']:9.4f} {max_grad:10.3g} {f['w_hh_spectral_norm']:10.4f} "
          f"{f['orthogonality_error']:9.2e} {window:6d}")

# %%
# The curves side by side
# -----------------------
#
# Left: the training loss (the dashed line is the baseline 1).  Middle: the
# gradient norm before clipping, on a log scale.  Right:
# :math:`\|W_{hh}\|_2`, computed every 5 steps.  The orthogonal strategies sit
# on the line :math:`\|W_{hh}\|_2 = 1`; the others are free to move off it.
# (For the LSTM the right panel shows the cell-candidate block of its
# recurrent weight, which is not asked to be orthogonal.)

fig, (ax_loss, ax_grad, ax_norm) = plt.subplots(1, 3, figsize=(15, 4.2), layout="constrained")
colors = plt.cm.tab10(np.linspace(0, 1, 10))
for color, (name, r) in zip(colors, results.items(), strict=False):
    steps = [row["step"] for row in r.history]
    ax_loss.plot(steps, [row["train_loss"] for row in r.history], color=color, lw=1, label=name)
    ax_grad.semilogy(steps, [row["grad_norm"] for row in r.history], color=color, lw=1)
    spectral = [row for row in r.history if row["w_hh_spectral_norm"] is not None]
    ax_norm.plot([row["step"] for row in spectral], [row["w_hh_spectral_norm"] for row in spectral],
                 color=color, lw=1.5)
ax_loss.axhline(task.baseline_loss, color="gray", ls="--")
ax_loss.set(xlabel="step", ylabel="training loss (MSE)", title="loss")
ax_grad.set(xlabel="step", ylabel="L2 norm", title="gradient norm (before clipping)")
ax_norm.set(xlabel="step", ylabel=r"$\|W_{hh}\|_2$", title="spectral norm of $W_{hh}$")
ax_loss.legend(fontsize=8, ncol=2)

# %%
# What the short runs show
# ------------------------
#
# Read the table above with these questions (the printed lines below answer
# them from the numbers of this run, so they stay true in every mode):
#
# * Who beat the baseline, and by how much?
# * Did truncated BPTT learn?  Its window is shorter than the delay, so no
#   gradient ever connects the target :math:`x_{t-d}` with the input it came
#   from: it can at best learn the part of the task that fits in a window.
# * Is the orthogonality error of the projected and parametrized runs at
#   rounding level, and did :math:`\|W_{hh}\|_2` of the others drift above 1?
#
# For the record, one run of the ``default`` mode (delay 15, 400 steps) on a
# laptop-class CPU gave validation losses of about 0.008 for
# ``orthogonal_init``, 0.04 for ``expm`` and ``cayley``, 0.08 for
# ``polar_projection``, 0.11--0.13 for ``vanilla``, ``qr_projection`` and
# ``clip``, 0.70 for the LSTM (slow to start at this learning rate) and 0.99
# for ``tbptt`` with its window of 7 < 15: everyone except the truncated run
# beat the baseline, and the vanilla :math:`\|W_{hh}\|_2` drifted to about 1.7.
#
# These are *short* runs on a *short* delay.  They say what each strategy
# does to :math:`W_{hh}`, not which strategy wins in general: a plain tanh RNN
# can learn a delay of a few steps, and the source claim that QR projection
# turns a stuck loss of 0.9 into 0.01 is a claim about long sequences.  The
# comparison across tasks and lengths is the subject of part V.

ranked = sorted(results, key=lambda n: results[n].final["val_loss"])
beat = [n for n in ranked if results[n].final["val_loss"] < 0.5 * task.baseline_loss]
print("ranked by validation loss:", ", ".join(ranked))
print(f"runs below half the baseline: {', '.join(beat) if beat else 'none'}")
tb = results["tbptt"]
print(f"tbptt window {tb.config.tbptt_window} vs delay {settings['delay']}: "
      f"validation loss {tb.final['val_loss']:.3f} (vanilla {results['vanilla'].final['val_loss']:.3f})")
orth = [n for n in results if results[n].final["orthogonality_error"] < 1e-4]
print(f"orthogonal to rounding at the end: {', '.join(orth)}")
drift = [n for n in results if n not in orth and results[n].final["w_hh_spectral_norm"] > 1.0]
print(f"||W_hh||_2 above 1 at the end: {', '.join(drift) if drift else 'none'}")
print("seconds per run:", {n: round(s, 2) for n, s in seconds.items()})

# %%
# Eigenvalues before and after training
# -------------------------------------
#
# ``result.initial_w_hh`` is :math:`W_{hh}` before the first step and
# ``result.model.recurrent_matrix()`` after the last.  PyTorch's default
# init (uniform on :math:`\pm 1/\sqrt{H}`) puts the eigenvalues in a disc of
# radius about :math:`1/\sqrt{3}` (the circular law); an orthogonal init puts
# them on the unit circle.  Training moves them: the question of lessons
# 08--09 is whether they leave the circle.

shown = ["vanilla", "orthogonal_init", "qr_projection", "expm"]
fig, axes = plt.subplots(1, len(shown), figsize=(15, 4), layout="constrained")
circle = np.exp(1j * np.linspace(0, 2 * np.pi, 400))
for ax, name in zip(axes, shown, strict=True):
    r = results[name]
    before = torch.linalg.eigvals(r.initial_w_hh.double()).numpy()
    after = torch.linalg.eigvals(r.model.recurrent_matrix().cpu().double()).numpy()
    ax.plot(circle.real, circle.imag, color="gray", lw=0.8)
    ax.scatter(before.real, before.imag, s=14, marker="o", facecolors="none", edgecolors="C0",
               label="before")
    ax.scatter(after.real, after.imag, s=10, color="C3", label="after")
    ax.set(aspect="equal", title=f"{name}\nmax |lambda| {np.abs(before).max():.2f} -> "
                                 f"{np.abs(after).max():.2f}")
axes[0].legend(loc="lower left", fontsize=8)

# %%
# Summary
# -------
#
# * :func:`linalg_rnn.rnn.train` runs one strategy on one task and records,
#   per step, the loss, the gradient norm before clipping and (every few
#   steps) :math:`\|W_{hh}\|_2`, its largest eigenvalue modulus and its
#   orthogonality error; ``linalg-rnn train`` does the same from a shell and
#   writes a resumable run directory.
# * Projections (QR, polar) and parametrizations (exp, Cayley) keep
#   :math:`W_{hh}` orthogonal to rounding through training; an orthogonal
#   *init* alone does not stay orthogonal.
# * Truncated BPTT with a window shorter than the delay cuts exactly the
#   gradient the task needs.
# * On this short delay the runs say how each strategy shapes :math:`W_{hh}`,
#   not which one wins; part V compares them where the sequences are long.
#
# Exercises
# ---------
#
# 1. Rerun with ``LINALG_RNN_MODE=full`` (delay 20, 1000 steps).  Which
#    strategies still beat half the baseline?  Does :math:`\|W_{hh}\|_2` of
#    the vanilla run keep growing?
# 2. Give ``tbptt`` a window longer than the delay
#    (``TrainConfig(..., tbptt_window=2 * delay)``).  Does it learn now?
# 3. Start the vanilla run from ``init_gain=3`` and compare the gradient
#    norm curve with and without ``clip``.  When does clipping matter?
