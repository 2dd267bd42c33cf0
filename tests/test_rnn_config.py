"""TrainConfig at the door: strict types, the tasks' own rules, and a memory estimate before allocating."""

import dataclasses
import gzip
import json
import math
import re
import struct

import numpy as np
import pytest
import torch

from linalg_rnn.cli import main
from linalg_rnn.rnn import config as config_module
from linalg_rnn.rnn.config import SEED_MAX, TrainConfig, device_memory
from linalg_rnn.rnn.tasks import (
    TASK_OPTIONS,
    TASKS,
    SequenceTask,
    make_task,
    task_spec,
)
from linalg_rnn.rnn.trainer import build_run, train

SMALL = dict(task="recall", seq_len=10, delay=3, hidden=8, batch=8, device="cpu")


def one_line_error(exc_type, changes, base=SMALL):
    """Resolve ``base`` updated by ``changes``; return the one-line message of the expected error."""
    with pytest.raises(exc_type) as info:
        TrainConfig(**{**base, **changes}).resolved()
    message = str(info.value)
    assert message and "\n" not in message
    return message


# --- 1. strict types, whatever the source -------------------------------------------------------


def test_every_field_has_a_type_rule():
    fields = [f.name for f in dataclasses.fields(TrainConfig) if not f.name.startswith("_")]
    assert [f.name for f in TrainConfig.options()] == fields
    assert all(callable(f.metadata["rule"]) and f.metadata["help"] for f in TrainConfig.options())
    assert set(TASK_OPTIONS) <= set(fields)  # each task option is a config field of the same name


@pytest.mark.parametrize(
    "changes, exc, words",
    [
        ({"permute": "yes"}, TypeError, "permute must be true or false"),
        ({"permute": 1}, TypeError, "permute must be true or false"),
        ({"figures": "no"}, TypeError, "figures must be true or false"),
        ({"figures": None}, TypeError, "figures must be true or false"),
        ({"hidden": 64.0}, TypeError, "hidden must be an integer, got float"),
        ({"hidden": True}, TypeError, "hidden must be an integer, got bool"),
        ({"batch": "32"}, TypeError, "batch must be an integer, got str"),
        ({"steps": None}, TypeError, "steps must be an integer, got NoneType"),
        ({"seq_len": 10.0}, TypeError, "seq_len must be an integer"),
        ({"val_batch": 0}, ValueError, "val_batch must be an integer >= 1"),
        ({"lag_grads_every": -1}, ValueError, "lag_grads_every must be an integer >= 0"),
        ({"delay": 2.5}, TypeError, "delay must be an integer"),
        ({"lr": "0.1"}, TypeError, "lr must be a real number"),
        ({"lr": math.inf}, ValueError, "lr must be a finite number > 0"),
        ({"lr": True}, TypeError, "lr must be a real number"),
        ({"init_gain": math.nan}, ValueError, "init_gain must be a finite number > 0"),
        ({"strategy": "clip", "clip_value": -1.0}, ValueError, "clip_value must be a finite number > 0"),
        ({"strategy": 5}, ValueError, "strategy must be names joined by"),
        ({"task": None}, ValueError, "unknown task None"),
        ({"optimizer": "lbfgs"}, ValueError, "unknown optimizer 'lbfgs'"),
        ({"model": "gru"}, ValueError, "unknown model 'gru'"),
        ({"strategy": "orthogonal_init", "init_scheme": "random"}, ValueError, "unknown init_scheme"),
        ({"device": 0}, ValueError, "unknown device 0"),
        ({"data_dir": 5}, TypeError, "data_dir must be a path"),  # the type first, for any task
        ({"task": "mnist", "seq_len": None, "delay": None, "data_dir": ["a"]}, TypeError,
         "data_dir must be a path"),
    ],
)
def test_a_field_of_the_wrong_type_or_range_is_one_line_naming_it(changes, exc, words):
    assert words in one_line_error(exc, changes)


@pytest.mark.parametrize("seed", [2**64, 2**63, -1])
def test_seed_outside_zero_to_two_to_the_63_minus_one_is_refused(seed):
    message = one_line_error(ValueError, {"seed": seed})
    assert message == f"seed must be an integer in [0, {SEED_MAX}], got {seed}"


