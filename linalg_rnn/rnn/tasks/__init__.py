"""Sequence tasks with known trivial baselines: copy memory, adding, delayed recall, brackets, digits, MNIST.

Every task draws its batches from a ``torch.Generator`` on the device it is
asked for, and knows three things about itself:

* its loss, written as a weighted sum of per-timestep losses, so truncated
  BPTT can add up the contribution of one window at a time;
* its *baseline loss*: what a model that ignores the input scores, the line
  a trained model has to go below before it has learned anything;
* its accuracy, where accuracy means something (classification tasks).

Shapes follow ``batch_first``: inputs ``x`` are ``(B, T, input_size)``,
targets ``y`` are ``(B, T)`` (class indices for classification tasks, real
numbers for regression tasks), and model outputs are ``(B, T, output_size)``.

The tasks live in private modules (``_base``, ``_synthetic``, ``_brackets``, ``_pixels``) and
are re-exported here, so ``linalg_rnn.rnn.tasks.CopyTask`` is their one public name.
"""

from __future__ import annotations

import math
from pathlib import Path

from ._base import SequenceTask
from ._brackets import BracketsTask
from ._pixels import DigitsTask, MnistTask, read_idx
from ._synthetic import AddingTask, CopyTask, RecallTask

__all__ = [
    "AddingTask",
    "BracketsTask",
    "CopyTask",
    "DigitsTask",
    "MnistTask",
    "RecallTask",
    "SequenceTask",
    "TASK_NAMES",
    "make_task",
    "read_idx",
]

TASK_NAMES = ("copy", "adding", "recall", "brackets", "digits", "mnist")


def make_task(
    name: str,
    seq_len: int | None = None,
    *,
    delay: int | None = None,
    permute: bool = False,
    data_dir: str | Path | None = None,
    seed: int = 0,
) -> SequenceTask:
    """Build a task by name.

    Parameters
    ----------
    name : {"copy", "adding", "recall", "brackets", "digits", "mnist"}
        Which task.
    seq_len : int, optional
        ``T`` for copy (the delay; the sequence has ``T + 20`` steps), adding,
        recall and brackets. Image tasks have a fixed length (64 and 784 pixels) and
        accept only that value or ``None``. Default 50 for the synthetic tasks.
    delay : int, optional
        Recall lag (default ``seq_len // 2``).
    permute : bool, optional
        Pixel permutation for image tasks.
    data_dir : str or Path, optional
        Folder with the MNIST IDX files (required for ``"mnist"``).
    seed : int, optional
        Seed of image tasks' split and permutation.

    Returns
    -------
    SequenceTask

    Raises
    ------
    ValueError
        For an unknown name or a length the task cannot have.

    Examples
    --------
    >>> make_task("recall", 20, delay=5)
    RecallTask(length=20, input_size=1, output_size=1, baseline_loss=1)
    >>> make_task("digits", 32)
    Traceback (most recent call last):
        ...
    ValueError: digits sequences have 64 steps (8x8 pixels); use seq_len 64 or leave it out
    """
    if name not in TASK_NAMES:
        raise ValueError(f"unknown task {name!r}; choose one of {', '.join(TASK_NAMES)}")
    if name in ("digits", "mnist"):
        fixed = 64 if name == "digits" else 784
        if seq_len is not None and seq_len != fixed:
            side = int(math.isqrt(fixed))
            raise ValueError(
                f"{name} sequences have {fixed} steps ({side}x{side} pixels); "
                f"use seq_len {fixed} or leave it out"
            )
        if name == "digits":
            return DigitsTask(permute=permute, seed=seed)
        if data_dir is None:
            raise ValueError("the mnist task reads local IDX files: give data_dir (--data-dir)")
        return MnistTask(data_dir, permute=permute, seed=seed)
    T = 50 if seq_len is None else seq_len
    if name != "recall" and delay is not None:
        raise ValueError(f"delay applies to the recall task only, not {name!r}")
    if name == "copy":
        return CopyTask(T)
    if name == "adding":
        return AddingTask(T)
    if name == "brackets":
        return BracketsTask(T)
    return RecallTask(T, delay)
