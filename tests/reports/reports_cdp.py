"""Headless Chromium driven over the DevTools protocol (loopback only), for the report browser tests."""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

CHROMIUM = os.environ.get("CONFORMANCE_CHROMIUM") or next(
    (found for name in ("chromium", "chromium-browser", "google-chrome") if (found := shutil.which(name))), None
)
NEEDS_CHROMIUM = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium absent: apt-get install -y chromium, or set CONFORMANCE_CHROMIUM"
)

# Words of table headers drawn on more than one line (a word broken inside), by the rectangles of their text.
BROKEN_HEADER_WORDS = r"""(() => { const bad = [];
  for (const th of document.querySelectorAll('th')) {
    const walk = document.createTreeWalker(th, NodeFilter.SHOW_TEXT); let node;
    while ((node = walk.nextNode())) { const words = /\S+/g; let m;
      while ((m = words.exec(node.data))) { const range = document.createRange();
        range.setStart(node, m.index); range.setEnd(node, m.index + m[0].length);
        const lines = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
        if (lines.size > 1) bad.push(m[0]); } } }
  return bad; })()"""


class Browser:
    """Headless Chromium with a fresh profile, one page, driven over the DevTools protocol on loopback."""

    def __init__(self, profile: Path, width: int = 1280, height: int = 900) -> None:
        assert CHROMIUM is not None
        self.profile, self.width, self.height = profile, width, height
        self._ids = itertools.count(1)
        self._events: list[dict[str, Any]] = []
        self._process: subprocess.Popen[bytes] | None = None
        self._ws: ClientConnection | None = None
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> Browser:
        assert CHROMIUM is not None
        self.profile.mkdir(parents=True, exist_ok=True)
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
        flags += ["--disable-extensions", "--hide-scrollbars", f"--user-data-dir={self.profile}"]
        flags += ["--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0"]
        flags += [f"--window-size={self.width},{self.height}", "about:blank"]
        self._process = subprocess.Popen([CHROMIUM, *flags], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = self.profile / "DevToolsActivePort"
        for _ in range(300):
            if port_file.is_file() and port_file.read_text().strip():
                break
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        pages = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
        page = next(p["webSocketDebuggerUrl"] for p in pages if p["type"] == "page")
        self._ws = self._stack.enter_context(connect(page, max_size=None))
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable")
        self.call(
            "Emulation.setDeviceMetricsOverride",
            width=self.width,
            height=self.height,
            deviceScaleFactor=1,
            mobile=False,
        )
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._stack.close()
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)

    def _receive(self, timeout: float = 30.0) -> dict[str, Any]:
        assert self._ws is not None
        message: dict[str, Any] = json.loads(self._ws.recv(timeout=timeout))
        return message

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """One DevTools command; its result (events that arrive meanwhile are kept)."""
        assert self._ws is not None
        ident = next(self._ids)
        self._ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        for _ in range(10_000):
            message = self._receive()
            if message.get("id") == ident:
                assert "error" not in message, message
                result: dict[str, Any] = message.get("result", {})
                return result
            self._events.append(message)
        raise AssertionError(f"no answer to {method}")

    def open(self, url: str) -> None:
        """Load ``url`` and wait for its load event."""
        self.call("Page.navigate", url=url)
        deadline = time.monotonic() + 60
        while not any(e.get("method") == "Page.loadEventFired" for e in self._events):
            assert time.monotonic() < deadline, "the page did not load"
            self._events.append(self._receive())

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression (DevTools evaluates it whatever the page's CSP)."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        assert "exceptionDetails" not in result, result
        return result["result"].get("value")

    def screenshot(self) -> bytes:
        """A PNG of the whole page."""
        return base64.b64decode(self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"])

    def console(self) -> list[str]:
        """Console messages, log entries and uncaught exceptions seen so far."""
        out = []
        for event in self._events:
            params = event.get("params", {})
            if event.get("method") == "Runtime.consoleAPICalled":
                out.append(" ".join(str(a.get("value")) for a in params.get("args", [])))
            elif event.get("method") == "Log.entryAdded":
                out.append(str(params.get("entry", {}).get("text")))
            elif event.get("method") == "Runtime.exceptionThrown":
                out.append(str(params.get("exceptionDetails")))
        return out
