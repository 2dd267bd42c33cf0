"""Trainer speed, as ratios measured side by side (no absolute targets).

1. **Trainer vs bare loop.** Steps per second of whole runs of
   :func:`linalg_rnn.rnn.train` (fused ``nn.RNN``; a metrics row every step
   with the loss and both gradient norms, the W_hh SVD/eigenvalue metrics
   every ``--spectral-every`` steps (25), validation at the last step, setup
   included) against a bare loop (``nn.RNN`` + ``nn.Linear`` + Adam, its own
   setup included) on the same task, sizes and data.  Bar: ratio >= 0.95, as
   the median of >= 7 interleaved pairs, with the spread and the ratio of
   the best times printed, and what the W_hh metrics cost against a step:
   the eigenvalues are the expensive one, so their cadence is the user's
   choice, and ``norm_every`` gives ||W_hh||_2 and the orthogonality error without them.
2. **Parametrized strategies on the fused kernel.** Time of one ``expm`` and
   one ``cayley`` step against one fused vanilla step at hidden 256 (bars
   <= 1.5 and <= 1.25), each through the trainer's own step function on a
   built run, in interleaved rounds; and the same strategies on the explicit
   loop, for the speed-up of the fused path.
3. **Fused kernel vs explicit loop**, vanilla, and the cost of one QR
   projection amortized over 5 steps.
4. **A showdown cell.** Steps per second of every strategy at the full
   profile's cell size (copy T=1000, hidden 190, batch 128) on a GPU; on the
   CPU a small cell (``--cell small``, the default there) so the mode runs
   anywhere.  With ``--cells N`` it estimates the wall time of N cells of
   4000 steps each.

Timings come from :func:`linalg_rnn.course.race` (interleaved rounds, so a
burst of load from other programs hits every contestant alike).  Each round
gives one ratio; the table shows the median over rounds and the spread
(min--max).  On the CPU each contender's process CPU time
(``time.process_time``) is recorded in the same rounds and its ratios are
printed beside the wall-clock ones: a single-threaded contender's CPU time
counts its own work only, so on a machine shared with other programs it is
the steadier of the two (on a GPU only wall time means anything).  On the
CPU the benchmark uses one thread by default: on a small shared machine two
OpenMP threads that spin-wait for each other made single steps 10--50x
slower, at random, which no ratio survives.

Run: ``python benchmarks/bench_trainer.py [--device auto|cpu|cuda] [--rounds 7] [--quick]``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch

from linalg_rnn.course import best_time, race
from linalg_rnn.rnn import TrainConfig, make_task, resolve_device, train
from linalg_rnn.rnn._environment import numerics
from linalg_rnn.rnn.metrics import recurrent_metrics
from linalg_rnn.rnn.strategies import qr_project_
from linalg_rnn.rnn.trainer import build_run, train_step  # the trainer's own step, timed without setup

STRATEGIES = ("vanilla", "clip", "tbptt", "orthogonal_init+qr_projection+clip", "expm", "cayley", "lstm")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bare_loop(task_name: str, seq_len: int, hidden: int, batch: int, steps: int, device: torch.device,
              seed: int = 0) -> None:
    """A minimal training loop: nn.RNN + Linear + Adam, no metrics, no checks."""
    task = make_task(task_name, seq_len)
    torch.manual_seed(seed)
    rnn = torch.nn.RNN(task.input_size, hidden, batch_first=True).to(device)
    readout = torch.nn.Linear(hidden, task.output_size).to(device)
    opt = torch.optim.Adam([*rnn.parameters(), *readout.parameters()], lr=1e-3)
    gen = torch.Generator().manual_seed(seed + 1)
    for _ in range(steps):
        x, y = task.sample(batch, gen)
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        opt.zero_grad(set_to_none=True)
        out, _ = rnn(x)
        task.loss(readout(out), y).backward()
        opt.step()
    _sync(device)


def trainer_run(config: TrainConfig) -> None:
    """One whole run of the trainer, in memory."""
    train(config, progress=False)
    _sync(resolve_device(config.device))


def steps_of(config: TrainConfig, n: int):
    """A function that runs ``n`` more steps of a built run through the trainer's step function."""
    run = build_run(config)
    counter = iter(range(1, 10**9))
    train_step(run, next(counter))  # first-use work (allocations, the base of a parametrization)

    def go() -> None:
        for _ in range(n):
            train_step(run, next(counter))
        _sync(run.config.torch_device)

    return go


