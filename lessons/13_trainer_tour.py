"""
13 · A tour of the trainer: every strategy on one memory task
=============================================================

Parts I to III proved things about :math:`W_{hh}` on paper and on toy
products.  This lesson trains real recurrent networks with
:func:`linalg_rnn.rnn.train` and watches the same quantities while they
learn: the loss, the gradient norm and the spectral norm
:math:`\\|W_{hh}\\|_2`.  Each strategy of the trainer gets one short run on the
delayed-recall task, and at the end we look at where training moved the
eigenvalues of :math:`W_{hh}`.

**What you will learn**

* how to run the trainer from Python (and the same run from the command line);
* what one training step does, block by block, from the batch to
  ``optimizer.step()``;
* the delayed-recall task and why predicting 0 scores exactly 1;
* what each strategy does to :math:`\\|W_{hh}\\|_2` and the gradient norm
  during training -- the parametrizations hold :math:`\\|W_{hh}\\|_2` at 1,
  the projections pull it back to 1 every few steps (a sawtooth), the others
  let it drift;
* why truncated BPTT with a window shorter than the delay cannot learn the task;
* how fast each strategy runs, measured here, and what running the
  parametrized ones on the fused kernel changes;
* how to read the eigenvalues of :math:`W_{hh}` on the unit circle before and after.

**Prerequisites:** lesson 04 (orthogonal matrices), lessons 08 and 09
(repeated products and BPTT Jacobians), lesson 10 (clipping), lesson 12
(the exponential of a skew-symmetric matrix).
"""

# %%
# The task and the settings
# -------------------------
#
# In delayed recall the input is Gaussian noise :math:`x_t \sim \mathcal{N}(0, 1)` and
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

import matplotlib.pyplot as plt
import numpy as np
import torch

