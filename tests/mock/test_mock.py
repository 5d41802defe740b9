"""Unit tests of the reference servers in conformance.mock (in-process, via Starlette's TestClient)."""

from __future__ import annotations

import ast
import json
import re
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.mock import MockOptions, UnknownFault, create_app, faults_of, vendors
from conformance.mock import blaxel as blaxel_module
from conformance.mock._common import Store
from tests.helpers import ResponseLike
from tests.mock.test_identity_mock import IDENTITY_PROBES, OTHER_TOKEN

VENDORS = vendors()

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

TOKEN = "conformance-local-token"
RESTRICTED = "restricted-token"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
APIKEY = {"Authorization": f"Api-Key {TOKEN}"}
AUTH = {"blaxel": BEARER, "oxen": BEARER, "baseten": APIKEY}
DELETE_PATH = {"blaxel": "/v0/models/{}", "oxen": "/api/ai/models/{}", "baseten": "/v1/models/{}"}
ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
MOCK_DIR = Path(__file__).resolve().parents[2] / "conformance" / "mock"
RUNTIME_TYPES = (
    "hf_private_endpoint", "hf_public_endpoint", "huggingface", "public_model", "mcp", "openai",
    "anthropic", "gemini", "mistral", "deepseek", "cohere", "cerebras", "xai", "vertexai",
    "azure-openai-service", "azure-ai-inference", "azure-marketplace", "groq",
)  # fmt: skip


def client(vendor: str, *faults: str, **options: Any) -> TestClient:
    """Build a test client for vendor with the given faults and options."""
    options.setdefault("restricted_token", RESTRICTED)
    options.setdefault("other_token", OTHER_TOKEN)
    return TestClient(create_app(vendor, MockOptions(faults=frozenset(faults), **options)))


def model(name: str = "m1", **spec: Any) -> dict[str, Any]:
    """Build a valid Blaxel create body."""
    return {"metadata": {"name": name}, "spec": spec}


def create(c: TestClient, body: Any, headers: dict[str, str] | None = None) -> ResponseLike:
    """POST a Blaxel create request (JSON-encoding body)."""
    response: ResponseLike = c.post(
        "/v0/models", content=json.dumps(body), headers=BEARER if headers is None else headers
    )
    return response


def delete(c: TestClient, vendor: str, ident: str, headers: dict[str, str] | None = None) -> ResponseLike:
    """DELETE one resource of vendor."""
    path = DELETE_PATH[vendor].format(ident)
    response: ResponseLike = c.delete(path, headers=AUTH[vendor] if headers is None else headers)
    return response


def assert_error(response: ResponseLike, vendor: str, status: int) -> None:
    """Assert the vendor's error shape with the given status."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    if vendor == "blaxel":
        assert set(body) == {"error", "code", "message"}
        assert body["code"] == status
        assert isinstance(body["error"], str) and body["error"]
        assert isinstance(body["message"], str) and body["message"]
    elif vendor == "oxen":
        assert set(body) == {"error"}
        assert set(body["error"]) == {"message", "type", "code"}
        assert all(isinstance(v, str) and v for v in body["error"].values())
    else:
        assert set(body) == {"error", "message"}
        assert all(isinstance(v, str) and v for v in body.values())


class FakeClock:
    """A manually advanced monotonic clock."""

    def __init__(self) -> None:
        """Start at an arbitrary instant."""
        self.now = 1000.0

    def __call__(self) -> float:
        """Return the current fake time."""
        return self.now


def with_clock(c: TestClient) -> FakeClock:
    """Install a fake clock in the client's store."""
    clock = FakeClock()
    c.app.state.store.clock = clock  # type: ignore[attr-defined]
    return clock


# ---------------------------------------------------------------- package API


def test_public_api() -> None:
    import conformance.mock as mock

    assert set(mock.__all__) == {
        "MockApp",
        "MockOptions",
        "create_app",
        "vendors",
        "faults_of",
        "UnknownFault",
        "load_mock_module",
        "mutants_of",
        "quirks_of",
        "waiting_quirks",
    }
    assert set(VENDORS) >= {"blaxel", "oxen", "baseten"}
    assert tuple(sorted(VENDORS)) == VENDORS
    assert issubclass(UnknownFault, ValueError)


def test_options_defaults_and_normalisation() -> None:
    options = MockOptions(faults={"x"}, seed_ids=["a"])  # type: ignore[arg-type]
    assert options.faults == frozenset({"x"}) and options.seed_ids == ("a",)
    default = MockOptions()
    assert default.token == TOKEN and default.restricted_token is None and default.delete_delay == 0.0
    assert default.workspace == "conformance" and default.strict_auth is False
    with pytest.raises(ValueError):
        MockOptions(delete_delay=-1)


@pytest.mark.parametrize("vendor", VENDORS)
def test_faults_of(vendor: str) -> None:
    faults = faults_of(vendor)
    assert faults and all("\n" not in d and d for d in faults.values())
    faults.clear()
    assert faults_of(vendor), "faults_of must return a copy"


def test_unknown_vendor_and_fault() -> None:
    with pytest.raises(UnknownFault) as info:
        create_app("nope")
    assert "\n" not in str(info.value)
    with pytest.raises(UnknownFault):
        faults_of("nope")
    with pytest.raises(UnknownFault) as info:
        create_app("blaxel", MockOptions(faults=frozenset({"no-such-fault"})))
    assert "no-such-fault" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(UnknownFault):
        create_app("baseten", MockOptions(faults=frozenset({"oxen-500-on-unknown"})))


