"""Many runs, one model: runs of a study cell per core-hour, batched against one at a time.

1. **A standard cell, N runs.** A cell of the standard profile as the study
   trains it (by default its first: adding T=60, hidden 64, batch 64, its
   cadence -- norm of W_hh every 10 steps, eigenvalues and validation every
   100 -- and its 4096-sequence held-out evaluation at the end), N members
   (seeds 0..N-1, learning rates cycling through 1e-3, 3e-3, 1e-2): trained by
   :func:`linalg_rnn.rnn.members.train_members` in one process, against the
   same N runs trained one after the other by :func:`linalg_rnn.rnn.train`
   (the single-run trainer), whole runs in memory, side by side in
   interleaved rounds (:func:`linalg_rnn.course.race`), at hidden 64 and
   128 and N = 1, 4, 16, on runs of ``--steps`` (default 500). Each round
   gives one ratio (one-at-a-time time / batched time = the gain in runs per
   core-hour); the table shows the median over rounds and the spread, and
   each contender's time per member-step (its whole runs' time over N x
   steps: setup and the final held-out evaluation, which runs member by
   member on both paths, included). The study's runs are 2000 steps, so
   there the fixed part weighs four times less than here. (Splitting a run's time into a per-step and a fixed part
   from runs of two lengths was tried: on this shared machine the
   difference of two noisy times was too noisy to publish.) On the CPU each
   contender's process CPU time is the clock: with one torch thread it
   counts its own work only, so on a machine shared with other programs it
   is the steadier one.
2. **The tanh RNN alone**: one forward and backward pass of N = 16 members
   at the cell's size, three ways: :func:`~linalg_rnn.rnn.members.tanh_rnn`
   (one timestep at a time, backpropagation through time written out); the
   same per-timestep loop differentiated by autograd; and autograd with the
   input drive and the readout computed for all timesteps at once, as one
   batched product each, and the states stored member-major. And the two
   orientations of the input weights' gradient, :math:`G^\\top X` or
   :math:`(X^\\top G)^\\top`: summed over all timesteps at once (``member_affine``,
   the LSTM's input drive) and as one timestep's term (``tanh_rnn``); each
   path uses the faster one.
3. **``--device cuda``**: the full profile's cell (copy T=1000, hidden 190,
   batch 128), steps per second of N = 1, 4, 16 members batched and of one
   single run (a step's time: a run of 2 + k steps minus a run of 2, so
   setup and the last step's validation cancel), runs per GPU-hour, and the full profile's estimated wall time
   on one GPU: its member-steps (main grid and sweep), each costed as a step
   of the measured cell scaled by its sequence length (a GPU step at these
   sizes is latency-bound: its time grows with the number of timesteps),
   divided among batches of ``--members`` runs. ``--cell small`` runs the
   same mode at a small size (the test suite runs it on the CPU so it does
   not rot).

Run: ``python benchmarks/bench_batched.py [--rounds 3] [--steps 500] [--strategies vanilla,expm,qr_every_1]
[--device cpu|cuda] [--quick]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from collections.abc import Callable

import torch

from linalg_rnn.course import race
from linalg_rnn.rnn import TrainConfig, resolve_device, train
from linalg_rnn.rnn._environment import numerics
from linalg_rnn.rnn.members import tanh_rnn, train_members

LRS = (1e-3, 3e-3, 1e-2)  # a sweep's grid: members differ in seed and learning rate


def cell_configs(n: int, base: TrainConfig | None = None, **fields) -> list[TrainConfig]:
    """``n`` members of one cell: seeds 0..n-1, learning rates cycling through :data:`LRS`."""
    base = dataclasses.replace(base or TrainConfig(), figures=False, **fields)
    return [dataclasses.replace(base, seed=k, lr=LRS[k % len(LRS)]) for k in range(n)]


def profile_cell(profile: str, task: str, seq_len: int, label: str) -> TrainConfig:
    """A built-in profile's cell (task, length, strategy label) as the study trains it."""
    from linalg_rnn.rnn.showdown import expand_cells, load_profile

    cells = expand_cells(load_profile(profile))
    for c in cells:
        if (c.task, c.seq_len, c.strategy) == (task, seq_len, label):
            return c.config
    have = sorted({(c.task, c.seq_len) for c in cells})
    raise SystemExit(f"bench_batched.py: the {profile} profile has no cell {task} T={seq_len} {label}; "
                     f"its tasks and lengths are {have}")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _cpu_timed(func: Callable[[], None], into: dict, name: str) -> Callable[[], None]:
    def timed() -> None:
        start = time.process_time()
        func()
        into[name] = time.process_time() - start
    return timed


