"""
11 · Truncated BPTT: what a window of k steps can and cannot learn
==================================================================

Backpropagation through a whole sequence stores every hidden state and
multiplies Jacobians all the way back to the start.  Truncated BPTT cuts the
sum off after :math:`k` steps: cheaper per update, less memory, and -- the
catch -- no gradient at all for anything that happened more than :math:`k`
steps before the loss.  This lesson measures that catch on a task with a known
dependency length, and checks the lecture's rule of thumb for window sizes
against what actually happens on that task.

**What you will learn**

* the truncated gradient sum and how far it is from the full one, step by
  step, in terms of the Jacobian norms of lesson 09;
* that a network trained with window :math:`k` cannot learn a dependency of
  lag :math:`d \\ge k` -- measured, not assumed;
* what truncation saves (memory, time per update) and what it does not
  (total work per pass);
* how the lecture's window table (20--50 good, 100 meh, full bad) holds up on
  a delayed bit recall task.

**Prerequisites:** lesson 09 (BPTT Jacobians) and lesson 10 (clipping).
"""

# %%
# The truncated sum
# -----------------
#
# For the loss :math:`L_T` at step :math:`T`, backpropagation through time
# adds one term per earlier step:
#
# .. math::
#
#     \frac{\partial L_T}{\partial W_{hh}}
#     = \sum_{t=1}^{T} \frac{\partial L_T}{\partial h_T}
#       \frac{\partial h_T}{\partial h_t}
#       \frac{\partial^+ h_t}{\partial W_{hh}},
#
# where :math:`\partial^+` is the derivative through step :math:`t` alone.
# Truncation keeps only :math:`t > T - k`.  The terms it drops are all
# multiplied by :math:`\partial h_T/\partial h_t` with lag at least :math:`k`,
# so the truncation error is small exactly when those Jacobians have already
# vanished.
#
# In PyTorch the cut is one line: run the network window by window and carry
# the hidden state from one window to the next *detached*, so that backward
# stops at the window's first step.  ``windows`` below is that loop, written
# once; this lesson uses it twice, first to cut a single gradient :math:`k`
# steps before the end, then to train.  (The trainer's ``tbptt`` strategy,
# lesson 13, runs the same loop in
# :func:`linalg_rnn.rnn.trainer.train_step`.)  We measure the relative error
# of the truncated gradient and :math:`\|\partial h_T/\partial h_{T-k}\|_2`
# from :func:`linalg_rnn.dynamics.bptt_jacobian_norms`, for torch's default
# initialization and for an orthogonal one.

import time
from fractions import Fraction

import matplotlib.pyplot as plt
import numpy as np
import torch

from linalg_rnn.course import lesson_mode
from linalg_rnn.dynamics import bptt_jacobian_norms, init_recurrent

torch.set_num_threads(1)  # tiny matrices: threads cost more than they give
mode = lesson_mode()
hidden = 32
print(f"mode={mode}")

T_probe = {"quick": 100, "default": 200, "full": 200}[mode]
windows_probe = [k for k in (1, 2, 5, 10, 20, 50, 100, 200) if k <= T_probe]
gen = torch.Generator().manual_seed(0)
x_probe = torch.randn(1, T_probe, 2, dtype=torch.float64, generator=gen)


def windows(rnn, x, starts):
    """Truncated BPTT's loop: run ``rnn`` over ``x`` in windows beginning at ``starts``.

    Yields ``(start, output)`` of each window, the graph of that window alone
    still attached (the caller may call ``backward`` on it); the hidden state
    goes on to the next window detached -- the cut.
    """
    bounds = [*starts, x.shape[1]]
    h = None
    for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
        out, h = rnn(x[:, start:stop], h)
        yield start, out
        h = h.detach()  # carried forward, but no gradient crosses the window boundary


def truncated_gradient(rnn, head, k):
    """d L_T / d W_hh when the state is cut k steps before the end (k = T: full BPTT)."""
    rnn.zero_grad()
    *_, (_, out) = windows(rnn, x_probe, [0, T_probe - k] if k < T_probe else [0])  # the loss reads the last
    head(out[:, -1]).sum().backward()
    return rnn.weight_hh_l0.grad.clone().numpy()


