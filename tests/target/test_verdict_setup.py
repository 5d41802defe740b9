"""Set-up problems are not target failures: each ends in seconds with one line and exit 2, nothing judged."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.helpers import mock_process, run_cli

TOKEN = "verdict-setup-token-1"
ENV = {**os.environ, "VERDICT_TOKEN": TOKEN}


class _HtmlEverywhere(BaseHTTPRequestHandler):
    """A server that answers the same HTML page to every request (a portal, a proxy's landing page)."""

    requests = 0

    def _answer(self) -> None:
        type(self).requests += 1
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        page = b"<!DOCTYPE html><html><body><h1>Welcome</h1></body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    do_GET = do_HEAD = do_POST = do_DELETE = do_PUT = _answer

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def html_server() -> Iterator[str]:
    _HtmlEverywhere.requests = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HtmlEverywhere)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _one_line(stderr: str) -> str:
    """The error line: the only line of stderr besides progress lines (printed while a run works)."""
    lines = [line for line in stderr.splitlines() if line.strip() and not line.startswith(("progress: ", "run "))]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_an_unset_token_variable_is_exit_2_naming_it_and_nothing_is_sent(html_server: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "VERDICT_UNSET_TOKEN"}
    result = run_cli(
        "run", "--vendor", "blaxel", "--base-url", html_server + "/v0", "--token-env", "VERDICT_UNSET_TOKEN",
        "--allow-destructive", env=env, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    assert "$VERDICT_UNSET_TOKEN" in _one_line(result.stderr)
    assert _HtmlEverywhere.requests == 0


def test_an_html_everywhere_server_is_exit_2_naming_base_url_and_server_path(html_server: str) -> None:
    started = time.monotonic()
    result = run_cli(
        "run", "--vendor", "blaxel", "--base-url", html_server + "/v0", "--token-env", "VERDICT_TOKEN",
        "--allow-destructive", env=ENV, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    line = _one_line(result.stderr)
    assert f"base_url {html_server}/v0" in line and "/v0" in line and "does not look like" in line, line
    assert time.monotonic() - started < 20
    assert _HtmlEverywhere.requests <= 6, "the run spent requests on a server that is not the API"


def test_a_blaxel_base_url_without_v0_asks_did_you_mean() -> None:
    with mock_process("--vendor", "blaxel", "--token", TOKEN) as url:
        result = run_cli(
            "run", "--vendor", "blaxel", "--base-url", url, "--token-env", "VERDICT_TOKEN", "--allow-destructive",
            env=ENV, timeout=60,
        )  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"did you mean --base-url {url}/v0?" in _one_line(result.stderr)


def test_a_correct_base_url_passes_the_preflight_and_a_wrong_token_does_not() -> None:
    with mock_process("--vendor", "blaxel", "--token", TOKEN) as url:
        good = run_cli(
            "run", "--vendor", "blaxel", "--base-url", url + "/v0", "--token-env", "VERDICT_TOKEN",
            "--allow-destructive", "--requirement", "BLX-CREATE-VALID-ACCEPTED", env=ENV, timeout=60,
        )  # fmt: skip
        wrong = run_cli(
            "run", "--vendor", "blaxel", "--base-url", url + "/v0", "--token-env", "VERDICT_TOKEN",
            "--allow-destructive", env={**ENV, "VERDICT_TOKEN": "not-the-token"}, timeout=60,
        )  # fmt: skip
    assert good.returncode == 0, good.stdout + good.stderr
    assert wrong.returncode == 2, wrong.stdout + wrong.stderr
    assert "$VERDICT_TOKEN is refused" in _one_line(wrong.stderr)


def test_an_already_deleted_disposable_id_is_a_set_up_error_naming_it(tmp_path: object) -> None:
    with mock_process("--vendor", "baseten", "--token", TOKEN, "--seed-id", "still-here") as url:
        started = time.monotonic()
        result = run_cli(
            "run", "--vendor", "baseten", "--base-url", url, "--token-env", "VERDICT_TOKEN", "--allow-destructive",
            "--disposable-id", "deleted-last-night", "--disposable-id", "still-here", env=ENV, timeout=120,
        )  # fmt: skip
        elapsed = time.monotonic() - started
    assert result.returncode == 2, result.stdout + result.stderr
    line = _one_line(result.stderr)
    assert "disposable id deleted-last-night does not exist" in line and "earlier run" in line, line
    assert elapsed < 30


def test_an_unknown_requirement_is_exit_2_in_one_line() -> None:
    result = run_cli("run", "--vendor", "oxen", "--requirement", "OXN-NO-SUCH-ROW", timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "OXN-NO-SUCH-ROW" in _one_line(result.stderr)
