"""Reports end to end: two real runs of the embedded default (the second with faults), the matrix, Allure extras,
and the promise that no token value reaches anything under the report directories."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conformance.reports.allure import CATEGORIES
from conformance.reports.matrix.html import matrix_html
from conformance.reports.matrix.markdown import matrix_markdown
from conformance.reports.matrix.model import build_matrix
from conformance.results import RequirementResult, RunResults, load_results
from tests.helpers import EMBEDDED_RESTRICTED as RESTRICTED
from tests.helpers import EMBEDDED_TOKEN as TOKEN
from tests.helpers import embedded_conformance

FAULT_REQUIREMENT = "BLX-CREATE-DUPLICATE-409"


@pytest.fixture(scope="module")
def runs(embedded_runs: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the session's embedded runs (tests/conftest.py: base/ faithful, faulty/ with create-no-409 among
    its faults, judged against base) and matrix/, their report: a folder of this module's alone."""
    root = tmp_path_factory.mktemp("reports")
    for run in ("base", "faulty"):
        shutil.copytree(embedded_runs / run, root / run, symlinks=True)
    report = embedded_conformance("report", root / "base", root / "faulty", "--out", root / "matrix")
    assert report.returncode == 1, report.stdout + report.stderr
    return root


def test_summary_first_lines_name_the_regression_and_its_reproduction(runs: Path) -> None:
    lines = (runs / "faulty" / "summary.md").read_text(encoding="utf-8").splitlines()
    base_id = load_results(runs / "base").run_id
    assert lines[0].startswith("# Conformance run ") and ": FAIL — " in lines[0]
    assert lines[2] == f"## Regressions since run `{base_id}`"
    assert lines[4].startswith("- **new failure MUST `"), "the first regression follows the heading"
    # the faulty run has regressions on both faulty vendors (tests/conftest.py); each is followed by its reproduction
    heads = [i for i, line in enumerate(lines) if line.startswith("- **new failure MUST `")]
    assert {lines[i].split("** on ")[1].split()[0] for i in heads} == {"blaxel-mock", "baseten-mock"}
    i = next(i for i in heads if lines[i].startswith(f"- **new failure MUST `{FAULT_REQUIREMENT}`** on blaxel-mock "))
    assert lines[i].startswith(f"- **new failure MUST `{FAULT_REQUIREMENT}`** on blaxel-mock (was passed): ")
    blaxel = next(t for t in load_results(runs / "faulty").targets if t["name"] == "blaxel-mock")
    port = str(blaxel["base_url"]).split(":")[2].split("/")[0]
    assert re.fullmatch(
        rf"  - start the same mock: `conformance mock --vendor blaxel --port {port} "
        r'--token "\$CONFORMANCE_EMBEDDED_TOKEN" --fault create-no-409`',
        lines[i + 1],
    )
    assert lines[i + 2] == "  - reproduce (2 requests, in order):" and lines[i + 4] == "    ```sh"
    for line in lines[i + 5 : i + 7]:  # both creates: the duplicate needs the first one
        assert re.fullmatch(rf"    curl -sS .* -X POST http://127\.0\.0\.1:{port}/v0/models .*", line)
        assert '-H "Authorization: Bearer $CONFORMANCE_EMBEDDED_TOKEN"' in line
    assert lines[i + 5] == lines[i + 6] and lines[i + 7] == "    ```"


def test_faulty_run_records_its_fault(runs: Path) -> None:
    targets = {t["name"]: t for t in load_results(runs / "faulty").targets}
    assert targets["blaxel-mock"]["faults"] == ["create-no-409"]
    assert targets["oxen-mock"]["faults"] == []


