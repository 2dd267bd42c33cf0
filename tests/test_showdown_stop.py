"""A showdown stops when told: real SIGINT/SIGTERM on a real process pool, then --resume finishes it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from linalg_rnn.cli import main
from linalg_rnn.rnn.checkpoint import load_checkpoint
from linalg_rnn.rnn.showdown import Executor, parse_profile, run_study

# Cells long enough that none can finish between the moment the test looks and the signal:
# 3000 steps of a tiny model are seconds, and the signal comes within the first half of them.
STEPS = 3000
LONG = {"name": "long", "seeds": [0, 1], "steps": STEPS, "hidden": 4, "batch": 4, "val_batch": 8,
        "eval_every": 500, "checkpoint_every": 25, "spectral_every": 100, "device": "cpu",
        "tasks": [{"task": "adding", "seq_len": 6}],
        "strategies": ["vanilla", {"label": "qr_every_1", "strategy": "qr_projection", "proj_every": 1}]}
TIMING = {"wall_s", "time_per_step_s"}


def untimed(rows):
    return [{k: v for k, v in r.items() if k not in TIMING} for r in rows]


def _toml(study: dict) -> str:
    lines = ["[study]"] + [f"{k} = {json.dumps(v)}" for k, v in study.items()
                           if k not in ("tasks", "strategies")]
    lines += ['tasks = [{ task = "adding", seq_len = 6 }]',
              'strategies = ["vanilla", '
              '{ label = "qr_every_1", strategy = "qr_projection", proj_every = 1 }]']
    return "\n".join(lines) + "\n"


def _reference(tmp_path_factory, members: int) -> list[dict]:
    """The same study, never interrupted (in this process, a unit of ``members`` cells at a time)."""
    out = tmp_path_factory.mktemp("reference") / "study"
    return run_study(parse_profile(LONG), out, executor=Executor(workers=1, members=members), echo=None,
                     progress=False, figures=False).rows


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return _reference(tmp_path_factory, 1)


@pytest.fixture(scope="module")
def batched_reference(tmp_path_factory):
    return _reference(tmp_path_factory, 2)


def _started(out: Path) -> set[str]:
    """Cells whose run folder exists: the trainer makes it when the cell starts."""
    return {str(p.parent.relative_to(out / "cells")) for p in (out / "cells").rglob("config.json")}


def _running(out: Path) -> list[Path]:
    """Run folders with a checkpoint and no record yet: cells in the middle of training."""
    return [p.parent for p in (out / "cells").rglob("checkpoint.pt")
            if not (out / "records" / (str(p.parent.relative_to(out / "cells")) + ".json")).exists()]


def _steps_logged(run_dir: Path) -> int:
    return sum(1 for _ in (run_dir / "metrics.jsonl").open())


@pytest.mark.parametrize("name, to_group, workers, executor, members", [
    ("SIGINT", True, 2, "local", 1),    # Ctrl-C in a terminal: the driver and its workers all get it
    ("SIGTERM", False, 2, "local", 1),  # kill PID: only the driver gets it, and must pass it on
    ("SIGTERM", False, 1, "local", 1),  # one worker: the cell runs in the driver's own process
    ("SIGTERM", False, 2, "ray", 1),    # queued Ray tasks are cancelled, running ones get ray.cancel
    ("SIGTERM", False, 2, "local", 2),  # --batch-members 2: each worker trains two seeds as one model
])
def test_a_signal_stops_the_study_no_cell_starts_after_it_and_resume_finishes_it(
        name, to_group, workers, executor, members, tmp_path, request):
    if executor == "ray":
        pytest.importorskip("ray")
    reference = request.getfixturevalue("reference" if members == 1 else "batched_reference")
    (tmp_path / "p.toml").write_text(_toml(LONG))
    out = tmp_path / "study"
    env = os.environ | {"OMP_NUM_THREADS": "1", "CI": "1"}
    batch = ["--batch-members", str(members)]
    command = [sys.executable, "-m", "linalg_rnn", "showdown", "--profile", str(tmp_path / "p.toml"),
               "--out", str(out), "--workers", str(workers), "--no-progress", "--executor", executor, *batch]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        # wait until every worker is in the first half of a cell: none is between cells
        while not (out / "cells").is_dir() or len(running := _running(out)) < workers * members or not all(
                25 <= _steps_logged(d) < STEPS // 2 for d in running):
            assert proc.poll() is None, proc.communicate()[0][-3000:]
            assert time.monotonic() < deadline, "the study never had every worker training"
            time.sleep(0.02)
        before = _started(out)
        sent = time.monotonic()
        number = getattr(signal, name)
        os.killpg(proc.pid, number) if to_group else os.kill(proc.pid, number)
        output, _ = proc.communicate(timeout=300)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    print(f"\n{name} to {'the process group' if to_group else 'the driver'}, {workers} {executor} worker(s): "
          f"exit {proc.returncode} after {took:.2f} s; {len(before)} cells had started")
    assert proc.returncode == {"SIGINT": 130, "SIGTERM": 143}[name], output
    assert "Traceback" not in output
    assert f"continue with: linalg-rnn showdown --out {out} --resume" in output
    assert _started(out) == before  # no cell started after the signal
    saved = json.loads((out / "results.json").read_text())
    assert saved["meta"]["interrupted"] == name
    stopped = [r for r in saved["runs"] if r["status"] == "interrupted"]
    # every running cell came back stopped, none ran to its end (Ray: best effort, a cancelled task
    # may come back without a record; its checkpoint, if written, is still there for --resume)
    # (a worker trains a unit: ``members`` cells together)
    running_cells = workers * members
    assert len(stopped) == running_cells if executor == "local" else len(stopped) <= running_cells
    for row in stopped:
        assert 25 <= row["steps"] < STEPS  # it stopped mid-run, after a whole, logged, checkpointed step
        assert _steps_logged(out / row["run_dir"]) == row["steps"]
        assert load_checkpoint(out / row["run_dir"] / "checkpoint.pt")["step"] == row["steps"]
    # the command the message gives finishes the study, with the study's own profile
    assert main(["showdown", "--out", str(out), "--resume", "--workers", "1", "--no-progress", *batch]) == 0
    resumed = json.loads((out / "results.json").read_text())
    assert len(resumed["meta"]["sittings"]) == 2
    assert untimed(resumed["runs"]) == untimed(reference)
