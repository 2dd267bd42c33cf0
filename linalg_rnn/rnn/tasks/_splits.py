"""Held-out data: the validation and test streams of a generated task, the fixed splits of a data set.

A fair study selects its settings on one sample and reports on another, and
neither may be data the model trained on. Two kinds of task need two answers:

* a *generated* task (copy, adding, recall, brackets) has no data set, only a
  generator: its validation and test sets are fixed batches drawn from
  generators of their own, seeded by :func:`held_out_seed` so they are never
  the training generator of any run;
* a *data set* (digits, MNIST, the text) is cut once, the same way for every
  run, into a train, a validation and a test part (:func:`stratified_split`
  for labelled images, :func:`contiguous_split` for a text).
"""

from __future__ import annotations

import numpy as np

from ..._validation import check_choice, check_int

#: The held-out parts of every task, in the order they are used: select on one, report on the other.
HELD_OUT_SPLITS = ("validation", "test")
#: Every part a task can sample from.
SPLITS = ("train", *HELD_OUT_SPLITS)

#: The largest seed ``held_out_seed`` takes: any seed a ``torch.Generator`` takes. (A run's seed is at
#: most ``linalg_rnn.rnn.config.SEED_MAX = 2**63 - 1``, so its training generator, seeded
#: ``seed + 1``, has a seed of at most ``2**63``.)
_SEED_LIMIT = 2**64 - 1


def check_split(split: object, choices: tuple[str, ...] = HELD_OUT_SPLITS) -> str:
    """``split`` if it names one of ``choices``, else a one-line ``ValueError``.

    Examples
    --------
    >>> check_split("test")
    'test'
    >>> check_split("val")
    Traceback (most recent call last):
        ...
    ValueError: unknown split 'val'; choose one of 'validation', 'test'
    """
    return check_choice(split, "split", choices)


def held_out_seed(seed: int, split: str) -> int:
    """The seed of the generator that draws a generated task's ``split`` for a run seeded ``seed``.

    Parameters
    ----------
    seed : int
        The run's seed, ``0 <= seed <= 2**64 - 1`` (a run's seed is at most
        ``2**63 - 1``; the larger ones are accepted so that the trainer's
        ``seed + 2`` of today's ``validation_batch`` call is too).
    split : {"validation", "test"}
        Which held-out stream.

    Returns
    -------
    int
        A seed in ``[2**63 + 1, 2**64 - 1]`` for ``torch.Generator.manual_seed``.

    Raises
    ------
    ValueError, TypeError
        For an unknown split or a seed that is not an integer in range.

    Notes
    -----
    NumPy's :class:`~numpy.random.SeedSequence` hashes the pair
    ``(seed, k)``, with ``k = 1`` for validation and ``k = 2`` for test, into
    64 bits :math:`h`; the result is :math:`2^{63} + 1 + (h \\bmod (2^{63} - 1))`.
    So

    * the two held-out streams of one seed come from two different
      generators (their seeds differ unless two hashes collide, a chance of
      about :math:`2^{-63}`), and so do the streams of two run seeds;
    * neither is ever a training generator: the trainer seeds those with
      ``seed + 1 <= 2**63``, below every held-out seed.

    Different seeds give torch's Mersenne Twister streams that do not
    overlap in practice, so a held-out batch is not a batch the model
    trained on. (On a finite sample space two streams can still *draw* the
    same sequence by chance -- copy has :math:`8^{10} \\approx 10^9`
    symbol strings -- as any two independent samples can.)

    Examples
    --------
    >>> v, t = held_out_seed(0, "validation"), held_out_seed(0, "test")
    >>> v != t, v > 2**63, t > 2**63
    (True, True, True)
    >>> held_out_seed(0, "test") == t   # a fixed function of (seed, split)
    True
    """
    seed = check_int(seed, "seed", minimum=0, maximum=_SEED_LIMIT)
    key = HELD_OUT_SPLITS.index(check_split(split)) + 1
    (h,) = np.random.SeedSequence(entropy=seed, spawn_key=(key,)).generate_state(1, dtype=np.uint64)
    return 2**63 + 1 + int(h) % (2**63 - 1)


