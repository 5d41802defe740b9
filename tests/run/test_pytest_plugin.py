"""A user's own repository runs the suite with plain pytest through the ``pytest11`` entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import mock_process

TOKEN = "plugin-route-token-123"
OTHER = "plugin-route-other-token-456"  # a second account (the isolation rows)


@pytest.fixture
def baseten_mock() -> Iterator[str]:
    seeds = [arg for i in range(30) for arg in ("--seed-id", f"plug-{i}")]
    with mock_process("--vendor", "baseten", "--token", TOKEN, "--other-token", OTHER, *seeds) as url:
        yield url


def _pytest(tmp_path: Path, url: str, *extra: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    report = tmp_path / "report"
    args = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "--pyargs",
        "conformance.run.suite",
        "--conformance-vendor",
        "baseten",
        "--conformance-base-url",
        url,
        "--conformance-token-env",
        "PLUGIN_TOKEN",
        "--conformance-report-dir",
        str(report),
        *extra,
    ]
    args += [a for i in range(30) for a in ("--conformance-disposable-id", f"plug-{i}")]
    result = subprocess.run(
        args,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "PLUGIN_TOKEN": TOKEN, "PLUGIN_OTHER_TOKEN": OTHER},
        check=False,
    )
    return result, json.loads((report / "results.json").read_text())


def test_plain_pytest_runs_the_catalog_against_a_target(tmp_path: Path, baseten_mock: str) -> None:
    other = ("--conformance-other-token-env", "PLUGIN_OTHER_TOKEN")
    result, data = _pytest(tmp_path, baseten_mock, "--conformance-allow-destructive", *other)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    statuses = {r["requirement"]: r["status"] for r in data["results"]}
    assert statuses["BTN-DELETE-TOMBSTONE-ID"] == "passed"
    assert statuses["BTN-DELETE-OTHER-IDENTITY-CANNOT-DELETE"] == "passed"
    assert OTHER not in (tmp_path / "report" / "results.json").read_text()
    assert set(statuses.values()) <= {"passed", "skipped"}


def test_plain_pytest_is_not_destructive_unless_asked(tmp_path: Path, baseten_mock: str) -> None:
    _, data = _pytest(tmp_path, baseten_mock)
    statuses = {r["requirement"]: r["status"] for r in data["results"]}
    assert statuses["BTN-DELETE-EXISTING-200"] == "skipped"
    assert statuses["BTN-DELETE-UNKNOWN-404"] == "passed"
    left = httpx.get(baseten_mock + "/__mock__/resources").json()["ids"]
    assert len(left) == 30, "nothing may be deleted without --conformance-allow-destructive"