def test_the_largest_seed_is_accepted_and_seeds_torch_with_its_offsets():
    assert SEED_MAX == 2**63 - 1
    cfg = TrainConfig(**{**SMALL, "seed": SEED_MAX}).resolved()
    # the trainer seeds generators with seed + 1 and seed + 2: both in torch's range [0, 2**64 - 1]
    for offset in (0, 1, 2):
        assert torch.Generator().manual_seed(cfg.seed + offset).initial_seed() == SEED_MAX + offset
    with pytest.raises((RuntimeError, ValueError)):
        torch.Generator().manual_seed(2**64)  # where torch itself stops


def test_values_are_normalized_so_config_json_holds_plain_types(tmp_path):
    cfg = TrainConfig(task="recall", seq_len=np.int64(12), hidden=np.int32(4), permute=np.bool_(False),
                      lr=np.float32(0.5), device="cpu").resolved()
    assert type(cfg.seq_len) is int and type(cfg.hidden) is int and type(cfg.lr) is float
    assert cfg.permute is False
    json.dumps(cfg.to_dict())  # would raise for NumPy scalars
    images = write_mnist(tmp_path)
    mnist = TrainConfig(task="mnist", data_dir=images, device="cpu").resolved()
    assert mnist.data_dir == str(images)


def test_a_resolved_config_resolves_to_itself():
    cfg = TrainConfig(**{**SMALL, "strategy": "clip+tbptt"}).resolved()
    assert cfg.resolved() == cfg


