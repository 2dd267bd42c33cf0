"""The docs site is wired as promised (the full build runs in CI: ``make.py docs``)."""

from __future__ import annotations

import ast
import doctest
import re
import runpy
from pathlib import Path

import pytest

import linalg_rnn
from linalg_rnn import course

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


@pytest.fixture(scope="module")
def conf():
    return runpy.run_path(str(DOCS / "conf.py"))


def test_gallery_sorts_lessons_by_file_name_not_code_length(conf):
    gallery = conf["sphinx_gallery_conf"]
    assert gallery["within_subsection_order"] in {
        "FileNameSortKey",
        "sphinx_gallery.sorting.FileNameSortKey",
    }
    assert gallery["examples_dirs"] == "../lessons"


def test_gallery_executes_every_lesson_and_fails_the_build_on_an_error(conf):
    gallery = conf["sphinx_gallery_conf"]
    pattern = re.compile(gallery["filename_pattern"])
    for lesson in course.lesson_paths():
        assert pattern.search(str(lesson)), f"{lesson.name} would not be executed"
    assert gallery["abort_on_example_error"] is True


def test_every_public_module_has_an_api_page():
    pages = (DOCS / "api").glob("*.rst")
    documented = set()
    for page in pages:
        documented |= set(re.findall(r"\.\. automodule:: (linalg_rnn[\w.]*)", page.read_text()))
    modules = {
        "linalg_rnn." + ".".join(p.relative_to(ROOT / "linalg_rnn").with_suffix("").parts)
        for p in (ROOT / "linalg_rnn").rglob("*.py")
        if not any(part.startswith("_") for part in p.relative_to(ROOT / "linalg_rnn").parts)
        and p.stem != "cli"
        and p.stem != "cli_train"
    }
    missing = sorted(modules - documented)
    assert not missing, f"modules without an API page: {missing}"


def test_every_public_function_of_the_package_has_a_doctested_example():
    # The rule of STYLE.md, for private modules too: a top-level function whose name
    # does not start with "_" is called from elsewhere and shows how, in a doctest.
    missing = []
    for path in sorted((ROOT / "linalg_rnn").rglob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith("_"):
                if ">>> " not in (ast.get_docstring(node) or "").partition("Examples")[2]:
                    missing.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert not missing, "public functions without a doctested Examples section:\n" + "\n".join(missing)


@pytest.mark.parametrize(
    "key",
    ["trefethen1997", "golub2013", "pascanu2013", "saxe2014", "arjovsky2016", "le2015",
     "henaff2016", "vorontsov2017", "lezcano2019", "mezzadri2007"],
)
def test_references_page_holds_the_books_and_papers_the_course_cites(key):
    assert f"{{{key}," in (DOCS / "references.bib").read_text()


def test_readme_quick_start_has_exactly_two_commands_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1].split("##", 1)[0]
    block = re.search(r"```bash\n(.*?)```", quick, re.S).group(1)
    commands = [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]
    assert len(commands) == 2
    test_command = next(c for c in commands if "test" in c)
    assert test_command in (ROOT / ".ci" / "run").read_text()


def test_readme_repl_examples_run():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
    assert blocks
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    for k, block in enumerate(blocks):
        test = parser.get_doctest(block, {}, f"README block {k}", "README.md", 0)
        runner.run(test)
    assert runner.failures == 0, "a README example does not print what it says"


def test_the_package_reexports_every_teaching_function_but_keeps_qr_the_module():
    import types

    for module in (linalg_rnn.eigen, linalg_rnn.orthogonal, linalg_rnn.qr,
                   linalg_rnn.stability, linalg_rnn.dynamics):
        for name in module.__all__:
            if module is linalg_rnn.qr and name == "qr":
                continue
            assert name in linalg_rnn.__all__, name
            assert getattr(linalg_rnn, name) is getattr(module, name)
    assert isinstance(linalg_rnn.qr, types.ModuleType)
    assert callable(linalg_rnn.qr.qr)


