"""
Worked solutions: lesson 11, truncated BPTT
===========================================

The solutions to the exercises at the end of lesson 11.  Every number they
quote is printed by the code; on the site each solution is folded under the
lesson's exercises, with the output of the run that built the page.
"""

# %%
# Exercise 1
# ----------
#
# The lesson's delayed bit recall sweep (:math:`d = 10`, sequences of 60
# steps, 120 batches of 32, the same windows and seeds), with the
# recurrent matrix left at torch's default initialization, uniform on
# :math:`\pm 1/\sqrt{32}`.  ``train_recall`` below is the lesson's function
# with the initialization as an argument; it also returns the trained
# network, so that we can look at its Jacobians.

import time

import matplotlib.pyplot as plt
import numpy as np
import torch

from linalg_rnn.course import lesson_mode
from linalg_rnn.dynamics import bptt_jacobian_norms, init_recurrent

torch.set_num_threads(1)
mode = lesson_mode()
hidden, batch = 32, 32


def recall_batch(generator, n_seq, length):
    """One-hot bit streams (n_seq, length, 2) and the bits themselves."""
    bits = torch.randint(0, 2, (n_seq, length), generator=generator)
    return torch.nn.functional.one_hot(bits, 2).float(), bits


def make_model(seed, init):
    """The lesson's tanh RNN and read-out; W_hh orthogonal, or torch's default for init='default'."""
    torch.manual_seed(seed)
    rnn = torch.nn.RNN(2, hidden, batch_first=True)
    head = torch.nn.Linear(hidden, 2)
    if init == "orthogonal":
        with torch.no_grad():
            rnn.weight_hh_l0.copy_(torch.from_numpy(init_recurrent(hidden, "orthogonal", seed=seed)).float())
    return rnn, head


def accuracy(rnn, head, d, length, seed):
    """Held-out accuracy over all positions t >= d, the state carried through the whole sequence."""
    with torch.no_grad():
        x, bits = recall_batch(torch.Generator().manual_seed(10_000 + seed), 256, length)
        out, _ = rnn(x)
        return (head(out).argmax(-1)[:, d:] == bits[:, :-d]).float().mean().item()


def windows(rnn, x, starts):
    """The lesson's truncated-BPTT loop: windows from ``starts``, the state carried on detached."""
    bounds = [*starts, x.shape[1]]
    h = None
    for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
        out, h = rnn(x[:, start:stop], h)
        yield start, out
        h = h.detach()  # carried forward, but no gradient crosses the window boundary


def train_recall(d, k, length, n_batches, seed=0, init="orthogonal", eval_every=None):
    """The lesson's truncated BPTT: windows of k steps (None: whole sequence), one update per window.

    Returns a dict: accuracy, updates, seconds, the model, and the accuracy curve if eval_every is set.
    """
    rnn, head = make_model(seed, init)
    generator = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam([*rnn.parameters(), *head.parameters()], lr=1e-2)
    k = length if k is None else k
    updates, seconds, curve = 0, 0.0, []
    for i in range(n_batches):
        start = time.perf_counter()
        x, bits = recall_batch(generator, batch, length)
        for s, out in windows(rnn, x, range(0, length, k)):
            positions = torch.arange(s, min(s + k, length))
            scored = positions >= d  # steps that have a target
            if scored.any():
                loss = torch.nn.functional.cross_entropy(
                    head(out[:, scored]).reshape(-1, 2), bits[:, positions[scored] - d].reshape(-1))
                opt.zero_grad()
                loss.backward()
                opt.step()
                updates += 1
        seconds += time.perf_counter() - start
        if eval_every and (i + 1) % eval_every == 0:
            curve.append(accuracy(rnn, head, d, length, seed))
    return dict(accuracy=accuracy(rnn, head, d, length, seed), updates=updates, seconds=seconds,
                model=(rnn, head), curve=curve)


