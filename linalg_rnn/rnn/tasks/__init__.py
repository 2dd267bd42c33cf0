"""Sequence tasks with known trivial baselines: copy memory, adding, delayed recall, digits, MNIST.

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

Each task's class also owns its lengths and rules -- the default ``seq_len``,
the sequence length the model sees, which options (``delay``, ``permute``,
``data_dir``) it reads and what they may be -- so a config can be checked
before anything is built: :func:`task_spec` answers, :func:`make_task` builds
from its answer, and :class:`~linalg_rnn.rnn.config.TrainConfig` asks it. To
add a task, see :class:`SequenceTask` and list the class in
:data:`TASKS`.

The tasks live in private modules (``_base``, ``_synthetic``, ``_pixels``) and
are re-exported here, so ``linalg_rnn.rnn.tasks.CopyTask`` is their one public name.
"""

from __future__ import annotations

from typing import Any

from ..._validation import check_choice
from ._base import TASK_OPTIONS, SequenceTask, TaskOption, TaskSpec
from ._pixels import DigitsTask, MnistTask, read_idx
from ._synthetic import AddingTask, CopyTask, RecallTask

__all__ = [
    "AddingTask",
    "CopyTask",
    "DigitsTask",
    "MnistTask",
    "RecallTask",
    "SequenceTask",
    "TASKS",
    "TASK_NAMES",
    "TASK_OPTIONS",
    "TaskOption",
    "TaskSpec",
    "make_task",
    "read_idx",
    "task_spec",
]

#: Every task by name: the one list to extend when a task is added.
TASKS: dict[str, type[SequenceTask]] = {
    cls.name: cls for cls in (CopyTask, AddingTask, RecallTask, DigitsTask, MnistTask)
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
    name : {"copy", "adding", "recall", "digits", "mnist"}
        Which task.
    seq_len : int, optional
        ``T`` for copy (the delay; the sequence has ``T + 20`` steps), adding
        and recall. Image tasks have a fixed length (64 and 784 pixels) and
        accept only that value or ``None``. Default 50 for the synthetic tasks.
    seed : int, optional
        Seed of image tasks' split and permutation.
    **options
        The :data:`TASK_OPTIONS`: ``delay`` (recall lag, default
        ``seq_len // 2``), ``permute`` (pixel permutation for image tasks),
        ``data_dir`` (folder with the MNIST IDX files, required for ``"mnist"``).

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
