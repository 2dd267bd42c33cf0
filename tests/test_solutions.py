"""Worked solutions: each runs (quick mode), matches its lesson's exercises, and shows folded on the site.

The mechanism is ``docs/_ext/solutions.py``; the solutions are
``lessons/solutions/NN_solutions.py``.
"""

from __future__ import annotations

import re
import shutil
import textwrap
from pathlib import Path

import pytest
from conftest import load_script

from linalg_rnn import course

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS_DIR = ROOT / "lessons" / "solutions"
SOLUTION_FILES = sorted(SOLUTIONS_DIR.glob("[0-9][0-9]_solutions.py"))
# Lessons whose worked solutions are still to be written (after the lessons'
# errata have landed).  Strict xfail: writing one makes its test pass, and the
# lesson must then leave this set.
AWAITING_SOLUTIONS: set[str] = set()


solutions_ext = load_script("linalg_rnn_docs_solutions", ROOT / "docs" / "_ext" / "solutions.py")


@pytest.mark.parametrize("path", SOLUTION_FILES, ids=[p.stem for p in SOLUTION_FILES])
def test_solution_runs_headless_in_quick_mode(path, tmp_path):
    run = course.run_lesson(path, tmp_path, mode="quick")
    log = (tmp_path / f"{path.stem}.txt").read_text(encoding="utf-8")
    assert run.ok, f"{path.name} failed:\n{log[-4000:]}"
    assert "Traceback" not in log
    assert "Warning" not in log, f"{path.name} printed a warning:\n{log[-2000:]}"


@pytest.mark.parametrize("lesson", course.lesson_paths(), ids=[p.stem for p in course.lesson_paths()])
def test_every_exercise_of_the_lesson_has_a_worked_solution(lesson, request):
    number = lesson.name[:2]
    if number in AWAITING_SOLUTIONS:
        request.applymarker(pytest.mark.xfail(strict=True, reason="solutions not written yet"))
    path = solutions_ext.solutions_path(SOLUTIONS_DIR, lesson.stem)
    assert path.is_file(), f"no worked solutions {path.relative_to(ROOT)}"
    wanted = solutions_ext.count_exercises(lesson.read_text(encoding="utf-8"))
    assert wanted >= 1, f"{lesson.name} lists no exercises"
    parsed = solutions_ext.parse_solutions(path)
    assert [e.number for e in parsed.exercises] == list(range(1, wanted + 1))
    for exercise in parsed.exercises:
        kinds = {cell.kind for cell in exercise.cells}
        assert "text" in kinds, f"exercise {exercise.number}: a solution explains, not only computes"


def test_solution_files_are_named_after_a_lesson():
    numbers = {p.name[:2] for p in course.lesson_paths()}
    for path in SOLUTION_FILES:
        assert path.name[:2] in numbers, f"{path.name} solves no lesson"
    assert not [p for p in SOLUTIONS_DIR.glob("*.py") if p not in SOLUTION_FILES], \
        "lessons/solutions/ holds only NN_solutions.py files"


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def test_parse_rejects_a_cell_before_the_first_exercise_and_bad_numbering(tmp_path):
    stray = _write(tmp_path / "01_solutions.py", '''
        """
        T
        =
        """
        # %%
        # Some text before any exercise.

        x = 1
    ''')
    with pytest.raises(ValueError, match="before the first 'Exercise 1'"):
        solutions_ext.parse_solutions(stray)
    skipped = _write(tmp_path / "02_solutions.py", '''
        """
        T
        =
        """
        # %%
        # Exercise 2
        # ----------
        #
        # Text.
    ''')
    with pytest.raises(ValueError, match=r"numbered 1, 2, \.\.\. in order; found \[2\]"):
        solutions_ext.parse_solutions(skipped)


def test_count_exercises_reads_the_numbered_list_of_the_exercises_section():
    text = "# Exercises\n# ---------\n#\n# 1. one\n#    more\n# 2. two\n# 3. three\n"
    assert solutions_ext.count_exercises(text) == 3
    assert solutions_ext.count_exercises("# Summary\n# -------\n# 1. not an exercise\n") == 0


