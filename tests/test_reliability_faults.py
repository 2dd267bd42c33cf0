"""Reliability campaign, part two: real processes, locks, kills at any moment, full disks, capabilities.

The cases of :mod:`test_reliability` where the point is a real process or a
fault: two concurrent runs on one folder, SIGKILL at chosen file-system
events and at random times followed by ``--resume``, a disk that fills
mid-run, and root without ``CAP_DAC_OVERRIDE`` or on a read-only mount. The
same contract holds: one line naming the path, nothing the user had
changed, and a resumed run that ends with exactly the uninterrupted rows.
"""

from __future__ import annotations

import errno
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_reliability import (
    CHILD_ENV,
    TINY,
    TINY_CFG,
    assert_one_line_error,
    finished_run,
    run_cli,
    snapshot,
    users_folder,
    without_time,
)

from linalg_rnn import _filesystem as filesystem_module
from linalg_rnn._filesystem import read_jsonl
from linalg_rnn.rnn import checkpoint as checkpoint_module
from linalg_rnn.rnn import rundir as rundir_module
from linalg_rnn.rnn.checkpoint import load_checkpoint
from linalg_rnn.rnn.config import TrainConfig
from linalg_rnn.rnn.rundir import RunDir, RunDirBusyError, has_run
from linalg_rnn.rnn.trainer import train


# ------------------------------------------------------------- unwritable folders
def test_unwritable_folders_as_an_ordinary_user(tmp_path, capsys):
    if os.geteuid() == 0:
        pytest.skip("root writes anywhere; test_unwritable_folders_as_root_without_dac_override covers it")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    for out in (locked, locked / "run"):
        code, _, err = run_cli(["train", *TINY, "--steps", "2", "--out", str(out)], capsys)
        assert_one_line_error(code, err, str(out), "not writable")
    code, _, err = run_cli(["lessons", "--only", "1", "--out", str(locked / "c")], capsys)
    assert_one_line_error(code, err, "not writable")
    assert list(locked.iterdir()) == []


# Runs in a child whose capabilities or mounts differ: each argv through cli.main, stderr captured.
_CHILD = r"""
import contextlib, io, json, sys
from linalg_rnn.cli import main
results = []
for argv in json.loads(sys.argv[1]):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code
    results.append([code, err.getvalue()])
print(json.dumps(results))
"""


