"""Shared test settings: headless plotting and quick lessons."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("LINALG_RNN_MODE", "quick")