fig, ax = plt.subplots(figsize=(6.5, 4.2))
for name, scheme in (("torch default (uniform)", None), ("orthogonal", "orthogonal")):
    torch.manual_seed(0)
    rnn = torch.nn.RNN(2, hidden, batch_first=True, dtype=torch.float64)
    head = torch.nn.Linear(hidden, 1, dtype=torch.float64)
    if scheme:
        with torch.no_grad():
            rnn.weight_hh_l0.copy_(torch.from_numpy(init_recurrent(hidden, scheme, seed=0)))
    full = truncated_gradient(rnn, head, T_probe)
    errors = [np.linalg.norm(truncated_gradient(rnn, head, k) - full) / np.linalg.norm(full)
              for k in windows_probe]
    jac = bptt_jacobian_norms(
        rnn.weight_hh_l0.detach().numpy(), x_probe[0].numpy(),
        W_xh=rnn.weight_ih_l0.detach().numpy(),
        b=(rnn.bias_ih_l0 + rnn.bias_hh_l0).detach().numpy(),
    )
    errors_arr = np.array(errors)
    shown = errors_arr > 0  # an error of exactly 0 (k = T, or below rounding) has no place on a log axis
    line = ax.semilogy(np.array(windows_probe)[shown], errors_arr[shown], "o-",
                       label=f"{name}: gradient error")
    ax.semilogy(jac.lags[1:], jac.norms[1:], ":", color=line[0].get_color(),
                label=f"{name}: " + r"$\|\partial h_T/\partial h_{T-k}\|$")
    for k, e in zip(windows_probe, errors, strict=True):
        print(f"{name:>24}, k = {k:3d}: relative truncation error {e:.2e}, "
              f"||dh_T/dh_(T-k)|| = {jac.norms[k]:.2e}")
ax.set_xscale("log")
ax.set_ylim(1e-18, 10)
ax.set_xlabel("window k")
ax.set_title(f"Truncated vs full gradient of the loss at T = {T_probe}")
ax.legend(fontsize=8)
fig.tight_layout()

# %%
# The error falls with :math:`k` at the same rate as the Jacobian norm: the
# terms a window drops are the ones that have already vanished.  With torch's
# default initialization a window of 20 already loses almost nothing of this
# gradient -- because there is almost nothing left to lose.  With an
# orthogonal :math:`W_{hh}` the signal survives much longer, and so does the
# error from cutting it.
#
# A task that needs a long window
# -------------------------------
#
# *Delayed bit recall*: the input is a stream of random bits :math:`x_t`; at
# every step :math:`t \ge d` the network must output :math:`x_{t-d}`, the bit
# it saw :math:`d` steps ago (the *delay*, ``--delay`` in the trainer), and is
# scored by accuracy.  Guessing scores 50%.  (The trainer's ``recall`` task of
# lesson 13, *delayed recall*, asks for the same thing with Gaussian noise and
# scores it by mean squared error; bits and accuracy make a window's success
# easier to read here.)
#
# We train a tanh RNN (``torch.nn.RNN``, hidden size 32, ``orthogonal``
# :math:`W_{hh}` so that the signal can survive :math:`d` steps at all) with
# Adam, by truncated BPTT in its textbook form: each training sequence is cut
# into consecutive windows of :math:`k` steps, the hidden state is carried
# from window to window but *detached*, so no gradient crosses a window
# boundary, and the optimizer makes **one update per window**.  The trainer's
# ``tbptt`` strategy (lesson 13) does the same.  A loss at offset :math:`j`
# inside its window reaches back :math:`j` steps; the pair
# :math:`(x_{t-d}, \text{target}_t)` is connected by a gradient only if both
# lie in the same window, which needs :math:`k > d`.
#
# Every run sees the same sequences in the same order (fixed seeds).  We report
# accuracy on 256 held-out sequences, over all positions :math:`t \ge d`,
# with the state carried through the whole sequence.

batch = 32


def recall_batch(generator, n_seq, length):
    """One-hot bit streams (n_seq, length, 2) and the bits themselves."""
    bits = torch.randint(0, 2, (n_seq, length), generator=generator)
    return torch.nn.functional.one_hot(bits, 2).float(), bits


