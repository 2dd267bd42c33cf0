"""The task base class: a sequence task with a per-timestep weighted loss and a known baseline."""

from __future__ import annotations

import torch
import torch.nn.functional as F


class SequenceTask:
    """Base class: a sequence task with a per-timestep weighted loss.

    Subclasses set ``name``, ``input_size``, ``output_size``, ``length`` (the
    number of timesteps T fed to the model), ``classification`` and the
    per-timestep ``step_weights`` (shape ``(T,)``, summing to 1), and implement
    :meth:`sample` and :attr:`baseline_loss`.

    Notes
    -----
    The loss of a batch is

    .. math:: L = \\frac{1}{B} \\sum_b \\sum_t w_t \\, \\ell(\\hat y_{b,t}, y_{b,t}),

    with :math:`\\ell` the cross-entropy (classification) or the squared error
    (regression). Because it is a sum over :math:`t`, the loss of a window
    :math:`t_0 \\le t < t_1` is the same sum restricted to the window, and the
    windows add up to :math:`L` exactly.
    """

    name: str = "task"
    input_size: int
    output_size: int
    length: int
    classification: bool
    step_weights: torch.Tensor

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

    def window_has_loss(self, start: int, stop: int) -> bool:
        """True when some timestep in ``start .. stop - 1`` carries loss weight."""
        return bool((self.step_weights[start:stop] > 0).any())

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
