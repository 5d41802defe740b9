"""Skipped MUST rows are not a pass: INCOMPLETE, exit 3, naming the option that would run them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conformance import gating
from conformance.results import RequirementResult, RunResults
from tests.helpers import mock_process, run_cli

TOKEN = "verdict-incomplete-token-1"
ENV = {**os.environ, "VERDICT_TOKEN": TOKEN}
ROWS = ("--requirement", "BLX-CREATE-VALID-ACCEPTED", "--requirement", "BLX-DELETE-GONE")


def _results(status: str) -> RunResults:
    row = RequirementResult(
        "X-1", "MUST", "x", "delete", "t", status, "rule", {}, "needs DELETE, … pass --allow-destructive"
    )
    return RunResults(run_id="r", profile="quick", seed=1, started="", results=[row])


def test_the_gate_says_incomplete_and_exits_3_unless_allowed() -> None:
    gate = gating.evaluate([_results("skipped")])
    assert (gate.verdict, int(gate.exit_code)) == ("INCOMPLETE", 3)
    assert "--allow-destructive" in gate.incomplete[0]
    allowed = gating.evaluate([_results("skipped")], gating.GateInputs(allow_incomplete=True))
    assert (allowed.verdict, int(allowed.exit_code)) == ("INCOMPLETE", 0)
    assert gating.evaluate([_results("passed")]).verdict == "PASS"
    assert _results("skipped").summary()["verdict"] == "INCOMPLETE"


def test_a_live_run_without_allow_destructive_is_incomplete_not_pass(tmp_path: Path) -> None:
    with mock_process("--vendor", "blaxel", "--token", TOKEN) as url:
        base = ("run", "--vendor", "blaxel", "--base-url", url + "/v0", "--token-env", "VERDICT_TOKEN", *ROWS)
        partial = run_cli(*base, "--report-dir", str(tmp_path / "a"), env=ENV, timeout=120)
        allowed = run_cli(*base, "--allow-incomplete", "--report-dir", str(tmp_path / "b"), env=ENV, timeout=120)
    assert partial.returncode == 3, partial.stdout + partial.stderr
    assert "verdict: INCOMPLETE" in partial.stdout and "--allow-destructive" in partial.stdout
    summary = json.loads((tmp_path / "a" / "results.json").read_text())["summary"]
    assert summary["verdict"] == "INCOMPLETE" and summary["must_skipped"] == 2
    assert any("--allow-destructive" in reason for reason in summary["incomplete"])
    markdown = (tmp_path / "a" / "summary.md").read_text()
    assert "INCOMPLETE" in markdown.splitlines()[0] and "--allow-destructive" in markdown
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert "verdict: INCOMPLETE (--allow-incomplete)" in allowed.stdout


def test_the_pytest_route_exits_non_zero_when_incomplete(tmp_path: Path) -> None:
    with mock_process("--vendor", "baseten", "--token", TOKEN, "--seed-id", "vi-1") as url:
        result = subprocess.run(
            [
                sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--pyargs", "conformance.run.suite",
                "--conformance-vendor", "baseten", "--conformance-base-url", url, "--conformance-token-env",
                "VERDICT_TOKEN", "--conformance-disposable-id", "vi-1", "--conformance-report-dir", str(tmp_path),
            ],
            cwd=tmp_path, capture_output=True, text=True, timeout=240, env=ENV, check=False,
        )  # fmt: skip
    assert result.returncode == 3, result.stdout[-2000:]
    assert "conformance verdict: INCOMPLETE" in result.stdout
    assert "allow-destructive" in result.stdout
