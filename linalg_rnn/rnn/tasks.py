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
"""

from __future__ import annotations

import gzip
import math
import struct
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .._validation import check_int

__all__ = [
    "AddingTask",
    "CopyTask",
    "DigitsTask",
    "MnistTask",
    "RecallTask",
    "SequenceTask",
    "TASK_NAMES",
    "make_task",
    "read_idx",
]

TASK_NAMES = ("copy", "adding", "recall", "digits", "mnist")


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
        scored = self.step_weights > 0
        pred = output[:, scored.to(output.device)].argmax(-1)
        return (pred == target[:, scored.to(target.device)]).float().mean().item()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(length={self.length}, input_size={self.input_size}, "
            f"output_size={self.output_size}, baseline_loss={self.baseline_loss:.6g})"
        )


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
    each), so the baseline is :math:`10 \\ln 8 / (T + 20)`. Taught in lesson 13.

    Examples
    --------
    >>> task = CopyTask(30)
    >>> x, y = task.sample(4, torch.Generator().manual_seed(0))
    >>> x.shape, y.shape
    (torch.Size([4, 50, 10]), torch.Size([4, 50]))
    >>> round(task.baseline_loss, 6) == round(10 * math.log(8) / 50, 6)
    True
    """

    name = "copy"
    n_symbols = 8
    n_memorize = 10

    def __init__(self, T: int) -> None:
        self.T = check_int(T, "T (seq_len)", minimum=1)
        self.length = self.T + 2 * self.n_memorize
        self.input_size = self.n_symbols + 2
        self.output_size = self.n_symbols + 2
        self.classification = True
        self.step_weights = torch.full((self.length,), 1.0 / self.length)

    @property
    def baseline_loss(self) -> float:
        return self.n_memorize * math.log(self.n_symbols) / self.length

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

    def __init__(self, T: int) -> None:
        self.length = check_int(T, "T (seq_len)", minimum=2)
        self.input_size = 2
        self.output_size = 1
        self.classification = False
        self.step_weights = torch.zeros(self.length)
        self.step_weights[-1] = 1.0

    @property
    def baseline_loss(self) -> float:
        return 1.0 / 6.0

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
    Inputs are i.i.d. :math:`N(0, 1)`, so nothing in the input before step
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

    def __init__(self, T: int, delay: int | None = None) -> None:
        self.length = check_int(T, "T (seq_len)", minimum=2)
        delay = self.length // 2 if delay is None else delay
        self.delay = check_int(delay, "delay", minimum=1)
        if self.delay >= self.length:
            raise ValueError(f"delay must be < seq_len ({self.length}), got {self.delay}")
        self.input_size = 1
        self.output_size = 1
        self.classification = False
        self.step_weights = torch.zeros(self.length)
        self.step_weights[self.delay :] = 1.0 / (self.length - self.delay)

    @property
    def baseline_loss(self) -> float:
        return 1.0

    def sample(self, batch, generator, *, split="train"):
        device = generator.device
        x = torch.randn(batch, self.length, generator=generator, device=device)
        target = torch.zeros_like(x)
        target[:, self.delay :] = x[:, : -self.delay]
        return x.unsqueeze(-1), target


class _ImageSequenceTask(SequenceTask):
    """Images read pixel by pixel; the class is predicted at the last step."""

    def _setup(self, images: np.ndarray, labels: np.ndarray, *, permute: bool, seed: int,
               val_fraction: float, n_classes: int) -> None:
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(labels))
        n_val = max(1, int(round(val_fraction * len(labels))))
        pixels = torch.as_tensor(images.reshape(len(labels), -1), dtype=torch.float32)
        self.length = pixels.shape[1]
        # A fixed pixel order, the same for every image: "permuted" sequential images.
        self.permutation = (
            torch.as_tensor(rng.permutation(self.length)) if permute else torch.arange(self.length)
        )
        pixels = pixels[:, self.permutation]
        labels_t = torch.as_tensor(labels, dtype=torch.long)
        val_idx, train_idx = torch.as_tensor(order[:n_val]), torch.as_tensor(order[n_val:])
        self._data = {
            "train": (pixels[train_idx], labels_t[train_idx]),
            "val": (pixels[val_idx], labels_t[val_idx]),
        }
        self.input_size = 1
        self.output_size = n_classes
        self.classification = True
        self.step_weights = torch.zeros(self.length)
        self.step_weights[-1] = 1.0
        counts = torch.bincount(self._data["train"][1], minlength=n_classes).double()
        p = counts[counts > 0] / counts.sum()
        self._prior_entropy = float(-(p * p.log()).sum())
        self._on_device: dict = {}

    @property
    def baseline_loss(self) -> float:
        # Predicting the training-set class frequencies: the entropy of the label prior.
        return self._prior_entropy

    @property
    def n_train(self) -> int:
        """Number of training images."""
        return len(self._data["train"][1])

    @property
    def n_val(self) -> int:
        """Number of validation images."""
        return len(self._data["val"][1])

    def _split(self, split: str, device: torch.device):
        key = (split, str(device))
        if key not in self._on_device:
            pixels, labels = self._data[split]
            self._on_device[key] = (pixels.to(device), labels.to(device))
        return self._on_device[key]

    def sample(self, batch, generator, *, split="train"):
        pixels, labels = self._split(split, generator.device)
        idx = torch.randint(0, len(labels), (batch,), generator=generator, device=generator.device)
        x = pixels[idx].unsqueeze(-1)
        return x, labels[idx].unsqueeze(1).expand(-1, self.length)

    def validation_batch(self, batch, seed, device="cpu"):
        """The whole validation split (``batch`` and ``seed`` are not needed)."""
        pixels, labels = self._split("val", torch.device(device))
        return pixels.unsqueeze(-1), labels.unsqueeze(1).expand(-1, self.length)


