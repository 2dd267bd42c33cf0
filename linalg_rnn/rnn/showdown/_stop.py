"""Stopping a study when told: SIGINT (Ctrl-C) or SIGTERM, within about one training step.

The driver catches both signals into a
:class:`~linalg_rnn._console.StopRequest` (:func:`linalg_rnn._console.stop_on_signals`,
shared with ``linalg-rnn train`` and ``lessons``) instead of dying.
From then on no cell starts (the executors hand a worker a cell only when
it is free, and a worker checks the flag before each cell), the running
cells are sent the signal again -- the trainer takes it after the current
step, writes a checkpoint and returns -- and the driver writes
``results.json`` and exits 130 (SIGINT) or 143 (SIGTERM), as ``linalg-rnn
train`` does. ``linalg-rnn showdown --out DIR --resume`` continues.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterable

from ..._console import StopRequest

__all__ = ["forward_signal"]


def forward_signal(stop: StopRequest, pids: Iterable[int]) -> None:
    """Send the signal that stopped the study to the worker processes ``pids``.

    A worker that is training takes it after the current step (checkpoint,
    then return); an idle one ignores it. Sent again on every poll while
    cells are running, it also reaches a cell that was just starting,
    before the trainer's own handler was in place. A worker that is gone
    is skipped.

    Examples
    --------
    >>> import subprocess, sys
    >>> child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    >>> forward_signal(StopRequest("SIGTERM"), [child.pid])
    >>> child.wait() == -signal.SIGTERM
    True
    """
    number = getattr(signal, stop.signal)
    for pid in pids:
        try:
            os.kill(pid, number)
        except (ProcessLookupError, PermissionError):
            pass
