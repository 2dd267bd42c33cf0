"""``linalg-rnn train``: one training run from the command line (wraps :func:`~linalg_rnn.rnn.trainer.train`).

Settings come from three layers, later ones winning: the config of the run
being resumed (with ``--resume``: its checkpoint's, which is the source of
truth, or ``config.json`` before the first checkpoint), a TOML or JSON file
(``--config FILE``), and the flags. Everything is checked before any work; a
bad setting prints one line and exits with status 2.

The run directory (``--out``) must be new or empty; a folder holding an
earlier run needs ``--resume`` (continue it) or ``--force`` (start over),
and a folder holding files linalg-rnn did not write needs ``--force``, which
moves the files a run writes into ``replaced-<time>/`` there and says so.
One run at a time holds a folder; ``--resume`` on a folder with no run is
refused. What happened to the folder is printed as ``linalg-rnn train: note:
...`` lines when the run ends (:attr:`~linalg_rnn.rnn.rundir.RunDir.notes`).

Every :class:`~linalg_rnn.rnn.config.TrainConfig` field is a flag of the
same name (``seq_len`` is ``--seq-len``; a bool field ``x`` is ``--x`` and
``--no-x``), made from the field's own help text and default; an error names
the flag the user typed. On ``--resume`` the run folder is opened once: its
checkpoint is read, its config is the base the file and the flags are laid
over, and the result is checked once.

A finished run ends with ``val_loss / baseline`` and what it means: below 1,
the model uses its input; at 1 or above, it has not learned the task yet.

What is trusted: ``--config`` files, ``config.json`` and ``metrics.jsonl`` are
read as data; ``checkpoint.pt`` is read with ``torch.load(weights_only=True)``,
so resuming a run directory from someone else cannot run code (its numbers
are taken as they are).

Exit status: 0 when the run finished (a diverged run has finished: its
divergence is a result; so has a resumed run that had nothing left to do), 1
when a write failed during the run (disk full, ...; the last checkpoint is
intact: fix it and ``--resume``), 2 for a bad setting or a refused run
directory (nothing was done), 130/143 when SIGINT/SIGTERM stopped it after
writing a checkpoint (rerun with ``--resume``).
"""

from __future__ import annotations

import argparse
import json
import sys
import typing
from pathlib import Path
from typing import Any

from .._console import EXIT_STATUS, error_line, format_number
from .config import TrainConfig
from .rundir import RunDir, RunDirWriteError
from .strategies import parse_strategy

__all__ = ["add_train_parser", "config_from_args", "load_config_file", "run_train"]

#: Flags that are not config fields: where the run goes and how it is shown.
_RUN_FLAGS = ("out", "resume", "force", "config", "no_progress")


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _flag_type(annotation: Any) -> type:
    """``int`` for ``int | None``, and so on: the type argparse converts a flag's text to."""
    kinds = [t for t in typing.get_args(annotation) or (annotation,) if t is not type(None)]
    return kinds[0]


def add_train_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``train`` subcommand to the ``linalg-rnn`` parser: one flag per config field.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        From ``parser.add_subparsers``; its ``parser_class`` makes errors one line.

    Returns
    -------
    argparse.ArgumentParser
        The ``train`` parser, with ``handler=run_train`` as its default. A
        config flag not given is ``None``.

    Examples
    --------
    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="linalg-rnn")
    >>> _ = add_train_parser(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["train", "--task", "copy", "--seq-len", "30", "--no-figures"])
    >>> args.task, args.seq_len, args.figures, args.lr, args.handler is run_train
    ('copy', 30, False, None, True)
    """
    p = subparsers.add_parser(
        "train",
        help="train one RNN with one strategy on one task",
        description="Train one RNN with one strategy on one task, writing a run directory.",
    )
    hints = typing.get_type_hints(TrainConfig)
    for f in TrainConfig.options():
        kind = _flag_type(hints[f.name])
        help_text = f.metadata["help"]
        if f.default is not None and "default" not in help_text:
            help_text += f" (default {f.default})"
        if kind is bool:
            p.add_argument(_flag(f.name), dest=f.name, action=argparse.BooleanOptionalAction, default=None,
                           help=help_text)
        else:
            p.add_argument(_flag(f.name), dest=f.name, type=kind, default=None, help=help_text)
    p.add_argument("--out", help="run directory, new or empty (default runs/<task>-<strategy>-seed<k>)")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its checkpoint, whose config is used (flags may "
                        "change only --steps, upwards, --device, --checkpoint-every, --no-figures); "
                        "refused if --out holds no run")
    p.add_argument("--force", action="store_true",
                   help="start a fresh run even if --out holds other files or an earlier run: files a run "
                        "writes are first moved into --out/replaced-<time>/ (nothing is deleted)")
    p.add_argument("--config", metavar="FILE", help="TOML or JSON file of settings (flags win)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(handler=run_train)
    return p


def load_config_file(path: str | Path) -> dict:
    """Read training settings from a TOML (``.toml``) or JSON file.

    Keys are :class:`~linalg_rnn.rnn.config.TrainConfig` fields, with ``-``
    or ``_``; they may sit at the top level or in a ``[train]`` table.

    Parameters
    ----------
    path : str or Path
        The file.

    Returns
    -------
    dict

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If it cannot be parsed.

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = os.path.join(tmp, "run.toml")
    ...     _ = open(p, "w").write('task = "copy"\\nseq-len = 30\\n')
    ...     load_config_file(p)
    {'task': 'copy', 'seq_len': 30}
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file {path} does not exist")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".json":
            values = json.loads(text)
        else:
            try:
                import tomllib
            except ModuleNotFoundError:  # Python 3.10
                import tomli as tomllib
            values = tomllib.loads(text)
    except ValueError as exc:  # JSONDecodeError and TOMLDecodeError are ValueErrors
        raise ValueError(f"cannot parse config file {path}: {exc}") from None
    if not isinstance(values, dict):
        raise ValueError(f"config file {path} must hold a table of settings")
    if isinstance(values.get("train"), dict) and len(values) == 1:
        values = values["train"]
    return {k.replace("-", "_"): v for k, v in values.items()}


