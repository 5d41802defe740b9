"""The one report pipeline: the format registry, junit.xml as the gate sees it, allure-results through
allure-python-commons, run.har from the exchange files, and `conformance run --report FORMAT`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conformance import gating
from conformance.errors import UsageError
from conformance.exchange import Exchange
from conformance.gating.gate import Expectation
from conformance.reports.har import exchange_record
from conformance.reports.inputs import exchanges_file
from conformance.reports.writers import RUN_FORMATS, register_format, report_formats, write_run_reports
from conformance.results import RequirementResult, RunResults, validate_results

TOKEN = "tok-PIPELINE-93b1d7e2"


def result(requirement: str, status: str, level: str = "MUST", operation: str = "create") -> RequirementResult:
    """One hand-made result of the target ``alpha``."""
    return RequirementResult(
        requirement=requirement,
        level=level,
        vendor="blaxel",
        operation=operation,
        target="alpha",
        status=status,
        rule="a rule",
        source={"seed": "s.md", "field": "f"},
        message=f"{requirement} {status}",
        evidence={"examined": 1, "exchanges": [{"curl": f"curl -X POST http://127.0.0.1:9/{requirement}"}]},
        duration_ms=2.0,
    )


def run(run_id: str, *results: RequirementResult) -> RunResults:
    """A run of the target ``alpha`` (vendor blaxel)."""
    return RunResults(
        run_id=run_id,
        profile="quick",
        seed=1,
        started="2026-01-01T00:00:00+00:00",
        targets=[{"name": "alpha", "vendor": "blaxel", "base_url": "http://u:p@127.0.0.1:9/v0"}],
        results=list(results),
    )


def cases(path: Path) -> dict[str, ET.Element]:
    """The testcases of a junit.xml by name."""
    return {str(case.get("name")): case for case in ET.parse(path).iter("testcase")}


def props(case: ET.Element) -> dict[str, str]:
    """A testcase's properties."""
    return {str(p.get("name")): str(p.get("value")) for p in case.iter("property")}


def test_a_format_name_is_registered_once() -> None:
    assert {"results", "summary", "junit", "allure", "har", "matrix"} <= set(report_formats())
    with pytest.raises(ValueError, match="'junit' is already registered"):
        register_format("junit", lambda report: [])


def test_an_unknown_format_and_a_one_run_format_of_several_runs_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="unknown report format 'pdf'"):
        write_run_reports(run("r"), tmp_path, formats=["pdf"])
    with pytest.raises(UsageError, match="cover one run, not 2"):
        write_run_reports([(tmp_path / "a", run("a")), (tmp_path / "b", run("b"))], tmp_path, formats=["junit"])


def test_junit_fails_only_what_the_gate_fails(tmp_path: Path) -> None:
    results = run("r", result("BLX-A-1", "failed"), result("BLX-B-1", "failed", "SHOULD", "delete"),
                  result("BLX-C-1", "error"), result("BLX-D-1", "skipped"), result("BLX-E-1", "passed"))  # fmt: skip
    for fail_on, failing in (("must", {"BLX-A-1"}), ("should", {"BLX-A-1", "BLX-B-1"})):
        gate = gating.evaluate([results], gating.GateInputs(fail_on=fail_on))  # type: ignore[arg-type]
        write_run_reports(results, tmp_path / fail_on, gate=gate, formats=["junit"])
        junit = cases(tmp_path / fail_on / "junit.xml")
        assert {name for name, case in junit.items() if case.find("failure") is not None} == failing
        assert junit["BLX-C-1"].find("error") is not None and junit["BLX-D-1"].find("skipped") is not None
        root = ET.parse(tmp_path / fail_on / "junit.xml").getroot()
        assert root.get("failures") == str(len(failing)) and root.get("tests") == "5"
    should = cases(tmp_path / "must" / "junit.xml")["BLX-B-1"]
    assert should.find("failure") is None
    assert "does not fail on it; --fail-on should does" in props(should)["finding"]
    assert "[SHOULD BLX-B-1] failed" in (should.findtext("system-out") or "")
    assert should.get("classname") == "conformance.blaxel.delete"
    assert cases(tmp_path / "must" / "junit.xml")["BLX-A-1"].get("classname") == "conformance.blaxel.create"
    suite = ET.parse(tmp_path / "must" / "junit.xml").find("testsuite")
    assert suite is not None and suite.get("name") == "alpha"
    assert "u:p@" not in (tmp_path / "must" / "junit.xml").read_text(encoding="utf-8")


def test_junit_under_regression_and_expectations(tmp_path: Path) -> None:
    baseline = run("old", result("BLX-A-1", "failed"), result("BLX-B-1", "passed"))
    current = run("new", result("BLX-A-1", "failed"), result("BLX-B-1", "failed"), result("BLX-C-1", "failed"))
    known = Expectation(requirement="BLX-C-1", expected=("failed",), reason="ticket BLX-9", origin="known.yaml")
    gate = gating.evaluate([current], gating.GateInputs(fail_on="regression", baseline=baseline, expectations=[known]))
    write_run_reports(current, tmp_path, gate=gate, formats=["junit"])
    junit = cases(tmp_path / "junit.xml")
    assert [n for n, c in junit.items() if c.find("failure") is not None] == ["BLX-B-1"]  # the only new failure
    assert "still-failing" in props(junit["BLX-A-1"])["finding"]
    assert (
        "known failure" in props(junit["BLX-C-1"])["finding"] and "ticket BLX-9" in props(junit["BLX-C-1"])["finding"]
    )


