"""The second identity's checks: another workspace's credential can neither delete nor see the first one's models.

Each isolation fault fails its row (exit 1), the faithful mocks pass, the second token never reaches a report, and
without a second identity the rows are skipped with the reason (a skipped MUST row: INCOMPLETE, exit 3).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.errors import UsageError
from conformance.target.config import Overrides, parse_config
from tests.helpers import mock_process, run_cli

ROWS = {
    "blaxel": ["BLX-DELETE-OTHER-IDENTITY-CANNOT-DELETE", "BLX-CREATE-OTHER-IDENTITY-ISOLATED"],
    "oxen": ["OXN-DELETE-OTHER-IDENTITY-CANNOT-DELETE"],
    "baseten": ["BTN-DELETE-OTHER-IDENTITY-CANNOT-DELETE"],
}
FAULTS = {
    "blaxel-shared-namespace": ROWS["blaxel"],
    "blaxel-cross-tenant-delete": ["BLX-DELETE-OTHER-IDENTITY-CANNOT-DELETE"],
    "oxen-cross-tenant-delete": ROWS["oxen"],
    "baseten-cross-tenant-delete": ROWS["baseten"],
}
OTHER = "cf-other-identity-secret-5c3d2e1f"
MAIN = "cf-main-identity-secret-0a9b8c7d"


def _requirements(*vendors: str) -> list[str]:
    return [arg for v in vendors for r in ROWS[v] for arg in ("--requirement", r)]


def _results(report: Path) -> dict[str, dict[str, str]]:
    data = json.loads((report / "results.json").read_text(encoding="utf-8"))
    return {r["requirement"]: r for r in data["results"]}


def test_the_faithful_mocks_pass_and_the_second_token_stays_secret(tmp_path: Path) -> None:
    report = tmp_path / "report"
    run = run_cli(
        "run", *_requirements(*ROWS), "--report-dir", str(report), env={"CONFORMANCE_EMBEDDED_OTHER_TOKEN": OTHER}
    )
    assert run.returncode == 0, run.stdout + run.stderr
    results = _results(report)
    assert {k: v["status"] for k, v in results.items()} == {r: "passed" for rows in ROWS.values() for r in rows}
    assert json.loads((report / "results.json").read_text())["leaks"] == []
    for path in [p for p in report.rglob("*") if p.is_file()]:
        assert OTHER not in path.read_bytes().decode("utf-8", "replace"), path
    assert OTHER not in run.stdout + run.stderr


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_each_isolation_fault_fails_its_row(fault: str, tmp_path: Path) -> None:
    vendor = "blaxel" if fault.startswith("blaxel") else fault.split("-")[0]
    report = tmp_path / "report"
    run = run_cli("run", "--vendor", vendor, *_requirements(vendor), "--fault", fault, "--report-dir", str(report))
    results = _results(report)
    for row in FAULTS[fault]:
        assert results[row]["status"] == "failed", results[row]
    must_failed = any(results[row]["level"] == "MUST" for row in FAULTS[fault])
    assert run.returncode == (1 if must_failed else 0), run.stdout + run.stderr


def test_without_a_second_identity_the_rows_are_skipped_and_the_run_incomplete(tmp_path: Path) -> None:
    with mock_process("--vendor", "blaxel", "--token", MAIN) as url:
        report = tmp_path / "report"
        args = ["run", "--vendor", "blaxel", "--base-url", url + "/v0", "--allow-destructive", *_requirements("blaxel")]
        run = run_cli(*args, "--report-dir", str(report), env={"BLAXEL_API_KEY": MAIN})
        assert run.returncode == 3, run.stdout + run.stderr
        assert "--other-token-env (other_token_env)" in run.stdout
        for row in ROWS["blaxel"]:
            result = _results(report)[row]
            assert result["status"] == "skipped"
            assert result["message"] == "no second identity configured: set other_token_env / --other-token-env"
        accepted = run_cli(
            *args, "--allow-incomplete", "--report-dir", str(tmp_path / "r2"), env={"BLAXEL_API_KEY": MAIN}
        )
        assert accepted.returncode == 0, accepted.stdout + accepted.stderr


def test_a_live_second_identity_is_judged_and_redacted(tmp_path: Path) -> None:
    with mock_process("--vendor", "blaxel", "--token", MAIN, "--other-token", OTHER) as url:
        report = tmp_path / "report"
        run = run_cli(
            "run", "--vendor", "blaxel", "--base-url", url + "/v0", "--allow-destructive", *_requirements("blaxel"),
            "--other-token-env", "BLAXEL_OTHER_KEY", "--report-dir", str(report),
            env={"BLAXEL_API_KEY": MAIN, "BLAXEL_OTHER_KEY": OTHER},
        )  # fmt: skip
        assert run.returncode == 0, run.stdout + run.stderr
        assert {r["status"] for r in _results(report).values()} == {"passed"}
        for name in ("results.json", "summary.md"):
            text = (report / name).read_text(encoding="utf-8")
            assert OTHER not in text and MAIN not in text
        assert "BLAXEL_OTHER_KEY" in (report / "results.json").read_text()  # the variable's name, not its value


def test_a_live_second_identity_variable_must_be_set(tmp_path: Path) -> None:
    run = run_cli(
        "run", "--vendor", "baseten", "--base-url", "http://127.0.0.1:9", "--other-token-env", "UNSET_OTHER_VAR_X",
        env={"BASETEN_API_KEY": MAIN},
    )  # fmt: skip
    assert run.returncode == 2 and "UNSET_OTHER_VAR_X" in run.stderr and "--other-token-env" in run.stderr


def test_other_token_env_in_the_configuration_file() -> None:
    table = {"targets": {"b": {"vendor": "baseten", "base_url": "https://x.example", "other_token_env": "B_OTHER"}}}
    target = parse_config(table, Path("conformance.toml")).targets["b"]
    assert target.other_token_env == "B_OTHER"
    assert Overrides(other_token_env="C_OTHER").apply(target).other_token_env == "C_OTHER"
    with pytest.raises(UsageError, match="other_token_env"):
        bad = {"targets": {"b": {**table["targets"]["b"], "other_token_env": "a token value!"}}}
        parse_config(bad, Path("conformance.toml"))
    with pytest.raises(UsageError, match="--other-token-env"):
        Overrides(other_token_env="not a name").apply(target)
