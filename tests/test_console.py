"""What the commands share at the console: signals and exit statuses, one-line errors with the nearest
name, numbers, and --help that wraps between words."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from linalg_rnn import cli, course
from linalg_rnn._console import (
    EXIT_STATUS,
    StopRequest,
    error_line,
    format_number,
    nearest_name,
    stop_on_signals,
    unknown_name,
)
from linalg_rnn.rnn.config import DEVICES
from linalg_rnn.rnn.strategies import STRATEGY_NAMES
from linalg_rnn.rnn.tasks import TASK_NAMES


@pytest.mark.parametrize("signum, name, status", [(signal.SIGINT, "SIGINT", 130),
                                                  (signal.SIGTERM, "SIGTERM", 143)])
def test_a_signal_sets_the_request_and_the_handlers_come_back(signum, name, status):
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    with stop_on_signals() as stop:
        assert stop.signal is None and stop.exit_status == 0
        os.kill(os.getpid(), signum)
        assert stop.signal == name and stop.exit_status == status == EXIT_STATUS[name]
    assert {s: signal.getsignal(s) for s in before} == before


def test_errors_are_one_line_and_names_suggest_the_nearest():
    assert error_line(ValueError("first\nsecond")) == "first" and error_line(OSError()) == "OSError"
    assert nearest_name("polar_projectoin", STRATEGY_NAMES) == "polar_projection"
    assert nearest_name("zzz", STRATEGY_NAMES) is None and nearest_name(3, STRATEGY_NAMES) is None
    assert str(unknown_name("task", "coyp", TASK_NAMES, "--task")) == \
        "unknown task 'coyp' (--task); did you mean 'copy'?"
    assert str(unknown_name("task", "zzz", ["copy", "adding"])) == \
        "unknown task 'zzz'; choose one of 'copy', 'adding'"


def test_one_number_format_with_a_mark_for_missing_values():
    shown = [format_number(x) for x in (1 / 3, 12345.678, None, float("nan"))]
    assert shown == ["0.333", "1.23e+04", "–", "–"]
    assert format_number(None, missing="n/a") == "n/a" and format_number(0.5, ".6g") == "0.5"


# --- exit statuses: train, lessons and showdown alike ----------------------------------------

def test_lessons_stop_after_the_running_lesson_on_sigterm_and_exit_143(tmp_path, monkeypatch, capsys):
    ran = []

    def lesson_then_sigterm(lesson, out_dir, *, mode=None):
        ran.append(Path(lesson).name[:2])
        os.kill(os.getpid(), signal.SIGTERM)  # as if `kill` reached the course during this lesson
        return course.LessonRun(Path(lesson), 0, 0.0, [])

    monkeypatch.setattr(course, "run_lesson", lesson_then_sigterm)
    assert cli.main(["lessons", "--quick", "--only", "1", "2", "3", "--out", str(tmp_path)]) == 143
    out = capsys.readouterr().out
    assert ran == ["01"] and "interrupted by SIGTERM; not run: 02, 03; run them with --only 02 03" in out


@pytest.mark.parametrize("name", ["SIGINT", "SIGTERM"])
def test_the_showdown_exits_as_train_does_after_a_signal(name, monkeypatch, tmp_path, capsys):
    from linalg_rnn.rnn.showdown import _study

    def stopped(*args, **kwargs):
        return _study.StudyResult(out_dir=tmp_path, rows=[], summary=[], interrupted=name, ran=0)

    monkeypatch.setattr(_study, "run_study", stopped)
    assert cli.main(["showdown", "--out", str(tmp_path)]) == EXIT_STATUS[name]
    assert f"stopped by {name}" in capsys.readouterr().out


@pytest.mark.parametrize("flags, message", [
    (["--executor", "rya"], "unknown executor 'rya' (--executor); did you mean 'ray'?"),
    (["--workers", "0"], "--workers must be an integer >= 1, got 0"),
    (["--device", "cdua"], "unknown device 'cdua' (--device); did you mean 'cuda'?"),
])
def test_showdown_errors_name_the_flag_and_the_nearest_value(flags, message, tmp_path, capsys):
    assert cli.main(["showdown", "--out", str(tmp_path / "s"), *flags]) == 2
    assert capsys.readouterr().err == f"linalg-rnn showdown: error: {message}\n"


# --- --help wraps between words ---------------------------------------------------------------

@pytest.mark.parametrize("command, names", [("train", STRATEGY_NAMES + TASK_NAMES + DEVICES),
                                            ("showdown", DEVICES)])
@pytest.mark.parametrize("columns", [50, 64, 80, 100, 120])
def test_help_never_breaks_a_name_across_lines(command, names, columns, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", str(columns))  # argparse wraps to the terminal's width
    with pytest.raises(SystemExit):
        cli.main([command, "--help"])
    out = capsys.readouterr().out
    assert "usage:" in out
    for name in names:
        assert name in out, (name, columns)  # a name cut in two ("polar\n_projection") is not found


def test_a_stop_request_outside_the_main_thread_is_never_set():
    import threading

    seen = []
    thread = threading.Thread(target=lambda: seen.append(stop_on_signals().__enter__()))
    thread.start()
    thread.join()
    assert seen == [StopRequest()]
