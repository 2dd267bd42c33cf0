"""What every ``linalg-rnn`` command shares with the person at the console.

``linalg-rnn lessons``, ``train`` and ``showdown`` talk to their user the
same way, through these few functions (the standard library only, so the
course runner stays free of torch):

* :func:`stop_on_signals` -- Ctrl-C (SIGINT) or SIGTERM asks a command to
  stop where it can, instead of killing it mid-write; :data:`EXIT_STATUS`
  is what the command then exits with (130 and 143, as a shell reports a
  process killed by those signals);
* :func:`show_progress` -- whether to draw a progress bar;
* :func:`error_line` -- an exception as the one line a command prints;
* :func:`unknown_name` -- the refusal of a name that is not one of the
  choices, suggesting the nearest one;
* :func:`format_number` -- numbers as summaries and tables print them.
"""

from __future__ import annotations

import difflib
import math
import os
import signal
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

__all__ = [
    "EXIT_STATUS",
    "StopRequest",
    "error_line",
    "format_number",
    "nearest_name",
    "show_progress",
    "stop_on_signals",
    "unknown_name",
]

#: The exit status of a command a signal stopped: 128 + the signal's number, as shells report it.
EXIT_STATUS = {"SIGINT": 130, "SIGTERM": 143}


@dataclass
class StopRequest:
    """A request to stop, set by a signal while :func:`stop_on_signals` is active.

    Attributes
    ----------
    signal : str or None
        ``"SIGINT"`` or ``"SIGTERM"`` once one arrived; ``None`` until then.
    """

    signal: str | None = None

    def __bool__(self) -> bool:
        return self.signal is not None

    def request(self, name: str) -> None:
        """Ask to stop; the first signal's name is the one kept (it decides the exit status)."""
        self.signal = self.signal or name

    @property
    def exit_status(self) -> int:
        """130 for SIGINT, 143 for SIGTERM, 0 when no signal came."""
        return EXIT_STATUS.get(self.signal, 0) if self.signal else 0


@contextmanager
def stop_on_signals() -> Iterator[StopRequest]:
    """SIGINT and SIGTERM set a :class:`StopRequest` instead of raising; the old handlers come back after.

    Yields
    ------
    StopRequest
        Its ``signal`` is set when the first signal arrives (and it is then
        true); the command checks it
        where stopping is safe (after a training step, between two lessons
        or two cells) and exits with :data:`EXIT_STATUS`.

    Notes
    -----
    Python lets only the main thread install signal handlers; elsewhere (a
    worker thread, a Ray actor) the request is yielded and never set, and
    the signals keep their handlers.

    Examples
    --------
    >>> import os, signal
    >>> with stop_on_signals() as stop:
    ...     os.kill(os.getpid(), signal.SIGTERM)
    ...     stop.signal, stop.exit_status
    ('SIGTERM', 143)
    """
    request = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request
        return
    names = {signal.SIGINT: "SIGINT", signal.SIGTERM: "SIGTERM"}

    def handler(signum: int, frame: Any) -> None:
        request.request(names[signum])

    previous = {s: signal.signal(s, handler) for s in names}
    try:
        yield request
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def show_progress(progress: bool | None = None) -> bool:
    """Whether to draw a progress bar: as asked, else only on a terminal and outside CI.

    Examples
    --------
    >>> show_progress(True), show_progress(False)
    (True, False)
    """
    if progress is not None:
        return progress
    return sys.stderr.isatty() and not os.environ.get("CI")


def error_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type's name when it has none).

    Examples
    --------
    >>> error_line(ValueError("bad seed\\nmore detail")), error_line(KeyError())
    ('bad seed', 'KeyError')
    """
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def nearest_name(value: Any, choices: Iterable[str]) -> str | None:
    """The choice closest to ``value`` in spelling, or ``None`` when none is close.

    Examples
    --------
    >>> nearest_name("orthogonal_int", ["orthogonal_init", "clip"]), nearest_name("xyz", ["clip"])
    ('orthogonal_init', None)
    """
    if not isinstance(value, str):
        return None
    found = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)
    return found[0] if found else None


def unknown_name(what: str, value: Any, choices: Iterable[str], flag: str | None = None) -> ValueError:
    """The one-line refusal of a name that is not among ``choices``, with the nearest valid one.

    Parameters
    ----------
    what : str
        What the name names (``"device"``, ``"strategy"``).
    value
        What was given.
    choices : iterable of str
        The valid names.
    flag : str, optional
        The command-line flag the user typed it with, named in the message.

    Returns
    -------
    ValueError
        To raise.

    Examples
    --------
    >>> print(unknown_name("device", "cdua", ["auto", "cpu", "cuda"], flag="--device"))
    unknown device 'cdua' (--device); did you mean 'cuda'?
    >>> print(unknown_name("device", "xla", ["auto", "cpu", "cuda"]))
    unknown device 'xla'; choose one of 'auto', 'cpu', 'cuda'
    """
    choices = list(choices)
    shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
    where = f" ({flag})" if flag else ""
    near = nearest_name(value, choices)
    hint = f"did you mean {near!r}?" if near else "choose one of " + ", ".join(repr(c) for c in choices)
    return ValueError(f"unknown {what} {shown}{where}; {hint}")


def format_number(value: Any, spec: str = ".3g", missing: str = "–") -> str:
    """A number as summaries and tables print it; ``missing`` for ``None`` and NaN.

    Examples
    --------
    >>> format_number(0.123456), format_number(None), format_number(float("nan"), missing="n/a")
    ('0.123', '–', 'n/a')
    >>> format_number(2.5e-7, ".2e")
    '2.50e-07'
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return missing
    return format(value, spec)
