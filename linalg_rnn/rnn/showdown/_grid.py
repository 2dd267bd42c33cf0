"""The study grid: profiles (built-in or TOML), their checks, and the cells they expand into.

A *profile* names the grid: defaults for every cell, the tasks and their
lengths (:class:`TaskEntry`), the strategies, each with a label
(:class:`StrategyEntry`), the seeds, and optionally a sweep
(:class:`~._sweep.Sweep`). A *grid point* is one (task, length, strategy):
the :class:`~linalg_rnn.rnn.TrainConfig` values its seeds share. A *cell* is
one trainer run: a grid point at one seed (and, in the sweep, one setting),
carrying its complete, checked config. Every config is checked here, before
any work, so a typo in a profile costs one line of error and no training.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from ..config import TrainConfig
from ..tasks import TASK_OPTIONS, task_spec
from ._sweep import ORTH_LR_RATIO, Sweep, parse_sweep, sweep_settings

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

__all__ = [
    "BUILTIN_PROFILES", "Cell", "GridPoint", "Profile", "StrategyEntry", "TaskEntry", "available_tasks",
    "dependency_length", "expand_cells", "grid_points", "load_profile", "main_cells", "parse_profile",
    "sweep_cells", "tbptt_window_for",
]

BUILTIN_PROFILES = ("quick", "standard", "full")
_STUDY_KEYS = {"name", "description", "seeds", "tasks", "strategies", "sweep"}
_TASK_KEYS = {"task", "seq_len", "label", "optional", "strategies"}
_STRATEGY_KEYS = {"strategy", "label", "tbptt_window_ratio"}
_MOVED = {"sweep_lrs": "lr", "sweep_steps": "steps", "sweep_seeds": "seeds"}  # before [study.sweep]
_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")
# Fields the study sets itself (per cell or per run of the study), never a profile.
_STUDY_OWNED = {"seed", "task", "seq_len", "strategy"}
_DEFAULTS = {f.name: f.default for f in dataclasses.fields(TrainConfig) if not f.name.startswith("_")}
#: Evaluation points of a run whose profile does not set ``eval_every``.
EVAL_POINTS = 30


def _checked_config(values: Mapping) -> TrainConfig:
    """The one place the study makes a trainer config: built from fields, checked, defaults filled."""
    return TrainConfig.from_dict(dict(values)).resolved()


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
        TrainConfig fields for its cells.
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


def _setting_label(setting: tuple) -> str:
    return "+".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in setting)


@dataclass(frozen=True)
class Cell:
    """One trainer run of the grid: a grid point at one seed, with the config that trains it.

    Attributes
    ----------
    task : str
        The task's label (``adding``, ``digits_permuted``, ...).
    seq_len : int
        The length the rows show (copy: the delay ``T``, as ``--seq-len``).
    strategy : str
        The strategy's label (``qr_every_1``, ``tbptt_short``, ...).
    config : TrainConfig
        The complete, checked config; its ``seed`` is the cell's.
    phase : str
        ``"main"``, or ``"sweep"`` for a run of the sweep.
    setting : tuple of (str, value)
        The swept values it trains with: tried (sweep), chosen (main);
        empty without a sweep.

    Examples
    --------
    >>> config = TrainConfig(task="adding", seq_len=30, strategy="clip", seed=2)
    >>> Cell("adding", 30, "clip", config).key
    'main/adding-T30/clip/seed2'
    >>> Cell("adding", 30, "clip", config, "sweep", (("lr", 0.01), ("orth_lr_ratio", 0.1))).key
    'sweep/adding-T30/clip/lr=0.01+orth_lr_ratio=0.1/seed2'
    """

    task: str
    seq_len: int
    strategy: str
    config: TrainConfig = field(compare=False, hash=False)
    phase: str = "main"
    setting: tuple = ()

    @property
    def seed(self) -> int:
        """The seed of the config that trains it."""
        return self.config.seed

    @property
    def key(self) -> str:
        """The cell's relative path in the study folder: unique in the grid."""
        tried = f"/{_setting_label(self.setting) or 'default'}" if self.phase == "sweep" else ""
        return f"{self.phase}/{self.task}-T{self.seq_len}/{self.strategy}{tried}/seed{self.seed}"


