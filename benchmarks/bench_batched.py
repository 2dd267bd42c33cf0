"""Many runs, one model: runs of a study cell per core-hour, batched against one at a time.

1. **A standard cell, N runs.** The N members of one cell (different seeds
   and learning rates) trained by :func:`linalg_rnn.rnn.members.train_members`
   in one process, against the same N runs trained one after the other by
   :func:`linalg_rnn.rnn.train` (the single-run trainer), whole runs in memory
   (setup, the W_hh metrics at the standard profile's cadence -- norm every
   step, eigenvalues and validation every 50 -- and the last step's
   validation included), side by side in interleaved rounds
   (:func:`linalg_rnn.course.race`), at hidden 64 and 128 and N = 1, 4, 16.
   Each round gives one ratio (one-at-a-time time / batched time = the gain
   in runs per core-hour); the table shows the median over rounds and the
   spread. On the CPU each contender's process CPU time is recorded too:
   with one torch thread it counts its own work only, so on a machine shared
   with other programs it is the steadier clock, and runs per core-hour
   are computed from it.
2. **The recurrence alone**: one forward and backward pass of the batched
   tanh recurrence with backpropagation through time written out
   (:func:`~linalg_rnn.rnn.members.tanh_recurrence`) against the same loop
   through autograd; and the two orientations of the input weights'
   gradient that ``member_affine`` chooses between.
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

Run: ``python benchmarks/bench_batched.py [--rounds 3] [--steps 100] [--strategies vanilla,expm,lstm]
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
from linalg_rnn.rnn.members import tanh_recurrence, train_members

LRS = (1e-3, 3e-3, 1e-2)  # a sweep's grid: members differ in seed and learning rate


def cell_configs(n: int, **fields) -> list[TrainConfig]:
    """``n`` members of one cell: seeds 0..n-1, learning rates cycling through :data:`LRS`."""
    base = TrainConfig(figures=False, **fields)
    return [dataclasses.replace(base, seed=k, lr=LRS[k % len(LRS)]) for k in range(n)]


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
    r = [t[num] / t[den] for t in times]
    return f"{statistics.median(r):5.2f} ({min(r):.2f}-{max(r):.2f})"


def section_cell(args: argparse.Namespace, device: torch.device) -> None:
    """1. N runs of a standard cell: one at a time against batched."""
    print(f"\n1. {args.task} T={args.seq_len}, batch {args.batch}, {args.steps} steps per run, standard "
          "cadence (norm every step, eigenvalues and validation every 50); ratio = one-at-a-time time / "
          "batched time, median (min-max) over rounds")
    print(f"   {'strategy':16s} {'H':>4s} {'N':>3s}  {'runs/core-hour: one at a time':>30s} {'batched':>9s}"
          f"   {'gain (CPU time)':>18s}   {'gain (wall)':>18s}")
    for strategy in args.strategies:
        for H in args.hidden:
            for N in args.members:
                cfgs = cell_configs(N, task=args.task, seq_len=args.seq_len, strategy=strategy, hidden=H,
                                    batch=args.batch, steps=args.steps, device=str(device), eval_every=50,
                                    spectral_every=50, norm_every=1, checkpoint_every=10**6)
                first_use = [dataclasses.replace(c, steps=2) for c in cfgs]
                train_members(first_use, progress=False, per_run=False)  # allocations, imports
                funcs = {"single": lambda cfgs=cfgs: [train(c, progress=False) for c in cfgs],
                         "batched": lambda cfgs=cfgs: train_members(cfgs, progress=False, per_run=False)}
                times = rounds(funcs, args.rounds)
                clock = "cpu" if device.type == "cpu" else "wall"
                per_hour = {k: N * 3600 / statistics.median(t[k] for t in times[clock]) for k in funcs}
                print(f"   {strategy:16s} {H:4d} {N:3d}  {per_hour['single']:30.0f}"
                      f" {per_hour['batched']:9.0f}"
                      f"   {_ratio(times['cpu'], 'single', 'batched'):>18s}"
                      f"   {_ratio(times['wall'], 'single', 'batched'):>18s}", flush=True)


class _AutogradLoop(torch.nn.Module):
    """The same batched recurrence as a Python loop differentiated by autograd (the comparison)."""

    def forward(self, u: torch.Tensor, h0: torch.Tensor, W_hh: torch.Tensor) -> torch.Tensor:
        h, hs, W_T = h0, [], W_hh.transpose(1, 2)
        for t in range(u.shape[1]):
            h = torch.tanh(torch.baddbmm(u[:, t], h, W_T))
            hs.append(h)
        return torch.stack(hs, dim=1)


def section_recurrence(args: argparse.Namespace, device: torch.device) -> None:
    """2. The hand-written BPTT against autograd's, forward and backward of the recurrence alone."""
    N, T, B, H = (16, 30, 64, 64) if not args.quick else (4, 10, 8, 16)
    g = torch.Generator().manual_seed(0)
    u = torch.randn(N, T, B, H, generator=g).to(device).requires_grad_()
    W = (torch.randn(N, H, H, generator=g) / H**0.5).to(device).requires_grad_()
    h0 = torch.zeros(N, B, H, device=device)
    loop = _AutogradLoop()

    def through(f: Callable) -> Callable[[], None]:
        def go() -> None:
            f(u, h0, W).sum().backward()
            _sync(device)
        return go

    times = rounds({"autograd": through(loop), "written out": through(tanh_recurrence)}, max(5, args.rounds))
    best = {k: min(t[k] for t in times["wall"]) for k in ("autograd", "written out")}
    print(f"\n2. tanh recurrence alone, N={N} members, T={T}, B={B}, H={H}, forward + backward: written-out "
          f"BPTT {1e3 * best['written out']:.2f} ms, autograd loop {1e3 * best['autograd']:.2f} ms (best)")
    print(f"   autograd / written out: wall {_ratio(times['wall'], 'autograd', 'written out')}"
          + (f", CPU {_ratio(times['cpu'], 'autograd', 'written out')}" if device.type == "cpu" else ""))
    # the input weights' gradient G^T X (J=H rows, K=2 columns) in its two orientations (member_affine)
    X = torch.rand(N, T * B, 2, generator=g).to(device)
    G = torch.randn(N, T * B, H, generator=g).to(device)
    both = race({"G^T X": lambda: (torch.bmm(G.transpose(1, 2), X), _sync(device)),
                 "(X^T G)^T": lambda: (torch.bmm(X.transpose(1, 2), G).transpose(1, 2).contiguous(),
                                       _sync(device))}, repeats=max(5, args.rounds))
    print(f"   dL/dW_ih of {N} members ({H}x2, summed over {T * B} rows): "
          f"G^T X {1e3 * both['G^T X']:.2f} ms, "
          f"(X^T G)^T {1e3 * both['(X^T G)^T']:.2f} ms (best)")


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
    fields = dict(task="copy", seq_len=T, hidden=H, batch=B, device=str(device), eval_every=10**6,
                  spectral_every=10**6, norm_every=1, checkpoint_every=10**6)
    length = TrainConfig(**fields).sequence_length()
    print(f"\n3. {args.cell} cell on {device}: copy T={T} ({length} timesteps), hidden {H}, batch {B}, "
          f"{args.strategies[0]}; a step's time from runs of 2 and {2 + k} steps "
          f"(best of {max(2, args.rounds)})")

    def run_of(n_members: int, batched: bool, steps: int) -> Callable[[], None]:
        cfgs = cell_configs(n_members, strategy=args.strategies[0], steps=steps, **fields)
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
    parser.add_argument("--steps", type=int, default=100, help="steps per run in section 1 (default 100)")
    parser.add_argument("--task", default="adding")
    parser.add_argument("--seq-len", type=int, default=30)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--hidden", default="64,128", help="hidden sizes of section 1 (default 64,128)")
    parser.add_argument("--members", default="1,4,16", help="N, members per batch (default 1,4,16)")
    parser.add_argument("--strategies", default="vanilla", help="comma-separated (default vanilla)")
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
        args.seq_len, args.batch = 8, 4
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
