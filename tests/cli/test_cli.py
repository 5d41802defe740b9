"""Every documented exit code is produced by a test that triggers it; errors are one line, never a traceback."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.helpers import free_port, mock_process, run_cli


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("conformance: error: ")
    return lines[0]


def test_help_documents_the_exit_codes() -> None:
    result = run_cli("run", "--help")
    assert result.returncode == 0
    for code in ("0 ", "1 ", "2 ", "3 "):
        assert f"\n  {code}" in result.stdout


def test_exit_0_when_conformant(tmp_path: Path) -> None:
    result = run_cli("run", "--vendor", "baseten", "--seed", "7", "--report-dir", str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "baseten-mock" in result.stdout and "seed 7" in result.stdout
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["seed"] == 7 and data["summary"]["must_failed"] == 0


def test_exit_1_on_a_failed_must(tmp_path: Path) -> None:
    result = run_cli("run", "--vendor", "baseten", "--fault", "baseten-missing-deleted", "--report-dir", str(tmp_path))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "BTN-DELETE-DELETED-REQUIRED" in result.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["run", "--vendor", "nosuchvendor"], "unknown vendor"),
        (["run", "--vendor", "blaxel", "--fault", "no-such-fault"], "unknown fault"),
        (["run", "--vendor", "blaxel", "--base-url", "not a url"], "bad URL"),
        (["run", "--profile", "eternal"], "unknown profile"),
        (["mock", "--vendor", "blaxel", "--port", "70000"], "invalid port"),
        (["mock", "--vendor", "nosuchvendor"], "unknown vendor"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_exit_2_on_bad_input(args: list[str], needle: str) -> None:
    result = run_cli(*args, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert needle in _one_line_error(result)


def test_exit_2_when_the_port_is_in_use() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        port = sock.getsockname()[1]
        result = run_cli("mock", "--vendor", "baseten", "--port", str(port), timeout=60)
    assert result.returncode == 2
    assert "already in use" in _one_line_error(result)


def test_exit_3_when_the_target_is_unreachable(tmp_path: Path) -> None:
    port = free_port()
    result = run_cli(
        "run",
        "--vendor",
        "blaxel",
        "--base-url",
        f"http://127.0.0.1:{port}/v0",
        "--report-dir",
        str(tmp_path),
        env={"BLAXEL_API_KEY": "unused-token"},
        timeout=60,
    )
    assert result.returncode == 3, result.stdout + result.stderr
    assert "unreachable" in _one_line_error(result)


def test_mock_command_serves_the_vendor_api() -> None:
    with mock_process("--vendor", "baseten", "--token", "t0ken-x", "--seed-id", "m-1") as base:
        url = f"{base}/v1/models/m-1"
        started = time.perf_counter()
        answer = httpx.delete(url, headers={"Authorization": "Api-Key t0ken-x"})
        assert (time.perf_counter() - started) < 1.0
        assert answer.status_code == 200 and answer.json() == {"id": "m-1", "deleted": True}
        assert httpx.delete(url, headers={"Authorization": "Api-Key t0ken-x"}).status_code == 404
        assert httpx.delete(url).status_code == 401
