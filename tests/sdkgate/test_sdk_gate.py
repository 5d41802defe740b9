"""`conformance sdk-gate` end to end: real clients (hand-made httpx scripts, and the vendors' SDKs when installed)
run against the validating mock on 127.0.0.1, and the gate's verdict, exit code and reports are checked.

Tests marked ``sdk`` need the vendors' SDKs (``pip install -e '.[sdk]'``, or ``tox -e sdk``) and are skipped
with that reason when they are not importable.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
HANDMADE = str(EXAMPLES / "handmade_bad_client.py")


@dataclass
class GateRun:
    """One finished ``sdk-gate`` process and its reports."""

    code: int
    stdout: str
    stderr: str
    report_dir: Path

    @property
    def results(self) -> dict[str, Any]:
        """results.json."""
        data: dict[str, Any] = json.loads((self.report_dir / "results.json").read_text(encoding="utf-8"))
        return data

    def row(self, requirement: str) -> dict[str, Any]:
        """The result of one requirement."""
        for result in self.results["results"]:
            if result["requirement"] == requirement:
                return dict(result)
        raise AssertionError(f"{requirement} not in results.json")

    def failed(self) -> dict[str, str]:
        """Failed requirement ids mapped to their level."""
        return {r["requirement"]: r["level"] for r in self.results["results"] if r["status"] == "failed"}


def gate(tmp_path: Path, vendor: str, *command: str, options: tuple[str, ...] = ()) -> GateRun:
    """Run ``conformance sdk-gate`` in a subprocess."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    report_dir = tmp_path / "reports"
    argv = [sys.executable, "-m", "conformance", "sdk-gate", "--vendor", vendor, "--report-dir", str(report_dir)]
    proc = subprocess.run(
        [*argv, *options, "--", *command], capture_output=True, text=True, timeout=180, cwd=tmp_path, check=False
    )
    return GateRun(proc.returncode, proc.stdout, proc.stderr, report_dir)


def python(*args: str) -> tuple[str, ...]:
    """A command line running this interpreter."""
    return (sys.executable, *args)


def assert_no_token_in_reports(run: GateRun) -> None:
    """The token the gate exported (``cf-gate-…``) appears in no report file."""
    for path in run.report_dir.rglob("*"):
        if path.is_file():
            assert "cf-gate-" not in path.read_text(encoding="utf-8", errors="replace"), path


def require(module: str, distribution: str) -> None:
    """Skip, with a clear reason, when a vendor SDK is not importable."""
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"the {distribution} SDK is not installed: pip install -e '.[sdk]' (or run tox -e sdk)")


# --- hand-made clients: no SDK needed ------------------------------------------------------------------------


def test_conformant_client_passes_with_every_report(tmp_path: Path) -> None:
    run = gate(tmp_path, "blaxel", *python(HANDMADE, "good"))
    assert run.code == 0, run.stdout + run.stderr
    assert run.failed() == {}
    assert run.results["requests"] == 2
    assert run.results["targets"][0]["base_url"].endswith("/v0")
    assert {r["status"] for r in run.results["results"]} == {"passed"}
    cases = ET.parse(run.report_dir / "junit.xml").getroot().findall(".//testcase")
    assert len(cases) == len(run.results["results"])
    for case in cases:
        props = {p.get("name"): p.get("value") for p in case.findall("properties/property")}
        assert props["requirement"] == case.get("name") and props["level"] in {"MUST", "SHOULD"}
    allure = [json.loads(p.read_text()) for p in (run.report_dir / "allure-results").glob("*-result.json")]
    assert len(allure) == len(cases)
    for result in allure:
        labels = {label["name"]: label["value"] for label in result["labels"]}
        assert {"vendor", "target", "operation", "requirement", "severity"} <= set(labels)
    assert len((run.report_dir / "traffic.jsonl").read_text().splitlines()) == 2
    assert "PASS" in (run.report_dir / "summary.md").read_text()
    assert_no_token_in_reports(run)


def test_uppercase_name_is_reported_with_requirement_and_value(tmp_path: Path) -> None:
    run = gate(tmp_path, "blaxel", *python(HANDMADE, "uppercase"))
    assert run.code == 1, run.stdout + run.stderr
    assert run.failed() == {"BLX-CLIENT-NAME-CHARSET": "MUST"}
    row = run.row("BLX-CLIENT-NAME-CHARSET")
    assert "'MyModel'" in row["message"]
    (violation,) = row["evidence"]["violations"]
    assert violation["value"] == "MyModel" and violation["pointer"] == "/metadata/name"
    assert "BLX-CLIENT-NAME-CHARSET" in run.stdout and "MyModel" in run.stdout
    failure = ET.parse(run.report_dir / "junit.xml").find(".//testcase[@name='BLX-CLIENT-NAME-CHARSET']/failure")
    assert failure is not None and "MyModel" in (failure.get("message") or "")
    assert "MyModel" in (run.report_dir / "summary.md").read_text()
    assert_no_token_in_reports(run)


