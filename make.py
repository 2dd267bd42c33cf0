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
has no torch yet, torch 2.13.0 goes in first, and which build is chosen for you:

* no NVIDIA GPU: the CPU build, from PyTorch's CPU wheel index
  (https://download.pytorch.org/whl/cpu), so no CUDA libraries are downloaded;
  when that index cannot be reached (a machine that sees only a local mirror),
  ``torch==2.13.0`` from pip's configured index instead;
* an NVIDIA GPU: nothing is installed; make.py prints the exact commands for a
  CUDA or a CPU build and stops, so the choice is yours.

A torch already in the environment (your own CUDA build, say) is always kept.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
TORCH_PIN = "torch==2.13.0"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
# How long to wait for the CPU wheel index before using the configured one: a
# machine that cannot reach it (DNS fails, or a firewall drops the packets) must
# not sit through pip's own timeout and retries.
PROBE_TIMEOUT_S = 5.0
# CI adds "cluster" (ray) through $LINALG_RNN_EXTRAS so the showdown's Ray test runs there.
EXTRAS = os.environ.get("LINALG_RNN_EXTRAS", "test,docs")


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


def _call(cmd: list[str | Path], **kwargs) -> int:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    return subprocess.run([str(c) for c in cmd], cwd=ROOT, **kwargs).returncode


def _run(cmd: list[str | Path], **kwargs) -> None:
    returncode = _call(cmd, **kwargs)
    if returncode != 0:
        sys.exit(returncode)


def _has(python: Path, module: str) -> bool:
    probe = subprocess.run(
        [str(python), "-c", f"import {module}"], cwd="/", capture_output=True
    )
    return probe.returncode == 0


NVIDIA_DRIVER_GPUS = Path("/proc/driver/nvidia/gpus")  # one folder per GPU where the driver is loaded (Linux)


def nvidia_gpus() -> list[str]:
    """The NVIDIA GPUs on this machine, as ``nvidia-smi -L`` names them (none: an empty list)."""
    smi = shutil.which("nvidia-smi")
    if smi:
        try:
            listed = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            listed = None
        if listed is not None and listed.returncode == 0:
            gpus = [line.strip() for line in listed.stdout.splitlines() if line.startswith("GPU ")]
            if gpus:
                return gpus
    # The driver without nvidia-smi on the PATH still lists its GPUs.
    driver = NVIDIA_DRIVER_GPUS
    return [f"GPU at PCI {p.name}" for p in sorted(driver.iterdir())] if driver.is_dir() else []


def unreachable(url: str, timeout: float = PROBE_TIMEOUT_S) -> str | None:
    """Why ``url`` cannot be fetched within ``timeout`` seconds, or None when it answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout):  # the headers are enough: the body is not read
            return None
    except urllib.error.HTTPError as err:
        return f"it answered HTTP {err.code}"
    except (urllib.error.URLError, OSError, ValueError) as err:
        return str(getattr(err, "reason", err))


def install_torch(python: Path) -> None:
    """Install torch 2.13.0 into the environment of ``python``: the CPU build where there is no GPU.

    Prints which build and which index it chose; with an NVIDIA GPU it prints
    the commands to choose with and stops.
    """
    pip = [python, "-m", "pip", "--disable-pip-version-check"]
    gpus = nvidia_gpus()
    if gpus:
        sys.exit(
            f"make.py: this machine has an NVIDIA GPU ({gpus[0]}{' and more' if len(gpus) > 1 else ''}) "
            "and the environment has no torch yet.\n"
            "Which build fits your driver is your choice: install one, then run this command again "
            "(make.py keeps the torch it finds).\n"
            f"  a CUDA build (from pip's configured index; on Linux, PyPI's torch is a CUDA build):\n"
            f"    {python} -m pip install {TORCH_PIN}\n"
            f"  or the CPU build (no CUDA libraries):\n"
            f"    {python} -m pip install {TORCH_PIN} --index-url {CPU_INDEX}\n"
            "  other CUDA versions: https://pytorch.org/get-started/locally/"
        )
    problem = unreachable(f"{CPU_INDEX}/torch/")
    if problem is None:
        print(f"make.py: no NVIDIA GPU here: installing the CPU build of {TORCH_PIN} "
              f"from PyTorch's CPU wheel index {CPU_INDEX}", flush=True)
        if _call([*pip, "install", "--quiet", TORCH_PIN, "--index-url", CPU_INDEX]) == 0:
            return
        problem = "pip could not install torch from it (see above)"
    print(f"make.py: no NVIDIA GPU here, but PyTorch's CPU wheel index {CPU_INDEX} cannot be used "
          f"({problem}): installing {TORCH_PIN} from pip's configured index instead "
          "(where that is PyPI, torch on Linux brings its CUDA libraries, a few GB)", flush=True)
    _run([*pip, "install", "--quiet", TORCH_PIN])


def setup() -> Path:
    """Make sure the environment has torch, the package (editable) and its extras."""
    python = _python()
    pip = [python, "-m", "pip", "--disable-pip-version-check"]
    if not _has(python, "torch"):
        install_torch(python)
    stamp = Path(str(python)).parent.parent / ".linalg_rnn-installed"
    pyproject = ROOT / "pyproject.toml"
    fresh = stamp.exists() and stamp.read_text() == pyproject.read_text() + str(ROOT) + EXTRAS
    if not (fresh and _has(python, "linalg_rnn")):
        _run([*pip, "install", "--quiet", "-e", f".[{EXTRAS}]"])
        stamp.write_text(pyproject.read_text() + str(ROOT) + EXTRAS)
    return python


def offer_jupyter(python: Path, folder: str = "notebooks") -> None:
    """Say how to open the notebooks; offer to install the ``notebooks`` extra where Jupyter is missing.

    The question is asked only on a terminal; without one (CI, a pipe) the
    exact install command is printed instead.
    """
    install = [str(python), "-m", "pip", "install", "-e", f"{ROOT}[notebooks]"]
    if not (_has(python, "jupyterlab") and _has(python, "ipykernel")):
        command = " ".join(install[:-1] + [f"'{install[-1]}'"])
        interactive = sys.stdin is not None and sys.stdin.isatty() and not os.environ.get("CI")
        answer = ""
        if interactive:
            try:
                answer = input("make.py: JupyterLab and ipykernel are not in the environment; "
                               "install them now (the 'notebooks' extra)? [y/N] ")
            except EOFError:
                answer = ""
        if answer.strip().lower() not in {"y", "yes"}:
            print("make.py: to open the notebooks, install JupyterLab and the kernel into the environment:\n"
                  f"    {command}")
            return
        _run(install)
    jupyter = Path(str(python)).parent / ("jupyter.exe" if os.name == "nt" else "jupyter")
    print(f"make.py: open them with\n    {jupyter} lab {folder}")


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
        # Sphinx would report a bad mode from conf.py as a crash, with a page of versions around it.
        mode = os.environ.get("LINALG_RNN_MODE", "").strip().lower()
        if mode not in {"", "quick", "default", "full"}:
            sys.exit(f"make.py: LINALG_RNN_MODE={os.environ['LINALG_RNN_MODE']!r} is not a lesson mode; "
                     "choose quick, default or full")
        out = ROOT / "docs" / "_build" / "html"
        _run([python, "-m", "sphinx", "-W", "--keep-going", "-b", "html", "docs", out, *rest], env=env)
        print(f"make.py: the site is in {out} (open index.html)")
    elif command == "notebooks":
        # jupytext turns each lesson into a notebook; pass --out DIR, --only NN, --force.
        _run([python, ROOT / "docs" / "notebooks.py", *rest], env=env)
        folder = next((a.split("=", 1)[1] for a in rest if a.startswith("--out=")),
                      rest[rest.index("--out") + 1] if "--out" in rest[:-1] else "notebooks")
        if not {"-h", "--help"} & set(rest):
            offer_jupyter(python, folder)
    elif command == "lint":
        _run([python, "-m", "ruff", "check", "linalg_rnn", "lessons", "tests", "benchmarks", "docs", *rest])


if __name__ == "__main__":
    main(sys.argv[1:])