def _cpu_timed(func: Callable[[], None], into: dict, name: str) -> Callable[[], None]:
    """``func``, recording its process CPU time under ``into[name]``."""
    def timed() -> None:
        start = time.process_time()
        func()
        into[name] = time.process_time() - start
    return timed


def rounds(funcs: dict, n_rounds: int) -> dict[str, list[dict]]:
    """``n_rounds`` interleaved rounds of :func:`race`: per round, each function's wall and CPU time."""
    wall, cpu = [], []
    for _ in range(n_rounds):
        this: dict = {}
        wall.append(race({name: _cpu_timed(f, this, name) for name, f in funcs.items()}, repeats=1))
        cpu.append(this)
    return {"wall": wall, "cpu": cpu}


def ratio_summary(times: list[dict], num: str, den: str) -> tuple[float, float, float]:
    """Median, min and max over rounds of times[num] / times[den]."""
    r = [t[num] / t[den] for t in times]
    return statistics.median(r), min(r), max(r)


def _fmt(summary: tuple[float, float, float]) -> str:
    med, lo, hi = summary
    return f"{med:6.3f} ({lo:.3f}-{hi:.3f})"


def ratio_line(label: str, times: dict, num: str, den: str, check: Callable[[float], bool] | None = None,
               bar: str = "", show_cpu: bool = True) -> None:
    """One table line: the wall-clock ratio and (on the CPU) the CPU-time ratio, each against the bar."""
    line = f"   {label:40s}"
    for clock in ("wall", "cpu") if show_cpu else ("wall",):
        s = ratio_summary(times[clock], num, den)
        verdict = f" {'met' if check(s[0]) else 'NOT met'}" if check else ""
        line += f"  {clock}: {_fmt(s)}{verdict}"
    print(line + (f"   (bar {bar})" if bar else ""))

def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds per ratio (default 7)")
    parser.add_argument("--steps", type=int, default=150, help="steps per run in section 1 (default 150)")
    parser.add_argument("--spectral-every", type=int, default=25,
                        help="section 1: the trainer's W_hh SVD/eigenvalue cadence (default 25)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (default 1; 0: torch's choice)")
    parser.add_argument("--cell", choices=("full", "small"), default=None,
                        help="section 4's cell: full (copy T=1000, H=190, B=128; the default on a GPU) "
                             "or small (copy T=100, H=64, B=32; the default on the CPU)")
    parser.add_argument("--cells", type=int, default=0, help="estimate the wall time of this many cells")
    parser.add_argument("--quick", action="store_true", help="small sizes and 2 rounds: a smoke test")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    args.sizes = (128, 256, 100, 64) if not args.quick else (32, 48, 30, 16)  # H1, H2, T, B
    if args.quick:
        args.rounds, args.steps = 2, 20
    args.cell = args.cell or ("full" if device.type == "cuda" else "small")
    n_rounds = args.rounds
    print(f"device {device} ({torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu'}), "
          f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads; {n_rounds} interleaved "
          f"rounds per ratio, median (min-max)")
    # every contender at the trainer's precision (TF32 off) and determinism, as inside train()
    with numerics(device, allow_tf32=False, deterministic=None):
        _sections(args, device)