def train_recall(d, k, length, n_batches, seed=0):
    """Truncated BPTT with windows of k steps, one update per window (k=None: the whole sequence).

    Returns the held-out accuracy, the number of updates and the training time in seconds.
    """
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    rnn = torch.nn.RNN(2, hidden, batch_first=True)
    head = torch.nn.Linear(hidden, 2)
    with torch.no_grad():
        rnn.weight_hh_l0.copy_(torch.from_numpy(init_recurrent(hidden, "orthogonal", seed=seed)).float())
    opt = torch.optim.Adam([*rnn.parameters(), *head.parameters()], lr=1e-2)
    k = length if k is None else k
    updates = 0
    start = time.perf_counter()
    for _ in range(n_batches):
        x, bits = recall_batch(generator, batch, length)
        for s, out in windows(rnn, x, range(0, length, k)):
            positions = torch.arange(s, min(s + k, length))
            scored = positions >= d  # steps that have a target
            if scored.any():
                logits = head(out[:, scored])
                targets = bits[:, positions[scored] - d]
                loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 2), targets.reshape(-1))
                opt.zero_grad()
                loss.backward()
                opt.step()
                updates += 1
    seconds = time.perf_counter() - start
    with torch.no_grad():
        x, bits = recall_batch(torch.Generator().manual_seed(10_000 + seed), 256, length)
        out, _ = rnn(x)
        predicted = head(out).argmax(-1)
        accuracy = (predicted[:, d:] == bits[:, :-d]).float().mean().item()
    return accuracy, updates, seconds


d_fixed = {"quick": 6, "default": 10, "full": 10}[mode]
length = {"quick": 36, "default": 60, "full": 60}[mode]
n_batches = {"quick": 60, "default": 120, "full": 300}[mode]
sweep = {
    "quick": [2, 4, 6, 12, 18, None],
    "default": [5, 10, 12, 15, 20, None],
    "full": [2, 5, 8, 10, 11, 12, 15, 20, 30, None],
}[mode]
seeds = {"quick": [0], "default": [0, 1], "full": [0, 1, 2]}[mode]

print(f"delayed bit recall, d = {d_fixed}, sequences of {length} steps, {n_batches} batches of {batch}, "
      f"seeds {seeds}")
sweep_acc = np.zeros((len(seeds), len(sweep)))
for j, k in enumerate(sweep):
    cells = []
    for i, seed in enumerate(seeds):
        acc, updates, seconds = train_recall(d_fixed, k, length, n_batches, seed=seed)
        sweep_acc[i, j] = acc
        cells.append(f"{100 * acc:5.1f}%")
    label = "full" if k is None else k
    print(f"  window k = {label!s:>4}: accuracy {', '.join(cells)}  ({updates} updates per run)")
for i, seed in enumerate(seeds):
    learned = [("full" if k is None else k) for k, a in zip(sweep, sweep_acc[i], strict=True) if a >= 0.9]
    print(f"seed {seed}: windows that reached 90%: {learned}")
longer = [j for j, k in enumerate(sweep) if k is None or k > d_fixed]  # columns of sweep_acc
short = [j for j, k in enumerate(sweep) if k is not None and k <= d_fixed]
label = ["full" if k is None else k for k in sweep]
always = [label[j] for j in longer if sweep_acc[:, j].min() >= 0.9]
print(f"k > d = {d_fixed}: reached 90% in every seed: {always}; "
      f"not in every seed: {[label[j] for j in longer if label[j] not in always]}")
print(f"k <= d: reached 90% in some seed: {[label[j] for j in short if sweep_acc[:, j].max() >= 0.9]}; "
      f"best accuracy {100 * sweep_acc[:, short].max():.1f}%")

ks = [length if k is None else k for k in sweep]
fig, ax = plt.subplots(figsize=(6.5, 4))
for i, seed in enumerate(seeds):
    ax.plot(ks, 100 * sweep_acc[i], "o-", label=f"seed {seed}")
ax.axvline(d_fixed, color="C3", ls="--", label=f"lag d = {d_fixed}")
ax.axhline(50, color="0.5", ls=":", label="chance")
ax.set_xscale("log")
ax.set_xticks(ks)
ax.set_xticklabels([("full" if k is None else str(k)) for k in sweep])
ax.set_xlabel("truncation window k")
ax.set_ylabel("held-out accuracy (%)")
ax.set_ylim(40, 102)
ax.set_title(f"Delayed bit recall with lag {d_fixed}: accuracy against the window")
ax.legend()
fig.tight_layout()

