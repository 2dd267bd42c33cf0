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
from ._splits import check_split, held_out_seed


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
        """Features per timestep of the input (``task.input_size_for(seq_len)``)."""
        return self.task.input_size_for(self.seq_len)

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
    scores outputs: :meth:`sample` (training batches), :meth:`held_out` (the
    fixed validation and test sets), :meth:`loss`, :meth:`accuracy`,
    :attr:`baseline_loss` and :meth:`trivial_loss`; its constructor sets
    ``length`` (the timesteps fed to the model) and the per-timestep
    ``step_weights``. Positions that carry loss and positions that are scored
    are two things: ``step_weights > 0`` says which carry loss,
    :attr:`scored_steps` which count for the accuracy (copy: all ``T + 20``
    carry loss, only the last 10 are scored). Before it is built -- while a config is
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
    * ``input_size`` (or :meth:`input_size_for` when it depends on ``T``),
      ``output_size``, ``classification``: its data's shapes;
    * :meth:`build`: the task itself, from the checked values.

    :meth:`spec` runs the checks and returns a :class:`TaskSpec`;
    :func:`~linalg_rnn.rnn.tasks.task_spec` first checks each option's type
    and refuses an option the task does not read.

    To add a task: subclass, set ``name`` and the class attributes above,
    override the class methods whose default does not fit, implement
    :meth:`sample`, :attr:`baseline_loss` and :meth:`trivial_output` (and
    :meth:`held_out` for a task with a data set), and list the class in
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
    def input_size_for(cls, seq_len: int) -> int:
        """Features per timestep of the input for a checked ``seq_len`` (here: ``input_size``)."""
        return cls.input_size

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
        """Draw one batch ``(x, y)`` on the generator's device.

        ``split`` picks the part of a data set to draw from (``"train"``,
        ``"validation"``, ``"test"``); a generated task has one distribution
        and ignores it.
        """
        raise NotImplementedError

    @property
    def baseline_loss(self) -> float:
        """The expected loss of the best model that ignores its input."""
        raise NotImplementedError

    def held_out(self, split: str, n: int, seed: int,
                 device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
        """The fixed validation or test set: select settings on one, report numbers on the other.

        Parameters
        ----------
        split : {"validation", "test"}
            Which held-out set.
        n : int
            Number of sequences, at least 1. A data set ignores it and returns
            its whole held-out split (see its class).
        seed : int
            The run's seed, ``0 <= seed <= 2**64 - 1``. A generated task draws
            from a generator of its own seeded with
            :func:`~linalg_rnn.rnn.tasks.held_out_seed` ``(seed, split)``; a
            data set's split does not depend on it.
        device : torch.device or str, optional
            Where the batch lives. It is drawn on the CPU, so it is the same
            on every device.

        Returns
        -------
        tuple of torch.Tensor
            ``(x, y)`` as from :meth:`sample`.

        Raises
        ------
        ValueError, TypeError
            For an unknown split, ``n < 1`` or a seed out of range, before
            anything is drawn.

        Notes
        -----
        The two streams of one seed come from two different generators, and
        neither is the training generator of any run (which the trainer seeds
        with ``seed + 1 <= 2**63``, below every held-out seed): see
        :func:`~linalg_rnn.rnn.tasks.held_out_seed`.

        Examples
        --------
        >>> from linalg_rnn.rnn.tasks import AddingTask
        >>> task = AddingTask(10)
        >>> xv, yv = task.held_out("validation", 4096, seed=0)
        >>> xt, yt = task.held_out("test", 4096, seed=0)
        >>> xv.shape, bool(torch.equal(xv, task.held_out("validation", 4096, seed=0)[0]))
        (torch.Size([4096, 10, 2]), True)
        >>> bool(torch.equal(xv, xt))
        False
        """
        split, n, seed = self._check_held_out(split, n, seed)
        generator = torch.Generator().manual_seed(held_out_seed(seed, split))
        x, y = self.sample(n, generator)
        return x.to(device), y.to(device)

    @staticmethod
    def _check_held_out(split: str, n: int, seed: int) -> tuple[str, int, int]:
        """The arguments of :meth:`held_out`, checked (one-line errors naming the argument)."""
        split = check_split(split)
        n = check_int(n, "n", minimum=1)
        held_out_seed(seed, split)  # checks the seed's type and range
        return split, n, seed

    def validation_batch(self, batch: int, seed: int, device: torch.device | str = "cpu"):
        """``held_out("validation", batch, seed, device)``: the name the trainer used before :meth:`held_out`.

        Kept while the trainer calls it; new code calls :meth:`held_out`,
        which also gives the test set.
        """
        return self.held_out("validation", batch, seed, device)

    def trivial_output(self, target: torch.Tensor) -> torch.Tensor:
        """What the best input-ignoring model outputs for a batch with targets ``target``.

        Shape ``(B, T, output_size)``: log-probabilities for a classification
        task (the model's logits), the constant prediction for a regression
        task. It depends on ``target`` only through its shape and device.
        """
        raise NotImplementedError

    def trivial_loss(self, target: torch.Tensor) -> float:
        """The loss of the best input-ignoring model on exactly these targets.

        Parameters
        ----------
        target : torch.Tensor
            Targets of a batch, shape ``(B, T)`` (e.g. of a held-out set).

        Returns
        -------
        float
            ``loss(trivial_output(target), target)``: the number to report
            beside a model's loss on the same batch. :attr:`baseline_loss` is
            its expected value; on a finite batch the two differ by sampling
            noise (for adding on 256 sequences by several per cent).

        Examples
        --------
        >>> from linalg_rnn.rnn.tasks import AddingTask
        >>> task = AddingTask(10)
        >>> _, y = task.held_out("test", 4096, seed=0)
        >>> task.trivial_loss(y) == float(((y[:, -1] - 1) ** 2).mean())
        True
        """
        with torch.no_grad():
            return float(self.loss(self.trivial_output(target), target))

    @property
    def scored_steps(self) -> torch.Tensor:
        """Which timesteps count for the accuracy, a bool tensor ``(length,)``.

        Here: those that carry loss (``step_weights > 0``). A task whose loss
        also covers positions that say nothing about memory (copy's blanks)
        narrows it.
        """
        return self.step_weights > 0

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

    def _scored_on(self, device: torch.device) -> torch.Tensor:
        """:attr:`scored_steps` on ``device``, copied there once."""
        cache = self.__dict__.setdefault("_scored_cache", {})
        key = str(device)
        if key not in cache:
            cache[key] = self.scored_steps.to(device)
        return cache[key]

    def accuracy(self, output: torch.Tensor, target: torch.Tensor) -> float | None:
        """Fraction of the :attr:`scored_steps` predicted right, or ``None`` for regression tasks."""
        if not self.classification:
            return None
        return self.accuracy_tensor(output, target).item()

    def accuracy_tensor(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """:meth:`accuracy` as a 0-d tensor on the output's device (no host synchronization).

        The mask of scored positions stays on the device: no boolean
        indexing, whose result size a GPU would have to report to the host.
        """
        scored = self._scored_on(output.device).to(output.dtype)
        correct = (output.argmax(-1) == target).to(output.dtype)
        return (correct * scored).sum() / (scored.sum() * output.shape[0])

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(length={self.length}, input_size={self.input_size}, "
            f"output_size={self.output_size}, baseline_loss={self.baseline_loss:.6g})"
        )
