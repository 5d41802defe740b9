"""samples.yaml (the docs' request samples) is validated on load like every other data file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conformance.catalog import loader
from conformance.errors import UsageError


def test_a_misspelled_key_in_samples_yaml_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(loader.specs_dir() / "baseten", tmp_path / "baseten")
    path = tmp_path / "baseten" / "samples.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("  status: 200", "  stauts: 200", 1), encoding="utf-8")
    monkeypatch.setenv("CONFORMANCE_SPECS_DIR", str(tmp_path))
    loader.load_vendor.cache_clear()
    try:
        with pytest.raises(UsageError) as caught:
            loader.load_vendor("baseten")
    finally:
        monkeypatch.undo()
        loader.load_vendor.cache_clear()
    lines = str(caught.value).splitlines()
    assert any(line.startswith("specs/baseten/samples.yaml: samples[0]: stauts: unknown key") for line in lines), lines
