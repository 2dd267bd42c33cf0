"""Stopping a study when told: SIGINT (Ctrl-C) or SIGTERM, within about one training step.

The driver catches both signals into a :class:`Stop` flag instead of dying.
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
import threading
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["EXIT_STATUS", "Stop", "catch_signals", "forward_signal"]

#: The shell's exit status of a process stopped by the signal: 128 + its number.
EXIT_STATUS = {"SIGINT": 128 + signal.SIGINT, "SIGTERM": 128 + signal.SIGTERM}


@dataclass
class Stop:
    """A stop request: the name of the first signal that asked for one, or ``None``.

    Examples
    --------
    >>> stop = Stop()
    >>> bool(stop), stop.request("SIGTERM"), stop.request("SIGINT"), stop.signal
    (False, None, None, 'SIGTERM')
    """

    signal: str | None = None

    def __bool__(self) -> bool:
        return self.signal is not None

    def request(self, name: str) -> None:
        """Ask to stop; the first signal's name is the one kept (it decides the exit status)."""
        self.signal = self.signal or name


class catch_signals:
    """Within the block, SIGINT/SIGTERM set ``stop`` instead of raising (main thread only).

    Examples
    --------
    >>> import os, signal
    >>> with catch_signals() as stop:
    ...     os.kill(os.getpid(), signal.SIGTERM)
    >>> stop.signal, EXIT_STATUS[stop.signal]
    ('SIGTERM', 143)
    """

    def __init__(self, stop: Stop | None = None) -> None:
        self.stop, self.previous = stop or Stop(), {}

    def __enter__(self) -> Stop:
        if threading.current_thread() is threading.main_thread():
            names = {signal.SIGINT: "SIGINT", signal.SIGTERM: "SIGTERM"}

            def handler(signum, frame):
                self.stop.request(names[signum])

            self.previous = {s: signal.signal(s, handler) for s in names}
        return self.stop

    def __exit__(self, *exc) -> bool:
        for s, h in self.previous.items():
            signal.signal(s, h)
        return False


def forward_signal(stop: Stop, pids: Iterable[int]) -> None:
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
    >>> forward_signal(Stop("SIGTERM"), [child.pid])
    >>> child.wait() == -signal.SIGTERM
    True
    """
    number = getattr(signal, stop.signal)
    for pid in pids:
        try:
            os.kill(pid, number)
        except (ProcessLookupError, PermissionError):
            pass