def rounds(funcs: dict, n_rounds: int) -> dict[str, list[dict]]:
    """``n_rounds`` interleaved rounds: per round, each function's wall and CPU time."""
    wall, cpu = [], []
    for _ in range(n_rounds):
        this: dict = {}
        wall.append(race({name: _cpu_timed(f, this, name) for name, f in funcs.items()}, repeats=1))
        cpu.append(this)
    return {"wall": wall, "cpu": cpu}


def _ratio(times: list[dict], num: str, den: str) -> str:
    """``num``'s time over ``den``'s, per round: median (min-max)."""
    r = [t[num] / t[den] for t in times]
    return f"{statistics.median(r):5.2f} ({min(r):.2f}-{max(r):.2f})"


def section_cell(args: argparse.Namespace, device: torch.device) -> None:
    """1. N runs of a standard cell: one at a time against batched."""
    clock = "cpu" if device.type == "cpu" else "wall"
    for strategy in args.strategies:
        base = profile_cell("standard", args.task, args.seq_len, strategy)
        if args.quick:
            base = dataclasses.replace(base, seq_len=8, batch=4, eval_sequences=16, val_batch=8)
        print(f"\n1. {strategy} on {base.task} T={base.seq_len}, batch {base.batch}: the standard profile's "
              f"cell, norm every {base.norm_every} steps, eigenvalues and validation every "
              f"{base.eval_every}, {base.eval_sequences} held-out sequences; runs of {args.steps} steps "
              f"(the study's: {base.steps}); gain = one-at-a-time time / batched time, median (min-max) "
              f"over {args.rounds} rounds, {clock.upper()} time")
        print(f"   {'H':>4s} {'N':>3s}   {'ms/member-step: single':>22s} {'batched':>8s}   "
              f"{'runs/core-hour: single':>22s} {'batched':>8s}   {'gain':>18s}")
        for H in args.hidden:
            for N in args.members:
                cfgs = cell_configs(N, base, hidden=H, steps=args.steps, device=str(device),
                                    checkpoint_every=10**6)
                first_use = [dataclasses.replace(c, steps=2) for c in cfgs]
                train_members(first_use, progress=False, per_run=False)  # allocations, imports
                funcs = {"single": lambda cfgs=cfgs: [(train(c, progress=False), _sync(device))
                                                      for c in cfgs],
                         "batched": lambda cfgs=cfgs: (train_members(cfgs, progress=False, per_run=False),
                                                       _sync(device))}
                times = rounds(funcs, args.rounds)[clock]
                median = {name: statistics.median(t[name] for t in times) for name in funcs}
                # both contenders train all N runs: per member-step, divide by N x steps
                print(f"   {H:4d} {N:3d}   {1e3 * median['single'] / (N * args.steps):22.2f}"
                      f" {1e3 * median['batched'] / (N * args.steps):8.2f}"
                      f"   {N * 3600 / median['single']:22.0f} {N * 3600 / median['batched']:8.0f}"
                      f"   {_ratio(times, 'single', 'batched'):>18s}", flush=True)


def _autograd_steps(x, h0, W_ih, b, W_hh, W_hy, b_y) -> torch.Tensor:
    """tanh_rnn's per-timestep loop, differentiated by autograd."""
    h, outs = h0, []
    for t in range(x.shape[2]):
        h = torch.tanh(torch.baddbmm(torch.baddbmm(b[:, None], x[:, :, t], W_ih.mT), h, W_hh.mT))
        outs.append(torch.baddbmm(b_y[:, None], h, W_hy.mT))
    return torch.stack(outs, dim=2)


def _autograd_whole(x, h0, W_ih, b, W_hh, W_hy, b_y) -> torch.Tensor:
    """Input drive and readout of all timesteps at once (states member-major), through autograd."""
    N, B, T, K = x.shape
    u = torch.baddbmm(b[:, None], x.transpose(1, 2).reshape(N, T * B, K), W_ih.mT).view(N, T, B, -1)
    h, hs = h0, []
    for t in range(T):
        h = torch.tanh(torch.baddbmm(u[:, t], h, W_hh.mT))
        hs.append(h)
    hs = torch.stack(hs, dim=1).reshape(N, T * B, -1)
    return torch.baddbmm(b_y[:, None], hs, W_hy.mT).view(N, T, B, -1).transpose(1, 2)