@pytest.mark.parametrize(
    ("mode", "code", "requirement", "level", "needle"),
    [
        ("readonly", 0, "BLX-CLIENT-READONLY-NOT-SENT", "SHOULD", "/metadata/createdAt"),
        ("text-plain", 1, "BLX-CLIENT-CONTENT-TYPE", "MUST", "text/plain"),
        ("basic", 1, "BLX-CLIENT-AUTH-SCHEME", "MUST", "'Basic'"),
        ("wrong-path", 1, "BLX-CLIENT-PATH", "MUST", "/v0/model/"),
    ],
)
def test_client_mistakes(tmp_path: Path, mode: str, code: int, requirement: str, level: str, needle: str) -> None:
    run = gate(tmp_path, "blaxel", *python(HANDMADE, mode))
    assert run.code == code, run.stdout + run.stderr
    assert run.failed() == {requirement: level}
    assert needle in run.row(requirement)["message"]


def test_alias_is_a_finding_and_strict_rejects_it(tmp_path: Path) -> None:
    run = gate(tmp_path / "lenient", "blaxel", *python(HANDMADE, "alias"))
    assert run.code == 0, run.stdout + run.stderr
    assert run.failed() == {"BLX-CLIENT-AUTH-DOCUMENTED": "SHOULD", "BLX-CLIENT-HEADERS-DOCUMENTED": "SHOULD"}
    assert "undocumented but accepted: X-Blaxel-Authorization" in run.row("BLX-CLIENT-AUTH-DOCUMENTED")["message"]
    assert "X-Blaxel-Workspace" in run.row("BLX-CLIENT-HEADERS-DOCUMENTED")["message"]
    strict = gate(tmp_path / "strict", "blaxel", *python(HANDMADE, "alias"), options=("--strict",))
    assert strict.code == 1, strict.stdout + strict.stderr
    message = strict.row("BLX-CLIENT-AUTH-SCHEME")["message"]
    assert "X-Blaxel-Authorization" in message and "strict" in message
    assert strict.results["targets"][0]["strict"] is True


def test_fault_makes_the_client_fail_and_the_gate_says_why(tmp_path: Path) -> None:
    run = gate(tmp_path, "blaxel", *python(HANDMADE, "good"), options=("--fault", "delete-status-outside-enum"))
    assert run.code == 1, run.stdout + run.stderr
    assert "not one of the documented statuses" in run.stderr
    message = run.row("BLX-CLIENT-REPLIES-CONFORM")["message"]
    assert "delete-status-outside-enum" in message and "BLX-DELETE-STATUS-ENUM" in message and "'GONE'" in message
    assert "why: the command failed with exit code 1" in run.stdout
    assert "parsed replies the mock broke on purpose" in run.stdout


@pytest.mark.parametrize(
    ("vendor", "code"),
    [
        ("baseten", "httpx.delete(f'{base}/v1/models/{seed}', headers={'Authorization': f'Api-Key {token}'})"),
        ("oxen", "httpx.delete(f'{base}/api/ai/models/{seed}', headers={'Authorization': f'Bearer {token}'})"),
    ],
)
def test_documented_delete_clients_pass(tmp_path: Path, vendor: str, code: str) -> None:
    script = (
        "import os, httpx\n"
        "base, token = os.environ['CONFORMANCE_BASE_URL'], os.environ['CONFORMANCE_TOKEN']\n"
        "seed = os.environ['CONFORMANCE_SEED_IDS'].split(',')[0]\n"
        f"response = {code}\n"
        "assert response.status_code == 200, response.text\n"
    )
    run = gate(tmp_path, vendor, *python("-c", script))
    assert run.code == 0, run.stdout + run.stderr
    assert run.failed() == {}
    assert_no_token_in_reports(run)


def test_command_exit_code_is_passed_through(tmp_path: Path) -> None:
    run = gate(tmp_path, "oxen", *python("-c", "import sys; sys.exit(7)"))
    assert run.code == 7
    assert "exit code 7" in (run.report_dir / "summary.md").read_text()


@pytest.mark.parametrize("own", [2, 3])
def test_a_command_exit_code_that_is_sdk_gates_own_is_reported_as_4(tmp_path: Path, own: int) -> None:
    run = gate(tmp_path, "oxen", *python("-c", f"import sys; sys.exit({own})"))
    assert run.code == 4
    assert f"exit code {own}" in (run.report_dir / "summary.md").read_text()


def test_no_traffic_cannot_pass(tmp_path: Path) -> None:
    run = gate(tmp_path, "oxen", *python("-c", "pass"))
    assert run.code == 3
    assert "CONFORMANCE_BASE_URL" in run.stdout
    assert {r["status"] for r in run.results["results"]} == {"skipped"}


def test_timeout_kills_the_command(tmp_path: Path) -> None:
    run = gate(tmp_path, "oxen", *python("-c", "import time; time.sleep(60)"), options=("--timeout", "0.5"))
    assert run.code == 124


