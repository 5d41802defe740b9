"""The disk cache of loaded vendors: a hit is the same vendor; a stale, corrupt or foreign entry is a silent miss."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.catalog import cache, loader
from conformance.catalog.model import Vendor

SHIPPED = Path(loader.__file__).parent.parent / "_specs"


@pytest.fixture
def specs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the shipped baseten folder as the package's specs, and an empty cache directory."""
    root = tmp_path / "specs"
    shutil.copytree(SHIPPED / "baseten", root / "baseten")
    monkeypatch.setenv("CONFORMANCE_SPECS_DIR", str(root))
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.delenv(loader.VENDOR_DIRS_ENV, raising=False)
    loader.load_vendor.cache_clear()
    yield root
    loader.load_vendor.cache_clear()


def _fresh() -> Vendor:
    loader.load_vendor.cache_clear()
    return loader.load_vendor("baseten")


def _entries(specs: Path) -> list[Path]:
    return sorted((specs.parent / "cache").glob("vendor-*.marshal"))


def _no_yaml(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(path: Path) -> Any:
        raise AssertionError(f"{path} was parsed: the cache was not used")

    monkeypatch.setattr(loader, "_read_yaml", refuse)


def test_a_hit_is_the_same_vendor_without_reading_yaml(specs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = _fresh()
    assert len(_entries(specs)) == 1
    _no_yaml(monkeypatch)
    again = _fresh()
    assert again == first
    assert again is not first
    assert again.requirements == first.requirements and any(r.derived for r in again.requirements)


def test_a_changed_spec_is_loaded_again(specs: Path) -> None:
    first = _fresh()
    spec = specs / "baseten" / "openapi.yaml"
    text = spec.read_text(encoding="utf-8")
    assert "version:" in text
    spec.write_text(text.replace("info:", "info:\n  x-cache-test: changed", 1), encoding="utf-8")
    second = _fresh()
    assert second.spec["info"]["x-cache-test"] == "changed"
    assert "x-cache-test" not in first.spec["info"]
    third = _fresh()  # the rewritten entry is the new content
    assert third == second


def test_a_changed_requirements_file_is_loaded_again(specs: Path) -> None:
    first = _fresh()
    rows = specs / "baseten" / "requirements.yaml"
    text = rows.read_text(encoding="utf-8")
    start = text.index("  rule: ") + len("  rule: ")
    rows.write_text(text[:start] + "Changed for the cache test. " + text[start:], encoding="utf-8")
    second = _fresh()
    assert second.requirements[0].rule.startswith("Changed for the cache test. ")
    assert second.requirements[0].rule != first.requirements[0].rule


def test_a_file_appearing_is_a_miss(specs: Path) -> None:
    _fresh()
    faults = specs / "baseten" / "faults.yaml"
    if faults.exists():
        faults.unlink()
        assert _fresh().faults == {}
    else:  # pragma: no cover - the shipped folder has one
        pytest.skip("no faults.yaml to remove")


@pytest.mark.parametrize(
    "garbage",
    [b"", b"not marshal data at all", b"\x00" * 64, b"\xe3" + b"\xff" * 40],
    ids=["empty", "text", "zeros", "junk"],
)
def test_a_corrupt_entry_is_ignored_and_rewritten(specs: Path, garbage: bytes) -> None:
    first = _fresh()
    (entry,) = _entries(specs)
    entry.write_bytes(garbage)
    assert cache.load(specs / "baseten", "baseten") is None
    assert _fresh() == first
    assert cache.load(specs / "baseten", "baseten") == first  # rewritten


def test_an_entry_of_other_code_or_shape_is_a_miss(specs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import marshal

    first = _fresh()
    (entry,) = _entries(specs)
    data = marshal.loads(entry.read_bytes())
    entry.write_bytes(marshal.dumps({**data, "code": "another version"}))
    assert cache.load(specs / "baseten", "baseten") is None
    entry.write_bytes(marshal.dumps({**data, "vendor": ("\x00conformance-dataclass", "Unknown", {})}))
    assert cache.load(specs / "baseten", "baseten") is None
    entry.write_bytes(marshal.dumps([1, 2, 3]))
    assert cache.load(specs / "baseten", "baseten") is None
    assert _fresh() == first


def test_off_writes_nothing(specs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cache.CACHE_ENV, "off")
    _fresh()
    assert not (specs.parent / "cache").exists()


def test_an_unwritable_cache_is_no_error(specs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = specs.parent / "cache"
    blocker.write_text("a file where the cache directory would be", encoding="utf-8")
    assert _fresh().name == "baseten"
    assert cache.load(specs / "baseten", "baseten") is None


def test_values_marshal_cannot_hold_are_not_cached(specs: Path) -> None:
    import datetime as dt

    spec = specs / "baseten" / "openapi.yaml"
    spec.write_text(spec.read_text(encoding="utf-8").replace("info:", "info:\n  x-date: 2026-12-01", 1))
    vendor = _fresh()
    assert vendor.spec["info"]["x-date"] == dt.date(2026, 12, 1)
    assert _entries(specs) == []


def test_the_default_location_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(cache.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache.cache_dir() == tmp_path / "conformance"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache.cache_dir() == Path.home() / ".cache" / "conformance"