def _sections(args: argparse.Namespace, device: torch.device) -> None:
    H1, H2, T, B = args.sizes
    n_rounds, steps, cell = args.rounds, args.steps, args.cell

    # 1. the whole trainer against a bare loop
    base = dict(task="recall", seq_len=T, batch=B, device=str(device), figures=False)
    cfg = TrainConfig(hidden=H1, steps=steps, spectral_every=args.spectral_every, eval_every=10**9, **base)
    trainer_run(TrainConfig(hidden=H1, steps=3, **base))  # first-use imports and allocations
    bare_loop("recall", T, H1, B, 3, device)
    cpu = device.type == "cpu"
    times = rounds({"bare": lambda: bare_loop("recall", T, H1, B, steps, device),
                    "trainer": lambda: trainer_run(cfg)}, n_rounds)
    best = {name: min(t[name] for t in times["wall"]) for name in ("bare", "trainer")}
    print(f"\n1. recall T={T}, B={B}, hidden {H1}, {steps} steps per run (best wall time): trainer "
          f"{steps / best['trainer']:.1f} steps/s, bare loop {steps / best['bare']:.1f} steps/s")
    ratio_line("trainer / bare steps per second", times, "bare", "trainer", lambda r: r >= 0.95,
               ">= 0.95", cpu)
    W = torch.randn(H1, H1)
    metric = race({"norms": lambda: recurrent_metrics(W, with_spectral_radius=False),
                   "norms+eig": lambda: recurrent_metrics(W)}, repeats=n_rounds)
    bare_step = best["bare"] / steps
    print(f"   W_hh metrics (float64, CPU): norm and orthogonality error "
          f"{100 * metric['norms'] / bare_step:.1f}% of a step, with the spectral radius "
          f"{100 * metric['norms+eig'] / bare_step:.1f}%")

    # 2. expm and cayley on the fused kernel against a fused vanilla step
    k = 3 if not args.quick else 2
    contenders = {name: steps_of(TrainConfig(hidden=H2, steps=10**6, strategy=s, **base), k)
                  for name, s in (("vanilla", "vanilla"), ("expm", "expm"), ("cayley", "cayley"))}
    times = rounds(contenders, n_rounds)
    step = statistics.median(t["vanilla"] for t in times["wall"]) / k
    print(f"\n2. recall T={T}, B={B}, hidden {H2}: fused vanilla step {1e3 * step:.1f} ms (median wall)")
    for name, bar in (("expm", 1.5), ("cayley", 1.25)):
        ratio_line(f"{name} step / fused vanilla step", times, name, "vanilla",
                   lambda r, bar=bar: r <= bar, f"<= {bar}", cpu)
    loops = {f"{name}{suffix}": steps_of(TrainConfig(hidden=H2, steps=10**6, strategy=name, model=kind,
                                                     **base), k)
             for name in ("expm", "cayley") for suffix, kind in (("", "fused"), (" loop", "loop"))}
    times = rounds(loops, max(3, n_rounds // 2))
    for name in ("expm", "cayley"):
        ratio_line(f"{name} on the loop / on the fused kernel", times, name + " loop", name, show_cpu=cpu)

    # 3. fused kernel vs explicit loop, and the QR projection
    pair = {"fused": steps_of(TrainConfig(hidden=H2, steps=10**6, **base), k),
            "loop": steps_of(TrainConfig(hidden=H2, steps=10**6, model="loop", **base), k)}
    times = rounds(pair, max(3, n_rounds // 2))
    print(f"\n3. hidden {H2}")
    ratio_line("explicit-loop step / fused step, vanilla", times, "loop", "fused", show_cpu=cpu)
    W = torch.nn.Parameter(torch.linalg.qr(torch.randn(H2, H2))[0].to(device))
    qr = best_time(lambda: (qr_project_(W), _sync(device)), repeats=max(5, n_rounds))
    print(f"   one QR projection (float64, on the CPU) {1e3 * qr:.2f} ms = {100 * qr / 5 / step:.2f}% of a "
          f"fused step when done every 5 steps")

    # 4. a showdown cell
    cT, cH, cB = (1000, 190, 128) if cell == "full" else (100, 64, 32)
    if args.quick:
        cT, cH, cB = 20, 16, 8
    n = 3 if not args.quick else 2
    print(f"\n4. {cell} cell: copy T={cT}, hidden {cH}, batch {cB} -- steps per second (best of "
          f"{max(2, n_rounds // 3)} rounds)")
    cell_base = dict(task="copy", seq_len=cT, hidden=cH, batch=cB, device=str(device), figures=False,
                     steps=10**6)
    funcs = {s: steps_of(TrainConfig(strategy=s, **cell_base), n) for s in STRATEGIES}
    funcs["vanilla, explicit loop"] = steps_of(TrainConfig(model="loop", **cell_base), n)
    best_times = race(funcs, repeats=max(2, n_rounds // 3))
    for name, t in best_times.items():
        line = f"   {name:36s} {n / t:8.2f} steps/s"
        if args.cells:
            line += f"   {args.cells} cells x 4000 steps: {args.cells * 4000 * t / n / 3600:.1f} h"
        print(line)


if __name__ == "__main__":
    main()
