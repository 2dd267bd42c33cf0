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
refused. What happened is printed as ``linalg-rnn train: note: ...`` lines
(see :mod:`~linalg_rnn.rnn.rundir`).

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
import dataclasses
import json
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .config import DEVICES, TrainConfig, resolve_device
from .rundir import RunDirNote, RunDirWriteError, saved_config
from .strategies import STRATEGY_NAMES
from .tasks import TASK_NAMES

__all__ = ["add_train_parser", "config_from_args", "load_config_file", "run_train"]


def add_train_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``train`` subcommand to the ``linalg-rnn`` parser.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        From ``parser.add_subparsers``; its ``parser_class`` makes errors one line.

    Returns
    -------
    argparse.ArgumentParser
        The ``train`` parser, with ``handler=run_train`` as its default.

    Examples
    --------
    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="linalg-rnn")
    >>> _ = add_train_parser(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["train", "--task", "copy", "--seq-len", "30"])
    >>> args.task, args.seq_len, args.handler is run_train
    ('copy', 30, True)
    """
    p = subparsers.add_parser(
        "train",
        help="train one RNN with one strategy on one task",
        description="Train one RNN with one strategy on one task, writing a run directory.",
    )
    strategies = "|".join(STRATEGY_NAMES)
    p.add_argument("--task", help=f"{'|'.join(TASK_NAMES)} (default recall)")
    p.add_argument("--seq-len", type=int, help="T of the task (copy: delay; default 50)")
    p.add_argument("--strategy", help=f"{strategies}; combine with +, e.g. orthogonal_init+clip")
    p.add_argument("--clip-norm", type=float, help="clip: maximum gradient norm (default 1.0)")
    p.add_argument("--clip-value", type=float, help="clip: clamp each gradient entry instead")
    p.add_argument("--tbptt-window", type=int, help="tbptt: window k (default a quarter of the sequence)")
    p.add_argument("--proj-every", type=int, help="qr/polar_projection: every N steps (default 5)")
    p.add_argument("--tbptt-update", choices=("window", "batch"),
                   help="tbptt: an update per window (default, the textbook algorithm) or one per batch")
    p.add_argument("--init-scheme",
                   help="orthogonal_init, expm, cayley: orthogonal|identity|henaff|cayley (default "
                        "orthogonal for orthogonal_init; qr and haar are aliases of orthogonal); with "
                        "expm/cayley, henaff and cayley start the skew matrix B at the scheme's angles, "
                        "base I")
    p.add_argument("--orth-lr", type=float,
                   help="expm/cayley: learning rate of the parametrization (default lr/10)")
    p.add_argument("--rebase-every", type=int,
                   help="expm/cayley: fold map(B) into the base every K steps (default never)")
    p.add_argument("--activation", help="tanh RNNs: tanh|modrelu (default tanh)")
    p.add_argument("--lstm-init", help="lstm: forget_bias|chrono (default forget_bias)")
    p.add_argument("--forget-bias", type=float, help="lstm: the forget gate's starting bias (default 1)")
    p.add_argument("--hidden", type=int, help="hidden size H (default 64)")
    p.add_argument("--batch", type=int, help="batch size N (default 32)")
    p.add_argument("--lr", type=float, help="learning rate (default 1e-3)")
    p.add_argument("--optimizer", help="adam|rmsprop|sgd (default adam)")
    p.add_argument("--steps", type=int, help="optimizer steps (default 200)")
    p.add_argument("--seed", type=int, help="random seed (default 0)")
    p.add_argument("--device", help=f"{'|'.join(DEVICES)} (default auto: cuda, then mps, then cpu)")
    p.add_argument("--out", help="run directory, new or empty (default runs/<task>-<strategy>-seed<k>)")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its checkpoint, whose config is used (flags may "
                        "change only --steps, upwards, --device, --checkpoint-every, --no-figures); "
                        "refused if --out holds no run")
    p.add_argument("--force", action="store_true",
                   help="start a fresh run even if --out holds other files or an earlier run: files a run "
                        "writes are first moved into --out/replaced-<time>/ (nothing is deleted)")
    p.add_argument("--config", metavar="FILE", help="TOML or JSON file of settings (flags win)")
    p.add_argument("--delay", type=int, help="recall: the lag d (default seq_len // 2)")
    p.add_argument("--permute", action="store_true", default=None, help="digits/mnist: permuted pixels")
    p.add_argument("--data-dir", help="mnist: folder with the IDX files")
    p.add_argument("--model", help="auto|fused|loop (default auto)")
    p.add_argument("--init-gain", type=float, help="multiply the initial W_hh (default 1)")
    p.add_argument("--log-every", type=int, help="metrics row every N steps (default 1)")
    p.add_argument("--eval-every", type=int, help="validation every N steps (default 50)")
    p.add_argument("--spectral-every", type=int, help="SVD/eigenvalue metrics every N steps (default 10)")
    p.add_argument("--checkpoint-every", type=int, help="checkpoint every N steps (default 100)")
    p.add_argument("--lag-grads-every", type=int, help="log dL/dh_t per lag every N steps (0: never)")
    p.add_argument("--norm-every", type=int,
                   help="||W_hh||_2 (one SVD) every N steps (default: as --spectral-every)")
    p.add_argument("--allow-tf32", action="store_true", default=None,
                   help="CUDA: matrix products and cuDNN may use TF32 (default off: FP32 everywhere)")
    p.add_argument("--deterministic", action=argparse.BooleanOptionalAction, default=None,
                   help="deterministic algorithms (default on for CUDA, off elsewhere)")
    p.add_argument("--val-batch", type=int, help="validation batch size (default 256)")
    p.add_argument("--no-figures", action="store_true", help="do not write curves.png")
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


def _default_out(config: TrainConfig) -> Path:
    return Path("runs") / f"{config.task}-{config.strategy.replace('+', '_')}-seed{config.seed}"


def config_from_args(args: argparse.Namespace) -> tuple[TrainConfig, Path]:
    """Merge saved config (``--resume``), ``--config`` file and flags into a checked config.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed ``train`` flags.

    Returns
    -------
    tuple
        ``(config, out_dir)``, the config resolved and its device checked.

    Raises
    ------
    ValueError, FileNotFoundError
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
    if args.out == "":
        raise ValueError("--out is empty; name a folder for the run")
    values = load_config_file(args.config) if args.config else {}
    # A flag's dest is its TrainConfig field, and a flag not given is None (the switches
    # too: store_true and --[no-]deterministic default to None); figures is --no-figures.
    for f in dataclasses.fields(TrainConfig):
        value = getattr(args, f.name, None)
        if value is not None and not f.name.startswith("_"):
            values[f.name] = value
    if args.no_figures:
        values["figures"] = False
    out = Path(args.out) if args.out is not None else None
    if args.resume:  # the run's own config first, then the file and the flags
        if out is None:
            out = _default_out(TrainConfig.from_dict(values).resolved())
        values = {**(saved_config(out) or {}), **values}
    config = TrainConfig.from_dict(values).resolved()
    resolve_device(config.device)
    return config, out if out is not None else _default_out(config)


