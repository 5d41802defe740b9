"""Shared helpers of the project's tests: run the CLI as a user would, find a free port, the shared runs' inputs."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import httpx

ROOT = Path(__file__).resolve().parents[1]


class ResponseLike(Protocol):
    """What the tests read of an HTTP response (httpx's, or the one Starlette's TestClient returns)."""

    @property
    def status_code(self) -> int: ...

    @property
    def text(self) -> str: ...

    @property
    def content(self) -> bytes: ...

    @property
    def headers(self) -> Any: ...

    def json(self) -> Any: ...


def run_cli(
    *args: str, timeout: float = 240, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m conformance ARGS`` in a subprocess, with its output captured."""
    merged = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "conformance", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=merged,
        cwd=cwd or ROOT,
        check=False,
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def mock_process(*args: str) -> Iterator[str]:
    """``conformance mock ARGS --port P`` in a subprocess; yields its URL once it answers, stops it after."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "conformance", "mock", *args, "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(url + "/__mock__/health", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "the mock did not start"
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# ----------------------------------------------------- the embedded runs shared by modules (tests/conftest.py)

EMBEDDED_TOKEN = "tok-KNOWN-7f3a9c1e5b2d"  # known tokens, so that a test can prove no value reaches a report
EMBEDDED_RESTRICTED = "tok-RESTRICTED-04d8e6a2"
EMBEDDED_SEED = "11"
# one fault of blaxel (a regression against the faithful base), one of baseten: two vendor sections fail
EMBEDDED_FAULTS = {"create-no-409": "BLX-CREATE-DUPLICATE-409", "baseten-deleted-false": "BTN-DELETE-DELETED-TRUE"}


def embedded_conformance(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """``python -m conformance ARGS`` in a subprocess, with the known embedded tokens."""
    env = {
        **os.environ,
        "CONFORMANCE_EMBEDDED_TOKEN": EMBEDDED_TOKEN,
        "CONFORMANCE_EMBEDDED_RESTRICTED_TOKEN": EMBEDDED_RESTRICTED,
    }
    return subprocess.run(
        [sys.executable, "-m", "conformance", *map(str, args)], capture_output=True, text=True, env=env, timeout=240
    )
