"""Aggregating a study over seeds: mean ± std, bootstrap intervals, success rates, the summary table.

Never a single run: every number the study reports about a method on a
(task, length) is a statistic over its seeds, with the spread shown.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

import numpy as np

from ._records import SUCCESS_RATIO

__all__ = [
    "MIN_SEEDS",
    "bootstrap_ci",
    "group_rows",
    "steps_to_threshold",
    "success_rate",
    "summarize",
    "summary_markdown",
]

#: Seeds a statistic needs before its bootstrap interval is taken (fewer: no interval, no verdict)
MIN_SEEDS = 5


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


def _values(rows: Sequence[dict], key: str) -> list[float]:
    """The finite values of ``key`` in ``rows`` (a missing key, ``None`` or NaN is no value)."""
    out = []
    for r in rows:
        v = r.get(key)
        if v is not None and not isinstance(v, bool) and math.isfinite(v):
            out.append(float(v))
    return out


def _distinct(rows: Sequence[dict], key: str) -> list:
    """The distinct non-null values of ``key`` over the seeds, in first-seen order (a sweep's choice)."""
    return list(dict.fromkeys(r[key] for r in rows if r.get(key) is not None))


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
        (neither diverged nor crashed).

        The reported numbers, on the held-out test stream:
        ``test_ratio_mean``/``_std`` (sample std) over finished seeds and
        ``test_ratio_ci`` (bootstrap 95 % of the mean; ``None`` under
        ``MIN_SEEDS`` (5) values), ``test_successes`` (seeds with
        ``test_ratio`` <= 0.1), ``test_accuracy_mean``/``_std``,
        ``trivial_ratio_mean`` (the input-ignoring model on the same test
        batch, over the baseline: the noise check).

        The settings that trained it: ``lr``, ``orth_lr``, ``clip_norm`` (the
        value, or a list when seeds differ; ``None`` when rows lack it),
        ``params`` (trainable parameters), ``skew_norm_mean`` (final
        ‖A‖₂ of the skew-symmetric parameter, expm/cayley only).

        The validation numbers (selection), as before: ``loss_ratio_mean``/
        ``_std``/``_ci``, ``successes``, ``success_rate``,
        ``steps_to_threshold``, ``accuracy_mean``/``_std``.

        Dynamics: ``max_grad_norm`` (largest over seeds), ``final_w_hh_mean``,
        ``max_w_hh`` (largest over seeds), ``divergences``, ``crashes``,
        ``wall_s_mean``, ``time_per_step_s``.

        A key that the rows lack gives ``None`` (older results), never an error.

    Notes
    -----
    The test numbers are the ones to report: the validation stream chose
    the learning rate, so its numbers are biased towards the winner. An
    interval from fewer than ``MIN_SEEDS`` (5) seeds is not given (``None``).
    Taught in lesson 14.

    Examples
    --------
    >>> rows = [{"task": "adding", "seq_len": 10, "strategy": "clip", "seed": s, "loss_ratio": v,
    ...          "test_ratio": v, "success": v <= 0.1, "steps_to_threshold": 100 if v <= 0.1 else None,
    ...          "status": "finished", "max_grad_norm": 2.0, "final_w_hh_spectral_norm": 1.0,
    ...          "max_w_hh_spectral_norm": 1.1, "diverged": False, "wall_s": 1.0, "lr": 0.01,
    ...          "time_per_step_s": 0.01, "val_accuracy": None} for s, v in enumerate([0.05, 0.5])]
    >>> line = summarize(rows)[0]
    >>> line["n"], line["successes"], line["success_rate"], line["loss_ratio_mean"]
    (2, 1, 0.5, 0.275)
    >>> line["test_ratio_mean"], line["test_successes"], line["test_ratio_ci"], line["lr"], line["params"]
    (0.275, 1, None, 0.01, None)
    """
    lines = []
    for (task, seq_len, strategy), group in group_rows(rows).items():
        finished = [r for r in group if r.get("status") == "finished"]
        ratios = _values(finished, "loss_ratio")
        mean, std = _mean_std(ratios)
        acc_mean, acc_std = _mean_std(_values(finished, "val_accuracy"))
        tests = _values(finished, "test_ratio")
        test_mean, test_std = _mean_std(tests)
        test_acc_mean, test_acc_std = _mean_std(_values(finished, "test_accuracy"))
        trivial = _values(group, "test_trivial_ratio")
        skews = _values(finished, "skew_norm")
        k, n = success_rate(group)

        def largest(key, rs=group):
            vals = _values(rs, key)
            return max(vals) if vals else None

        def setting(key, rs=group):
            vals = _distinct(rs, key)
            return None if not vals else vals[0] if len(vals) == 1 else vals

        finals = _values(finished, "final_w_hh_spectral_norm")
        walls = _values(group, "wall_s")
        per_step = _values(group, "time_per_step_s")
        lines.append({
            "task": task, "seq_len": seq_len, "strategy": strategy, "n": n,
            "n_finished": len(finished),
            "test_ratio_mean": test_mean, "test_ratio_std": test_std,
            "test_ratio_ci": bootstrap_ci(tests) if len(tests) >= MIN_SEEDS else None,
            "test_successes": sum(1 for v in tests if v <= SUCCESS_RATIO),
            "test_accuracy_mean": test_acc_mean, "test_accuracy_std": test_acc_std,
            "trivial_ratio_mean": float(np.mean(trivial)) if trivial else None,
            "lr": setting("lr"), "orth_lr": setting("orth_lr"), "clip_norm": setting("clip_norm"),
            "params": setting("params"), "skew_norm_mean": float(np.mean(skews)) if skews else None,
            "loss_ratio_mean": mean, "loss_ratio_std": std,
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


def _setting(value, spec: str = ".0e") -> str:
    """A chosen setting as short text (``1e-2``, not ``1e-02``); values that differ between seeds, joined."""
    if value is None:
        return "–"
    if isinstance(value, list):
        return "/".join(_setting(v, spec) for v in value)
    text = format(value, spec)
    mantissa, _, exponent = text.partition("e")
    return f"{mantissa}e{int(exponent)}" if exponent else text


def _count(value) -> str:
    """A parameter count as ``4.6k``; seeds that differ (they should not), joined."""
    if value is None:
        return "–"
    if isinstance(value, list):
        return "/".join(_count(v) for v in value)
    return f"{value / 1000:.1f}k" if value >= 1000 else str(value)


def _trivial_note(group: Sequence[dict]) -> str:
    """The noise check under a table's title: the input-ignoring model's test loss over the baseline."""
    values = [x["trivial_ratio_mean"] for x in group if x["trivial_ratio_mean"] is not None]
    if not values:
        return ""
    low, high = min(values), max(values)
    spread = f"{low:.3g}" if f"{low:.3g}" == f"{high:.3g}" else f"{low:.3g}-{high:.3g}"
    return (f"An input-ignoring model scores {spread} of the baseline on the test batch "
            "(the noise check: it should be close to 1).")


def summary_markdown(lines: Sequence[dict]) -> str:
    """The per-(task, length) tables of ``summary.md``: the reported test numbers and the settings.

    Parameters
    ----------
    lines : sequence of dict
        What :func:`summarize` returns.

    Returns
    -------
    str
        Markdown: for each (task, length) a title, the noise check (the
        input-ignoring model's test loss over the baseline) and a table of
        eight columns -- strategy, trainable parameters, learning rate (and
        orthogonal learning rate, and clip norm where set), test loss/baseline
        mean ± std, its 95 % interval, seeds solved (test loss <= 10 % of the
        baseline), test accuracy, and final ‖W_hh‖₂ (with the skew
        parameter's ‖A‖₂ for expm/cayley).

    Notes
    -----
    Fewer columns than ``results.csv`` on purpose: validation numbers,
    gradient norms, steps to threshold and times are in the CSV, one row per
    seed. An interval from fewer than ``MIN_SEEDS`` (5) seeds is shown as
    ``–``. Taught in lesson 14.

    Examples
    --------
    >>> print(summary_markdown([]).strip())
    No finished cells yet.
    >>> rows = [{"task": "copy", "seq_len": 10, "strategy": "expm", "seed": s, "status": "finished",
    ...          "test_ratio": 0.03, "test_trivial_ratio": 1.0, "lr": 0.01, "orth_lr": 0.001,
    ...          "params": 4618, "skew_norm": 2.5, "final_w_hh_spectral_norm": 1.0} for s in range(5)]
    >>> print(summary_markdown(summarize(rows)).splitlines()[-1])
    | expm | 4.6k | 1e-2 (1e-3) | 0.03 ± 0 | [0.03, 0.03] | 5/5 | – | 1 (‖A‖₂ 2.5) |
    """
    if not lines:
        return "No finished cells yet.\n"
    out = []
    header = ("| strategy | params | lr (orth. lr) | test loss/baseline | 95 % CI | solved | accuracy "
              "| final ‖W_hh‖₂ |")
    rule = "|" + "---|" * (header.count("|") - 1)
    pairs = list(dict.fromkeys((x["task"], x["seq_len"]) for x in lines))
    for pair in pairs:
        group = [x for x in lines if (x["task"], x["seq_len"]) == pair]
        out += ["", f"### {pair[0]}, T = {pair[1]}", ""]
        if note := _trivial_note(group):
            out += [note, ""]
        out += [header, rule]
        for line in group:
            ci = line["test_ratio_ci"]
            settings = _setting(line["lr"]) + (f" ({_setting(line['orth_lr'])})" if line["orth_lr"] else "")
            if line["clip_norm"] is not None:
                settings += f", clip {_setting(line['clip_norm'], 'g')}"
            acc = ("–" if line["test_accuracy_mean"] is None
                   else f"{100 * line['test_accuracy_mean']:.1f} %")
            norm = _fmt(line["final_w_hh_mean"], ".4g")
            if line["skew_norm_mean"] is not None:
                norm += f" (‖A‖₂ {line['skew_norm_mean']:.3g})"
            failed = ", ".join(f"{k} {what}" for k, what in ((line["divergences"], "diverged"),
                                                             (line["crashes"], "crashed")) if k)
            out.append(
                f"| {line['strategy']} | {_count(line['params'])} | {settings}"
                f" | {_fmt(line['test_ratio_mean'])} ± {_fmt(line['test_ratio_std'], '.2g')}"
                f" | {'–' if ci is None else f'[{ci[0]:.3g}, {ci[1]:.3g}]'}"
                f" | {line['test_successes']}/{line['n']}{f' ({failed})' if failed else ''}"
                f" | {acc} | {norm} |"
            )
    return "\n".join(out).lstrip("\n") + "\n"