d1, length1 = {"quick": (6, 36), "default": (10, 60), "full": (10, 60)}[mode]
n_batches1 = {"quick": 60, "default": 120, "full": 300}[mode]
sweep = {"quick": [4, 6, 12, None], "default": [5, 10, 12, 15, 20, None],
         "full": [2, 5, 8, 10, 11, 12, 15, 20, 30, None]}[mode]
seeds = {"quick": [0], "default": [0, 1], "full": [0, 1, 2]}[mode]
print(f"delayed bit recall, d = {d1}, {length1} steps, {n_batches1} batches; torch's default W_hh")
sweep_acc, trained = np.zeros((len(seeds), len(sweep))), {}
for j, k in enumerate(sweep):
    for i, seed in enumerate(seeds):
        run = train_recall(d1, k, length1, n_batches1, seed=seed, init="default")
        sweep_acc[i, j] = run["accuracy"]
        trained[(k, seed)] = run["model"]
    cells = ", ".join(f"{100 * a:5.1f}%" for a in sweep_acc[:, j])
    label = "full" if k is None else str(k)
    print(f"  window k = {label:>4}: accuracy {cells}  ({run['updates']} updates)")
names = ["full" if k is None else k for k in sweep]
k_above = min(k for k in sweep if k is not None and k > d1)  # the window just above the lag
k_at = max(k for k in sweep if k is not None and k <= d1)
orthogonal_above = [train_recall(d1, k_above, length1, n_batches1, seed=seed)["accuracy"] for seed in seeds]
print(f"  for comparison, window k = {k_above} from the orthogonal init of the lesson: "
      + ", ".join(f"{100 * a:5.1f}%" for a in orthogonal_above))
print(f"reached 90% in every seed: {[n for n, a in zip(names, sweep_acc.T, strict=True) if a.min() >= 0.9]}; "
      f"in no seed: {[n for n, a in zip(names, sweep_acc.T, strict=True) if a.max() < 0.9]}")

# %%
# The first figure of the lesson measured how much of the gradient a window
# of :math:`k` loses on an *untrained* network: about
# :math:`\|\partial h_T/\partial h_{T-k}\|_2`, which for torch's default
# initialization falls by orders of magnitude within ten steps, and for an
# orthogonal one hardly at all.  The same measurement on these networks,
# before and after training (the recall inputs, :math:`W_{ih}` and the
# biases of the network, through :func:`linalg_rnn.dynamics.bptt_jacobian_norms`):

x_probe, _ = recall_batch(torch.Generator().manual_seed(123), 1, length1)


def jacobian_norms(rnn):
    """||dh_T/dh_(T-lag)||_2 for every lag, for one recall sequence through this network."""
    return bptt_jacobian_norms(
        rnn.weight_hh_l0.detach().double().numpy(), x_probe[0].double().numpy(),
        W_xh=rnn.weight_ih_l0.detach().double().numpy(),
        b=(rnn.bias_ih_l0 + rnn.bias_hh_l0).detach().double().numpy()).norms


probe_lags = [lag for lag in (5, d1, 15, 20) if lag < length1]
k_learned = sweep[-2]  # the longest truncated window of the sweep
rows = {"default init, untrained": jacobian_norms(make_model(0, "default")[0]),
        "orthogonal init, untrained": jacobian_norms(make_model(0, "orthogonal")[0]),
        f"default init, trained with k = {k_learned}": jacobian_norms(trained[(k_learned, 0)][0]),
        f"default init, trained with k = {k_above}": jacobian_norms(trained[(k_above, 0)][0]),
        f"default init, trained with k = {k_at}": jacobian_norms(trained[(k_at, 0)][0])}
print(f"{'network (seed 0)':>36} " + " ".join(f"{f'lag {lag}':>10}" for lag in probe_lags))
for name, norms in rows.items():
    print(f"{name:>36} " + " ".join(f"{norms[lag]:10.2e}" for lag in probe_lags))

fig, ax = plt.subplots(figsize=(6.5, 4))
for name, norms in rows.items():
    ax.semilogy(np.arange(len(norms)), norms, label=name)
