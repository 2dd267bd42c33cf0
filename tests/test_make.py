"""``make.py`` sets up the environment: the CPU torch where there is no GPU, the choice left to a GPU's owner.

No real install happens here: the environment is a folder whose ``bin/python``
is a fake that records every command it is given (``-c "import X"`` answers
from a list of installed modules; ``-m pip install`` records its arguments and
"installs"), and the CPU wheel index is a local HTTP server or a closed port.
"""

from __future__ import annotations

import ast
import http.server
import io
import json
import socket
import sys
import threading
from pathlib import Path

import pytest
from conftest import load_script

ROOT = Path(__file__).resolve().parent.parent
make = load_script("linalg_rnn_make", ROOT / "make.py")

FAKE_PYTHON = """\
#!{python}
# A fake interpreter for make.py's tests: records its arguments, installs nothing real.
import json, sys
from pathlib import Path
env = Path(__file__).resolve().parent.parent
installed = env / "installed"
installed.mkdir(exist_ok=True)
args = sys.argv[1:]
with open(env / "calls.jsonl", "a") as log:
    log.write(json.dumps(args) + "\\n")
if args[:1] == ["-c"]:  # make.py's probe: -c "import X"
    sys.exit(0 if (installed / args[1].split()[-1]).exists() else 1)
if args[:2] == ["-m", "pip"] and "install" in args:
    if "--index-url" in args and (env / "cpu-index-fails").exists():
        sys.exit(1)
    for name in ("torch", "linalg_rnn", "jupyterlab", "ipykernel"):
        if any(a.startswith(name.replace("_", "-")) or a.startswith(name) for a in args) or (
                name != "torch" and any(a.startswith("-e") for a in args)):
            (installed / name).touch()
    sys.exit(0)
sys.exit(0)
"""


@pytest.fixture
def fake_env(tmp_path, monkeypatch):
    """An environment with no torch whose python only records; make.py is pointed at it."""
    env = tmp_path / "venv"
    (env / "bin").mkdir(parents=True)
    python = env / "bin" / "python"
    python.write_text(FAKE_PYTHON.format(python=sys.executable))
    python.chmod(0o755)
    monkeypatch.setenv("VIRTUAL_ENV", str(env))
    monkeypatch.delenv("CI", raising=False)
    return env


def calls(env: Path) -> list[list[str]]:
    """Every command the fake python was given, in order."""
    path = env / "calls.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def pip_installs(env: Path) -> list[list[str]]:
    return [c for c in calls(env) if c[:2] == ["-m", "pip"] and "install" in c]


@pytest.fixture
def cpu_index(monkeypatch):
    """A reachable stand-in for PyTorch's CPU wheel index (every path answers 200)."""

    class Index(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"<html>torch-2.13.0+cpu</html>")

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Index)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/whl/cpu"
    monkeypatch.setattr(make, "CPU_INDEX", url)
    yield url
    server.shutdown()
    server.server_close()


