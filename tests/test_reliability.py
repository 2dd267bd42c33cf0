"""Reliability campaign: a hostile but fair user against run directories, checkpoints and the CLI.

Every case checks the whole contract, not just the exit status: a refusal is
one line naming the path, comes before any work, and leaves every file the
user had byte for byte as it was; a run that goes on ends with exactly the
rows of an uninterrupted run. Runs are tiny (hidden 4, T = 5, a few steps,
one torch thread), in this process. The cases that need real processes or
faults (concurrent runs, SIGKILL, full disks, reduced capabilities) are in
:mod:`test_reliability_faults`, which shares the helpers below.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from linalg_rnn import cli, course
from linalg_rnn._filesystem import read_jsonl
from linalg_rnn.rnn.checkpoint import load_checkpoint, save_checkpoint
from linalg_rnn.rnn.config import TrainConfig
from linalg_rnn.rnn.rundir import MARKER, has_run
from linalg_rnn.rnn.trainer import train

TINY = ["--task", "recall", "--seq-len", "5", "--hidden", "4", "--batch", "4", "--device", "cpu",
        "--no-progress", "--no-figures"]
TINY_CFG = dict(task="recall", seq_len=5, hidden=4, batch=4, device="cpu", figures=False)
CHILD_ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg",
             "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[1]),
                                            os.environ.get("PYTHONPATH", "")])}


# ----------------------------------------------------------------------------- helpers
def run_cli(argv, capsys):
    """``linalg-rnn argv`` in this process: (exit status, stdout, stderr)."""
    try:
        code = cli.main(argv)
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def snapshot(root: Path) -> dict:
    """Every entry under ``root`` (hidden ones too) with its bytes and mode: "unchanged" means equal."""
    if not root.exists() and not root.is_symlink():
        return {}
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            mode = p.lstat().st_mode
            found[rel] = (mode, p.read_bytes() if p.is_file() and not p.is_symlink() else None)
    return found


def assert_one_line_error(code, err, *needles, status=2):
    assert code == status, err
    assert err.count("\n") == 1 and "error:" in err and "Traceback" not in err, err
    for needle in needles:
        assert str(needle) in err, (needle, err)


def without_time(rows):
    return [{k: v for k, v in r.items() if k != "elapsed_s"} for r in rows]


def finished_run(path: Path, steps=6, **extra) -> TrainConfig:
    cfg = TrainConfig(steps=steps, **{**TINY_CFG, **extra})
    train(cfg, path)
    return cfg


USER_FILES = {"config.json": b'{"my": "own config"}\n', "result.json": b'{"thesis": 42}\n',
              "metrics.csv": b"a,b\n1,2\n", "curves.png": b"\x89PNG not really"}


def users_folder(path: Path, files=USER_FILES) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (path / name).write_bytes(data)
    return path


# ------------------------------------------------------------------ ownership, --force
def test_a_folder_of_the_users_files_is_refused_and_left_byte_identical(tmp_path, capsys):
    out = users_folder(tmp_path / "mine")
    (out / ".hidden").write_text("x")
    before = snapshot(tmp_path)
    code, _, err = run_cli(["train", *TINY, "--steps", "3", "--out", str(out)], capsys)
    assert_one_line_error(code, err, str(out), "did not write", "config.json", "--force")
    assert snapshot(tmp_path) == before


def test_force_moves_the_users_files_aside_says_so_and_deletes_nothing(tmp_path, capsys):
    out = users_folder(tmp_path / "mine")
    (out / "notes.txt").write_text("keep me")
    code, _, err = run_cli(["train", *TINY, "--steps", "3", "--out", str(out), "--force"], capsys)
    assert code == 0, err
    [replaced] = list(out.glob("replaced-*"))
    assert "note: --force: moved" in err and str(replaced) in err and "notes.txt" in err
    for name, data in USER_FILES.items():
        assert (replaced / name).read_bytes() == data  # the user's bytes, intact
    assert (out / "notes.txt").read_text() == "keep me"
    assert json.loads((out / "result.json").read_text())["finished"] is True


def test_force_where_no_name_clashes_moves_nothing_and_leaves_the_files(tmp_path, capsys):
    out = users_folder(tmp_path / "mine", {"data.csv": b"1,2,3\n"})
    code, _, err = run_cli(["train", *TINY, "--steps", "2", "--out", str(out)], capsys)
    assert_one_line_error(code, err, "data.csv")
    code, _, err = run_cli(["train", *TINY, "--steps", "2", "--out", str(out), "--force"], capsys)
    assert code == 0 and not list(out.glob("replaced-*")) and "left as they were: data.csv" in err
    assert (out / "data.csv").read_bytes() == b"1,2,3\n"


def test_an_earlier_run_needs_resume_or_force(tmp_path, capsys):
    out = tmp_path / "run"
    finished_run(out)
    before = snapshot(tmp_path)
    code, _, err = run_cli(["train", *TINY, "--steps", "6", "--out", str(out)], capsys)
    assert_one_line_error(code, err, "already holds a run", "--resume", "--force")
    assert snapshot(tmp_path) == before


def test_force_over_an_earlier_run_keeps_it_whole_and_resumable(tmp_path, capsys):
    out = tmp_path / "run"
    finished_run(out)
    old = snapshot(out)
    assert run_cli(["train", *TINY, "--steps", "4", "--out", str(out), "--force"], capsys)[0] == 0
    [replaced] = list(out.glob("replaced-*"))
    assert snapshot(replaced) == old  # every file of the old run, marker included, moved as it was
    code, _, err = run_cli(["train", "--out", str(replaced), "--resume", "--no-progress"], capsys)
    assert code == 0 and "already finished at step 6" in err
    assert run_cli(["train", *TINY, "--steps", "4", "--out", str(out), "--force"], capsys)[0] == 0
    assert len(list(out.glob("replaced-*"))) == 2  # a second --force never reuses the first folder


def test_force_and_resume_together_are_refused(tmp_path, capsys):
    out = tmp_path / "run"
    finished_run(out)
    before = snapshot(tmp_path)
    code, _, err = run_cli(["train", "--out", str(out), "--resume", "--force"], capsys)
    assert_one_line_error(code, err, "--force", "--resume")
    assert snapshot(tmp_path) == before


# ---------------------------------------------------------------------- odd paths
def _file(tmp_path):
    (tmp_path / "a_file").write_text("data")
    return str(tmp_path / "a_file"), "is a file"


def _under_file(tmp_path):
    (tmp_path / "a_file").write_text("data")
    return str(tmp_path / "a_file" / "run"), "a_file is a file"


def _broken_link(tmp_path):
    (tmp_path / "link").symlink_to(tmp_path / "gone")
    return str(tmp_path / "link"), "broken symbolic link"


def _too_long(tmp_path):
    return str(tmp_path / ("x" * 300)), "name too long"


def _newline_under_file(tmp_path):
    (tmp_path / "f").write_text("data")
    return str(tmp_path / "f" / "two\nlines"), "'"  # shown quoted, so the error stays one line


def _empty(tmp_path):
    return "", "--out is empty"


def _device(tmp_path):
    return "/dev/null", "/dev/null is a file"


def _proc(tmp_path):
    return "/proc/no/run/here", "/proc/no/run/here"


@pytest.mark.parametrize("make", [_file, _under_file, _broken_link, _too_long, _newline_under_file, _empty,
                                  _device, _proc])
def test_an_unusable_out_is_one_line_before_any_work_and_nothing_changes(make, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out, needle = make(tmp_path)
    before = snapshot(tmp_path)
    code, _, err = run_cli(["train", *TINY, "--steps", "2", "--out", out], capsys)
    assert_one_line_error(code, err, needle)
    assert snapshot(tmp_path) == before


def test_odd_but_valid_paths_work(tmp_path, capsys, monkeypatch):
    (tmp_path / "empty").mkdir()
    monkeypatch.chdir(tmp_path / "empty")
    assert run_cli(["train", *TINY, "--steps", "2", "--out", "."], capsys)[0] == 0  # an empty cwd is fine
    monkeypatch.chdir(tmp_path)
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    for out in ["link", "rün 🚀 dir", "deep/er/still/", " "]:
        code, _, err = run_cli(["train", *TINY, "--steps", "2", "--out", out], capsys)
        assert code == 0, (out, err)
        assert has_run(tmp_path / out)
    assert has_run(tmp_path / "real") and has_run(tmp_path / "empty")
    code, _, err = run_cli(["train", *TINY, "--steps", "2", "--out", "."], capsys)  # a full cwd is not
    assert_one_line_error(code, err, "did not write")


# ------------------------------------------------------------------- checkpoint faults
def _empty_file(p):
    p.write_bytes(b"")


def _truncated(p):
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])


def _random_bytes(p):
    p.write_bytes(np.random.default_rng(0).bytes(4096))


def _text(p):
    p.write_text("hello, I am not a checkpoint\n")


def _plain_pickle(p):
    p.write_bytes(pickle.dumps({"step": 3}))


def _a_list(p):
    torch.save([1, 2, 3], p)


def _no_config(p):
    state = torch.load(p, weights_only=True)
    del state["config"]
    torch.save(state, p)


def _wrong_shapes(p):
    state = torch.load(p, weights_only=True)
    state["model"] = {k: torch.zeros(3, 3) for k in state["model"]}
    torch.save(state, p)


def _a_folder(p):
    p.unlink()
    p.mkdir()


def _fifo(p):
    p.unlink()
    os.mkfifo(p)  # reading it would block for ever


def _endless(p):
    p.unlink()
    p.symlink_to("/dev/zero")  # reading it would never end


def _other_run(p):
    other = p.parent.parent / "other"
    train(TrainConfig(steps=6, **{**TINY_CFG, "hidden": 5}), other)
    shutil.copy(other / "checkpoint.pt", p)


@pytest.mark.parametrize("spoil, needle", [
    (_empty_file, "the file is empty"), (_truncated, "not a readable checkpoint"),
    (_random_bytes, "not a readable checkpoint"), (_text, "not a readable checkpoint"),
    (_plain_pickle, "not a readable checkpoint"), (_a_list, "holds a list"),
    (_no_config, "'config' is missing"), (_wrong_shapes, "does not fit this run"),
    (_a_folder, "checkpoint.pt"), (_other_run, "hidden: 5 -> 4"), (_fifo, "not a regular file"),
    (_endless, "not a regular file"),
])
def test_a_bad_checkpoint_is_one_line_naming_it_and_the_folder_is_unchanged(spoil, needle, tmp_path, capsys):
    out = tmp_path / "runs" / "run"
    finished_run(out, steps=4)
    spoil(out / "checkpoint.pt")
    before = snapshot(out)
    code, _, err = run_cli(["train", *TINY, "--steps", "8", "--out", str(out), "--resume"], capsys)
    assert_one_line_error(code, err, "checkpoint" if spoil is _other_run else out / "checkpoint.pt", needle)
    assert snapshot(out) == before


@pytest.mark.parametrize("name", ["metrics.jsonl", "config.json"])
def test_a_fifo_in_place_of_a_run_file_is_refused_not_waited_on(name, tmp_path, capsys):
    out = tmp_path / "run"
    finished_run(out, steps=3)
    (out / name).unlink()
    os.mkfifo(out / name)
    before = snapshot(out)
    code, _, err = run_cli(["train", "--out", str(out), "--resume", "--steps", "5", "--no-progress"], capsys)
    if name == "config.json":  # the checkpoint holds the config: the FIFO is only reported, then replaced
        assert code == 0 and "not a regular file" in err and (out / name).is_file()
    else:
        assert_one_line_error(code, err, out / name, "not a regular file")
        assert snapshot(out) == before


def test_a_checkpoint_that_would_run_code_is_refused_and_nothing_runs(tmp_path, capsys):
    out = tmp_path / "run"
    finished_run(out, steps=3)
    witness = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {witness}",))

    torch.save({"step": 1, "config": {}, "payload": Evil()}, out / "checkpoint.pt")
    before = snapshot(out)
    code, _, err = run_cli(["train", "--out", str(out), "--resume", "--no-progress"], capsys)
    assert_one_line_error(code, err, out / "checkpoint.pt", "nothing in it was run")
    assert not witness.exists() and snapshot(out) == before


def test_save_checkpoint_refuses_what_weights_only_could_not_load(tmp_path):
    for bad, where in (({"x": np.ones(3)}, "state['x']"), ({"a": [1, {"b": object()}]}, "state['a'][1]['b']"),
                       ({"f": np.float64(1.0)}, "state['f']")):
        with pytest.raises(TypeError, match=__import__("re").escape(where)):
            save_checkpoint(tmp_path / "c.pt", bad)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("extra", [
    {}, {"strategy": "expm"}, {"strategy": "cayley+clip"}, {"strategy": "lstm+tbptt"},
    {"strategy": "orthogonal_init+qr_projection"}, {"optimizer": "sgd"}, {"optimizer": "rmsprop"},
])
def test_every_kind_of_run_checkpoints_to_plain_values_that_load_safely(extra, tmp_path):
    train(TrainConfig(steps=2, **{**TINY_CFG, **extra}), tmp_path / "r")
    state = load_checkpoint(tmp_path / "r" / "checkpoint.pt")  # weights_only=True
    assert state["step"] == 2 and state["config"]["steps"] == 2


def test_run_files_get_the_umask_permissions_not_0600(tmp_path):
    old = os.umask(0o022)
    try:
        finished_run(tmp_path / "r", steps=2)
    finally:
        os.umask(old)
    for name in ("config.json", "metrics.jsonl", "result.json", "checkpoint.pt", MARKER):
        assert (tmp_path / "r" / name).stat().st_mode & 0o777 == 0o644, name


# --------------------------------------------------------------------- resume semantics
@pytest.mark.parametrize("state", ["missing", "empty", "foreign"])
def test_resume_where_there_is_no_run_is_refused_and_creates_nothing(state, tmp_path, capsys):
    out = tmp_path / "run"
    if state != "missing":
        out.mkdir()
    if state == "foreign":
        (out / "config.json").write_text('{"task": "copy"}')
    before = snapshot(tmp_path)
    code, _, err = run_cli(["train", *TINY, "--out", str(out), "--resume"], capsys)
    assert_one_line_error(code, err, "nothing to resume", out, "leave out --resume")
    assert snapshot(tmp_path) == before


def test_resume_without_out_looks_in_the_default_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(["train", *TINY, "--resume"], capsys)
    assert_one_line_error(code, err, "nothing to resume", os.path.join("runs", "recall-vanilla-seed0"))
    assert not (tmp_path / "runs").exists()


def test_config_json_removed_then_resume_with_another_lr_is_refused(tmp_path, capsys):
    out = tmp_path / "run"
    finished_run(out, steps=4)
    (out / "config.json").unlink()
    before = snapshot(out)
    code, _, err = run_cli(["train", "--out", str(out), "--resume", "--steps", "8", "--lr", "0.5"], capsys)
    assert_one_line_error(code, err, "differs from the checkpoint", "lr: 0.001 -> 0.5")
    assert snapshot(out) == before


def test_config_json_removed_then_resume_uses_the_checkpoint_and_says_so(tmp_path, capsys):
    out = tmp_path / "run"
    cfg = finished_run(out, steps=4, lr=0.003)
    (out / "config.json").unlink()
    code, _, err = run_cli(["train", "--out", str(out), "--resume", "--steps", "8", "--no-progress"], capsys)
    assert code == 0 and "config.json was missing" in err
    saved = json.loads((out / "config.json").read_text())
    assert saved["lr"] == 0.003 and saved["steps"] == 8 and saved["hidden"] == cfg.hidden


def test_an_edited_config_json_does_not_change_the_run(tmp_path, capsys):
    out, ref = tmp_path / "run", tmp_path / "ref"
    finished_run(out, steps=4)
    finished_run(ref, steps=4)
    edited = {**json.loads((out / "config.json").read_text()), "lr": 0.5, "hidden": 64}
    (out / "config.json").write_text(json.dumps(edited))
    code, _, err = run_cli(["train", "--out", str(out), "--resume", "--steps", "7", "--no-progress"], capsys)
    assert code == 0 and "differed from the checkpoint's config" in err and "lr: 0.5 -> 0.001" in err
    assert run_cli(["train", "--out", str(ref), "--resume", "--steps", "7", "--no-progress"], capsys)[0] == 0
    assert without_time(read_jsonl(out / "metrics.jsonl")) == without_time(read_jsonl(ref / "metrics.jsonl"))
    assert json.loads((out / "config.json").read_text())["lr"] == 0.001


def test_a_garbled_config_json_is_repaired_from_the_checkpoint(tmp_path, capsys):
    out = tmp_path / "run"
    finished_run(out, steps=3)
    (out / "config.json").write_text("{ torn")
    code, _, err = run_cli(["train", "--out", str(out), "--resume", "--steps", "5", "--no-progress"], capsys)
    assert code == 0 and "cannot read" in err and "config.json" in err
    assert json.loads((out / "config.json").read_text())["steps"] == 5


def test_fewer_steps_than_done_is_refused_and_the_result_stays_finished(tmp_path, capsys):
    out = tmp_path / "run"
    finished_run(out, steps=40)
    before = snapshot(out)
    code, _, err = run_cli(["train", "--out", str(out), "--resume", "--steps", "20"], capsys)
    assert_one_line_error(code, err, "steps 20", "at step 40", "never shrink")
    assert snapshot(out) == before
    saved = json.loads((out / "result.json").read_text())
    assert saved["finished"] is True and saved["steps_done"] == 40


def test_resuming_a_finished_run_trains_nothing_and_says_so(tmp_path, capsys):
    out = tmp_path / "run"
    finished_run(out, steps=10)
    rows, result = read_jsonl(out / "metrics.jsonl"), json.loads((out / "result.json").read_text())
    code, stdout, err = run_cli(["train", "--out", str(out), "--resume", "--no-progress"], capsys)
    assert code == 0 and "already finished at step 10; nothing to train" in err
    assert "10 steps" in stdout
    assert read_jsonl(out / "metrics.jsonl") == rows
    again = json.loads((out / "result.json").read_text())
    assert again["finished"] is True and again["final"] == result["final"]


def test_more_steps_on_a_finished_run_continue_it_like_an_uninterrupted_run(tmp_path, capsys):
    out = tmp_path / "run"
    finished_run(out, steps=10)
    assert run_cli(["train", "--out", str(out), "--resume", "--steps", "16", "--no-progress"], capsys)[0] == 0
    full = train(TrainConfig(steps=16, **TINY_CFG))
    rows = read_jsonl(out / "metrics.jsonl")
    assert [r["step"] for r in rows] == list(range(1, 17))
    assert without_time(rows[10:]) == without_time(full.history[10:])


@pytest.mark.parametrize("damage", ["torn_last_line", "deleted", "last_two_rows_gone"])
def test_rows_lost_from_a_finished_run_come_back_on_resume(damage, tmp_path, capsys):
    out = tmp_path / "run"
    finished_run(out, steps=12, eval_every=4, checkpoint_every=100)
    rows, result = read_jsonl(out / "metrics.jsonl"), json.loads((out / "result.json").read_text())
    text = (out / "metrics.jsonl").read_text()
    if damage == "torn_last_line":
        (out / "metrics.jsonl").write_text(text[: text.rstrip("\n").rfind("\n") + 30])
    elif damage == "deleted":
        (out / "metrics.jsonl").unlink()
    else:
        (out / "metrics.jsonl").write_text("".join(text.splitlines(keepends=True)[:-2]))
    code, _, err = run_cli(["train", "--out", str(out), "--resume", "--no-progress"], capsys)
    assert code == 0 and "restored from the checkpoint" in err
    assert read_jsonl(out / "metrics.jsonl") == rows  # the final row, with its val_loss, is back
    again = json.loads((out / "result.json").read_text())
    # the held-out numbers are the finished run's, not a re-evaluation (final val_loss is the
    # held-out validation set's, not the last row's small val_batch)
    assert again["final"] == result["final"] and again["final"]["val_sequences"] == 4096
    assert (out / "metrics.csv").read_text().count("\n") == 13


def test_rows_that_no_checkpoint_kept_are_reported_lost_not_hidden(tmp_path, capsys):
    out = tmp_path / "run"
    finished_run(out, steps=12, checkpoint_every=5)
    (out / "metrics.jsonl").unlink()
    code, _, err = run_cli(["train", "--out", str(out), "--resume", "--no-progress"], capsys)
    assert code == 0 and "lacks 10 of the 12 rows" in err and "lost" in err
    assert [r["step"] for r in read_jsonl(out / "metrics.jsonl")] == [11, 12]


def test_a_corrupt_line_inside_metrics_is_one_line_naming_it(tmp_path, capsys):
    out = tmp_path / "run"
    finished_run(out, steps=5)
    lines = (out / "metrics.jsonl").read_text().splitlines(keepends=True)
    lines[1] = "{garbage\n"
    (out / "metrics.jsonl").write_text("".join(lines))
    before = snapshot(out)
    code, _, err = run_cli(["train", "--out", str(out), "--resume", "--no-progress"], capsys)
    assert_one_line_error(code, err, out / "metrics.jsonl", "line 2")
    assert snapshot(out) == before


def test_a_run_killed_before_its_first_checkpoint_starts_again_from_step_0(tmp_path, capsys):
    out = tmp_path / "run"
    cfg = finished_run(out, steps=5)
    for name in ("checkpoint.pt", "result.json", "metrics.csv"):
        (out / name).unlink()
    (out / ".checkpoint.pt.0badc0de.tmp").write_bytes(b"half a checkpoint")  # a kill mid-write
    code, _, err = run_cli(["train", "--out", str(out), "--resume", "--no-progress"], capsys)
    assert code == 0 and "no checkpoint yet" in err and "from step 0" in err
    assert without_time(read_jsonl(out / "metrics.jsonl")) == without_time(train(cfg).history)
    assert not list(out.glob(".*.tmp"))


def test_a_diverged_run_resumes_to_the_same_divergence_and_says_so(tmp_path, capsys):
    out = tmp_path / "run"
    finished_run(out, steps=30, lr=1e20)
    result = json.loads((out / "result.json").read_text())
    assert result["diverged"]
    code, _, err = run_cli(["train", "--out", str(out), "--resume", "--steps", "40", "--no-progress"], capsys)
    assert code == 0 and "already diverged" in err
    again = json.loads((out / "result.json").read_text())
    assert again["divergence_step"] == result["divergence_step"] and again["finished"] is True


def test_resume_with_a_config_file_that_changes_the_model_is_refused(tmp_path, capsys):
    out = tmp_path / "run"
    finished_run(out, steps=3)
    (tmp_path / "c.toml").write_text("hidden = 9\n")
    before = snapshot(out)
    code, _, err = run_cli(["train", "--out", str(out), "--resume", "--config", str(tmp_path / "c.toml")],
                           capsys)
    assert_one_line_error(code, err, "hidden: 4 -> 9")
    assert snapshot(out) == before


# --------------------------------------------------------------------------------- MNIST
@pytest.mark.parametrize("data_dir, needle", [("missing", "no train-images"), ("garbage", "not an IDX file"),
                                              (5, "error")])
def test_mnist_without_usable_data_is_one_line_and_makes_no_run_folder(data_dir, needle, tmp_path, capsys):
    if data_dir == "garbage":
        (tmp_path / "garbage").mkdir()
        (tmp_path / "garbage" / "train-images-idx3-ubyte").write_bytes(b"\x01\x02\x03\x04junk")
        (tmp_path / "garbage" / "train-labels-idx1-ubyte").write_bytes(b"junk")
    value = json.dumps(str(tmp_path / data_dir)) if isinstance(data_dir, str) else str(data_dir)
    (tmp_path / "m.toml").write_text(f'task = "mnist"\nhidden = 4\nbatch = 4\nsteps = 1\ndevice = "cpu"\n'
                                     f"data_dir = {value}\n")
    out = tmp_path / "runs" / "mnist"
    before = snapshot(tmp_path)
    code, _, err = run_cli(["train", "--config", str(tmp_path / "m.toml"), "--out", str(out)], capsys)
    assert_one_line_error(code, err, needle)
    assert snapshot(tmp_path) == before and not (tmp_path / "runs").exists()


# ------------------------------------------------------------------------- bad flags
@pytest.mark.parametrize("flags, needle", [
    (["--steps", "1e3"], "invalid int value"), (["--hidden", "four"], "invalid int value"),
    (["--lr", "fast"], "invalid float value"), (["--frobnicate"], "unrecognized arguments"),
    (["--out"], "expected one argument"),
])
def test_malformed_flags_are_one_line_and_make_no_folder(flags, needle, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(["train", *TINY, *flags], capsys)
    assert_one_line_error(code, err, needle)
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------- linalg-rnn lessons
@pytest.fixture
def ran_lessons(monkeypatch):
    """Record which lessons run_course would run, without running them."""
    ran = []

    def fake(lesson, out_dir, *, mode=None):
        ran.append(Path(lesson).name[:2])
        return course.LessonRun(Path(lesson), 0, 0.0, [])

    monkeypatch.setattr(course, "run_lesson", fake)
    return ran


@pytest.mark.parametrize("only, expected", [(["1"], ["01"]), (["01", "1"], ["01"]), (["13"], ["13"]),
                                            (["3", "1"], ["01", "03"])])
def test_lessons_only_matches_by_number(only, expected, ran_lessons, tmp_path, capsys):
    code, _, err = run_cli(["lessons", "--quick", "--only", *only, "--out", str(tmp_path / "c")], capsys)
    assert code == 0, err
    assert ran_lessons == expected


@pytest.mark.parametrize("only, needle", [(["99"], "no lesson matches 99"), (["1", "99", "0"], "99, 0"),
                                          (["abc"], "lesson numbers"), (["1.5"], "lesson numbers")])
def test_lessons_only_reports_unknown_numbers_before_running_any(only, needle, ran_lessons, tmp_path, capsys):
    code, _, err = run_cli(["lessons", "--only", *only, "--out", str(tmp_path / "c")], capsys)
    assert_one_line_error(code, err, needle)
    assert ran_lessons == [] and not (tmp_path / "c").exists()


@pytest.mark.parametrize("make", [_file, _under_file, _empty])
def test_lessons_out_that_cannot_be_a_folder_is_one_line(make, ran_lessons, tmp_path, capsys):
    out, _ = make(tmp_path)
    before = snapshot(tmp_path)
    code, _, err = run_cli(["lessons", "--only", "1", "--out", out], capsys)
    assert_one_line_error(code, err, "output folder")
    assert ran_lessons == [] and snapshot(tmp_path) == before


def test_api_misuse_is_named(tmp_path):
    cfg = TrainConfig(steps=2, **TINY_CFG)
    with pytest.raises(TypeError, match="must be a path"):
        train(cfg, 42)
    with pytest.raises(ValueError, match="empty path"):
        train(cfg, "")
    with pytest.raises(ValueError, match="NUL"):
        train(cfg, "a\0b")
    train(cfg, tmp_path / "r")
    again = train(cfg, tmp_path / "r", resume=True)
    assert any("already finished" in note for note in again.notes), again.notes
