"""Claim 6's clock: the time of one training step with QR projection every step, every 5 steps, and never.

The cells of a study run side by side with other programs on a shared
machine, so their wall times compare badly: a cell that ran during a burst
of load looks slow. This module times the three steps the claim compares
in one process, taking turns, as :func:`linalg_rnn.course.race` does
(a burst hits every contestant alike, and the fastest round is the one least
disturbed); the study stores the result in ``meta["timings"]`` and
:func:`~linalg_rnn.rnn.showdown.evaluate_claims` reads it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from time import process_time
from typing import Any

import torch

from ..config import TrainConfig, resolve_device
from ..trainer import train

__all__ = ["PROJECTION_VARIANTS", "time_projection_steps"]

#: The steps timed: name -> (strategy, proj_every)
PROJECTION_VARIANTS = {"bare": ("vanilla", None), "every_1": ("qr_projection", 1),
                       "every_5": ("qr_projection", 5)}
# Options that belong to one strategy: dropped from the given config, since each variant sets its own.
_STRATEGY_FIELDS = ("strategy", "clip_norm", "clip_value", "tbptt_window", "tbptt_update", "proj_every",
                    "init_scheme", "orth_lr")
# Set by the benchmark itself: run length and the cadences that keep metrics out of the timed window.
_SET_HERE = ("steps", "eval_every", "spectral_every", "norm_every", "log_every", "lag_grads_every", "figures",
             "eval_sequences")


def _fields(config: Mapping[str, Any] | TrainConfig) -> dict[str, Any]:
    if isinstance(config, TrainConfig):
        return {f.name: getattr(config, f.name) for f in dataclasses.fields(config)
                if f.init and not f.name.startswith("_")}
    if isinstance(config, Mapping):
        return dict(config)
    raise TypeError(f"config must be a TrainConfig or a dict of its fields, got {type(config).__name__}")


def _check_count(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def time_projection_steps(config: Mapping[str, Any] | TrainConfig, *, rounds: int = 7,
                          timed_steps: int = 100, warmup_steps: int = 5) -> dict:
    """Seconds per training step with QR projection every step, every 5 steps, and none, in one process.

    Parameters
    ----------
    config : TrainConfig or dict
        The run to time: the fields of one study cell (task, ``seq_len``,
        ``hidden``, ``batch``, ``lr``, ``device``, ...), e.g. the ``config``
        of the study's ``qr_every_5`` cell. Its strategy and the options that
        belong to one strategy (clipping, window, projection, init scheme,
        orthogonal lr) are replaced by each variant's own.
    rounds : int, optional
        Rounds (default 7); in each, the three variants take turns (the
        order rotates from round to round), each training a short run of
        ``warmup_steps + 1`` steps and a long one of ``warmup_steps +
        timed_steps + 1``: in all about ``3 * rounds * (2 * warmup_steps +
        timed_steps + 2)`` training steps, plus setups.
    timed_steps : int, optional
        Steps timed in each run (default 100), a multiple of 5 (so every 5
        steps projects exactly ``timed_steps / 5`` times in the window).
    warmup_steps : int, optional
        Steps before the timed window (first-use allocations, the first
        projection).

    Returns
    -------
    dict
        JSON-ready: ``task``, ``seq_len``, ``hidden``, ``batch``, ``device``,
        ``torch_threads``, ``rounds``, ``timed_steps``, ``warmup_steps``,
        ``rounds_s`` (for ``bare``, ``every_1``, ``every_5``: wall seconds
        per step in each round), ``per_step_s`` (the fastest round of each),
        on the CPU ``cpu_rounds_s`` and ``cpu_per_step_s`` (the same in
        process time; left out with a ``cpu_note`` when a round measured
        no positive difference), and ``method`` (in words). If a run diverges before its window ends,
        ``error`` says so and ``rounds_s`` is absent (a diverging run is
        recorded, never a crash).

    Raises
    ------
    TypeError
        If ``config`` is neither a ``TrainConfig`` nor a dict.
    ValueError
        If ``rounds``, ``warmup_steps`` or ``timed_steps`` is not an integer
        of at least 1 (``timed_steps``: a multiple of 5), or the config is
        refused by :class:`~linalg_rnn.rnn.TrainConfig`.

    Notes
    -----
    Each run is the trainer itself (:func:`~linalg_rnn.rnn.train`, in memory),
    so the step timed is the step the study runs. Its wall time is read from
    the ``elapsed_s`` that the trainer logs after every step, over the window
    from step ``warmup_steps`` to ``warmup_steps + timed_steps``; setup, the
    final validation and the :math:`W_{hh}` metrics fall outside it
    (validation and metrics are set to the last step only). On a machine
    shared with other programs, wall time carries their load; the process
    time of a single-threaded run counts its own work only, so on the CPU
    each round also runs a short run of ``warmup_steps + 1`` steps and takes
    the difference in process time, in which setup and validation cancel
    (as ``benchmarks/bench_trainer.py`` records both clocks).
    :func:`~linalg_rnn.course.race` times whole calls, setup included, which
    is why the turns are taken here instead. On the CPU torch runs on one
    thread, as a study's cells do. Report ratios measured in one call:
    seconds do not travel between machines. Taught in lesson 14.

    Examples
    --------
    >>> t = time_projection_steps({"task": "adding", "seq_len": 5, "hidden": 4, "batch": 2, "device": "cpu"},
    ...                           rounds=2, timed_steps=5, warmup_steps=1)
    >>> sorted(t["rounds_s"]), len(t["rounds_s"]["every_5"]), t["torch_threads"]
    (['bare', 'every_1', 'every_5'], 2, 1)
    """
    fields = _fields(config)
    rounds = _check_count(rounds, "rounds", 1)
    warmup_steps = _check_count(warmup_steps, "warmup_steps", 1)
    timed_steps = _check_count(timed_steps, "timed_steps", 5)
    if timed_steps % 5:
        raise ValueError(f"timed_steps must be a multiple of 5, got {timed_steps}")
    steps = warmup_steps + timed_steps + 1  # the last step validates: outside the window
    base = {k: v for k, v in fields.items() if k not in _STRATEGY_FIELDS + _SET_HERE}
    base.update(log_every=1, lag_grads_every=0, figures=False, eval_sequences=1)  # held-out numbers unread

    def run_of(n: int) -> dict[str, TrainConfig]:
        """The three variants, ``n`` steps each, validation and W_hh metrics at the last step only."""
        return {name: TrainConfig(**base, strategy=strategy, proj_every=every, steps=n, eval_every=n,
                                  spectral_every=n, norm_every=n).resolved()
                for name, (strategy, every) in PROJECTION_VARIANTS.items()}

    configs, short = run_of(steps), run_of(warmup_steps + 1)
    first = configs["bare"]
    out: dict[str, Any] = {
        "method": "seconds per training step of the trainer: wall time read from its elapsed_s over a window "
                  "of steps without validation or W_hh metrics; on the CPU also process time, a run of "
                  "warmup + timed steps minus one of warmup steps; variants take turns in one process",
        "task": first.task, "seq_len": first.seq_len, "hidden": first.hidden, "batch": first.batch,
        "rounds": rounds, "timed_steps": timed_steps, "warmup_steps": warmup_steps,
    }
    names = list(configs)
    wall: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    device = resolve_device(first.device)
    threads = torch.get_num_threads()
    if device.type == "cpu":
        torch.set_num_threads(1)  # one thread, as a study's cells run
    out.update(device=device.type, torch_threads=torch.get_num_threads())
    start, end = warmup_steps, warmup_steps + timed_steps
    try:
        train(short["bare"], progress=False)  # untimed: the process's first-use work (imports, allocator)
        for r in range(rounds):
            for name in names[r % len(names):] + names[:r % len(names)]:
                clock = process_time()
                train(short[name], progress=False)
                clock_short = process_time() - clock
                clock = process_time()
                result = train(configs[name], progress=False)
                clock_long = process_time() - clock
                elapsed = {row["step"]: row["elapsed_s"] for row in result.history}
                if start not in elapsed or end not in elapsed:
                    out["error"] = (f"{name} stopped at step {result.steps_done} (diverged: "
                                    f"{result.diverged}) before its timed window ended at step {end}")
                    return out
                wall[name].append((elapsed[end] - elapsed[start]) / timed_steps)
                cpu[name].append((clock_long - clock_short) / timed_steps)
    finally:
        torch.set_num_threads(threads)
    out.update(rounds_s=wall, per_step_s={name: min(values) for name, values in wall.items()})
    if device.type != "cpu":
        return out  # on an accelerator the host's process time says nothing about the step
    if all(x > 0 for values in cpu.values() for x in values):
        out.update(cpu_rounds_s=cpu, cpu_per_step_s={name: min(values) for name, values in cpu.items()})
    else:  # the window is too short for the clock: the difference drowned in the runs' own variation
        out["cpu_note"] = ("process time not kept: a round measured no positive difference "
                           "(timed_steps too few)")
    return out
