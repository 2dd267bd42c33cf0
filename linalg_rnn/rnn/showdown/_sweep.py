"""The sweep: every method at its own best settings, chosen on validation runs kept apart from the report.

A profile's ``[study.sweep]`` table lists values of :class:`~linalg_rnn.rnn.TrainConfig`
fields (and ``orth_lr_ratio``, the orthogonal learning rate as a multiple
of ``lr``). Before the main grid, every (task, length, strategy) trains once
per combination of those values (a *setting*) on the sweep seeds, which the
reported seeds never use; the setting with the lowest mean final
validation loss is the one its main cells train with. The main cells then
report on their own seeds -- and, where the trainer evaluates one, on a
test stream the selection never saw.

Example ``[study.sweep]`` table (TOML)::

    [study.sweep]
    lr = [1e-3, 3e-3, 1e-2]      # every strategy
    orth_lr_ratio = [0.1, 1.0]   # orth_lr = lr / 10 and lr, where the strategy has an orth_lr
    seeds = [1000]               # sweep seeds (default [1000]), never among the study's seeds
    # steps = 500                # default: each cell's own step count
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ORTH_LR_RATIO", "Sweep", "parse_sweep", "pick_settings", "sweep_choices", "sweep_settings"]

#: The one sweep key that is not a TrainConfig field: ``orth_lr = lr * ratio``.
ORTH_LR_RATIO = "orth_lr_ratio"
_OWN_KEYS = ("seeds", "steps")  # the sweep's own settings, not swept values
DEFAULT_SEEDS = (1000,)


@dataclass(frozen=True)
class Sweep:
    """A parsed ``[study.sweep]`` table.

    Attributes
    ----------
    values : dict
        Field name -> tuple of candidate values, ``lr`` first (ties go to
        the smaller learning rate), then in the table's order.
    seeds : tuple of int
        The sweep runs' seeds, disjoint from the study's seeds.
    steps : int or None
        Steps of a sweep run; ``None``: the cell's own ``steps``.
    """

    values: dict = field(default_factory=dict)
    seeds: tuple[int, ...] = DEFAULT_SEEDS
    steps: int | None = None


def _fail(source: str, why: str) -> None:
    raise ValueError(f"profile {source}: [study.sweep]: {why}")


def parse_sweep(table: Any, fields: Iterable[str], study_seeds: Sequence[int], source: str = "<dict>",
                owned: Iterable[str] = ()) -> Sweep:
    """Check a ``[study.sweep]`` table and turn it into a :class:`Sweep`.

    Parameters
    ----------
    table : dict
        The table: ``seeds`` (a list), ``steps`` (one number), and the
        swept fields, each a non-empty list of distinct values.
    fields : iterable of str
        The TrainConfig field names a sweep may list.
    study_seeds : sequence of int
        The study's seeds (the sweep's must differ).
    source : str, optional
        Named in every error.
    owned : iterable of str, optional
        Fields the study sets itself (``seed``, ``task``, ...): never swept.

    Returns
    -------
    Sweep

    Raises
    ------
    ValueError
        One line: an unknown key, a value that is not a non-empty list,
        ``steps`` given as a list, both ``orth_lr`` and ``orth_lr_ratio``,
        sweep seeds that are study seeds, nothing to sweep.

    Notes
    -----
    The values themselves are checked by the trainer's config when the
    sweep cells are made, before any work. Taught in lesson 14.

    Examples
    --------
    >>> s = parse_sweep({"orth_lr_ratio": [0.1, 1.0], "lr": [1e-3, 1e-2]}, ["lr", "orth_lr"], [0, 1])
    >>> s.values, s.seeds, s.steps
    ({'lr': (0.001, 0.01), 'orth_lr_ratio': (0.1, 1.0)}, (1000,), None)
    >>> parse_sweep({"lr": 1e-3}, ["lr"], [0], "mine.toml")
    Traceback (most recent call last):
        ...
    ValueError: profile mine.toml: [study.sweep]: lr must be a non-empty list of distinct values, got 0.001
    """
    if not isinstance(table, dict):
        _fail(source, "must be a table, e.g. [study.sweep] with lr = [1e-3, 1e-2]")
    fields, owned = set(fields), set(owned)
    values: dict[str, tuple] = {}
    for key, given in table.items():
        name = key.replace("-", "_")
        if name in _OWN_KEYS:
            continue
        if name in owned or name == "steps":
            _fail(source, f"{key!r} is set by the study itself and cannot be swept")
        if name not in fields and name != ORTH_LR_RATIO:
            _fail(source, f"unknown key {key!r} (not a TrainConfig field, {ORTH_LR_RATIO}, seeds or steps)")
        if (not isinstance(given, list) or not given
                or len({repr(v) for v in given}) != len(given)):
            _fail(source, f"{key} must be a non-empty list of distinct values, got {given!r}")
        values[name] = tuple(given)
    if ORTH_LR_RATIO in values and "orth_lr" in values:
        _fail(source, f"give orth_lr or {ORTH_LR_RATIO}, not both")
    ratios = values.get(ORTH_LR_RATIO, ())
    if any(isinstance(r, bool) or not isinstance(r, (int, float)) or not 0 < r < math.inf for r in ratios):
        _fail(source, f"{ORTH_LR_RATIO} must be numbers > 0, got {list(ratios)!r}")
    if not values:
        _fail(source, "names nothing to sweep; list a TrainConfig field, e.g. lr = [1e-3, 1e-2]")
    seeds = table.get("seeds", list(DEFAULT_SEEDS))
    if (not isinstance(seeds, list) or not seeds or len(set(seeds)) != len(seeds)
            or any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in seeds)):
        _fail(source, f"seeds must be a list of distinct integers >= 0, got {seeds!r}")
    if set(seeds) & set(study_seeds):
        _fail(source, "seeds must differ from the study's seeds (the sweep is for selection only)")
    steps = table.get("steps")
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or steps < 1):
        _fail(source, f"steps must be one integer >= 1 (the sweep runs' length), got {steps!r}")
    ordered = dict(sorted(values.items(), key=lambda kv: kv[0] != "lr"))  # lr first, the rest as given
    return Sweep(values=ordered, seeds=tuple(seeds), steps=steps)


def sweep_settings(sweep: Sweep, knobs: Iterable[str]) -> list[dict]:
    """The settings a sweep tries on one grid point: every combination of the values that apply.

    Parameters
    ----------
    sweep : Sweep
    knobs : iterable of str
        The TrainConfig fields the point's run has a value for
        (:attr:`~._grid.GridPoint.knobs`): a field the strategy leaves
        unset (``orth_lr`` without expm, cayley or a projection,
        ``clip_norm`` without clip) does not apply and is not swept there.
        ``orth_lr_ratio`` applies where ``orth_lr`` does.

    Returns
    -------
    list of dict
        One dict per setting, in grid order (``lr`` varies slowest);
        ``[{}]`` when nothing applies.

    Examples
    --------
    >>> sweep = Sweep({"lr": (1e-3, 1e-2), "orth_lr_ratio": (0.1, 1.0)})
    >>> sweep_settings(sweep, {"lr", "hidden"})   # vanilla: no orth_lr
    [{'lr': 0.001}, {'lr': 0.01}]
    >>> len(sweep_settings(sweep, {"lr", "orth_lr"}))   # expm
    4
    """
    knobs = set(knobs)
    names = [n for n in sweep.values if (n if n != ORTH_LR_RATIO else "orth_lr") in knobs]
    combos = itertools.product(*(sweep.values[n] for n in names))
    return [dict(zip(names, combo, strict=True)) for combo in combos]


def _score(rows: Sequence[dict]) -> float:
    """Mean final validation loss; a diverged, crashed or non-finite run counts as +inf."""
    losses = [r["val_loss"] if r.get("status") == "finished" and r.get("val_loss") is not None
              and math.isfinite(r["val_loss"]) else math.inf for r in rows]
    return math.inf if math.inf in losses else statistics.fmean(losses)


def _setting(row: Mapping) -> dict:
    return dict(row["setting"]) if row.get("setting") is not None else {"lr": row["lr"]}


def sweep_choices(rows: Sequence[dict]) -> list[dict]:
    """Every sweep candidate's score and the chosen one, per (task, length, strategy).

    Parameters
    ----------
    rows : sequence of dict
        Rows of a study; only ``phase == "sweep"`` rows are read. A row's
        ``setting`` (``{"lr": ...}`` where it has none) says what it tried.

    Returns
    -------
    list of dict
        One per (task, length, strategy), in first-seen order: ``task``,
        ``seq_len``, ``strategy``, ``setting`` (the chosen one), ``lr`` and
        ``orth_lr`` (what it trained with), ``val_loss`` (its mean over the
        sweep seeds), and ``candidates``: ``{"setting", "val_loss", "runs"}``
        for every setting tried (``val_loss`` null where a run diverged or
        crashed).

    Notes
    -----
    The choice is the lowest mean final validation loss over the sweep
    seeds; a diverged or crashed run makes its setting's mean +inf; ties
    go to the smaller learning rate, then to the setting listed first.
    Taught in lesson 14.

    Examples
    --------
    >>> rows = [{"phase": "sweep", "task": "adding", "seq_len": 10, "strategy": "clip", "lr": lr,
    ...          "orth_lr": None, "setting": {"lr": lr}, "val_loss": v, "status": "finished"}
    ...         for lr, v in [(1e-3, 0.2), (1e-2, 0.1)]]
    >>> (choice,) = sweep_choices(rows)
    >>> choice["setting"], [c["val_loss"] for c in choice["candidates"]]
    ({'lr': 0.01}, [0.2, 0.1])
    """
    groups: dict[tuple, dict[str, list[dict]]] = {}
    for r in rows:
        if r.get("phase") == "sweep":
            point = groups.setdefault((r["task"], r["seq_len"], r["strategy"]), {})
            point.setdefault(repr(sorted(_setting(r).items())), []).append(r)
    choices = []
    for (task, seq_len, strategy), by_setting in groups.items():
        tried = list(by_setting.values())
        order = {id(runs): i for i, runs in enumerate(tried)}
        best = min(tried, key=lambda runs: (_score(runs), _setting(runs[0]).get("lr", 0.0), order[id(runs)]))
        score = _score(best)
        choices.append({
            "task": task, "seq_len": seq_len, "strategy": strategy, "setting": _setting(best[0]),
            "lr": best[0].get("lr"), "orth_lr": best[0].get("orth_lr"),
            "val_loss": None if math.isinf(score) else score,
            "candidates": [{"setting": _setting(runs[0]), "runs": len(runs),
                            "val_loss": None if math.isinf(s := _score(runs)) else s} for runs in tried],
        })
    return choices


def pick_settings(rows: Sequence[dict]) -> dict[tuple, dict]:
    """The sweep's choice: per (task, length, strategy), the setting its main cells train with.

    See :func:`sweep_choices` for the rule (lowest mean final validation
    loss over the sweep seeds; diverged or crashed = +inf; ties to the
    smaller lr).

    Examples
    --------
    >>> rows = [{"phase": "sweep", "task": "adding", "seq_len": 10, "strategy": "clip", "lr": lr,
    ...          "val_loss": v, "status": s}
    ...         for lr, v, s in [(1e-3, 0.2, "finished"), (1e-2, None, "diverged")]]
    >>> pick_settings(rows)
    {('adding', 10, 'clip'): {'lr': 0.001}}
    """
    return {(c["task"], c["seq_len"], c["strategy"]): c["setting"] for c in sweep_choices(rows)}
