"""Showdown plumbing on tiny grids: resume, interrupted, diverging and crashed cells, executors, CLI."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from linalg_rnn._filesystem import read_jsonl
from linalg_rnn.cli import main
from linalg_rnn.rnn import train
from linalg_rnn.rnn.showdown import (
    ROW_KEYS,
    Executor,
    _executors,
    expand_cells,
    load_profile,
    parse_profile,
    publish,
    results_page,
    run_study,
)

TINY = {"name": "tiny", "seeds": [0, 1], "steps": 6, "hidden": 4, "batch": 4, "val_batch": 8,
        "eval_every": 3, "checkpoint_every": 3, "spectral_every": 1, "device": "cpu",
        "tasks": [{"task": "adding", "seq_len": 6}],
        "strategies": ["vanilla", {"label": "qr_every_1", "strategy": "qr_projection", "proj_every": 1}]}
DESIGN_KEYS = {"task", "seq_len", "strategy", "seed", "val_loss", "baseline_loss", "loss_ratio", "success",
               "steps_to_threshold", "max_grad_norm", "final_w_hh_spectral_norm", "max_w_hh_spectral_norm",
               "diverged", "divergence_step", "wall_s", "steps", "run_dir"}
TIMING = {"wall_s", "time_per_step_s"}


def study(tmp_path, name="s", profile=None, **kwargs):
    # one run at a time unless a test asks: these tests follow single cells (tests/test_showdown_batched.py
    # runs the batched units, the default, through the same paths)
    asked = {k: kwargs.pop(k) for k in ("kind", "workers", "device", "members") if k in kwargs}
    settings = {"workers": 1, "members": 1} | asked
    kwargs = {"echo": None, "progress": False, "figures": False} | kwargs
    return run_study(parse_profile(profile or TINY), tmp_path / name, executor=Executor(**settings), **kwargs)


def untimed(rows):
    return [{k: v for k, v in r.items() if k not in TIMING} for r in rows]


def test_results_json_has_the_design_keys_and_the_meta(tmp_path):
    result = study(tmp_path, figures=True)
    data = json.loads((result.out_dir / "results.json").read_text())
    assert set(data["meta"]) >= {"command", "profile", "date", "machine", "versions"}
    assert len(data["runs"]) == 4 and all(DESIGN_KEYS <= set(r) for r in data["runs"])
    assert all(r["status"] == "finished" for r in data["runs"])
    header = (result.out_dir / "results.csv").read_text().splitlines()[0].split(",")
    assert header == list(ROW_KEYS)
    for name in ("summary.md", "curves.json", "figures/headline.png", "figures/loss_curves.png",
                 "figures/grad_norms.png", "figures/w_hh_norm.png", "figures/eigenvalues.png"):
        assert (result.out_dir / name).stat().st_size > 0, name
    assert "Verdicts on the source claims" in (result.out_dir / "summary.md").read_text()
    page = results_page(result.out_dir)
    assert "Verdicts on the source claims" in page and "qr_every_1" in page
    # two seeds decide nothing: the page says so once, below the verdict table
    assert page.count("Not decided by this run: claims 1, 2") == 1
    assert page.index("Not decided by this run: claims") > page.index("verdicts stack-on-phone")
    # every finished cell reports its held-out test numbers beside the validation loss
    runs = data["runs"]
    assert all(r["test_ratio"] is not None and r["test_trivial_ratio"] is not None for r in runs)
    assert all(r["test_ratio"] == r["test_loss"] / r["baseline_loss"] and r["params"] > 0 for r in runs)
    written = publish(result.out_dir, tmp_path / "docs" / "results" / "tiny", tmp_path / "docs" / "r.rst")
    assert ".. image:: results/tiny/figures/headline.png" in written.read_text()
    assert (tmp_path / "docs" / "results" / "tiny" / "figures" / "eigenvalues.png").is_file()


def test_resume_skips_finished_cells_and_reruns_only_the_missing_one(tmp_path):
    first = study(tmp_path)
    again = study(tmp_path, resume=True)
    assert again.ran == 0 and again.rows == first.rows
    (first.out_dir / "records" / "main/adding-T6/vanilla/seed1.json").unlink()
    shutil.rmtree(first.out_dir / "cells" / "main/adding-T6/vanilla/seed1")
    third = study(tmp_path, resume=True)
    assert third.ran == 1 and untimed(third.rows) == untimed(first.rows)


def test_an_interrupted_cell_continues_from_its_checkpoint(tmp_path):
    reference = study(tmp_path, "reference")
    cut = study(tmp_path, "cut")
    key = "main/adding-T6/qr_every_1/seed0"
    (cut.out_dir / "records" / f"{key}.json").unlink()
    run_dir = cut.out_dir / "cells" / key
    shutil.rmtree(run_dir)
    (cell,) = [c for c in expand_cells(parse_profile(TINY), overrides={"figures": False}) if c.key == key]
    train(dataclasses.replace(cell.config, steps=3), run_dir)  # as if stopped after step 3
    before = read_jsonl(run_dir / "metrics.jsonl")
    resumed = study(tmp_path, "cut", resume=True)
    after = read_jsonl(run_dir / "metrics.jsonl")
    assert resumed.ran == 1 and [r["step"] for r in after] == list(range(1, 7))
    assert after[:3] == before  # the first three steps were kept, timings included: continued, not redone
    assert untimed(resumed.rows) == untimed(reference.rows)


def test_a_diverging_cell_is_recorded_and_the_rest_finish(tmp_path):
    boom = {"label": "boom", "strategy": "vanilla", "lr": 1e30}  # Adam steps of 1e30: inf within a step
    profile = TINY | {"strategies": TINY["strategies"] + [boom]}
    rows = study(tmp_path, profile=profile).rows
    boom = [r for r in rows if r["strategy"] == "boom"]
    assert len(rows) == 6 and all(r["status"] == "diverged" and r["diverged"] for r in boom)
    assert all(r["divergence_step"] is not None and r["loss_ratio"] is None for r in boom)
    assert not any(r["success"] for r in boom)
    assert all(r["status"] == "finished" for r in rows if r["strategy"] != "boom")


def test_a_crashing_cell_is_recorded_and_retried_on_resume(tmp_path, monkeypatch):
    real = _executors.train

    def flaky(config, *args, **kwargs):
        if config.seed == 1 and config.strategy == "vanilla":
            raise RuntimeError("disk on fire")
        return real(config, *args, **kwargs)

    monkeypatch.setattr(_executors, "train", flaky)
    rows = study(tmp_path).rows
    crashed = [r for r in rows if r["status"] == "crashed"]
    assert len(crashed) == 1 and crashed[0]["error"] == "RuntimeError: disk on fire"
    assert sum(r["status"] == "finished" for r in rows) == 3
    monkeypatch.setattr(_executors, "train", real)
    again = study(tmp_path, resume=True)
    assert again.ran == 1 and all(r["status"] == "finished" for r in again.rows)


def test_two_local_workers_give_the_rows_of_one(tmp_path):
    one = study(tmp_path, "one", workers=1)
    two = study(tmp_path, "two", workers=2)
    assert untimed(one.rows) == untimed(two.rows)


def test_ray_and_local_executors_give_bit_identical_rows(tmp_path):
    ray = pytest.importorskip("ray")
    one_seed = TINY | {"seeds": [0]}
    local = study(tmp_path, "local", profile=one_seed, workers=1)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        remote = study(tmp_path, "ray", profile=one_seed, kind="ray")
    finally:
        ray.shutdown()
    assert untimed(local.rows) == untimed(remote.rows)


def test_a_study_folder_is_never_overwritten_and_resume_needs_the_same_profile(tmp_path):
    first = study(tmp_path)
    with pytest.raises(FileExistsError, match="already exists"):
        study(tmp_path)
    with pytest.raises(ValueError, match="another profile"):
        study(tmp_path, profile=TINY | {"steps": 7}, resume=True)
    with pytest.raises(FileNotFoundError, match="no study to resume"):
        study(tmp_path, "empty", resume=True)
    assert first.rows == json.loads((first.out_dir / "results.json").read_text())["runs"]


def test_the_full_profile_starts_checkpoints_and_resumes_on_the_cpu(tmp_path):
    full = load_profile("full")
    # full's settings (H = 190, batch 128, its sweep) on two cells, with the steps capped
    full = dataclasses.replace(
        full, seeds=(0,), defaults=full.defaults | {"steps": 3, "checkpoint_every": 2, "val_batch": 8},
        tasks=tuple(t for t in full.tasks if (t.task, t.seq_len) == ("copy", 200)),
        strategies=tuple(s for s in full.strategies if s.label in ("vanilla", "expm")),
        sweep=dataclasses.replace(full.sweep, values={"lr": full.sweep.values["lr"][:2]}, steps=2))
    executor = Executor(workers=1, device="cpu")
    first = run_study(full, tmp_path / "full", executor=executor, echo=None, progress=False, figures=False)
    main_rows = [r for r in first.rows if r["phase"] == "main"]
    assert len(first.rows) == 6 and len(main_rows) == 2 and all(r["steps"] == 3 for r in main_rows)
    assert all(r["hidden"] == 190 and r["batch"] == 128 for r in first.rows)
    key = "main/copy-T200/expm/seed0"
    assert (first.out_dir / "cells" / key / "checkpoint.pt").is_file()
    (first.out_dir / "records" / f"{key}.json").unlink()  # as if killed before its record was written
    trained = (first.out_dir / "cells" / key / "checkpoint.pt").read_bytes()
    again = run_study(full, tmp_path / "full", executor=executor, echo=None, progress=False,
                      figures=False, resume=True)
    assert again.ran == 1 and untimed(again.rows) == untimed(first.rows)
    # the cell had already finished: its run was reloaded, not trained again (no new checkpoint)
    assert (first.out_dir / "cells" / key / "checkpoint.pt").read_bytes() == trained


@pytest.mark.parametrize("flags, message", [
    (["--executor", "slurm"], "unknown executor 'slurm'"),
    (["--workers", "0"], "workers must be an integer >= 1"),
    (["--address", "ray://x:1"], "address is for the ray executor"),
    (["--profile", "missing.toml"], "does not exist"),
    (["--device", "tpu"], "unknown device 'tpu'"),
    (["--resume"], "no study to resume"),
])
def test_bad_flags_fail_in_one_line_before_any_work(flags, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "study"
    assert main(["showdown", "--out", str(out), *flags]) == 2
    err = capsys.readouterr().err
    assert err.startswith("linalg-rnn showdown: error:") and message in err and err.count("\n") == 1
    assert not out.exists()


def test_a_bad_profile_file_fails_in_one_line(tmp_path, capsys):
    path = tmp_path / "mine.toml"
    path.write_text('[study]\nname = "m"\nseeds = [0]\ntasks = [{ task = "adding", seq_len = 5 }]\n'
                    'strategies = [{ strategy = "clip", clip_norm = 2.0 }]\n')
    assert main(["showdown", "--profile", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "needs a label" in err and err.count("\n") == 1 and not (tmp_path / "o").exists()


def test_the_cli_runs_a_toml_profile_and_prints_the_folder(tmp_path, capsys):
    path = tmp_path / "mine.toml"
    path.write_text('[study]\nname = "m"\nseeds = [0]\nsteps = 3\nhidden = 4\nbatch = 4\nval_batch = 8\n'
                    'device = "cpu"\ntasks = [{ task = "brackets", seq_len = 6 }]\nstrategies = ["lstm"]\n')
    assert main(["showdown", "--profile", str(path), "--out", str(tmp_path / "o"), "--workers", "1",
                 "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "main brackets T=6 lstm seed 0" in out and str((tmp_path / "o").resolve()) in out.splitlines()[-1]


def test_the_committed_results_page_is_what_the_code_makes_of_the_committed_results(monkeypatch):
    root = Path(__file__).resolve().parent.parent
    monkeypatch.chdir(root)  # the page names its folder relative to the repository
    made = results_page(Path("docs/results/study"), image_dir="results/study/figures")
    assert (root / "docs" / "results.rst").read_text(encoding="utf-8") == made


def test_ctrl_c_stops_the_study_and_resume_finishes_it_as_if_uninterrupted(tmp_path):
    profile = TINY | {"steps": 300, "checkpoint_every": 25, "eval_every": 100}
    toml = "[study]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in profile.items()
                                 if k not in ("tasks", "strategies"))
    toml += 'tasks = [{ task = "adding", seq_len = 6 }]\n'
    toml += 'strategies = ["vanilla", { label = "qr_every_1", strategy = "qr_projection", proj_every = 1 }]\n'
    (tmp_path / "p.toml").write_text(toml)
    out = tmp_path / "study"
    env = os.environ | {"OMP_NUM_THREADS": "1", "CI": "1"}
    command = [sys.executable, "-m", "linalg_rnn", "showdown", "--profile", str(tmp_path / "p.toml"),
               "--out", str(out), "--workers", "2", "--batch-members", "1"]  # (batched: test_showdown_stop)
    proc = subprocess.Popen(command, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while not any((out / "cells").rglob("checkpoint.pt")) and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()[0][-2000:]
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C reaches the driver and its workers alike
        output, _ = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, output
    assert "Traceback" not in output and "--resume" in output
    saved = json.loads((out / "results.json").read_text())["runs"]
    assert len(saved) < 4 or any(r["status"] == "interrupted" for r in saved)
    resumed = run_study(parse_profile(profile), out, resume=True, executor=Executor(workers=1), echo=None,
                        progress=False, figures=False)  # the study's own --batch-members 1
    reference = study(tmp_path, "reference", profile=profile)
    assert resumed.ran >= 1 and all(r["status"] == "finished" for r in resumed.rows)
    assert untimed(resumed.rows) == untimed(reference.rows)


def test_a_sitting_killed_outright_still_says_what_it_ran(tmp_path, monkeypatch):
    import linalg_rnn.rnn.showdown._study as study_module

    class Killed(BaseException):
        """Stands for SIGKILL: nothing after the raise runs, the files stay as last written."""

    written = study_module.write_outputs

    def write_then_die(out, meta, records, order, final, **kwargs):
        written(out, meta, records, order, final=final, **kwargs)
        if len(records) == 2:
            raise Killed

    monkeypatch.setattr(study_module, "write_outputs", write_then_die)
    with pytest.raises(Killed):
        study(tmp_path)
    meta = json.loads((tmp_path / "s" / "results.json").read_text())["meta"]
    assert [s["cells_run"] for s in meta["sittings"]] == [2]
    assert 0 < meta["sittings"][0]["wall_s"] == meta["wall_s"]
    monkeypatch.setattr(study_module, "write_outputs", written)
    resumed = study(tmp_path, resume=True)
    meta = json.loads((resumed.out_dir / "results.json").read_text())["meta"]
    assert [s["cells_run"] for s in meta["sittings"]] == [2, 2] and resumed.ran == 2
    assert "over 2 sittings" in results_page(resumed.out_dir)
    # a results.json from before sittings recorded their progress: a killed sitting kept no time
    data = json.loads((resumed.out_dir / "results.json").read_text())
    data["meta"]["sittings"][0].update(wall_s=None)
    (resumed.out_dir / "results.json").write_text(json.dumps(data))
    page = results_page(resumed.out_dir)
    assert "2 cells, wall time not recorded (the sitting was killed)" in page
    assert "not counting the sittings killed before they recorded their time" in page


def test_the_committed_summary_is_what_the_code_writes_from_the_committed_results():
    from linalg_rnn.rnn.showdown._study import summary_text
    study = Path(__file__).resolve().parent.parent / "docs" / "results" / "study"
    data = json.loads((study / "results.json").read_text(encoding="utf-8"))
    assert (study / "summary.md").read_text(encoding="utf-8") == summary_text(data["meta"], data["runs"])