def _run_child(prefix, argvs):
    proc = subprocess.run([*prefix, sys.executable, "-c", _CHILD, json.dumps(argvs)], capture_output=True,
                          text=True, timeout=240, env=CHILD_ENV)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_unwritable_folders_as_root_without_dac_override(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("only root can drop CAP_DAC_OVERRIDE here")
    if not shutil.which("setpriv"):
        pytest.skip("setpriv (util-linux) is not installed")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    run = tmp_path / "run"
    finished_run(run)
    run.chmod(0o555)  # an earlier run, now read-only: --resume must say so, not crash
    before = snapshot(tmp_path)
    drop = ["setpriv", "--inh-caps=-dac_override,-dac_read_search",
            "--bounding-set=-dac_override,-dac_read_search", "--"]
    results = _run_child(drop, [
        ["train", *TINY, "--steps", "2", "--out", str(locked)],
        ["train", *TINY, "--steps", "2", "--out", str(locked / "run")],
        ["train", "--out", str(run), "--resume", "--steps", "9", "--no-progress"],
        ["lessons", "--only", "1", "--out", str(locked / "course")],
    ])
    for (code, err), needle in zip(results, [locked, locked, run, locked], strict=True):
        assert_one_line_error(code, err, str(needle), "not writable")
    assert snapshot(tmp_path) == before


def test_a_read_only_mount_is_one_line(tmp_path):
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("needs root and unshare to make a private read-only bind mount")
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("this container may not create mount namespaces")
    ro = tmp_path / "ro"
    run = ro / "run"
    finished_run(run)
    before = snapshot(tmp_path)
    script = f"mount --bind -o ro {ro} {ro} && exec \"$@\""
    results = _run_child(["unshare", "-m", "sh", "-c", script, "sh"], [
        ["train", *TINY, "--steps", "2", "--out", str(ro / "new")],
        ["train", "--out", str(run), "--resume", "--steps", "9", "--no-progress"],
        ["lessons", "--only", "1", "--out", str(ro / "course")],
    ])
    for code, err in results:
        assert_one_line_error(code, err, str(ro), "read-only file system")
    assert snapshot(tmp_path) == before


# ------------------------------------------------------------------ lock and concurrency
def test_a_second_open_of_a_locked_folder_is_refused_at_once(tmp_path):
    cfg = TrainConfig(steps=2, **TINY_CFG).resolved()
    with RunDir.open(tmp_path / "r", cfg) as first:
        first.claim()
        for kwargs in ({}, {"resume": True}, {"force": True}):
            with pytest.raises(RunDirBusyError, match="in use by another linalg-rnn run"):
                RunDir.open(tmp_path / "r", cfg, **kwargs)
    RunDir.open(tmp_path / "r", cfg, resume=True).close()  # released with the first


def test_a_failure_before_the_claim_releases_the_lock_and_removes_the_new_folder(tmp_path, monkeypatch):
    from linalg_rnn.rnn import trainer

    def broken(config):
        raise RuntimeError("boom while building")

    monkeypatch.setattr(trainer, "build_run", broken)
    with pytest.raises(RuntimeError, match="boom"):
        train(TrainConfig(steps=2, **TINY_CFG), tmp_path / "a" / "b")
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    finished_run(tmp_path / "a" / "b", steps=2)


def test_where_a_folder_cannot_be_flocked_a_lock_file_does_the_job(tmp_path, monkeypatch):
    if not Path("/proc/self/fd").is_dir():
        pytest.skip("tells folders from files through /proc")
    real = filesystem_module.fcntl.flock

    def no_folder_locks(fd, op):
        if os.path.isdir(f"/proc/self/fd/{fd}"):
            raise OSError(errno.EINVAL, "Invalid argument")
        return real(fd, op)

    monkeypatch.setattr(filesystem_module.fcntl, "flock", no_folder_locks)
    cfg = TrainConfig(steps=2, **TINY_CFG).resolved()
    with RunDir.open(tmp_path / "r", cfg):
        assert (tmp_path / "r" / ".linalg-rnn-lock").exists()
        with pytest.raises(RunDirBusyError):
            RunDir.open(tmp_path / "r", cfg)
    assert not (tmp_path / "r").exists()  # never claimed: the folder and its lock file are gone
    finished_run(tmp_path / "r", steps=2)  # the lock file does not make the folder look foreign


def _wait_for(predicate, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def _checkpoint_step(path):
    try:
        return load_checkpoint(path)["step"]
    except (OSError, ValueError):
        return -1


def test_two_real_concurrent_runs_one_refused_the_other_intact_then_resume_after_sigkill(tmp_path, capsys):
    out = tmp_path / "run"
    argv = [sys.executable, "-m", "linalg_rnn", "train", *TINY, "--steps", "1000000",
            "--checkpoint-every", "25", "--out", str(out)]
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=CHILD_ENV)
             for _ in range(2)]
    try:
        assert _wait_for(lambda: any(p.poll() is not None for p in procs)), "neither run was refused"
        [loser] = [p for p in procs if p.poll() is not None]
        [winner] = [p for p in procs if p is not loser]
        _, err = loser.communicate()
        assert_one_line_error(loser.returncode, err, "in use by another linalg-rnn run", out)
        assert _wait_for(lambda: _checkpoint_step(out / "checkpoint.pt") >= 50 or winner.poll() is not None)
        assert winner.poll() is None, winner.communicate()
        for extra in (["--resume"], ["--force"], []):  # a third and fourth user, in this process
            code, _, err = run_cli(["train", *TINY, "--steps", "1000000", "--out", str(out), *extra], capsys)
            assert_one_line_error(code, err, "in use")
        winner.send_signal(signal.SIGKILL)
        winner.wait(timeout=60)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    step = _checkpoint_step(out / "checkpoint.pt")
    rows = read_jsonl(out / "metrics.jsonl")
    assert [r["step"] for r in rows] == list(range(1, len(rows) + 1))  # one writer: monotonic, no repeats
    # SIGKILL left no stale lock: --resume works at once and ends as an uninterrupted run
    code, _, err = run_cli(["train", "--out", str(out), "--resume", "--steps", str(step + 7),
                            "--no-progress"], capsys)
    assert code == 0, err
    full = train(TrainConfig(steps=step + 7, checkpoint_every=25, **TINY_CFG))
    assert without_time(read_jsonl(out / "metrics.jsonl")) == without_time(full.history)


# ------------------------------------------------------------------ kills at any moment
# A driver process forks one child per job; a child trains and SIGKILLs itself at its k-th
# file-system event (just before or just after an os.replace, or half-way through appending a
# metrics line), or the driver kills it after a random delay. The test then resumes each folder here.
_KILLER = r"""
import json, os, signal, sys, time
import torch
torch.set_num_threads(1)
from linalg_rnn.rnn import rundir
from linalg_rnn.rnn.config import TrainConfig
from linalg_rnn.rnn.trainer import train

spec = json.loads(sys.argv[1])
cfg = TrainConfig(**spec["config"])
train(cfg, progress=False)  # warm up once here, so that every forked child starts fast
done = []
for job in spec["jobs"]:
    pid = os.fork()
    if pid == 0:
        events = [0]
        def tick():
            events[0] += 1
            return events[0] == job.get("event")
        real_replace, real_append = os.replace, rundir.append_jsonl
        def replace(src, dst):
            if tick():
                os.kill(os.getpid(), signal.SIGKILL)
            real_replace(src, dst)
            if tick():
                os.kill(os.getpid(), signal.SIGKILL)
        def append(path, row):
            if tick():
                line = json.dumps(row)
                with open(path, "a") as f:
                    f.write(line[: len(line) // 2])
                os.kill(os.getpid(), signal.SIGKILL)
            return real_append(path, row)
        os.replace, rundir.append_jsonl = replace, append
        train(cfg, job["out"], progress=False)
        os._exit(0)
    if "after_s" in job:
        time.sleep(job["after_s"])
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    done.append(os.WIFSIGNALED(status))
print(json.dumps(done))
"""