def _given(args: argparse.Namespace) -> dict:
    """The config flags the user typed (a flag not given is None)."""
    return {f.name: getattr(args, f.name) for f in TrainConfig.options() if getattr(args, f.name) is not None}


def _out_dir(args: argparse.Namespace, values: dict) -> Path:
    """``--out``, or ``runs/<task>-<strategy>-seed<k>`` from the settings (defaults where unset)."""
    if args.out == "":
        raise ValueError("--out is empty; name a folder for the run")
    if args.out is not None:
        return Path(args.out)
    c = TrainConfig.from_dict(values)
    strategy = str(parse_strategy(c.strategy)).replace("+", "_")  # the canonical order names the folder
    return Path("runs") / f"{c.task}-{strategy}-seed{c.seed}"


def config_from_args(args: argparse.Namespace, saved: dict | None = None) -> tuple[TrainConfig, Path]:
    """Lay the ``--config`` file and the flags over ``saved`` (a resumed run's config), and check once.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed ``train`` flags.
    saved : dict, optional
        The config of the run being resumed
        (:attr:`~linalg_rnn.rnn.rundir.RunDir.saved_config`).

    Returns
    -------
    tuple
        ``(config, out_dir)``, the config resolved (its device chosen), with
        errors naming the flags the user typed.

    Raises
    ------
    ValueError, TypeError, FileNotFoundError
        For any bad setting.

    Examples
    --------
    >>> from linalg_rnn.cli import build_parser
    >>> args = build_parser().parse_args(
    ...     ["train", "--task", "recall", "--seq-len", "20", "--strategy", "clip", "--device", "cpu"])
    >>> config, out = config_from_args(args)
    >>> config.task, config.seq_len, config.strategy, out.parent.name
    ('recall', 20, 'clip', 'runs')
    """
    flags = _given(args)
    values = {**(saved or {}), **(load_config_file(args.config) if args.config else {}), **flags}
    out = _out_dir(args, values)
    config = TrainConfig.from_dict(values).resolved(flags={name: _flag(name) for name in flags})
    return config, out


def _reading(result) -> str:
    """The last line: ``val_loss / baseline`` and what it says."""
    val_loss = result.final.get("val_loss") if not result.diverged else None
    if val_loss is None:
        return "val_loss / baseline: none (the run diverged before its last validation)"
    ratio = val_loss / result.baseline_loss
    meaning = ("below the baseline: the model uses its input" if ratio < 1
               else "at or above the baseline: it has not learned the task yet")
    return f"val_loss / baseline = {format_number(ratio)}: {meaning}"


def run_train(args: argparse.Namespace) -> int:
    """Handler of ``linalg-rnn train``: check, train, print a summary.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed flags.

    Returns
    -------
    int
        The exit status (0 finished, 1 a write failed mid-run, 2 bad setting or refused
        run directory, 130/143 interrupted).

    Examples
    --------
    A bad setting is refused with exit status 2 before any work:

    >>> from linalg_rnn.cli import build_parser
    >>> args = build_parser().parse_args(["train", "--task", "recall", "--seq-len", "0"])
    >>> run_train(args)
    2
    """
    from .trainer import train

    rundir = None
    try:
        if args.resume:  # the folder first: its checkpoint, read once, holds the run's config
            file = load_config_file(args.config) if args.config else {}
            rundir = RunDir.open(_out_dir(args, {**file, **_given(args)}), resume=True, force=args.force)
            config, out = config_from_args(args, rundir.saved_config)
            rundir.accept(config)
        else:  # the config first: a bad flag touches no folder
            config, out = config_from_args(args)
            rundir = RunDir.open(out, config, force=args.force)
        result = train(config, rundir, progress=False if args.no_progress else None)
    except (ValueError, TypeError, OSError) as exc:
        _print_notes(rundir)
        print(f"linalg-rnn train: error: {error_line(exc)}", file=sys.stderr)
        return 1 if isinstance(exc, RunDirWriteError) else 2
    finally:
        if rundir is not None:
            rundir.close()
    _print_notes(rundir)
    if result.interrupted:
        print(f"interrupted by {result.interrupted} at step {result.steps_done}; checkpoint written "
              f"to {out}; rerun with --resume to continue")
        return EXIT_STATUS[result.interrupted]
    print(f"{config.task} / {config.strategy} on {result.device}: {result.steps_done} steps")
    if result.diverged:
        print(f"  diverged at step {result.divergence_step} (NaN/inf loss or gradient)")
    for key in ("train_loss", "val_loss", "val_accuracy", "trivial_val_loss", "test_loss", "test_accuracy",
                "test_trivial_loss", "grad_norm", "w_hh_spectral_norm", "orthogonality_error", "skew_norm",
                "params"):
        if key in result.final:
            print(f"  {key:20s} {format_number(result.final[key], '.6g')}")
    print(f"  {'baseline_loss':20s} {format_number(result.baseline_loss, '.6g')}")
    print(f"run directory: {out}")
    print(_reading(result))
    return 0


def _print_notes(rundir: RunDir | None) -> None:
    for note in rundir.notes if rundir is not None else []:
        print(f"linalg-rnn train: note: {note}", file=sys.stderr)