def test_the_notation_page_is_in_the_contents_and_the_theory_notes_point_to_it():
    index = (DOCS / "index.rst").read_text(encoding="utf-8")
    assert re.search(r"^\s+notation$", index.split(".. toctree::")[1], re.M)
    assert ":doc:`notation page <notation>`" in index
    for page in (DOCS / "theory").glob("*.rst"):
        text = page.read_text(encoding="utf-8")
        assert "/notation>`" in text, f"{page.name} does not link the notation page"


def _math_of(path: Path) -> list[tuple[int, str]]:
    """(line, text) of every :math: role, ``.. math::`` block and matplotlib ``$...$`` in a file."""
    text = path.read_text(encoding="utf-8")
    found = []
    for m in re.finditer(r":math:`([^`]*)`", text):
        found.append((text.count("\n", 0, m.start()) + 1, m.group(1)))
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if ".. math::" in line:
            block, depth = [line.split(".. math::", 1)[1]], len(line) - len(line.lstrip("# "))
            for nxt in lines[i + 1 :]:
                body = nxt.lstrip("# ")
                if body and len(nxt) - len(body) <= depth:
                    break
                block.append(body)
            found.append((i + 1, " ".join(block)))
        if path.suffix == ".py":
            found += [(i + 1, m) for m in re.findall(r'r"[^"]*?\$([^$"]+)\$', line)]
    return found


def _book_files() -> list[Path]:
    files = sorted((ROOT / "lessons").rglob("*.py")) + sorted(DOCS.glob("*.rst"))
    files += sorted((DOCS / "theory").glob("*.rst"))
    files += sorted((ROOT / "linalg_rnn").rglob("*.py"))
    return files


@pytest.mark.parametrize(
    "rule, pattern",
    [
        # T as an exponent or a limit is the horizon and takes braces: h^{T-t}, \\sum_{t=1}^{T}
        ("the transpose is ^\\top, never the letter T (T is the horizon)", r"\^T(?![-+])"),
        ("sigma is a singular value; the activation is f (or tanh), its slope f'", r"\\sigma\s*(?:'|\()"),
        ("epsilon is \\varepsilon = 2^-52, written one way", r"\\epsilon(?!_)"),
    ],
    ids=["transpose", "activation", "epsilon"],
)
def test_one_symbol_means_one_thing_in_every_formula_of_the_book(rule, pattern):
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {math.strip()[:70]}"
        for path in _book_files()
        for line, math in _math_of(path)
        if re.search(pattern, math)
    ]
    assert not offenders, f"{rule} (docs/notation.rst):\n" + "\n".join(offenders)


def test_the_gallery_leaves_the_solutions_folder_to_the_solutions_extension():
    folder = ROOT / "lessons" / "solutions"
    # sphinx-gallery makes a subfolder a gallery section only when it has a header file ...
    assert not any((folder / name).exists() for name in ("GALLERY_HEADER.rst", "README.txt", "README.rst"))
    # ... and rejects two example files of the same name anywhere under lessons/.
    assert not {p.name for p in course.lesson_paths()} & {p.name for p in folder.glob("*.py")}


def test_a_site_built_in_quick_mode_says_so_under_every_lesson_title(conf, monkeypatch):
    note_the_mode = conf["_note_the_mode"]
    page = ".. _sphx_glr_auto_lessons_01_eigenvalues.py:\n\n01 · Eigenvalues\n================\n\nText.\n"
    for mode in ("quick", "full"):
        monkeypatch.setitem(note_the_mode.__globals__, "LESSON_MODE", mode)
        source = [page]
        note_the_mode(None, "auto_lessons/01_eigenvalues", source)
        title_end = source[0].index("================\n") + len("================\n")
        assert source[0][title_end:].lstrip().startswith(f".. admonition:: Built in {mode} mode")
        assert f"LINALG_RNN_MODE={mode}" in source[0]
        source = ["Notation\n========\n"]
        note_the_mode(None, "notation", source)
        assert source == ["Notation\n========\n"], "only the lesson pages carry the note"
    monkeypatch.setitem(note_the_mode.__globals__, "LESSON_MODE", "default")
    source = [page]
    note_the_mode(None, "auto_lessons/01_eigenvalues", source)
    assert source == [page], "the default build needs no note"
