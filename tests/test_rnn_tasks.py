"""Tasks: shapes, the structure of each batch, and the published trivial baselines."""

import gzip
import math
import struct

import numpy as np
import pytest
import torch

from linalg_rnn.rnn.tasks import (
    TASKS,
    AddingTask,
    BracketsTask,
    CopyTask,
    DigitsTask,
    MnistTask,
    RecallTask,
    TextTask,
    held_out_seed,
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


def test_digits_sequences_permutation_and_a_fixed_disjoint_three_way_split():
    plain = DigitsTask(seed=0)
    perm = DigitsTask(permute=True, seed=0)
    assert plain.length == 64 and plain.n_train + plain.n_val + plain.n_test == 1797
    assert sorted(perm.permutation.tolist()) == list(range(64))
    assert not torch.equal(perm.permutation, torch.arange(64))
    xv, yv = plain.held_out("validation", 1, 0)
    assert xv.shape == (plain.n_val, 64, 1) and float(xv.max()) <= 1.0
    assert plain.baseline_loss == pytest.approx(math.log(10), abs=0.01)
    # the permuted task holds the same images, pixels reordered by the one permutation
    xp, _ = perm.held_out("validation", 1, 0)
    assert torch.equal(xp[:, :, 0], xv[:, perm.permutation, 0])
    # the split does not depend on the run's seed: other seeds hold out the same images
    other = DigitsTask(seed=5)
    assert torch.equal(other.held_out("test", 1, 5)[0], plain.held_out("test", 1, 0)[0])
    # no image is in two parts (the 1797 images have duplicates only within a part, if at all)
    rows = {split: {tuple(r.tolist()) for r in plain._data[split][0]} for split in plain._data}
    assert not rows["train"] & rows["validation"] and not rows["train"] & rows["test"]
    assert not rows["validation"] & rows["test"]


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
    images = rng.integers(0, 256, size=(100, 28, 28), dtype=np.uint8)
    labels = np.repeat(np.arange(10, dtype=np.uint8), 10)
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", images)
    _write_idx(tmp_path / "train-labels-idx1-ubyte", labels)
    assert np.array_equal(read_idx(tmp_path / "train-images-idx3-ubyte.gz"), images)
    task = MnistTask(data_dir=tmp_path)
    # 10 % of each class validates, 20 % tests, the rest trains
    assert task.length == 784 and (task.n_train, task.n_val, task.n_test) == (70, 10, 20)
    x, y = task.sample(3, gen())
    assert x.shape == (3, 784, 1) and float(x.max()) <= 1.0
    pixels = torch.as_tensor(images.reshape(100, -1) / 255.0, dtype=torch.float32)
    train_rows = {tuple(r.tolist()) for r in task._data["train"][0]}
    # every sampled sequence is one of the training images, with its own label
    for b in range(3):
        match = (pixels == x[b, :, 0]).all(1).nonzero().flatten()
        assert len(match) == 1 and labels[match[0]] == y[b, -1].item()
        assert tuple(x[b, :, 0].tolist()) in train_rows
    rows = MnistTask(28, data_dir=tmp_path).held_out("test", 1, 0)[0]
    assert rows.shape == (20, 28, 28)
    assert torch.equal(rows.reshape(20, 784), task.held_out("test", 1, 0)[0][..., 0])


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
        (dict(name="mnist", seq_len=100), "mnist sequences have 784 steps \\(a pixel each\\) or 28"),
        (dict(name="text", seq_len=0), "T \\(seq_len\\) must be an integer >= 1"),
        (dict(name="text", seq_len=100, permute=True), "permute applies to image tasks"),
    ],
)
def test_make_task_rejects_bad_arguments_with_a_message(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_task(**kwargs)


# --- held-out streams --------------------------------------------------------------------------

GENERATED = [CopyTask(7), AddingTask(13), RecallTask(13, 4), BracketsTask(12)]


@pytest.mark.parametrize("task", GENERATED, ids=lambda t: t.name)
def test_held_out_streams_are_fixed_for_a_seed_and_differ_between_splits_seeds_and_training(task):
    xv, yv = task.held_out("validation", 64, seed=3)
    xt, yt = task.held_out("test", 64, seed=3)
    again_x, again_y = task.held_out("validation", 64, seed=3)
    assert xv.shape == (64, task.length, task.input_size) and yv.shape == (64, task.length)
    assert torch.equal(xv, again_x) and torch.equal(yv, again_y)
    assert not torch.equal(xv, xt)
    assert not torch.equal(xv, task.held_out("validation", 64, seed=4)[0])
    # the trainer's training generator for run seed s is seeded s + 1; its batches are not held out
    for s in (2, 3, 4):
        train_x, _ = task.sample(64, gen(s + 1))
        assert not torch.equal(train_x, xv) and not torch.equal(train_x, xt)
    # the validation_batch alias the trainer calls today is the validation stream
    assert torch.equal(task.validation_batch(64, 3)[0], xv)


def test_held_out_seeds_differ_between_splits_and_seeds_and_lie_above_every_training_seed():
    seeds = [held_out_seed(s, split) for s in range(1000) for split in ("validation", "test")]
    assert len(set(seeds)) == 2000
    # training generators are seeded seed + 1 <= 2**63 (SEED_MAX + 1); torch takes seeds below 2**64
    assert all(2**63 < v < 2**64 for v in seeds)
    assert held_out_seed(2**63 - 1, "test") > 2**63
    # the trainer asks validation_batch(..., seed + 2) today: the largest run seed still works
    assert held_out_seed(2**63 + 1, "validation") > 2**63 and held_out_seed(2**64 - 1, "test") < 2**64
    assert torch.Generator().manual_seed(max(seeds)).initial_seed() == max(seeds)


def test_a_held_out_batch_is_the_tasks_own_sample_from_the_derived_generator():
    task = CopyTask(5)
    x, y = task.held_out("test", 10, seed=9)
    ref_x, ref_y = task.sample(10, torch.Generator().manual_seed(held_out_seed(9, "test")))
    assert torch.equal(x, ref_x) and torch.equal(y, ref_y)


def test_a_held_out_batch_of_4096_has_the_asked_size_and_lives_on_the_asked_device():
    x, y = AddingTask(50).held_out("validation", 4096, seed=0, device="cpu")
    assert x.shape == (4096, 50, 2) and y.device.type == "cpu"


@pytest.mark.parametrize(
    "kwargs, exc, message",
    [
        (dict(split="val", n=4, seed=0), ValueError, "unknown split 'val'; choose one of 'validation', 'tes"),
        (dict(split="train", n=4, seed=0), ValueError, "unknown split 'train'"),
        (dict(split="test", n=0, seed=0), ValueError, "n must be an integer >= 1, got 0"),
        (dict(split="test", n=2.5, seed=0), TypeError, "n must be an integer, got float 2.5"),
        (dict(split="test", n=4, seed=-1), ValueError, "seed must be an integer in \\[0, 184467440737095516"),
        (dict(split="test", n=4, seed="0"), TypeError, "seed must be an integer"),
    ],
)
@pytest.mark.parametrize("task", [CopyTask(3), DigitsTask()], ids=["generated", "data set"])
def test_held_out_refuses_bad_arguments_in_one_line(task, kwargs, exc, message):
    with pytest.raises(exc, match=message) as info:
        task.held_out(**kwargs)
    assert "\n" not in str(info.value)


# --- what is scored, and the trivial model's loss on the same batch -----------------------------


def test_copy_accuracy_counts_the_ten_recall_steps_only():
    T = 20
    task = CopyTask(T)
    x, y = task.held_out("validation", 4096, seed=0)
    perfect = torch.nn.functional.one_hot(y, 10).float()
    assert task.accuracy(perfect, y) == 1.0
    # memoryless: blanks right, then always the same symbol (the argmax of a uniform guess is symbol 1)
    memoryless = task.trivial_output(y)
    assert bool((memoryless.argmax(-1)[:, -10:] == 1).all())
    share_of_ones = float((y[:, -10:] == 1).float().mean())
    assert task.accuracy(memoryless, y) == pytest.approx(share_of_ones, abs=1e-6)
    # 40960 recalled symbols: the standard error of the share of ones is about 0.0016
    assert share_of_ones == pytest.approx(1 / 8, abs=0.007)
    # counted over all T + 20 steps it would have been about (T + 10 + 10/8) / (T + 20) = 0.78
    everywhere = float((memoryless.argmax(-1) == y).float().mean())
    assert everywhere == pytest.approx((T + 10 + 10 * share_of_ones) / (T + 20), abs=1e-6)
    assert task.scored_steps.tolist() == [False] * (T + 10) + [True] * 10


def test_each_task_scores_the_positions_its_answer_depends_on():
    assert AddingTask(9).scored_steps.tolist() == [False] * 8 + [True]
    assert RecallTask(9, delay=3).scored_steps.tolist() == [False] * 3 + [True] * 6
    digits = DigitsTask()
    assert digits.scored_steps.tolist() == [False] * 63 + [True]
    assert TextTask(10).scored_steps.tolist() == [True] * 10
    # brackets scores the positions whose next symbol is a closing bracket, by its targets
    task = BracketsTask(30)
    _, y = task.sample(50, gen(1))
    out = torch.nn.functional.one_hot(y.clamp(min=0), 8).float()
    out[y == -100] = 0.0  # unscored positions predicted wrong (argmax 0): they must not count
    assert task.accuracy(out, y) == 1.0


@pytest.mark.parametrize("T", [1, 10, 200])
def test_copy_trivial_loss_is_exactly_10_ln8_over_T_plus_20_on_any_batch(T):
    task = CopyTask(T)
    for split in ("validation", "test"):
        _, y = task.held_out(split, 256, seed=T)
        assert task.trivial_loss(y) == pytest.approx(10 * math.log(8) / (T + 20), rel=1e-6)


def test_adding_trivial_loss_is_the_mean_squared_distance_of_the_sums_from_one():
    task = AddingTask(30)
    _, y = task.held_out("test", 4096, seed=0)
    direct = float(((y[:, -1].double() - 1.0) ** 2).mean())
    assert task.trivial_loss(y) == pytest.approx(direct, rel=1e-5)
    # its expectation is the baseline 1/6; on 4096 sums the standard error is about 0.0025
    assert task.trivial_loss(y) == pytest.approx(1 / 6, abs=0.01)


def test_recall_trivial_loss_is_the_mean_square_of_the_recalled_values():
    task = RecallTask(20, delay=5)
    _, y = task.held_out("validation", 4096, seed=1)
    direct = float((y[:, 5:].double() ** 2).mean())
    assert task.trivial_loss(y) == pytest.approx(direct, rel=1e-5)
    assert task.trivial_loss(y) == pytest.approx(1.0, abs=0.02)


def test_brackets_trivial_loss_is_ln_k_on_any_batch():
    task = BracketsTask(40)
    _, y = task.held_out("test", 512, seed=2)
    assert task.trivial_loss(y) == pytest.approx(math.log(4), rel=1e-6)


def test_image_trivial_loss_is_the_cross_entropy_of_the_training_label_prior():
    task = DigitsTask()
    _, train_labels = task._data["train"]
    prior = torch.bincount(train_labels, minlength=10).double() / len(train_labels)
    for split in ("validation", "test"):
        _, y = task.held_out(split, 1, 0)
        direct = float(-prior.log()[y[:, -1]].mean())
        assert task.trivial_loss(y) == pytest.approx(direct, rel=1e-6)


def test_every_task_has_a_trivial_output_of_its_output_shape():
    for name, cls in TASKS.items():
        task = DigitsTask() if cls is DigitsTask else make_task(name, 28 if name == "mnist" else 12)
        _, y = task.held_out("validation", 8, 0)
        out = task.trivial_output(y)
        assert out.shape == (*y.shape, task.output_size), name
        assert math.isfinite(task.trivial_loss(y)), name
