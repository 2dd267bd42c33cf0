"""Running the course: lesson modes and the headless runner behind ``linalg-rnn lessons``.

Every lesson is a plain script in ``lessons/``.  It asks :func:`lesson_mode`
how much work to do, so the same file serves three audiences without edits:

* ``quick``  -- the test suite: the smallest settings that still show the point;
* ``default`` -- a learner and the docs build: seconds to a few minutes on a laptop CPU;
* ``full``   -- heavier settings for people with time or a GPU.

The mode comes from the environment variable ``LINALG_RNN_MODE`` (``linalg-rnn lessons``
reads it too, unless ``--quick`` or ``--full`` says otherwise); any other value
stops a lesson with one line naming it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._console import StopRequest
from ._filesystem import check_output_dir  # the folder check the trainer uses too; no torch
from ._validation import check_choice, check_int

MODE_VARIABLE = "LINALG_RNN_MODE"
MODES = ("quick", "default", "full")

# Run inside the child process: execute the lesson as __main__, then save every
# figure it left open, so figures are kept even though nothing is shown.
_RUNNER = r"""
import runpy, sys
from pathlib import Path
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
lesson, out = Path(sys.argv[1]), Path(sys.argv[2])
sys.argv = [str(lesson)]
runpy.run_path(str(lesson), run_name="__main__")
for k, num in enumerate(plt.get_fignums(), start=1):
    path = out / f"{lesson.stem}_fig{k:02d}.png"
    plt.figure(num).savefig(path, dpi=100)
    print(f"[figure] {path}")
