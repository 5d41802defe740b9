"""Property tests of the body strategies: valid bodies are valid, invalid ones break exactly their tagged rule."""

from __future__ import annotations

import string
from typing import Any

import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from conformance.catalog.loader import load_vendor, vendor_names
from conformance.catalog.openapi import SpecSchemas, spec_schemas
from conformance.checks.bodies import (
    SCHEMA_VIOLATIONS,
    BodyRule,
    body_rules,
    get_field,
    read_only_fields,
    resource_names,
    rule_breaking_bodies,
    rule_breaking_examples,
    schema_breaking_bodies,
    schema_breaking_examples,
    valid_bodies,
)

CREATORS = [v for v in vendor_names() if "create" in load_vendor(v).operations]
FAST = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)


def _setup(vendor: str) -> tuple[SpecSchemas, dict[str, Any], tuple[BodyRule, ...], str]:
    profile = load_vendor(vendor)
    op = profile.operations["create"]
    schemas = spec_schemas(profile.spec)
    schema = schemas.request_schema(op.method, op.path)
    assert schema is not None
    return schemas, schema, body_rules(profile.requirements), op.id_field or "name"


def _names(vendor: str) -> st.SearchStrategy[str]:
    _schemas, _schema, rules, id_field = _setup(vendor)
    return resource_names("cf-test-", [r for r in rules if r.field == id_field])


def _valid(vendor: str, presence: str = "random") -> st.SearchStrategy[dict[str, Any]]:
    schemas, schema, rules, id_field = _setup(vendor)
    return valid_bodies(schemas, schema, rules, id_field=id_field, ids=_names(vendor), presence=presence)


def test_blaxel_states_its_name_rules() -> None:
    rules = body_rules(load_vendor("blaxel").requirements)
    fields = {(r.field, r.max_length) for r in rules if r.max_length}
    assert ("metadata.name", 49) in fields and ("metadata.displayName", 63) in fields


@pytest.mark.parametrize("vendor", CREATORS)
@pytest.mark.parametrize("presence", ["random", "all", "required"])
def test_valid_bodies_validate_and_obey_every_rule(vendor: str, presence: str) -> None:
    schemas, schema, rules, _ = _setup(vendor)
    read_only = read_only_fields(schemas, schema)

    @FAST
    @given(_valid(vendor, presence))
    def check(body: dict[str, Any]) -> None:
        assert schemas.violations(schema, body) == []
        for rule in rules:
            assert rule.broken_by(get_field(body, rule.field)) is None, rule
        assert [f for f in read_only if get_field(body, f) is not None] == []

    check()


@pytest.mark.parametrize("vendor", CREATORS)
def test_every_enum_value_is_reachable(vendor: str) -> None:
    schemas, schema, _, _ = _setup(vendor)
    from conformance.checks.bodies import _enum_holders

    holders = _enum_holders(schemas, schema)
    seen: dict[str, set[Any]] = {where: set() for where, _ in holders}

    @settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(_valid(vendor, "all"))
    def collect(body: dict[str, Any]) -> None:
        for where in seen:
            seen[where].add(get_field(body, where.replace("[]", "")) if "[]" not in where else None)
            if "[]" in where:
                head, _, tail = where.partition("[].")
                for item in get_field(body, head) or []:
                    seen[where].add(get_field(item, tail))

    collect()
    for where, node in holders:
        assert set(node["enum"]) <= seen[where], (where, set(node["enum"]) - seen[where])


@pytest.mark.parametrize("vendor", CREATORS)
def test_names_reach_both_boundaries(vendor: str) -> None:
    _, _, rules, id_field = _setup(vendor)
    id_rules = [r for r in rules if r.field == id_field]
    high = min(r.max_length for r in id_rules if r.max_length)
    for size, length in (("max", high), ("min", len("cf-test-") + 1)):
        name = find(resource_names("cf-test-", id_rules, size=size), lambda _: True)
        assert len(name) == length and name.startswith("cf-test-")
    assert find(_names(vendor), lambda n: len(n) == high)


@pytest.mark.parametrize("vendor", CREATORS)
def test_rule_breaking_bodies_break_exactly_their_rule(vendor: str) -> None:
    schemas, schema, rules, _ = _setup(vendor)
    for rule in rules:
        _assert_breaks_only(rule, rules, schemas, schema, vendor)


def _assert_breaks_only(
    rule: BodyRule, rules: tuple[BodyRule, ...], schemas: SpecSchemas, schema: dict[str, Any], vendor: str
) -> None:
    @FAST
    @given(rule_breaking_bodies(rule, _valid(vendor)))
    def check(sample: Any) -> None:
        assert sample.requirement == rule.requirement
        assert rule.broken_by(get_field(sample.body, rule.field)) is not None
        other_fields = [r for r in rules if r.field != rule.field]
        assert [r.requirement for r in other_fields if r.broken_by(get_field(sample.body, r.field))] == []
        assert schemas.violations(schema, sample.body) == []

    check()


def test_charset_breakers_cover_the_reported_cases() -> None:
    rule = next(r for r in body_rules(load_vendor("blaxel").requirements) if r.alphabet)
    labels = {s.violation for s in rule_breaking_examples(rule, {"metadata": {"name": "abc-def"}})}
    assert {"uppercase", "underscore", "space", "non-ascii"} <= labels
    for sample in rule_breaking_examples(rule, {"metadata": {"name": "abc-def"}}):
        value = get_field(sample.body, "metadata.name")
        assert isinstance(value, str) and rule.alphabet is not None
        assert any(c not in rule.alphabet for c in value), sample.violation
        assert all(c in string.printable or ord(c) > 127 for c in value)


@pytest.mark.parametrize("vendor", CREATORS)
@pytest.mark.parametrize("violation", SCHEMA_VIOLATIONS)
def test_schema_breaking_bodies_break_the_schema_in_that_way(vendor: str, violation: str) -> None:
    schemas, schema, _rules, _ = _setup(vendor)
    keyword = {"wrong_type": "type", "enum": "enum", "missing_required": "required"}[violation]

    @FAST
    @given(schema_breaking_bodies(schemas, schema, _valid(vendor), violation, "REQ-X"))
    def check(sample: Any) -> None:
        found = schemas.violations(schema, sample.body)
        assert found, sample.violation
        assert {v.keyword for v in found} <= {keyword, "anyOf", "oneOf"}, (sample.violation, found)

    check()
    maximal = find(_valid(vendor, "all"), lambda _: True)
    examples = schema_breaking_examples(schemas, schema, maximal, violation, "REQ-X")
    assert examples
    for sample in examples:
        assert {v.keyword for v in schemas.violations(schema, sample.body)} <= {keyword, "anyOf", "oneOf"}
