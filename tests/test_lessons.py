"""Every lesson runs headless top to bottom (quick mode) and reads like a chapter."""

from __future__ import annotations

import ast
import re

import pytest

from linalg_rnn import course

LESSONS = course.lesson_paths()
IDS = [p.stem for p in LESSONS]


def test_the_course_has_its_lessons_numbered_without_gaps():
    numbers = [int(p.name[:2]) for p in LESSONS]
    assert numbers, "no lessons found"
    assert numbers == list(range(1, len(numbers) + 1))


@pytest.mark.parametrize("lesson", LESSONS, ids=IDS)
def test_lesson_reads_like_a_chapter(lesson):
    source = lesson.read_text(encoding="utf-8")
    doc = ast.get_docstring(ast.parse(source))
    assert doc, "a lesson starts with a module docstring"
    title, underline = doc.splitlines()[:2]
    assert title.strip() and set(underline.strip()) == {"="}, "the docstring opens with a reST title"
    assert len(underline.strip()) >= len(title.strip()), "the title underline must be long enough"
    assert title.startswith(f"{lesson.name[:2]} · "), "the title carries the lesson number"
    assert "What you will learn" in doc
    assert re.search(r"[Pp]rerequisite", doc)
    assert source.count("# %%") >= 3, "a lesson is split into sphinx-gallery cells"
    assert re.search(r"[Ee]xercise", source), "a lesson ends with exercises"
    assert "plt.show()" not in source, "figures are captured by the runners; show() is not needed"
    assert "lesson_mode" in source, "a lesson sizes its work with linalg_rnn.course.lesson_mode()"


@pytest.mark.parametrize("lesson", LESSONS, ids=IDS)
def test_lesson_runs_headless_in_quick_mode(lesson, tmp_path):
    run = course.run_lesson(lesson, tmp_path, mode="quick")
    log = (tmp_path / f"{lesson.stem}.txt").read_text(encoding="utf-8")
    assert run.ok, f"{lesson.name} failed:\n{log[-4000:]}"
    assert run.figures, f"{lesson.name} drew no figure"
    assert all(f.exists() and f.stat().st_size > 0 for f in run.figures)
    assert "Traceback" not in log
    assert "Warning" not in log, f"{lesson.name} printed a warning:\n{log[-2000:]}"
