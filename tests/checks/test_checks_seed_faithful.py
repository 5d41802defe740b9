"""MUST rows judge against seed-derived schema only: every enum, format, nullability, default and required list
in each vendor's openapi.yaml is found in its seed (the OpenAPI text of 002/004, the rendered page of 000/003).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance.catalog.loader import load_vendor

SEEDS = Path("/work/shared/seeds")
SPECS = Path(__file__).resolve().parents[2] / "specs"
pytestmark = pytest.mark.skipif(not SEEDS.is_dir(), reason="the seeds are not on this machine")


def seed_text(prefix: str) -> str:
    return next(SEEDS.glob(f"{prefix}_*.txt")).read_text(encoding="utf-8")


def seed_openapi(prefix: str) -> dict[str, Any]:
    text = seed_text(prefix)
    block = text.split("````yaml", 1)[1].split("\n", 1)[1].split("````", 1)[0]
    loaded: dict[str, Any] = yaml.safe_load(block)
    return loaded


def constraints(node: Any, path: str = "$") -> Iterator[tuple[str, str, Any]]:
    """(path, keyword, value) of every enum/format/nullable/default/required/const below ``node``."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in {"enum", "format", "nullable", "default", "const"} or (
                key == "required" and isinstance(value, list)
            ):
                yield path, key, value
            if key == "type" and isinstance(value, list) and "null" in value:
                yield path, "nullable", True
            if key not in {"example", "examples"}:
                yield from constraints(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from constraints(value, f"{path}[{i}]")


def ours(vendor: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((SPECS / vendor / "openapi.yaml").read_text(encoding="utf-8"))
    return loaded


@pytest.mark.parametrize(("vendor", "seed"), [("blaxel", "002"), ("baseten", "004")])
def test_openapi_constraints_are_the_seeds(vendor: str, seed: str) -> None:
    """Every constraint of our components is in the seed's OpenAPI, at the same place, with the same value."""
    theirs = set(map(repr, constraints(seed_openapi(seed)["components"], "components")))
    mine = list(constraints(ours(vendor)["components"], "components"))
    assert mine, "no constraint found: the walk is broken"
    assert [c for c in mine if repr(c) not in theirs] == []


def _oxen_member(text: str, name: str) -> str:
    """The rendered lines of one top-level member of the 003 page (its name line up to the next member)."""
    response = text.split("Response", 1)[1].split("\nResponse\n", 1)[-1]
    match = re.search(
        rf"\n{re.escape(name)}\n(.*?)(?=\n\n[a-z_]+\n(?:string|integer|enum|object|number|boolean)|\Z)", response, re.S
    )
    assert match, f"{name} is not on the page"
    return match.group(1)


def test_oxen_constraints_are_on_the_rendered_page() -> None:
    text = seed_text("003")
    model = ours("oxen")["components"]["schemas"]["Model"]
    for path, keyword, value in constraints(model, "Model"):
        parts = path.split(".")
        assert parts[1:2] in (["properties"], []) or keyword == "required", path
        if path == "Model" and keyword == "required":
            for name in value:
                assert "required" in _oxen_member(text, name).split("\n")[1:2], f"{name} is not rendered required"
            continue
        assert len(parts) == 3, f"{path}: {keyword} on a nested member, which the page shows only as an example"
        rendered = _oxen_member(text, parts[2])
        if keyword == "enum":
            assert "Available options" in rendered, f"{path}: the page lists no options"
            options = rendered.split("Available options:", 1)[1]
            assert [v for v in value if v not in re.split(r"[,\s]+", options)] == [], path
        elif keyword == "nullable":
            assert "| null" in rendered or "or null" in rendered, f"{path}: the page does not say null"
        else:
            pytest.fail(f"{path}: {keyword} is not something the page can state")


def test_oxen_inferred_parts_are_should_rows() -> None:
    """The enums and nested types left out of openapi.yaml are judged by SHOULD rows marked inferred."""
    rows = {r.id: r for r in load_vendor("oxen").requirements}
    for rid in ("OXN-DELETE-DEPLOYMENT-STATUS-ENUM", "OXN-DELETE-PRICING-METHOD-ENUM", "OXN-DELETE-NESTED-INFERRED"):
        assert rows[rid].level == "SHOULD" and rows[rid].inferred, rid
    assert list(rows["OXN-DELETE-PRICING-METHOD-ENUM"].args["values"]) == [
        "token", "time", "per_image", "per_video_output_second"
    ]  # fmt: skip


@pytest.mark.parametrize("vendor", ["blaxel", "oxen", "baseten"])
def test_must_inline_schemas_are_seed_derived(vendor: str) -> None:
    """A MUST row's inline schema (args.schema) states only members, types and consts the seed shows."""
    for row in load_vendor(vendor).requirements:
        if row.level != "MUST" or "schema" not in row.args:
            continue
        for path, keyword, value in constraints(dict(row.args["schema"])):
            if keyword == "const":
                assert f'"{value}"' in seed_text(row.source.seed[:3]), (row.id, path)
            assert keyword in {"const", "required"}, (row.id, path, keyword)
