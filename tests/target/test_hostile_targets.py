"""Hostile targets: small servers on 127.0.0.1 that misbehave; every run ends within its budget, with a clear report.

Each server is raw asyncio. The ones that answer at all sit in front of the blaxel reference mock (a proxy that
spoils the answers), so the mock's store tells whether the run left a created resource behind.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import ssl
import struct
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance.catalog.loader import load_vendor
from conformance.mock import MockOptions, create_app
from conformance.redact import Redactor
from conformance.run.servers import BackgroundServer
from conformance.target.http import RecordingClient, RetriesExhausted, TimeBudgetExceeded, retry_after_seconds
from tests.helpers import run_cli

TOKEN = "hostile-test-token-5f2c9a"
HUNDRED_MB = 100 * 1024 * 1024
CHUNK = b"0," * 32768


class HostileServer:
    """A misbehaving HTTP server (one request per connection) in a thread of its own."""

    def __init__(
        self, mode: str, upstream: str | None = None, failures: int = 3, tls: ssl.SSLContext | None = None
    ) -> None:
        self.mode = mode
        self.tls = tls
        self.upstream = upstream
        self.failures = failures
        self.requests = 0
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self._proxy: httpx.AsyncClient | None = None
        self._server = asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(timeout=5)
        self.port = int(self._server.sockets[0].getsockname()[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v0"

    async def _start(self) -> asyncio.Server:
        self._proxy = httpx.AsyncClient(timeout=10, trust_env=False)
        return await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self.tls)

    def stop(self) -> None:
        async def shutdown() -> None:
            self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()
            if self._proxy is not None:
                await self._proxy.aclose()

        asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(timeout=5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if self.mode == "reset":
                sock = writer.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                writer.transport.abort()
                return
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
            length = int(next((v for k, v in headers.items() if k.lower() == "content-length"), "0"))
            body = await reader.readexactly(length) if length else b""
            self.requests += 1
            await self._respond(method, target, headers, body, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def _forward(self, method: str, target: str, headers: dict[str, str], body: bytes) -> httpx.Response:
        assert self._proxy is not None and self.upstream is not None
        keep = {k: v for k, v in headers.items() if k.lower() not in {"host", "content-length", "connection"}}
        return await self._proxy.request(method, self.upstream + target, headers=keep, content=body)

    async def _respond(
        self, method: str, target: str, headers: dict[str, str], body: bytes, writer: asyncio.StreamWriter
    ) -> None:
        if self.mode == "silent":
            await asyncio.sleep(3600)
        if self.mode == "plain":
            return await _write(writer, 200, b'{"ok":true}', {})
        if self.mode == "forward":  # an HTTP forward proxy: the target is an absolute URL
            assert self._proxy is not None
            keep = {k: v for k, v in headers.items() if k.lower() not in {"host", "content-length", "connection"}}
            answer = await self._proxy.request(method, target, headers=keep, content=body)
            return await _write(writer, answer.status_code, answer.content, {"Via": "hostile-proxy"})
        if self.mode == "rate_limited":
            return await _write(writer, 429, b'{"error":"slow down"}', {"Retry-After": "1"})
        if self.mode == "retry_after" and self.requests <= self.failures:
            return await _write(writer, 503, b'{"error":"warming up"}', {"Retry-After": "1"})
        answer = await self._forward(method, target, headers, body)
        kind = answer.headers.get("content-type", "application/json")
        if self.mode == "trickle":
            raw = _head(answer.status_code, len(answer.content), kind) + answer.content
            for i in range(len(raw)):
                writer.write(raw[i : i + 1])
                await writer.drain()
                await asyncio.sleep(1.0)
        elif self.mode == "huge":
            writer.write(_head(answer.status_code, HUNDRED_MB, "application/json") + b"[")
            if method != "HEAD":
                sent = 1
                while sent < HUNDRED_MB:
                    piece = CHUNK[: HUNDRED_MB - sent]
                    writer.write(piece)
                    await writer.drain()
                    sent += len(piece)
        elif self.mode == "invalid_json":
            await _write(writer, answer.status_code, answer.content[: len(answer.content) // 2] or b'{"', {}, kind)
        else:
            await _write(writer, answer.status_code, answer.content, {}, kind)
        return None


def _head(status: int, length: int, kind: str, extra: dict[str, str] | None = None) -> bytes:
    lines = [f"HTTP/1.1 {status} X", f"Content-Type: {kind}", f"Content-Length: {length}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (extra or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def _write(
    writer: asyncio.StreamWriter, status: int, body: bytes, extra: dict[str, str], kind: str = "application/json"
) -> None:
    writer.write(_head(status, len(body), kind, extra) + body)
    await writer.drain()


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    server = BackgroundServer(create_app("blaxel", MockOptions(token=TOKEN))).start()
    try:
        yield server.url
    finally:
        server.stop()


def _live_ids(upstream: str) -> list[str]:
    return list(httpx.get(f"{upstream}/__mock__/resources", timeout=5).json()["ids"])


def _client(server: HostileServer, **limits: Any) -> RecordingClient:
    return RecordingClient(server.base_url, redactor=Redactor([TOKEN]), **limits)


# --------------------------------------------------------------------------- the client, one request at a time


def test_silent_server_times_out_within_the_request_timeout() -> None:
    server = HostileServer("silent")
    client = _client(server, timeout=0.5)
    try:
        started = time.monotonic()
        exchange = client.send("GET", "/models")
        assert time.monotonic() - started < 2.0
        assert exchange.status is None and "timed out" in (exchange.transport_error or "")
    finally:
        client.close()
        server.stop()


def test_one_byte_per_second_is_cut_at_the_timeout_not_per_byte(upstream: str) -> None:
    server = HostileServer("trickle", upstream)
    client = _client(server, timeout=1.5)
    try:
        started = time.monotonic()
        exchange = client.send("DELETE", "/models/x", headers={"Authorization": f"Bearer {TOKEN}"})
        assert time.monotonic() - started < 3.0
        assert "timed out" in (exchange.transport_error or "")
    finally:
        client.close()
        server.stop()


def test_hundred_megabyte_body_is_capped(upstream: str) -> None:
    server = HostileServer("huge", upstream)
    client = _client(server, timeout=10, max_body_bytes=200_000)
    try:
        started = time.monotonic()
        exchange = client.send("DELETE", "/models/x", headers={"Authorization": f"Bearer {TOKEN}"})
        assert time.monotonic() - started < 5.0
        assert exchange.status == 404 and exchange.truncated
        assert len(exchange.response_text) == 200_000
        with pytest.raises(ValueError):
            exchange.json()
    finally:
        client.close()
        server.stop()


def test_connection_reset_is_recorded_not_raised() -> None:
    server = HostileServer("reset")
    client = _client(server, timeout=2)
    try:
        exchange = client.send("GET", "/models")
        assert exchange.status is None and exchange.transport_error
    finally:
        client.close()
        server.stop()


def test_503_with_retry_after_is_retried_then_recovers(upstream: str) -> None:
    server = HostileServer("retry_after", upstream, failures=2)
    client = _client(server, timeout=5, max_retries=3)
    try:
        started = time.monotonic()
        exchange = client.send("DELETE", "/models/x", headers={"Authorization": f"Bearer {TOKEN}"})
        assert 1.9 < time.monotonic() - started < 4.5, "Retry-After: 1 is honoured twice"
        assert exchange.status == 404 and exchange.attempts == 3
        assert client.retry_count == 2 and client.retry_statuses == {"503": 2}
        assert [e.status for e in client.exchanges] == [404], "retried answers are not judged"
    finally:
        client.close()
        server.stop()


def test_429_forever_gives_up_after_the_retries() -> None:
    server = HostileServer("rate_limited")
    client = _client(server, timeout=5, max_retries=1)
    try:
        with pytest.raises(RetriesExhausted, match="429"):
            client.send("GET", "/models")
        assert server.requests == 2
    finally:
        client.close()
        server.stop()


def test_no_retry_waits_past_the_deadline() -> None:
    server = HostileServer("rate_limited")
    client = _client(server, timeout=5, max_retries=5, deadline=time.time() + 0.8)
    try:
        started = time.monotonic()
        with pytest.raises(RetriesExhausted, match="time budget"):
            client.send("GET", "/models")
        assert time.monotonic() - started < 0.8
        with pytest.raises(TimeBudgetExceeded):
            time.sleep(0.8)
            client.send("GET", "/models")
    finally:
        client.close()
        server.stop()


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


# --------------------------------------------------------------------------- whole runs


# The checks that create, judge JSON answers, delete and poll, without the generators (fuzzing, invalid bodies,
# the state machine): the same kinds of requests as a full run, in a few seconds.
QUICK_CHECKS = {
    "accepts_valid_body",
    "status_on",
    "response_schema",
    "error_shape",
    "returns_deleted",
    "gone_after_delete",
}
QUICK = [arg for r in load_vendor("blaxel").requirements if r.check in QUICK_CHECKS for arg in ("--requirement", r.id)]


def _run(server: HostileServer, tmp_path: Path, budget: float, *extra: str) -> tuple[int, float, dict[str, Any]]:
    report = tmp_path / "report"
    started = time.monotonic()
    result = run_cli(
        "run",
        "--vendor",
        "blaxel",
        "--base-url",
        server.base_url,
        "--allow-destructive",
        "--timeout",
        "1",
        "--gone-deadline",
        "3",
        "--budget",
        str(budget),
        "--report-dir",
        str(report),
        *extra,
        env={"BLAXEL_API_KEY": TOKEN},
        timeout=budget + 60,
    )
    elapsed = time.monotonic() - started
    assert "Traceback" not in result.stderr, result.stderr
    assert (report / "results.json").is_file() and (report / "summary.md").is_file(), result.stdout + result.stderr
    results = json.loads((report / "results.json").read_text())
    for path in report.rglob("*"):
        if path.is_file():
            assert TOKEN not in path.read_text(errors="replace"), path
    return result.returncode, elapsed, results


# interpreter start and imports, before the budget's clock starts; twice that beside another pytest-xdist worker
# (-n auto: the other core is busy with another test's run, and a shared machine starts Python slower)
STARTUP = 8.0 if os.environ.get("PYTEST_XDIST_WORKER") else 4.0


@pytest.mark.parametrize("mode", ["silent", "trickle", "reset"])
def test_unanswering_targets_end_with_exit_3_and_a_report(mode: str, upstream: str, tmp_path: Path) -> None:
    server = HostileServer(mode, upstream)
    try:
        code, elapsed, results = _run(server, tmp_path, 8)
    finally:
        server.stop()
    assert code == 3
    assert elapsed < 8 + STARTUP
    assert results["results"] and all(r["status"] == "error" for r in results["results"])
    assert all("unreachable" in r["message"] for r in results["results"])
    assert results["leaks"] == [] and _live_ids(upstream) == []


@pytest.mark.parametrize("mode", ["huge", "invalid_json"])
def test_spoiled_bodies_are_judged_as_failures_and_nothing_leaks(mode: str, upstream: str, tmp_path: Path) -> None:
    server = HostileServer(mode, upstream)
    try:
        code, elapsed, results = _run(server, tmp_path, 40, *QUICK)
    finally:
        server.stop()
    assert code == 1
    assert elapsed < 40 + STARTUP
    failed = [r for r in results["results"] if r["status"] == "failed"]
    assert any("not JSON" in r["message"] for r in failed)
    assert results["leaks"] == [] and _live_ids(upstream) == []


def test_503_then_recovery_is_conformant_and_counts_the_retries(upstream: str, tmp_path: Path) -> None:
    server = HostileServer("retry_after", upstream, failures=7)  # the preflight's HEAD and 4 probes take 5 of them
    try:
        # no restricted token here: its MUST row is skipped (INCOMPLETE, exit 3), accepted as a partial run
        code, elapsed, results = _run(server, tmp_path, 40, *QUICK, "--allow-incomplete")
    finally:
        server.stop()
    assert code == 0, [r["message"] for r in results["results"] if r["status"] in {"failed", "error"}]
    assert elapsed < 40 + STARTUP
    assert results["retries"] >= 2
    assert results["targets"][0]["retry_statuses"].get("503", 0) >= 2
    assert results["leaks"] == [] and _live_ids(upstream) == []


def test_429_forever_ends_within_the_budget_with_exit_3(tmp_path: Path) -> None:
    server = HostileServer("rate_limited")
    try:
        code, elapsed, results = _run(server, tmp_path, 6)
    finally:
        server.stop()
    assert code == 3
    assert elapsed < 6 + STARTUP
    statuses = {r["status"] for r in results["results"]}
    assert "error" in statuses and not statuses & {"failed", "passed"}, statuses
    messages = " ".join(r["message"] for r in results["results"])
    assert "429" in messages and "time budget" in messages
    assert any("time budget" in n for n in results["notes"])
    assert results["leaks"] == []


@pytest.mark.slow
@pytest.mark.parametrize(("mode", "expected"), [("huge", 1), ("invalid_json", 1), ("retry_after", 0)])
def test_full_suite_through_a_hostile_proxy(mode: str, expected: int, upstream: str, tmp_path: Path) -> None:
    """The whole suite, fuzzing and state machine included, through each spoiling proxy."""
    server = HostileServer(mode, upstream, failures=3)
    try:
        code, elapsed, results = _run(server, tmp_path, 120)
    finally:
        server.stop()
    assert code == expected, [r["message"] for r in results["results"] if r["status"] in {"failed", "error"}][:5]
    assert elapsed < 120 + STARTUP
    assert results["leaks"] == [] and _live_ids(upstream) == []


# --------------------------------------------------------------------------- proxies and custom CAs


def test_proxy_from_the_environment_is_used(upstream: str, monkeypatch: pytest.MonkeyPatch) -> None:
    proxy = HostileServer("forward")
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    client = RecordingClient(upstream + "/v0", redactor=Redactor(), timeout=5, trust_env=True)
    try:
        exchange = client.send("DELETE", "/models/x", headers={"Authorization": f"Bearer {TOKEN}"})
        assert exchange.status == 404 and proxy.requests == 1
        assert {k.lower(): v for k, v in exchange.response_headers.items()}["via"] == "hostile-proxy"
    finally:
        client.close()
        proxy.stop()


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "ca.pem", folder / "key.pem"
    made = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        capture_output=True, check=False,
    )  # fmt: skip
    if made.returncode != 0:
        pytest.skip("openssl cannot make a test certificate here")
    return cert, key


def test_a_custom_ca_bundle_is_trusted_and_the_default_is_not(self_signed: tuple[Path, Path]) -> None:
    from conformance.target.model import Target

    cert, key = self_signed
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    server = HostileServer("plain", tls=server_tls)
    url = f"https://127.0.0.1:{server.port}"
    target = Target(name="tls", vendor="blaxel", base_url=url, token_env="UNSET", verify=str(cert))
    trusting = RecordingClient(url, redactor=Redactor(), timeout=5, verify=target.ssl_verify())
    default = RecordingClient(url, redactor=Redactor(), timeout=5, trust_env=False)
    try:
        assert trusting.send("GET", "/").status == 200
        refused = default.send("GET", "/")
        assert refused.status is None and "CERTIFICATE_VERIFY_FAILED" in (refused.transport_error or "")
    finally:
        trusting.close()
        default.close()
        server.stop()
