"""The course runner and the ``linalg-rnn lessons`` command."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from linalg_rnn import cli, course


def test_lesson_mode_reads_the_environment(monkeypatch):
    monkeypatch.setenv("LINALG_RNN_MODE", "full")
    assert course.lesson_mode() == "full"
    monkeypatch.setenv("LINALG_RNN_MODE", "")
    assert course.lesson_mode() == "default"


def test_lesson_mode_rejects_an_unknown_mode(monkeypatch):
    monkeypatch.setenv("LINALG_RNN_MODE", "turbo")
    with pytest.raises(ValueError, match="turbo"):
        course.lesson_mode()


def test_a_bad_mode_stops_a_lesson_script_with_one_line_and_no_traceback(tmp_path):
    env = {**os.environ, "LINALG_RNN_MODE": "turbo", "MPLBACKEND": "Agg"}
    proc = subprocess.run([sys.executable, str(course.lesson_paths()[0])], capture_output=True, text=True,
                          env=env, timeout=120, cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        "LINALG_RNN_MODE='turbo' is not a lesson mode; choose quick, default or full"]
    assert proc.stdout == ""


def test_the_cli_reads_the_mode_from_the_environment_unless_a_flag_names_one(monkeypatch, tmp_path, capsys):
    chosen = []
    monkeypatch.setattr(course, "run_course", lambda out, *, mode, only, stop=None: chosen.append(mode) or [])
    monkeypatch.setenv("LINALG_RNN_MODE", "quick")
    assert cli.main(["lessons", "--out", str(tmp_path)]) == 0
    assert cli.main(["lessons", "--full", "--out", str(tmp_path)]) == 0
    monkeypatch.setenv("LINALG_RNN_MODE", "turbo")  # a flag wins, even over a bad value
    assert cli.main(["lessons", "--quick", "--out", str(tmp_path)]) == 0
    monkeypatch.delenv("LINALG_RNN_MODE")
    assert cli.main(["lessons", "--out", str(tmp_path)]) == 0
    assert chosen == ["quick", "full", "quick", "default"]
    assert "=== summary (quick mode) ===" in capsys.readouterr().out


def test_the_cli_refuses_a_bad_mode_from_the_environment_in_one_line_before_any_work(tmp_path):
    env = {**os.environ, "LINALG_RNN_MODE": "turbo"}
    proc = subprocess.run([sys.executable, "-m", "linalg_rnn", "lessons", "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == ["linalg-rnn lessons: error: LINALG_RNN_MODE='turbo' is not a lesson "
                                        "mode; choose quick, default or full"]
    assert not (tmp_path / "out").exists()


def test_lesson_paths_are_in_file_name_order():
    names = [p.name for p in course.lesson_paths()]
    assert names == sorted(names)


def test_run_course_rejects_a_lesson_number_that_does_not_exist(tmp_path):
    with pytest.raises(ValueError, match="no lesson matches"):
        course.run_course(tmp_path, mode="quick", only=["99"])


def test_run_lesson_reports_a_failing_lesson_and_keeps_its_output(tmp_path):
    bad = tmp_path / "99_broken.py"
    bad.write_text('print("before the error")\nraise RuntimeError("boom")\n')
    run = course.run_lesson(bad, tmp_path / "out", mode="quick")
    assert not run.ok
    log = (tmp_path / "out" / "99_broken.txt").read_text()
    assert "before the error" in log and "boom" in log


def test_run_lesson_saves_every_open_figure(tmp_path):
    script = tmp_path / "98_figs.py"
    script.write_text(
        "import matplotlib.pyplot as plt\n"
        "plt.subplots(); plt.subplots()\n"
    )
    run = course.run_lesson(script, tmp_path / "out", mode="quick")
    assert run.ok
    assert [f.name for f in run.figures] == ["98_figs_fig01.png", "98_figs_fig02.png"]


def test_cli_lessons_runs_one_lesson_and_names_the_output_folder(tmp_path, capsys):
    code = cli.main(["lessons", "--quick", "--only", "01", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    assert str(tmp_path.resolve()) in out
    assert list(tmp_path.glob("01_*_fig*.png"))


@pytest.mark.parametrize(
    "argv",
    [["lessons", "--quick", "--full"], ["lessons", "--only", "99"], ["frobnicate"], []],
)
def test_cli_bad_flags_exit_non_zero_with_one_line(argv):
    proc = subprocess.run(
        [sys.executable, "-m", "linalg_rnn", *argv], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode != 0
    message = proc.stderr.strip().splitlines()
    assert message and "error" in message[-1]
    assert "Traceback" not in proc.stderr


def test_select_lessons_matches_numbers_not_prefixes():
    assert [p.name[:2] for p in course.select_lessons(["1"])] == ["01"]
    assert [p.name[:2] for p in course.select_lessons([13, "01", "1"])] == ["01", "13"]
    with pytest.raises(ValueError, match="no lesson matches 99"):
        course.select_lessons(["1", "99"])


def test_the_numerical_parts_and_the_course_runner_load_without_torch(tmp_path):
    # A fresh Python: import the package and the runner, and let the runner check a
    # folder that cannot be one (a file), which runs the folder check it shares with
    # the trainer. Then torch must be nowhere in sys.modules.
    blocker = tmp_path / "a file"
    blocker.write_text("x")
    code = (
        "import sys, linalg_rnn, linalg_rnn.course\n"
        "try:\n"
        f"    linalg_rnn.course.run_course({str(blocker)!r}, mode='quick', only=['01'])\n"
        "except OSError as exc:\n"
        "    print('refused:', exc)\n"
        "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    refused, loaded = done.stdout.strip().splitlines()
    assert refused.startswith("refused:") and "is a file" in refused
    assert loaded == "[]"
