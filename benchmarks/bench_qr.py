"""Benchmark: the from-scratch QR factorizations as ratios of numpy.linalg.qr.

For square n x n Gaussian matrices, every method computes the reduced QR with
Q formed, and its time is printed as a ratio to ``numpy.linalg.qr(A)`` (LAPACK
dgeqrf + dorgqr) measured in the same run.  Each time is the best of a few
rounds; within a round the methods take turns, so a burst of load from other
programs hits all of them alike.  Ratios, not seconds, are the result: they
carry over between machines far better.

Methods whose Python loop runs O(n^2) times (Givens) or whose updates are all
matrix-vector (Gram-Schmidt) are skipped above ``--slow-max-n`` (a note says
so); the Householder codes run at every size.

Usage::

    python benchmarks/bench_qr.py                      # n = 256, 512, 1024, 2048
    python benchmarks/bench_qr.py --sizes 256 512 --repeats 5
    python benchmarks/bench_qr.py --threads 2          # pin the BLAS thread count
    python benchmarks/bench_qr.py --block-size 32 --slow-max-n 512
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024, 2048], help="matrix sizes n")
    parser.add_argument("--repeats", type=int, default=3, help="rounds per size; the best time counts")
    parser.add_argument("--block-size", type=int, default=64, help="block size of blocked Householder")
    parser.add_argument(
        "--slow-max-n",
        type=int,
        default=256,
        help="largest n for Givens and Gram-Schmidt (pure-Python loops)",
    )
    parser.add_argument(
        "--unblocked-max-n", type=int, default=2048, help="largest n for unblocked Householder"
    )
    parser.add_argument("--threads", type=int, default=None, help="BLAS threads (sets OPENBLAS/OMP/MKL vars)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for name in ("repeats", "block_size", "slow_max_n", "unblocked_max_n"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if any(n < 1 for n in args.sizes):
        parser.error("--sizes must be positive integers")
    if args.threads is not None and args.threads < 1:
        parser.error("--threads must be >= 1")
    return args


def race(funcs: dict, repeats: int) -> dict:
    """Best wall time of each function over ``repeats`` rounds, taking turns within a round."""
    best = dict.fromkeys(funcs, float("inf"))
    for _ in range(repeats):
        for name, func in funcs.items():
            start = time.perf_counter()
            func()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads is not None:  # must happen before NumPy loads its BLAS
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(args.threads)

    import numpy as np

    from linalg_rnn import qr as qr_module

    fast = {
        "blocked_householder": lambda A: qr_module.blocked_householder_qr(A, block_size=args.block_size),
        "householder": qr_module.householder_qr,
    }
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
        f"BLAS threads {args.threads or 'default'}, block size {args.block_size}"
    )
    width = {name: max(9, len(name) + 2) for name in names}
    header = f"{'n':>6} {'numpy (s)':>10}" + "".join(f"{name:>{width[name]}}" for name in names)
    print(header)
    skipped = set()
    for n in args.sizes:
        A = np.random.default_rng(args.seed + n).standard_normal((n, n))
        funcs = {"numpy": lambda A=A: np.linalg.qr(A)}
        for name, method in fast.items():
            if name == "householder" and n > args.unblocked_max_n:
                skipped.add(f"householder above n = {args.unblocked_max_n}")
                continue
            funcs[name] = lambda A=A, method=method: method(A)
        for name, method in slow.items():
            if n > args.slow_max_n:
                skipped.add(f"{name} above n = {args.slow_max_n}")
                continue
            funcs[name] = lambda A=A, method=method: method(A)
        best = race(funcs, args.repeats)
        row = f"{n:6d} {best['numpy']:10.4f}"
        for name in names:
            w = width[name]
            row += f"{best[name] / best['numpy']:{w}.2f}" if name in best else f"{'skipped':>{w}}"
        print(row, flush=True)
    if skipped:
        print("skipped (pure-Python loops, O(n^2) iterations or BLAS-2 only): " + "; ".join(sorted(skipped)))
        print("raise --slow-max-n / --unblocked-max-n to include them")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
