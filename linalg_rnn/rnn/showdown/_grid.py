"""The study grid: profiles (built-in or TOML), their checks, and the cells they expand into.

A *profile* names the grid: defaults for every cell, the tasks and their
lengths, the strategies (each with a label), the seeds, and optionally a
learning-rate sweep. A *cell* is one trainer run of the grid: (task, length)
× strategy × seed, with its complete :class:`~linalg_rnn.rnn.TrainConfig`.
Every cell's config is checked here, before any work, so a typo in a
profile costs one line of error and no training.
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

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

__all__ = [
    "BUILTIN_PROFILES", "Cell", "Profile", "available_tasks", "dependency_length", "expand_cells",
    "load_profile", "parse_profile", "tbptt_window_for",
]

BUILTIN_PROFILES = ("quick", "standard", "full")
_STUDY_KEYS = {"name", "description", "seeds", "tasks", "strategies", "sweep_lrs", "sweep_steps",
               "sweep_seeds"}
_TASK_KEYS = {"task", "seq_len", "label", "optional", "strategies"}
_STRATEGY_KEYS = {"strategy", "label", "tbptt_window_ratio"}
_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")
# Fields the study sets itself (per cell or per run of the study), never a profile.
_STUDY_OWNED = {"seed", "task", "seq_len", "strategy"}
_CONFIG_FIELDS = [f.name for f in dataclasses.fields(TrainConfig) if not f.name.startswith("_")]


@dataclass(frozen=True)
class Cell:
    """One trainer run of the grid.

    Attributes
    ----------
    task : str
        The task's label (``adding``, ``digits_permuted``, ...).
    seq_len : int
        The length the model sees (copy: the delay ``T``, as ``--seq-len``).
    strategy : str
        The strategy's label (``qr_every_1``, ``tbptt_short``, ...).
    seed : int
        The run's seed.
    config : dict
        The complete :class:`~linalg_rnn.rnn.TrainConfig` fields.
    phase : str
        ``"main"``, or ``"sweep"`` for a learning-rate sweep run.

    Examples
    --------
    >>> Cell("adding", 30, "clip", 2, {"lr": 0.001}).key
    'main/adding-T30/clip/seed2'
    >>> Cell("adding", 30, "clip", 100, {"lr": 0.001}, phase="sweep").key
    'sweep/adding-T30/clip/lr0.001/seed100'
    """

    task: str
    seq_len: int
    strategy: str
    seed: int
    config: dict = field(compare=False, hash=False)
    phase: str = "main"

    @property
    def key(self) -> str:
        """The cell's relative path in the study folder: unique in the grid."""
        lr = f"/lr{self.config['lr']:g}" if self.phase == "sweep" else ""
        return f"{self.phase}/{self.task}-T{self.seq_len}/{self.strategy}{lr}/seed{self.seed}"


@dataclass
class Profile:
    """A parsed, checked study profile.

    Attributes
    ----------
    name : str
        Names the output folder ``results/<name>-<date>/``.
    seeds : list of int
        Seeds of the main grid.
    defaults : dict
        TrainConfig fields for every cell (from ``[study]``).
    tasks : list of dict
        Each with ``label``, ``task``, ``seq_len``, ``optional`` and ``options``.
    strategies : list of dict
        Each with ``label``, ``strategy``, ``tbptt_window_ratio`` and ``options``.
    sweep_lrs : list of float
        Learning rates of the validation sweep (empty: no sweep, ``lr`` as given).
    sweep_steps : int or None
        Steps of a sweep run (default: the cell's ``steps``).
    sweep_seeds : list of int
        Seeds of the sweep runs (kept apart from the main seeds).
    source : str
        Where the profile came from (built-in name or file path).
    description : str
        One paragraph for the results page.
    raw : dict
        The ``[study]`` table as read (stored in ``results.json``).
    """

    name: str
    seeds: list[int]
    defaults: dict
    tasks: list[dict]
    strategies: list[dict]
    sweep_lrs: list[float] = field(default_factory=list)
    sweep_steps: int | None = None
    sweep_seeds: list[int] = field(default_factory=lambda: [1000])
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
        if key_ in _STUDY_OWNED:
            _fail(source, where, f"{key!r} is set by the study itself, not by a profile")
        if key_ not in _CONFIG_FIELDS:
            _fail(source, where, f"unknown key {key!r} (not a TrainConfig field)")
        options[key_] = value
    return options


def _int_list(source: str, where: str, value: Any) -> list[int]:
    values = value if isinstance(value, list) else [value]
    if not values or any(isinstance(v, bool) or not isinstance(v, int) for v in values):
        _fail(source, where, f"must be an integer or a non-empty list of integers, got {value!r}")
    return values


