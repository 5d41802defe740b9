"""The main job on the embedded default: real uvicorn mocks on loopback, the whole catalog judged, exit 0."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conformance.catalog.loader import load_vendor, vendor_names
from tests.helpers import run_cli


@pytest.fixture(scope="module")
def default_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, Path]:
    out = tmp_path_factory.mktemp("run")
    result = run_cli("run", "--seed", "11", "--report-dir", str(out))
    return result.returncode, result.stdout + result.stderr, out


def test_default_run_is_conformant_and_prints_a_summary(default_run: tuple[int, str, Path]) -> None:
    code, output, _ = default_run
    assert code == 0, output
    for vendor in vendor_names():
        assert f"{vendor}-mock" in output


def test_results_list_every_requirement_of_every_target(default_run: tuple[int, str, Path]) -> None:
    _, _, out = default_run
    data = json.loads((out / "results.json").read_text())
    assert data["format"] == "conformance-results" and data["version"] == 1 and data["seed"] == 11
    for vendor in vendor_names():
        judged = {r["requirement"] for r in data["results"] if r["target"] == f"{vendor}-mock"}
        assert judged == {r.id for r in load_vendor(vendor).requirements}
    statuses = {r["status"] for r in data["results"]}
    assert statuses <= {"passed", "skipped"}
    for result in data["results"]:
        assert result["level"] in {"MUST", "SHOULD"} and result["rule"] and result["source"]["seed"]
        if result["status"] == "passed":
            assert result["evidence"]["examined"] >= 1, result["requirement"]


def test_junit_carries_requirement_and_level(default_run: tuple[int, str, Path]) -> None:
    _, _, out = default_run
    tree = ET.parse(out / "junit.xml")
    cases = tree.findall(".//testcase")
    assert len(cases) >= 90
    props = {p.get("name"): p.get("value") for p in cases[0].findall(".//property")}
    assert props.get("requirement") and props.get("level") in {"MUST", "SHOULD"}


def test_async_deletion_is_polled_not_failed(tmp_path: Path) -> None:
    """A server that finishes deletes 0.5 s later still passes: 'gone' is polled (0.05 s, doubling) to a deadline."""
    result = run_cli(
        "run",
        "--vendor",
        "blaxel",
        "--delete-delay",
        "0.5",
        "--report-dir",
        str(tmp_path),
        "--requirement",
        "BLX-DELETE-GONE",
        "--requirement",
        "BLX-DELETE-RECREATE",
        "--requirement",
        "BLX-LIFECYCLE-STATE-MACHINE",
        "--requirement",
        "BLX-DELETE-STATUS-ENUM",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads((tmp_path / "results.json").read_text())
    gone = next(r for r in data["results"] if r["requirement"] == "BLX-DELETE-GONE")
    assert gone["status"] == "passed"
    assert gone["evidence"]["examined"] > 1, "the deletion should have needed several polls"