LESSON_RST = """
A demo lesson
=============

Some text.

Exercises
---------

1. Compute :math:`2 + 2`.
2. Draw a line.


.. rst-class:: sphx-glr-timing

   **Total running time of the script:** (0 minutes 0.001 seconds)
"""

SOLUTIONS_PY = '''
"""
Worked solutions: demo
======================

Intro for script readers.
"""

# %%
# Exercise 1
# ----------
#
# The sum is :math:`2 + 2 = 4`:

print("two plus two is", 2 + 2)

# %%
# Exercise 2
# ----------
#
# A line, drawn.

import matplotlib.pyplot as plt

fig, ax = plt.subplots()
ax.plot([0, 1], [0, 1])
'''


def _build(srcdir: Path, outdir: Path):
    from sphinx.application import Sphinx

    app = Sphinx(str(srcdir), str(srcdir), str(outdir), str(outdir / ".doctrees"), "html",
                 status=None, warning=None, freshenv=True, warningiserror=True)
    app.build()
    return app


@pytest.fixture
def demo_site(tmp_path):
    src = tmp_path / "docs"
    _write(src / "conf.py", f'''
        import sys
        sys.path.insert(0, {str(ROOT / "docs" / "_ext")!r})
        extensions = ["solutions"]
        solutions_dir = "../lessons/solutions"
        exclude_patterns = ["_build"]
    ''')
    _write(src / "index.rst", "Demo\n====\n\n.. toctree::\n\n   auto_lessons/01_demo\n")
    _write(src / "auto_lessons" / "01_demo.rst", LESSON_RST)
    return tmp_path


def test_the_site_shows_each_solution_folded_with_its_output_and_figure(demo_site):
    pytest.importorskip("sphinx_design")
    _write(demo_site / "lessons" / "solutions" / "01_solutions.py", SOLUTIONS_PY)
    _build(demo_site / "docs", demo_site / "html")
    html = (demo_site / "html" / "auto_lessons" / "01_demo.html").read_text(encoding="utf-8")
    dropdowns = re.findall(r'<details class="[^"]*linalg-solution[^"]*"([^>]*)>', html)
    assert len(dropdowns) == 2
    assert not any("open" in attrs for attrs in dropdowns), "solutions are folded by default"
    assert html.index("Compute") < html.index("Worked solutions"), "solutions come after the exercises"
    assert "two plus two is 4" in html, "the printed output is shown"
    assert 'class="math' in html
    images = re.findall(r'<img [^>]*src="([^"]+)"', html)
    assert len(images) == 1 and (demo_site / "html" / "auto_lessons" / images[0]).resolve().is_file()
    assert "01_solutions.py" in html and "Intro for script readers" not in html


def test_a_failing_solution_stops_the_build_with_its_traceback(demo_site):
    pytest.importorskip("sphinx_design")
    from sphinx.errors import SphinxError

    broken = SOLUTIONS_PY.replace('print("two plus two is", 2 + 2)', "1 / 0")
    _write(demo_site / "lessons" / "solutions" / "01_solutions.py", broken)
    with pytest.raises(SphinxError, match="(?s)exercise 1.*ZeroDivisionError"):
        _build(demo_site / "docs", demo_site / "html")


def test_solutions_must_match_the_number_of_exercises(demo_site):
    pytest.importorskip("sphinx_design")
    from sphinx.errors import SphinxError

    one_only = SOLUTIONS_PY[: SOLUTIONS_PY.index("# %%\n# Exercise 2")]
    _write(demo_site / "lessons" / "solutions" / "01_solutions.py", one_only)
    with pytest.raises(SphinxError, match="1 solutions for the 2 exercises"):
        _build(demo_site / "docs", demo_site / "html")
    shutil.rmtree(demo_site / "html", ignore_errors=True)