@dataclass(frozen=True)
class GridPoint:
    """One (task, length, strategy) of the grid: the config values all its cells share.

    Attributes
    ----------
    task, strategy : str
        The labels.
    seq_len : int
        The length as the rows show it.
    values : dict
        The TrainConfig fields, study < task < strategy < the run's
        overrides, with the tbptt window from its ratio; no seed.
    knobs : frozenset of str
        The fields its run has a value for (what a sweep can change here).
    eval_every_given : bool
        Whether the profile set ``eval_every`` (else it follows ``steps``).
    source : str
        The profile's source, named in errors.
    """

    task: str
    seq_len: int
    strategy: str
    values: dict = field(compare=False, hash=False)
    knobs: frozenset = field(compare=False, hash=False)
    eval_every_given: bool = field(default=False, compare=False, hash=False)
    source: str = field(default="", compare=False, hash=False)

    @property
    def where(self) -> str:
        """Names the point in errors."""
        return f"profile {self.source}: task {self.task} T={self.seq_len}, strategy {self.strategy}"

    @property
    def id(self) -> tuple[str, int, str]:
        """``(task, seq_len, strategy)``, as the rows and the sweep's choice name it."""
        return (self.task, self.seq_len, self.strategy)

    def cell(self, seed: int, *, phase: str = "main", setting: Mapping | None = None,
             steps: int | None = None) -> Cell:
        """The cell at ``seed`` with ``setting`` applied (``orth_lr_ratio`` becomes ``orth_lr``).

        Raises
        ------
        ValueError
            Naming the profile and the cell, for any value the trainer's config refuses.
        """
        setting = dict(setting or {})
        values = {**self.values, **{k: v for k, v in setting.items() if k != ORTH_LR_RATIO},
                  "seed": seed}
        if steps is not None:
            values["steps"] = steps
        if ORTH_LR_RATIO in setting:
            values["orth_lr"] = values.get("lr", _DEFAULTS["lr"]) * setting[ORTH_LR_RATIO]
        if not self.eval_every_given:  # a short run still gets a curve, a long one no more points
            values["eval_every"] = max(1, values.get("steps", _DEFAULTS["steps"]) // EVAL_POINTS)
        try:
            config = _checked_config(values)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{self.where}: {str(exc).splitlines()[0]}") from None
        return Cell(self.task, self.seq_len, self.strategy, config, phase, tuple(setting.items()))


def _fail(source: str, where: str, why: str) -> None:
    raise ValueError(f"profile {source}: {where}{': ' if where else ''}{why}")


def _check_fields(source: str, where: str, table: dict, allowed: set[str]) -> dict:
    """The TrainConfig fields of ``table`` (keys in ``allowed`` are the profile's own)."""
    options = {}
    for key, value in table.items():
        key_ = key.replace("-", "_")
        if key_ in allowed:
            continue
        if key_ in _STUDY_OWNED:
            _fail(source, where, f"{key!r} is set by the study itself, not by a profile")
        if key_ in _MOVED:
            _fail(source, where, f"{key!r} is now [study.sweep] {_MOVED[key_]} = ...")
        if key_ not in _DEFAULTS:
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
    :func:`tbptt_window_for`).
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
             else parse_sweep(study["sweep"], _DEFAULTS, seeds, source, _STUDY_OWNED))
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


def dependency_length(config: TrainConfig) -> int:
    """Steps between an input and the output that needs it (the shortest such gap).

    copy: ``T + 10`` (a symbol and its recall); adding: ``T // 2`` (the first
    marker can be that close to the answer); recall: the delay ``d``; tasks
    without one fixed gap (brackets, pixels): the whole sequence.

    Examples
    --------
    >>> dependency_length(TrainConfig(task="copy", seq_len=30))
    40
    >>> dependency_length(TrainConfig(task="recall", seq_len=30, delay=7))
    7
    """
    T = config.sequence_length()
    if config.task == "copy":
        return T - 10
    if config.task == "adding":
        return T // 2
    if config.task == "recall":
        return config.delay if config.delay is not None else T // 2
    return T