def test_no_token_value_anywhere_under_the_reports(runs: Path) -> None:
    files = [p for p in runs.rglob("*") if p.is_file()]
    assert len(files) > 50  # results, junit, summary, ledgers, logs, allure results and attachments, matrix
    for path in files:
        data = path.read_bytes()
        for secret in (TOKEN, RESTRICTED):
            assert secret.encode() not in data, f"{secret} leaked into {path}"
    # the check can fail: credentials were sent, and what was written shows them redacted
    attachments = "".join(p.read_text(encoding="utf-8") for p in (runs / "faulty" / "allure-results").glob("*.txt"))
    assert "Authorization: Bearer [REDACTED]" in attachments
    assert "Bearer [REDACTED]" in (runs / "matrix" / "matrix.html").read_text(encoding="utf-8")


def test_junit_carries_requirement_id_and_level(runs: Path) -> None:
    tree = ET.parse(runs / "faulty" / "junit.xml")
    failed = [case for case in tree.iter("testcase") if case.find("failure") is not None]
    props = [{p.get("name"): p.get("value") for p in case.iter("property")} for case in failed]
    assert {
        "requirement": FAULT_REQUIREMENT,
        "level": "MUST",
        "vendor": "blaxel",
        "target": "blaxel-mock",
    }.items() <= next(p for p in props if p.get("requirement") == FAULT_REQUIREMENT).items()


def test_allure_results_have_environment_categories_and_labels(runs: Path) -> None:
    allure = runs / "faulty" / "allure-results"
    env = dict(
        line.split("=", 1) for line in (allure / "environment.properties").read_text(encoding="utf-8").splitlines()
    )
    results = load_results(runs / "faulty")
    assert env["seed"] == "11" and env["run_id"] == results.run_id
    assert env["spec.blaxel"] == "0.0.1" and env["tool.pytest"]
    assert env["target.blaxel-mock"].startswith("blaxel http://127.0.0.1:")
    assert json.loads((allure / "categories.json").read_text(encoding="utf-8")) == CATEGORIES
    case = next(
        data
        for p in allure.glob("*-result.json")
        if {"name": "requirement", "value": FAULT_REQUIREMENT} in (data := json.loads(p.read_text()))["labels"]
    )
    labels = {(label["name"], label["value"]) for label in case["labels"]}
    assert {
        ("vendor", "blaxel"),
        ("target", "blaxel-mock"),
        ("operation", "create"),
        ("severity", "critical"),
    } <= labels
    assert {("parentSuite", "blaxel"), ("suite", "blaxel-mock"), ("subSuite", "create")} <= labels
    assert case["parameters"] == [{"name": "conformance_case", "value": f"blaxel-mock::{FAULT_REQUIREMENT}"}]


def test_categories_separate_conformance_failures_from_target_errors() -> None:
    def category(message: str) -> str:
        return str(next(c["name"] for c in CATEGORIES if re.fullmatch(c.get("messageRegex", "(?s).*"), message)))

    assert category("Failed: [MUST BLX-A-B] failed: answered 200") == "Conformance failures: MUST"
    assert category("Failed: [SHOULD BLX-A-B] failed: x\ny") == "Conformance failures: SHOULD"
    assert category("Failed: [MUST BLX-A-B] error: ConnectTimeout") == "Target or run errors (not judged)"


def test_matrix_files_of_two_runs(runs: Path) -> None:
    data = json.loads((runs / "matrix" / "matrix.json").read_text(encoding="utf-8"))
    assert data["format"] == "conformance-matrix" and data["version"] == 1
    blaxel = [c for c in data["columns"] if c["vendor"] == "blaxel"]
    assert len(blaxel) == 2 and all(" · " in c["label"] for c in blaxel)
    assert [s["requirement"] for s in data["single_target_failures"]].count(FAULT_REQUIREMENT) == 1
    assert data["gate"]["verdict"] == "FAIL"
    markdown = (runs / "matrix" / "matrix.md").read_text(encoding="utf-8")
    assert "fails only on blaxel-mock · faulty" in markdown  # labelled by the report folder, not the run id
    assert (runs / "matrix" / "summary.md").read_text(encoding="utf-8").startswith("# Conformance report of 2 run(s)")


