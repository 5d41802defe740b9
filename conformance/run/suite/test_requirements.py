"""Each test judges one requirement of the catalog on one target (parametrized by the plugin)."""

from __future__ import annotations

from conformance.run.plugin import Case


def test_requirement(conformance_case: Case) -> None:
    """The target meets the requirement named in this test's id."""
    conformance_case.judge()
