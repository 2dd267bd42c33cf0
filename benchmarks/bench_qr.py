"""Benchmark: the from-scratch QR factorizations as ratios of numpy.linalg.qr.

For square n x n Gaussian matrices, every method computes the reduced QR with
Q formed, and its time is printed as a ratio to ``numpy.linalg.qr(A)`` (LAPACK
dgeqrf + dorgqr) measured in the same run, with the same number of BLAS
threads (``--threads``, default 1).  Each time is the best of a few rounds in
which the methods take turns (``linalg_rnn.course.race``), so a burst of load
from other programs hits all of them alike.  Ratios, not seconds, are the
result: they carry over between machines far better.

For the blocked Householder code a second line per size says where its time
went (panels, trailing updates, forming Q; from ``timings=``), and
``--block-sizes`` races several block sizes against each other in the same
rounds.  ``--runs K`` repeats the whole measurement and ends with the median
and the spread (min-max) of every ratio.

Methods whose Python loop runs O(n^2) times (Givens) or whose updates are all
matrix-vector (Gram-Schmidt) are skipped above ``--slow-max-n`` (a note says
so); unblocked Householder above ``--unblocked-max-n``.

Usage::

    python benchmarks/bench_qr.py                      # n = 512, 1024, 2048 on one BLAS thread
    python benchmarks/bench_qr.py --runs 3             # three runs, then median and spread
    python benchmarks/bench_qr.py --sizes 512 1024 --block-sizes 32 64 96 128
    python benchmarks/bench_qr.py --sizes 256 --slow-max-n 256 --unblocked-max-n 256
"""

from __future__ import annotations

import argparse
import os
import sys


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1024, 2048], help="matrix sizes n")
    parser.add_argument("--repeats", type=int, default=3, help="rounds per size; the best time counts")
    parser.add_argument("--runs", type=int, default=1, help="repeat the whole measurement; report the spread")
    parser.add_argument("--block-size", type=int, default=64, help="block size of blocked Householder")
    parser.add_argument(
        "--block-sizes", type=int, nargs="+", default=[], help="also race blocked Householder at these sizes"
    )
    parser.add_argument(
        "--slow-max-n",
        type=int,
        default=256,
        help="largest n for Givens and Gram-Schmidt (pure-Python loops)",
    )
    parser.add_argument("--unblocked-max-n", type=int, default=1024, help="largest n for unblocked QR")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (sets OPENBLAS/OMP/MKL vars)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for name in ("repeats", "runs", "block_size", "slow_max_n", "unblocked_max_n", "threads"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if any(n < 1 for n in args.sizes) or any(b < 1 for b in args.block_sizes):
        parser.error("--sizes and --block-sizes must be positive integers")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)  # must happen before NumPy loads its BLAS

    import numpy as np

    from linalg_rnn import qr as qr_module
    from linalg_rnn.course import race

    fast = {"blocked_householder": None, "householder": qr_module.householder_qr}
    fast |= {f"blocked_b{b}": None for b in args.block_sizes}
    slow = {
        "givens": qr_module.givens_qr,
        "cgs": qr_module.classical_gram_schmidt,
        "mgs": qr_module.modified_gram_schmidt,
        "cgs2": qr_module.reorthogonalized_gram_schmidt,
    }
    names = [*fast, *slow]
    print(f"QR benchmark: time / time of numpy.linalg.qr (reduced, Q formed); best of {args.repeats}")
    print(
        f"numpy {np.__version__}, python {sys.version.split()[0]}, cpus {os.cpu_count()}, "
        f"BLAS threads {args.threads}, block size {args.block_size}, load average "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    width = {name: max(9, len(name) + 2) for name in names}
    skipped: set[str] = set()
    ratios: dict[tuple[int, str], list[float]] = {}
    for run in range(1, args.runs + 1):
        if args.runs > 1:
            print(f"-- run {run} of {args.runs}")
        print(f"{'n':>6} {'numpy (s)':>10}" + "".join(f"{name:>{width[name]}}" for name in names))
        for n in args.sizes:
            A = np.random.default_rng(args.seed + n).standard_normal((n, n))
            stage_runs: list[dict[str, float]] = []

            def blocked(A=A, stage_runs=stage_runs):
                stages: dict[str, float] = {}
                qr_module.blocked_householder_qr(A, block_size=args.block_size, timings=stages)
                stage_runs.append(stages)

            funcs = {"numpy": lambda A=A: np.linalg.qr(A), "blocked_householder": blocked}
            if n <= args.unblocked_max_n:
                funcs["householder"] = lambda A=A: qr_module.householder_qr(A)
            else:
                skipped.add(f"householder above n = {args.unblocked_max_n}")
            for b in args.block_sizes:
                funcs[f"blocked_b{b}"] = lambda A=A, b=b: qr_module.blocked_householder_qr(A, block_size=b)
            for name, method in slow.items():
                if n > args.slow_max_n:
                    skipped.add(f"{name} above n = {args.slow_max_n}")
                    continue
                funcs[name] = lambda A=A, method=method: method(A)
            best = race(funcs, repeats=args.repeats)
            row = f"{n:6d} {best['numpy']:10.4f}"
            for name in names:
                if name in best:
                    ratios.setdefault((n, name), []).append(best[name] / best["numpy"])
                    row += f"{best[name] / best['numpy']:{width[name]}.2f}"
                else:
                    row += f"{'skipped':>{width[name]}}"
            print(row, flush=True)
            stages = min(stage_runs, key=lambda s: sum(s.values()))
            total = sum(stages.values())
            print(
                f"{'':6} blocked_householder stages: "
                + ", ".join(f"{k} {v * 1e3:.1f} ms ({v / total:.0%})" for k, v in stages.items()),
                flush=True,
            )
    if args.runs > 1:
        print(f"-- median [min-max] of the ratios over {args.runs} runs")
        for n in args.sizes:
            cells = []
            for name in names:
                if (n, name) in ratios:
                    r = ratios[n, name]
                    cells.append(f"{name} {np.median(r):.2f} [{min(r):.2f}-{max(r):.2f}]")
            print(f"{n:6d}  " + ";  ".join(cells))
    if skipped:
        print("skipped (pure-Python loops, O(n^2) iterations or BLAS-2 only): " + "; ".join(sorted(skipped)))
        print("raise --slow-max-n / --unblocked-max-n to include them")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
