"""Trainer overhead ratios, measured in one run (no absolute targets; ratios only).

1. **Trainer vs bare loop.** Steps per second of :func:`linalg_rnn.rnn.train`
   on its fused path (``nn.RNN``) with its per-step metrics, against a bare
   PyTorch loop (``nn.RNN`` + ``nn.Linear`` + Adam) on the same task, sizes
   and data generator.  Bar: ratio >= 0.9.  Per step the trainer reads the
   loss and two gradient norms (three ``.item()`` syncs on a GPU) and checks
   them for NaN/inf; the SVD/eigenvalue metrics of W_hh run every
   ``--spectral-every`` steps and validation every ``--eval-every`` steps.
2. **QR projection.** Cost of ``qr_project_`` on a ``hidden x hidden`` W_hh,
   amortized over 5 steps, as a fraction of the fused step time (bar <= 3% at
   hidden 256), plus the end-to-end steps/s with and without it.
3. **Parametrizations.** Per-step time of the ``expm`` and ``cayley``
   strategies (explicit loop + ``torch.nn.utils.parametrizations.orthogonal``)
   against the same loop unparametrized, against the fused vanilla step, and
   against the amortized QR projection.

Each measurement is repeated ``--repeats`` times.  For the trainer/bare
ratio the two sides run in interleaved pairs and the median of the pair
ratios is reported; elsewhere the best (fastest) repeat is kept, the one
least disturbed by other processes.

On the CPU the benchmark uses one thread by default (``--threads``): on a
small machine shared with other work, two OpenMP threads that spin-wait for
each other made single steps 10-50x slower, at random, which no ratio survives.

Run: ``python benchmarks/bench_trainer.py [--device cpu|cuda] [--threads N] [--quick]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from linalg_rnn.rnn import LoopRNN, TrainConfig, make_task, parametrize_orthogonal, resolve_device, train
from linalg_rnn.rnn.strategies import qr_project_


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bare_loop_seconds_per_step(task_name, seq_len, hidden, batch, steps, device, seed=0) -> float:
    """A minimal training loop: nn.RNN + Linear + Adam, no metrics, no checks."""
    task = make_task(task_name, seq_len)
    torch.manual_seed(seed)
    rnn = torch.nn.RNN(task.input_size, hidden, batch_first=True).to(device)
    readout = torch.nn.Linear(hidden, task.output_size).to(device)
    params = list(rnn.parameters()) + list(readout.parameters())
    opt = torch.optim.Adam(params, lr=1e-3)
    gen = torch.Generator(device=device).manual_seed(seed + 1)
    for i in range(steps + 5):  # 5 warm-up steps
        if i == 5:
            _sync(device)
            start = time.perf_counter()
        x, y = task.sample(batch, gen)
        opt.zero_grad(set_to_none=True)
        out, _ = rnn(x)
        loss = task.loss(readout(out), y)
        loss.backward()
        opt.step()
    _sync(device)
    return (time.perf_counter() - start) / steps


def trainer_seconds_per_step(task_name, seq_len, hidden, batch, steps, device, strategy="vanilla",
                             spectral_every=10, eval_every=10**9, **extra) -> float:
    """Time per step inside train()'s loop (its own elapsed_s; setup and the final evaluation excluded)."""
    cfg = dict(task=task_name, seq_len=seq_len, hidden=hidden, batch=batch, device=str(device),
               strategy=strategy, spectral_every=spectral_every, eval_every=eval_every, figures=False,
               **extra)
    rows = train(TrainConfig(steps=steps + 6, **cfg), progress=False).history
    # from the end of step 5 to the end of the next-to-last step: the last step also evaluates the
    # validation batch and computes the W_hh metrics once, a per-run cost, not a per-step one
    first, last = rows[4], rows[-2]
    return (last["elapsed_s"] - first["elapsed_s"]) / (last["step"] - first["step"])


def qr_projection_seconds(hidden: int, device: torch.device, repeats: int = 50) -> float:
    """Median time of one in-place sign-corrected QR projection of a hidden x hidden matrix."""
    W = torch.nn.Parameter(torch.randn(hidden, hidden, device=device))
    times = []
    for _ in range(repeats + 3):
        with torch.no_grad():
            W.add_(1e-3 * torch.randn_like(W))  # not orthogonal any more
        _sync(device)
        start = time.perf_counter()
        qr_project_(W)
        _sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times[3:])


def parametrization_seconds(hidden: int, orthogonal_map: str, device: torch.device,
                            repeats: int = 50) -> float:
    """Median time of what a parametrization adds to one step: W_hh from its parameter, and back."""
    model = parametrize_orthogonal(LoopRNN(1, hidden, 1), orthogonal_map).to(device)
    G = torch.randn(hidden, hidden, device=device)
    times = []
    for _ in range(repeats + 3):
        _sync(device)
        start = time.perf_counter()
        W = model.weight_hh_l0  # the matrix function (exp or Cayley), once per forward pass
        (W * G).sum().backward()  # and its backward, once per step
        _sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times[3:])


