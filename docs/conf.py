"""Sphinx configuration for the linalg_rnn docs site.

The lessons in ``../lessons`` are executed and rendered by sphinx-gallery in
file-name order; the API reference comes from the package's numpydoc
docstrings.  Build with ``python3 make.py docs`` (warnings are errors).
"""

import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "docs" / "_ext"))  # this site's own extensions
os.environ.setdefault("MPLBACKEND", "Agg")
# The site shows the lessons at their default size; CI may ask for quick ones.
os.environ.setdefault("LINALG_RNN_MODE", "default")

from sphinx.errors import ConfigError  # noqa: E402

import linalg_rnn  # noqa: E402
from linalg_rnn.course import LessonModeError, lesson_mode  # noqa: E402

try:  # a bad value stops the build here, in one line, before any lesson runs
    LESSON_MODE = lesson_mode()
except LessonModeError as err:
    raise ConfigError(str(err)) from None

project = "linalg_rnn"
author = "the linalg_rnn developers"
copyright = "2026, the linalg_rnn developers"
release = linalg_rnn.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "sphinxcontrib.bibtex",
    "sphinx_design",
    # MathJax 3 copied from a PyPI package into _static/: math renders offline.
    "offline_math",
    # Worked solutions (lessons/solutions/), run at build time, folded under the exercises.
    "solutions",
]

templates_path = []
exclude_patterns = ["_build", "_ext", "**/*.ipynb", "**/*.py", "**/*.zip", "auto_lessons/*.md5"]
html_theme = "furo"
html_title = "linalg_rnn — a runnable textbook"
html_static_path = ["_static"]
html_css_files = ["linalg_rnn.css"]
html_js_files = ["linalg_rnn.js"]

# -- autodoc / numpydoc -------------------------------------------------------
autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "none"  # numpydoc's Parameters sections carry the types
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# -- bibliography -------------------------------------------------------------
bibtex_bibfiles = ["references.bib"]
bibtex_default_style = "plain"
bibtex_reference_style = "author_year"

# -- sphinx-gallery: lessons in course order -----------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../lessons",
    "gallery_dirs": "auto_lessons",
    # Every numbered lesson is executed, not only files named plot_*.
    "filename_pattern": r"/\d\d_",
    # lessons/solutions/ has no GALLERY_HEADER, so the gallery skips it: the
    # solutions are shown folded on each lesson page (docs/_ext/solutions.py).
    "ignore_pattern": r"__init__\.py|/_",
    # The default sorts by code length; a course must go by lesson number.
    "within_subsection_order": "FileNameSortKey",
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "download_all_examples": False,
    "remove_config_comments": True,
    "image_scrapers": ("matplotlib",),
    "reset_modules": ("matplotlib",),
    "capture_repr": (),
    "min_reported_time": 1,
    "show_memory": False,
    "write_computation_times": False,
}

nitpicky = False
suppress_warnings = ["config.cache"]


def _link_notation(app, docname, source):
    """On every lesson page, point from the prerequisites to the notation page."""
    if not re.match(r"auto_lessons/\d\d_", docname):
        return
    found = re.search(r"^\*\*Prerequisites:\*\*.*?(?=\n[ \t]*\n)", source[0], re.S | re.M)
    if found:
        link = "\n\n**Notation:** every symbol is listed on the :doc:`notation page </notation>`."
        source[0] = source[0][: found.end()] + link + source[0][found.end():]


def mode_note(mode: str) -> str:
    """The box at the top of every lesson page of a site not built at the default size ('' if it is)."""
    if mode == "default":
        return ""
    size = {"quick": "smallest settings (as the test suite runs them)", "full": "heaviest settings"}[mode]
    return (
        f".. admonition:: Built in {mode} mode\n"
        "   :class: warning linalg-mode-note\n\n"
        f"   This site was built with ``LINALG_RNN_MODE={mode}``: every lesson ran at its {size}, so\n"
        "   the numbers and figures on this page come from that run, not from the default one a\n"
        "   reader gets with ``python lessons/NN_topic.py``.\n"
    )


def _note_the_mode(app, docname, source):
    """On every lesson page (and the lessons index), say so when the lessons did not run at default size."""
    note = mode_note(LESSON_MODE)
    if not (note and docname.startswith("auto_lessons/")):
        return
    title = re.search(r"^[^\n]+\n(=+)\n", source[0], re.M)
    if title:  # right under the page title
        source[0] = source[0][: title.end()] + "\n" + note + "\n" + source[0][title.end():]


def setup(app):
    app.connect("source-read", _link_notation)
    app.connect("source-read", _note_the_mode)
