"""The requirement catalogs are well-formed data, every row has a check, and every check can be shown to fail."""

from __future__ import annotations

from pathlib import Path

import pytest

import conformance.checks.fuzz
from conformance import mock
from conformance.catalog.loader import load_vendor, vendor_names
from conformance.catalog.openapi import spec_schemas
from conformance.checks.bodies import SCHEMA_VIOLATIONS, _merged
from conformance.checks.probes import AUTH_PROBES
from conformance.checks.registry import CHECKS

SEEDS = Path(__file__).resolve().parents[2].parent / "shared" / "seeds"
PROBES = {"created", "deleted", "unknown", "duplicate", "invalid_body", *AUTH_PROBES}
SCHEMATHESIS = set(conformance.checks.fuzz.SCHEMATHESIS_CHECKS)
VENDORS = vendor_names()


def test_three_vendors_are_known() -> None:
    assert set(VENDORS) >= {"blaxel", "oxen", "baseten"}


@pytest.mark.parametrize("vendor", VENDORS)
def test_requirement_ids_are_unique_and_prefixed(vendor: str) -> None:
    profile = load_vendor(vendor)
    ids = [r.id for r in profile.requirements]
    assert len(ids) == len(set(ids))
    assert all(i.startswith(profile.prefix + "-") for i in ids)
    assert len(ids) >= 15


@pytest.mark.parametrize("vendor", VENDORS)
def test_every_requirement_names_a_registered_check(vendor: str) -> None:
    unknown = [(r.id, r.check) for r in load_vendor(vendor).requirements if r.check not in CHECKS]
    assert unknown == []


def test_every_registered_check_is_used_by_a_requirement() -> None:
    used = {r.check for v in VENDORS for r in load_vendor(v).requirements}
    assert set(CHECKS) - used == set()


@pytest.mark.parametrize("vendor", VENDORS)
def test_inferred_requirements_are_never_must(vendor: str) -> None:
    assert [r.id for r in load_vendor(vendor).requirements if r.inferred and r.level == "MUST"] == []


@pytest.mark.parametrize("vendor", VENDORS)
def test_every_requirement_cites_an_existing_seed(vendor: str) -> None:
    if not SEEDS.is_dir():
        pytest.skip(f"seed folder {SEEDS} is not beside this checkout")
    seeds = {p.name for p in SEEDS.iterdir()}
    assert [r.id for r in load_vendor(vendor).requirements if r.source.seed not in seeds] == []


@pytest.mark.parametrize("vendor", VENDORS)
def test_check_arguments_are_valid(vendor: str) -> None:
    """Probes, fields, aspects and violation kinds named in args exist, so no row can silently judge nothing."""
    profile = load_vendor(vendor)
    schemas = spec_schemas(profile.spec)
    problems: list[str] = []
    for r in profile.requirements:
        args = r.args
        if r.operation not in profile.operations:
            problems.append(f"{r.id}: operation {r.operation} not in the profile")
            continue
        op = profile.operations[r.operation]
        if "probe" in args and args["probe"] not in PROBES:
            problems.append(f"{r.id}: unknown probe {args['probe']}")
        if r.check == "response_field":
            node: dict[str, object] = schemas.response_schema(op.method, op.path, 200) or {}
            for part in str(args["field"]).split("."):
                name = part.removesuffix("[]")
                props = _merged(schemas, node).get("properties", {})
                if name not in props:
                    problems.append(f"{r.id}: {args['field']} is not in the response schema")
                    break
                node = _merged(schemas, props[name])
                if part.endswith("[]"):
                    node = _merged(schemas, node.get("items", {}))  # type: ignore[arg-type]
            if args["aspect"] not in {"required", "type", "enum", "iso8601", "equals"}:
                problems.append(f"{r.id}: unknown aspect {args['aspect']}")
        if r.check == "rejects_invalid_body" and "field" not in args and args.get("violation") not in SCHEMA_VIOLATIONS:
            problems.append(f"{r.id}: neither a field rule nor a known schema violation")
        if r.check == "fuzz" and args.get("schemathesis") not in SCHEMATHESIS:
            problems.append(f"{r.id}: unknown schemathesis check {args.get('schemathesis')}")
    assert problems == []


@pytest.mark.parametrize("vendor", VENDORS)
def test_every_mock_fault_is_mapped_to_existing_requirements(vendor: str) -> None:
    profile = load_vendor(vendor)
    assert set(profile.faults) == set(mock.faults_of(vendor))
    ids = {r.id for r in profile.requirements}
    assert [(f, r) for f, reqs in profile.faults.items() for r in reqs if r not in ids] == []


def test_at_least_thirty_faults() -> None:
    assert sum(len(load_vendor(v).faults) for v in VENDORS) >= 30


def test_every_check_is_shown_to_fail_by_some_fault() -> None:
    """Fault injection covers every check function: each is blamed by at least one fault's expectation."""
    blamed: set[str] = set()
    for v in VENDORS:
        profile = load_vendor(v)
        for requirements in profile.faults.values():
            blamed |= {profile.requirement(r).check for r in requirements}
    assert set(CHECKS) - blamed == set()


def test_specs_ship_inside_the_package() -> None:
    """A non-editable install finds the vendor data: specs/ is packaged as conformance/_specs."""
    import tomllib

    import conformance.catalog

    packaged = Path(conformance.catalog.__file__).parent.parent / "_specs"
    assert {"blaxel", "oxen", "baseten"} <= {p.name for p in packaged.iterdir() if (p / "vendor.yaml").is_file()}
    root = Path(__file__).resolve().parents[2]
    data = tomllib.loads((root / "pyproject.toml").read_text())
    assert "_specs/*/*.yaml" in data["tool"]["setuptools"]["package-data"]["conformance"]
