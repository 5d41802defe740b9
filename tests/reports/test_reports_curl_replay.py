"""Runnable evidence: the curl commands of reproductions replay the same bytes (real curl against a loopback server
that records what it receives), and a failure's summary brings back the same mock and reproduces the failure."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conformance.exchange import curl_command, shell_quote
from conformance.results import load_results

CURL = shutil.which("curl")
BASH = shutil.which("bash")
pytestmark = pytest.mark.skipif(CURL is None or BASH is None, reason="curl and bash are needed to replay commands")
TOKEN = "tok-REPLAY-5e1f0c9a"


@dataclass
class Received:
    """One request as its bytes arrived."""

    method: bytes
    target: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def header(self, name: str) -> list[bytes]:
        """Every value of a header (names compared case-insensitively)."""
        return [v for k, v in self.headers if k.lower() == name.lower().encode()]


@dataclass
class Recorder:
    """A loopback HTTP server that records raw requests and answers 200."""

    port: int = 0
    received: list[Received] = field(default_factory=list)


def _read_request(conn: socket.socket) -> Received:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    method, target, _ = lines[0].split(b" ", 2)
    headers = [(k, v.strip(b" \t")) for k, _, v in (line.partition(b":") for line in lines[1:])]
    length = int(next((v for k, v in headers if k.lower() == b"content-length"), b"0"))
    while len(rest) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        rest += chunk
    return Received(method, target, headers, rest[:length])


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    """The recording server, for the length of one test."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    state = Recorder(port=server.getsockname()[1])
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(5)
                state.received.append(_read_request(conn))
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield state
    stop.set()
    thread.join(timeout=5)
    server.close()


def replay(command: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run a generated command line in bash."""
    assert BASH is not None
    return subprocess.run(
        [BASH, "-c", command], capture_output=True, text=True, timeout=30, env={**os.environ, **(env or {})}
    )


BODY = "line1\nline2\r\n\ttab \x01\x7f ctl é ☕ 'single' \"double\" $HOME `id` \\ back \\x41 %s %%"
CASES = [
    ("POST", "/v0/models", {"Content-Type": "application/json", "X-Empty": ""}, '{"name": "é☕"}'),
    ("POST", "/v0/models", {"X-Unicode": "café ☕", "X-Shell": 'it\'s "q" $HOME `id` \\ ;|&'}, BODY),
    ("POST", "/v0/models", {}, "no media type, so curl must not add one"),
    ("PUT", "/v0/models", {"Content-Type": "application/octet-stream"}, "nul\x00byte and more\x00"),
    ("DELETE", "/v0/models/a%20b/../c[1]{2}?x=1&y=$HOME", {"Accept": "application/json"}, None),
]


@pytest.mark.parametrize(("method", "path", "headers", "body"), CASES)
def test_curl_replays_method_path_headers_and_body_bytes(
    recorder: Recorder, method: str, path: str, headers: dict[str, str], body: str | None
) -> None:
    sent = {"Authorization": "Bearer [REDACTED]", **headers}
    command = curl_command(method, f"http://127.0.0.1:{recorder.port}{path}", sent, body, token_env="REPLAY_TOKEN")
    assert command.isascii() and "\n" not in command, "one line of plain ASCII, whatever the bytes"
    assert '-H "Authorization: Bearer $REPLAY_TOKEN"' in command
    done = replay(command, {"REPLAY_TOKEN": TOKEN})
    assert done.returncode == 0, done.stderr
    (got,) = recorder.received
    assert got.method == method.encode() and got.target == path.encode()
    for name, value in headers.items():
        assert got.header(name) == [value.encode()], (name, got.headers)
    assert got.header("Authorization") == [f"Bearer {TOKEN}".encode()]
    if body is not None and "Content-Type" not in headers:
        assert got.header("Content-Type") == []
    assert got.body == (body or "").encode()


def test_shell_quote_round_trips_every_byte_class() -> None:
    text = "".join(chr(c) for c in range(1, 128)) + "é☕\U0001f600"
    done = subprocess.run([BASH or "bash", "-c", f"printf %s {shell_quote(text)}"], capture_output=True, timeout=30)
    assert done.returncode == 0 and done.stdout == text.encode()  # bytes: no newline translation on the way


def test_without_a_token_variable_the_credential_stays_redacted() -> None:
    command = curl_command("GET", "http://x/v0", {"Authorization": "Bearer [REDACTED]"}, None)
    assert "-H 'Authorization: Bearer [REDACTED]'" in command


def _conformance(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "conformance", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, **(env or {})},
    )


def test_the_summary_brings_back_the_mock_and_reproduces_the_duplicate(tmp_path: Path) -> None:
    env = {"CONFORMANCE_EMBEDDED_TOKEN": TOKEN}
    run = _conformance(
        "run", "--vendor", "blaxel", "--fault", "create-no-409", "--requirement", "BLX-CREATE-DUPLICATE-409",
        "--report-dir", tmp_path / "run", env=env,
    )  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr
    target = load_results(tmp_path / "run").targets[0]
    assert target["embedded"] is True and target["faults"] == ["create-no-409"]
    summary = (tmp_path / "run" / "summary.md").read_text(encoding="utf-8")
    assert TOKEN not in summary
    mock = re.search(r"  - start the same mock: `(conformance mock [^`]+)`", summary)
    assert mock is not None, summary
    commands = re.findall(r"^    (curl .*)$", summary, re.M)
    assert len(commands) == 2 and all("-X POST" in c and "$CONFORMANCE_EMBEDDED_TOKEN" in c for c in commands)
    server = subprocess.Popen(
        [
            BASH or "bash",
            "-c",
            "exec " + mock.group(1).replace("conformance mock", f"{sys.executable} -m conformance mock"),
        ],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert server.stdout is not None
        lines = [server.stdout.readline() for _ in range(1)]
        for _ in range(30):  # uvicorn's own lines come first
            if "serving the blaxel reference mock" in lines[-1] or not lines[-1]:
                break
            lines.append(server.stdout.readline())
        assert "serving the blaxel reference mock" in lines[-1], lines
        statuses = []
        for command in commands:
            done = replay(command.replace("curl -sS", "curl -sS -o /dev/null -w '%{http_code}'"), env)
            assert done.returncode == 0, done.stderr
            statuses.append(done.stdout)
        assert statuses == ["200", "200"], "the fault reproduces: the duplicate create is accepted, not 409"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_a_credential_broken_on_purpose_is_not_replayed_with_the_real_token() -> None:
    """The reproduction of a wrong-token request says so instead of naming the real token's variable."""
    from conformance.exchange import Exchange

    exchange = Exchange(
        "DELETE", "http://127.0.0.1:1/v1/models/m", {"Authorization": "Api-Key [REDACTED]"}, None, status=200
    )
    assert '"Authorization: Api-Key $MY_KEY"' in exchange.curl("MY_KEY")
    exchange.credential = "a deliberately wrong credential: delete, a random token"
    command = exchange.curl("MY_KEY")
    assert "$MY_KEY" not in command
    assert "'Authorization: Api-Key <a deliberately wrong credential: delete, a random token>'" in command
    assert exchange.as_dict()["credential"] == exchange.credential
