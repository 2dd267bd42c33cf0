"""Study profiles: the ``[study]`` table of a TOML file, checked and turned into typed entries.

A *profile* names the grid: defaults for every cell, the tasks and their
lengths (:class:`TaskEntry`), the strategies, each with a label
(:class:`StrategyEntry`), the seeds, and optionally a sweep
(:class:`~._sweep.Sweep`). Everything is checked here, when it is read, so
a typo in a profile costs one line of error and no training; the values
that reach the trainer are checked by its config when the grid is made
(:mod:`._grid`).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from ..config import TrainConfig
from ..tasks import TASK_OPTIONS, task_spec
from ._sweep import Sweep, parse_sweep

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

__all__ = ["BUILTIN_PROFILES", "Profile", "StrategyEntry", "TaskEntry", "available_tasks", "load_profile",
           "parse_profile"]

BUILTIN_PROFILES = ("quick", "standard", "full")
_STUDY_KEYS = {"name", "description", "seeds", "tasks", "strategies", "sweep"}
_TASK_KEYS = {"task", "seq_len", "label", "optional", "strategies"}
_STRATEGY_KEYS = {"strategy", "label", "tbptt_window_ratio"}
_MOVED = {"sweep_lrs": "lr", "sweep_steps": "steps", "sweep_seeds": "seeds"}  # before [study.sweep]
_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")
# Fields the study sets itself (per cell or per run of the study), never a profile.
STUDY_OWNED = {"seed", "task", "seq_len", "strategy"}
CONFIG_FIELDS = [f.name for f in dataclasses.fields(TrainConfig) if not f.name.startswith("_")]


@dataclass(frozen=True)
class TaskEntry:
    """One (task, length) of a profile.

    Attributes
    ----------
    label : str
        Names the task in rows and folders (``digits_permuted``, ...).
    task : str
        The trainer's task name.
    seq_len : int or None
        ``T`` as ``--seq-len`` takes it; ``None`` for tasks of fixed length.
    options : dict
        TrainConfig fields for this task's cells.
    optional : bool
        Left out, with a note, when its data are missing (local MNIST).
    strategies : tuple of str or None
        The strategy labels run on this task (``None``: all of them).
    """

    label: str
    task: str
    seq_len: int | None
    options: dict = field(default_factory=dict)
    optional: bool = False
    strategies: tuple[str, ...] | None = None


@dataclass(frozen=True)
class StrategyEntry:
    """One strategy of a profile.

    Attributes
    ----------
    label : str
        Names it in rows and folders (``qr_every_1``, ``tbptt_short``, ...).
    strategy : str
        The trainer's strategy string (``qr_projection``, ``orthogonal_init+clip``, ...).
    options : dict
        TrainConfig fields for its cells (``hidden`` may be ``"equal_params"``
        for an LSTM, resolved per task by the grid).
    tbptt_window_ratio : float or None
        The truncation window as a fraction of the task's dependency length
        (:func:`tbptt_window_for`).
    """

    label: str
    strategy: str
    options: dict = field(default_factory=dict)
    tbptt_window_ratio: float | None = None


@dataclass(frozen=True)
class Profile:
    """A parsed, checked study profile.

    Attributes
    ----------
    name : str
        Names the output folder ``results/<name>-<date>/``.
    seeds : tuple of int
        Seeds of the main grid (the reported ones).
    defaults : dict
        TrainConfig fields for every cell (from ``[study]``).
    tasks : tuple of TaskEntry
        One per (task, length).
    strategies : tuple of StrategyEntry
    sweep : Sweep or None
        The ``[study.sweep]`` table (``None``: every cell at the profile's values).
    source : str
        Where the profile came from (built-in name or file path).
    description : str
        One paragraph for the results page.
    raw : dict
        The ``[study]`` table as read (stored in ``study.json`` and ``results.json``).
    """

    name: str
    seeds: tuple[int, ...]
    defaults: dict
    tasks: tuple[TaskEntry, ...]
    strategies: tuple[StrategyEntry, ...]
    sweep: Sweep | None = None
    source: str = ""
    description: str = ""
    raw: dict = field(default_factory=dict, repr=False)


def _fail(source: str, where: str, why: str) -> None:
    raise ValueError(f"profile {source}: {where}{': ' if where else ''}{why}")


def _check_fields(source: str, where: str, table: dict, allowed: set[str]) -> dict:
    """The TrainConfig fields of ``table`` (keys in ``allowed`` are the profile's own)."""
    options = {}
    for key, value in table.items():
        key_ = key.replace("-", "_")
        if key_ in allowed:
            continue
        if key_ in STUDY_OWNED:
            _fail(source, where, f"{key!r} is set by the study itself, not by a profile")
        if key_ in _MOVED:
            _fail(source, where, f"{key!r} is now [study.sweep] {_MOVED[key_]} = ...")
        if key_ not in CONFIG_FIELDS:
            _fail(source, where, f"unknown key {key!r} (not a TrainConfig field)")
        options[key_] = value
    return options


def _int_list(source: str, where: str, value: Any, *, single: bool = True) -> list[int]:
    if not single and not isinstance(value, list):
        _fail(source, where, f"must be a list of integers (write [{value!r}] for one), got {value!r}")
    values = value if isinstance(value, list) else [value]
    if not values or any(isinstance(v, bool) or not isinstance(v, int) for v in values):
        _fail(source, where, f"must be an integer or a non-empty list of integers, got {value!r}")
    return values


def _label(source: str, where: str, value: Any) -> str:
    if not isinstance(value, str) or not _LABEL.match(value):
        _fail(source, where, f"label must be letters, digits and _.+- (a folder name), got {value!r}")
    return value


def _task_entries(source: str, i: int, entry: Any) -> list[TaskEntry]:
    where = f"tasks[{i}]"
    if not isinstance(entry, dict) or "task" not in entry:
        _fail(source, where, "must be a table with a 'task' key")
    options = _check_fields(source, where, entry, _TASK_KEYS)
    label = _label(source, where, entry.get("label", entry["task"] + ("_permuted" if options.get("permute")
                                                                     else "")))
    lengths = [None] if entry.get("seq_len") is None else _int_list(source, where, entry["seq_len"])
    only = entry.get("strategies")
    if only is not None and (not isinstance(only, list) or not only
                             or not all(isinstance(x, str) for x in only)):
        _fail(source, where, f"strategies must be a non-empty list of strategy labels, got {only!r}")
    return [TaskEntry(label, entry["task"], L, options, bool(entry.get("optional", False)),
                      None if only is None else tuple(only)) for L in lengths]


def _strategy_entry(source: str, i: int, entry: Any) -> StrategyEntry:
    where = f"strategies[{i}]"
    if isinstance(entry, str):
        entry = {"strategy": entry}
    if not isinstance(entry, dict) or "strategy" not in entry:
        _fail(source, where, "must be a strategy string or a table with a 'strategy' key")
    options = _check_fields(source, where, entry, _STRATEGY_KEYS)
    ratio = entry.get("tbptt_window_ratio")
    if (options or ratio is not None) and "label" not in entry:
        _fail(source, where, "a strategy entry with settings needs a label")
    if ratio is not None and (isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or ratio <= 0):
        _fail(source, where, f"tbptt_window_ratio must be a number > 0, got {ratio!r}")
    return StrategyEntry(_label(source, where, entry.get("label", entry["strategy"])), entry["strategy"],
                         options, ratio)


def parse_profile(study: dict, source: str = "<dict>") -> Profile:
    """Check a ``[study]`` table and turn it into a :class:`Profile`.

    Parameters
    ----------
    study : dict
        The ``[study]`` table of a profile file (format in DESIGN.md and on
        the results page): ``name``, ``seeds`` (a list), ``tasks``,
        ``strategies``, optionally ``description``, a ``sweep`` table
        (:func:`~._sweep.parse_sweep`), and any
        :class:`~linalg_rnn.rnn.TrainConfig` field as a default for every cell.
    source : str, optional
        Where it came from, named in every error.

    Returns
    -------
    Profile

    Raises
    ------
    ValueError
        One line naming the profile and the entry: an unknown key, a key
        the study sets itself (``seed``, ``task``, ``seq_len``,
        ``strategy`` at the top), ``seeds`` that is not a list, a strategy
        entry with overrides but no ``label``, a repeated label, an empty
        list, a bad sweep.

    Notes
    -----
    A task entry is ``{task = ..., seq_len = L or [L1, L2, ...]}`` plus
    optional ``label`` (default the task name, ``_permuted`` appended for
    ``permute = true``), ``optional = true`` (left out, with a note, when
    its data are missing: local MNIST), ``strategies = [label, ...]`` (run
    only these of the study's strategies on this task; default all of them)
    and TrainConfig fields. A strategy is
    a string, or a table with ``strategy``, a ``label`` (required as soon
    as anything else is set), TrainConfig fields and ``tbptt_window_ratio``
    (the truncation window as a fraction of the task's dependency length,
    :func:`tbptt_window_for`); an ``lstm`` entry may set ``hidden =
    "equal_params"``: on each task, the hidden size whose LSTM has the
    parameter count of a tanh RNN at the study's (or the task's) ``hidden``
    (:func:`~._grid.equal_params_hidden`).
    Later levels win: study < task < strategy < the sweep's setting. A
    profile that does not set ``eval_every`` evaluates every
    ``max(1, steps // 30)`` steps, so a short run still draws a curve.
    Taught in lesson 14.

    Examples
    --------
    >>> p = parse_profile({"name": "mine", "seeds": [0, 1], "steps": 50,
    ...     "tasks": [{"task": "adding", "seq_len": [10, 20]}],
    ...     "strategies": ["vanilla", {"label": "qr1", "strategy": "qr_projection", "proj_every": 1}]})
    >>> [t.label for t in p.tasks], [s.label for s in p.strategies], p.defaults
    (['adding', 'adding'], ['vanilla', 'qr1'], {'steps': 50})
    >>> parse_profile({"name": "x", "seeds": 2, "tasks": [{"task": "adding"}], "strategies": ["clip"]},
    ...               "x.toml")
    Traceback (most recent call last):
        ...
    ValueError: profile x.toml: seeds: must be a list of integers (write [2] for one), got 2
    """
    if not isinstance(study, dict):
        _fail(source, "", "must hold a [study] table")
    for key in ("name", "seeds", "tasks", "strategies"):
        if key not in study:
            _fail(source, "[study]", f"missing {key!r}")
    name = _label(source, "name", study["name"])
    seeds = _int_list(source, "seeds", study["seeds"], single=False)
    if len(set(seeds)) != len(seeds) or min(seeds) < 0:
        _fail(source, "seeds", f"must be distinct integers >= 0, got {seeds!r}")
    defaults = _check_fields(source, "[study]", study, _STUDY_KEYS)
    if not isinstance(study["tasks"], list) or not study["tasks"]:
        _fail(source, "tasks", "must be a non-empty list of tables")
    tasks = [t for i, entry in enumerate(study["tasks"]) for t in _task_entries(source, i, entry)]
    if not isinstance(study["strategies"], list) or not study["strategies"]:
        _fail(source, "strategies", "must be a non-empty list")
    strategies = [_strategy_entry(source, i, entry) for i, entry in enumerate(study["strategies"])]
    labels = [s.label for s in strategies]
    if len(set(labels)) != len(labels):
        _fail(source, "strategies", f"labels must be unique, got {labels}")
    for task in tasks:
        unknown = sorted(set(task.strategies or ()) - set(labels))
        if unknown:
            _fail(source, f"tasks ({task.label})",
                  f"strategies names {unknown}, not among the study's strategy labels {labels}")
    pairs = [(t.label, t.seq_len) for t in tasks]
    if len(set(pairs)) != len(pairs):
        _fail(source, "tasks", "a (task label, seq_len) pair appears twice; give one a label")
    sweep = (None if "sweep" not in study
             else parse_sweep(study["sweep"], CONFIG_FIELDS, seeds, source, STUDY_OWNED))
    return Profile(name=name, seeds=tuple(seeds), defaults=defaults, tasks=tuple(tasks),
                   strategies=tuple(strategies), sweep=sweep, source=source,
                   description=str(study.get("description", "")).strip(), raw=study)


def load_profile(profile: str | Path) -> Profile:
    """A built-in profile by name (``quick``, ``standard``, ``full``) or a TOML file.

    Parameters
    ----------
    profile : str or Path
        ``"quick"``, ``"standard"``, ``"full"``, or the path of a ``.toml`` file with a
        ``[study]`` table.

    Returns
    -------
    Profile

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If it is neither a built-in name nor a ``.toml`` path, cannot be
        parsed, or fails :func:`parse_profile`.

    Examples
    --------
    >>> p = load_profile("quick")
    >>> p.name, len(p.seeds) >= 3
    ('quick', True)
    >>> load_profile("huge")
    Traceback (most recent call last):
        ...
    ValueError: unknown profile 'huge'; give quick, standard, full or a .toml file
    """
    text_profile = str(profile)
    if text_profile in BUILTIN_PROFILES:
        text = resources.files(__package__).joinpath(f"profiles/{text_profile}.toml").read_text("utf-8")
        source = text_profile
    else:
        path = Path(profile)
        if path.suffix.lower() != ".toml":
            raise ValueError(f"unknown profile {text_profile!r}; give {', '.join(BUILTIN_PROFILES[:-1])}, "
                             f"{BUILTIN_PROFILES[-1]} or a .toml file")
        if not path.is_file():
            raise FileNotFoundError(f"profile file {path} does not exist")
        text, source = path.read_text(encoding="utf-8"), str(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"cannot parse profile {source}: {exc}") from None
    if set(data) != {"study"}:
        raise ValueError(f"profile {source}: must hold exactly one [study] table, found {sorted(data)}")
    return parse_profile(data["study"], source)


def available_tasks(profile: Profile) -> tuple[list[TaskEntry], list[str]]:
    """The profile's task entries whose data are present, and a note for each optional one left out.

    Only ``optional = true`` entries can be left out -- local MNIST without its
    IDX files: the task's own check (:func:`~linalg_rnn.rnn.tasks.task_spec`)
    says its data are missing. A required entry with missing data fails
    when it is checked.

    Examples
    --------
    >>> p = parse_profile({"name": "m", "seeds": [0], "tasks": [
    ...     {"task": "adding", "seq_len": 8},
    ...     {"task": "mnist", "data_dir": "/no/such/dir", "optional": True}], "strategies": ["clip"]})
    >>> tasks, notes = available_tasks(p)
    >>> [t.label for t in tasks], notes[0][:37]
    (['adding'], 'mnist left out, its data are missing:')
    """
    kept, notes = [], []
    for task in profile.tasks:
        if task.optional:
            values = {**profile.defaults, **task.options}
            options = {k: values[k] for k in TASK_OPTIONS if k in values}
            try:
                task_spec(task.task, task.seq_len, **options)
            except FileNotFoundError as exc:
                notes.append(f"{task.label} left out, its data are missing: {exc}")
                continue
        kept.append(task)
    return kept, notes
