"""Gating: expectation files, baseline comparison and the --fail-on verdict, on hand-made results."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from conformance import gating
from conformance.errors import ExitCode, UsageError
from conformance.reports.summary import summary_markdown
from conformance.results import RequirementResult, RunResults

TODAY = dt.date(2026, 6, 1)


def result(requirement: str, status: str, level: str = "MUST", target: str = "alpha") -> RequirementResult:
    """One hand-made result, with a curl reproduction in its evidence."""
    return RequirementResult(
        requirement=requirement,
        level=level,
        vendor="blaxel",
        operation="create",
        target=target,
        status=status,
        rule=f"the rule of {requirement}",
        source={"seed": "seed.txt", "field": "paths"},
        message=f"{requirement} {status}",
        evidence={"examined": 1, "exchanges": [{"curl": f"curl -sS -X POST http://127.0.0.1:9/{requirement}"}]},
    )


def run(run_id: str, *results: RequirementResult, leaks: list[dict[str, str]] | None = None) -> RunResults:
    """A hand-made run over target ``alpha``."""
    return RunResults(
        run_id=run_id,
        profile="quick",
        seed=1,
        started="2026-06-01T00:00:00+00:00",
        targets=[{"name": "alpha", "vendor": "blaxel"}],
        results=list(results),
        leaks=leaks or [],
    )


def expectation(requirement: str, expected: tuple[str, ...] = ("failed",), **kw: object) -> gating.Expectation:
    """A hand-made expectation."""
    return gating.Expectation(requirement=requirement, expected=expected, reason="vendor ticket 42", **kw)  # type: ignore[arg-type]


def test_yaml_and_toml_expectation_files_load(tmp_path: Path) -> None:
    (tmp_path / "alpha.yaml").write_text(
        "target: alpha\nexpectations:\n"
        "  - requirement: BLX-A-B\n    expected: failed\n    reason: ticket 1\n    expires: 2026-12-31\n"
        "  - requirement: BLX-C-D\n    expected: [failed, passed]\n    reason: intermittent\n    target: beta\n",
        encoding="utf-8",
    )
    (tmp_path / "gamma.toml").write_text(
        'target = "gamma"\n[[expectations]]\nrequirement = "BLX-E-F"\nexpected = "error"\nreason = "r"\n'
        "expires = 2027-01-01\n",
        encoding="utf-8",
    )
    loaded = gating.load_expectations([tmp_path / "alpha.yaml", tmp_path / "gamma.toml"])
    assert [(e.requirement, e.expected, e.target, e.expires) for e in loaded] == [
        ("BLX-A-B", ("failed",), "alpha", dt.date(2026, 12, 31)),
        ("BLX-C-D", ("failed", "passed"), "beta", None),
        ("BLX-E-F", ("error",), "gamma", dt.date(2027, 1, 1)),
    ]


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        ("expectations:\n  - requirement: BLX-A-B\n    expected: failed\n", "needs a reason"),
        ("expectations:\n  - requirement: BLX-A-B\n    expected: broken\n    reason: r\n", "expected must be"),
        ("expectations:\n  - requirement: BLX-A-B\n    expected: passed\n    reason: r\n", "not only passed"),
        ("expectations:\n  - requirement: BLX-A-B\n    reason: r\n    expires: soon\n", "not a date"),
        ("expectations:\n  - expected: failed\n    reason: r\n", "without a requirement"),
        ("expectations:\n  - {requirement: BLX-A-B, reason: r}\n  - {requirement: BLX-A-B, reason: s}\n", "already"),
        ("expectations: {requirement: BLX-A-B}\n", "expectations` list"),
        ("expectations: [\n", "not valid YAML"),
    ],
)
def test_bad_expectation_files_are_usage_errors(tmp_path: Path, body: str, complaint: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(UsageError, match=complaint):
        gating.load_expectations([path])


def test_compare_classifies_each_requirement() -> None:
    before = run("old", result("A-X-1", "passed"), result("A-X-2", "failed"), result("A-X-3", "failed"))
    after = run(
        "new",
        result("A-X-1", "failed"),
        result("A-X-2", "failed"),
        result("A-X-3", "passed"),
        result("A-X-4", "failed"),
    )
    changes = {c.requirement: (c.change, c.before) for c in gating.compare(after, before)}
    assert changes == {
        "A-X-1": ("new-failure", "passed"),
        "A-X-2": ("still-failing", "failed"),
        "A-X-3": ("fixed", "failed"),
        "A-X-4": ("new-failure", None),
    }


def test_default_gate_fails_on_must_only() -> None:
    assert gating.evaluate([run("r", result("A-X-1", "failed", "SHOULD"))]).exit_code == ExitCode.CONFORMANT
    gate = gating.evaluate([run("r", result("A-X-1", "failed", "MUST"))])
    assert gate.exit_code == ExitCode.FAILURES
    assert gate.blocking == ["failed MUST A-X-1 on alpha: A-X-1 failed"]


def test_should_gate_fails_on_should() -> None:
    inputs = gating.GateInputs(fail_on="should")
    assert gating.evaluate([run("r", result("A-X-1", "failed", "SHOULD"))], inputs).exit_code == ExitCode.FAILURES


def test_regression_gate_tolerates_old_failures_only() -> None:
    baseline = run("old", result("A-X-1", "failed"), result("A-X-2", "passed", "SHOULD"))
    inputs = gating.GateInputs(fail_on="regression", baseline=baseline)
    still = run("new", result("A-X-1", "failed"), result("A-X-2", "passed", "SHOULD"))
    assert gating.evaluate([still], inputs).exit_code == ExitCode.CONFORMANT
    regressed = run("new", result("A-X-1", "failed"), result("A-X-2", "failed", "SHOULD"))
    gate = gating.evaluate([regressed], inputs)
    assert gate.exit_code == ExitCode.FAILURES
    assert [c.requirement for c in gate.changed("new-failure")] == ["A-X-2"]


def test_regression_gate_needs_a_baseline() -> None:
    with pytest.raises(UsageError, match="needs --baseline"):
        gating.load_inputs(fail_on="regression")
    with pytest.raises(UsageError, match="--fail-on must be one of"):
        gating.load_inputs(fail_on="never")


def test_expected_failure_passes_the_gate_but_is_shown() -> None:
    inputs = gating.GateInputs(expectations=[expectation("A-X-1", expires=dt.date(2026, 12, 31))])
    gate = gating.evaluate([run("r", result("A-X-1", "failed"))], inputs, today=TODAY)
    assert gate.exit_code == ExitCode.CONFORMANT
    assert [o.outcome for o in gate.outcomes] == ["expected"]
    assert any(line.startswith("KNOWN") and "A-X-1" in line for line in gate.notices())
    text = summary_markdown(run("r", result("A-X-1", "failed")), gate=gate)
    assert "known failure: vendor ticket 42" in text
    assert "| `A-X-1` | alpha | failed | failed | expected | vendor ticket 42 | 2026-12-31 |" in text


def test_unexpected_pass_fails_the_gate() -> None:
    inputs = gating.GateInputs(expectations=[expectation("A-X-1")])
    gate = gating.evaluate([run("r", result("A-X-1", "passed"))], inputs, today=TODAY)
    assert gate.exit_code == ExitCode.FAILURES
    assert "stale" in gate.blocking[0]


def test_expired_expectation_fails_the_gate_even_when_still_failing() -> None:
    inputs = gating.GateInputs(expectations=[expectation("A-X-1", expires=dt.date(2026, 5, 31))])
    gate = gating.evaluate([run("r", result("A-X-1", "failed", "SHOULD"))], inputs, today=TODAY)
    assert gate.exit_code == ExitCode.FAILURES
    assert "expired on 2026-05-31" in gate.blocking[0]


def test_expectation_for_an_unknown_requirement_fails_the_gate() -> None:
    inputs = gating.GateInputs(expectations=[expectation("NOPE-NOT-THERE")])
    gate = gating.evaluate([run("r", result("A-X-1", "passed"))], inputs, today=TODAY)
    assert gate.exit_code == ExitCode.FAILURES
    assert gate.outcomes[0].outcome == "unknown-requirement"


def test_expectation_of_another_target_is_not_applied() -> None:
    inputs = gating.GateInputs(expectations=[expectation("A-X-1", target="beta")])
    gate = gating.evaluate([run("r", result("A-X-1", "failed"))], inputs, today=TODAY)
    assert gate.exit_code == ExitCode.FAILURES
    assert [o.outcome for o in gate.outcomes] == ["not-run"]


def test_errors_alone_exit_3_and_leaks_exit_1() -> None:
    assert gating.evaluate([run("r", result("A-X-1", "error"))]).exit_code == ExitCode.INFRASTRUCTURE
    leak = {"target": "alpha", "id": "cf-1", "reason": "cleanup did not confirm deletion"}
    assert gating.evaluate([run("r", result("A-X-1", "passed"), leaks=[leak])]).exit_code == ExitCode.FAILURES


def test_summary_leads_with_the_regression_and_its_reproduction() -> None:
    baseline = run("old", result("A-X-1", "passed"), result("A-X-2", "failed", "SHOULD"))
    current = run("new", result("A-X-1", "failed"), result("A-X-2", "passed", "SHOULD"))
    gate = gating.evaluate([current], gating.GateInputs(baseline=baseline))
    lines = summary_markdown(current, gate=gate).splitlines()
    assert lines[0] == "# Conformance run new: FAIL — regression: A-X-1 on alpha"
    assert lines[4].startswith("- **new failure MUST `A-X-1`** on alpha (was passed)")
    assert lines[5] == "  - reproduce: `curl -sS -X POST http://127.0.0.1:9/A-X-1`"
    assert "- SHOULD `A-X-2` on alpha" in lines


def test_run_refuses_a_broken_expectations_file_before_running(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("expectations:\n  - requirement: BLX-A-B\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "conformance", "run", "--expectations", str(bad), "--report-dir", str(tmp_path / "r")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "needs a reason" in done.stderr
    assert not (tmp_path / "r").exists()