@pytest.mark.skipif(
    not (os.environ.get("CONFORMANCE_ALLURE") or shutil.which("allure")) or not shutil.which("java"),
    reason="Allure commandline absent: `tox -e allure` installs the npm package allure-commandline (needs Java 17+), "
    "or set CONFORMANCE_ALLURE to an `allure` executable",
)
def test_allure_renders_the_html_report_offline(runs: Path, tmp_path: Path) -> None:
    allure = os.environ.get("CONFORMANCE_ALLURE") or shutil.which("allure") or "allure"
    out = tmp_path / "allure-report"
    done = subprocess.run(
        [allure, "generate", "--clean", "-o", str(out), str(runs / "faulty" / "allure-results")],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (out / "index.html").is_file()
    categories = json.loads((out / "data" / "categories.json").read_text(encoding="utf-8"))
    must = next(c for c in categories["children"] if c["name"] == "Conformance failures: MUST")
    assert any(FAULT_REQUIREMENT in child["name"] for child in must["children"])
    environment = json.loads((out / "widgets" / "environment.json").read_text(encoding="utf-8"))
    assert {"name": "seed", "values": ["11"]} in environment


def _result(requirement: str, status: str, target: str, message: str = "", level: str = "MUST") -> RequirementResult:
    return RequirementResult(
        requirement=requirement,
        level=level,
        vendor="blaxel",
        operation="delete",
        target=target,
        status=status,
        rule="a <rule> & more",
        source={"seed": "s", "field": "f"},
        message=message,
        evidence={
            "examined": 1,
            "exchanges": [
                {
                    "request": {"method": "DELETE", "url": "http://x/v0/models/a", "headers": {}, "body": None},
                    "response": {"status": 404, "headers": {}, "body": '{"error": "gone", "code": 404}'},
                    "curl": "curl -sS -X DELETE http://x/v0/models/a",
                }
            ],
        },
    )


def _run(run_id: str, target: str, *results: RequirementResult) -> tuple[Path, RunResults]:
    return Path(f"reports/{run_id}"), RunResults(
        run_id=run_id,
        profile="quick",
        seed=1,
        started="2026-01-01T00:00:00+00:00",
        targets=[{"name": target, "vendor": "blaxel"}],
        results=list(results),
    )


def test_matrix_scores_labels_single_target_failures_and_escaping() -> None:
    runs = [
        _run("r1", "prod", _result("BLX-A-1", "passed", "prod"), _result("BLX-A-2", "skipped", "prod")),
        _run("r2", "prod", _result("BLX-A-1", "failed", "prod", "<script>x</script>"),
             _result("BLX-A-2", "passed", "prod")),
        _run("r3", "staging", _result("BLX-A-1", "passed", "staging"), _result("BLX-A-2", "error", "staging")),
    ]  # fmt: skip
    matrix = build_matrix(runs)
    assert [c.label for c in matrix.columns] == ["prod · r1", "prod · r2", "staging"]
    assert [c.score("MUST") for c in matrix.columns] == ["1/1", "1/2", "1/2"]
    assert [(row.requirement, col.label) for row, col in matrix.single_target_failures()] == [("BLX-A-1", "prod · r2")]
    page = matrix_html(matrix)
    assert "<script>x</script>" not in page and "&lt;script&gt;x&lt;/script&gt;" in page
    assert "a &lt;rule&gt; &amp; more" in page
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", page), "the page must not load anything"
    assert "@import" not in page and "@media print" in page and 'name="viewport"' in page
    for cell in ("ev-0-BLX-A-1", "ev-1-BLX-A-1", "ev-2-BLX-A-2"):
        assert f'href="#{cell}"' in page and f'id="{cell}"' in page
    observed = matrix.semantics["blaxel"]["error shape"]["observed"]
    assert observed[0]["text"] == "{error, code} on HTTP 404" and observed[0]["everywhere"]
    assert "| `BLX-A-1` | MUST | [pass](matrix.html#ev-0-BLX-A-1) | [FAIL](matrix.html#ev-1-BLX-A-1) |" in (
        matrix_markdown(matrix)
    )
