"""``python3 make.py notebooks``: every lesson as a valid Jupyter notebook, through jupytext."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest
from conftest import load_script

from linalg_rnn import course

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in {"true", "1", "yes"}
pytest.importorskip("jupytext")
nbformat = pytest.importorskip("nbformat")


notebooks = load_script("linalg_rnn_docs_notebooks", ROOT / "docs" / "notebooks.py")
LESSON = course.lesson_paths()[0]


@pytest.fixture(scope="module")
def lesson_notebook(tmp_path_factory):
    out = tmp_path_factory.mktemp("notebooks")
    written = notebooks.write_notebooks(out, only=[LESSON.name[:2]])
    path = out / f"{LESSON.stem}.ipynb"
    assert path in written
    return path


def test_the_notebook_is_valid_nbformat_4_with_text_and_code_cells(lesson_notebook):
    nb = nbformat.read(lesson_notebook, as_version=4)
    nbformat.validate(nb)
    kinds = [cell.cell_type for cell in nb.cells]
    assert kinds[0] == "markdown" and "code" in kinds
    assert nb.cells[0].source.startswith("# "), "the lesson's title is the first heading"
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert all(not cell.get("outputs") for cell in nb.cells if cell.cell_type == "code"), "not executed"


def test_the_text_is_markdown_with_math_and_no_rest_left(lesson_notebook):
    nb = nbformat.read(lesson_notebook, as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    for rest in (":math:", ":func:", ".. math::", "``"):
        assert rest not in text, f"reST {rest!r} left in the notebook's text"
    assert "$Ax = \\lambda x$" in text and "$$" in text
    assert "\n## " in text, "sections become Markdown headings"


def test_the_code_cells_are_the_lessons_code_in_order(lesson_notebook):
    from sphinx_gallery.py_source_parser import split_code_and_text_blocks

    nb = nbformat.read(lesson_notebook, as_version=4)
    _, blocks = split_code_and_text_blocks(str(LESSON))
    lesson_code = [b[1].strip("\n") for b in blocks if b[0] == "code"]
    assert [c.source for c in nb.cells if c.cell_type == "code"] == lesson_code


def test_the_notebook_runs_top_to_bottom_in_a_jupyter_kernel(lesson_notebook, tmp_path, monkeypatch):
    # As a reader runs it: nbclient starts the ipykernel named in the notebook and runs every cell.
    missing = [name for name in ("nbclient", "ipykernel") if importlib.util.find_spec(name) is None]
    if missing:
        if IN_CI:
            pytest.fail(f"CI=true but {', '.join(missing)} missing: the test extra must install them")
        pytest.skip(f"{', '.join(missing)} not installed (pip install -e '.[test]')")
    from nbclient import NotebookClient

    nb = nbformat.read(lesson_notebook, as_version=4)
    monkeypatch.setenv("LINALG_RNN_MODE", "quick")  # the kernel inherits the environment
    monkeypatch.delenv("MPLBACKEND", raising=False)  # Jupyter's own inline backend, as a reader has it
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    client = NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, errors[0]["evalue"] if errors else ""
    printed = "".join(o.get("text", "") for c in code for o in c.outputs if o.output_type == "stream")
    assert "mode = quick" in printed and "det(A - lambda I) =" in printed
    assert any("image/png" in o.get("data", {}) for c in code for o in c.outputs), "no figure was shown"


def test_lessons_with_solutions_get_a_solutions_notebook_and_a_link_to_it(tmp_path):
    folder = ROOT / "lessons" / "solutions"
    solved = [p for p in course.lesson_paths() if (folder / f"{p.name[:2]}_solutions.py").exists()]
    if not solved:
        pytest.skip("no lesson has worked solutions yet")
    lesson = solved[0]
    notebooks.write_notebooks(tmp_path, only=[lesson.name[:2]])
    solutions = tmp_path / "solutions" / f"{lesson.name[:2]}_solutions.ipynb"
    nbformat.validate(nbformat.read(solutions, as_version=4))
    last = nbformat.read(tmp_path / f"{lesson.stem}.ipynb", as_version=4).cells[-1]
    assert f"solutions/{solutions.name}" in last.source


def test_an_edited_notebook_is_kept_unless_forced(tmp_path, capsys):
    only = [LESSON.name[:2]]
    notebooks.write_notebooks(tmp_path, only=only)
    target = tmp_path / f"{LESSON.stem}.ipynb"
    target.write_text(target.read_text(encoding="utf-8").replace("Eigenvalues", "My notes on eigenvalues", 1))
    edited = target.read_text(encoding="utf-8")
    assert target not in notebooks.write_notebooks(tmp_path, only=only)
    assert target.read_text(encoding="utf-8") == edited
    assert "--force overwrites it" in capsys.readouterr().out
    assert target in notebooks.write_notebooks(tmp_path, only=only, force=True)
    assert target.read_text(encoding="utf-8") != edited


def test_rst_to_markdown_handles_the_constructs_the_lessons_use():
    rst = (
        "Title\n=====\n\nSection\n-------\n\n"
        "A :func:`~linalg_rnn.eigen.spectral_radius` and :class:`linalg_rnn.ConvergenceWarning`,"
        " ``code`` and Gram--Schmidt.\n\n"
        ".. math:: F = \\begin{pmatrix} 1 & 1 \\\\\n          1 & 0 \\end{pmatrix}\n\n"
        "A shell block::\n\n    linalg-rnn train --steps 5\n\n"
        "=========  =====\na          b\n=========  =====\n:math:`x`  2\n=========  =====\n"
    )
    md = notebooks.rst_to_markdown(rst, {})
    assert md.startswith("# Title\n\n## Section")
    assert "`spectral_radius()`" in md and "`linalg_rnn.ConvergenceWarning`" in md
    assert "`code`" in md and "Gram–Schmidt" in md
    assert "$$\nF = \\begin{pmatrix} 1 & 1 \\\\\n1 & 0 \\end{pmatrix}\n$$" in md
    assert "A shell block:\n```\nlinalg-rnn train --steps 5\n```" in md
    assert "| a | b |\n|---|---|\n| $x$ | 2 |" in md


def test_make_py_runs_docs_notebooks_py_for_the_notebooks_command():
    make = (ROOT / "make.py").read_text(encoding="utf-8")
    assert '"notebooks"' in make and '"docs" / "notebooks.py"' in make
