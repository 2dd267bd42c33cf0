"""Worked solutions, executed when the site is built and folded under each lesson's exercises.

Where they live
    ``lessons/solutions/NN_solutions.py`` holds the solutions of lesson NN
    (``lessons/NN_topic.py``; the name differs from the lesson's because
    sphinx-gallery refuses two example files of the same name).  It is a script
    in the lessons' own format: a module docstring with a reST title, then
    ``# %%`` cells, each a reST comment block followed by code.  A text block
    that starts with the heading::

        # Exercise 2
        # ----------

    opens the solution of exercise 2; every cell up to the next such heading
    belongs to it.  The exercises must be numbered 1..N, N being the number of
    items in the lesson's ``Exercises`` list.  The script runs on its own
    (``python lessons/solutions/01_solutions.py``) and the test suite runs
    it in quick mode like a lesson (``tests/test_solutions.py``).

What the site shows
    On a lesson page, right after the ``Exercises`` list, a "Worked solutions"
    rubric and one folded dropdown per exercise (sphinx-design's ``dropdown``,
    an HTML ``<details>``), holding the prose, the code, the output the code
    printed when the site was built, and its figures.  Nothing is added to the
    lesson file: a ``source-read`` hook inserts ``.. solutions:: NN_topic`` into
    the page that sphinx-gallery generated, and the directive runs the script
    cell by cell in one namespace (like sphinx-gallery runs a lesson).  An
    exception in a solution stops the build with the solution's traceback.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util.docutils import SphinxDirective
from sphinx_gallery.py_source_parser import split_code_and_text_blocks

EXERCISE_HEADING = re.compile(r"\AExercise (\d+)\n-{10,}\n")
EXERCISES_SECTION = re.compile(r"^Exercises\n-{9,}\n", re.M)
# Where sphinx-gallery's generated page continues after a text block.
NEXT_GENERATED = re.compile(
    r"^\.\. (GENERATED FROM PYTHON SOURCE LINES|rst-class:: sphx-glr-timing|_sphx_glr_download_)", re.M
)


@dataclass
class Cell:
    """One cell of a solution: reST text or code (with the line it starts on)."""

    kind: str  # "text" or "code"
    source: str
    lineno: int


@dataclass
class Exercise:
    """The cells that solve one exercise."""

    number: int
    cells: list[Cell] = field(default_factory=list)


@dataclass
class Solutions:
    """A parsed solutions script: its title, introduction and exercises."""

    path: Path
    title: str
    intro: str
    exercises: list[Exercise]


def solutions_path(folder: Path, lesson_stem: str) -> Path:
    """The solutions file of a lesson: ``01_eigenvalues`` -> ``folder/01_solutions.py``."""
    return Path(folder) / f"{lesson_stem[:2]}_solutions.py"


def parse_solutions(path: Path) -> Solutions:
    """Split a solutions script into its exercises (see the module docstring for the format)."""
    path = Path(path)
    _, blocks = split_code_and_text_blocks(str(path))
    doc = blocks[0][1].strip("\n")
    lines = doc.splitlines()
    if len(lines) < 2 or not set(lines[1].strip()) <= {"="} or not lines[1].strip():
        raise ValueError(f"{path}: the docstring must open with a reST title (a line underlined with =)")
    title, intro = lines[0].strip(), "\n".join(lines[2:]).strip()
    exercises: list[Exercise] = []
    for kind, source, lineno in (tuple(b)[:3] for b in blocks[1:]):
        if kind == "text":
            heading = EXERCISE_HEADING.match(source)
            if heading:
                exercises.append(Exercise(int(heading.group(1))))
                source = source[heading.end():]
        if not exercises:
            raise ValueError(
                f"{path}:{lineno}: a cell before the first 'Exercise 1' heading; "
                "every cell belongs to an exercise"
            )
        if source.strip():
            exercises[-1].cells.append(Cell(kind, source.strip("\n"), lineno))
    numbers = [e.number for e in exercises]
    if numbers != list(range(1, len(numbers) + 1)):
        raise ValueError(f"{path}: exercises must be numbered 1, 2, ... in order; found {numbers}")
    return Solutions(path, title, intro, exercises)


def count_exercises(text: str) -> int:
    """How many numbered items the ``Exercises`` section of a lesson (reST or script) lists."""
    text = re.sub(r"^# ?", "", text, flags=re.M)  # a script's comment blocks -> reST
    match = EXERCISES_SECTION.search(text)
    if not match:
        return 0
    section = text[match.end():]
    end = NEXT_GENERATED.search(section)
    if end:
        section = section[: end.start()]
    return len(re.findall(r"^\d+\. ", section, flags=re.M))


@dataclass
class Ran:
    """What one code cell did: its printed output and the figures it left open."""

    output: str
    figures: list[Path]


def run_cells(solutions: Solutions, figure_dir: Path) -> dict[tuple[int, int], Ran]:
    """Execute every code cell in order in one namespace; key = (exercise, cell index).

    Figures left open after a cell are saved to ``figure_dir`` and closed.
    """
    import matplotlib.pyplot as plt
    from matplotlib import rc_context

    figure_dir.mkdir(parents=True, exist_ok=True)
    stem = solutions.path.stem[:2]
    namespace = {"__name__": "__main__", "__file__": str(solutions.path)}
    results: dict[tuple[int, int], Ran] = {}
    cwd = os.getcwd()
    plt.close("all")
    try:
        os.chdir(solutions.path.parent)
        with rc_context():
            for exercise in solutions.exercises:
                for k, cell in enumerate(exercise.cells):
                    if cell.kind != "code":
                        continue
                    buffer = io.StringIO()
                    code = compile("\n" * (cell.lineno - 1) + cell.source, str(solutions.path), "exec")
                    try:
                        with contextlib.redirect_stdout(buffer):
                            exec(code, namespace)
                    except Exception as err:
                        raise ExtensionError(
                            f"the solution to exercise {exercise.number} in {solutions.path} failed:\n"
                            + "".join(traceback.format_exception(err))
                        ) from err
                    figures = []
                    for j, num in enumerate(plt.get_fignums(), start=1):
                        png = figure_dir / f"{stem}_ex{exercise.number}_{k:02d}_{j}.png"
                        plt.figure(num).savefig(png)
                        figures.append(png)
                    plt.close("all")
                    results[(exercise.number, k)] = Ran(buffer.getvalue(), figures)
    finally:
        os.chdir(cwd)
    return results


def _indent(text: str, by: str = "   ") -> list[str]:
    return [by + line if line.strip() else "" for line in text.splitlines()]


def render(
    solutions: Solutions, results: dict[tuple[int, int], Ran], srcdir: Path, docdir: Path
) -> list[str]:
    """The reST of the solutions block: a rubric, a line about the script, one dropdown per exercise."""
    stem = solutions.path.stem[:2]
    download = os.path.relpath(solutions.path, docdir).replace(os.sep, "/")
    out = [
        ".. rubric:: Worked solutions",
        "",
        "Each solution ran when this page was built; the output shown is what it printed.",
        f"The script: :download:`{solutions.path.name} <{download}>`",
        f"(``python lessons/solutions/{solutions.path.name}``).",
        "",
    ]
    for exercise in solutions.exercises:
        out += [
            f".. dropdown:: Solution to exercise {exercise.number}",
            f"   :name: solution-{stem}-{exercise.number}",
            "   :class-container: linalg-solution",
            "",
        ]
        for k, cell in enumerate(exercise.cells):
            if cell.kind == "text":
                out += _indent(cell.source) + [""]
                continue
            out += ["   .. code-block:: python", ""] + _indent(cell.source, "      ") + [""]
            ran = results[(exercise.number, k)]
            if ran.output.strip():
                out += ["   .. rst-class:: sphx-glr-script-out", "", "   .. code-block:: none", ""]
                out += _indent(ran.output.rstrip("\n"), "      ") + [""]
            for png in ran.figures:
                uri = "/" + png.relative_to(srcdir).as_posix()
                out += [
                    f"   .. image:: {uri}",
                    f"      :alt: figure drawn by the solution to exercise {exercise.number}",
                    "      :class: sphx-glr-single-img",
                    "",
                ]
    return out


class SolutionsDirective(SphinxDirective):
    """``.. solutions:: NN_topic`` -- run ``lessons/solutions/NN_solutions.py`` and show it folded."""

    required_arguments = 1
    option_spec = {"class": directives.class_option}

    def run(self) -> list[nodes.Node]:
        folder = Path(self.env.srcdir, self.config.solutions_dir).resolve()
        path = solutions_path(folder, self.arguments[0])
        if not path.is_file():
            raise self.error(f"no solutions file {path}")
        self.env.note_dependency(str(path))
        try:
            solutions = parse_solutions(path)
        except ValueError as err:
            raise self.error(str(err)) from err
        srcdir = Path(self.env.srcdir)
        figure_dir = srcdir / self.config.solutions_gallery / "images" / "solutions"
        results = run_cells(solutions, figure_dir)
        docdir = (srcdir / self.env.docname).parent
        lines = render(solutions, results, srcdir, docdir)
        container = nodes.container(classes=["linalg-solutions"])
        self.state.nested_parse(StringList(lines, source=str(path)), self.content_offset, container)
        return [container]


def insert_solutions(app: Sphinx, docname: str, source: list[str]) -> None:
    """On a generated lesson page with a solutions file, add ``.. solutions::`` after the exercises."""
    gallery = app.config.solutions_gallery
    if not docname.startswith(gallery + "/"):
        return
    stem = docname[len(gallery) + 1:]
    if not re.match(r"\d\d_", stem):
        return
    path = solutions_path(Path(app.srcdir, app.config.solutions_dir).resolve(), stem)
    if not path.is_file():
        return
    text = source[0]
    match = EXERCISES_SECTION.search(text)
    if not match:
        raise ExtensionError(
            f"{docname}: {path.name} has solutions but the lesson has no 'Exercises' section"
        )
    wanted = count_exercises(text)
    found = len(parse_solutions(path).exercises)
    if found != wanted:
        raise ExtensionError(
            f"{path}: {found} solutions for the {wanted} exercises of lesson {stem}; "
            "one 'Exercise N' section per exercise"
        )
    end = NEXT_GENERATED.search(text, match.end())
    at = end.start() if end else len(text)
    source[0] = text[:at].rstrip("\n") + f"\n\n.. solutions:: {stem}\n\n" + text[at:]


def setup(app: Sphinx) -> dict:
    app.setup_extension("sphinx_design")
    app.add_config_value("solutions_dir", "../lessons/solutions", "env")
    app.add_config_value("solutions_gallery", "auto_lessons", "env")
    app.add_directive("solutions", SolutionsDirective)
    app.connect("source-read", insert_solutions)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
