"""Checks are registered specs: duplicates raise, rows are validated against the check's args schema."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.catalog.loader import load_vendor, specs_dir
from conformance.checks.registry import CHECKS, PROBES, register, request_kinds, row_errors, validate_rows
from conformance.checks.response import ASPECTS
from conformance.errors import UsageError
from conformance.verdicts import Evidence


def _row(**changes: object) -> object:
    base = load_vendor("baseten").requirement("BTN-DELETE-EXISTING-200")
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_a_second_registration_of_a_name_raises() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register("status_on", sends=lambda v, r: [])(lambda ctx, req: Evidence())
    assert CHECKS["status_on"].func.__name__ == "check_status_on"


def test_registering_an_unknown_probe_raises() -> None:
    with pytest.raises(ValueError, match="unknown probe"):
        register("never_registered", sends=lambda v, r: [], probes=["teleport"])


def test_every_spec_validates_the_rows_of_the_shipped_vendors() -> None:
    for vendor in ("blaxel", "oxen", "baseten"):
        validate_rows(load_vendor(vendor))
    # the checks that judge what every other row recorded: judged after them (also with --workers)
    assert sorted(n for n, s in CHECKS.items() if s.last) == ["gone_stays_gone", "status_documented"]


def test_unknown_check_probe_aspect_and_bad_args_are_named() -> None:
    assert row_errors(_row(check="stauts_on")) == [  # type: ignore[arg-type]
        f"BTN-DELETE-EXISTING-200: check: 'stauts_on' is not one of {sorted(CHECKS)}"
    ]
    assert row_errors(_row(args={"probe": "delted", "status": 200})) == [  # type: ignore[arg-type]
        f"BTN-DELETE-EXISTING-200: args.probe: 'delted' is not one of {list(PROBES)}"
    ]
    field = _row(check="response_field", args={"probe": "deleted", "field": "id", "aspect": "tpye"})
    assert row_errors(field) == [f"BTN-DELETE-EXISTING-200: args.aspect: 'tpye' is not one of {list(ASPECTS)}"]  # type: ignore[arg-type]
    assert row_errors(_row(args={"probe": "deleted", "status": "200"}))[0].startswith(  # type: ignore[arg-type]
        "BTN-DELETE-EXISTING-200: args.status: '200' is not valid"
    )
    assert "'stats' was unexpected" in row_errors(_row(args={"probe": "deleted", "status": 200, "stats": 1}))[0]  # type: ignore[arg-type]


def test_the_plan_reads_what_a_check_sends_from_its_spec() -> None:
    vendor = load_vendor("baseten")
    kinds = request_kinds(vendor, vendor.requirement("BTN-DELETE-STATUS-DOCUMENTED"))
    assert [k.destructive for k in kinds] == [False]
    assert "none of its own" in kinds[0].text


def test_a_row_with_a_misspelled_aspect_fails_the_cli_with_one_line_and_exit_2(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    shutil.copytree(specs_dir() / "baseten", specs / "baseten")
    path = specs / "baseten" / "requirements.yaml"
    text = path.read_text(encoding="utf-8")
    broken = text.replace("    aspect: equals\n", "    aspect: eqals\n", 1)
    assert broken != text
    path.write_text(broken, encoding="utf-8")
    env = {**os.environ, "CONFORMANCE_SPECS_DIR": str(specs)}
    done = subprocess.run(
        [sys.executable, "-m", "conformance", "run", "--vendor", "baseten", "--dry-run"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("conformance: error: ")
    assert "requirements.yaml: BTN-DELETE-DELETED-TRUE: args.aspect: 'eqals' is not one of [" in lines[0]
    assert "Traceback" not in done.stderr


def test_several_bad_rows_are_reported_at_once() -> None:
    vendor = load_vendor("baseten")
    rows = [_row(id="BTN-A-B", check="nope"), _row(id="BTN-C-D", args={})]
    with pytest.raises(UsageError) as caught:
        validate_rows(vendor, rows, where="x.yaml")  # type: ignore[arg-type]
    lines = str(caught.value).splitlines()
    assert lines[0] == "x.yaml: 3 problems"
    assert lines[1].startswith("x.yaml: BTN-A-B: check:")
    assert lines[2].startswith("x.yaml: BTN-C-D: args: 'probe' is a required property")


def test_the_vendor_guide_documents_every_check_and_probe() -> None:
    guide = (Path(__file__).resolve().parents[2] / "docs" / "adding-a-vendor.md").read_text(encoding="utf-8")
    assert [n for n in CHECKS if f"### `{n}`" not in guide] == []
    from conformance.checks.registry import reference_markdown

    generated = reference_markdown().split("\n", 1)[1]
    assert generated.strip() in guide, "regenerate the checks section of docs/adding-a-vendor.md (see its header)"
    assert [p for p in PROBES if f"`{p}`" not in guide] == []