@pytest.fixture
def closed_port_index(monkeypatch):
    """A CPU index URL nobody answers at (a port just closed: the connection is refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/whl/cpu"
    monkeypatch.setattr(make, "CPU_INDEX", url)
    return url


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(make, "nvidia_gpus", lambda: [])


def test_without_a_gpu_torch_comes_from_the_cpu_index_and_make_says_so(fake_env, cpu_index, no_gpu, capsys):
    make.setup()
    installs = pip_installs(fake_env)
    torch_args = installs[0][installs[0].index("install") + 1:]
    assert torch_args == ["--quiet", "torch==2.13.0", "--index-url", cpu_index]
    assert "-e" in installs[1] and installs[1][-1].startswith(".[")  # then the package, torch kept
    assert "--index-url" not in installs[1]
    assert len(installs) == 2
    out = capsys.readouterr().out
    assert f"installing the CPU build of torch==2.13.0 from PyTorch's CPU wheel index {cpu_index}" in out


def test_an_unreachable_cpu_index_falls_back_to_the_configured_index(fake_env, closed_port_index, no_gpu,
                                                                     capsys):
    make.setup()
    installs = pip_installs(fake_env)
    # pip is never sent to the dead index: the probe found it first
    assert installs[0][installs[0].index("install") + 1:] == ["--quiet", "torch==2.13.0"]
    out = capsys.readouterr().out
    assert f"CPU wheel index {closed_port_index} cannot be used" in out
    assert "installing torch==2.13.0 from pip's configured index instead" in out


def test_a_cpu_index_that_pip_cannot_install_from_falls_back_too(fake_env, cpu_index, no_gpu, capsys):
    (fake_env / "cpu-index-fails").touch()
    make.setup()
    torch_installs = [c for c in pip_installs(fake_env) if "torch==2.13.0" in c]
    assert [("--index-url" in c) for c in torch_installs] == [True, False]
    assert "pip could not install torch from it" in capsys.readouterr().out


def test_with_an_nvidia_gpu_nothing_is_installed_and_the_exact_commands_are_printed(fake_env, tmp_path,
                                                                                     monkeypatch):
    bin_dir = tmp_path / "gpu-bin"
    bin_dir.mkdir()
    smi = bin_dir / "nvidia-smi"
    smi.write_text("#!/bin/sh\necho 'GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-0000)'\n")
    smi.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    assert make.nvidia_gpus() == ["GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-0000)"]
    with pytest.raises(SystemExit) as stop:
        make.setup()
    message = str(stop.value.code)
    python = fake_env / "bin" / "python"
    assert "NVIDIA H100" in message and "is your choice" in message
    assert f"{python} -m pip install torch==2.13.0\n" in message
    assert f"{python} -m pip install torch==2.13.0 --index-url {make.CPU_INDEX}\n" in message
    assert pip_installs(fake_env) == []


def test_a_gpu_listed_only_by_the_driver_counts_and_a_failing_nvidia_smi_does_not(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    smi = bin_dir / "nvidia-smi"
    smi.write_text("#!/bin/sh\necho \"NVIDIA-SMI has failed because it couldn't communicate with the "
                   "driver\"\nexit 9\n")
    smi.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    monkeypatch.setattr(make, "NVIDIA_DRIVER_GPUS", tmp_path / "no-driver")
    assert make.nvidia_gpus() == []
    (tmp_path / "driver" / "0000:3b:00.0").mkdir(parents=True)
    monkeypatch.setattr(make, "NVIDIA_DRIVER_GPUS", tmp_path / "driver")
    assert make.nvidia_gpus() == ["GPU at PCI 0000:3b:00.0"]


def test_a_torch_already_in_the_environment_is_kept(fake_env, no_gpu, closed_port_index):
    (fake_env / "installed").mkdir()
    (fake_env / "installed" / "torch").touch()
    make.setup()
    assert not [c for c in pip_installs(fake_env) if "torch==2.13.0" in c]


def test_without_a_terminal_the_notebooks_command_prints_the_install_command_and_asks_nothing(
        fake_env, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # not a terminal
    monkeypatch.setattr("builtins.input", lambda *a: pytest.fail("asked a question without a terminal"))
    python = fake_env / "bin" / "python"
    make.offer_jupyter(python)
    out = capsys.readouterr().out
    assert f"    {python} -m pip install -e '{make.ROOT}[notebooks]'" in out
    assert pip_installs(fake_env) == []


class _Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("answer, installs", [("y", True), ("", False)], ids=["yes", "enter"])
def test_on_a_terminal_the_notebooks_command_offers_the_extra(fake_env, monkeypatch, capsys, answer,
                                                             installs):
    monkeypatch.setattr(sys, "stdin", _Terminal())
    asked = []
    monkeypatch.setattr("builtins.input", lambda prompt: asked.append(prompt) or answer)
    python = fake_env / "bin" / "python"
    make.offer_jupyter(python, "my-notebooks")
    assert asked and "[y/N]" in asked[0]
    done = pip_installs(fake_env)
    assert done == ([["-m", "pip", "install", "-e", f"{make.ROOT}[notebooks]"]] if installs else [])
    out = capsys.readouterr().out
    assert ("lab my-notebooks" in out) == installs


def test_the_notebooks_extra_has_jupyter_and_a_kernel_and_the_test_extra_can_run_a_notebook():
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "optional-dependencies"]
    names = {name: {req.split(">")[0].split("=")[0].split("<")[0].strip() for req in reqs}
             for name, reqs in extras.items()}
    assert "ipykernel" in names["notebooks"] and names["notebooks"] & {"jupyterlab", "notebook"}
    assert {"nbclient", "ipykernel"} <= names["test"], "tests/test_notebooks.py executes a notebook"


def test_make_py_imports_only_the_standard_library():
    tree = ast.parse((ROOT / "make.py").read_text(encoding="utf-8"))
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module and node.level == 0}
    imported.discard("__future__")
    assert imported <= set(sys.stdlib_module_names), imported - set(sys.stdlib_module_names)



def test_the_docs_command_refuses_a_bad_mode_in_one_line_before_sphinx_runs(fake_env, no_gpu, monkeypatch):
    (fake_env / "installed").mkdir()
    for name in ("torch", "linalg_rnn"):
        (fake_env / "installed" / name).touch()
    monkeypatch.setattr(make, "setup", lambda: fake_env / "bin" / "python")
    monkeypatch.setenv("LINALG_RNN_MODE", "turbo")
    with pytest.raises(SystemExit) as stop:
        make.main(["docs"])
    assert stop.value.code == ("make.py: LINALG_RNN_MODE='turbo' is not a lesson mode; "
                               "choose quick, default or full")
    assert not [c for c in calls(fake_env) if "sphinx" in c]
