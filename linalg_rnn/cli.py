"""The ``linalg-rnn`` command line (also ``python -m linalg_rnn``).

Subcommands:

* ``lessons`` -- run the course, every lesson in order, headless;
* ``train``   -- one training run of the RNN trainer (part IV);
* ``showdown`` -- the multi-seed study of every strategy (part V).

Bad flags exit non-zero with a one-line message before any work.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import course
from ._console import error_line, stop_on_signals
from .rnn import cli_train
from .rnn.showdown import add_showdown_parser


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line: ``linalg-rnn: error: ...``."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand.

    Examples
    --------
    >>> build_parser().parse_args(["lessons", "--quick"]).quick
    True
    """
    parser = _Parser(prog="linalg-rnn", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    lessons = sub.add_parser("lessons", help="run every lesson in order, headless")
    lessons.add_argument("--quick", action="store_true",
                         help="smallest settings (as the tests use); without --quick or --full "
                              "the mode is $LINALG_RNN_MODE, else default")
    lessons.add_argument("--full", action="store_true", help="heavier settings")
    lessons.add_argument("--out", default="course_output", help="folder for output and figures")
    lessons.add_argument("--only", nargs="+", metavar="NN",
                         help="run only these lessons, by number (1 or 01 is lesson 01)")

    cli_train.add_train_parser(sub)
    add_showdown_parser(sub)
    return parser


def _lessons(args: argparse.Namespace) -> int:
    if args.quick and args.full:
        print("linalg-rnn lessons: error: choose at most one of --quick and --full", file=sys.stderr)
        return 2
    try:
        # A flag wins; without one the mode is $LINALG_RNN_MODE's, as for a lesson run as a script.
        mode = "quick" if args.quick else "full" if args.full else course.lesson_mode()
        with stop_on_signals() as stop:  # Ctrl-C/SIGTERM: no lesson starts after the running one
            runs = course.run_course(args.out, mode=mode, only=args.only, stop=stop)
    except (ValueError, OSError) as exc:  # every one of them names the flag or the path, in one line
        print(f"linalg-rnn lessons: error: {error_line(exc)}", file=sys.stderr)
        return 2
    print(f"\n=== summary ({mode} mode) ===")
    for run in runs:
        status = "ok    " if run.ok else f"FAILED (exit {run.returncode})"
        print(f"{status} {run.lesson.name:32s} {run.seconds:7.1f} s  {len(run.figures)} figures")
    out = Path(args.out).resolve()
    print(f"\nOutput and figures are in {out}")
    if stop.signal:
        left = [p.name[:2] for p in course.select_lessons(args.only)][len(runs):]
        print(f"interrupted by {stop.signal}; not run: {', '.join(left) or 'none'}"
              + (f"; run them with --only {' '.join(left)}" if left else ""))
        return stop.exit_status
    return 0 if all(run.ok for run in runs) else 1


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``linalg-rnn`` console script.

    Examples
    --------
    >>> main(["lessons", "--quick", "--full"])
    2
    """
    args = build_parser().parse_args(argv)
    if args.command == "lessons":
        return _lessons(args)
    return args.handler(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
