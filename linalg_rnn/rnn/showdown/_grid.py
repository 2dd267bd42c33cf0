"""The study grid: the grid points a profile expands into, and the cells that train them.

A *grid point* is one (task, length, strategy) of a :class:`~._profile.Profile`:
the :class:`~linalg_rnn.rnn.TrainConfig` values its seeds share. A *cell* is
one trainer run: a grid point at one seed (and, in the sweep, one setting),
carrying its complete config, checked by the trainer's own rules before any
work -- so a bad value costs one line of error naming the profile and the cell.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

from .._parameter_count import equal_parameter_lstm_hidden
from ..config import TrainConfig
from ..strategies import parse_strategy
from ._profile import Profile, available_tasks, parse_profile  # noqa: F401 (the examples parse profiles)
from ._sweep import ORTH_LR_RATIO, Sweep, sweep_settings

__all__ = ["EQUAL_PARAMS", "Cell", "GridPoint", "dependency_length", "equal_params_hidden", "expand_cells",
           "grid_points", "main_cells", "sweep_cells", "tbptt_window_for"]

_DEFAULTS = {f.name: f.default for f in dataclasses.fields(TrainConfig) if not f.name.startswith("_")}
#: Evaluation points of a run whose profile does not set ``eval_every``.
EVAL_POINTS = 30
#: ``hidden = "equal_params"`` in an lstm strategy entry: the LSTM with the tanh RNN's parameter count.
EQUAL_PARAMS = "equal_params"


def _checked_config(values: Mapping) -> TrainConfig:
    """The one place the study makes a trainer config: built from fields, checked, defaults filled."""
    return TrainConfig.from_dict(dict(values)).resolved()


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


def equal_params_hidden(values: Mapping, rnn_hidden: int) -> int:
    """The LSTM hidden size with the parameter count of a tanh RNN of ``rnn_hidden`` units on this task.

    Parameters
    ----------
    values : dict
        The cell's TrainConfig fields: ``task``, ``seq_len``, the task's
        options and a ``strategy`` that uses ``lstm``.
    rnn_hidden : int
        :math:`H` of the tanh RNN it is compared with (the study's or the
        task's ``hidden``).

    Returns
    -------
    int
        :func:`~linalg_rnn.rnn.models.equal_parameter_lstm_hidden` for the
        task's input and output sizes (:meth:`~linalg_rnn.rnn.TrainConfig.task_spec`).

    Raises
    ------
    ValueError
        If the strategy has no ``lstm``, or the task's rules refuse ``values``.

    Examples
    --------
    >>> equal_params_hidden({"task": "adding", "seq_len": 10, "strategy": "lstm"}, 64)
    31
    >>> equal_params_hidden({"task": "adding", "strategy": "vanilla"}, 64)
    Traceback (most recent call last):
        ...
    ValueError: hidden = 'equal_params' sizes an LSTM; the strategy 'vanilla' has no lstm
    """
    if not parse_strategy(values["strategy"]).uses("lstm"):
        raise ValueError(f"hidden = {EQUAL_PARAMS!r} sizes an LSTM; the strategy {values['strategy']!r} "
                         "has no lstm")
    spec = TrainConfig.from_dict({k: v for k, v in values.items() if k != "hidden"}).task_spec()
    return equal_parameter_lstm_hidden(rnn_hidden, spec.input_size, spec.output_size)


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
                if values.get("hidden") == EQUAL_PARAMS:  # the LSTM at the tanh RNN's parameter count
                    rnn_hidden = {**profile.defaults, **task.options}.get("hidden", _DEFAULTS["hidden"])
                    values["hidden"] = equal_params_hidden(values, rnn_hidden)
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