class DigitsTask(_ImageSequenceTask):
    """scikit-learn's 8×8 handwritten digits, read as a 64-step pixel sequence.

    Parameters
    ----------
    permute : bool, optional
        Read the pixels in a fixed random order (the "permuted" variant, which
        spreads the informative pixels over the whole sequence).
    seed : int, optional
        Seed of the train/validation split and of the permutation.
    val_fraction : float, optional
        Share of the 1797 images held out for validation.

    Notes
    -----
    The data ship with scikit-learn, so nothing is downloaded. Pixels are
    scaled from 0..16 to 0..1. The class is predicted at the last step; the
    baseline is the entropy of the training labels (about ln 10). Taught in
    lesson 13.

    Examples
    --------
    >>> task = DigitsTask()
    >>> task.length, task.n_train + task.n_val
    (64, 1797)
    >>> x, y = task.sample(5, torch.Generator().manual_seed(0))
    >>> x.shape, y.shape
    (torch.Size([5, 64, 1]), torch.Size([5, 64]))
    """

    name = "digits"

    def __init__(self, *, permute: bool = False, seed: int = 0, val_fraction: float = 0.2) -> None:
        from sklearn.datasets import load_digits

        data = load_digits()
        self._setup(data.images / 16.0, data.target, permute=permute, seed=seed,
                    val_fraction=val_fraction, n_classes=10)


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzipped or not, into a NumPy array.

    Parameters
    ----------
    path : str or Path
        The file, e.g. ``train-images-idx3-ubyte`` or ``train-images-idx3-ubyte.gz``.

    Returns
    -------
    numpy.ndarray
        The array with the shape stored in the header.

    Raises
    ------
    ValueError
        If the magic number or the size does not match the IDX format.

    Notes
    -----
    The header is two zero bytes, a type code (0x08 = unsigned byte, ...), the
    number of dimensions, then each dimension as a big-endian 32-bit integer.

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = os.path.join(tmp, "labels-idx1-ubyte")
    ...     with open(p, "wb") as f:
    ...         _ = f.write(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1]))
    ...     read_idx(p).tolist()
    [7, 2, 1]
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    dtypes = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in dtypes:
        raise ValueError(f"{path} is not an IDX file (bad magic number)")
    ndim = raw[3]
    shape = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    dtype = np.dtype(dtypes[raw[2]])
    body = raw[4 + 4 * ndim :]
    if len(body) != int(np.prod(shape)) * dtype.itemsize:
        raise ValueError(f"{path}: header says shape {shape} but the file holds {len(body)} bytes")
    return np.frombuffer(body, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def _find(root: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx")):
        if (root / name).exists():
            return root / name
    raise FileNotFoundError(
        f"no {stem}[.gz] in {root}; put the standard MNIST IDX files there (no download is done)"
    )


class MnistTask(_ImageSequenceTask):
    """MNIST read from local IDX files as a 784-step pixel sequence (nothing is downloaded).

    Parameters
    ----------
    root : str or Path
        Folder holding ``train-images-idx3-ubyte`` and ``train-labels-idx1-ubyte``
        (optionally gzipped).
    permute : bool, optional
        Fixed random pixel order (permuted MNIST).
    seed : int, optional
        Seed of the train/validation split and the permutation.
    val_fraction : float, optional
        Share of the training file held out for validation.

    Raises
    ------
    FileNotFoundError
        If the files are not in ``root``.

    Notes
    -----
    Pixels are scaled to 0..1. Sequential MNIST (Le, Jaitly & Hinton 2015)
    is the classic long-memory benchmark: 784 steps between the first pixel
    and the answer. Taught in lesson 13.

    Examples
    --------
    >>> try:
    ...     MnistTask("/no/such/folder")
    ... except FileNotFoundError as exc:
    ...     print(str(exc)[:44])
    no train-images-idx3-ubyte[.gz] in /no/such/
    """

    name = "mnist"

    def __init__(self, root: str | Path, *, permute: bool = False, seed: int = 0,
                 val_fraction: float = 0.1) -> None:
        root = Path(root)
        images = read_idx(_find(root, "train-images-idx3-ubyte"))
        labels = read_idx(_find(root, "train-labels-idx1-ubyte"))
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(
                f"MNIST files in {root} disagree: images {images.shape}, labels {labels.shape}"
            )
        self._setup(images / 255.0, labels, permute=permute, seed=seed,
                    val_fraction=val_fraction, n_classes=10)


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
    name : {"copy", "adding", "recall", "digits", "mnist"}
        Which task.
    seq_len : int, optional
        ``T`` for copy (the delay; the sequence has ``T + 20`` steps), adding
        and recall. Image tasks have a fixed length (64 and 784 pixels) and
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
    return RecallTask(T, delay)