# %%
# The windows :math:`k \le d` stay at or near chance: no gradient ever
# connects a target to its bit.  (Some points above 50% can appear, more for
# short lags: the forward pass still carries part of the old bit -- with an
# orthogonal :math:`W_{hh}` it fades slowly -- and the read-out, trained at
# every step, can use whatever the untrained dynamics happen to keep.  The
# recurrent weights learn nothing about the lag.)  Just above :math:`d` only the last
# :math:`k - d` positions of each window carry the signal, so learning there
# depends on the data budget and the seed.  The last two printed lines sum
# the sweep up for this run: which windows longer than the lag learned in
# every seed, and how far the windows no longer than the lag got.
#
# What truncation saves
# ---------------------
#
# Processing a sequence of :math:`T` steps in windows of :math:`k` does the
# same forward and backward work as one pass over the whole sequence -- every
# step is run forward once and backward once.  What changes:
#
# * memory: the backward pass needs the hidden states of one window,
#   :math:`k` of them instead of :math:`T`; each is a batch of vectors, so
#   :math:`kNH` floats for a batch of :math:`N` sequences and hidden size
#   :math:`H` (``k * batch * hidden``, the last column of the table below);
# * update frequency: :math:`T/k` parameter updates per sequence instead of
#   one, each after :math:`O(k)` work;
# * what can be learned: nothing with lag :math:`\ge k`.
#
# (The lecture's sum, where *every* loss gets its own window of :math:`k`
# steps, costs :math:`O(Tk)` backward steps if done naively -- more than full
# BPTT's :math:`O(T)`, not less.  The savings come from the windows.)
#
# The window table, tested
# ------------------------
#
# The lecture's table says 20--50 steps is good, 100 is "meh" and the full
# sequence is bad (expensive, severe vanishing).  We test it on sequences of
# 200 steps with two lags, one inside every window (:math:`d = 10`) and one
# longer than the smallest window (:math:`d = 30`), with the same amount of
# data for every window (one seed per cell: differences of a few points
# between two cells are within what another seed could change).

table_length = {"quick": 100, "default": 200, "full": 400}[mode]
# training batches per lag: the short lag is learned with less data
table_batches = {"quick": {10: 20}, "default": {10: 60, 30: 100}, "full": {10: 200, 30: 200, 60: 200}}[mode]
table_windows = {"quick": [20, 50, None], "default": [20, 50, 100, None],
                 "full": [20, 50, 100, 200, None]}[mode]
table_lags = {"quick": [10], "default": [10, 30], "full": [10, 30, 60]}[mode]
table = {}
print(f"\nsequences of {table_length} steps; batches of {batch}, per lag: {table_batches}")
print(f"{'d':>4} {'window':>7} {'updates':>8} {'accuracy':>9} {'time (s)':>9} {'ms/update':>10} "
      f"{'floats kept':>12}")
for d in table_lags:
    for k in table_windows:
        acc, updates, seconds = train_recall(d, k, table_length, table_batches[d])
        kk = table_length if k is None else k
        table[(d, kk)] = (acc, updates, seconds)
        print(f"{d:>4} {('full' if k is None else str(k)):>7} {updates:>8} {100 * acc:>8.1f}% "
              f"{seconds:>9.2f} {1e3 * seconds / updates:>10.2f} {kk * batch * hidden:>12}")

fig, axes = plt.subplots(1, 2, figsize=(11, 4))
window_axis = [table_length if k is None else k for k in table_windows]
for d in table_lags:
    axes[0].plot(window_axis, [100 * table[(d, k)][0] for k in window_axis], "o-", label=f"d = {d}")
    axes[1].plot(window_axis, [1e3 * table[(d, k)][2] / table[(d, k)][1] for k in window_axis], "o-",
                 label=f"d = {d}")
for ax in axes:
    ax.set_xscale("log")
    ax.set_xticks(window_axis)
    ax.set_xticklabels([("full" if k is None else str(k)) for k in table_windows])
    ax.set_xlabel("window k")
    ax.legend()
