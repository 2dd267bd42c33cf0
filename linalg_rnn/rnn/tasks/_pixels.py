"""Images read as sequences, the class predicted at the last step; scikit-learn's 8x8 digits."""

from __future__ import annotations

import numpy as np
import torch

from ..._validation import check_bool, check_int
from ._base import SequenceTask
from ._splits import SPLITS, check_split, stratified_split

#: Seed of the shuffle that cuts every image data set into its parts: a constant, not the run's seed,
#: so every run and every method is scored on the same held-out images.
SPLIT_SEED = 0


class _ImageSequenceTask(SequenceTask):
    """Images read pixel by pixel (or row by row); the class is predicted at the last step.

    A subclass sets ``side``, ``val_fraction`` and ``test_fraction`` and
    calls :meth:`_setup` with its images. The data set is cut once by
    :func:`~linalg_rnn.rnn.tasks._splits.stratified_split` with
    :data:`SPLIT_SEED` (the same split for every run); the run's ``seed``
    only draws the pixel permutation of the permuted variant.
    """

    side: int  # images are side x side pixels
    input_size = 1  # pixels read per step
    output_size = 10
    classification = True
    options = ("permute",)
    family = "image tasks"
    val_fraction: float
    test_fraction: float

    @classmethod
    def check_seq_len(cls, seq_len: int | None) -> int:
        """The one length an image has, ``side**2`` pixels: ``seq_len`` must be that or ``None``."""
        fixed = cls.side * cls.side
        if seq_len is not None and check_int(seq_len, "T (seq_len)", minimum=1) != fixed:
            raise ValueError(
                f"{cls.name} sequences have {fixed} steps ({cls.side}x{cls.side} pixels); "
                f"use seq_len {fixed} or leave it out"
            )
        return fixed

    @classmethod
    def check_options(cls, seq_len: int, *, permute: bool = False) -> dict:
        """``permute``: a bool (default False)."""
        return {"permute": check_bool(permute, "permute")}

    @classmethod
    def build(cls, seq_len: int, *, seed: int = 0, permute: bool = False) -> SequenceTask:
        return cls(permute=permute, seed=seed)  # seq_len is the fixed pixel count

    def _setup(self, images: np.ndarray, labels: np.ndarray, *, permute: bool, seed: int,
               pixels_per_step: int = 1) -> None:
        """Cut the data set, order the pixels, and set the shapes, weights and label prior.

        ``images`` are ``(N, side, side)`` in ``[0, 1]``; ``pixels_per_step``
        is 1 (a pixel per step) or ``side`` (a row per step).
        """
        parts = stratified_split(labels, self.val_fraction, self.test_fraction, seed=SPLIT_SEED)
        n_pixels = self.side * self.side
        pixels = torch.as_tensor(images.reshape(len(labels), n_pixels), dtype=torch.float32)
        # A fixed pixel order, the same for every image: "permuted" sequential images.
        rng = np.random.default_rng(seed)
        self.permutation = torch.as_tensor(rng.permutation(n_pixels)) if permute else torch.arange(n_pixels)
        pixels = pixels[:, self.permutation]
        self.pixels_per_step = pixels_per_step
        self.input_size = pixels_per_step
        self.length = n_pixels // pixels_per_step
        labels_t = torch.tensor(np.array(labels), dtype=torch.long)  # a copy: the cached arrays are read-only
        self._data = {}
        for split, idx in parts.items():
            rows = torch.as_tensor(idx)
            self._data[split] = (pixels[rows], labels_t[rows])
        self.step_weights = torch.zeros(self.length)
        self.step_weights[-1] = 1.0
        counts = torch.bincount(self._data["train"][1], minlength=self.output_size).double()
        #: The training labels' frequencies: what the best input-ignoring model predicts.
        self.label_prior = counts / counts.sum()
        p = self.label_prior[self.label_prior > 0]
        self._prior_entropy = float(-(p * p.log()).sum())
        self._on_device: dict = {}

    @property
    def baseline_loss(self) -> float:
        """The entropy of the training labels (nats): the loss of predicting their frequencies."""
        return self._prior_entropy

    @property
    def n_train(self) -> int:
        """Number of training images."""
        return len(self._data["train"][1])

    @property
    def n_val(self) -> int:
        """Number of validation images."""
        return len(self._data["validation"][1])

    @property
    def n_test(self) -> int:
        """Number of test images."""
        return len(self._data["test"][1])

    def _split(self, split: str, device: torch.device):
        key = (split, str(device))
        if key not in self._on_device:
            pixels, labels = self._data[split]
            self._on_device[key] = (pixels.to(device), labels.to(device))
        return self._on_device[key]

    def _as_sequences(self, pixels: torch.Tensor, labels: torch.Tensor):
        """``(x, y)``: images ``(B, length, pixels_per_step)``, the label at every step ``(B, length)``."""
        x = pixels.reshape(len(labels), self.length, self.pixels_per_step)
        return x, labels.unsqueeze(1).expand(-1, self.length)

    def sample(self, batch, generator, *, split="train"):
        pixels, labels = self._split(check_split(split, SPLITS), generator.device)
        idx = torch.randint(0, len(labels), (batch,), generator=generator, device=generator.device)
        return self._as_sequences(pixels[idx], labels[idx])

    def held_out(self, split, n, seed, device="cpu"):
        """The whole validation or test split, in a fixed order (``n`` is ignored; ``seed`` too).

        Raises
        ------
        ValueError, TypeError
            For an unknown split, ``n < 1`` or a bad seed (the same checks as
            every task's).
        """
        split, _, _ = self._check_held_out(split, n, seed)
        return self._as_sequences(*self._split(split, torch.device(device)))

    def trivial_output(self, target):
        """The log of the training labels' frequencies, at every step."""
        log_prior = self.label_prior.log().to(torch.float32).to(target.device)
        return log_prior.expand(*target.shape, self.output_size)


