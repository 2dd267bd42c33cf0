"""The synthetic long-memory tasks: copy memory, adding problem, delayed recall of Gaussian noise."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..._validation import check_int
from ._base import SequenceTask


class CopyTask(SequenceTask):
    """Copy memory (Arjovsky, Shah & Bengio 2016): remember 10 symbols across ``T`` blanks.

    The input has ``T + 20`` steps: 10 symbols drawn from 8 (classes 1..8),
    ``T - 1`` blanks (class 0), a marker (class 9) and 10 more blanks. The
    target is blank for the first ``T + 10`` steps, then the 10 symbols.
    Inputs are one-hot over the 10 classes; the loss is the cross-entropy
    averaged over all ``T + 20`` steps.

    Parameters
    ----------
    T : int
        The delay: blanks between the symbols and the marker, plus one.

    Notes
    -----
    A model that ignores its input can still learn *when* symbols come: it
    predicts blank with certainty for ``T + 10`` steps (loss 0) and the
    uniform distribution over the 8 symbols for the last 10 (loss ln 8
    each), so the baseline is :math:`10 \\ln 8 / (T + 20)`, and
    :meth:`trivial_loss` is that number on any batch.

    The loss covers all ``T + 20`` steps, as in the literature; the
    accuracy counts the 10 recall steps only (:attr:`scored_steps`), where
    the input-ignoring model is right 1 time in 8. Counting the blanks too
    would give it :math:`(T + 10 + 10/8)/(T + 20)` for remembering nothing:
    0.71 at ``T = 10``, 0.78 at ``T = 20``. Taught in lesson 13.

    Examples
    --------
    >>> task = CopyTask(30)
    >>> x, y = task.sample(4, torch.Generator().manual_seed(0))
    >>> x.shape, y.shape
    (torch.Size([4, 50, 10]), torch.Size([4, 50]))
    >>> round(task.baseline_loss, 6) == round(10 * math.log(8) / 50, 6)
    True
    >>> int(task.scored_steps.sum()), task.accuracy(F.one_hot(y, 10).float(), y)
    (10, 1.0)
    """

    name = "copy"
    n_symbols = 8
    n_memorize = 10
    input_size = output_size = n_symbols + 2  # the symbols, the blank and the marker
    classification = True

    @classmethod
    def sequence_length(cls, seq_len: int) -> int:
        """``T + 20``: the 10 symbols, ``T - 1`` blanks, the marker, 10 steps to answer."""
        return seq_len + 2 * cls.n_memorize

    def __init__(self, T: int) -> None:
        self.T = self.check_seq_len(T)
        self.length = self.sequence_length(self.T)
        self.step_weights = torch.full((self.length,), 1.0 / self.length)

    @property
    def baseline_loss(self) -> float:
        return self.n_memorize * math.log(self.n_symbols) / self.length

    @property
    def scored_steps(self) -> torch.Tensor:
        """The last 10 steps, where the symbols are recalled (the blanks are not scored)."""
        scored = torch.zeros(self.length, dtype=torch.bool)
        scored[-self.n_memorize :] = True
        return scored

    def trivial_output(self, target):
        """Log-probabilities: blank for sure for ``T + 10`` steps, then uniform over the 8 symbols."""
        log_p = torch.full((*target.shape, self.output_size), -math.inf, device=target.device)
        log_p[:, : -self.n_memorize, 0] = 0.0
        log_p[:, -self.n_memorize :, 1 : self.n_symbols + 1] = -math.log(self.n_symbols)
        return log_p

    def sample(self, batch, generator, *, split="train"):
        device = generator.device
        symbols = torch.randint(
            1, self.n_symbols + 1, (batch, self.n_memorize), generator=generator, device=device
        )
        tokens = torch.zeros(batch, self.length, dtype=torch.long, device=device)
        tokens[:, : self.n_memorize] = symbols
        tokens[:, self.T + self.n_memorize - 1] = self.n_symbols + 1  # the marker: "now recall"
        target = torch.zeros_like(tokens)
        target[:, -self.n_memorize :] = symbols
        x = F.one_hot(tokens, self.input_size).float()
        return x, target


class AddingTask(SequenceTask):
    """The adding problem (Hochreiter & Schmidhuber 1997): add the two marked numbers.

    Each step has two channels: a value drawn from U[0, 1] and a marker that
    is 1 at exactly two steps, one in each half of the sequence. The target,
    read at the last step only, is the sum of the two marked values.

    Parameters
    ----------
    T : int
        Sequence length (at least 2).

    Notes
    -----
    The sum of two independent U[0, 1] values has mean 1 and variance
    2/12, so the best constant prediction, 1, scores MSE 1/6. Taught in
    lesson 13.

    Examples
    --------
    >>> task = AddingTask(20)
    >>> x, y = task.sample(3, torch.Generator().manual_seed(0))
    >>> x.shape, y.shape, task.baseline_loss == 1 / 6
    (torch.Size([3, 20, 2]), torch.Size([3, 20]), True)
    >>> bool((x[:, :, 1].sum(1) == 2).all())
    True
    """

    name = "adding"
    min_seq_len = 2  # a marker in each half
    input_size = 2
    output_size = 1
    classification = False

    def __init__(self, T: int) -> None:
        self.length = self.check_seq_len(T)
        self.step_weights = torch.zeros(self.length)
        self.step_weights[-1] = 1.0

    @property
    def baseline_loss(self) -> float:
        return 1.0 / 6.0

    def trivial_output(self, target):
        """The constant 1, the mean of the sum."""
        return torch.ones(*target.shape, 1, device=target.device)

    def sample(self, batch, generator, *, split="train"):
        device = generator.device
        T, half = self.length, self.length // 2
        values = torch.rand(batch, T, generator=generator, device=device)
        first = torch.randint(0, half, (batch,), generator=generator, device=device)
        second = torch.randint(half, T, (batch,), generator=generator, device=device)
        rows = torch.arange(batch, device=device)
        markers = torch.zeros(batch, T, device=device)
        markers[rows, first] = 1.0
        markers[rows, second] = 1.0
        target = torch.zeros(batch, T, device=device)
        target[:, -1] = values[rows, first] + values[rows, second]
        return torch.stack([values, markers], dim=-1), target


class RecallTask(SequenceTask):
    """Delayed recall of Gaussian noise: output at step t the input of step t - d.

    Parameters
    ----------
    T : int
        Sequence length.
    delay : int, optional
        The lag ``d`` to remember, ``1 <= d < T``; default ``T // 2``.

    Notes
    -----
    Inputs are i.i.d. :math:`\\mathcal{N}(0, 1)`, so nothing in the input before step
    :math:`t - d` says anything about :math:`x_{t-d}`: a model that cannot
    remember predicts 0 and scores MSE :math:`E[x^2] = 1`. The loss averages
    the squared error over the steps :math:`t \\ge d` where a target exists.
    To recall, the hidden state must carry :math:`x_{t-d}` through ``d``
    multiplications by :math:`W_{hh}`, which is what the gradient has to
    flow back through. Taught in lesson 13.

    Examples
    --------
    >>> task = RecallTask(12, delay=3)
    >>> x, y = task.sample(2, torch.Generator().manual_seed(0))
    >>> bool(torch.equal(y[:, 3:], x[:, :-3, 0])), task.baseline_loss
    (True, 1.0)
    """

    name = "recall"
    min_seq_len = 2  # a lag of at least 1, below T
    options = ("delay",)
    input_size = 1
    output_size = 1
    classification = False

    @classmethod
    def check_options(cls, seq_len: int, *, delay: int | None = None) -> dict:
        """``delay``: default ``seq_len // 2``; an integer with ``1 <= delay < seq_len``."""
        delay = seq_len // 2 if delay is None else check_int(delay, "delay", minimum=1)
        if delay >= seq_len:
            raise ValueError(f"delay must be < seq_len ({seq_len}), got {delay}")
        return {"delay": delay}

    def __init__(self, T: int, delay: int | None = None) -> None:
        self.length = self.check_seq_len(T)
        self.delay = self.check_options(self.length, delay=delay)["delay"]
        self.step_weights = torch.zeros(self.length)
        self.step_weights[self.delay :] = 1.0 / (self.length - self.delay)

    @property
    def baseline_loss(self) -> float:
        return 1.0

    def trivial_output(self, target):
        """The constant 0, the mean of the noise."""
        return torch.zeros(*target.shape, 1, device=target.device)

    def sample(self, batch, generator, *, split="train"):
        device = generator.device
        x = torch.randn(batch, self.length, generator=generator, device=device)
        target = torch.zeros_like(x)
        target[:, self.delay :] = x[:, : -self.delay]
        return x.unsqueeze(-1), target
