"""Part V: the showdown -- a fair, multi-seed study of every strategy, with verdicts on the source claims.

One concept per private module, re-exported here:

* :mod:`._grid` -- profiles (built-in ``quick``/``full`` or a TOML file) and the cells they expand into;
* :mod:`._executors` -- one cell as a trainer run; the local process pool and the Ray executor;
* :mod:`._aggregate` -- statistics over seeds: mean ± std, bootstrap intervals, success rates;
* :mod:`._figures` -- the study's figures; :mod:`._verdicts` -- the verdicts on the nine claims;
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
    bootstrap_ci,
    group_rows,
    pick_learning_rates,
    steps_to_threshold,
    success_rate,
    summarize,
    summary_markdown,
)
from ._cli import add_showdown_parser, run_showdown
from ._executors import EXECUTORS, ROW_KEYS, cell_record, iter_records, run_cell
from ._figures import plot_curves, plot_eigenvalues, plot_headline, plot_w_hh_norms
from ._grid import (
    BUILTIN_PROFILES,
    Cell,
    Profile,
    available_tasks,
    dependency_length,
    expand_cells,
    load_profile,
    parse_profile,
    tbptt_window_for,
)
from ._page import publish, results_page
from ._study import StudyResult, default_workers, run_study
from ._verdicts import CLAIMS, NEAR_BASELINE, Verdict, evaluate_claims, verdict_markdown

__all__ = [
    "BUILTIN_PROFILES", "CLAIMS", "Cell", "EXECUTORS", "NEAR_BASELINE", "Profile", "ROW_KEYS", "StudyResult",
    "Verdict",
    "add_showdown_parser", "available_tasks", "bootstrap_ci", "cell_record", "default_workers",
    "dependency_length", "evaluate_claims", "expand_cells", "group_rows", "iter_records",
    "load_profile", "parse_profile", "pick_learning_rates", "plot_curves", "plot_eigenvalues",
    "plot_headline", "plot_w_hh_norms", "publish", "results_page", "run_cell", "run_showdown", "run_study",
    "steps_to_threshold", "success_rate", "summarize", "summary_markdown", "tbptt_window_for",
    "verdict_markdown",
]
