"""The registry's args schemas: the built-in ones are valid JSON Schemas (checked here, not at every run)."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

import conformance.checks  # noqa: F401 - registers every built-in check
from conformance.checks.registry import BUILT_IN, CHECKS, CheckSpec, register
from conformance.target.context import TargetContext
from conformance.verdicts import Evidence


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_every_built_in_args_schema_is_a_valid_schema(name: str) -> None:
    spec: CheckSpec = CHECKS[name]
    assert spec.func.__module__.startswith(BUILT_IN)
    jsonschema.Draft202012Validator.check_schema(spec.args_schema)
    jsonschema.Draft202012Validator.check_schema(spec.full_args_schema)


def test_a_check_from_elsewhere_is_still_checked_when_registered() -> None:
    def check(ctx: TargetContext, requirement: Any) -> Evidence:
        return Evidence()

    with pytest.raises(jsonschema.SchemaError):
        register("test-bad-args-schema", args_schema={"type": "no-such-type"}, sends=lambda v, r: [])(check)
    assert "test-bad-args-schema" not in CHECKS