from linalg_rnn.course import lesson_mode, race
from linalg_rnn.rnn import TrainConfig, make_task, train
from linalg_rnn.rnn.metrics import plot_runs
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
# norm_every=1: ||W_hh||_2 (one small SVD) after every step; the eigenvalues every 5 steps
common = dict(task="recall", batch=32, lr=3e-3, seed=0, device="cpu",
              eval_every=max(1, settings["steps"] // 10), spectral_every=5, norm_every=1, **settings)
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
# One step, block by block
# ------------------------
#
# Before any work, :meth:`TrainConfig.resolved <linalg_rnn.rnn.TrainConfig.resolved>`
# checks the config once -- every field's type, the task's own rules, which
# options belong to which strategy, the device and whether the run fits in its
# memory -- and returns a frozen config that carries what it found: the parsed
# strategy and the device.  Nothing after it checks again.
#
# Then :func:`~linalg_rnn.rnn.train` repeats one step, all of it in
# ``linalg_rnn/rnn/trainer.py``: :func:`~linalg_rnn.rnn.trainer.train_step`
# (the batch, its gradient, the update) and then the rest of the loop (what is
# measured, logged and saved).  Like nanoGPT's ``train.py``, each is a run of
# short blocks, each opened by a comment; here they are, read from the
# trainer's own source:

import inspect

from linalg_rnn.rnn import trainer


def block_comments(function):
    """The comments that open a block (a comment line after a blank line) in ``function``'s body."""
    lines = inspect.getsource(function).splitlines()
    pairs = zip(lines, lines[1:], strict=False)
    return [b.strip() for a, b in pairs if not a.strip() and b.strip().startswith("# ")]


for function in (trainer.train_step, trainer.train):
    print(f"{function.__name__}:")
    for comment in block_comments(function):
        print(f"    {comment}")

# %%
# A step can be run by hand on a run that
# :func:`~linalg_rnn.rnn.trainer.build_run` made (the task, the model, the
# optimizer and the seeded data generator).  Its row holds the loss and the
# gradient norms -- measured *before* clipping -- and the number of optimizer
# updates it made: one, or one per window with ``tbptt``.

config = TrainConfig(strategy="orthogonal_init+qr_projection+clip", proj_every=5, **common).resolved()
print(f"strategy {config.parsed_strategy} on {config.torch_device}: clip_norm {config.clip_norm}, "
      f"proj_every {config.proj_every}, init_scheme {config.init_scheme!r}")
run = trainer.build_run(config)
row = trainer.train_step(run, 1)
print({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()})

# %%
# Every strategy, one short run each
# ----------------------------------
#
# The strategies (:mod:`linalg_rnn.rnn.strategies`) are: ``clip`` (gradient
# norm at most 1), ``tbptt`` (truncated BPTT with windows of half the delay),
# ``orthogonal_init`` (start from a Haar-random orthogonal :math:`W_{hh}`,
# the ``orthogonal`` init scheme), ``qr_projection`` and ``polar_projection``
# (every 5 steps, replace :math:`W_{hh}` by an orthogonal matrix), ``expm``
# and ``cayley`` (parametrize :math:`W_{hh}` so it is orthogonal by
# construction; their unconstrained matrix learns at ``orth_lr``, a tenth of
# the learning rate, as in expRNN), and ``lstm`` (a gated network instead of
# the tanh RNN).  Same seed, same data, same learning rate for all.
#
# ``tbptt`` is the algorithm of lesson 11: each batch is cut into windows,
# the weights are updated after every window that carries loss, and the
# hidden state is carried into the next window *detached*.  A step is still
# one batch (so every strategy sees the same data); the metrics row records
# how many updates it made.

results = {"vanilla": result}
for name in STRATEGY_NAMES[1:]:
    extra = {"tbptt_window": max(1, settings["delay"] // 2)} if name == "tbptt" else {}
    results[name] = train(TrainConfig(strategy=name, **common, **extra))
tb = results["tbptt"]
print(f"tbptt: window {tb.config.tbptt_window} of a {tb.config.sequence_length()}-step sequence, "
      f"tbptt_update={tb.config.tbptt_update!r}: {tb.history[0]['updates']} updates per step; "
      f"every other strategy: {results['clip'].history[0]['updates']}")

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
# :func:`~linalg_rnn.rnn.metrics.plot_runs` draws the runs side by side.
# Left: the training loss (the dashed line is the baseline 1).  Middle: the
# gradient norm before clipping, on a log scale.  Right:
# :math:`\|W_{hh}\|_2` after every step.  The parametrized runs sit on the
# line :math:`\|W_{hh}\|_2 = 1`; the projected ones leave it between two
# projections and are pulled back every fifth step; the others are free to
# move off it.  (For the LSTM the right panel shows the cell-candidate block
# of its recurrent weight, which is not asked to be orthogonal.)

fig = plot_runs({name: r.history for name, r in results.items()}, baseline_loss=task.baseline_loss,
                title=f"delayed recall, delay {settings['delay']}: every strategy",
                fig=plt.figure(figsize=(15, 4.2), layout="constrained"))

# %%
# Between two projections
# -----------------------
#
# A projection makes :math:`W_{hh}` orthogonal *at the step it runs*; the
# optimizer's next updates move it off again.  Sampled only at the projection
# steps (``spectral_every`` equal to ``proj_every``), :math:`\|W_{hh}\|_2`
# would look pinned at 1; sampled after every step (``norm_every=1``) it shows
# the drift and the reset, a sawtooth.  The first fifteen steps of the
# QR-projected run:

qr = results["qr_projection"]
print("step   ||W_hh||_2 - 1   orthogonality error")
for row in qr.history[:15]:
    mark = "  <- projected" if row["step"] % qr.config.proj_every == 0 else ""
    drift, error = row["w_hh_spectral_norm"] - 1, row["orthogonality_error"]
    print(f"{row['step']:4d}   {drift:13.2e}   {error:12.2e}{mark}")

fig, ax = plt.subplots(figsize=(8, 3.2), layout="constrained")
for name in ("qr_projection", "polar_projection", "expm"):
    rows = results[name].history
    ax.plot([r["step"] for r in rows], [r["w_hh_spectral_norm"] for r in rows], lw=1, label=name)
ax.axhline(1.0, color="gray", ls=":")
ax.set(xlabel="step", ylabel=r"$\|W_{hh}\|_2$", title="sampled after every step",
       xlim=(0, min(60, settings["steps"])))
ax.legend()

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
#   from: nothing teaches :math:`W_{hh}` to keep it.  Whatever it reaches
#   comes from the readout decoding what the recurrence happens to carry
#   over :math:`d` steps.
# * Is the orthogonality error of the projected and parametrized runs at
#   rounding level, and did :math:`\|W_{hh}\|_2` of the others drift above 1?
#
# The last line prints, for the record, every run's validation loss and the
# vanilla run's final :math:`\|W_{hh}\|_2` in the mode you ran.
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
print(f"tbptt window {tb.config.tbptt_window} vs delay {settings['delay']}: "
      f"validation loss {tb.final['val_loss']:.3f} (vanilla {results['vanilla'].final['val_loss']:.3f})")
orth = [n for n in results if results[n].final["orthogonality_error"] < 1e-4]
print(f"orthogonal to rounding at the end: {', '.join(orth)}")
drift = [n for n in results if n not in orth and results[n].final["w_hh_spectral_norm"] > 1.0]
print(f"||W_hh||_2 above 1 at the end: {', '.join(drift) if drift else 'none'}")
print(f"for the record ({mode} mode, delay {settings['delay']}, {settings['steps']} steps): "
      + ", ".join(f"{n} {results[n].final['val_loss']:.3g}" for n in ranked)
      + f"; vanilla ||W_hh||_2 ended at {results['vanilla'].final['w_hh_spectral_norm']:.3f}")

# %%
# How fast each strategy runs
# ---------------------------
#
# Every row carries ``elapsed_s``, the training time so far, so the runs
# above already say what a step of each strategy cost.  These are tiny
# networks, where Python's own overhead is a good part of every step, and
# window-wise ``tbptt`` pays it once per update.
#
# The parametrized strategies used to run on the explicit Python loop over
# time, because parametrizing ``nn.RNN``'s own weight can silently stop it
# training (PyTorch issue 65688).  Now :math:`W_{hh} = Q_0\,e^{B}` (or a Cayley
# map of :math:`B` in place of the exponential), with :math:`B` skew-symmetric
# and :math:`Q_0` the initial :math:`W_{hh}`, is computed once per step and
# *fed* to the same fused kernel that runs the plain RNN
# (:class:`~linalg_rnn.rnn.models.FunctionalRNN`), and the matrix exponential
# is a Taylor polynomial whose gradient costs about two evaluations, where
# ``torch.matrix_exp``'s costs about eight.  What is left is the map itself:
# about :math:`7 + s` products of :math:`H \times H` matrices, :math:`s` the
# number of squarings (a handful), and twice that for its gradient, against the
# recurrence's :math:`T` products of an :math:`N \times H` batch (:math:`N`
# sequences) by :math:`W_{hh}` (and twice that for BPTT), an extra share of
# about :math:`(7 + s) H / (T N)` -- plus, in networks as small as these, the
# fixed cost of a dozen more operations per step.  The race below runs the
# ``expm`` strategy both ways, interleaved (:func:`linalg_rnn.course.race`);
# ``benchmarks/bench_trainer.py`` measures the ratios at hidden size 256.

per_step = {n: r.history[-1]["elapsed_s"] / r.steps_done for n, r in results.items()}
print("milliseconds per step: " + ", ".join(f"{n} {1e3 * t:.2f}" for n, t in per_step.items()))
print(f"per step, against vanilla: expm {per_step['expm'] / per_step['vanilla']:.2f}x, "
      f"cayley {per_step['cayley'] / per_step['vanilla']:.2f}x")
short = {**common, "steps": min(40, settings["steps"]), "eval_every": 10**6, "figures": False}
times = race({"fused kernel": lambda: train(TrainConfig(strategy="expm", **short)),
              "explicit loop": lambda: train(TrainConfig(strategy="expm", model="loop", **short))},
             repeats=3)
print(f"expm, {short['steps']} steps: explicit loop {times['explicit loop']:.2f} s, fused kernel "
      f"{times['fused kernel']:.2f} s: the loop takes {times['explicit loop'] / times['fused kernel']:.2f}x "
      "as long")

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
# * One training step reads top to bottom in ``linalg_rnn/rnn/trainer.py``:
#   draw a batch, forward and backward window by window, the gradient norm
#   then clipping, no update on a NaN/inf, the update then the projection, and
#   after it the :math:`W_{hh}` metrics, validation, the log and the
#   checkpoint; the config was checked once before the first step.
# * :func:`linalg_rnn.rnn.train` runs one strategy on one task and records,
#   per step, the loss, the gradient norm before clipping and (every few
#   steps) :math:`\|W_{hh}\|_2`, its largest eigenvalue modulus and its
#   orthogonality error; ``linalg-rnn train`` does the same from a shell and
#   writes a resumable run directory.
# * Parametrizations (exp, Cayley) keep :math:`W_{hh}` orthogonal to
#   rounding at every step; projections (QR, polar) make it orthogonal at
#   every projection and let it drift in between; an orthogonal *init* alone
#   does not stay orthogonal.
# * Truncated BPTT (an update per window, the state carried detached) with a
#   window shorter than the delay cuts exactly the gradient the task needs.
# * The parametrized strategies run on the same fused kernel as the plain
#   RNN: only the matrix function is extra.
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
#    (``TrainConfig(..., tbptt_window=2 * delay)``).  Does it learn now?  And
#    with ``tbptt_update="batch"`` (one update per batch from the summed
#    window gradients), how does it compare?
# 3. Start the vanilla run from ``init_gain=3`` and compare the gradient
#    norm curve with and without ``clip``.  When does clipping matter?