def _label(source: str, where: str, value: Any) -> str:
    if not isinstance(value, str) or not _LABEL.match(value):
        _fail(source, where, f"label must be letters, digits and _.+- (a folder name), got {value!r}")
    return value


def parse_profile(study: dict, source: str = "<dict>") -> Profile:
    """Check a ``[study]`` table and turn it into a :class:`Profile`.

    Parameters
    ----------
    study : dict
        The ``[study]`` table of a profile file (format in DESIGN.md and on
        the results page): ``name``, ``seeds``, ``tasks``, ``strategies``,
        optionally ``description``, ``sweep_lrs``, ``sweep_steps``,
        ``sweep_seeds``, and any :class:`~linalg_rnn.rnn.TrainConfig` field
        as a default for every cell.
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
        ``strategy`` at the top), a strategy entry with overrides but no
        ``label``, a repeated label, an empty list.

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
    Later levels win: study < task < strategy. Taught in lesson 14.

    Examples
    --------
    >>> p = parse_profile({"name": "mine", "seeds": [0, 1], "steps": 50,
    ...     "tasks": [{"task": "adding", "seq_len": [10, 20]}],
    ...     "strategies": ["vanilla", {"label": "qr1", "strategy": "qr_projection", "proj_every": 1}]})
    >>> [t["label"] for t in p.tasks], [s["label"] for s in p.strategies], p.defaults
    (['adding', 'adding'], ['vanilla', 'qr1'], {'steps': 50})
    >>> parse_profile({"name": "x", "seeds": [0], "tasks": [{"task": "adding", "seq_len": 5}],
    ...                "strategies": [{"strategy": "clip", "clip_norm": 5.0}]}, "x.toml")
    Traceback (most recent call last):
        ...
    ValueError: profile x.toml: strategies[0]: a strategy entry with settings needs a label
    """
    if not isinstance(study, dict):
        _fail(source, "", "must hold a [study] table")
    for key in ("name", "seeds", "tasks", "strategies"):
        if key not in study:
            _fail(source, "[study]", f"missing {key!r}")
    name = _label(source, "name", study["name"])
    seeds = _int_list(source, "seeds", study["seeds"])
    if len(set(seeds)) != len(seeds) or min(seeds) < 0:
        _fail(source, "seeds", f"must be distinct integers >= 0, got {seeds!r}")
    defaults = _check_fields(source, "[study]", study, _STUDY_KEYS)
    tasks = []
    if not isinstance(study["tasks"], list) or not study["tasks"]:
        _fail(source, "tasks", "must be a non-empty list of tables")
    for i, entry in enumerate(study["tasks"]):
        where = f"tasks[{i}]"
        if not isinstance(entry, dict) or "task" not in entry:
            _fail(source, where, "must be a table with a 'task' key")
        options = _check_fields(source, where, entry, _TASK_KEYS)
        base = entry["task"] + ("_permuted" if options.get("permute") else "")
        label = _label(source, where, entry.get("label", base))
        lengths = [None] if entry.get("seq_len") is None else _int_list(source, where, entry["seq_len"])
        only = entry.get("strategies")
        if only is not None and (not isinstance(only, list) or not only
                                 or not all(isinstance(x, str) for x in only)):
            _fail(source, where, f"strategies must be a non-empty list of strategy labels, got {only!r}")
        for L in lengths:
            tasks.append({"label": label, "task": entry["task"], "seq_len": L,
                          "optional": bool(entry.get("optional", False)), "options": options,
                          "strategies": None if only is None else list(only)})
    strategies = []
    if not isinstance(study["strategies"], list) or not study["strategies"]:
        _fail(source, "strategies", "must be a non-empty list")
    for i, entry in enumerate(study["strategies"]):
        where = f"strategies[{i}]"
        if isinstance(entry, str):
            entry = {"strategy": entry}
        if not isinstance(entry, dict) or "strategy" not in entry:
            _fail(source, where, "must be a strategy string or a table with a 'strategy' key")
        options = _check_fields(source, where, entry, _STRATEGY_KEYS)
        ratio = entry.get("tbptt_window_ratio")
        if (options or ratio is not None) and "label" not in entry:
            _fail(source, where, "a strategy entry with settings needs a label")
        if ratio is not None and (isinstance(ratio, bool) or not isinstance(ratio, (int, float))
                                  or ratio <= 0):
            _fail(source, where, f"tbptt_window_ratio must be a number > 0, got {ratio!r}")
        strategies.append({"label": _label(source, where, entry.get("label", entry["strategy"])),
                           "strategy": entry["strategy"], "tbptt_window_ratio": ratio,
                           "options": options})
    labels = [s["label"] for s in strategies]
    if len(set(labels)) != len(labels):
        _fail(source, "strategies", f"labels must be unique, got {labels}")
    for task in tasks:
        unknown = sorted(set(task["strategies"] or ()) - set(labels))
        if unknown:
            _fail(source, f"tasks ({task['label']})",
                  f"strategies names {unknown}, not among the study's strategy labels {labels}")
    pairs = [(t["label"], t["seq_len"]) for t in tasks]
    if len(set(pairs)) != len(pairs):
        _fail(source, "tasks", "a (task label, seq_len) pair appears twice; give one a label")
    sweep_lrs = study.get("sweep_lrs", [])
    if not isinstance(sweep_lrs, list) or any(
            isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0 for v in sweep_lrs):
        _fail(source, "sweep_lrs", f"must be a list of numbers > 0, got {sweep_lrs!r}")
    sweep_steps = study.get("sweep_steps")
    if sweep_steps is not None:
        _int_list(source, "sweep_steps", sweep_steps)
    sweep_seeds = _int_list(source, "sweep_seeds", study.get("sweep_seeds", [1000]))
    if set(sweep_seeds) & set(seeds):
        _fail(source, "sweep_seeds", "must differ from the main seeds (the sweep is validation only)")
    return Profile(name=name, seeds=seeds, defaults=defaults, tasks=tasks, strategies=strategies,
                   sweep_lrs=[float(v) for v in sweep_lrs], sweep_steps=sweep_steps,
                   sweep_seeds=sweep_seeds, source=source,
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


def available_tasks(profile: Profile) -> tuple[list[dict], list[str]]:
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
    >>> [t["label"] for t in tasks], notes[0][:37]
    (['adding'], 'mnist left out, its data are missing:')
    """
    kept, notes = [], []
    for task in profile.tasks:
        if task["optional"]:
            values = {**profile.defaults, **task["options"]}
            options = {k: values[k] for k in TASK_OPTIONS if k in values}
            try:
                task_spec(task["task"], task["seq_len"], **options)
            except FileNotFoundError as exc:
                notes.append(f"{task['label']} left out, its data are missing: {exc}")
                continue
        kept.append(task)
    return kept, notes


def _cell_config(profile: Profile, task: dict, strategy: dict, seed: int,
                 overrides: dict) -> dict:
    """Merge study < task < strategy < study-run overrides into one checked config dict."""
    values = {**profile.defaults, **task["options"], **strategy["options"], **overrides,
              "task": task["task"], "seq_len": task["seq_len"], "strategy": strategy["strategy"],
              "seed": seed}
    where = f"task {task['label']} T={task['seq_len']}, strategy {strategy['label']}"
    try:
        config = TrainConfig.from_dict(values)
        if strategy["tbptt_window_ratio"] is not None:
            window = tbptt_window_for(config, strategy["tbptt_window_ratio"])
            config = dataclasses.replace(config, tbptt_window=window)
        resolved = config.resolved()
    except (TypeError, ValueError) as exc:
        _fail(profile.source, where, str(exc).splitlines()[0])
    out = resolved.to_dict()
    out["seq_len"] = task["seq_len"] if task["seq_len"] is not None else resolved.sequence_length()
    return out


def expand_cells(profile: Profile, *, overrides: dict | None = None,
                 lr_choice: dict | None = None, phase: str = "main") -> list[Cell]:
    """Every cell of the grid, each with a complete, checked config.

    Parameters
    ----------
    profile : Profile
        The grid.
    overrides : dict, optional
        TrainConfig fields set for every cell by the run (``device``).
    lr_choice : dict, optional
        ``{(task label, seq_len, strategy label): lr}`` picked by the sweep.
    phase : {"main", "sweep"}
        The main grid, or the learning-rate sweep (one run per
        (task, length, strategy, lr, sweep seed)).

    Returns
    -------
    list of Cell
        In grid order: task, length, strategy, seed.

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
    overrides = dict(overrides or {})
    cells = []
    for task in available_tasks(profile)[0]:
        for strategy in profile.strategies:
            if task.get("strategies") is not None and strategy["label"] not in task["strategies"]:
                continue  # this task runs a subset of the study's strategies
            if phase == "sweep":
                steps = {"steps": profile.sweep_steps} if profile.sweep_steps else {}
                for lr in profile.sweep_lrs:
                    for seed in profile.sweep_seeds:
                        config = _cell_config(profile, task, strategy, seed,
                                              {**overrides, **steps, "lr": lr})
                        cells.append(Cell(task["label"], config["seq_len"], strategy["label"], seed,
                                          config, phase="sweep"))
                continue
            for seed in profile.seeds:
                config = _cell_config(profile, task, strategy, seed, overrides)
                pick = (lr_choice or {}).get((task["label"], config["seq_len"], strategy["label"]))
                if pick is not None:
                    config = _cell_config(profile, task, strategy, seed, {**overrides, "lr": pick})
                cells.append(Cell(task["label"], config["seq_len"], strategy["label"], seed, config))
    return cells
