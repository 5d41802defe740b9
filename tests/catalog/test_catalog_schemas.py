"""Every data file is validated against its shipped JSON Schema; every problem is reported at once."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from conformance import gating
from conformance.catalog import loader
from conformance.errors import UsageError


@pytest.fixture
def specs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    root = tmp_path / "specs"
    shutil.copytree(loader.specs_dir() / "baseten", root / "baseten")
    monkeypatch.setenv("CONFORMANCE_SPECS_DIR", str(root))
    loader.load_vendor.cache_clear()
    loader.load_client_requirements.cache_clear()
    yield root / "baseten"
    monkeypatch.undo()
    loader.load_vendor.cache_clear()
    loader.load_client_requirements.cache_clear()


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _problems(load: object) -> list[str]:
    with pytest.raises(UsageError) as caught:
        load()  # type: ignore[operator]
    return str(caught.value).splitlines()


def test_a_misspelled_level_in_requirements_is_named_with_file_row_and_key(specs: Path) -> None:
    _edit(specs / "requirements.yaml", "- id: BTN-DELETE-GONE\n  level:", "- id: BTN-DELETE-GONE\n  levle:")
    lines = _problems(lambda: loader.load_vendor("baseten"))
    assert lines[0].startswith("2 problems in specs/baseten")
    assert any(
        line.startswith("specs/baseten/requirements.yaml: BTN-DELETE-GONE: levle: unknown key (expected one of: args,")
        for line in lines[1:]
    ), lines
    assert "specs/baseten/requirements.yaml: BTN-DELETE-GONE: 'level' is a required property" in lines


def test_a_misspelled_key_in_vendor_yaml_is_named(specs: Path) -> None:
    _edit(specs / "vendor.yaml", "token_env:", "token_envv:")
    lines = _problems(lambda: loader.load_vendor("baseten"))
    assert any(line.startswith("specs/baseten/vendor.yaml: token_envv: unknown key") for line in lines), lines
    assert "specs/baseten/vendor.yaml: 'token_env' is a required property" in lines


def test_a_fault_naming_an_unknown_requirement_is_named(specs: Path) -> None:
    _edit(
        specs / "faults.yaml", "baseten-deleted-false: BTN-DELETE-DELETED-TRUE", "baseten-deleted-false: BTN-NOPE-NOPE"
    )
    assert _problems(lambda: loader.load_vendor("baseten")) == [
        "specs/baseten/faults.yaml: baseten-deleted-false: BTN-NOPE-NOPE: no such requirement"
    ]


def test_a_malformed_fault_entry_is_named(specs: Path) -> None:
    _edit(specs / "faults.yaml", "faults:\n", "faults:\n  baseten-bad: {id: X}\n")
    lines = _problems(lambda: loader.load_vendor("baseten"))
    assert lines[0].startswith("specs/baseten/faults.yaml: faults.baseten-bad: "), lines


def test_a_misspelled_key_in_client_requirements_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "specs"
    shutil.copytree(loader.specs_dir() / "blaxel", root / "blaxel")
    monkeypatch.setenv("CONFORMANCE_SPECS_DIR", str(root))
    loader.load_vendor.cache_clear()
    loader.load_client_requirements.cache_clear()
    try:
        _edit(root / "blaxel" / "client-requirements.yaml", "    aspect: path\n", "    aspcet: path\n")
        lines = _problems(lambda: loader.load_client_requirements("blaxel"))
        assert lines[0] == "2 problems in specs/blaxel/client-requirements.yaml:"
        assert any(
            line.startswith("specs/blaxel/client-requirements.yaml: BLX-CLIENT-PATH: args.aspcet: unknown key")
            for line in lines
        ), lines
    finally:
        loader.load_vendor.cache_clear()
        loader.load_client_requirements.cache_clear()


def test_every_problem_of_several_files_is_reported_at_once(specs: Path) -> None:
    rows = yaml.safe_load((specs / "requirements.yaml").read_text(encoding="utf-8"))["requirements"]
    first_should = next(row["id"] for row in rows if row["level"] == "SHOULD")  # the row whose level is broken below
    _edit(specs / "vendor.yaml", "prefix: BTN", "prefix: btn")
    _edit(specs / "requirements.yaml", "  level: SHOULD\n", "  level: MAY\n")
    _edit(specs / "faults.yaml", "faults:", "fautls:")
    lines = _problems(lambda: loader.load_vendor("baseten"))
    assert lines[0] == "3 problems in specs/baseten:"
    assert lines[1].startswith("specs/baseten/vendor.yaml: prefix: 'btn' does not match")
    assert lines[2] == f"specs/baseten/requirements.yaml: {first_should}: level: 'MAY' is not one of ['MUST', 'SHOULD']"
    assert lines[3].startswith("specs/baseten/faults.yaml: fautls: unknown key (expected one of: faults)")


def test_a_misspelled_expires_in_an_expectations_file_no_longer_makes_a_waiver_permanent(tmp_path: Path) -> None:
    path = tmp_path / "known.yaml"
    path.write_text(
        "expectations:\n  - requirement: BLX-A-B\n    reason: r\n    expirs: 2026-01-01\n"
        "  - requirement: BLX-C-D\n    reason: r\n    targte: x\n",
        encoding="utf-8",
    )
    lines = _problems(lambda: gating.load_expectations([path]))
    assert lines[0] == f"2 problems in {path}:"
    assert (
        lines[1]
        == f"{path}: BLX-A-B: expirs: unknown key (expected one of: expected, expires, reason, requirement, target)"
    )
    assert lines[2].startswith(f"{path}: BLX-C-D: targte: unknown key")