"""


class LessonModeError(ValueError, SystemExit):
    """A ``$LINALG_RNN_MODE`` that is not a lesson mode.

    A ``ValueError`` to code that catches one (the command line, the tests),
    and a ``SystemExit`` where nothing does: a lesson run as a script reads its
    mode on its first lines, and Python prints an uncaught ``SystemExit`` as its
    message alone -- one line, no traceback -- and exits with status 1.
    """

    def __init__(self, message: str):
        super().__init__(message)
        self.code = message  # what Python prints on the way out


def lesson_mode() -> str:
    """The lesson mode named by ``$LINALG_RNN_MODE``: ``quick``, ``default`` or ``full``.

    Returns
    -------
    str
        ``"default"`` when the variable is unset or empty.

    Raises
    ------
    LessonModeError
        A ``ValueError`` (and a ``SystemExit``, so a script stops with this one
        line) if the variable holds anything else.

    Examples
    --------
    >>> import os
    >>> os.environ.pop("LINALG_RNN_MODE", None) and None
    >>> lesson_mode()
    'default'
    >>> os.environ["LINALG_RNN_MODE"] = "fast"
    >>> lesson_mode()  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    linalg_rnn.course.LessonModeError: LINALG_RNN_MODE='fast' is not a lesson mode; choose quick, ...
    >>> del os.environ["LINALG_RNN_MODE"]
    """
    mode = os.environ.get(MODE_VARIABLE, "").strip().lower() or "default"
    if mode not in MODES:
        raise LessonModeError(
            f"{MODE_VARIABLE}={os.environ[MODE_VARIABLE]!r} is not a lesson mode; "
            f"choose {', '.join(MODES[:-1])} or {MODES[-1]}"
        )
    return mode


def race(funcs: dict[str, Callable[[], Any]], *, repeats: int = 5) -> dict[str, float]:
    """Best wall time of each function, over ``repeats`` rounds in which they take turns.

    The one timing helper of the book: lessons and ``benchmarks/`` time with it.

    Parameters
    ----------
    funcs : dict of str to callable
        The contestants, each called with no arguments.
    repeats : int, optional
        Rounds; in every round each function runs once, in the dict's order.

    Returns
    -------
    dict of str to float
        The fastest time of each function, in seconds, under the same keys.

    Raises
    ------
    ValueError
        If ``funcs`` is empty or ``repeats`` < 1.
    TypeError
        If ``repeats`` is not an integer.

    Notes
    -----
    Taking turns means a burst of load from other programs hits every
    contestant alike, and the minimum over rounds is the run least disturbed
    by it. Report the times as *ratios* measured in the same call: ratios
    travel between machines, seconds do not. Taught in lesson 07.

    Examples
    --------
    >>> times = race({"sum": lambda: sum(range(1000)), "nothing": lambda: None}, repeats=3)
    >>> sorted(times), all(t >= 0 for t in times.values())
    (['nothing', 'sum'], True)
    """
    if not funcs:
        raise ValueError("race needs at least one function to time")
    repeats = check_int(repeats, "repeats", minimum=1)
    best = dict.fromkeys(funcs, float("inf"))
    for _ in range(repeats):
        for name, func in funcs.items():
            start = time.perf_counter()
            func()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def best_time(func: Callable[[], Any], *, repeats: int = 5) -> float:
    """The fastest of ``repeats`` calls of ``func()``, in seconds (:func:`race` of one).

    Examples
    --------
    >>> best_time(lambda: sum(range(100)), repeats=3) >= 0
    True
    """
    return race({"func": func}, repeats=repeats)["func"]


def lessons_dir() -> Path:
    """The folder that holds the lesson scripts (the repository's ``lessons/``).

    Examples
    --------
    >>> lessons_dir().name
    'lessons'
    """
    here = Path(__file__).resolve().parent.parent / "lessons"
    if not here.is_dir():
        raise FileNotFoundError(
            f"no lessons/ folder next to the package (looked in {here}); the lessons ship "
            "with the repository: clone it and install with `pip install -e .`"
        )
    return here


def lesson_paths() -> list[Path]:
    """Every numbered lesson ``NN_topic.py``, in course order (file-name order).

    Examples
    --------
    >>> paths = lesson_paths()
    >>> paths == sorted(paths) and all(p.name[:2].isdigit() for p in paths)
    True
    """
    return sorted(p for p in lessons_dir().glob("[0-9][0-9]_*.py"))


@dataclass
class LessonRun:
    """What happened when one lesson ran: its path, exit code, time and figures."""

    lesson: Path
    returncode: int
    seconds: float
    figures: list[Path]

    @property
    def ok(self) -> bool:
        """True when the lesson ran to the end."""
        return self.returncode == 0


def _check_mode(mode: str | None) -> str:
    return check_choice(mode or lesson_mode(), "mode", MODES)


def _output_dir(out_dir: Path | str) -> Path:
    """The output folder, checked (one line naming it) and created."""
    out = check_output_dir(out_dir, what="output folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise type(exc)(f"cannot create the output folder {out}: {exc.strerror}") from None
    return out


def select_lessons(only: list[str | int] | None = None) -> list[Path]:
    """The lessons to run: all of them, or those numbered in ``only`` (``1`` and ``"01"`` alike).

    Parameters
    ----------
    only : list of str or int, optional
        Lesson numbers; each is matched against the number of a lesson, never
        a prefix of it (``1`` is lesson 01, not 10 to 13).

    Returns
    -------
    list of Path
        In course order, each once.

    Raises
    ------
    ValueError
        If an entry is not a number, or no lesson has that number (all such
        entries are named, before anything runs).

    Examples
    --------
    >>> [p.name[:2] for p in select_lessons(["1", 3, "03"])]
    ['01', '03']
    >>> select_lessons(["1", "99"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    ValueError: no lesson matches 99: the lessons are numbered 01 to ...
    """
    paths = lesson_paths()
    if not only:
        return paths
    by_number = {int(p.name[:2]): p for p in paths}
    chosen, unknown = set(), []
    for entry in only:
        text = str(entry).strip()
        if isinstance(entry, bool) or not (text.isascii() and text.isdigit()):
            raise ValueError(f"--only takes lesson numbers such as 1 or 01, got {entry!r}")
        if int(text) in by_number:
            chosen.add(by_number[int(text)])
        else:
            unknown.append(text)
    if unknown:
        raise ValueError(f"no lesson matches {', '.join(unknown)}: the lessons are numbered "
                         f"{min(by_number):02d} to {max(by_number):02d}")
    return sorted(chosen)


def run_lesson(lesson: Path, out_dir: Path, *, mode: str | None = None) -> LessonRun:
    """Run one lesson headless in a fresh Python, writing its output and figures to ``out_dir``.

    The printed output goes to ``out_dir/<lesson>.txt`` as well as to the
    terminal; figures go to ``out_dir/<lesson>_figNN.png``.

    Raises
    ------
    ValueError
        For an unknown ``mode``.
    OSError
        One line naming the path when ``lesson`` is not a file or ``out_dir``
        cannot be a writable folder (checked before the lesson runs).

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as tmp:  # doctest: +SKIP
    ...     run_lesson(lesson_paths()[0], Path(tmp), mode="quick").ok
    True
    """
    mode = _check_mode(mode)
    lesson = Path(lesson).resolve()
    if not lesson.is_file():
        raise FileNotFoundError(f"no lesson file {lesson}")
    out_dir = _output_dir(out_dir)
    env = dict(os.environ, MPLBACKEND="Agg", **{MODE_VARIABLE: mode})
    start = time.perf_counter()
    log_path = out_dir / f"{lesson.stem}.txt"
    figures: list[Path] = []
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(
            [sys.executable, "-c", _RUNNER, str(lesson), str(out_dir.resolve())],
            cwd=lesson.parent,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stdout.write(line)
            log.write(line)
            if line.startswith("[figure] "):
                figures.append(Path(line[len("[figure] "):].strip()))
        returncode = proc.wait()
    return LessonRun(lesson, returncode, time.perf_counter() - start, figures)


def run_course(
    out_dir: Path | str = "course_output",
    *,
    mode: str | None = None,
    only: list[str] | None = None,
    stop: StopRequest | None = None,
) -> list[LessonRun]:
    """Run every lesson in order (or those numbered in ``only``, see :func:`select_lessons`).

    ``only``, ``mode`` and ``out_dir`` are all checked before the first
    lesson runs. A failing lesson is reported and the course goes on with the
    next one. Once ``stop`` (:func:`linalg_rnn._console.stop_on_signals`) has
    a signal, no further lesson starts; a Ctrl-C at a terminal also reaches
    the running lesson, which stops at once.

    Raises
    ------
    ValueError
        For an unknown lesson number or mode (one line).
    OSError
        If ``out_dir`` is a file, lies under one, or is not writable (one line
        naming it).

    Examples
    --------
    >>> runs = run_course("course_output", mode="quick", only=["01"])  # doctest: +SKIP
    """
    paths = select_lessons(only)
    mode = _check_mode(mode)
    out = _output_dir(out_dir)
    runs = []
    for path in paths:
        if stop is not None and stop.signal:
            break
        print(f"\n=== {path.name} ===", flush=True)
        runs.append(run_lesson(path, out, mode=mode))
    return runs
