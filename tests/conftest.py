"""Shared test settings: headless plotting, quick lessons, one torch thread; loading docs/ scripts."""

import importlib.util
import os
import sys
from pathlib import Path

import pytest
from hypothesis import settings

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("LINALG_RNN_MODE", "quick")

# CI draws the same hypothesis examples on every run (a failure there is then
# reproducible, never a one-off); on a developer's machine they are random, so
# every run also explores new inputs.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Run each test on one torch thread, restoring the setting afterwards.

    The models in the tests are tiny: one thread is faster, and two
    spin-waiting OpenMP threads on a loaded 2-core machine can stall a step
    many times over.  torch is imported here only if a test already did.
    """
    import sys

    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def load_script(name: str, path: Path):
    """Import the script ``path`` (a docs/ helper, not a package module) as the module ``name``.

    It is registered in ``sys.modules`` first, as an import would, so that
    what it defines (dataclasses among them) can find their module.
    """
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
