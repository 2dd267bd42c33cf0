"""Tasks: shapes, the structure of each batch, and the published trivial baselines."""

import gzip
import math
import struct

import numpy as np
import pytest
import torch

from linalg_rnn.rnn.tasks import (
    AddingTask,
    CopyTask,
    DigitsTask,
    MnistTask,
    RecallTask,
    make_task,
    read_idx,
)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("T", [1, 5, 30, 100])
def test_copy_ignoring_model_scores_exactly_10_ln8_over_T_plus_20(T):
    task = CopyTask(T)
    x, y = task.sample(16, gen())
    B, L, C = x.shape
    logits = torch.full((B, L, C), -math.inf)
    logits[:, : T + 10, 0] = 0.0  # certain blank for T + 10 steps
    logits[:, T + 10 :, 1:9] = 0.0  # uniform over the 8 symbols for the last 10
    loss = task.loss(logits, y).item()
    assert loss == pytest.approx(10 * math.log(8) / (T + 20), rel=1e-6)
    assert task.baseline_loss == pytest.approx(10 * math.log(8) / (T + 20), rel=1e-12)


def test_copy_batch_structure_symbols_blanks_marker_and_target():
    T = 7
    x, y = CopyTask(T).sample(32, gen(1))
    tokens = x.argmax(-1)
    assert x.shape == (32, T + 20, 10)
    assert ((tokens[:, :10] >= 1) & (tokens[:, :10] <= 8)).all()
    assert (tokens[:, 10 : T + 9] == 0).all()
    assert (tokens[:, T + 9] == 9).all()
    assert (tokens[:, T + 10 :] == 0).all()
    assert (y[:, : T + 10] == 0).all()
    assert torch.equal(y[:, T + 10 :], tokens[:, :10])


def test_copy_perfect_model_has_accuracy_one_and_near_zero_loss():
    task = CopyTask(5)
    x, y = task.sample(8, gen())
    logits = torch.nn.functional.one_hot(y, 10).float() * 50.0
    assert task.accuracy(logits, y) == 1.0
    assert task.loss(logits, y).item() < 1e-6


def test_adding_predicting_one_scores_one_sixth_on_a_large_sample():
    task = AddingTask(40)
    x, y = task.sample(200_000, gen(3))
    ones = torch.ones(y.shape[0], y.shape[1], 1)
    # the standard error of the mean of (S - 1)^2 here is about 0.0003
    assert task.loss(ones, y).item() == pytest.approx(1 / 6, abs=2e-3)
    assert task.accuracy(ones, y) is None


def test_adding_has_one_marker_in_each_half_and_target_is_their_sum():
    T = 11
    x, y = AddingTask(T).sample(64, gen(2))
    markers = x[:, :, 1]
    assert (markers[:, : T // 2].sum(1) == 1).all() and (markers[:, T // 2 :].sum(1) == 1).all()
    assert torch.allclose(y[:, -1], (x[:, :, 0] * markers).sum(1))
    assert ((x[:, :, 0] >= 0) & (x[:, :, 0] <= 1)).all()


def test_recall_predicting_zero_scores_mse_one_and_copying_the_past_scores_zero():
    task = RecallTask(30, delay=10)
    x, y = task.sample(20_000, gen(4))
    zeros = torch.zeros(*y.shape, 1)
    assert task.loss(zeros, y).item() == pytest.approx(1.0, abs=0.01)
    shifted = torch.zeros_like(x)
    shifted[:, 10:] = x[:, :-10]
    assert task.loss(shifted, y).item() == 0.0


def test_window_losses_add_up_to_the_whole_sequence_loss():
    for task in (CopyTask(6), AddingTask(13), RecallTask(13, 4)):
        x, y = task.sample(5, gen(5))
        out = torch.randn(*y.shape, task.output_size, generator=gen(6))
        whole = task.loss(out, y)
        parts = sum(task.loss(out[:, t : t + 4], y, t) for t in range(0, task.length, 4))
        assert torch.allclose(whole, parts, atol=1e-6)


def test_same_generator_seed_gives_the_same_batch_and_other_seed_differs():
    task = RecallTask(10, 2)
    a, _ = task.sample(4, gen(7))
    b, _ = task.sample(4, gen(7))
    c, _ = task.sample(4, gen(8))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_digits_sequences_permutation_and_disjoint_split():
    plain = DigitsTask(seed=0)
    perm = DigitsTask(permute=True, seed=0)
    assert plain.length == 64 and plain.n_train + plain.n_val == 1797
    assert sorted(perm.permutation.tolist()) == list(range(64))
    assert not torch.equal(perm.permutation, torch.arange(64))
    xv, yv = plain.validation_batch(0, 0)
    assert xv.shape == (plain.n_val, 64, 1) and float(xv.max()) <= 1.0
    assert plain.baseline_loss == pytest.approx(math.log(10), abs=0.01)
    # the permuted task holds the same images, pixels reordered by the one permutation
    xp, _ = perm.validation_batch(0, 0)
    assert torch.equal(xp[:, :, 0], xv[:, perm.permutation, 0])


def test_digits_class_prior_scores_the_baseline():
    task = DigitsTask()
    _, labels = task._data["train"]
    prior = torch.bincount(labels, minlength=10).float() / len(labels)
    x, y = task.sample(4000, gen(9))
    logits = prior.log().expand(y.shape[0], y.shape[1], 10)
    assert task.loss(logits, y).item() == pytest.approx(task.baseline_loss, abs=0.03)


def _write_idx(path, array, code=0x08):
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.astype(">u1").tobytes()
    if str(path).endswith(".gz"):
        data = gzip.compress(data)
    path.write_bytes(data)


def test_read_idx_and_mnist_task_on_a_tiny_local_file(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(20, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=20, dtype=np.uint8)
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", images)
    _write_idx(tmp_path / "train-labels-idx1-ubyte", labels)
    assert np.array_equal(read_idx(tmp_path / "train-images-idx3-ubyte.gz"), images)
    task = MnistTask(tmp_path, val_fraction=0.25)
    assert task.length == 784 and task.n_val == 5 and task.n_train == 15
    x, y = task.sample(3, gen())
    assert x.shape == (3, 784, 1) and float(x.max()) <= 1.0
    train_pixels = torch.as_tensor(images.reshape(20, -1) / 255.0, dtype=torch.float32)
    # every sampled sequence is one of the images, with its own label
    for b in range(3):
        match = (train_pixels == x[b, :, 0]).all(1).nonzero().flatten()
        assert len(match) == 1 and labels[match[0]] == y[b, -1].item()


def test_read_idx_rejects_a_file_that_is_not_idx(tmp_path):
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x01\x02\x03\x04rest")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(bad)
    short = tmp_path / "short"
    short.write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 5, 1, 2]))
    with pytest.raises(ValueError, match="header says"):
        read_idx(short)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(name="maze"), "unknown task"),
        (dict(name="copy", seq_len=0), "T \\(seq_len\\) must be an integer >= 1"),
        (dict(name="recall", seq_len=10, delay=10), "delay must be < seq_len"),
        (dict(name="adding", seq_len=10, delay=3), "delay applies to the recall task only"),
        (dict(name="digits", seq_len=100), "digits sequences have 64 steps"),
        (dict(name="mnist"), "give data_dir"),
    ],
)
def test_make_task_rejects_bad_arguments_with_a_message(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_task(**kwargs)
