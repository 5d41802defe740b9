"""junit.xml built from the results: a testsuite per target, a testcase per requirement, failures as the gate says.

A ``<failure>`` is only what the gate fails (``--fail-on must``: a failed MUST requirement not excused by an
expectation; ``should``: any failed requirement; ``regression``: a new failure since the baseline). A finding the gate
lets pass (a SHOULD failure under ``must``, a known failure) is a passing testcase that says so in its properties and
``<system-out>``. An ``error`` (not judged) is an ``<error>``, a skip a ``<skipped>``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from conformance.reports.inputs import ReportInput
from conformance.reports.summary import reproduction_lines
from conformance.results import RequirementResult, RunResults

_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml(text: object) -> str:
    """Text XML 1.0 can carry (control characters other than tab and newlines replaced)."""
    return _XML_INVALID.sub("\ufffd", str(text))


def classname(result: RequirementResult) -> str:
    """``conformance.<vendor>.<operation>``: how CI systems group the testcases."""
    return f"conformance.{result.vendor}.{result.operation}"


def blocks(result: RequirementResult, run_id: str, report: ReportInput) -> tuple[bool, str]:
    """Whether the gate fails on this result, and if not but it failed, why it passes."""
    if result.status != "failed":
        return False, ""
    gate = report.gate
    known = gate.outcome_of(result.target, result.requirement, run_id) if gate else None
    if known is not None and known.outcome == "expected":
        return (
            False,
            f"known failure, expected by {known.expectation.origin or 'an expectation'}: {known.expectation.reason}",
        )
    fail_on = report.effective_fail_on
    if fail_on == "should":
        return True, ""
    if fail_on == "regression":
        change = gate.change_of(result.target, result.requirement, run_id) if gate else None
        if change == "new-failure":
            return True, ""
        return (
            False,
            f"not a new failure since the baseline ({change or 'no baseline'}); the gate is --fail-on regression",
        )
    if result.level == "MUST":
        return True, ""
    return False, f"{result.level} finding: the gate (--fail-on {fail_on}) does not fail on it; --fail-on should does"


def _without_userinfo(url: str) -> str:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="[REDACTED]@" + parts.netloc.rsplit("@", 1)[1]))


def _properties(parent: ET.Element, values: Mapping[str, object]) -> None:
    node = ET.SubElement(parent, "properties")
    for name, value in values.items():
        ET.SubElement(node, "property", {"name": _xml(name), "value": _xml(value)})


def _testcase(suite: ET.Element, result: RequirementResult, run: RunResults, report: ReportInput) -> dict[str, int]:
    case = ET.SubElement(
        suite,
        "testcase",
        {
            "classname": _xml(classname(result)),
            "name": _xml(result.requirement),
            "time": f"{result.duration_ms / 1000:.3f}",
        },
    )
    failing, excuse = blocks(result, run.run_id, report)
    props: dict[str, object] = {
        "requirement": result.requirement,
        "level": result.level,
        "vendor": result.vendor,
        "target": result.target,
        "operation": result.operation,
        "status": result.status,
        "case": f"{result.target}::{result.requirement}",
    }
    if result.status == "failed" and not failing:
        props["finding"] = excuse
    _properties(case, props)
    head = f"[{result.level} {result.requirement}] {result.status}: {result.message}"
    detail = f"{result.rule}\n\n{result.message}\n\nsource: {result.source.get('seed')} {result.source.get('field')}"
    target = next((t for t in run.targets if t.get("name") == result.target), {})
    reproduce = [line.strip() for line in reproduction_lines(result, target) if line.strip() and "```" not in line]
    if reproduce:
        detail += "\n\n" + "\n".join(reproduce)
    tally = {"failures": 0, "errors": 0, "skipped": 0}
    if failing:
        ET.SubElement(case, "failure", {"message": _xml(head[:2000]), "type": result.level}).text = _xml(detail)
        tally["failures"] = 1
    elif result.status == "error":
        ET.SubElement(case, "error", {"message": _xml(head[:2000]), "type": "not judged"}).text = _xml(detail)
        tally["errors"] = 1
    elif result.status == "skipped":
        ET.SubElement(case, "skipped", {"message": _xml(result.message[:2000])})
        tally["skipped"] = 1
    elif result.status in {"failed", "flaky"}:
        note = excuse if result.status == "failed" else "flaky: the failure did not reproduce when replayed"
        ET.SubElement(case, "system-out").text = _xml(f"{note}\n\n{head}\n\n{detail}")
    return tally


def junit_tree(report: ReportInput) -> ET.Element:
    """The ``<testsuites>`` element of every run and target of ``report``."""
    root = ET.Element("testsuites", {"name": "conformance"})
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    seconds = 0.0
    for _, run in report.runs:
        for target in run.targets or [{"name": r.target} for r in run.results[:1]]:
            mine = [r for r in run.results if r.target == target.get("name")]
            suite = ET.SubElement(
                root, "testsuite", {"name": _xml(target.get("name", "")), "timestamp": _xml(run.started)}
            )
            suite_props: dict[str, Any] = {
                "run_id": run.run_id,
                "profile": run.profile,
                "seed": run.seed,
                "vendor": target.get("vendor", ""),
                "base_url": _without_userinfo(str(target.get("base_url", ""))),
                "fail_on": report.effective_fail_on,
                **report.properties,
            }
            if target.get("faults"):
                suite_props["faults"] = ",".join(map(str, target["faults"]))
            if report.gate is not None:
                suite_props["gate"] = report.gate.verdict
            _properties(suite, suite_props)
            tally = {"failures": 0, "errors": 0, "skipped": 0}
            for result in mine:
                for key, value in _testcase(suite, result, run, report).items():
                    tally[key] += value
            time = sum(r.duration_ms for r in mine) / 1000
            suite.attrib.update(
                {"tests": str(len(mine)), "time": f"{time:.3f}", **{k: str(v) for k, v in tally.items()}}
            )
            totals["tests"] += len(mine)
            seconds += time
            for key, value in tally.items():
                totals[key] += value
    root.attrib.update({k: str(v) for k, v in totals.items()} | {"time": f"{seconds:.3f}"})
    return root


def write_junit(report: ReportInput) -> list[Path]:
    """junit.xml in the report directory."""
    path = report.report_dir / "junit.xml"
    root = junit_tree(report)
    ET.indent(root)
    text = ET.tostring(root, encoding="unicode", xml_declaration=False)
    report.report_dir.mkdir(parents=True, exist_ok=True)
    path.write_text('<?xml version="1.0" encoding="utf-8"?>\n' + report.redactor().text(text) + "\n", encoding="utf-8")
    return [path]
