"""Part V: the showdown -- a fair, multi-seed study of every strategy, with verdicts on the source claims.

One concept per private module, re-exported here:

* :mod:`._profile` -- profiles (built-in ``quick``/``standard``/``full`` or a TOML file) as typed entries;
* :mod:`._grid` -- the grid points a profile expands into, and the cells (each with its TrainConfig);
* :mod:`._sweep` -- the sweep: each method's settings chosen on validation runs of their own seeds;
* :mod:`._records` -- one cell's row of ``results.json``, its curves and eigenvalues;
* :mod:`._executors` -- one cell as a trainer run; the local process pool and the Ray executor;
* :mod:`._stop` -- Ctrl-C and SIGTERM stop a study within about one training step;
* :mod:`._aggregate` -- statistics over seeds: mean ± std, bootstrap intervals, success rates;
* :mod:`._figures` -- the study's figures; :mod:`._verdicts` -- the verdicts on the nine claims;
* :mod:`._timing` -- claim 6's clock: projection every step against every 5 steps, in one process;
* :mod:`._study` -- :func:`run_study`, the driver behind ``linalg-rnn showdown``;
* :mod:`._cli` -- the ``showdown`` subcommand.

Examples
--------
>>> from linalg_rnn.rnn.showdown import load_profile, expand_cells
>>> profile = load_profile("quick")
>>> cells = expand_cells(profile)
>>> len({c.seed for c in cells}) >= 3
True
"""

from ._aggregate import (
    MIN_SEEDS,
    bootstrap_ci,
    group_rows,
    steps_to_threshold,
    success_rate,
    summarize,
    summary_markdown,
)
from ._cli import add_showdown_parser, run_showdown
from ._executors import (
    EXECUTORS,
    Executor,
    default_workers,
    iter_records,
    run_cell,
    run_cells,
    work_units,
)
from ._figures import plot_curves, plot_eigenvalues, plot_headline, plot_w_hh_norms
from ._grid import (
    EQUAL_PARAMS,
    Cell,
    GridPoint,
    dependency_length,
    equal_params_hidden,
    expand_cells,
    grid_points,
    main_cells,
    sweep_cells,
    tbptt_window_for,
)
from ._page import publish, results_page
from ._profile import (
    BUILTIN_PROFILES,
    Profile,
    StrategyEntry,
    TaskEntry,
    available_tasks,
    load_profile,
    parse_profile,
)
from ._records import ROW_KEYS, cell_record, crash_record
from ._study import StudyResult, projection_timings, run_study
from ._sweep import Sweep, parse_sweep, pick_settings, sweep_choices, sweep_settings
from ._timing import time_projection_steps
from ._verdicts import (
    CLAIMS,
    LABELS,
    NEAR_BASELINE,
    RuleLabels,
    Verdict,
    evaluate_claims,
    undecided_note,
    verdict_markdown,
)

__all__ = [
    "BUILTIN_PROFILES", "CLAIMS", "Cell", "EQUAL_PARAMS", "EXECUTORS", "Executor", "GridPoint", "LABELS",
    "MIN_SEEDS", "NEAR_BASELINE", "Profile", "ROW_KEYS", "RuleLabels", "StrategyEntry", "StudyResult",
    "Sweep", "TaskEntry", "Verdict",
    "add_showdown_parser", "available_tasks", "bootstrap_ci", "cell_record", "crash_record",
    "default_workers", "dependency_length", "equal_params_hidden", "evaluate_claims", "expand_cells",
    "grid_points", "group_rows", "iter_records", "load_profile", "main_cells", "parse_profile",
    "parse_sweep", "pick_settings", "plot_curves", "plot_eigenvalues", "plot_headline", "plot_w_hh_norms",
    "projection_timings", "publish", "results_page", "run_cell", "run_cells", "run_showdown", "run_study",
    "steps_to_threshold", "success_rate", "summarize", "summary_markdown", "sweep_cells", "sweep_choices",
    "sweep_settings", "tbptt_window_for", "time_projection_steps", "undecided_note", "verdict_markdown",
    "work_units",
]