def test_mock_imports_nothing_from_the_rest_of_conformance() -> None:
    # The validating mode reads the vendor's spec files itself (yaml) and validates with jsonschema (+ referencing).
    allowed = set(sys.stdlib_module_names) | {"__future__", "yaml", "jsonschema", "jsonschema_rs", "referencing"}
    for path in MOCK_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    assert node.level == 1, f"{path.name} imports outside the mock package"
                    continue
                roots = {(node.module or "").split(".")[0]}
            else:
                continue
            assert roots <= allowed, f"{path.name} imports {roots - allowed}"


def test_store_is_thread_safe() -> None:
    store = Store()
    wins: list[bool] = []

    def add() -> None:
        wins.append(store.add("k", b'{"id":"k"}'))

    threads = [threading.Thread(target=add) for _ in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wins.count(True) == 1


# ---------------------------------------------------------------- Blaxel create


def test_blaxel_create_returns_full_model() -> None:
    c = client("blaxel")
    spec = {
        "enabled": False,
        "flavors": [{"name": "t4", "type": "gpu"}],
        "integrationConnections": ["conn"],
        "policies": ["p1"],
        "runtime": {
            "endpointName": "ep",
            "model": "gpt-4.1",
            "organization": "org-abc123",
            "type": "openai",
            "generation": "mk3",
        },
        "sandbox": True,
    }
    body = {"metadata": {"name": "my-model", "displayName": "My Model", "labels": {"env": "dev"}}, "spec": spec}
    r = create(c, body)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    out = r.json()
    assert set(out) == {"metadata", "spec", "events", "status"}
    meta = out["metadata"]
    assert meta["name"] == "my-model" and meta["displayName"] == "My Model" and meta["labels"] == {"env": "dev"}
    assert ISO.fullmatch(meta["createdAt"]) and ISO.fullmatch(meta["updatedAt"])
    assert meta["createdBy"] == meta["updatedBy"] == "conformance-mock"
    assert meta["plan"] == "free" and meta["workspace"] == "conformance"
    assert meta["url"] == "https://run.blaxel.ai/conformance/models/my-model"
    assert out["spec"] == spec
    assert out["status"] == "DEPLOYED"
    [event] = out["events"]
    assert set(event) == {"message", "revision", "status", "time", "type"}
    assert all(isinstance(v, str) for v in event.values()) and ISO.fullmatch(event["time"])


def test_blaxel_create_defaults_enabled_and_omits_unsent_optionals() -> None:
    out = create(client("blaxel", workspace="ws"), model("m1")).json()
    assert out["spec"] == {"enabled": True}
    assert "displayName" not in out["metadata"] and "labels" not in out["metadata"]
    assert out["metadata"]["url"] == "https://run.blaxel.ai/ws/models/m1" and out["metadata"]["workspace"] == "ws"


def test_blaxel_create_ignores_read_only_and_unknown_fields() -> None:
    body = {
        "metadata": {
            "name": "m1",
            "createdAt": "x",
            "updatedAt": "x",
            "createdBy": "me",
            "updatedBy": "me",
            "plan": "gold",
            "url": "u",
            "workspace": "w",
            "extra": 1,
        },
        "spec": {"enabled": True, "extra": 1, "runtime": {"type": "groq", "extra": 1}, "flavors": [{"x": 1}]},
        "status": "FAILED",
        "events": [{"message": "fake"}],
        "extra": True,
    }
    out = create(client("blaxel"), body).json()
    assert out["status"] == "DEPLOYED" and out["events"][0]["message"] != "fake"
    assert ISO.fullmatch(out["metadata"]["createdAt"])
    assert out["metadata"]["plan"] == "free" and out["metadata"]["workspace"] == "conformance"
    assert out["metadata"]["createdBy"] == "conformance-mock" and "extra" not in out["metadata"]
    assert out["spec"] == {"enabled": True, "runtime": {"type": "groq"}, "flavors": [{}]}
    assert "extra" not in out


@pytest.mark.parametrize(
    "name",
    ["a", "0", "a" * 49, "my-model-1", "a-b-c", "9lives"],
)
def test_blaxel_create_accepts_valid_names(name: str) -> None:
    r = create(client("blaxel"), model(name))
    assert r.status_code == 200 and r.json()["metadata"]["name"] == name


@pytest.mark.parametrize("runtime_type", RUNTIME_TYPES)
def test_blaxel_create_accepts_every_runtime_type(runtime_type: str) -> None:
    r = create(client("blaxel"), model(runtime={"type": runtime_type}))
    assert r.status_code == 200 and r.json()["spec"]["runtime"]["type"] == runtime_type


def test_blaxel_create_accepts_boundary_display_name_and_generations() -> None:
    c = client("blaxel")
    body = {"metadata": {"name": "m1", "displayName": "x" * 63}, "spec": {"runtime": {"generation": "mk2"}}}
    assert create(c, body).status_code == 200
    assert create(c, model("m2", runtime={"generation": "mk3"}, flavors=[{"type": "cpu"}])).status_code == 200


INVALID_BODIES: list[tuple[Any, str]] = [
    ([], "body"),
    ("model", "body"),
    (1, "body"),
    (None, "body"),
    ({}, "metadata"),
    ({"metadata": None, "spec": {}}, "metadata"),
    ({"metadata": [], "spec": {}}, "metadata"),
    ({"metadata": {}, "spec": {}}, "metadata.name"),
    (model(1), "metadata.name"),  # type: ignore[arg-type]
    (model(None), "metadata.name"),  # type: ignore[arg-type]
    (model(""), "metadata.name"),
    (model("a" * 50), "metadata.name"),
    (model("Abc"), "metadata.name"),
    (model("a_b"), "metadata.name"),
    (model("-ab"), "metadata.name"),
    (model("ab-"), "metadata.name"),
    (model("a b"), "metadata.name"),
    (model("ab\n"), "metadata.name"),
    (model("é"), "metadata.name"),
    ({"metadata": {"name": "m1", "displayName": 3}, "spec": {}}, "metadata.displayName"),
    ({"metadata": {"name": "m1", "displayName": "x" * 64}, "spec": {}}, "metadata.displayName"),
    ({"metadata": {"name": "m1", "labels": []}, "spec": {}}, "metadata.labels"),
    ({"metadata": {"name": "m1", "labels": {"k": 1}}, "spec": {}}, "metadata.labels.k"),
    ({"metadata": {"name": "m1"}}, "spec"),
    ({"metadata": {"name": "m1"}, "spec": []}, "spec"),
    ({"metadata": {"name": "m1"}, "spec": None}, "spec"),
    (model(enabled="true"), "spec.enabled"),
    (model(enabled=None), "spec.enabled"),
    (model(sandbox=1), "spec.sandbox"),
    (model(flavors={}), "spec.flavors"),
    (model(flavors=["t4"]), "spec.flavors[0]"),
    (model(flavors=[{"name": 4}]), "spec.flavors[0].name"),
    (model(flavors=[{"type": "tpu"}]), "spec.flavors[0].type"),
    (model(integrationConnections="c"), "spec.integrationConnections"),
    (model(integrationConnections=[1]), "spec.integrationConnections[0]"),
    (model(policies=[None]), "spec.policies[0]"),
    (model(runtime="openai"), "spec.runtime"),
    (model(runtime={"type": "bogus"}), "spec.runtime.type"),
    (model(runtime={"type": 1}), "spec.runtime.type"),
    (model(runtime={"generation": "mk1"}), "spec.runtime.generation"),
    (model(runtime={"model": 1}), "spec.runtime.model"),
    (model(runtime={"endpointName": []}), "spec.runtime.endpointName"),
    (model(runtime={"organization": False}), "spec.runtime.organization"),
]


@pytest.mark.parametrize(("body", "field"), INVALID_BODIES)
def test_blaxel_create_rejects_invalid_body_naming_the_field(body: Any, field: str) -> None:
    c = client("blaxel")
    r = create(c, body)
    assert_error(r, "blaxel", 400)
    assert field in r.json()["message"]
    assert c.get("/__mock__/resources").json() == {"ids": []}


@pytest.mark.parametrize(
    "raw",
    [b"", b"   ", b"{", b"not json", b"\xff\xfe", b'{"a": NaN}', b"[Infinity]", b"1e999", b'{"a": 1}{'],
)
def test_blaxel_create_rejects_non_json(raw: bytes) -> None:
    assert_error(client("blaxel").post("/v0/models", content=raw, headers=BEARER), "blaxel", 400)


def test_blaxel_create_rejects_oversized_body() -> None:
    raw = json.dumps({"metadata": {"name": "m1"}, "spec": {}, "pad": "x" * (1 << 20)})
    assert_error(client("blaxel").post("/v0/models", content=raw, headers=BEARER), "blaxel", 400)


def test_blaxel_create_conflict() -> None:
    c = client("blaxel")
    assert create(c, model("dup")).status_code == 200
    assert_error(create(c, model("dup")), "blaxel", 409)


# ---------------------------------------------------------------- auth (all vendors)

BAD_AUTH = [
    None,
    "",
    "Bearer",
    "Bearer ",
    f"Bearer  {TOKEN}",
    f"Bearer {TOKEN} extra",
    f" Bearer {TOKEN}",
    f"Bearer {TOKEN}x",
    "Bearer wrong",
    f"Basic {TOKEN}",
    f"Token {TOKEN}",
    TOKEN,
]


def _header(value: str | None) -> dict[str, str]:
    """Build an Authorization header dict (empty when value is None)."""
    return {} if value is None else {"Authorization": value}


@pytest.mark.parametrize("value", BAD_AUTH)
def test_blaxel_unauthenticated(value: str | None) -> None:
    c = client("blaxel", seed_ids=("m1",))
    r = create(c, model("m2"), _header(value))
    assert_error(r, "blaxel", 401)
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert_error(delete(c, "blaxel", "m1", _header(value)), "blaxel", 401)
    assert c.get("/__mock__/resources").json() == {"ids": ["m1"]}


@pytest.mark.parametrize("value", [*BAD_AUTH, f"Api-Key {TOKEN}"])
def test_oxen_unauthenticated(value: str | None) -> None:
    c = client("oxen", seed_ids=("m1",))
    assert_error(delete(c, "oxen", "m1", _header(value)), "oxen", 401)
    assert c.get("/__mock__/resources").json() == {"ids": ["m1"]}


@pytest.mark.parametrize(
    "value",
    [None, "", "Api-Key", f"Api-Key  {TOKEN}", "Api-Key wrong", f"Token {TOKEN}", f"Basic {TOKEN}", TOKEN],
)
def test_baseten_unauthenticated(value: str | None) -> None:
    c = client("baseten", seed_ids=("m1",))
    r = delete(c, "baseten", "m1", _header(value))
    assert_error(r, "baseten", 401)
    assert r.headers["www-authenticate"].startswith("Api-Key")
    assert c.get("/__mock__/resources").json() == {"ids": ["m1"]}


def test_scheme_is_case_insensitive() -> None:
    c = client("blaxel", seed_ids=("m1",))
    assert create(c, model("m2"), {"Authorization": f"bearer {TOKEN}"}).status_code == 200
    assert delete(c, "blaxel", "m1", {"Authorization": f"BEARER {TOKEN}"}).status_code == 200
    b = client("baseten", seed_ids=("m1",))
    assert delete(b, "baseten", "m1", {"Authorization": f"api-key {TOKEN}"}).status_code == 200


def test_baseten_accepts_bearer_unless_strict() -> None:
    c = client("baseten", seed_ids=("m1",))
    assert delete(c, "baseten", "m1", BEARER).json() == {"id": "m1", "deleted": True}
    strict = client("baseten", seed_ids=("m1",), strict_auth=True)
    assert_error(delete(strict, "baseten", "m1", BEARER), "baseten", 401)
    assert delete(strict, "baseten", "m1", APIKEY).status_code == 200


def test_blaxel_strict_auth_changes_nothing() -> None:
    c = client("blaxel", strict_auth=True)
    assert create(c, model("m1")).status_code == 200


@pytest.mark.parametrize("vendor", VENDORS)
def test_restricted_token_is_forbidden(vendor: str) -> None:
    c = client(vendor, seed_ids=("m1",))
    scheme = "Api-Key" if vendor == "baseten" else "Bearer"
    headers = {"Authorization": f"{scheme} {RESTRICTED}"}
    assert_error(delete(c, vendor, "m1", headers), vendor, 403)
    if vendor == "blaxel":
        assert_error(create(c, model("m2"), headers), vendor, 403)
    assert c.get("/__mock__/resources").json() == {"ids": ["m1"]}


@pytest.mark.parametrize("vendor", VENDORS)
def test_auth_precedes_404(vendor: str) -> None:
    assert_error(delete(client(vendor), vendor, "nope", {}), vendor, 401)


def test_custom_token() -> None:
    c = client("oxen", seed_ids=("m1",), token="s3cret")
    assert_error(delete(c, "oxen", "m1"), "oxen", 401)
    assert delete(c, "oxen", "m1", {"Authorization": "Bearer s3cret"}).status_code == 200


# ---------------------------------------------------------------- delete (all vendors)


def test_blaxel_delete_returns_deleting_model() -> None:
    c = client("blaxel")
    created = create(c, model("m1", runtime={"type": "openai"})).json()
    r = delete(c, "blaxel", "m1")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    out = r.json()
    assert out["status"] == "DELETING"
    assert out["metadata"]["name"] == "m1" and out["spec"] == created["spec"]
    assert out["events"][0] == created["events"][0]
    assert len(out["events"]) == 2 and out["events"][1]["status"] == "DELETING"
    assert_error(delete(c, "blaxel", "m1"), "blaxel", 404)
    assert create(c, model("m1")).status_code == 200


@pytest.mark.parametrize("vendor", VENDORS)
def test_delete_unknown_is_404(vendor: str) -> None:
    assert_error(delete(client(vendor, seed_ids=("m1",)), vendor, "m2"), vendor, 404)


def test_oxen_delete_returns_full_model() -> None:
    c = client("oxen", seed_ids=("my-model",), workspace="acme")
    r = delete(c, "oxen", "my-model")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    m = r.json()
    expected_fields = {
        "created", "id", "object", "owned_by", "capabilities", "deployments", "description", "developer",
        "display_name", "endpoint", "fine_tuning", "image_url", "model_type", "pricing", "released_at",
        "request_schema", "source_model", "summary",
    }  # fmt: skip
    assert set(m) == expected_fields
    assert type(m["created"]) is int and m["created"] > 1_600_000_000
    assert m["id"] == "my-model" and m["object"] == "model" and m["owned_by"] == "acme"
    assert m["capabilities"] == {"input": ["text"], "output": ["text"]}
    assert m["deployments"] == [{"status": "active"}]
    assert m["description"] is None or isinstance(m["description"], str)
    assert set(m["developer"]) == {"logo", "name"} and all(isinstance(v, str) for v in m["developer"].values())
    assert isinstance(m["display_name"], str)
    assert m["endpoint"] == "/chat/completions" and m["model_type"] == "custom"
    ft = m["fine_tuning"]
    assert ft is None or (
        all(isinstance(a, str) for a in ft["actions"]) and isinstance(ft["cost_per_second"], int | float)
    )
    for key in ("image_url", "released_at", "source_model", "summary"):
        assert m[key] is None or isinstance(m[key], str)
    pricing = m["pricing"]
    assert pricing.pop("method") == "token"
    assert set(pricing) == {
        "cost_per_image", "cost_per_second", "cost_per_second_high_res", "cost_per_second_with_audio",
        "input_cost_per_token", "output_cost_per_token",
    }  # fmt: skip
    assert all(isinstance(v, int | float) and not isinstance(v, bool) for v in pricing.values())
    assert m["request_schema"] == {}
    assert_error(delete(c, "oxen", "my-model"), "oxen", 404)


def test_baseten_delete_returns_tombstone() -> None:
    c = client("baseten", seed_ids=("abc123",))
    r = delete(c, "baseten", "abc123")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.json() == {"id": "abc123", "deleted": True}
    assert_error(delete(c, "baseten", "abc123"), "baseten", 404)


@pytest.mark.parametrize("vendor", VENDORS)
def test_delete_delay(vendor: str) -> None:
    c = client(vendor, seed_ids=("m1",), delete_delay=5.0)
    clock = with_clock(c)
    first = delete(c, vendor, "m1")
    assert first.status_code == 200
    clock.now += 4.9
    second = delete(c, vendor, "m1")
    assert second.status_code == 200
    if vendor == "blaxel":
        assert first.json()["status"] == second.json()["status"] == "DELETING"
        assert_error(create(c, model("m1")), vendor, 409)
    else:
        assert second.json() == first.json()
    assert c.get("/__mock__/resources").json() == {"ids": ["m1"]}
    assert_error(c.post("/__mock__/resources", json={"id": "m1"}), vendor, 409)
    clock.now += 0.2
    assert_error(delete(c, vendor, "m1"), vendor, 404)
    assert c.get("/__mock__/resources").json() == {"ids": []}
    if vendor == "blaxel":
        assert create(c, model("m1")).status_code == 200


def test_delete_delay_real_time() -> None:
    import time

    c = client("baseten", seed_ids=("m1",), delete_delay=0.05)
    assert delete(c, "baseten", "m1").status_code == 200
    assert delete(c, "baseten", "m1").status_code == 200
    time.sleep(0.06)
    assert delete(c, "baseten", "m1").status_code == 404


# ---------------------------------------------------------------- admin and routing


@pytest.mark.parametrize("vendor", VENDORS)
def test_admin_routes(vendor: str) -> None:
    c = client(vendor, seed_ids=("s1", "s2"))
    assert c.get("/__mock__/health").json() == {"status": "ok", "vendor": vendor}
    assert c.get("/__mock__/resources").json() == {"ids": ["s1", "s2"]}
    r = c.post("/__mock__/resources", json={"id": "s3"})
    assert r.status_code == 201 and r.json() == {"id": "s3"}
    assert_error(c.post("/__mock__/resources", json={"id": "s3"}), vendor, 409)
    bad: Any
    for bad in ({}, {"id": ""}, {"id": 3}, {"id": "a/b"}, [], "x"):
        assert_error(c.post("/__mock__/resources", json=bad), vendor, 400)
    assert_error(c.post("/__mock__/resources", content=b"{"), vendor, 400)
    assert c.get("/__mock__/resources").json() == {"ids": ["s1", "s2", "s3"]}
    assert delete(c, vendor, "s3").status_code == 200
    assert c.get("/__mock__/resources").json() == {"ids": ["s1", "s2"]}


def test_blaxel_seeded_model_is_valid() -> None:
    c = client("blaxel", seed_ids=("seeded",))
    c.post("/__mock__/resources", json={"id": "admin"})
    for name in ("seeded", "admin"):
        out = delete(c, "blaxel", name).json()
        assert out["metadata"]["name"] == name and out["spec"] == {"enabled": True}
        assert ISO.fullmatch(out["metadata"]["createdAt"]) and out["status"] == "DELETING"
    assert_error(create(client("blaxel", seed_ids=("m1",)), model("m1")), "blaxel", 409)


@pytest.mark.parametrize("vendor", VENDORS)
def test_unknown_path_and_wrong_method(vendor: str) -> None:
    c = client(vendor)
    for path in ("/", "/nope", "/v0/models/a/b", DELETE_PATH[vendor].format(""), "/__mock__/x"):
        assert_error(c.delete(path, headers=AUTH[vendor]), vendor, 404)
    r = c.get(DELETE_PATH[vendor].format("m1"), headers=AUTH[vendor])
    assert_error(r, vendor, 405)
    assert "DELETE" in r.headers["allow"]
    assert_error(c.put(DELETE_PATH[vendor].format("m1"), headers=AUTH[vendor]), vendor, 405)
    assert_error(c.delete("/__mock__/health"), vendor, 405)
    assert_error(c.delete("/__mock__/resources"), vendor, 405)


def test_blaxel_wrong_method_on_collection() -> None:
    r = client("blaxel").get("/v0/models", headers=BEARER)
    assert_error(r, "blaxel", 405)
    assert r.headers["allow"] == "POST"


def test_unexpected_exception_is_shaped_not_500(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(blaxel_module, "validate", boom)
    assert_error(create(client("blaxel"), model("m1")), "blaxel", 400)
    for vendor in VENDORS:
        c = client(vendor, seed_ids=("m1",))
        monkeypatch.setattr(c.app.state.store, "delete", boom)  # type: ignore[attr-defined]
        monkeypatch.setattr(c.app.state.store, "ids", boom)  # type: ignore[attr-defined]
        assert_error(delete(c, vendor, "m1"), vendor, 400)
        assert_error(c.get("/__mock__/resources"), vendor, 400)


# ---------------------------------------------------------------- faults

Probe = Callable[[TestClient], Any]


def _created(c: TestClient, body: Any = None) -> Any:
    """Create model m1 (or body) and return the parsed response."""
    return create(c, model("m1", runtime={"type": "openai"}) if body is None else body).json()


def _dig(value: Any, *keys: str) -> Any:
    """Follow keys into nested objects, returning None when one is missing."""
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _ctype(r: ResponseLike) -> str:
    """Return the media type of a response."""
    return str(r.headers["content-type"]).split(";")[0]


def _twice(c: TestClient, vendor: str) -> tuple[int, int]:
    """Delete the seeded resource twice and return both statuses."""
    return delete(c, vendor, "seeded").status_code, delete(c, vendor, "seeded").status_code


BLAXEL_PROBES: dict[str, tuple[Probe, Any]] = {
    "create-missing-metadata": (lambda c: "metadata" in _created(c), False),
    "create-missing-spec": (lambda c: "spec" in _created(c), False),
    "create-status-outside-enum": (lambda c: _created(c)["status"], "RUNNING"),
    "create-name-wrong-type": (lambda c: _created(c)["metadata"]["name"], 42),
    "create-events-not-array": (lambda c: type(_created(c)["events"]).__name__, "dict"),
    "create-accepts-long-name": (lambda c: create(c, model("a" * 50)).status_code, 200),
    "create-accepts-uppercase-name": (lambda c: create(c, model("MyModel")).status_code, 200),
    "create-accepts-underscore-name": (lambda c: create(c, model("my_model")).status_code, 200),
    "create-accepts-long-displayname": (
        lambda c: create(c, {"metadata": {"name": "m1", "displayName": "x" * 64}, "spec": {}}).status_code,
        200,
    ),
    "create-accepts-bad-runtime-type": (
        lambda c: (lambda r: (r.status_code, _dig(r.json(), "spec", "runtime", "type")))(
            create(c, model(runtime={"type": "bogus"}))
        ),
        (200, "bogus"),
    ),
    "create-accepts-missing-spec": (lambda c: create(c, {"metadata": {"name": "m1"}}).status_code, 200),
    "create-422-on-invalid": (
        lambda c: (
            c.post("/v0/models", content=b"{", headers=BEARER).status_code,
            create(c, {}).status_code,
            create(c, model("Bad_Name")).status_code,
        ),
        (422, 422, 422),
    ),
    "create-no-409": (lambda c: (create(c, model()).status_code, create(c, model()).status_code), (200, 200)),
    "create-500-on-max-name": (
        lambda c: (lambda r: (r.status_code, r.json().get("code")))(create(c, model("a" * 49))),
        (500, 500),
    ),
    "create-error-without-error-field": (
        lambda c: (sorted(create(c, {}).json()), sorted(create(c, model(), {}).json())),
        (["code", "message"], ["code", "message"]),
    ),
    "create-html-error": (lambda c: _ctype(create(c, {})), "text/html"),
    "create-auth-not-enforced": (
        lambda c: (
            create(c, model("m1"), {}).status_code,
            create(c, model("m2"), {"Authorization": "Bearer x"}).status_code,
        ),
        (200, 200),
    ),
    "create-any-scheme": (lambda c: create(c, model(), {"Authorization": f"Token {TOKEN}"}).status_code, 200),
    "create-renames": (lambda c: _created(c)["metadata"]["name"] == "m1", False),
    "create-drops-runtime": (lambda c: "runtime" in _created(c)["spec"], False),
    "create-text-plain": (lambda c: _ctype(create(c, model())), "text/plain"),
    "create-timestamps-not-iso": (lambda c: _created(c)["metadata"]["createdAt"], "yesterday"),
    "create-keeps-readonly": (
        lambda c: _dig(
            _created(c, {"metadata": {"name": "m1", "createdBy": "client"}, "spec": {}}), "metadata", "createdBy"
        ),
        "client",
    ),
    "create-500-on-unicode": (
        lambda c: create(c, {"metadata": {"name": "m1", "displayName": "Modèle"}, "spec": {}}).status_code,
        500,
    ),
    "create-lenient-types": (
        lambda c: create(c, {"metadata": {"name": "m1"}, "spec": {"enabled": "yes"}}).status_code,
        200,
    ),
    "delete-does-not-delete": (lambda c: _twice(c, "blaxel"), (200, 200)),
    "delete-returns-empty": (lambda c: delete(c, "blaxel", "seeded").json(), {}),
    "delete-returns-other-model": (
        lambda c: delete(c, "blaxel", "seeded").json()["metadata"]["name"] == "seeded",
        False,
    ),
    "delete-500-on-unknown": (
        lambda c: (lambda r: (r.status_code, r.json()["code"]))(delete(c, "blaxel", "nope")),
        (500, 500),
    ),
    "delete-auth-not-enforced": (lambda c: delete(c, "blaxel", "seeded", {}).status_code, 200),
    "delete-status-outside-enum": (lambda c: delete(c, "blaxel", "seeded").json()["status"], "GONE"),
    "delete-200-on-unknown": (
        lambda c: (lambda r: (r.status_code, _dig(r.json(), "metadata", "name"), r.json().get("status")))(
            delete(c, "blaxel", "nope")
        ),
        (200, "nope", "DELETING"),
    ),
    "create-missing-name": (lambda c: "name" in _created(c)["metadata"], False),
    "create-runtime-type-outside-enum": (lambda c: _created(c)["spec"]["runtime"]["type"], "OPENAI"),
    "create-generation-outside-enum": (
        lambda c: _dig(_created(c, model(runtime={"generation": "mk3"})), "spec", "runtime", "generation"),
        "MK3",
    ),
    "create-flavor-type-outside-enum": (
        lambda c: _created(c, model(flavors=[{"type": "gpu"}]))["spec"]["flavors"][0]["type"],
        "GPU",
    ),
    "create-enabled-as-string": (lambda c: _created(c)["spec"]["enabled"], "true"),
    "create-accepts-empty-name": (lambda c: create(c, model("")).status_code, 200),
    "create-409-wrong-shape": (lambda c: create(c, model("seeded")).json(), {"detail": "model seeded already exists"}),
    "create-accepts-any-token": (lambda c: create(c, model(), {"Authorization": "Bearer wrong"}).status_code, 200),
    "create-400-on-malformed-auth": (lambda c: create(c, model(), {"Authorization": "Bearer"}).status_code, 400),
    "create-ignores-permissions": (
        lambda c: create(c, model(), {"Authorization": f"Bearer {RESTRICTED}"}).status_code,
        200,
    ),
    "delete-202-accepted": (lambda c: delete(c, "blaxel", "seeded").status_code, 202),
    "delete-text-plain": (lambda c: _ctype(delete(c, "blaxel", "seeded")), "text/plain"),
    "delete-any-scheme": (
        lambda c: delete(c, "blaxel", "seeded", {"Authorization": f"Token {TOKEN}"}).status_code,
        200,
    ),
    "delete-401-plain-text": (
        lambda c: (lambda r: (r.status_code, _ctype(r), r.text))(delete(c, "blaxel", "seeded", {})),
        (401, "text/plain", "Unauthorized"),
    ),
    "delete-404-detail-body": (
        lambda c: (lambda r: (r.status_code, r.json()))(delete(c, "blaxel", "nope")),
        (404, {"detail": "Not Found"}),
    ),
    "create-ignores-enabled-default": (lambda c: create(c, model("m1")).json()["spec"]["enabled"], False),
    "create-rejects-some-runtime-types": (
        lambda c: create(c, model("m1", runtime={"type": "openai"})).status_code,
        400,
    ),
    "create-keeps-rejected": (
        lambda c: (create(c, {"metadata": {"name": "m1"}}).status_code, create(c, model("m1")).status_code),
        (400, 409),
    ),
    "delete-case-insensitive": (lambda c: delete(c, "blaxel", "SEEDED").status_code, 200),
    "delete-500-on-odd-name": (lambda c: delete(c, "blaxel", "a b").status_code, 500),
    "delete-comes-back": (
        lambda c: [delete(c, "blaxel", "seeded").status_code for _ in range(3)],
        [200, 404, 200],
    ),
}

OXEN_PROBES: dict[str, tuple[Probe, Any]] = {
    "oxen-object-not-model": (lambda c: delete(c, "oxen", "seeded").json()["object"], "custom_model"),
    "oxen-created-as-string": (lambda c: type(delete(c, "oxen", "seeded").json()["created"]).__name__, "str"),
    "oxen-missing-owned-by": (lambda c: "owned_by" in delete(c, "oxen", "seeded").json(), False),
    "oxen-endpoint-outside-enum": (lambda c: delete(c, "oxen", "seeded").json()["endpoint"], "/completions"),
    "oxen-model-type-outside-enum": (lambda c: delete(c, "oxen", "seeded").json()["model_type"], "fine-tuned"),
    "oxen-display-name-null": (lambda c: delete(c, "oxen", "seeded").json()["display_name"], None),
    "oxen-returns-other-id": (lambda c: delete(c, "oxen", "seeded").json()["id"] == "seeded", False),
    "oxen-delete-does-not-delete": (lambda c: _twice(c, "oxen"), (200, 200)),
    "oxen-500-on-unknown": (
        lambda c: (lambda r: (r.status_code, sorted(r.json()["error"])))(delete(c, "oxen", "nope")),
        (500, ["code", "message", "type"]),
    ),
    "oxen-auth-not-enforced": (lambda c: delete(c, "oxen", "seeded", {}).status_code, 200),
    "oxen-missing-id": (lambda c: "id" in delete(c, "oxen", "seeded").json(), False),
    "oxen-missing-created": (lambda c: "created" in delete(c, "oxen", "seeded").json(), False),
    "oxen-missing-object": (lambda c: "object" in delete(c, "oxen", "seeded").json(), False),
    "oxen-id-as-integer": (lambda c: type(delete(c, "oxen", "seeded").json()["id"]).__name__, "int"),
    "oxen-owned-by-null": (lambda c: delete(c, "oxen", "seeded").json()["owned_by"], None),
    "oxen-description-not-string": (
        lambda c: type(delete(c, "oxen", "seeded").json()["description"]).__name__,
        "dict",
    ),
    "oxen-deployment-status-outside-enum": (
        lambda c: [d["status"] for d in delete(c, "oxen", "seeded").json()["deployments"]],
        ["deleted"],
    ),
    "oxen-pricing-method-outside-enum": (
        lambda c: delete(c, "oxen", "seeded").json()["pricing"]["method"],
        "per_token",
    ),
    "oxen-delete-204": (lambda c: (lambda r: (r.status_code, r.content))(delete(c, "oxen", "seeded")), (204, b"")),
    "oxen-delete-text-plain": (lambda c: _ctype(delete(c, "oxen", "seeded")), "text/plain"),
    "oxen-html-404": (lambda c: _ctype(delete(c, "oxen", "nope")), "text/html"),
    "oxen-accepts-any-token": (
        lambda c: delete(c, "oxen", "seeded", {"Authorization": "Bearer wrong"}).status_code,
        200,
    ),
    "oxen-pricing-cost-as-string": (
        lambda c: delete(c, "oxen", "seeded").json()["pricing"]["input_cost_per_token"],
        "0.000001",
    ),
    "oxen-500-on-odd-id": (lambda c: delete(c, "oxen", "a b").status_code, 500),
}

BASETEN_PROBES: dict[str, tuple[Probe, Any]] = {
    "baseten-tombstone-id-differs": (lambda c: delete(c, "baseten", "seeded").json()["id"] == "seeded", False),
    "baseten-deleted-false": (lambda c: delete(c, "baseten", "seeded").json()["deleted"], False),
    "baseten-deleted-as-string": (lambda c: delete(c, "baseten", "seeded").json()["deleted"], "true"),
    "baseten-missing-deleted": (lambda c: "deleted" in delete(c, "baseten", "seeded").json(), False),
    "baseten-any-scheme": (
        lambda c: delete(c, "baseten", "seeded", {"Authorization": f"Token {TOKEN}"}).status_code,
        200,
    ),
    "baseten-delete-does-not-delete": (lambda c: _twice(c, "baseten"), (200, 200)),
    "baseten-html-404": (lambda c: _ctype(delete(c, "baseten", "nope")), "text/html"),
    "baseten-auth-not-enforced": (lambda c: delete(c, "baseten", "seeded", {}).status_code, 200),
    "baseten-500-on-unknown": (lambda c: delete(c, "baseten", "nope").status_code, 500),
    "baseten-missing-id": (lambda c: "id" in delete(c, "baseten", "seeded").json(), False),
    "baseten-id-null": (lambda c: delete(c, "baseten", "seeded").json()["id"], None),
    "baseten-delete-202": (lambda c: delete(c, "baseten", "seeded").status_code, 202),
    "baseten-delete-text-plain": (lambda c: _ctype(delete(c, "baseten", "seeded")), "text/plain"),
    "baseten-accepts-any-key": (
        lambda c: delete(c, "baseten", "seeded", {"Authorization": "Api-Key wrong"}).status_code,
        200,
    ),
    "baseten-500-on-odd-id": (lambda c: delete(c, "baseten", "a b").status_code, 500),
}

PROBES = {"blaxel": BLAXEL_PROBES, "oxen": OXEN_PROBES, "baseten": BASETEN_PROBES}
for _vendor, _probes in IDENTITY_PROBES.items():
    PROBES[_vendor] = {**PROBES[_vendor], **_probes}
FAULT_CASES = [(vendor, fault) for vendor, probes in PROBES.items() for fault in probes]


@pytest.mark.parametrize("vendor", VENDORS)
def test_every_fault_has_a_probe(vendor: str) -> None:
    assert set(PROBES[vendor]) == set(faults_of(vendor))


@pytest.mark.parametrize(("vendor", "fault"), FAULT_CASES)
def test_fault_changes_behaviour(vendor: str, fault: str) -> None:
    probe, faulty = PROBES[vendor][fault]
    assert probe(client(vendor, seed_ids=("seeded",))) != faulty, "the faithful app already behaves so"
    assert probe(client(vendor, fault, seed_ids=("seeded",))) == faulty


def test_faults_combine() -> None:
    c = client("blaxel", *faults_of("blaxel"), seed_ids=("seeded",))
    assert create(c, model("m1")).status_code == 200
    assert delete(c, "blaxel", "seeded").status_code == 202  # delete-202-accepted
    assert delete(client("oxen", *faults_of("oxen"), seed_ids=("s",)), "oxen", "s").status_code == 204
    assert delete(client("baseten", *faults_of("baseten"), seed_ids=("s",)), "baseten", "s").status_code == 202


def test_create_renames_keeps_a_valid_distinct_name() -> None:
    c = client("blaxel", "create-renames")
    name = create(c, model("a" * 49)).json()["metadata"]["name"]
    assert name != "a" * 49 and len(name) == 49 and re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?", name)


def test_create_html_error_only_affects_400() -> None:
    c = client("blaxel", "create-html-error", seed_ids=("m1",))
    assert _ctype(create(c, {})) == "text/html"
    assert_error(create(c, model("m1")), "blaxel", 409)
    assert_error(create(c, model("m2"), {}), "blaxel", 401)


# ---------------------------------------------------------------- properties

_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
JSON_VALUES = st.recursive(
    _scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=16,
)
_NAMES = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True) | JSON_VALUES
_MODEL_LIKE = st.fixed_dictionaries(
    {"metadata": st.fixed_dictionaries({"name": _NAMES}, optional={"displayName": JSON_VALUES, "labels": JSON_VALUES})},
    optional={
        "spec": st.fixed_dictionaries(
            {},
            optional={
                "enabled": JSON_VALUES,
                "sandbox": JSON_VALUES,
                "flavors": st.lists(
                    st.fixed_dictionaries(
                        {}, optional={"name": JSON_VALUES, "type": st.sampled_from(["cpu", "gpu", "x"])}
                    )
                )
                | JSON_VALUES,
                "policies": st.lists(st.text()) | JSON_VALUES,
                "runtime": st.fixed_dictionaries(
                    {}, optional={"type": st.sampled_from(RUNTIME_TYPES) | JSON_VALUES, "model": JSON_VALUES}
                )
                | JSON_VALUES,
            },
        )
        | JSON_VALUES
    },
)


@pytest.fixture(scope="module")
def apps() -> Iterator[dict[str, TestClient]]:
    """Long-lived clients, one per vendor, with a seeded resource."""
    clients = {vendor: TestClient(create_app(vendor, MockOptions(seed_ids=("seeded",)))) for vendor in VENDORS}
    for c in clients.values():
        c.__enter__()
    yield clients
    for c in clients.values():
        c.__exit__(None, None, None)


def _assert_json_no_5xx(r: ResponseLike) -> Any:
    """Assert the response is below 500 and JSON; return the body."""
    assert r.status_code < 500, r.text
    assert _ctype(r) == "application/json"
    return r.json()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=JSON_VALUES | _MODEL_LIKE)
def test_create_never_5xx_on_random_json(apps: dict[str, TestClient], body: Any) -> None:
    out = _assert_json_no_5xx(create(apps["blaxel"], body))
    if isinstance(out, dict) and "error" in out:
        assert out["code"] in (400, 409)
    else:
        assert out["metadata"]["name"] == body["metadata"]["name"] and out["status"] == "DEPLOYED"


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=256))
def test_create_never_5xx_on_random_bytes(apps: dict[str, TestClient], raw: bytes) -> None:
    _assert_json_no_5xx(apps["blaxel"].post("/v0/models", content=raw, headers=BEARER))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(vendor=st.sampled_from(VENDORS), ident=st.text(max_size=40))
def test_delete_never_5xx_on_random_ids(apps: dict[str, TestClient], vendor: str, ident: str) -> None:
    path = DELETE_PATH[vendor].format(quote(ident, safe=""))
    out = _assert_json_no_5xx(apps[vendor].delete(path, headers=AUTH[vendor]))
    assert isinstance(out, dict)
