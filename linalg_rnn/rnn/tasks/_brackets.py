"""Next-symbol prediction on a generated bracket language (Dyck words): the study's language task."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from ..._validation import check_int
from ._base import SequenceTask

IGNORE = -100  # target of a position that is not scored (torch's cross-entropy ignore_index)


class BracketsTask(SequenceTask):
    """Predict the next symbol of a random nested-bracket string; scored where it is determined.

    A string is drawn one symbol at a time with a stack: when the stack is
    empty an opening bracket of one of ``n_types`` kinds is written; otherwise
    an opening bracket (probability ``p_open``, kind uniform) or the closing
    bracket that matches the top of the stack. The model reads the string and
    predicts the next symbol at every step. Whether a bracket opens or closes
    next is a coin flip, but *which* closing bracket comes is fixed by a
    bracket opened earlier, possibly very much earlier: those positions -- the
    ones whose next symbol is a closing bracket -- are the predictable ones,
    and the loss and the accuracy are taken over them alone.

    Parameters
    ----------
    T : int
        Sequence length (symbols read), at least 2.
    n_types : int, optional
        Kinds of bracket, ``k``; the alphabet has ``2k`` symbols (opening
        ``0..k-1``, closing ``k..2k-1``).
    p_open : float, optional
        Chance of opening when the stack is not empty.

    Notes
    -----
    Inputs are one-hot over the ``2k`` symbols; targets are the next symbol
    at the predictable positions and ``-100`` (ignored) elsewhere. The loss is
    the cross-entropy averaged over the predictable positions of the batch.
    The kinds are drawn uniformly and independently, so the kind of the
    bracket that closes at step ``t`` is uniform over ``k`` whatever ``t`` is:
    a model that ignores its input can do no better than the uniform guess
    over the ``k`` closing brackets, which scores loss :math:`\\ln k` and
    accuracy :math:`1/k`. A model that tracks the stack scores loss 0 and
    accuracy 1. The stack depth of a random walk grows like :math:`\\sqrt T`,
    so longer strings ask for more memory and longer-range recall. Data are
    drawn from the generator alone (reproducible from the seed; nothing is
    downloaded). Dyck languages as a test of memory in RNNs: Suzgun et al.
    (2019). Taught in lesson 14.

    Examples
    --------
    >>> task = BracketsTask(12)
    >>> x, y = task.sample(3, torch.Generator().manual_seed(0))
    >>> x.shape, y.shape, round(task.baseline_loss, 6) == round(math.log(4), 6)
    (torch.Size([3, 12, 8]), torch.Size([3, 12]), True)
    >>> bool(((y == -100) | (y >= 4)).all())   # only closing brackets are scored
    True
    """

    name = "brackets"
    min_seq_len = 2  # one symbol read, one predicted
    n_types = 4
    input_size = output_size = 2 * n_types  # opening and closing brackets of each kind
    classification = True

    def __init__(self, T: int, *, n_types: int = 4, p_open: float = 0.5) -> None:
        self.length = self.check_seq_len(T)
        self.n_types = check_int(n_types, "n_types", minimum=1)
        if not (isinstance(p_open, (int, float)) and 0.0 < p_open < 1.0):
            raise ValueError(f"p_open must be a number strictly between 0 and 1, got {p_open!r}")
        self.p_open = float(p_open)
        self.input_size = self.output_size = 2 * self.n_types
        # Any position may be scored (it depends on the drawn string): every window can carry loss.
        self.step_weights = torch.full((self.length,), 1.0 / self.length)

    @property
    def baseline_loss(self) -> float:
        return math.log(self.n_types)

    @property
    def baseline_accuracy(self) -> float:
        """Accuracy of the best input-ignoring model on the predictable positions: ``1/k``."""
        return 1.0 / self.n_types

    def trivial_output(self, target):
        """Log-probabilities: uniform over the ``k`` closing brackets, at every step."""
        k = self.n_types
        log_p = torch.full((*target.shape, 2 * k), -math.inf, device=target.device)
        log_p[..., k:] = -math.log(k)
        return log_p

    def symbols(self, batch: int, generator: torch.Generator) -> torch.Tensor:
        """Draw ``batch`` strings of ``T + 1`` symbols, shape ``(batch, T + 1)`` (CPU, int64).

        Every random number comes from ``generator`` (two draws); the stack is
        then simulated on the CPU, so the strings depend on the seed alone.
        """
        k, n = self.n_types, self.length + 1
        coin = torch.rand(batch, n, generator=generator, device=generator.device).cpu().numpy()
        kind = torch.randint(0, k, (batch, n), generator=generator, device=generator.device)
        kind = kind.cpu().numpy()
        stack = np.zeros((batch, n), dtype=np.int64)
        depth = np.zeros(batch, dtype=np.int64)
        out = np.zeros((batch, n), dtype=np.int64)
        rows = np.arange(batch)
        for t in range(n):
            opens = (depth == 0) | (coin[:, t] < self.p_open)
            top = stack[rows, np.maximum(depth - 1, 0)]
            out[:, t] = np.where(opens, kind[:, t], k + top)  # a close matches the last open kind
            stack[rows[opens], depth[opens]] = kind[opens, t]  # push the new kind
            depth += np.where(opens, 1, -1)
        return torch.from_numpy(out)

    def sample(self, batch, generator, *, split="train"):
        device = generator.device
        s = self.symbols(batch, generator)
        x = F.one_hot(s[:, :-1], self.input_size).float()
        following = s[:, 1:]
        y = torch.where(following >= self.n_types, following, torch.full_like(following, IGNORE))
        return x.to(device), y.to(device)

    def loss(self, output: torch.Tensor, target: torch.Tensor, start: int = 0) -> torch.Tensor:
        """Cross-entropy over this window's predictable positions / those of the whole batch.

        Windows of truncated BPTT add up to the batch loss exactly, as in
        :meth:`SequenceTask.loss`.
        """
        w = output.shape[1]
        window = target[:, start : start + w]
        losses = F.cross_entropy(output.transpose(1, 2), window, ignore_index=IGNORE, reduction="sum")
        return losses / (target != IGNORE).sum().clamp(min=1)

    def accuracy_tensor(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Share of the predictable positions whose next symbol is the argmax, as a 0-d tensor.

        The positions are those of this batch's targets (not ``step_weights``,
        which weights every position because any may be scored): an unscored
        position neither counts as wrong nor as right. The mask stays on the
        output's device (no boolean indexing, so no host synchronization).
        """
        scored = (target != IGNORE).to(output.dtype)
        correct = (output.argmax(-1) == target).to(output.dtype) * scored
        return correct.sum() / scored.sum().clamp(min=1)

    def accuracy(self, output: torch.Tensor, target: torch.Tensor) -> float:
        """Share of the predictable positions whose next symbol is the argmax of the output."""
        return self.accuracy_tensor(output, target).item()
