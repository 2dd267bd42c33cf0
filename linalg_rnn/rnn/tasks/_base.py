"""The task base class and the rules every task answers before it is built.

:class:`SequenceTask` documents both sides of a task: the built task that
draws batches and scores outputs, and the class-level rules (lengths,
options) that :func:`~linalg_rnn.rnn.tasks.task_spec`, ``make_task`` and
``TrainConfig.resolved`` check a config by -- written once, in the task's class.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F

from ..._validation import check_bool, check_int, check_path


class TaskOption(NamedTuple):
    """An option a task may read besides ``seq_len`` and ``seed``.

    Attributes
    ----------
    unset : object
        The value that means "not given" (it applies to every task).
    check : callable
        ``check(value, name)``: the value's type rule, returning it normalized.
        The task that reads the option adds its own rules in ``check_options``.
    """

    unset: Any
    check: Callable[[Any, str], Any]


def _at_least_one(value: Any, name: str) -> int:
    return check_int(value, name, minimum=1)


#: The options a task may read, by name; each is also a ``TrainConfig`` field.
TASK_OPTIONS: dict[str, TaskOption] = {
    "delay": TaskOption(None, _at_least_one),  # the lag of delayed recall
    "permute": TaskOption(False, check_bool),  # a fixed random pixel order
    "data_dir": TaskOption(None, check_path),  # the folder with the MNIST files
}


@dataclass(frozen=True)
class TaskSpec:
    """A task's checked arguments: what :meth:`build` will make, known before it is made.

    Attributes
    ----------
    task : type
        The :class:`SequenceTask` subclass.
    seq_len : int
        ``T``, the default filled in.
    length : int
        Timesteps the model sees (``task.sequence_length(seq_len)``).
    options : dict
        The options the task reads, checked, defaults filled in.

    Examples
    --------
    >>> from linalg_rnn.rnn.tasks import RecallTask
    >>> spec = RecallTask.spec(20)
    >>> spec.length, spec.options, spec.input_size
    (20, {'delay': 10}, 1)
    >>> spec.build()
    RecallTask(length=20, input_size=1, output_size=1, baseline_loss=1)
    """

    task: type[SequenceTask]
    seq_len: int
    length: int
    options: dict[str, Any]

    @property
    def input_size(self) -> int:
        """Features per timestep of the input."""
        return self.task.input_size

    @property
    def output_size(self) -> int:
        """Outputs per timestep (classes, or 1 for regression)."""
        return self.task.output_size

    def build(self, seed: int = 0) -> SequenceTask:
        """The task itself (``seed`` seeds the split and permutation of image tasks)."""
        return self.task.build(self.seq_len, seed=seed, **self.options)


class SequenceTask:
    """Base class: a sequence task with a per-timestep weighted loss.

    A task has two sides. Built (``CopyTask(30)``), it draws batches and
    scores outputs: :meth:`sample`, :meth:`loss`, :attr:`baseline_loss`; its
    constructor sets ``length`` (the timesteps fed to the model) and the
    per-timestep ``step_weights``. Before it is built -- while a config is
    checked, without loading data or allocating a tensor -- its
    *class* answers, through class attributes and class methods:

    * ``default_seq_len``, ``min_seq_len`` and :meth:`check_seq_len`: the
      ``seq_len`` ``T`` it is built with (copy's delay; the image tasks'
      fixed pixel count);
    * :meth:`sequence_length`: the timesteps the model sees for that ``T``
      (copy: ``T + 20``);
    * ``options`` and :meth:`check_options`: which of the :data:`TASK_OPTIONS`
      (``delay``, ``permute``, ``data_dir``) it reads, and their rules (a
      delay below ``T``, a data folder holding the files), defaults filled;
    * ``input_size``, ``output_size``, ``classification``: its data's shapes;
    * :meth:`build`: the task itself, from the checked values.

    :meth:`spec` runs the checks and returns a :class:`TaskSpec`;
    :func:`~linalg_rnn.rnn.tasks.task_spec` first checks each option's type
    and refuses an option the task does not read.

    To add a task: subclass, set ``name`` and the class attributes above,
    override the class methods whose default does not fit, implement
    :meth:`sample` and :attr:`baseline_loss`, and list the class in
    :data:`~linalg_rnn.rnn.tasks.TASKS`. Nothing in the config or the command
    line changes. A new option is an entry of :data:`TASK_OPTIONS` plus a
    ``TrainConfig`` field of the same name.

    Notes
    -----
    The loss of a batch is

    .. math:: L = \\frac{1}{N} \\sum_{i=1}^{N} \\sum_t w_t \\, \\operatorname{loss}(\\hat y_{i,t}, y_{i,t})

    over the :math:`N` sequences of the batch, with :math:`\\operatorname{loss}`
    the cross-entropy (classification) or the squared error (regression). Because
    it is a sum over :math:`t`, the loss of a window :math:`t_0 \\le t < t_1` is
    the same sum restricted to the window, and the windows add up to :math:`L`
    exactly.
    """

    name: str = "task"
    #: Timesteps fed to the model, set by the constructor.
    length: int
    #: Per-timestep loss weights, shape ``(length,)``, summing to 1.
    step_weights: torch.Tensor
    #: Features per timestep of the input; outputs per timestep; class labels or reals.
    input_size: int
    output_size: int
    classification: bool
    #: ``seq_len`` when none is given, and the smallest one the task can have.
    default_seq_len: int = 50
    min_seq_len: int = 1
    #: The :data:`TASK_OPTIONS` this task reads.
    options: tuple[str, ...] = ()
    #: Plural name of a family of tasks sharing options, for messages ("image tasks").
    family: str | None = None

    @classmethod
    def check_seq_len(cls, seq_len: int | None) -> int:
        """``T`` to build with: ``seq_len`` checked, or ``default_seq_len`` for ``None``.

        Raises
        ------
        TypeError, ValueError
            For a non-integer or one below ``min_seq_len``.
        """
        T = cls.default_seq_len if seq_len is None else seq_len
        return check_int(T, "T (seq_len)", minimum=cls.min_seq_len)

    @classmethod
    def sequence_length(cls, seq_len: int) -> int:
        """Timesteps the model sees for a checked ``seq_len`` (here: ``seq_len`` itself)."""
        return seq_len

    @classmethod
    def check_options(cls, seq_len: int, **options: Any) -> dict[str, Any]:
        """This task's rules for its options, given ``T``; returns them with defaults filled.

        ``options`` holds only options this task reads (``cls.options``), each
        already of the right type (:data:`TASK_OPTIONS`); those not given are
        absent. The base task reads none.
        """
        return dict(options)

    @classmethod
    def spec(cls, seq_len: int | None = None, **options: Any) -> TaskSpec:
        """Check ``seq_len`` and the options by this task's rules, building nothing.

        Returns
        -------
        TaskSpec
        """
        T = cls.check_seq_len(seq_len)
        return TaskSpec(cls, T, cls.sequence_length(T), cls.check_options(T, **options))

    @classmethod
    def build(cls, seq_len: int, *, seed: int = 0, **options: Any) -> SequenceTask:
        """The task from checked arguments (what :meth:`TaskSpec.build` calls)."""
        return cls(seq_len, **options)

    def sample(
        self, batch: int, generator: torch.Generator, *, split: str = "train"
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw one batch ``(x, y)`` on the generator's device."""
        raise NotImplementedError

    @property
    def baseline_loss(self) -> float:
        """The loss of the best model that ignores its input."""
        raise NotImplementedError

    def validation_batch(self, batch: int, seed: int, device: torch.device | str = "cpu"):
        """A fixed validation batch, drawn from its own generator seeded with ``seed``.

        Parameters
        ----------
        batch : int
            Number of sequences (ignored by tasks with a fixed validation split).
        seed : int
            Seed of the private generator, so validation never consumes the
            training generator's random numbers.
        device : torch.device or str
            Where the batch lives.

        Returns
        -------
        tuple of torch.Tensor
            ``(x, y)`` as from :meth:`sample`.
        """
        generator = torch.Generator(device=device).manual_seed(seed)
        return self.sample(batch, generator, split="val")

    def step_losses(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Per-example, per-timestep losses, shape ``(B, w)``, for outputs ``(B, w, C)``."""
        if self.classification:
            return F.cross_entropy(output.transpose(1, 2), target, reduction="none")
        return (output.squeeze(-1) - target) ** 2

    def loss(self, output: torch.Tensor, target: torch.Tensor, start: int = 0) -> torch.Tensor:
        """The weighted loss of outputs for timesteps ``start .. start + w - 1``.

        Parameters
        ----------
        output : torch.Tensor
            Model outputs for a window of ``w`` timesteps, shape ``(B, w, output_size)``.
        target : torch.Tensor
            The *full* targets of the batch, shape ``(B, T)``.
        start : int, optional
            First timestep of the window (0 for the whole sequence).

        Returns
        -------
        torch.Tensor
            A scalar: this window's share of the batch loss (the whole loss
            when the window is the whole sequence).
        """
        w = output.shape[1]
        weights = self._weights_on(output.device)[start : start + w]
        return (self.step_losses(output, target[:, start : start + w]) * weights).sum(1).mean()

    def _weights_on(self, device: torch.device) -> torch.Tensor:
        """``step_weights`` on ``device``, copied there once (no host-to-device copy per step)."""
        cache = self.__dict__.setdefault("_weights_cache", {})
        key = str(device)
        if key not in cache:
            cache[key] = self.step_weights.to(device)
        return cache[key]

    def accuracy(self, output: torch.Tensor, target: torch.Tensor) -> float | None:
        """Fraction of weighted positions predicted right, or ``None`` for regression tasks."""
        if not self.classification:
            return None
        return self.accuracy_tensor(output, target).item()

    def accuracy_tensor(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """:meth:`accuracy` as a 0-d tensor on the output's device (no host synchronization).

        The mask of scored positions stays on the device: no boolean
        indexing, whose result size a GPU would have to report to the host.
        """
        scored = (self._weights_on(output.device) > 0).to(output.dtype)
        correct = (output.argmax(-1) == target).to(output.dtype)
        return (correct * scored).sum() / (scored.sum() * output.shape[0])

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(length={self.length}, input_size={self.input_size}, "
            f"output_size={self.output_size}, baseline_loss={self.baseline_loss:.6g})"
        )