def tbptt_window_for(config: TrainConfig, ratio: float) -> int:
    """The truncation window at ``ratio`` times the task's dependency, as a divisor of the sequence.

    The trainer cuts a sequence of ``L`` steps into windows from the start,
    so with a window ``k`` that does not divide ``L`` the last window is
    shorter -- and for a loss at the last step only (adding) the last window
    is all the gradient sees. The window is therefore the largest divisor of
    ``L`` at most ``ratio × dependency`` (below the dependency, ``ratio < 1``)
    or the smallest divisor at least that (above it), so every window,
    the last included, has ``k`` steps.

    Examples
    --------
    >>> tbptt_window_for(TrainConfig(task="adding", seq_len=30), 0.5)   # 7.5 -> 6
    6
    >>> tbptt_window_for(TrainConfig(task="adding", seq_len=30), 1.5)   # 22.5 -> 30
    30
    """
    L = config.sequence_length()
    target = ratio * dependency_length(config)
    divisors = [k for k in range(1, L + 1) if L % k == 0]
    if ratio < 1:
        return max([k for k in divisors if k <= target] or [1])
    return min(k for k in divisors if k >= min(target, L))


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


def grid_points(profile: Profile, overrides: Mapping | None = None) -> list[GridPoint]:
    """Every (task, length, strategy) of the grid, each checked at the profile's first seed.

    Parameters
    ----------
    profile : Profile
    overrides : dict, optional
        TrainConfig fields the run sets for every cell (``device``, ``figures``).

    Returns
    -------
    list of GridPoint
        In grid order: task, length, strategy.

    Raises
    ------
    ValueError
        Naming the profile and the point, for any config the trainer would refuse.

    Examples
    --------
    >>> p = parse_profile({"name": "m", "seeds": [0], "tasks": [{"task": "adding", "seq_len": 8}],
    ...                    "strategies": ["vanilla", "expm"]})
    >>> [(q.strategy, "orth_lr" in q.knobs) for q in grid_points(p)]
    [('vanilla', False), ('expm', True)]
    """
    points = []
    for task in available_tasks(profile)[0]:
        for strategy in profile.strategies:
            if task.strategies is not None and strategy.label not in task.strategies:
                continue  # this task runs a subset of the study's strategies
            values = {**profile.defaults, **task.options, **strategy.options, **(overrides or {}),
                      "task": task.task, "seq_len": task.seq_len, "strategy": strategy.strategy}
            where = f"profile {profile.source}: task {task.label} T={task.seq_len}, strategy {strategy.label}"
            try:
                config = _checked_config({**values, "seed": profile.seeds[0]})
                if strategy.tbptt_window_ratio is not None:
                    values["tbptt_window"] = tbptt_window_for(config, strategy.tbptt_window_ratio)
                    config = _checked_config({**values, "seed": profile.seeds[0]})
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{where}: {str(exc).splitlines()[0]}") from None
            knobs = frozenset(name for name in _DEFAULTS if getattr(config, name) is not None)
            seq_len = task.seq_len if task.seq_len is not None else config.sequence_length()
            points.append(GridPoint(task.label, seq_len, strategy.label, values, knobs,
                                    "eval_every" in values, profile.source))
    return points


