"""``linalg-rnn showdown``: run a study from the command line (wraps :func:`~._study.run_study`).

Exit status: 0 when every cell has a result (diverged and crashed cells
are results), 2 for a bad flag or profile (one line, before any work),
130/143 when Ctrl-C/SIGTERM stopped it (rerun with ``--resume``).
"""

from __future__ import annotations

import argparse
import sys

from ..config import DEVICES

__all__ = ["add_showdown_parser", "run_showdown"]


def add_showdown_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``showdown`` subcommand to the ``linalg-rnn`` parser.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        From ``parser.add_subparsers``.

    Returns
    -------
    argparse.ArgumentParser
        The ``showdown`` parser, with ``handler=run_showdown``.

    Examples
    --------
    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="linalg-rnn")
    >>> _ = add_showdown_parser(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["showdown", "--workers", "2"])
    >>> args.profile, args.workers, args.executor, args.handler is run_showdown
    ('quick', 2, 'local', True)
    """
    p = subparsers.add_parser(
        "showdown",
        help="the multi-seed study of every strategy (part V)",
        description="Run the showdown: every strategy on every task and length, over seeds; writes "
                    "results.json, results.csv, summary.md and figures into one folder.",
    )
    p.add_argument("--profile", default="quick", help="quick (default, CPU, ~15 min on 2 cores), "
                   "standard (CPU, every task, about an hour on 2 cores), full (GPU, literature "
                   "scale) or a .toml file")
    p.add_argument("--out", help="study folder (default results/<profile>-<date>)")
    p.add_argument("--resume", action="store_true",
                   help="continue the study in --out: skip finished cells, continue interrupted ones")
    p.add_argument("--executor", default="local", help="local (a process pool, default) or ray")
    p.add_argument("--workers", type=int, help="cells at once (default: one per core on CPU, 4 on a GPU)")
    p.add_argument("--address", help="ray: address of a running cluster (default: start a local one)")
    p.add_argument("--device", help=f"{'|'.join(DEVICES)} for every cell (default: the profile's)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(handler=run_showdown)
    return p


def run_showdown(args: argparse.Namespace) -> int:
    """Handler of ``linalg-rnn showdown``: check, run, print where the results are.

    Returns
    -------
    int
        The exit status.

    Examples
    --------
    >>> from linalg_rnn.cli import build_parser
    >>> run_showdown(build_parser().parse_args(["showdown", "--profile", "nope"]))
    2
    """
    from ._study import run_study

    try:
        study = run_study(args.profile, args.out, resume=args.resume, executor=args.executor,
                          workers=args.workers, address=args.address, device=args.device,
                          progress=False if args.no_progress else None)
    except (ValueError, TypeError, FileNotFoundError, FileExistsError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"linalg-rnn showdown: error: {message}", file=sys.stderr)
        return 2
    if study.interrupted:
        print(f"interrupted; finished cells are saved in {study.out_dir}; rerun with "
              f"--out {study.out_dir} --resume to continue")
        return 130
    counts = {s: sum(1 for r in study.rows if r["status"] == s) for s in ("finished", "diverged", "crashed")}
    print(f"{len(study.rows)} cells ({counts['finished']} finished, {counts['diverged']} diverged, "
          f"{counts['crashed']} crashed); {study.ran} run now")
    print(f"results: {study.out_dir.resolve()}")
    return 0