@pytest.mark.parametrize(
    "text, words",
    [
        ('task = "digits"\npermute = "yes"\n', "permute must be true or false (a bool), got str 'yes'"),
        ('figures = "no"\n', "figures must be true or false (a bool), got str 'no'"),
        ("hidden = 8.5\n", "hidden must be an integer, got float 8.5"),
        ("seed = 18446744073709551616\n", "seed must be an integer in [0, 9223372036854775807]"),
        ('task = "mnist"\ndata-dir = 7\n', "data_dir must be a path (a string), got int 7"),
        ('lr = "fast"\n', "lr must be a real number, got str 'fast'"),
    ],
)
def test_a_toml_file_with_a_wrong_type_is_refused_in_one_line_before_any_work(text, words, tmp_path, capsys):
    path = tmp_path / "run.toml"
    path.write_text(text)
    out = tmp_path / "run"
    assert main(["train", "--config", str(path), "--device", "cpu", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err
    assert not out.exists()


def test_a_json_file_with_a_wrong_type_is_refused_in_one_line(tmp_path, capsys):
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"steps": 2.0, "device": "cpu"}))
    assert main(["train", "--config", str(path), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "steps must be an integer, got float 2.0" in err


@pytest.mark.parametrize("seed", [str(2**64), str(2**63), "-1"])
def test_seed_flag_beyond_the_range_exits_2_in_one_line(seed, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--seed", seed, "--device", "cpu", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"seed must be an integer in [0, {SEED_MAX}], got {seed}" in err
    assert not out.exists()


# --- 2. each task owns its lengths and rules ----------------------------------------------------


def _write_idx(path, array):
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(gzip.compress(header + array.astype(">u1").tobytes()))


def write_mnist(folder, n=20):
    rng = np.random.default_rng(0)
    _write_idx(folder / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
    _write_idx(folder / "train-labels-idx1-ubyte.gz", rng.integers(0, 10, n))
    return folder


def cases(tmp_path):
    """Arguments of every task, defaults and non-defaults: (name, seq_len, options)."""
    data = write_mnist(tmp_path)
    return [
        ("copy", None, {}), ("copy", 1, {}), ("copy", 37, {}),
        ("adding", None, {}), ("adding", 2, {}), ("adding", 41, {}),
        ("recall", None, {}), ("recall", 2, {}), ("recall", 30, {"delay": 29}), ("recall", 9, {"delay": 1}),
        ("brackets", None, {}), ("brackets", 2, {}), ("brackets", 33, {}),
        ("digits", None, {}), ("digits", 64, {"permute": True}),
        ("mnist", None, {"data_dir": str(data)}), ("mnist", 784, {"data_dir": data, "permute": True}),
        ("mnist", None, {}), ("mnist", 28, {}), ("mnist", 28, {"data_dir": data, "permute": True}),
        ("text", None, {}), ("text", 7, {}),
    ]


def test_the_spec_of_every_task_is_what_make_task_builds_and_what_the_config_sees(tmp_path):
    assert {name for name, _, _ in cases(tmp_path)} == set(TASKS)
    for name, seq_len, options in cases(tmp_path):
        spec = task_spec(name, seq_len, **options)
        task = make_task(name, seq_len, **options)
        assert type(task) is spec.task is TASKS[name]
        assert task.length == spec.length, name
        assert (task.input_size, task.output_size) == (spec.input_size, spec.output_size), name
        x, y = task.sample(3, torch.Generator().manual_seed(0))
        assert x.shape == (3, spec.length, spec.input_size) and y.shape == (3, spec.length)
        if "delay" in spec.options:
            assert task.delay == spec.options["delay"]
        if "permute" in spec.options:
            moved = task.permutation != torch.arange(len(task.permutation))
            assert bool(moved.any()) == spec.options["permute"]
        cfg = TrainConfig(task=name, seq_len=seq_len, device="cpu", **options).resolved()
        assert cfg.sequence_length() == spec.length == cfg.task_spec().length
        assert spec.length == spec.task.sequence_length(spec.seq_len)


def test_the_lengths_the_tasks_declare():
    assert TrainConfig(task="copy").sequence_length() == 70  # default T = 50, plus 20
    assert TrainConfig(task="copy", seq_len=10).sequence_length() == 30
    assert TrainConfig(task="adding").sequence_length() == 50
    assert TrainConfig(task="digits").sequence_length() == 64
    assert TrainConfig(task="mnist").sequence_length() == 784  # no data needed to know the length
    assert task_spec("recall", 20).options == {"delay": 10}


@pytest.mark.parametrize(
    "name, seq_len, options, exc, message",
    [
        ("recall", 10, {"delay": 10}, ValueError, "delay must be < seq_len (10), got 10"),
        ("recall", 1, {}, ValueError, "T (seq_len) must be an integer >= 2, got 1"),
        ("adding", 1, {}, ValueError, "T (seq_len) must be an integer >= 2, got 1"),
        ("adding", 10, {"delay": 3}, ValueError, "delay applies to the recall task only, not 'adding'"),
        ("copy", 10, {"permute": True}, ValueError,
         "permute applies to image tasks (digits, mnist), not 'copy'"),
        ("digits", 10, {"data_dir": "x"}, ValueError,
         "data_dir applies to the mnist task only, not 'digits'"),
        ("digits", 100, {}, ValueError,
         "digits sequences have 64 steps (8x8 pixels); use seq_len 64 or leave it out"),
        ("mnist", 100, {"data_dir": "x"}, ValueError,
         "mnist sequences have 784 steps (a pixel each) or 28 (a row of 28 pixels each)"),
        ("mnist", None, {"data_dir": "/no/such/folder"}, FileNotFoundError,
         "no train-images-idx3-ubyte[.gz] in /no/such/folder"),
        ("digits", None, {"permute": "yes"}, TypeError, "permute must be true or false"),
        ("recall", 10, {"delay": 0}, ValueError, "delay must be an integer >= 1, got 0"),
    ],
)
def test_make_task_and_the_config_refuse_the_same_way_by_the_same_rule(name, seq_len, options, exc, message):
    with pytest.raises(exc) as from_make_task:
        make_task(name, seq_len, **options)
    with pytest.raises(exc) as from_config:
        TrainConfig(task=name, seq_len=seq_len, device="cpu", **options).resolved()
    assert message in str(from_make_task.value)
    assert str(from_config.value) == str(from_make_task.value)
    assert "\n" not in str(from_config.value)


def test_unknown_task_option_is_refused():
    with pytest.raises(ValueError, match="unknown task option 'lag'; choose from delay, permute, data_dir"):
        make_task("recall", 10, lag=3)


def test_mnist_without_its_files_is_refused_before_a_run_directory_exists(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "--task", "mnist", "--data-dir", str(tmp_path / "none"), "--device", "cpu",
                 "--out", str(out)])
    assert code == 2 and not out.exists()
    assert "no train-images-idx3-ubyte" in capsys.readouterr().err


class ParityTask(SequenceTask):
    """A task defined outside the package: the parity of the bit ``delay`` steps back."""

    name = "parity"
    default_seq_len = 12
    min_seq_len = 3
    options = ("delay",)
    input_size, output_size, classification = 1, 2, True

    @classmethod
    def sequence_length(cls, seq_len):
        return seq_len + 1  # one step to answer

    @classmethod
    def check_options(cls, seq_len, *, delay=None):
        delay = 2 if delay is None else delay
        if delay >= seq_len:
            raise ValueError(f"parity delay must be < {seq_len}")
        return {"delay": delay}

    def __init__(self, T, delay=2):
        self.length, self.delay = self.sequence_length(T), delay
        self.step_weights = torch.zeros(self.length)
        self.step_weights[-1] = 1.0

    @property
    def baseline_loss(self):
        return math.log(2)

    def sample(self, batch, generator, *, split="train"):
        bits = torch.randint(0, 2, (batch, self.length), generator=generator, device=generator.device)
        y = torch.zeros_like(bits)
        y[:, -1] = bits[:, -1 - self.delay]
        return bits.float().unsqueeze(-1), y

    def trivial_output(self, target):  # a fair coin: what the run's final evaluation scores beside it
        return torch.full((*target.shape, 2), -math.log(2), device=target.device)


def test_a_new_task_needs_no_change_to_the_config(monkeypatch):
    monkeypatch.setitem(TASKS, "parity", ParityTask)
    cfg = TrainConfig(task="parity", delay=4, hidden=4, batch=4, steps=2, device="cpu").resolved()
    assert cfg.sequence_length() == 13 and cfg.task_spec().options == {"delay": 4}
    assert train(cfg).steps_done == 2
    assert "parity delay must be < 12" in one_line_error(ValueError, {"delay": 12}, dict(task="parity"))
    # the readers of an option are found in the registry: now two tasks read delay
    assert "delay applies to the tasks (recall, parity), not 'adding'" in one_line_error(
        ValueError, {"task": "adding", "seq_len": None}, dict(delay=2))


# --- 3. memory: refuse what cannot fit, before allocating -----------------------------------------


@pytest.mark.parametrize(
    "changes, at_least",
    [
        ({"hidden": 1_000_000}, 4 * 4 * 10**12),  # W_hh alone is 4e12 bytes, times weight, grad, 2 moments
        ({"batch": 1_000_000_000}, 4 * 10**9 * 10 * 8),  # B T (H) floats kept for BPTT, at least
        ({"val_batch": 1_000_000_000}, 4 * 10**9 * 10 * 8),
        ({"seq_len": 10**12, "delay": None}, 4 * 10**12 * 8 * 8),
    ],
)
def test_a_run_that_cannot_fit_is_refused_with_the_estimate_before_allocating(changes, at_least):
    message = one_line_error(ValueError, changes)
    need = float(re.search(r"need at least (\S+) bytes", message).group(1))
    assert need >= at_least
    assert need == pytest.approx(TrainConfig(**{**SMALL, **changes}).memory_estimate()["total"], rel=1e-2)
    assert "this machine's RAM has" in message and "make them smaller" in message


def test_hidden_a_million_on_the_command_line_exits_2_with_the_estimate(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--hidden", "1000000", "--device", "cpu", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "hidden=1000000" in err and "bytes" in err
    assert not out.exists()


def test_the_limit_is_the_device_memory(monkeypatch):
    cfg = TrainConfig(**SMALL)
    need = cfg.memory_estimate()["total"]
    monkeypatch.setattr(config_module, "device_memory", lambda device: ("a small device", need - 1))
    assert f"but a small device has {need - 1:.3g}" in one_line_error(ValueError, {})
    monkeypatch.setattr(config_module, "device_memory", lambda device: ("a small device", need))
    cfg.resolved()  # exactly enough is enough
    monkeypatch.setattr(config_module, "device_memory", lambda device: None)
    TrainConfig(**{**SMALL, "hidden": 10**6}).resolved()  # unknown memory: no check


def test_device_memory_is_the_ram_on_the_cpu():
    import os

    label, size = device_memory("cpu")
    assert size == os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") > 0
    if not torch.cuda.is_available():
        assert device_memory("cuda") is None  # the device check refuses it later, in one line
        assert device_memory("auto") == (label, size)


@pytest.mark.parametrize("strategy", ["vanilla", "lstm", "expm", "cayley", "orthogonal_init+qr_projection"])
@pytest.mark.parametrize("optimizer", ["adam", "rmsprop", "sgd"])
def test_the_parameter_part_counts_the_weights_and_the_optimizer_state_torch_holds(strategy, optimizer):
    cfg = TrainConfig(task="copy", seq_len=5, hidden=6, batch=4, strategy=strategy, optimizer=optimizer,
                      device="cpu", lr=1e-3)
    run = build_run(cfg)
    x, y = run.task.sample(4, torch.Generator().manual_seed(0))
    run.task.loss(run.model(x)[0], y).backward()
    run.optimizer.step()
    weights = sum(p.numel() for p in run.model.parameters())
    buffers = sum(b.numel() for b in run.model.buffers())
    state = sum(v.numel() for s in run.optimizer.state.values() for v in s.values()
                if torch.is_tensor(v) and v.dim() > 0)  # Adam's scalar step counters aside
    computed = 6 * 6 if run.model.is_parametrized else 0  # the W_hh a parametrization computes
    assert cfg.memory_estimate()["parameters"] == 4 * (2 * weights + state + buffers + computed)


def _bytes_autograd_saves(run, x, y):
    """Bytes of the tensors autograd keeps for backward (storages counted once, parameters left out)."""
    storages = {}

    def pack(t):
        storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        run.task.loss(run.model(x)[0], y)
    params = {p.untyped_storage().data_ptr() for p in run.model.parameters()}
    return sum(n for ptr, n in storages.items() if ptr not in params)


@pytest.mark.parametrize("strategy", ["vanilla", "lstm", "expm", "orthogonal_init+qr_projection"])
@pytest.mark.parametrize("task, seq_len", [("copy", 10), ("adding", 30), ("digits", None)])
def test_the_activation_part_is_a_lower_bound_of_what_autograd_keeps(strategy, task, seq_len):
    cfg = TrainConfig(task=task, seq_len=seq_len, hidden=16, batch=8, strategy=strategy, device="cpu")
    run = build_run(cfg)
    x, y = run.task.sample(8, torch.Generator().manual_seed(0))
    saved = _bytes_autograd_saves(run, x, y)
    estimate = cfg.memory_estimate()["activations"]
    assert estimate <= saved < 5 * estimate  # a bound, and not a loose one


def test_tbptt_keeps_activations_for_one_window_only():
    whole = TrainConfig(task="adding", seq_len=40, strategy="clip").memory_estimate()
    window = TrainConfig(task="adding", seq_len=40, strategy="clip+tbptt", tbptt_window=10).memory_estimate()
    assert window["activations"] * 4 == whole["activations"]
    assert window["batch"] == whole["batch"]  # the batch is still drawn whole


def test_memory_estimate_counts_the_input_size_the_task_has_at_that_length():
    # mnist read a row per step: 28 pixels per step, not the class default of 1
    rows, pixels = (TrainConfig(task="mnist", seq_len=T, hidden=4, batch=8, val_batch=8, eval_sequences=8)
                    for T in (28, 784))
    H, n_out = 4, 10
    assert rows.task_spec().input_size == 28
    weights = {n_in: H * (n_in + H + 2) + n_out * (H + 1) for n_in in (1, 28)}
    assert rows.memory_estimate()["parameters"] == 4 * weights[28] * 4  # weight, grad, 2 Adam moments
    assert pixels.memory_estimate()["parameters"] == 4 * weights[1] * 4
    # the final evaluation's chunk counts where it is larger than the validation batch
    small, large = (TrainConfig(task="adding", seq_len=10, val_batch=8, eval_sequences=n).memory_estimate()
                    for n in (8, 5000))
    assert large["validation"] == small["validation"] * 1024 // 8