def test_sigkill_at_chosen_and_random_moments_then_resume_gives_the_uninterrupted_rows(tmp_path, monkeypatch):
    if not hasattr(os, "fork"):
        pytest.skip("needs os.fork")
    config = dict(steps=24, checkpoint_every=5, eval_every=6, spectral_every=3, **TINY_CFG)
    cfg = TrainConfig(**config)
    full = train(cfg)
    # count the file-system events of one run (here, in-process), and time it
    events = [0]
    real_replace, real_append = os.replace, rundir_module.append_jsonl

    def count_replace(src, dst):
        events[0] += 2
        real_replace(src, dst)

    def count_append(path, row):
        events[0] += 1
        return real_append(path, row)

    monkeypatch.setattr(os, "replace", count_replace)
    monkeypatch.setattr(rundir_module, "append_jsonl", count_append)
    start = time.perf_counter()
    train(cfg, tmp_path / "counted")
    seconds = time.perf_counter() - start
    monkeypatch.undo()
    rng = random.Random(20240601)
    chosen = [1, 2, 3, 4, events[0]] + rng.sample(range(5, events[0]), 7)  # the claim's writes, the last one
    jobs = [{"out": str(tmp_path / f"event{k}"), "event": k} for k in chosen]
    jobs += [{"out": str(tmp_path / f"time{i}"), "after_s": rng.uniform(0.0, 1.5 * seconds)}
             for i in range(4)]
    proc = subprocess.run([sys.executable, "-c", _KILLER, json.dumps({"config": config, "jobs": jobs})],
                          capture_output=True, text=True, timeout=300, env=CHILD_ENV)
    assert proc.returncode == 0, proc.stderr[-3000:]
    killed = json.loads(proc.stdout.strip().splitlines()[-1])
    assert all(killed[: len(chosen)]), killed  # every chosen event was reached and killed its run
    for job in jobs:
        out = Path(job["out"])
        if has_run(out):
            result = train(cfg, out, resume=True)
        else:  # killed before the marker landed: there is no run, and starting one is allowed
            with pytest.raises(FileNotFoundError, match="nothing to resume"):
                train(cfg, out, resume=True)
            result = train(cfg, out)
        assert result.steps_done == cfg.steps and not result.interrupted, job
        assert without_time(read_jsonl(out / "metrics.jsonl")) == without_time(full.history), job
        assert json.loads((out / "result.json").read_text())["finished"] is True
        assert not [n for n in os.listdir(out) if n.endswith(".tmp")], job


# ------------------------------------------------------------------- faults while writing
def _route_atomic_writes(monkeypatch, fake):
    """Send every atomic write -- the run files' and save_checkpoint's -- through ``fake``."""
    for module in (filesystem_module, checkpoint_module):
        monkeypatch.setattr(module, "atomic_write_bytes", fake)


def test_disk_full_at_a_checkpoint_is_one_line_exit_1_and_resume_finishes_the_run(tmp_path, capsys,
                                                                                     monkeypatch):
    real = filesystem_module.atomic_write_bytes
    calls = {"checkpoints": 0}

    def full_disk_at_second_checkpoint(path, data):
        if Path(path).name == "checkpoint.pt":
            calls["checkpoints"] += 1
            if calls["checkpoints"] == 2:
                raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, data)

    _route_atomic_writes(monkeypatch, full_disk_at_second_checkpoint)
    out = tmp_path / "run"
    code, _, err = run_cli(["train", *TINY, "--steps", "12", "--checkpoint-every", "4", "--out", str(out)],
                           capsys)
    assert_one_line_error(code, err, out / "checkpoint.pt", "No space left on device", "--resume", status=1)
    assert _checkpoint_step(out / "checkpoint.pt") == 4
    monkeypatch.undo()
    assert run_cli(["train", "--out", str(out), "--resume", "--no-progress"], capsys)[0] == 0
    full = train(TrainConfig(steps=12, checkpoint_every=4, **TINY_CFG))
    assert without_time(read_jsonl(out / "metrics.jsonl")) == without_time(full.history)


@pytest.mark.parametrize("force", [False, True])
def test_disk_full_while_claiming_puts_the_folder_back_as_it_was(force, tmp_path, capsys, monkeypatch):
    out = users_folder(tmp_path / "mine") if force else tmp_path / "new" / "run"
    before = snapshot(tmp_path)
    real = filesystem_module.atomic_write_bytes

    def full_disk_at_config(path, data):
        if Path(path).name == "config.json":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, data)

    _route_atomic_writes(monkeypatch, full_disk_at_config)
    flags = ["--force"] if force else []
    code, _, err = run_cli(["train", *TINY, "--steps", "3", "--out", str(out), *flags], capsys)
    assert_one_line_error(code, err, out, "No space left", "nothing was changed", status=1)
    assert snapshot(tmp_path) == before