def section_recurrence(args: argparse.Namespace, device: torch.device) -> None:
    """2. The written-out tanh RNN against autograd's, forward and backward of the model alone."""
    N, T, B, H, K, O = (16, 60, 64, 64, 2, 1) if not args.quick else (4, 10, 8, 16, 2, 1)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(N, B, T, K, generator=g).to(device)
    weights = [(torch.randn(shape, generator=g) / H**0.5).to(device).requires_grad_()
               for shape in [(N, H, K), (N, H), (N, H, H), (N, O, H), (N, O)]]
    h0 = torch.zeros(N, B, H, device=device)
    w_out = torch.randn(N, B, T, O, generator=g).to(device)

    def through(f: Callable) -> Callable[[], None]:
        def go() -> None:
            out = f(x, h0, *weights)
            (out[0] if isinstance(out, tuple) else out).mul(w_out).sum().backward()
            _sync(device)
        return go

    funcs = {"written out": through(tanh_rnn), "autograd, per timestep": through(_autograd_steps),
             "autograd, all timesteps at once": through(_autograd_whole)}
    times = rounds(funcs, max(5, args.rounds))
    best = {name: min(t[name] for t in times["wall"]) for name in funcs}
    print(f"\n2. tanh RNN alone, N={N} members, T={T}, B={B}, H={H}, {K} inputs, {O} output, "
          "forward + backward (best wall time; ratio to written out, median (min-max) over rounds)")
    clock = "cpu" if device.type == "cpu" else "wall"
    for name in funcs:
        print(f"   {name:32s} {1e3 * best[name]:8.2f} ms   {_ratio(times[clock], name, 'written out')}")
    # the input weights' gradient in its two orientations: all timesteps at once (member_affine, the
    # LSTM's input drive), and one timestep's term (tanh_rnn accumulates x_t^T a_t)
    X = torch.rand(N, T * B, K, generator=g).to(device)
    G = torch.randn(N, T * B, H, generator=g).to(device)
    x_t, a_t = x[:, :, T // 2], torch.randn(N, B, H, generator=g).to(device)
    acc, acc_T = torch.zeros(N, H, K, device=device), torch.zeros(N, K, H, device=device)
    both = race({"G^T X": lambda: (torch.bmm(G.transpose(1, 2), X), _sync(device)),
                 "(X^T G)^T": lambda: (torch.bmm(X.transpose(1, 2), G).transpose(1, 2).contiguous(),
                                       _sync(device)),
                 "a_t^T x_t": lambda: (acc.baddbmm_(a_t.mT, x_t), _sync(device)),
                 "x_t^T a_t": lambda: (acc_T.baddbmm_(x_t.mT, a_t), _sync(device))},
                repeats=max(5, args.rounds))
    print(f"   dL/dW_ih of {N} members ({H}x{K}), best times: summed over {T * B} rows at once "
          f"(member_affine): G^T X {1e3 * both['G^T X']:.3f} ms, (X^T G)^T {1e3 * both['(X^T G)^T']:.3f} ms; "
          f"one timestep's term (tanh_rnn): a_t^T x_t {1e3 * both['a_t^T x_t']:.3f} ms, "
          f"x_t^T a_t {1e3 * both['x_t^T a_t']:.3f} ms")


def _member_steps(profile_name: str, T_cell: int, device: str) -> tuple[float, int, int] | None:
    """The full profile's work in steps of the measured cell: (cell-equivalent member-steps, runs, cells)."""
    try:
        from linalg_rnn.rnn.showdown import expand_cells, load_profile

        profile = load_profile(profile_name)
        cells = expand_cells(profile, overrides={"device": device})
        if profile.sweep is not None:
            cells += expand_cells(profile, overrides={"device": device}, phase="sweep")
    except Exception as exc:  # the profile or the grid code changed: say so, estimate nothing
        print(f"   (no estimate: reading the {profile_name} profile failed: {str(exc).splitlines()[0]})")
        return None
    work = 0.0
    for c in cells:
        work += c.config.steps * c.config.sequence_length() / T_cell
    groups = {(c.phase, c.task, c.seq_len, c.strategy) for c in cells}
    return work, len(cells), len(groups)


def section_gpu(args: argparse.Namespace, device: torch.device) -> None:
    """3. The full profile's cell on one device: batched members against one run at a time."""
    T, H, B = (1000, 190, 128) if args.cell == "full" else (20, 16, 8)
    k = 5 if args.cell == "full" else 2
    base = profile_cell("full", "copy", 1000, args.strategies[0])
    fields = dict(seq_len=T, hidden=H, batch=B, device=str(device), eval_every=10**6,
                  spectral_every=10**6, norm_every=1, checkpoint_every=10**6)
    length = dataclasses.replace(base, **fields).sequence_length()
    print(f"\n3. {args.cell} cell on {device}: copy T={T} ({length} timesteps), hidden {H}, batch {B}, "
          f"{args.strategies[0]}; a step's time from runs of 2 and {2 + k} steps "
          f"(best of {max(2, args.rounds)})")

    def run_of(n_members: int, batched: bool, steps: int) -> Callable[[], None]:
        cfgs = cell_configs(n_members, base, steps=steps, **fields)
        if batched:
            return lambda: (train_members(cfgs, progress=False, per_run=False), _sync(device))
        return lambda: (train(cfgs[0], progress=False), _sync(device))

    # a step's time is the difference of a run of 2 + k steps and one of 2: setup, the last step's
    # validation and W_hh eigenvalues cancel
    contenders = {"single run": (1, False)} | {f"batched N={n}": (n, True) for n in args.members}
    funcs = {}
    for name, (n, batched) in contenders.items():
        funcs[name + " short"] = run_of(n, batched, 2)
        funcs[name + " long"] = run_of(n, batched, 2 + k)
    for f in funcs.values():
        f()  # first use: allocations, cuDNN/cuBLAS handles
    best = race(funcs, repeats=max(2, args.rounds))
    step_time = {name: max(1e-9, (best[name + " long"] - best[name + " short"]) / k) for name in contenders}
    for name, (n, _) in contenders.items():
        runs = n * 3600 / (step_time[name] * 4000)
        print(f"   {name:14s} {1 / step_time[name]:8.2f} steps/s  "
              f"{n / step_time[name]:8.2f} member-steps/s   "
              f"{runs:8.2f} runs of 4000 steps per {device.type.upper()}-hour")
    estimate = _member_steps("full", length, str(device))
    if estimate is not None:
        work, n_runs, n_cells = estimate
        print(f"   the full profile: {n_runs} runs in {n_cells} cells (main grid and sweep), "
              f"{work:.3g} member-steps of this cell's length")
        for name, (n, _) in contenders.items():
            hours = work * step_time[name] / n / 3600
            print(f"     {name:14s} est. {hours:8.2f} h on one {device.type.upper()}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per ratio (default 3)")
    parser.add_argument("--steps", type=int, default=500, help="steps per run in section 1 (default 500)")
    parser.add_argument("--task", default="adding",
                        help="section 1's task, one of the standard profile's (default adding)")
    parser.add_argument("--seq-len", type=int, default=60, help="and its length (default 60)")
    parser.add_argument("--hidden", default="64,128", help="hidden sizes of section 1 (default 64,128)")
    parser.add_argument("--members", default="1,4,16", help="N, members per batch (default 1,4,16)")
    parser.add_argument("--strategies", default="vanilla",
                        help="comma-separated labels of the profile's methods (default vanilla)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--cell", choices=("full", "small"), default=None,
                        help="section 3's cell: full (the default on a GPU) or small")
    parser.add_argument("--sections", default=None, help="which sections to run, e.g. 1,2 (default: "
                        "1 and 2 on the CPU, 2 and 3 on a GPU)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, 1 round: a smoke test")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    args.hidden = [int(h) for h in args.hidden.split(",")]
    args.members = [int(n) for n in args.members.split(",")]
    args.strategies = args.strategies.split(",")
    args.cell = args.cell or ("full" if device.type == "cuda" else "small")
    if args.quick:
        args.rounds, args.steps, args.hidden, args.members = 1, 3, [8], [1, 2]
    sections = args.sections or ("2,3" if device.type == "cuda" else "1,2")
    print(f"device {device} ({torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu'}), "
          f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads")
    with numerics(device, allow_tf32=False, deterministic=None):
        if "1" in sections:
            section_cell(args, device)
        if "2" in sections:
            section_recurrence(args, device)
        if "3" in sections:
            section_gpu(args, device)


if __name__ == "__main__":
    main()