def test_allure_results_are_written_by_allure_commons(tmp_path: Path) -> None:
    results = run("r", result("BLX-A-1", "failed"), result("BLX-B-1", "flaky", "SHOULD"), result("BLX-C-1", "error"))
    results.results[0].evidence["exchanges"][0]["response"] = {"status": 200, "headers": {"A": "b"}, "body": "{}"}
    write_run_reports(results, tmp_path, formats=["allure"], parameters={"command exit": "0"})
    allure = tmp_path / "allure-results"
    found = {r["labels"][3]["value"]: r for p in allure.glob("*-result.json") if (r := json.loads(p.read_text()))}
    assert set(found) == {"BLX-A-1", "BLX-B-1", "BLX-C-1"}
    failed = found["BLX-A-1"]
    assert (
        failed["status"] == "failed" and failed["statusDetails"]["message"] == "[MUST BLX-A-1] failed: BLX-A-1 failed"
    )
    assert {"name": "conformance_case", "value": "alpha::BLX-A-1"} in failed["parameters"]
    assert {"name": "command exit", "value": "0"} in failed["parameters"]
    assert found["BLX-B-1"]["statusDetails"]["flaky"] is True and found["BLX-C-1"]["status"] == "broken"
    texts = [(allure / a["source"]).read_text() for a in failed["attachments"]]
    assert texts == ["curl -X POST http://127.0.0.1:9/BLX-A-1", "HTTP 200\nA: b\n\n{}"]
    assert (allure / "environment.properties").is_file() and (allure / "categories.json").is_file()


def test_har_holds_every_exchange_redacted(tmp_path: Path) -> None:
    results = run("r", result("BLX-A-1", "passed"))
    exchanges = [
        Exchange("POST", "http://127.0.0.1:9/v0/models?x=1", {"Authorization": "Bearer [REDACTED]",
                 "Content-Type": "application/json"}, '{"a": 1}', 409, {"Content-Type": "application/json"},
                 '{"error": "exists"}', 3.5, started=1767225600.25, note="create again"),
        Exchange("DELETE", "http://127.0.0.1:9/v0/models/a", {"X-Token": TOKEN}, None, None, {}, "", 10.0,
                 transport_error="timed out after 10.0s", started=1767225601.0),
    ]  # fmt: skip
    path = exchanges_file(tmp_path, "alpha")
    path.write_text(
        "".join(json.dumps(exchange_record(e, "alpha", i)) + "\n" for i, e in enumerate(exchanges)), encoding="utf-8"
    )
    os.environ["PIPELINE_TOKEN"] = TOKEN
    try:
        results.targets[0]["token_env"] = "PIPELINE_TOKEN"
        (har_path,) = write_run_reports(results, tmp_path, formats=["har"])
    finally:
        del os.environ["PIPELINE_TOKEN"]
    text = har_path.read_text(encoding="utf-8")
    assert TOKEN not in text, "a token that reached an exchange file is still redacted in the HAR"
    log = json.loads(text)["log"]
    assert log["version"] == "1.2" and log["creator"]["name"] == "conformance"
    first, second = log["entries"]
    assert first["startedDateTime"] == "2026-01-01T00:00:00.250+00:00" and first["time"] == 3.5
    assert first["request"]["method"] == "POST" and first["request"]["postData"]["text"] == '{"a": 1}'
    assert first["request"]["queryString"] == [{"name": "x", "value": "1"}]
    assert {"name": "Authorization", "value": "Bearer [REDACTED]"} in first["request"]["headers"]
    assert first["response"]["status"] == 409 and first["response"]["statusText"] == "Conflict"
    assert first["response"]["content"]["text"] == '{"error": "exists"}'
    assert second["response"]["status"] == 0 and "timed out" in second["response"]["comment"]


def test_run_report_har_writes_every_exchange_of_the_run(tmp_path: Path) -> None:
    env = {**os.environ, "CONFORMANCE_EMBEDDED_TOKEN": TOKEN}
    done = subprocess.run(
        [sys.executable, "-m", "conformance", "run", "--vendor", "oxen", "--report", "har", "--report", "junit",
         "--report-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=240, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "run.har").is_file() and (tmp_path / "junit.xml").is_file()
    assert not (tmp_path / "allure-results").exists() and not (tmp_path / "summary.md").exists()
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    validate_results(results, "results.json")  # what a run writes, the schema accepts
    entries = json.loads((tmp_path / "run.har").read_text(encoding="utf-8"))["log"]["entries"]
    assert len(entries) >= results["requests"] > 10, "every exchange, retried attempts included"
    for path in tmp_path.rglob("*"):
        assert not path.is_file() or TOKEN.encode() not in path.read_bytes(), path
    assert any("[REDACTED]" in h["value"] for e in entries for h in e["request"]["headers"])


def test_run_refuses_an_unknown_report_format(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "conformance", "run", "--report", "pdf", "--report-dir", str(tmp_path / "r")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "unknown report format 'pdf'" in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1 and not (tmp_path / "r").exists()
    assert RUN_FORMATS == ("results", "summary", "junit", "allure")