axes[0].axhline(50, color="0.5", ls=":")
axes[0].set_ylabel("held-out accuracy (%)")
axes[0].set_title(f"Same data for every window, sequences of {table_length}")
axes[1].set_ylabel("wall time per update (ms)")
axes[1].set_title("cost of one update grows with k")
fig.tight_layout()

def window_name(k):
    """'full' for the whole sequence, else the window length."""
    return "full" if k == table_length else str(k)


for d in table_lags:
    learned = [window_name(k) for k in window_axis if table[(d, k)][0] >= 0.9]
    failed = [window_name(k) for k in window_axis if table[(d, k)][0] < 0.6]
    print(f"d = {d}: windows that reached 90%: {learned}; windows at or near chance (< 60%): {failed}")
    for k in window_axis:
        useful = (table_length // k) * max(k - d, 0)  # positions whose bit lies in the same window
        print(f"    window {window_name(k):>4}: {useful:3d} of {table_length - d} scored positions per "
              f"sequence have a gradient path to their bit; {table[(d, k)][1]} updates")
d = max(table_lags)
k_small, k_next = window_axis[0], window_axis[1]
ratio = Fraction(table[(d, k_next)][1], table[(d, k_small)][1])
print(f"d = {d}: window {k_next} made {table[(d, k_next)][1]} updates, window {k_small} made "
      f"{table[(d, k_small)][1]}: {ratio} as many")
k_last = window_axis[-2]  # the longest truncated window
full_acc, last_acc = table[(d, table_length)][0], table[(d, k_last)][0]
verdict = ("about equal (within 5 points)" if abs(full_acc - last_acc) < 0.05
           else "the full sequence better" if full_acc > last_acc else "the full sequence worse")
print(f"d = {d}: full sequence {100 * full_acc:.1f}% vs window {k_last} {100 * last_acc:.1f}%: "
      f"{verdict}, one seed")

# %%
# How does the table hold up?  The lines printed under it answer from this
# run's numbers.  With the lag inside every window (:math:`d = 10`), look at
# which windows learned and at the updates: the small windows make many more,
# cheaper updates from the same data.  With the longest lag, the window
# shorter than it cannot learn -- the lecture's "cannot learn beyond the
# window".  A window just above the lag has few useful positions: the printed
# count of scored positions whose bit lies in the same window, and fewer
# updates than the smallest window (the printed fraction).  The last line
# compares the full sequence with the longest truncated window.  So
# "20--50 good, full bad" is a statement about cost, and about tasks whose
# useful dependencies are short; it is not a law.  What decides is the lag
# the task needs compared with :math:`k`, and whether the Jacobians over that
# lag (lesson 09) have vanished anyway -- with the orthogonal initialization
# used here they had not (the first figure).
#
# Summary
# -------
#
# * Truncation drops the terms of the BPTT sum with lag :math:`\ge k`; the
#   gradient error is about the size of :math:`\|\partial h_T/\partial
#   h_{T-k}\|`, tiny when the Jacobians vanish anyway and large when they do
#   not.
# * A window :math:`k \le d` cannot learn a lag-:math:`d` dependency: delayed
#   bit recall stayed at or near chance for those windows (the read-out can use
#   a little of what the untrained dynamics keep);
#   windows just above :math:`d` learn slowly, since few positions per window
#   carry the signal.
# * Truncated BPTT, one update per window, saves memory and time per update
#   (both :math:`\propto k`), not total work per pass.
# * The window table is a cost heuristic; measured on delayed bit recall, what
#   a window could learn was set by the lag of the task.
#
# Exercises
# ---------
#
# 1. Train the delayed bit recall sweep with torch's default initialization
#    (remove the ``copy_`` of the orthogonal matrix).  Which windows learn
#    :math:`d = 10` now?  Relate the answer to the first figure.
# 2. Implement the sliding-window truncation of the lecture's formula (each
#    loss gets exactly :math:`k` steps) and compare its accuracy and cost with
#    the windowed version for :math:`k = 15`, :math:`d = 10`.
# 3. Double ``table_batches[30]``.  Does the window of 50 learn
#    the task now?  What fraction of the positions in each window carries a
#    gradient for it?