ax.axvline(d1, color="C3", ls="--", lw=0.8, label=f"lag d = {d1}")
ax.set_xlabel(r"lag $\ell$")
ax.set_ylabel(r"$\|\partial h_T / \partial h_{T-\ell}\|_2$")
ax.set_title("Delayed bit recall: Jacobians before and after training")
ax.legend(fontsize=7)
fig.tight_layout()

# %%
# Which windows learn: the printed lines above.  The windows
# :math:`k \le d` cannot (no gradient connects a target to its bit), as with
# the orthogonal initialization.  Of the longer windows, those with several
# positions per window beyond the lag learned in every seed, while the
# window just above the lag (:math:`k = 12`, two useful positions per
# window) did not -- although from the orthogonal start of the lesson the
# same window learned (the comparison line).  The Jacobians explain the
# difference.  Untrained, the default initialization carries little across
# :math:`d = 10` steps (first line of the table: about :math:`2\times10^{-2}`
# at lag 10, :math:`2\times10^{-4}` at lag 20), so the first gradients that
# connect a bit to its target are small and a window that is to learn must
# first *grow* that path.  Training does exactly that where it succeeds: the
# network trained with :math:`k = 20` has a Jacobian at lag 10 about a
# hundred times larger than at the start (third line).  The window of 12
# gets too little of the weak signal per update to start the process in
# this budget, and its trained Jacobian at lag 10 grew far less (fourth
# line).  The window of 10, with no gradient path to any bit, changed its
# Jacobian too (last line) -- the losses it cannot fit still move
# :math:`W_{hh}` -- so a larger Jacobian alone is not learning; what the
# network that learned has is a path of order 1 across the lag.  The orthogonal
# start, with :math:`\|\partial h_T/\partial h_{T-d}\|` of order 1 from
# the first update (second line), needs no such bootstrapping: this is the
# lesson's first figure seen from the learning side.

# %%
# Exercise 2
# ----------
#
# The lecture's sum gives *every* loss its own window: the loss at step
# :math:`t` is backpropagated through exactly the :math:`k` steps
# :math:`t-k+1, \dots, t`, from the state :math:`h_{t-k}` taken as a
# constant.  An implementation: a forward pass without gradient over the
# whole sequence gives every :math:`h_{t-k}`; then all windows of all
# sequences are stacked into one batch of :math:`N(T-d)` sequences of
# length :math:`k` (the few losses at :math:`t < k - 1`, whose window would
# reach before step 0, are run from the start, as full BPTT); the mean of all
# the losses is backpropagated and the optimizer makes **one update per
# batch** -- the gradient of the lecture's formula.  Against it, the
# lesson's windowed truncated BPTT (one update per window of :math:`k`), for
# :math:`k = 15`, :math:`d = 10`, same data, same initialization (orthogonal,
# as in the lesson), held-out accuracy every 20 batches.