@pytest.mark.parametrize(
    ("vendor", "options", "command", "needle"),
    [
        ("nope", (), python("-c", "pass"), "unknown vendor"),
        ("blaxel", ("--fault", "no-such-fault"), python("-c", "pass"), "unknown fault"),
        ("blaxel", (), (), "needs a command"),
        ("blaxel", (), ("/nonexistent/client",), "cannot run"),
    ],
)
def test_usage_errors(
    tmp_path: Path, vendor: str, options: tuple[str, ...], command: tuple[str, ...], needle: str
) -> None:
    run = gate(tmp_path, vendor, *command, options=options)
    assert run.code == 2
    assert run.stderr.startswith("conformance: error:") and needle in run.stderr
    assert "Traceback" not in run.stderr


# --- the vendors' real SDKs ----------------------------------------------------------------------------------


@pytest.mark.sdk
def test_blaxel_sdk_against_the_faithful_mock(tmp_path: Path) -> None:
    require("blaxel", "blaxel")
    run = gate(tmp_path, "blaxel", *python(str(EXAMPLES / "blaxel_sdk_smoke.py")))
    assert run.code == 0, run.stdout + run.stderr
    assert "HTTP 200" in run.stdout
    assert run.failed() == {"BLX-CLIENT-AUTH-DOCUMENTED": "SHOULD", "BLX-CLIENT-HEADERS-DOCUMENTED": "SHOULD"}
    assert "X-Blaxel-Authorization" in run.row("BLX-CLIENT-AUTH-DOCUMENTED")["message"]
    assert "X-Blaxel-Workspace" in run.row("BLX-CLIENT-HEADERS-DOCUMENTED")["message"]
    assert run.row("BLX-CLIENT-BODY-SCHEMA")["status"] == "passed"
    assert_no_token_in_reports(run)


@pytest.mark.sdk
def test_blaxel_sdk_fails_under_strict_with_a_precise_reason(tmp_path: Path) -> None:
    require("blaxel", "blaxel")
    run = gate(tmp_path, "blaxel", *python(str(EXAMPLES / "blaxel_sdk_smoke.py")), options=("--strict",))
    assert run.code == 1, run.stdout + run.stderr
    message = run.row("BLX-CLIENT-AUTH-SCHEME")["message"]
    assert "X-Blaxel-Authorization: Bearer is an undocumented alias of Authorization: Bearer" in message
    assert "BLX-CLIENT-AUTH-SCHEME" in (run.report_dir / "summary.md").read_text()


@pytest.mark.sdk
@pytest.mark.parametrize(
    ("fault", "value"), [("delete-status-outside-enum", "GONE"), ("create-status-outside-enum", "RUNNING")]
)
def test_blaxel_sdk_fails_on_a_mock_fault(tmp_path: Path, fault: str, value: str) -> None:
    require("blaxel", "blaxel")
    run = gate(tmp_path, "blaxel", *python(str(EXAMPLES / "blaxel_sdk_smoke.py")), options=("--fault", fault))
    assert run.code == 1, run.stdout + run.stderr
    assert f"'{value}' is not a valid Status" in run.stderr
    message = run.row("BLX-CLIENT-REPLIES-CONFORM")["message"]
    assert fault in message and f"'{value}'" in message and "/status" in message


@pytest.mark.sdk
def test_baseten_sdk_alias_strict_and_fault(tmp_path: Path) -> None:
    require("baseten", "baseten")
    smoke = python(str(EXAMPLES / "baseten_sdk_smoke.py"))
    run = gate(tmp_path / "faithful", "baseten", *smoke)
    assert run.code == 0, run.stdout + run.stderr
    assert run.failed() == {"BTN-CLIENT-AUTH-DOCUMENTED": "SHOULD"}
    assert "Authorization: Bearer" in run.row("BTN-CLIENT-AUTH-DOCUMENTED")["message"]
    strict = gate(tmp_path / "strict", "baseten", *smoke, options=("--strict",))
    assert strict.code == 1, strict.stdout + strict.stderr
    assert "undocumented alias of Authorization: Api-Key" in strict.row("BTN-CLIENT-AUTH-SCHEME")["message"]
    faulty = gate(tmp_path / "fault", "baseten", *smoke, options=("--fault", "baseten-missing-deleted"))
    assert faulty.code == 1, faulty.stdout + faulty.stderr
    message = faulty.row("BTN-CLIENT-REPLIES-CONFORM")["message"]
    assert "baseten-missing-deleted" in message and "'deleted' is a required property" in message


@pytest.mark.sdk
def test_openai_sdk_against_the_oxen_mock(tmp_path: Path) -> None:
    require("openai", "openai")
    smoke = python(str(EXAMPLES / "openai_oxen_smoke.py"))
    run = gate(tmp_path / "faithful", "oxen", *smoke)
    assert run.code == 0, run.stdout + run.stderr
    assert run.failed() == {}
    strict = gate(tmp_path / "strict", "oxen", *smoke, options=("--strict",))
    assert strict.code == 0, "the openai SDK sends the (inferred) documented auth: nothing for --strict to reject"
    faulty = gate(tmp_path / "fault", "oxen", *smoke, options=("--fault", "oxen-created-as-string"))
    assert faulty.code == 1, faulty.stdout + faulty.stderr
    assert "the command passed although replies broke the contract" in faulty.stdout
    assert "OXN-DELETE-CREATED-TYPE" in faulty.row("OXN-CLIENT-REPLIES-CONFORM")["message"]
