"""Aggregating a study over seeds: mean ± std, bootstrap intervals, success rates, the summary table.

Never a single run: every number the study reports about a method on a
(task, length) is a statistic over its seeds, with the spread shown.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

import numpy as np

__all__ = [
    "bootstrap_ci",
    "group_rows",
    "steps_to_threshold",
    "success_rate",
    "summarize",
    "summary_markdown",
]


def bootstrap_ci(values: Sequence[float], *, level: float = 0.95, resamples: int = 2000,
                 seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean.

    Parameters
    ----------
    values : sequence of float
        One number per seed.
    level : float, optional
        Coverage of the interval (0.95: the 2.5th and 97.5th percentiles).
    resamples : int, optional
        Bootstrap resamples, each ``len(values)`` draws with replacement.
    seed : int, optional
        Seed of the resampling (the interval is reproducible).

    Returns
    -------
    tuple of float
        ``(low, high)``; ``(nan, nan)`` for no values, ``(v, v)`` for one.

    Raises
    ------
    ValueError
        If ``level`` is not in (0, 1) or ``resamples`` < 1.

    Notes
    -----
    The means of the resamples estimate the sampling distribution of the
    mean; the interval is its central ``level`` share (Efron & Tibshirani
    1993, ch. 13). With 3 to 5 seeds it is rough -- it cannot be wider than
    the range of the values -- which is why the success rate and the raw
    per-seed rows are reported beside it. Taught in lesson 14.

    Examples
    --------
    >>> bootstrap_ci([1.0, 1.0, 1.0])
    (1.0, 1.0)
    >>> lo, hi = bootstrap_ci([0.0, 1.0, 2.0, 3.0])
    >>> 0.0 <= lo < 1.5 < hi <= 3.0
    True
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    if isinstance(resamples, bool) or not isinstance(resamples, int) or resamples < 1:
        raise ValueError(f"resamples must be an integer >= 1, got {resamples!r}")
    x = np.asarray(list(values), dtype=float)
    if x.size == 0:
        return (math.nan, math.nan)
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(resamples, x.size))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return (float(low), float(high))


def success_rate(rows: Sequence[dict]) -> tuple[int, int]:
    """Seeds that reached 10 % of the baseline, out of all seeds (diverged and crashed count as failures).

    Examples
    --------
    >>> success_rate([{"success": True}, {"success": False}, {"success": None}])
    (1, 3)
    """
    return sum(1 for r in rows if r.get("success")), len(rows)


def steps_to_threshold(rows: Sequence[dict]) -> float | None:
    """Median ``steps_to_threshold`` over the seeds that reached it; ``None`` if none did.

    Examples
    --------
    >>> steps_to_threshold([{"steps_to_threshold": 300}, {"steps_to_threshold": None},
    ...                     {"steps_to_threshold": 500}])
    400.0
    """
    steps = [r["steps_to_threshold"] for r in rows if r.get("steps_to_threshold") is not None]
    return float(statistics.median(steps)) if steps else None


def group_rows(rows: Sequence[dict], phase: str = "main") -> dict[tuple, list[dict]]:
    """Rows of one phase grouped by ``(task, seq_len, strategy)``, in first-seen order.

    Examples
    --------
    >>> rows = [{"task": "a", "seq_len": 5, "strategy": "s", "seed": 0, "phase": "main"},
    ...         {"task": "a", "seq_len": 5, "strategy": "s", "seed": 0, "phase": "sweep"},
    ...         {"task": "a", "seq_len": 5, "strategy": "s", "seed": 1, "phase": "main"}]
    >>> {key: [r["seed"] for r in group] for key, group in group_rows(rows).items()}
    {('a', 5, 's'): [0, 1]}
    """
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        if r.get("phase", "main") == phase:
            groups.setdefault((r["task"], r["seq_len"], r["strategy"]), []).append(r)
    return groups


def _mean_std(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    return float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def summarize(rows: Sequence[dict]) -> list[dict]:
    """One line per (task, length, strategy) of the main grid: the statistics over seeds.

    Parameters
    ----------
    rows : sequence of dict
        The ``runs`` of ``results.json``.

    Returns
    -------
    list of dict
        Keys: ``task``, ``seq_len``, ``strategy``, ``n`` (seeds), ``n_finished``
        (neither diverged nor crashed), ``loss_ratio_mean``/``_std`` (sample
        std) and ``loss_ratio_ci`` (bootstrap 95 % of the mean) over finished
        seeds, ``successes``, ``success_rate``, ``steps_to_threshold``
        (median over the seeds that got there), ``accuracy_mean``/``_std``,
        ``max_grad_norm`` (largest over seeds), ``final_w_hh_mean``,
        ``max_w_hh`` (largest over seeds), ``divergences``, ``crashes``,
        ``wall_s_mean``, ``time_per_step_s``.

    Examples
    --------
    >>> rows = [{"task": "adding", "seq_len": 10, "strategy": "clip", "seed": s, "loss_ratio": v,
    ...          "success": v <= 0.1, "steps_to_threshold": 100 if v <= 0.1 else None,
    ...          "status": "finished", "max_grad_norm": 2.0, "final_w_hh_spectral_norm": 1.0,
    ...          "max_w_hh_spectral_norm": 1.1, "diverged": False, "wall_s": 1.0,
    ...          "time_per_step_s": 0.01, "val_accuracy": None} for s, v in enumerate([0.05, 0.5])]
    >>> line = summarize(rows)[0]
    >>> line["n"], line["successes"], line["success_rate"], line["loss_ratio_mean"]
    (2, 1, 0.5, 0.275)
    """
    lines = []
    for (task, seq_len, strategy), group in group_rows(rows).items():
        finished = [r for r in group if r.get("status") == "finished" and r.get("loss_ratio") is not None]
        ratios = [r["loss_ratio"] for r in finished]
        mean, std = _mean_std(ratios)
        acc = [r["val_accuracy"] for r in finished if r.get("val_accuracy") is not None]
        acc_mean, acc_std = _mean_std(acc)
        k, n = success_rate(group)

        def largest(key, rs=group):
            vals = [r[key] for r in rs if r.get(key) is not None]
            return max(vals) if vals else None

        finals = [r["final_w_hh_spectral_norm"] for r in finished
                  if r.get("final_w_hh_spectral_norm") is not None]
        walls = [r["wall_s"] for r in group if r.get("wall_s") is not None]
        per_step = [r["time_per_step_s"] for r in group if r.get("time_per_step_s") is not None]
        lines.append({
            "task": task, "seq_len": seq_len, "strategy": strategy, "n": n,
            "n_finished": len(finished), "loss_ratio_mean": mean, "loss_ratio_std": std,
            "loss_ratio_ci": bootstrap_ci(ratios) if ratios else None,
            "successes": k, "success_rate": k / n if n else None,
            "steps_to_threshold": steps_to_threshold(group),
            "accuracy_mean": acc_mean, "accuracy_std": acc_std,
            "max_grad_norm": largest("max_grad_norm"),
            "final_w_hh_mean": float(np.mean(finals)) if finals else None,
            "max_w_hh": largest("max_w_hh_spectral_norm"),
            "divergences": sum(1 for r in group if r.get("diverged")),
            "crashes": sum(1 for r in group if r.get("status") == "crashed"),
            "wall_s_mean": float(np.mean(walls)) if walls else None,
            "time_per_step_s": float(np.mean(per_step)) if per_step else None,
        })
    return lines


def _fmt(value, spec: str = ".3g") -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, spec)


def summary_markdown(lines: Sequence[dict]) -> str:
    """The per-(task, length) tables of ``summary.md``.

    Examples
    --------
    >>> print(summary_markdown([]).strip())
    No finished cells yet.
    """
    if not lines:
        return "No finished cells yet.\n"
    out = []
    header = ("| strategy | loss/baseline mean ± std | 95 % CI | success | steps to 10 % | accuracy | "
              "max ‖g‖ | final ‖W_hh‖₂ | max ‖W_hh‖₂ | diverged | s/step |")
    rule = "|" + "---|" * (header.count("|") - 1)
    current = None
    for line in lines:
        if (line["task"], line["seq_len"]) != current:
            current = (line["task"], line["seq_len"])
            out += ["", f"### {line['task']}, T = {line['seq_len']}", "", header, rule]
        ci = line["loss_ratio_ci"]
        acc = ("–" if line["accuracy_mean"] is None
               else f"{line['accuracy_mean']:.3f} ± {_fmt(line['accuracy_std'], '.3f')}")
        out.append(
            f"| {line['strategy']} | {_fmt(line['loss_ratio_mean'])} ± {_fmt(line['loss_ratio_std'], '.2g')}"
            f" | {'–' if ci is None else f'[{ci[0]:.3g}, {ci[1]:.3g}]'}"
            f" | {line['successes']}/{line['n']} | {_fmt(line['steps_to_threshold'], '.0f')}"
            f" | {acc} | {_fmt(line['max_grad_norm'])} | {_fmt(line['final_w_hh_mean'], '.4g')}"
            f" | {_fmt(line['max_w_hh'], '.4g')} | {line['divergences']}"
            f"{f' ({crashed} crashed)' if (crashed := line['crashes']) else ''}"
            f" | {_fmt(line['time_per_step_s'], '.3g')} |"
        )
    return "\n".join(out).lstrip("\n") + "\n"