def stratified_split(labels: np.ndarray, val_fraction: float, test_fraction: float,
                     seed: int = 0) -> dict[str, np.ndarray]:
    """Cut a labelled data set into train, validation and test, each class in the same shares.

    Parameters
    ----------
    labels : numpy.ndarray
        One integer label per item, shape ``(N,)``.
    val_fraction, test_fraction : float
        Shares of each class held out for validation and for test
        (``0 <= each``, sum ``< 1``).
    seed : int, optional
        Seed of the shuffle within each class (a constant of the task, not the
        run's seed, so every run sees the same split).

    Returns
    -------
    dict
        ``{"train": idx, "validation": idx, "test": idx}``, sorted index
        arrays that together hold every item exactly once.

    Notes
    -----
    Class ``c`` with :math:`n_c` items gives ``round(val_fraction * n_c)``
    of them to validation and ``round(test_fraction * n_c)`` to test, chosen
    by a permutation from ``numpy.random.default_rng(seed)`` (one generator,
    classes in increasing order); the rest train. Every part then has the
    data set's class frequencies, up to rounding.

    Examples
    --------
    >>> parts = stratified_split(np.repeat(np.arange(3), 10), 0.2, 0.3)
    >>> [len(parts[k]) for k in ("train", "validation", "test")]
    [15, 6, 9]
    >>> sorted(np.concatenate(list(parts.values())).tolist()) == list(range(30))
    True
    """
    labels = np.asarray(labels)
    if not (0 <= val_fraction and 0 <= test_fraction and val_fraction + test_fraction < 1):
        raise ValueError(
            f"val_fraction and test_fraction must be >= 0 with a sum below 1, got "
            f"{val_fraction} and {test_fraction}"
        )
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {name: [] for name in SPLITS}
    for c in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == c))
        n_val = int(round(val_fraction * len(members)))
        n_test = int(round(test_fraction * len(members)))
        parts["validation"].append(members[:n_val])
        parts["test"].append(members[n_val : n_val + n_test])
        parts["train"].append(members[n_val + n_test :])
    return {name: np.sort(np.concatenate(chunks)) for name, chunks in parts.items()}


def contiguous_split(n: int, val_fraction: float, test_fraction: float) -> dict[str, slice]:
    """Cut a sequence of ``n`` items into a train, a validation and a test stretch, in that order.

    Parameters
    ----------
    n : int
        Length of the sequence (characters of a corpus).
    val_fraction, test_fraction : float
        Shares of the validation and test stretches.

    Returns
    -------
    dict
        ``{"train": slice, "validation": slice, "test": slice}``: the first
        ``n - n_val - n_test`` items, then ``n_val = floor(val_fraction * n)``,
        then the last ``n_test = floor(test_fraction * n)``.

    Notes
    -----
    A corpus is cut in stretches, not in shuffled windows, so no held-out
    character is inside a training window (as text8 and enwik8 are cut: the
    first 90 %, the next 5 %, the last 5 %).

    Examples
    --------
    >>> contiguous_split(100, 0.05, 0.05)
    {'train': slice(0, 90, None), 'validation': slice(90, 95, None), 'test': slice(95, 100, None)}
    """
    n = check_int(n, "n", minimum=1)
    n_val, n_test = int(val_fraction * n), int(test_fraction * n)
    if n_val < 1 or n_test < 1 or n_val + n_test >= n:
        raise ValueError(f"cannot cut {n} items into shares {val_fraction} and {test_fraction} and a rest")
    return {
        "train": slice(0, n - n_val - n_test),
        "validation": slice(n - n_val - n_test, n - n_test),
        "test": slice(n - n_test, n),
    }
