"""A headless Chromium driven over the DevTools protocol on a pipe, with the network off.

Standard library only: Chromium's ``--remote-debugging-pipe`` reads protocol
messages (JSON, each ended by a NUL byte) on file descriptor 3 and writes on
descriptor 4, so no WebSocket client, no WebDriver and no browser download
are needed -- only the browser itself (Debian: ``apt-get install chromium``).

The network is off three ways: a dead proxy and a host resolver that resolves
nothing (command-line flags), and the protocol's offline emulation.  Every
request a page attempts is recorded, so a check can fail on any request that
is not to a local file.

Used by ``docs/check_site.py``; see there.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")


def find_chromium() -> str | None:
    """The browser to use: ``$LINALG_RNN_CHROMIUM``, else the first of CANDIDATES on the PATH."""
    chosen = os.environ.get("LINALG_RNN_CHROMIUM")
    if chosen:
        return chosen if shutil.which(chosen) else None
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


class ProtocolError(RuntimeError):
    """The browser answered a command with an error, crashed, or did not answer in time."""


class Chromium:
    """One headless browser process; pages are opened as tabs with :meth:`new_page`.

    Use as a context manager so the process and its profile folder go away.
    """

    def __init__(self, executable: str, *, timeout: float = 60.0):
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="linalg-rnn-chromium-")
        self.log = Path(self.profile) / "chromium.log"
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # Move the child's ends above 10, so that bash can put them on 3 and 4 (dash cannot name fds above 9).
        child_in = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 10)
        child_out = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 10)
        os.close(to_browser_r)
        os.close(from_browser_w)
        flags = [
            "--headless",
            "--remote-debugging-pipe",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-default-apps",
            "--disable-extensions",
            "--disable-sync",
            "--no-first-run",
            "--no-default-browser-check",
            "--hide-scrollbars",
            "--mute-audio",
            f"--user-data-dir={self.profile}",
            # The network is off: a proxy that is not there, and no name resolves.
            "--proxy-server=127.0.0.1:9",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "about:blank",
        ]
        script = f'exec "$@" 3<&{child_in} 4>&{child_out} {child_in}<&- {child_out}>&-'
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                ["/bin/bash", "-c", script, "bash", executable, *flags],
                pass_fds=(child_in, child_out),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        os.close(child_in)
        os.close(child_out)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []

    # -- plumbing ---------------------------------------------------------------
    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """End the browser (politely, then by force) and remove its profile."""
        if self.proc.poll() is None:
            try:
                self._write({"id": 0, "method": "Browser.close"})
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        for fd in (self._to_browser, self._from_browser):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)

    def _write(self, message: dict) -> None:
        data = json.dumps(message).encode() + b"\0"
        while data:
            data = data[os.write(self._to_browser, data):]

    def _read(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ProtocolError("the browser did not answer in time")
            ready, _, _ = select.select([self._from_browser], [], [], left)
            if ready:
                chunk = os.read(self._from_browser, 1 << 20)
                if not chunk:
                    raise ProtocolError(f"the browser closed the pipe (log: {self.log_tail()})")
                self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def log_tail(self, lines: int = 5) -> str:
        try:
            return " | ".join(self.log.read_text(errors="replace").strip().splitlines()[-lines:])
        except OSError:
            return ""

    def send(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float | None = None) -> dict:
        """Send one command and wait for its answer; events that arrive meanwhile are kept."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self._write(message)
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise ProtocolError(f"{method}: {reply['error'].get('message')}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def wait_for(self, method: str, session: str, timeout: float | None = None) -> dict:
        """The first event ``method`` of ``session`` (already received or still to come)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            for k, event in enumerate(self.events):
                if event.get("method") == method and event.get("sessionId") == session:
                    return self.events.pop(k)
            event = self._read(deadline)
            if "method" in event:
                self.events.append(event)

    # -- pages ------------------------------------------------------------------
    def new_page(self, width: int = 1366, height: int = 900) -> Page:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session)
        for domain in ("Page", "Runtime", "Network", "Log"):
            self.send(f"{domain}.enable", session=session)
        self.send(
            "Network.emulateNetworkConditions",
            {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
            session,
        )
        page.resize(width, height)
        return page


class Page:
    """One tab: navigate, evaluate JavaScript, take screenshots, see what it requested."""

    def __init__(self, browser: Chromium, session: str):
        self.browser = browser
        self.session = session

    def _events(self, method: str) -> list[dict]:
        return [e for e in self.browser.events
                if e.get("method") == method and e.get("sessionId") == self.session]

    def resize(self, width: int, height: int) -> None:
        self.browser.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
            self.session,
        )

    def goto(self, url: str, timeout: float | None = None) -> None:
        """Load ``url`` and wait for its load event; forget the previous page's events."""
        self.browser.events = [e for e in self.browser.events if e.get("sessionId") != self.session]
        result = self.browser.send("Page.navigate", {"url": url}, self.session)
        if result.get("errorText"):
            raise ProtocolError(f"{url}: {result['errorText']}")
        self.browser.wait_for("Page.loadEventFired", self.session, timeout)

    def evaluate(self, expression: str, timeout: float | None = None):
        """The value of a JavaScript expression (a promise is awaited)."""
        result = self.browser.send(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True},
            self.session,
            timeout,
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise ProtocolError(f"JavaScript error: {text}")
        return result["result"].get("value")

    def requested(self) -> list[str]:
        """Every URL the page asked for since it was loaded."""
        return [e["params"]["request"]["url"] for e in self._events("Network.requestWillBeSent")]

    def failed(self) -> list[str]:
        """Requests that failed, as 'url: reason'."""
        ids = {e["params"]["requestId"]: e["params"]["request"]["url"]
               for e in self._events("Network.requestWillBeSent")}
        return [f"{ids.get(e['params']['requestId'], '?')}: {e['params'].get('errorText')}"
                for e in self._events("Network.loadingFailed")
                if not e["params"].get("canceled")]

    def errors(self) -> list[str]:
        """Uncaught JavaScript exceptions and console errors."""
        out = [e["params"]["exceptionDetails"].get("exception", {}).get("description")
               or e["params"]["exceptionDetails"].get("text", "")
               for e in self._events("Runtime.exceptionThrown")]
        out += [e["params"]["entry"].get("text", "") for e in self._events("Log.entryAdded")
                if e["params"]["entry"].get("level") == "error"]
        return out

    def screenshot(self, path: Path, *, scroll_to: str | None = None) -> None:
        """Save a PNG of one screenful: the top of the page, or from the element ``scroll_to`` down."""
        metrics = self.evaluate(
            "(() => { window.scrollTo(0, 0);"
            f" const e = {json.dumps(scroll_to)} && document.querySelector({json.dumps(scroll_to)});"
            " return {y: e ? Math.max(0, e.getBoundingClientRect().top - 16) : 0,"
            " w: window.innerWidth, h: window.innerHeight}; })()"
        )
        clip = {"x": 0, "y": metrics["y"], "width": metrics["w"], "height": metrics["h"], "scale": 1}
        data = self.browser.send(
            "Page.captureScreenshot",
            {"format": "png", "clip": clip, "captureBeyondViewport": True},
            self.session,
        )["data"]
        Path(path).write_bytes(base64.b64decode(data))