def sweep_cells(points: list[GridPoint], sweep: Sweep | None) -> list[Cell]:
    """The sweep's cells: every setting that applies to a point, on every sweep seed.

    A point with one setting or none (nothing swept applies to it) has
    nothing to choose and runs no sweep cells.

    Raises
    ------
    ValueError
        For a swept field that applies to none of the points (``clip_norm``
        without a clip strategy), or a value the trainer's config refuses.

    Examples
    --------
    >>> p = parse_profile({"name": "m", "seeds": [0], "steps": 4, "tasks": [{"task": "adding", "seq_len": 8}],
    ...                    "strategies": ["vanilla", "expm"],
    ...                    "sweep": {"lr": [1e-3, 1e-2], "orth_lr_ratio": [0.1, 1.0]}})
    >>> cells = sweep_cells(grid_points(p), p.sweep)
    >>> len(cells), cells[-1].key, cells[-1].config.orth_lr
    (6, 'sweep/adding-T8/expm/lr=0.01+orth_lr_ratio=1/seed1000', 0.01)
    """
    if sweep is None:
        return []
    cells, used = [], set()
    for point in points:
        settings = sweep_settings(sweep, point.knobs)
        used.update(settings[0])
        if len(settings) > 1:
            cells += [point.cell(seed, phase="sweep", setting=setting, steps=sweep.steps)
                      for setting in settings for seed in sweep.seeds]
    unused = [name for name in sweep.values if name not in used]
    if unused and points:
        raise ValueError(f"profile {points[0].source}: [study.sweep]: {', '.join(unused)} applies to none "
                         "of the study's strategies (a field is swept only where the strategy has a value)")
    return cells


def main_cells(points: list[GridPoint], seeds, choice: Mapping | None = None,
               sweep: Sweep | None = None) -> list[Cell]:
    """The main grid's cells: every point on every seed, at its chosen setting.

    Parameters
    ----------
    points : list of GridPoint
    seeds : sequence of int
        The study's (reported) seeds.
    choice : dict, optional
        ``{point.id: setting}`` from :func:`~._sweep.pick_settings`.
    sweep : Sweep, optional
        A point the sweep ran nothing for takes its one setting from here
        (``lr = [1e-2]`` alone sets every cell's lr).

    Examples
    --------
    >>> p = parse_profile({"name": "m", "seeds": [0, 1], "tasks": [{"task": "adding", "seq_len": 8}],
    ...                    "strategies": ["clip"]})
    >>> choice = {("adding", 8, "clip"): {"lr": 0.01}}
    >>> [(c.key, c.config.lr) for c in main_cells(grid_points(p), p.seeds, choice)]
    [('main/adding-T8/clip/seed0', 0.01), ('main/adding-T8/clip/seed1', 0.01)]
    """
    cells = []
    for point in points:
        setting = (choice or {}).get(point.id)
        if setting is None and sweep is not None:
            only = sweep_settings(sweep, point.knobs)
            setting = only[0] if len(only) == 1 else None
        cells += [point.cell(seed, setting=setting) for seed in seeds]
    return cells


def expand_cells(profile: Profile, *, overrides: Mapping | None = None, phase: str = "main",
                 choice: Mapping | None = None) -> list[Cell]:
    """Every cell of one phase of the grid, each with a complete, checked config.

    Parameters
    ----------
    profile : Profile
        The grid.
    overrides : dict, optional
        TrainConfig fields set for every cell by the run (``device``).
    phase : {"main", "sweep"}
        The main grid, or the sweep (one run per point, setting and sweep seed).
    choice : dict, optional
        ``{(task label, seq_len, strategy label): setting}`` picked by the sweep (main phase).

    Returns
    -------
    list of Cell
        In grid order: task, length, strategy, (setting,) seed.

    Raises
    ------
    ValueError
        Naming the profile and the cell, for any config the trainer would refuse.

    Examples
    --------
    >>> p = parse_profile({"name": "mine", "seeds": [0, 1], "steps": 5, "hidden": 4,
    ...     "tasks": [{"task": "adding", "seq_len": 8}], "strategies": ["vanilla", "clip"]})
    >>> [c.key for c in expand_cells(p)][:3]
    ['main/adding-T8/vanilla/seed0', 'main/adding-T8/vanilla/seed1', 'main/adding-T8/clip/seed0']
    """
    points = grid_points(profile, overrides)
    if phase == "sweep":
        return sweep_cells(points, profile.sweep)
    return main_cells(points, profile.seeds, choice, profile.sweep)