def train_sliding(d, k, length, n_batches, seed=0, eval_every=None):
    """Sliding-window truncated BPTT: each loss backpropagated through k steps; one update per batch."""
    rnn, head = make_model(seed, "orthogonal")
    generator = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam([*rnn.parameters(), *head.parameters()], lr=1e-2)
    seconds, curve, steps_back = 0.0, [], 0
    for i in range(n_batches):
        start = time.perf_counter()
        x, bits = recall_batch(generator, batch, length)
        with torch.no_grad():
            states, _ = rnn(x)  # states[:, s]: h after step s, the start of later windows
        logits, targets = [], []
        for t in range(d, min(k - 1, length)):  # windows that would reach before step 0: from the start
            out, _ = rnn(x[:, : t + 1])
            logits.append(head(out[:, -1]))
            targets.append(bits[:, t - d])
            steps_back += t + 1
        ts = torch.arange(max(d, k - 1), length)
        window = ts[:, None] - k + 1 + torch.arange(k)[None, :]  # the k steps of each window
        h_start = torch.zeros(batch, len(ts), hidden)
        later = ts >= k  # windows that start after step 0 begin from the (detached) state h_(t-k)
        h_start[:, later] = states[:, ts[later] - k]
        out, _ = rnn(x[:, window].reshape(-1, k, 2), h_start.reshape(1, -1, hidden))
        logits.append(head(out[:, -1]))
        targets.append(bits[:, ts - d].reshape(-1))
        steps_back += len(ts) * k
        loss = torch.nn.functional.cross_entropy(torch.cat(logits), torch.cat(targets))
        opt.zero_grad()
        loss.backward()
        opt.step()
        seconds += time.perf_counter() - start
        if eval_every and (i + 1) % eval_every == 0:
            curve.append(accuracy(rnn, head, d, length, seed))
    return dict(accuracy=accuracy(rnn, head, d, length, seed), updates=n_batches, seconds=seconds,
                curve=curve, steps_back=steps_back // n_batches)


k2 = {"quick": 9, "default": 15, "full": 15}[mode]
every, n_batches2 = {"quick": (5, 30), "default": (5, 60), "full": (10, 120)}[mode]
windowed = train_recall(d1, k2, length1, n_batches2, seed=0, eval_every=every)
sliding = train_sliding(d1, k2, length1, n_batches2, seed=0, eval_every=every)
print(f"k = {k2}, d = {d1}, sequences of {length1}, {n_batches2} batches of {batch}, seed 0")
print(f"{'batches seen':>12} " + " ".join(f"{every * (i + 1):>6}" for i in range(len(windowed["curve"]))))
updates_seen = [every * (i + 1) * windowed["updates"] // n_batches2 for i in range(len(windowed["curve"]))]
print(f"{'updates':>12} " + " ".join(f"{u:>6}" for u in updates_seen) + "  (windowed; sliding: 1 per batch)")
for name, run in (("windowed", windowed), ("sliding", sliding)):
    print(f"{name:>12} " + " ".join(f"{100 * a:5.1f}%" for a in run["curve"]))
useful = (length1 // k2) * (k2 - d1)
print(f"windowed: {windowed['updates']} updates, {length1} backward steps per sequence, "
      f"{useful} of {length1 - d1} losses with a path to their bit, {windowed['seconds']:.1f} s")
print(f" sliding: {sliding['updates']} updates, {sliding['steps_back']} backward steps per sequence "
      f"(+ {length1} forward steps without gradient), all {length1 - d1} losses with a path to their bit, "
      f"{sliding['seconds']:.1f} s")
print(f"time ratio sliding / windowed: {sliding['seconds'] / windowed['seconds']:.1f}; "
      f"backward-step ratio: {sliding['steps_back'] / length1:.1f}")

fig, ax = plt.subplots(figsize=(6.5, 4))
seen = every * np.arange(1, len(windowed["curve"]) + 1)
ax.plot(seen, 100 * np.array(windowed["curve"]), "o-", label=f"windowed, one update per window of {k2}")
ax.plot(seen, 100 * np.array(sliding["curve"]), "s-", label=f"sliding, every loss gets {k2} steps")
ax.axhline(50, color="0.5", ls=":")
ax.set_xlabel("training batches seen")
ax.set_ylabel("held-out accuracy (%)")
ax.set_title(f"Delayed bit recall, d = {d1}, k = {k2}")
ax.legend(fontsize=8)
fig.tight_layout()

# %%
# Both versions learn the task (the printed curves).  The sliding version
# gives *every* loss a gradient path to its bit, the windowed one only the
# losses in the last :math:`k - d` positions of each window (printed), so
# each sliding gradient carries more of the signal -- but the windowed
# version makes four updates from the same batch, and in this run that
# mattered more: batch for batch it was ahead early on (compare the two
# rows in the first columns), and both ended above 99%.
# And the sliding version pays in work: each of the :math:`T - d` losses is
# backpropagated through its own :math:`k` steps, about :math:`k` times the
# backward steps of one pass (printed ratio).  The wall-clock ratio is
# smaller than the step ratio because the stacked windows run as one large
# batch, which the CPU handles more efficiently than the windowed version's
# many small calls; in memory, the sliding version holds the :math:`k`
# states of every window at once.  Same accuracy for more work and fewer
# updates: this is why practical truncated BPTT uses the windowed form.

# %%
# Exercise 3
# ----------
#
# The lesson's table row :math:`d = 30`, window 50, sequences of 200 steps,
# with twice the lesson's 100 batches.  A window of 50 steps that starts at
# step :math:`t_0` connects a target at step :math:`t` to its bit at
# :math:`t - 30` only if :math:`t - 30 \ge t_0`, i.e. for the last 20 of its
# 50 positions: **40%** of the positions of each window carry a gradient
# for the task.  Over a sequence that is 4 windows times 20 = 80 of the 170
# scored positions, against 2 times 70 = 140 for the window of 100.
#
# We train it, and, to look for the reason it may not learn, measure at
# initialization how the gradient on :math:`W_{hh}` splits between the
# positions with a path to their bit and those without, for windows 50,
# 100 and the full sequence.

d3, length3 = 30, {"quick": 100, "default": 200, "full": 200}[mode]
batches3 = {"quick": [40], "default": [200], "full": [200, 400]}[mode]
for k in (50, 100):
    useful3 = (length3 // k) * (k - d3)
    print(f"window {k:3d}: {k - d3} of {k} positions per window ({(k - d3) / k:.0%}) have a path to "
          f"their bit; {useful3} of {length3 - d3} scored positions per sequence")
for k, n_b in [(50, n) for n in batches3] + [(100, batches3[0])]:
    run3 = train_recall(d3, k, length3, n_b, seed=0)
    print(f"d = {d3}, window {k}, {n_b} batches: accuracy {100 * run3['accuracy']:.1f}% "
          f"({run3['updates']} updates, {run3['seconds']:.1f} s)")

rnn3, head3 = make_model(0, "orthogonal")
x3, bits3 = recall_batch(torch.Generator().manual_seed(0), batch, length3)
for k in (50, 100, length3):
    grads = {True: torch.zeros(hidden, hidden), False: torch.zeros(hidden, hidden)}
    for s, out in windows(rnn3, x3, range(0, length3, k)):
        positions = torch.arange(s, min(s + k, length3))
        for has_path in (True, False):
            chosen = (positions >= d3) & ((positions - s >= d3) == has_path)
            if chosen.any():
                loss = torch.nn.functional.cross_entropy(head3(out[:, chosen]).reshape(-1, 2),
                                                         bits3[:, positions[chosen] - d3].reshape(-1),
                                                         reduction="sum")
                grads[has_path] += torch.autograd.grad(loss, rnn3.weight_hh_l0, retain_graph=True)[0]
    label = "full" if k == length3 else str(k)
    print(f"window {label:>4}, at initialization: ||grad W_hh|| from positions with a path "
          f"{grads[True].norm():7.1f}, without {grads[False].norm():7.1f}")

# %%
# No: with twice the data the window of 50 still stays at chance in this
# run, although 40% of the positions of each window carry the gradient the
# task needs, and it makes twice as many updates as the window of 100,
# which learned from the same data (printed).  The last lines show one part of the
# reason.  The positions without a path are not neutral: their losses are
# backpropagated through the window too, asking the in-window dynamics to
# predict bits that lie before the window.  At initialization that part of
# the gradient on :math:`W_{hh}` is as large as the useful part for the
# window of 50, while for the window of 100 the useful part dominates
# (and for the full sequence there is no other part).  Each update of the
# window of 50 is therefore half signal and half noise, and the signal has
# to build a memory of 30 bits in 32 units through 30-step Jacobian
# products.  Doubling the data doubles both halves; it did not tip the
# balance here.  (``LINALG_RNN_MODE=full`` also tries four times the data.)
# So the fraction of useful positions is not the only thing that matters: a
# window must also keep the useless part of its loss from drowning the
# useful part.
