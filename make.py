#!/usr/bin/env python3
"""One entry point for the course, the tests and the docs, using only the standard library.

Run it with any Python >= 3.10; it sets itself up on first use::

    python3 make.py course      # every lesson in order, headless; figures go to course_output/
    python3 make.py test        # the whole test suite (doctests and every lesson included)
    python3 make.py docs        # the Sphinx site, warnings as errors -> docs/_build/html
    python3 make.py notebooks   # every lesson as a Jupyter notebook (not executed) -> notebooks/
    python3 make.py lint        # ruff
    python3 make.py setup       # only create the environment

Set-up: inside an active virtual environment (``$VIRTUAL_ENV``) it installs into
that one; otherwise it makes ``.venv/`` next to this file.  When the environment
has no torch yet, ``torch==2.13.0`` goes in first: with torch already present,
the project's own range is satisfied and pip fetches no multi-GB CUDA build.
People with a GPU install their own CUDA torch first and it is kept.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
TORCH_PIN = "torch==2.13.0"
EXTRAS = "test,docs"


def _python() -> Path:
    """The interpreter of the environment the project runs in (made on first use)."""
    active = os.environ.get("VIRTUAL_ENV")
    if active:
        env = Path(active)
    else:
        env = ROOT / ".venv"
        if not (env / "bin" / "python").exists() and not (env / "Scripts" / "python.exe").exists():
            print(f"make.py: creating a virtual environment in {env}", flush=True)
            venv.EnvBuilder(with_pip=True).create(env)
    for candidate in (env / "bin" / "python", env / "Scripts" / "python.exe"):
        if candidate.exists():
            return candidate
    sys.exit(f"make.py: no python found in {env}")


def _run(cmd: list[str | Path], **kwargs) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    result = subprocess.run([str(c) for c in cmd], cwd=ROOT, **kwargs)
    if result.returncode != 0:
        sys.exit(result.returncode)


def _has(python: Path, module: str) -> bool:
    probe = subprocess.run(
        [str(python), "-c", f"import {module}"], cwd="/", capture_output=True
    )
    return probe.returncode == 0


def setup() -> Path:
    """Make sure the environment has torch, the package (editable) and its extras."""
    python = _python()
    pip = [python, "-m", "pip", "--disable-pip-version-check"]
    if not _has(python, "torch"):
        _run([*pip, "install", "--quiet", TORCH_PIN])
    stamp = Path(str(python)).parent.parent / ".linalg_rnn-installed"
    pyproject = ROOT / "pyproject.toml"
    fresh = stamp.exists() and stamp.read_text() == pyproject.read_text() + str(ROOT)
    if not (fresh and _has(python, "linalg_rnn")):
        _run([*pip, "install", "--quiet", "-e", f".[{EXTRAS}]"])
        stamp.write_text(pyproject.read_text() + str(ROOT))
    return python


def _headless_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("MPLBACKEND", "Agg")
    return env


def main(argv: list[str]) -> None:
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(__doc__)
        return
    command, rest = argv[0], argv[1:]
    if command not in {"setup", "course", "test", "docs", "notebooks", "lint"}:
        sys.exit(f"make.py: unknown command {command!r}; choose setup, course, test, docs, notebooks or lint")
    python = setup()
    env = _headless_env()
    if command == "course":
        _run([python, "-m", "linalg_rnn", "lessons", *rest], env=env)
    elif command == "test":
        _run([python, "-m", "pytest", *rest], env=env)
    elif command == "docs":
        out = ROOT / "docs" / "_build" / "html"
        _run([python, "-m", "sphinx", "-W", "--keep-going", "-b", "html", "docs", out, *rest], env=env)
        print(f"make.py: the site is in {out} (open index.html)")
    elif command == "notebooks":
        # jupytext turns each lesson into a notebook; pass --out DIR, --only NN, --force.
        _run([python, ROOT / "docs" / "notebooks.py", *rest], env=env)
    elif command == "lint":
        _run([python, "-m", "ruff", "check", "linalg_rnn", "lessons", "tests", "benchmarks", "docs", *rest])


if __name__ == "__main__":
    main(sys.argv[1:])
