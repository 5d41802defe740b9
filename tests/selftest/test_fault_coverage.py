"""Fault injection reaches every requirement row: each row of requirements.yaml is named by a fault in faults.yaml.

That every fault of faults.yaml is a fault of the mock (and back) is tests/test_catalog.py's
test_every_mock_fault_is_mapped_to_existing_requirements; the self-test proves each named row fails.
"""

from __future__ import annotations

import pytest

from conformance.catalog.loader import load_vendor
from conformance.mock import vendors

VENDORS = vendors()


@pytest.mark.parametrize("vendor", VENDORS)
def test_every_requirement_row_is_named_by_a_fault(vendor: str) -> None:
    profile = load_vendor(vendor)
    named = {requirement for requirements in profile.faults.values() for requirement in requirements}
    assert [r.id for r in profile.requirements if r.id not in named and not r.derived] == []
    # Derived rows are one check (response_field) per aspect: each aspect the vendor derives is shown to fail.
    aspects = {str(r.args["aspect"]) for r in profile.requirements if r.derived}
    blamed = {str(r.args["aspect"]) for r in profile.requirements if r.derived and r.id in named}
    assert aspects - blamed == set()
