"""``linalg-rnn showdown``: run a study from the command line (wraps :func:`~._study.run_study`).

Exit status: 0 when every cell has a result (diverged and crashed cells
are results), 2 for a bad flag or profile (one line, before any work),
130/143 when Ctrl-C/SIGTERM stopped it (then ``--out DIR --resume`` continues).
"""

from __future__ import annotations

import argparse
import sys

from ..._console import EXIT_STATUS, error_line, unknown_name
from ..._validation import check_int
from ..config import DEVICES
from ._executors import DEFAULT_BATCH_MEMBERS, EXECUTORS

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
    (None, 2, 'local', True)
    """
    p = subparsers.add_parser(
        "showdown",
        help="the multi-seed study of every strategy (part V)",
        description="Run the showdown: every strategy on every task and length, over seeds; writes "
                    "results.json, results.csv, summary.md and figures into one folder.",
    )
    p.add_argument("--profile", help="quick (the default for a new study; CPU, short lengths), "
                   "standard (CPU, every task), full (GPU, literature scale) or a .toml file; with "
                   "--resume, the study's own profile by default. A study's measured wall time is in "
                   "the meta of its results.json and on its results page")
    p.add_argument("--out", help="study folder (default results/<profile>-<date>)")
    p.add_argument("--resume", action="store_true",
                   help="continue the study in --out: skip finished cells, continue interrupted ones")
    p.add_argument("--executor", default="local", help=f"{' or '.join(EXECUTORS)} (a process pool, "
                   "the default, or a Ray cluster)")
    p.add_argument("--workers", type=int, help="cells at once (default: one per core on CPU, 4 on a GPU)")
    p.add_argument("--address", help="ray: address of a running cluster (default: start a local one)")
    p.add_argument("--device", help=f"{', '.join(DEVICES)}: for every cell (default: the profile's)")
    p.add_argument("--batch-members", type=int, metavar="N",
                   help=f"train up to N cells of one grid point (seeds, learning rates) together as one "
                   f"batched model (default {DEFAULT_BATCH_MEMBERS}; with --resume, the study's own); 0 or "
                   "1: one run at a time (batched runs match it to float32 rounding per step; over "
                   "thousands of steps the two end apart seed by seed, not in their spread). "
                   "LSTM and modReLU cells always run one at a time")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(handler=run_showdown)
    return p


def run_showdown(args: argparse.Namespace) -> int:
    """Handler of ``linalg-rnn showdown``: check, run, print where the results are.

    Returns
    -------
    int
        The exit status: 0, 2 (bad input), 130 (SIGINT) or 143 (SIGTERM).

    Examples
    --------
    >>> from linalg_rnn.cli import build_parser
    >>> run_showdown(build_parser().parse_args(["showdown", "--profile", "nope"]))
    2
    """
    from ._executors import Executor
    from ._study import run_study

    try:
        _check_flags(args)
        members = None if args.batch_members is None else max(1, args.batch_members)
        executor = Executor(kind=args.executor, workers=args.workers, address=args.address,
                            device=args.device, members=members)
        study = run_study(args.profile, args.out, resume=args.resume, executor=executor,
                          progress=False if args.no_progress else None)
    except (ValueError, TypeError, FileNotFoundError, FileExistsError) as exc:
        print(f"linalg-rnn showdown: error: {error_line(exc)}", file=sys.stderr)
        return 2
    done = len(study.rows)
    counts = {s: sum(1 for r in study.rows if r["status"] == s)
              for s in ("finished", "diverged", "crashed", "interrupted")}
    sitting = (f"{study.ran} run in this sitting"
               + (f", {study.done_before} done in earlier ones" if study.done_before else ""))
    if study.interrupted:
        earlier = f" ({study.done_before} in earlier sittings)" if study.done_before else ""
        print(f"stopped by {study.interrupted}: {counts['interrupted']} cells stopped mid-run with a "
              f"checkpoint, {study.ran - counts['interrupted']} got their result in this sitting{earlier}; "
              f"everything is saved in {study.out_dir}")
        print(f"continue with: linalg-rnn showdown --out {study.out_dir} --resume")
        return EXIT_STATUS[study.interrupted]
    sweep = sum(1 for r in study.rows if r["phase"] == "sweep")
    phases = f" ({sweep} sweep, {done - sweep} main)" if sweep else ""
    print(f"{done} cells{phases}: {counts['finished']} finished, {counts['diverged']} diverged, "
          f"{counts['crashed']} crashed; {sitting}")
    print(f"results: {study.out_dir.resolve()}")
    return 0


def _check_flags(args: argparse.Namespace) -> None:
    """The flags' own values, refused in messages that name the flag (the Python API checks them again)."""
    if args.executor not in EXECUTORS:
        raise unknown_name("executor", args.executor, EXECUTORS, "--executor")
    if args.workers is not None:
        check_int(args.workers, "--workers", minimum=1)
    if args.batch_members is not None:
        check_int(args.batch_members, "--batch-members", minimum=0)
    if args.device is not None and args.device not in DEVICES:
        raise unknown_name("device", args.device, DEVICES, "--device")