@contextmanager
def _notes_to_stderr() -> Iterator[None]:
    """Print :class:`~linalg_rnn.rnn.rundir.RunDirNote` warnings as one ``note:`` line each."""
    with warnings.catch_warnings():
        warnings.simplefilter("always", RunDirNote)
        show = warnings.showwarning

        def show_note(message, category, filename, lineno, file=None, line=None):
            if issubclass(category, RunDirNote):
                print(f"linalg-rnn train: note: {message}", file=sys.stderr)
            else:
                show(message, category, filename, lineno, file, line)

        warnings.showwarning = show_note
        yield


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

    try:
        config, out = config_from_args(args)
        with _notes_to_stderr():
            result = train(config, out, resume=args.resume, force=args.force,
                           progress=False if args.no_progress else None)
    except (ValueError, TypeError, OSError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"linalg-rnn train: error: {message}", file=sys.stderr)
        return 1 if isinstance(exc, RunDirWriteError) else 2
    if result.interrupted:
        print(f"interrupted by {result.interrupted} at step {result.steps_done}; checkpoint written "
              f"to {out}; rerun with --resume to continue")
        return 130 if result.interrupted == "SIGINT" else 143
    f = result.final
    print(f"{config.task} / {config.strategy} on {result.device}: {result.steps_done} steps")
    if result.diverged:
        print(f"  diverged at step {result.divergence_step} (NaN/inf loss or gradient)")
    for key in ("train_loss", "val_loss", "val_accuracy", "grad_norm", "w_hh_spectral_norm",
                "orthogonality_error"):
        if key in f:
            print(f"  {key:20s} {f[key]:.6g}")
    print(f"  {'baseline_loss':20s} {result.baseline_loss:.6g}")
    print(f"run directory: {out}")
    return 0
