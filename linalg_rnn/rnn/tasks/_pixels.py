"""Images read pixel by pixel: scikit-learn's digits and local MNIST files (nothing is downloaded)."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import torch

from ..._validation import check_bool, check_int, check_path
from ._base import SequenceTask


class _ImageSequenceTask(SequenceTask):
    """Images read pixel by pixel; the class is predicted at the last step."""

    side: int  # images are side x side pixels, read as a side**2-step sequence
    input_size = 1
    output_size = 10
    classification = True
    options = ("permute",)
    family = "image tasks"

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
               val_fraction: float) -> None:
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
        self.step_weights = torch.zeros(self.length)
        self.step_weights[-1] = 1.0
        counts = torch.bincount(self._data["train"][1], minlength=self.output_size).double()
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
    side = 8
    default_seq_len = side * side

    def __init__(self, *, permute: bool = False, seed: int = 0, val_fraction: float = 0.2) -> None:
        from sklearn.datasets import load_digits

        permute = self.check_options(self.default_seq_len, permute=permute)["permute"]
        data = load_digits()
        self._setup(data.images / 16.0, data.target, permute=permute, seed=seed,
                    val_fraction=val_fraction)


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
    side = 28
    default_seq_len = side * side
    options = ("permute", "data_dir")
    _files = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")

    @classmethod
    def check_options(cls, seq_len: int, *, permute: bool = False, data_dir: str | None = None) -> dict:
        """``permute`` a bool; ``data_dir`` required, a folder holding the two IDX files."""
        if data_dir is None:
            raise ValueError("the mnist task reads local IDX files: give data_dir (--data-dir)")
        root = check_path(data_dir, "data_dir")
        for stem in cls._files:
            _find(Path(root), stem)  # FileNotFoundError naming the folder, before anything is read
        return {"permute": check_bool(permute, "permute"), "data_dir": root}

    @classmethod
    def build(cls, seq_len: int, *, seed: int = 0, data_dir: str, permute: bool = False) -> SequenceTask:
        return cls(data_dir, permute=permute, seed=seed)

    def __init__(self, root: str | Path, *, permute: bool = False, seed: int = 0,
                 val_fraction: float = 0.1) -> None:
        checked = self.check_options(self.default_seq_len, permute=permute, data_dir=root)
        root = Path(checked["data_dir"])
        images, labels = (read_idx(_find(root, stem)) for stem in self._files)
        if images.shape[1:] != (self.side, self.side) or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(
                f"MNIST files in {root} disagree: images {images.shape} (want N x 28 x 28), "
                f"labels {labels.shape}"
            )
        self._setup(images / 255.0, labels, permute=checked["permute"], seed=seed,
                    val_fraction=val_fraction)
