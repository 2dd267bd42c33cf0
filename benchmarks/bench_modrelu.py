"""modReLU's step time against tanh on the fused kernel, as ratios measured side by side.

``torch.rnn_tanh`` (the kernel behind ``nn.RNN``) has no modReLU, so a
modReLU RNN cannot run on it. The trainer runs modReLU on
:func:`~linalg_rnn.rnn._modrelu.modrelu_recurrence` (a Python loop whose
backward pass is written out, one autograd node per sequence: the default,
``model="auto"``), and the explicit autograd loop is the reference
(``model="loop"``). This times one training step of each -- the trainer's
own step function on a built run: batch, forward, backward, gradient norms,
Adam update -- against one step of tanh on the fused kernel (``vanilla``),
at hidden 64, batch 64, T = 30, 60 and 100 (the adding task), on one CPU
thread, in interleaved rounds (:func:`linalg_rnn.course.race`). It prints,
per length, the median over rounds of the per-round ratio and its spread
(min--max). No bar: the number is reported, not asserted.

Run: ``python benchmarks/bench_modrelu.py [--rounds 7] [--quick]``.
"""

from __future__ import annotations

import argparse
import statistics

import torch

from linalg_rnn.course import race
from linalg_rnn.rnn import TrainConfig
from linalg_rnn.rnn.trainer import build_run, train_step  # the trainer's own step, timed without setup

CONTENDERS = {
    "tanh, fused kernel": {},
    "modReLU, one-node loop": {"activation": "modrelu"},
    "modReLU, autograd loop": {"activation": "modrelu", "model": "loop"},
    "tanh, autograd loop": {"model": "loop"},
    "expm + modReLU": {"activation": "modrelu", "strategy": "expm"},
}


def steps_of(config: TrainConfig, k: int):
    """A function that runs ``k`` trainer steps of a run built once."""
    run = build_run(config)
    counter = iter(range(1, 10**9))

    def go() -> None:
        for _ in range(k):
            train_step(run, next(counter))

    go()  # warm up
    return go


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="two lengths, three rounds")
    args = parser.parse_args()
    torch.set_num_threads(1)
    lengths = (30, 100) if args.quick else (30, 60, 100)
    rounds = 3 if args.quick else args.rounds
    k = 3
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread; hidden 64, batch 64, adding task; "
          f"{rounds} rounds of {k} steps; ratio = step time / tanh on the fused kernel "
          "(median over rounds, min-max)")
    for T in lengths:
        base = dict(task="adding", seq_len=T, hidden=64, batch=64, device="cpu", figures=False, steps=10**6)
        funcs = {name: steps_of(TrainConfig(**{**base, **extra}), k) for name, extra in CONTENDERS.items()}
        per_round = [race(funcs, repeats=1) for _ in range(rounds)]
        ref = "tanh, fused kernel"
        step_ms = 1e3 * statistics.median(r[ref] for r in per_round) / k
        print(f"\nT = {T}: tanh on the fused kernel {step_ms:.2f} ms per step (median)")
        for name in CONTENDERS:
            if name == ref:
                continue
            ratios = [r[name] / r[ref] for r in per_round]
            print(f"  {name:24s} {statistics.median(ratios):5.2f}x  ({min(ratios):.2f}-{max(ratios):.2f})")


if __name__ == "__main__":
    main()
