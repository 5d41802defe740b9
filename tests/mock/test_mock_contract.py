"""Each reference mock answers every documented status code of its operations with a body of that schema."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from conformance import mock
from conformance.catalog.loader import load_vendor
from conformance.catalog.openapi import spec_schemas
from conformance.run.servers import serving

TOKEN = "contract-token-1"
RESTRICTED = "contract-restricted-2"
VALID = {"metadata": {"name": "m-ok", "displayName": "M"}, "spec": {"runtime": {"type": "openai", "model": "gpt-4.1"}}}
AUTH = {"blaxel": "Bearer", "oxen": "Bearer", "baseten": "Api-Key"}

Call = Callable[[httpx.Client], httpx.Response]
CASES: list[tuple[str, str, int, tuple[str, ...], Call]] = [
    ("blaxel", "create", 200, (), lambda c: c.post("/v0/models", json=VALID)),
    ("blaxel", "create", 400, (), lambda c: c.post("/v0/models", json={"metadata": {"name": "Bad_Name"}, "spec": {}})),
    ("blaxel", "create", 401, (), lambda c: c.post("/v0/models", json=VALID, headers={"Authorization": ""})),
    (
        "blaxel",
        "create",
        403,
        (),
        lambda c: c.post("/v0/models", json=VALID, headers={"Authorization": f"Bearer {RESTRICTED}"}),
    ),
    ("blaxel", "create", 409, (), lambda c: (c.post("/v0/models", json=VALID), c.post("/v0/models", json=VALID))[1]),
    (
        "blaxel",
        "create",
        500,
        ("create-500-on-max-name",),
        lambda c: c.post("/v0/models", json={"metadata": {"name": "a" * 49}, "spec": {}}),
    ),
    ("blaxel", "delete", 200, (), lambda c: c.delete("/v0/models/seeded")),
    ("oxen", "delete", 200, (), lambda c: c.delete("/api/ai/models/seeded")),
    ("baseten", "delete", 200, (), lambda c: c.delete("/v1/models/seeded")),
]


@pytest.mark.parametrize(
    ("vendor", "role", "status", "faults", "call"), CASES, ids=[f"{v}-{r}-{s}" for v, r, s, _, _ in CASES]
)
def test_documented_status_with_its_schema(
    vendor: str, role: str, status: int, faults: tuple[str, ...], call: Call
) -> None:
    profile = load_vendor(vendor)
    op = profile.operations[role]
    schemas = spec_schemas(profile.spec)
    assert str(status) in schemas.documented_statuses(op.method, op.path)
    schema = schemas.response_schema(op.method, op.path, status)
    assert schema is not None
    options = mock.MockOptions(token=TOKEN, restricted_token=RESTRICTED, faults=frozenset(faults), seed_ids=("seeded",))
    with serving(mock.create_app(vendor, options)) as server:
        headers = {"Authorization": f"{AUTH[vendor]} {TOKEN}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=10) as client:
            answer = call(client)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    body: Any = answer.json()
    assert schemas.violations(schema, body) == []