class DigitsTask(_ImageSequenceTask):
    """scikit-learn's 8×8 handwritten digits, read as a 64-step pixel sequence.

    Parameters
    ----------
    permute : bool, optional
        Read the pixels in a fixed random order (the "permuted" variant, which
        spreads the informative pixels over the whole sequence).
    seed : int, optional
        Seed of the permutation (the split does not depend on it).

    Notes
    -----
    The data set: the 1797 8×8 images of the UCI "Optical Recognition of
    Handwritten Digits" test set (Alpaydin & Kaynak, 1998; CC BY 4.0 as the
    UCI repository lists it), shipped
    with scikit-learn (``sklearn.datasets.load_digits``), so nothing is
    downloaded. Pixels are scaled from 0..16 to 0..1. A fixed stratified
    split (seed :data:`SPLIT_SEED`): 20 % of each class for validation, 20 %
    for test, the rest (1079 images) for training. The class is predicted
    at the last step; the baseline is the entropy of the training labels
    (about ln 10). Taught in lesson 13.

    Examples
    --------
    >>> task = DigitsTask()
    >>> task.length, task.n_train, task.n_val, task.n_test
    (64, 1079, 359, 359)
    >>> x, y = task.sample(5, torch.Generator().manual_seed(0))
    >>> x.shape, y.shape
    (torch.Size([5, 64, 1]), torch.Size([5, 64]))
    """

    name = "digits"
    side = 8
    default_seq_len = side * side
    val_fraction = 0.2
    test_fraction = 0.2

    def __init__(self, *, permute: bool = False, seed: int = 0) -> None:
        from sklearn.datasets import load_digits

        permute = self.check_options(self.default_seq_len, permute=permute)["permute"]
        data = load_digits()
        self._setup(data.images / 16.0, data.target, permute=permute, seed=seed)

