"""Rows derived from openapi.yaml replace the hand rows that restated it, with the same ids and meaning."""

from __future__ import annotations

import pytest

from conformance.catalog.derive import member_labels
from conformance.catalog.loader import load_vendor

# The hand rows removed from requirements.yaml: (id, level, operation, field, aspect).
REMOVED = [
    ("BTN-DELETE-ID-REQUIRED", "MUST", "delete", "id", "required"),
    ("BTN-DELETE-DELETED-REQUIRED", "MUST", "delete", "deleted", "required"),
    ("BTN-DELETE-ID-TYPE", "MUST", "delete", "id", "type"),
    ("BTN-DELETE-DELETED-TYPE", "MUST", "delete", "deleted", "type"),
    ("OXN-DELETE-ID-REQUIRED", "MUST", "delete", "id", "required"),
    ("OXN-DELETE-CREATED-REQUIRED", "MUST", "delete", "created", "required"),
    ("OXN-DELETE-OBJECT-REQUIRED", "MUST", "delete", "object", "required"),
    ("OXN-DELETE-OWNED-BY-REQUIRED", "MUST", "delete", "owned_by", "required"),
    ("OXN-DELETE-CREATED-TYPE", "MUST", "delete", "created", "type"),
    ("OXN-DELETE-ID-TYPE", "MUST", "delete", "id", "type"),
    ("OXN-DELETE-OWNED-BY-TYPE", "MUST", "delete", "owned_by", "type"),
    ("OXN-DELETE-OBJECT-ENUM", "MUST", "delete", "object", "enum"),
    ("OXN-DELETE-ENDPOINT-ENUM", "MUST", "delete", "endpoint", "enum"),
    ("OXN-DELETE-MODEL-TYPE-ENUM", "MUST", "delete", "model_type", "enum"),
    ("OXN-DELETE-DISPLAY-NAME-TYPE", "MUST", "delete", "display_name", "type"),
    ("OXN-DELETE-DESCRIPTION-NULLABLE", "MUST", "delete", "description", "type"),
    ("BLX-CREATE-METADATA-REQUIRED", "MUST", "create", "metadata", "required"),
    ("BLX-CREATE-SPEC-REQUIRED", "MUST", "create", "spec", "required"),
    ("BLX-CREATE-NAME-REQUIRED", "MUST", "create", "metadata.name", "required"),
    ("BLX-CREATE-NAME-TYPE", "MUST", "create", "metadata.name", "type"),
    ("BLX-CREATE-STATUS-ENUM", "MUST", "create", "status", "enum"),
    ("BLX-CREATE-EVENTS-TYPE", "MUST", "create", "events", "type"),
    ("BLX-CREATE-RUNTIME-TYPE-ENUM", "MUST", "create", "spec.runtime.type", "enum"),
    ("BLX-CREATE-GENERATION-ENUM", "MUST", "create", "spec.runtime.generation", "enum"),
    ("BLX-CREATE-FLAVOR-TYPE-ENUM", "MUST", "create", "spec.flavors[].type", "enum"),
    ("BLX-CREATE-ENABLED-TYPE", "MUST", "create", "spec.enabled", "type"),
    ("BLX-DELETE-METADATA-REQUIRED", "MUST", "delete", "metadata", "required"),
    ("BLX-DELETE-SPEC-REQUIRED", "MUST", "delete", "spec", "required"),
    ("BLX-DELETE-STATUS-ENUM", "MUST", "delete", "status", "enum"),
]
VENDOR_OF = {"BTN": "baseten", "OXN": "oxen", "BLX": "blaxel"}


@pytest.mark.parametrize(("row_id", "level", "operation", "field", "aspect"), REMOVED)
def test_each_removed_hand_row_is_derived_with_its_id_and_meaning(
    row_id: str, level: str, operation: str, field: str, aspect: str
) -> None:
    vendor = load_vendor(VENDOR_OF[row_id.split("-")[0]])
    row = vendor.requirement(row_id)
    assert row.derived
    assert (row.level, row.operation, row.check) == (level, operation, "response_field")
    assert (row.args["field"], row.args["aspect"]) == (field, aspect)
    assert row.inferred == (level == "SHOULD")
    assert row.source.field.startswith("#/")


@pytest.mark.parametrize("vendor", ["baseten", "oxen", "blaxel"])
def test_no_hand_row_restates_a_derived_one(vendor: str) -> None:
    rows = load_vendor(vendor).requirements
    derived = {(r.operation, r.args["field"], r.args["aspect"]) for r in rows if r.derived}
    hand = [r for r in rows if not r.derived and r.check == "response_field"]
    restated = [r.id for r in hand if (r.operation, r.args["field"], r.args["aspect"]) in derived]
    assert restated == []


def test_derived_sources_point_into_the_spec_and_cite_the_seed() -> None:
    row = load_vendor("baseten").requirement("BTN-DELETE-DELETED-TYPE")
    assert row.source.field == "#/components/schemas/ModelTombstoneV1/properties/deleted/type"
    assert row.source.seed == "004_5262c598ec2c5bd3.txt"
    assert load_vendor("blaxel").requirement("BLX-CREATE-NAME-REQUIRED").source.field.endswith("/allOf/2/required")


def test_member_labels_take_the_shortest_unique_suffix_with_singular_arrays() -> None:
    labels = member_labels(["spec.runtime.type", "spec.flavors[].type", "spec.enabled", "owned_by"])
    assert labels == {
        "spec.runtime.type": "RUNTIME-TYPE",
        "spec.flavors[].type": "FLAVOR-TYPE",
        "spec.enabled": "ENABLED",
        "owned_by": "OWNED-BY",
    }
