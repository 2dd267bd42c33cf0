"""Serve MathJax from the built site itself, so the math renders with no network.

The MathJax 3 bundle comes from a registry package: ``django-static-mathjax``
on PyPI ships the MathJax 3.2.2 distribution as plain files (it needs no
Django; the import name is ``mathjax``).  At build time this extension copies
one file of it, ``es5/tex-svg-full.js`` (TeX input with every extension, SVG
output, so no web fonts to fetch), with MathJax's licence, into
``_build/html/_static/mathjax/`` and points ``sphinx.ext.mathjax`` at it.
Every page loads it (also pages without an equation of their own, because
the navigation shows titles with math in them), and no page names a CDN.
"""

from __future__ import annotations

import json
import shutil
from importlib import resources
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

BUNDLE = "tex-svg-full.js"
SITE_DIR = "mathjax"  # under _static/


def mathjax_distribution() -> Path:
    """The folder of the installed MathJax 3 distribution (``.../static/mathjax``)."""
    try:
        root = Path(str(resources.files("mathjax"))) / "static" / "mathjax"
    except ModuleNotFoundError:
        root = None
    if root is None or not (root / "es5" / BUNDLE).is_file():
        raise ExtensionError(
            "offline math needs the MathJax 3 files of the PyPI package django-static-mathjax "
            "(pip install 'linalg-rnn[docs]'); none found"
        )
    version = json.loads((root / "package.json").read_text(encoding="utf-8"))["version"]
    if not version.startswith("3."):
        raise ExtensionError(f"offline math expects MathJax 3, found {version} in {root}")
    return root


def copy_bundle(app: Sphinx) -> None:
    """Put the MathJax bundle and its licence into the site's _static/mathjax/."""
    if app.builder.format != "html":
        return
    root = mathjax_distribution()
    target = Path(app.outdir) / "_static" / SITE_DIR
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(root / "es5" / BUNDLE, target / BUNDLE)
    shutil.copyfile(root / "LICENSE", target / "LICENSE")


def use_local_bundle(app: Sphinx, config) -> None:
    """Point sphinx.ext.mathjax at the copy in _static/ (a relative path), never a URL."""
    config.mathjax_path = f"{SITE_DIR}/{BUNDLE}"


def setup(app: Sphinx) -> dict:
    app.setup_extension("sphinx.ext.mathjax")
    app.connect("config-inited", use_local_bundle)
    # MathJax on every page: the sidebar lists titles that contain math.
    app.set_html_assets_policy("always")
    app.connect("builder-inited", copy_bundle)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
