"""Flags a Schemathesis user already knows: -H, --request-timeout, --tls-verify, --proxy, --rate-limit N/s."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from conformance.cli import flags
from conformance.errors import UsageError
from tests.helpers import mock_process, run_cli

TOKEN = "eco-flags-token-123"
ROW = "BTN-DELETE-UNKNOWN-404"


@pytest.mark.parametrize(("text", "rps"), [("10/s", 10.0), ("600/m", 10.0), ("2.5", 2.5), ("30 / min", 0.5)])
def test_rate_limits_read_per_second_or_per_minute(text: str, rps: float) -> None:
    assert flags.rate_limit(text) == pytest.approx(rps)


@pytest.mark.parametrize("text", ["10/x", "ten", "0/s", "-1", "10/"])
def test_a_bad_rate_limit_is_one_usage_line(text: str) -> None:
    with pytest.raises(UsageError, match="--rate-limit: expected"):
        flags.rate_limit(text)


def test_headers_are_validated_as_http() -> None:
    assert flags.header("X-Team:  platform ") == ("X-Team", "platform")
    for bad in ("no colon", "Bad Name: x", ": x"):
        with pytest.raises(UsageError, match="expected 'Name: value'"):
            flags.header(bad)
    with pytest.raises(UsageError, match="line breaks"):
        flags.header("X-A: one\r\nX-B: two")
    with pytest.raises(UsageError, match="credentials"):
        flags.header("Authorization: Bearer abc")


def test_tls_verify_and_proxy_values(tmp_path: Path) -> None:
    assert flags.tls_verify("false") is False and flags.tls_verify("TRUE") is True
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-", encoding="utf-8")
    assert flags.tls_verify(str(bundle)) == str(bundle.resolve())
    with pytest.raises(UsageError, match="no such path"):
        flags.tls_verify(str(tmp_path / "missing.pem"))
    assert flags.proxy("http://127.0.0.1:3128") == "http://127.0.0.1:3128"
    for bad, why in (("ftp://p:1", "expected"), ("http://u:secret@p:1", "credentials"), ("http://p:99999", "port")):
        with pytest.raises(UsageError, match=why):
            flags.proxy(bad)


def test_cli_errors_are_one_line_and_exit_2() -> None:
    for args in (["--rate-limit", "10/x"], ["-H", "Bad Name: 1"], ["--proxy", "nope"], ["-H", "X-A: 1"]):
        result = run_cli("run", *args, timeout=60)
        assert result.returncode == 2, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("conformance: error: ")


@pytest.fixture
def baseten_mock() -> Iterator[str]:
    with mock_process("--vendor", "baseten", "--token", TOKEN) as url:
        yield url


def test_the_flags_configure_the_live_target(tmp_path: Path, baseten_mock: str) -> None:
    report = tmp_path / "report"
    result = run_cli(
        *("run", "--vendor", "baseten", "--base-url", baseten_mock, "--token-env", "ECO_FLAGS_TOKEN"),
        *("--requirement", ROW, "--report-dir", str(report), "--budget", "60"),
        *("-H", "X-Eco-Team: platform", "--header", "X-Eco-Run: nightly", "--request-timeout", "4.5"),
        *("--rate-limit", "1200/m", "--tls-verify", "false"),
        env={"ECO_FLAGS_TOKEN": TOKEN},
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    data = json.loads((report / "results.json").read_text())
    target = data["targets"][0]
    assert target["extra_headers"] == {"X-Eco-Team": "platform", "X-Eco-Run": "nightly"}
    assert (target["timeout"], target["rate_limit"], target["verify"], target["proxy"]) == (4.5, 20.0, False, None)
    sent = [e["request"]["headers"] for r in data["results"] for e in r["evidence"].get("exchanges", [])]
    assert sent and all(h.get("x-eco-team", h.get("X-Eco-Team")) == "platform" for h in sent)


class _Proxy(http.server.BaseHTTPRequestHandler):
    seen: ClassVar[list[str]] = []

    def _answer(self) -> None:
        type(self).seen.append(f"{self.command} {self.path}")
        self.send_response(502)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_HEAD = do_GET = do_DELETE = do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:
        return


def test_requests_go_through_the_proxy(tmp_path: Path) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Proxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    target = "http://127.0.0.1:9/v1"  # nothing listens there: only the proxy can answer
    try:
        result = run_cli(
            *("run", "--vendor", "baseten", "--base-url", target, "--requirement", ROW),
            *(
                "--report-dir",
                str(tmp_path / "r"),
                "--budget",
                "30",
                "--proxy",
                f"http://127.0.0.1:{server.server_port}",
            ),
            env={"BASETEN_API_KEY": TOKEN},
        )
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode in (1, 3), result.stdout[-2000:] + result.stderr[-2000:]
    assert any(line.startswith("HEAD http://127.0.0.1:9/v1") for line in _Proxy.seen), _Proxy.seen
