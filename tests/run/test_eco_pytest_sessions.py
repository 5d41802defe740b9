"""Plain pytest sessions of the suite that stop early, or would run under pytest-xdist, never read as a PASS."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import mock_process

TOKEN = "eco-session-token-123"


@pytest.fixture
def failing_mock() -> Iterator[str]:
    seeds = [arg for i in range(30) for arg in ("--seed-id", f"eco-{i}")]
    with mock_process("--vendor", "baseten", "--token", TOKEN, "--fault", "baseten-500-on-unknown", *seeds) as url:
        yield url


def _pytest(tmp_path: Path, url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    args = [
        *(sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--pyargs", "conformance.run.suite"),
        *("--conformance-vendor", "baseten", "--conformance-base-url", url, "--conformance-token-env", "ECO_TOKEN"),
        *("--conformance-report-dir", str(tmp_path / "report"), "--conformance-seed", "7"),
        *(a for i in range(30) for a in ("--conformance-disposable-id", f"eco-{i}")),
        *extra,
    ]
    env = {**os.environ, "ECO_TOKEN": TOKEN}
    return subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=240, env=env, check=False)


def test_a_session_stopped_by_x_records_every_row_it_did_not_judge(tmp_path: Path, failing_mock: str) -> None:
    result = _pytest(tmp_path, failing_mock, "-x")
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr[-2000:]
    data = json.loads((tmp_path / "report" / "results.json").read_text())
    rows = data["results"]
    missed = [r for r in rows if r["message"] == "not judged: the session stopped early (-x)"]
    assert missed and all(r["status"] == "error" for r in missed)
    assert data["summary"]["not_judged"] == len(missed)
    judged = [r for r in rows if r not in missed]
    assert any(r["status"] == "failed" for r in judged), "the row that stopped the session is judged"
    assert len({(r["target"], r["requirement"]) for r in rows}) == len(rows), "each row once"
    assert f"conformance: {len(missed)} of {len(rows)} rows not judged" in result.stdout
    summary = (tmp_path / "report" / "summary.md").read_text()
    assert ": PASS" not in summary.splitlines()[0]


@pytest.mark.skipif(importlib.util.find_spec("xdist") is None, reason="pytest-xdist is not installed")
def test_the_suite_refuses_to_run_under_xdist(tmp_path: Path) -> None:
    result = _pytest(tmp_path, "http://127.0.0.1:9", "-n", "2")
    assert result.returncode == int(pytest.ExitCode.USAGE_ERROR), result.stdout[-2000:] + result.stderr[-2000:]
    assert "does not run under pytest-xdist (-n): its probes share state per target" in result.stderr
    assert not (tmp_path / "report" / "results.json").exists(), "nothing may be written as if it had been judged"


@pytest.mark.skipif(importlib.util.find_spec("xdist") is None, reason="pytest-xdist is not installed")
def test_xdist_is_left_alone_without_conformance_options(tmp_path: Path) -> None:
    (tmp_path / "test_plain.py").write_text("def test_one():\n    assert True\n", encoding="utf-8")
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2", str(tmp_path)]
    result = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=240, check=False)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "1 passed" in result.stdout