def best(fn, repeats):
    return min(fn() for _ in range(repeats))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--task", default="recall")
    parser.add_argument("--seq-len", type=int, default=100)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--spectral-every", type=int, default=25)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads, the same for both sides (default 1: on a small "
                             "shared machine two spinning OpenMP threads can slow a step down 10-50x); "
                             "0: torch's choice")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.quick:
        args.seq_len, args.hidden, args.batch, args.steps, args.repeats = 30, 32, 16, 20, 1
    device = resolve_device(args.device)
    size = dict(task_name=args.task, seq_len=args.seq_len, batch=args.batch, steps=args.steps, device=device)
    print(f"device {device}, torch {torch.__version__}, {torch.get_num_threads()} CPU threads; "
          f"task {args.task}, seq_len {args.seq_len}, batch {args.batch}, {args.steps} timed steps, "
          f"best of {args.repeats}")
    trainer_seconds_per_step(**{**size, "steps": 2}, hidden=8)  # first-use imports, out of the timing

    # 1. trainer fused path with per-step metrics vs a bare loop
    H = args.hidden
    bare_loop_seconds_per_step(hidden=H, **{**size, "steps": 5})  # warm up at these sizes
    trainer_seconds_per_step(hidden=H, **{**size, "steps": 5})
    bare, ours = [], []
    for _ in range(args.repeats):  # interleaved pairs, so a burst of load hits both sides alike
        bare.append(bare_loop_seconds_per_step(hidden=H, **size))
        ours.append(trainer_seconds_per_step(hidden=H, spectral_every=args.spectral_every, **size))
    ratios = sorted(b / o for b, o in zip(bare, ours, strict=True))
    ratio = statistics.median(ratios)
    print(f"\n1. hidden {H}: bare loop {1 / min(bare):7.1f} steps/s, trainer {1 / min(ours):7.1f} steps/s "
          f"(best of each; SVD/eig metrics every {args.spectral_every} steps)")
    print(f"   trainer / bare steps-per-second ratio, median of {len(ratios)} interleaved pairs: "
          f"{ratio:.3f} (pairs {', '.join(f'{r:.3f}' for r in ratios)}; bar >= 0.9: "
          f"{'met' if ratio >= 0.9 else 'NOT met'})")
    every_step = best(lambda: trainer_seconds_per_step(hidden=H, spectral_every=1, **size), args.repeats)
    print(f"   with the SVD/eig metrics every step instead: ratio {min(bare) / every_step:.3f}")

    # 2. QR projection every 5 steps at hidden 256
    H2 = 256 if not args.quick else 64
    step = best(lambda: trainer_seconds_per_step(hidden=H2, **size), args.repeats)
    qr = qr_projection_seconds(H2, device)
    print(f"\n2. hidden {H2}: fused step {1e3 * step:.2f} ms, one QR projection {1e3 * qr:.3f} ms")
    share = qr / 5 / step
    print(f"   QR every 5 steps costs {100 * share:.2f}% of step time  (bar <= 3%: "
          f"{'met' if share <= 0.03 else 'NOT met'})")
    with_qr = best(lambda: trainer_seconds_per_step(hidden=H2, strategy="qr_projection", proj_every=5,
                                                    **size), args.repeats)
    print(f"   end to end: qr_projection step / vanilla step = {with_qr / step:.3f}")

    # 3. expm and cayley parametrizations (explicit loop) at hidden H2
    loop = best(lambda: trainer_seconds_per_step(hidden=H2, model="loop", **size), args.repeats)
    print(f"\n3. hidden {H2}: explicit-loop step {1e3 * loop:.2f} ms "
          f"({loop / step:.2f}x the fused step)")
    for name, orthogonal_map in (("expm", "matrix_exp"), ("cayley", "cayley")):
        t = best(lambda name=name: trainer_seconds_per_step(hidden=H2, strategy=name, **size), args.repeats)
        extra = parametrization_seconds(H2, orthogonal_map, device)
        print(f"   {name:6s}: {1e3 * t:.2f} ms/step end to end = {t / loop:.3f}x the unparametrized loop, "
              f"{t / step:.2f}x the fused vanilla step")
        print(f"           the map and its backward alone: {1e3 * extra:.3f} ms/step = "
              f"{100 * extra / step:.2f}% of the fused step, {extra / (qr / 5):.1f}x the amortized "
              f"QR projection ({extra / qr:.2f}x one QR)")

if __name__ == "__main__":
    main()
