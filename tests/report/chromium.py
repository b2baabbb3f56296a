"""A tiny Chrome DevTools Protocol client over ``--remote-debugging-pipe``: opens a page in headless Chromium and
reports what happened — console messages and errors, every network request, the rendered size of each image,
sound and plot — and can take a screenshot. Standard library only; used by the report tests and
``scripts/report_screenshot.py``."""

from __future__ import annotations

import base64
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Debian's package installs ``chromium``; other systems name it differently.
BINARIES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_MEASURE = """JSON.stringify(Array.from(document.querySelectorAll('img, audio, svg')).map(element => {
  const box = element.getBoundingClientRect();
  return {tag: element.tagName.toLowerCase(), width: box.width, height: box.height,
          natural: element.tagName === 'IMG' ? element.naturalWidth : null,
          complete: element.tagName === 'IMG' ? element.complete : true};
}))"""
_HEADINGS = """JSON.stringify(Array.from(document.querySelectorAll('h2')).map(
  heading => [heading.textContent, heading.getBoundingClientRect().top + window.scrollY]))"""


def find_chromium() -> str | None:
    """The path of a Chromium binary, or None."""
    for name in BINARIES:
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class PageVisit:
    """What loading a page did."""

    errors: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    elements: list[dict[str, Any]] = field(default_factory=list)
    headings: dict[str, float] = field(default_factory=dict)
    screenshot: bytes | None = None


class Chromium:
    """Headless Chromium driven through the DevTools protocol on file descriptors 3 (commands) and 4 (replies)."""

    def __init__(self, binary: str, *, width: int = 1200, height: int = 900, timeout: float = 60.0) -> None:
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="frechet-chromium-")
        commands_read, self._commands = os.pipe()
        self._replies, replies_write = os.pipe()
        actions = [(os.POSIX_SPAWN_DUP2, commands_read, 3), (os.POSIX_SPAWN_DUP2, replies_write, 4),
                   (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                   (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0)]
        arguments = [binary, "--headless", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu",
                     "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--hide-scrollbars",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     f"--user-data-dir={self.profile}", f"--window-size={width},{height}", "about:blank"]
        self.pid = os.posix_spawn(binary, arguments, os.environ, file_actions=actions)
        os.close(commands_read)
        os.close(replies_write)
        self._buffer = b""
        self._next_id = 0
        self._events: list[dict[str, Any]] = []

    # ------------------------------------------------------------------------------------------------ protocol
    def _send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._receive()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self._events.append(reply)

    def _receive(self) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("Chromium did not answer")
            chunk = os.read(self._replies, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def _wait_for(self, method: str, session: str) -> None:
        deadline = time.monotonic() + self.timeout
        while not any(event.get("method") == method and event.get("sessionId") == session for event in self._events):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {method} from Chromium")
            self._events.append(self._receive())

    # ------------------------------------------------------------------------------------------------ pages
    def visit(self, path: Path, *, screenshot: bool = False) -> PageVisit:
        """Load ``path`` and report console errors, requests, element sizes, where each h2 heading is (and a
        screenshot of the whole page, when asked)."""
        target = self._send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self._send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Runtime", "Log", "Network", "Page"):
            self._send(f"{domain}.enable", session=session)
        self._events.clear()
        url = Path(path).resolve().as_uri()
        self._send("Page.navigate", {"url": url}, session)
        self._wait_for("Page.loadEventFired", session)
        measured = self._send("Runtime.evaluate", {"expression": _MEASURE, "returnByValue": True}, session)
        headings = self._send("Runtime.evaluate", {"expression": _HEADINGS, "returnByValue": True}, session)
        visit = PageVisit(elements=json.loads(measured["result"]["value"]),
                          headings=dict(json.loads(headings["result"]["value"])))
        if screenshot:
            size = self._send("Page.getLayoutMetrics", session=session)["cssContentSize"]
            shot = self._send("Page.captureScreenshot", {
                "format": "png", "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}}, session)
            visit.screenshot = base64.b64decode(shot["data"])
        self._send("Runtime.evaluate", {"expression": "1"}, session)  # lets pending events arrive
        for event in self._events:
            if event.get("sessionId") != session:
                continue
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled":
                text = " ".join(str(arg.get("value", arg.get("description", ""))) for arg in params.get("args", []))
                visit.console.append(f"{params.get('type')}: {text}")
                if params.get("type") in ("error", "assert"):
                    visit.errors.append(text)
            elif method == "Runtime.exceptionThrown":
                visit.errors.append(params.get("exceptionDetails", {}).get("text", "exception"))
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                visit.errors.append(params["entry"].get("text", ""))
            elif method == "Network.requestWillBeSent":
                request_url = params.get("request", {}).get("url", "")
                if request_url != url and not request_url.startswith("data:"):
                    visit.requests.append(request_url)
        self._send("Target.closeTarget", {"targetId": target})
        return visit

    def close(self) -> None:
        try:
            self._send("Browser.close")
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass
        for handle in (self._commands, self._replies):
            try:
                os.close(handle)
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
