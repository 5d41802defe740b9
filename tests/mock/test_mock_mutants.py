"""Tests of the spec-derived mutants of the reference mocks (conformance.mock._mutants)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from conformance.mock import MockApp, MockOptions, create_app
from conformance.mock import _mutants as mutants_module
from conformance.mock import vendors as mock_vendors
from conformance.mock._mutants import KINDS, classify_id, default_spec_dir, mutants_of
from conformance.run.servers import BackgroundServer
from tests.helpers import run_cli

with __import__("warnings").catch_warnings():
    __import__("warnings").simplefilter("ignore")
    from starlette.testclient import TestClient

VENDORS = mock_vendors()
TOKEN = "tok-good"
RESTRICTED = "tok-restricted"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
API_KEY = {"Authorization": f"Api-Key {TOKEN}"}
BODY: dict[str, Any] = {
    "metadata": {"name": "my-model", "displayName": "Mine", "labels": {"team": "a"}},
    "spec": {"runtime": {"type": "openai", "model": "gpt-4.1"}, "flavors": [{"name": "t4", "type": "cpu"}]},
}


def client(vendor: str, mutant: str | None, *seed: str, **options: Any) -> TestClient:
    """A TestClient of vendor's mock with mutant (None: faithful) and seeded ids."""
    opts = MockOptions(token=TOKEN, restricted_token=RESTRICTED, seed_ids=seed, mutant=mutant, **options)
    return TestClient(create_app(vendor, opts))


def hits(test_client: TestClient) -> int:
    """How many exchanges the client's mutant changed."""
    app = test_client.app
    assert isinstance(app, MockApp)
    return int(app.state.mutant_hits)


def copy_specs(vendor: str, tmp_path: Path) -> Path:
    """A writable copy of the vendor's specs folder."""
    target = tmp_path / vendor
    shutil.copytree(default_spec_dir(vendor), target)
    return target


def edit_yaml(path: Path) -> Iterator[dict[str, Any]]:
    """Yield the parsed document, then write it back."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    yield document
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")


@pytest.mark.parametrize("vendor", VENDORS)
def test_names_are_unique_stable_and_well_formed(vendor: str) -> None:
    """Two derivations agree; every name is role.kind-part.…, every kind is known, every pointer is set."""
    first = mutants_of(vendor, default_spec_dir(vendor))
    second = mutants_of(vendor, default_spec_dir(vendor))
    assert list(first) == list(second)
    assert len(first) > 30
    for name, mutant in first.items():
        assert mutant.name == name
        assert re.fullmatch(r"(create|delete)\.[a-z-]+(\.[^\s]+)?", name), name
        assert mutant.kind in KINDS
        assert mutant.pointer and mutant.description and "\n" not in mutant.description
        assert mutant.equivalent == bool(mutant.reason)


def test_the_expected_families_are_derived() -> None:
    """Each family of the derivation shows up where the spec documents it."""
    blaxel = mutants_of("blaxel", default_spec_dir("blaxel"))
    runtime_types = yaml.safe_load((default_spec_dir("blaxel") / "openapi.yaml").read_text())["components"]["schemas"][
        "ModelRuntime"
    ]["properties"]["type"]["enum"]
    rejected = [n for n in blaxel if n.startswith("create.request-enum.spec.runtime.type.")]
    assert len(rejected) == len(runtime_types) == 18
    for name in (
        "create.response.metadata.name.dropped",
        "create.response.spec.flavors[].type.outside-enum",
        "create.response.events[].status.wrong-type",
        "create.echo.metadata.labels.dropped",
        "create.echo.spec.runtime.model.altered",
        "create.default.spec.enabled.absent",
        "create.status.409-as-400",
        "create.error-body.error.dropped",
        "create.auth.permission-ignored",
        "delete.lifecycle.answers-another-id",
        "delete.unusual-id.encoded-slash",
    ):
        assert name in blaxel, name
    assert not any(n.startswith("create.echo.metadata.createdAt") for n in blaxel), "readOnly members are not sent"
    baseten = mutants_of("baseten", default_spec_dir("baseten"))
    assert "delete.response.deleted.wrong-type" in baseten
    assert not any(m.operation == "create" for m in baseten.values())


def test_dropping_an_optional_member_is_marked_equivalent() -> None:
    """A required member dropped is a mutant; an optional one is marked equivalent, with the reason."""
    oxen = mutants_of("oxen", default_spec_dir("oxen"))
    assert not oxen["delete.response.id.dropped"].equivalent
    assert oxen["delete.response.description.dropped"].equivalent
    assert "optional" in oxen["delete.response.description.dropped"].reason
    assert "delete.response.description.null" not in oxen, "description is nullable (3.1 type list)"
    assert "delete.response.display_name.null" in oxen


def test_a_new_response_member_brings_new_mutants(tmp_path: Path) -> None:
    """Adding a required enum member to a copy of the spec adds exactly its four mutants."""
    before = mutants_of("baseten", default_spec_dir("baseten"))
    spec_dir = copy_specs("baseten", tmp_path)
    for document in edit_yaml(spec_dir / "openapi.yaml"):
        schema = document["components"]["schemas"]["ModelTombstoneV1"]
        schema["properties"]["state"] = {"type": "string", "enum": ["gone", "going"]}
        schema["required"].append("state")
    after = mutants_of("baseten", spec_dir)
    added = sorted(set(after) - set(before))
    assert added == [f"delete.response.state.{m}" for m in ("dropped", "null", "outside-enum", "wrong-type")]
    assert (
        after["delete.response.state.outside-enum"].pointer
        == "/components/schemas/ModelTombstoneV1/properties/state/enum"
    )


def test_request_enums_defaults_and_nullable_follow_the_spec(tmp_path: Path) -> None:
    """One more enum value, one more default and a 3.0 nullable change the derived set accordingly."""
    before = mutants_of("blaxel", default_spec_dir("blaxel"))
    spec_dir = copy_specs("blaxel", tmp_path)
    for document in edit_yaml(spec_dir / "openapi.yaml"):
        schemas = document["components"]["schemas"]
        schemas["ModelRuntime"]["properties"]["type"]["enum"].append("ollama")
        schemas["ModelSpec"]["properties"]["sandbox"]["default"] = False
        schemas["Metadata"]["allOf"][2]["properties"]["displayName"]["nullable"] = True
    after = mutants_of("blaxel", spec_dir)
    assert "create.request-enum.spec.runtime.type.ollama-rejected" in after
    assert {"create.default.spec.sandbox.absent", "create.default.spec.sandbox.other"} <= set(after) - set(before)
    assert "create.response.metadata.displayName.null" in before
    assert "create.response.metadata.displayName.null" not in after


def test_an_unknown_mutant_is_a_one_line_value_error() -> None:
    """create_app refuses a mutant the vendor's spec does not derive."""
    with pytest.raises(ValueError, match=re.escape("unknown mutant 'delete.nope' for vendor oxen")) as caught:
        create_app("oxen", MockOptions(mutant="delete.nope"))
    assert "\n" not in str(caught.value)


def test_the_engine_names_no_vendor() -> None:
    """The mutation engine reads the documents: no vendor name, no import of the engine outside the mock package."""
    source = Path(mutants_module.__file__).read_text(encoding="utf-8").lower()
    for vendor in VENDORS:
        assert vendor not in source
    assert not re.search(r"^\s*(from|import) conformance", source, re.MULTILINE)


def test_response_member_mutants_change_the_answer() -> None:
    """Wrong type, outside enum, null and dropped members appear in the answer; the faithful app answers right."""
    faithful = client("baseten", None, "m1").delete("/v1/models/m1", headers=API_KEY).json()
    assert faithful["deleted"] is True
    wrong = client("baseten", "delete.response.deleted.wrong-type", "m1").delete("/v1/models/m1", headers=API_KEY)
    assert wrong.status_code == 200 and wrong.json()["deleted"] == "mutant"
    dropped = client("baseten", "delete.response.id.dropped", "m1").delete("/v1/models/m1", headers=API_KEY).json()
    assert "id" not in dropped and dropped["deleted"] is True
    enum = client("oxen", "delete.response.model_type.outside-enum", "m1")
    assert enum.delete("/api/ai/models/m1", headers=BEARER).json()["model_type"] == "mutant-outside-enum"
    null = client("blaxel", "create.response.spec.runtime.type.null").post("/v0/models", json=BODY, headers=BEARER)
    assert null.status_code == 200 and null.json()["spec"]["runtime"]["type"] is None


def test_media_type_and_status_mutants() -> None:
    """The success answer's media type and status are changed; other answers are not."""
    plain = client("oxen", "delete.response.media-type", "m1").delete("/api/ai/models/m1", headers=BEARER)
    assert plain.headers["content-type"].startswith("text/plain") and plain.json()["id"] == "m1"
    swapped = client("baseten", "delete.status.200-as-202", "m1")
    assert swapped.delete("/v1/models/m1", headers=API_KEY).status_code == 202
    assert swapped.delete("/v1/models/m1", headers=API_KEY).status_code == 404
    empty = client("baseten", "delete.status.200-as-204", "m1").delete("/v1/models/m1", headers=API_KEY)
    assert empty.status_code == 204 and empty.content == b""
    conflict = client("blaxel", "create.status.409-as-400")
    assert conflict.post("/v0/models", json=BODY, headers=BEARER).status_code == 200
    assert conflict.post("/v0/models", json=BODY, headers=BEARER).status_code == 400


def test_error_shape_mutants() -> None:
    """Error bodies lose a required member or stop being JSON; success answers are untouched."""
    assert "error" in client("blaxel", None).post("/v0/models", json={}, headers=BEARER).json()
    dropped = client("blaxel", "create.error-body.error.dropped")
    answer = dropped.post("/v0/models", json={}, headers=BEARER)
    assert answer.status_code == 400 and "error" not in answer.json() and answer.json()["code"] == 400
    assert dropped.post("/v0/models", json=BODY, headers=BEARER).json()["metadata"]["name"] == "my-model"
    html = client("oxen", "delete.error-body.not-json").delete("/api/ai/models/nope", headers=BEARER)
    assert html.status_code == 404 and html.headers["content-type"].startswith("text/html")
    assert client("baseten", "delete.error-body.empty").delete("/v1/models/nope", headers=API_KEY).json() == {}


@pytest.mark.parametrize(
    ("mutant", "headers"),
    [
        ("delete.auth.no-credentials-accepted", {}),
        ("delete.auth.any-token-accepted", {"Authorization": "Api-Key not-the-token"}),
        ("delete.auth.wrong-scheme-accepted", {"Authorization": f"Token {TOKEN}"}),
        ("delete.auth.permission-ignored", {"Authorization": f"Api-Key {RESTRICTED}"}),
    ],
)
def test_auth_mutants_let_the_request_through(mutant: str, headers: dict[str, str]) -> None:
    """Each bypass turns the faithful 401/403 into a 200, and only for its own kind of credentials."""
    assert client("baseten", None, "m1").delete("/v1/models/m1", headers=headers).status_code in (401, 403)
    bypassed = client("baseten", mutant, "m1")
    assert bypassed.delete("/v1/models/m1", headers=headers).status_code == 200
    assert hits(bypassed) == 1
    if mutant != "delete.auth.no-credentials-accepted":
        other = client("baseten", mutant, "m1")
        assert other.delete("/v1/models/m1", headers={}).status_code == 401


def test_lifecycle_mutants() -> None:
    """Deletes that keep the resource, delete another one, answer another id, or succeed for unknown ids."""
    kept = client("oxen", "delete.lifecycle.does-not-delete", "a", "b")
    assert kept.delete("/api/ai/models/a", headers=BEARER).status_code == 200
    assert sorted(kept.get("/__mock__/resources").json()["ids"]) == ["a", "b"]
    other = client("oxen", "delete.lifecycle.deletes-another", "a", "b")
    assert other.delete("/api/ai/models/a", headers=BEARER).json()["id"] == "a"
    assert other.get("/__mock__/resources").json()["ids"] == ["a"]
    renamed = client("blaxel", "delete.lifecycle.answers-another-id", "abc")
    assert renamed.delete("/v0/models/abc", headers=BEARER).json()["metadata"]["name"] != "abc"
    phantom = client("baseten", "delete.lifecycle.unknown-succeeds")
    assert client("baseten", None).delete("/v1/models/ghost", headers=API_KEY).status_code == 404
    assert phantom.delete("/v1/models/ghost", headers=API_KEY).json() == {"id": "ghost", "deleted": True}


def test_create_echo_and_default_mutants() -> None:
    """A member that was sent is dropped or altered in the answer; an omitted default is dropped or changed."""
    faithful = client("blaxel", None).post("/v0/models", json=BODY, headers=BEARER).json()
    assert faithful["metadata"]["labels"] == {"team": "a"} and faithful["spec"]["enabled"] is True
    dropped = client("blaxel", "create.echo.metadata.labels.dropped").post("/v0/models", json=BODY, headers=BEARER)
    assert "labels" not in dropped.json()["metadata"]
    altered = client("blaxel", "create.echo.spec.flavors[].type.altered").post("/v0/models", json=BODY, headers=BEARER)
    assert altered.json()["spec"]["flavors"] == [{"name": "t4", "type": "gpu"}]
    absent_client = client("blaxel", "create.default.spec.enabled.absent")
    absent = absent_client.post("/v0/models", json=BODY, headers=BEARER)
    assert "enabled" not in absent.json()["spec"]
    sent = {**BODY, "spec": {**BODY["spec"], "enabled": True}}
    other_client = client("blaxel", "create.default.spec.enabled.other")
    kept = other_client.post("/v0/models", json=sent, headers=BEARER)
    assert kept.json()["spec"]["enabled"] is True, "the default mutant only acts when the member is omitted"
    assert hits(absent_client) == 1 and hits(other_client) == 0


def test_request_enum_and_validation_mutants() -> None:
    """One enum value is refused with 400 in the vendor's shape; invalid bodies are repaired and accepted."""
    rejecting = client("blaxel", "create.request-enum.spec.runtime.type.openai-rejected")
    refused = rejecting.post("/v0/models", json=BODY, headers=BEARER)
    assert refused.status_code == 400 and "error" in refused.json()
    other = {**BODY, "spec": {"runtime": {"type": "groq"}}}
    assert rejecting.post("/v0/models", json=other, headers=BEARER).status_code == 200
    no_spec = {"metadata": {"name": "bare"}}
    assert client("blaxel", None).post("/v0/models", json=no_spec, headers=BEARER).status_code == 400
    lenient = client("blaxel", "create.request.spec.missing-accepted")
    assert lenient.post("/v0/models", json=no_spec, headers=BEARER).status_code == 200
    bad_enum = {"metadata": {"name": "e"}, "spec": {"runtime": {"type": "nope"}}}
    accepting = client("blaxel", "create.request.spec.runtime.type.outside-enum-accepted")
    assert accepting.post("/v0/models", json=bad_enum, headers=BEARER).status_code == 200


@pytest.mark.parametrize(
    ("cls", "raw"),
    [
        ("non-ascii", "caf%C3%A9"),
        ("space", "a%20b"),
        ("regex-metachar", "a%2Bb"),
        ("encoded-slash", "a%2Fb"),
        ("dot-segment", "%2E%2E"),
        ("long", "x" * 300),
        ("trailing-newline", "abc%0A"),
    ],
)
def test_unusual_id_mutants_answer_500_only_for_their_class(cls: str, raw: str) -> None:
    """The class's ids get a 500; a plain unknown id still gets the faithful 404."""
    assert cls in classify_id(raw)
    mutated = client("oxen", f"delete.unusual-id.{cls}")
    assert mutated.delete(f"/api/ai/models/{raw}", headers=BEARER).status_code == 500
    assert mutated.delete("/api/ai/models/plain-id", headers=BEARER).status_code == 404
    assert hits(mutated) == 1, "only the exchange the mutant changed is counted"
    assert client("oxen", None).delete(f"/api/ai/models/{raw}", headers=BEARER).status_code != 500


def test_a_mutant_over_real_http() -> None:
    """Served by uvicorn on loopback, the wrong-type mutant answers the wrong type; the faithful server does not."""
    for mutant, expected in ((None, True), ("delete.response.deleted.wrong-type", "mutant")):
        options = MockOptions(token=TOKEN, seed_ids=("m1",), mutant=mutant)
        server = BackgroundServer(create_app("baseten", options)).start()
        try:
            answer = httpx.delete(f"{server.url}/v1/models/m1", headers=API_KEY, timeout=10)
        finally:
            server.stop()
        assert answer.status_code == 200
        assert answer.json()["deleted"] == expected


def test_cli_lists_and_refuses_mutants() -> None:
    """``conformance mock --list-mutants`` lists the derived names; an unknown ``--mutant`` is a usage error."""
    listed = run_cli("mock", "--vendor", "baseten", "--list-mutants", timeout=60)
    assert listed.returncode == 0
    names = [line.split()[1] for line in listed.stdout.splitlines()]
    assert names == list(mutants_of("baseten", default_spec_dir("baseten")))
    refused = run_cli("mock", "--vendor", "baseten", "--mutant", "delete.nope", timeout=60)
    assert refused.returncode == 2
    assert refused.stderr.strip().count("\n") == 0 and "unknown mutant" in refused.stderr


@pytest.mark.parametrize("vendor", VENDORS)
def test_every_derived_mutant_installs(vendor: str) -> None:
    """create_app accepts each derived name and records the mutant it applies."""
    for name, mutant in mutants_of(vendor, default_spec_dir(vendor)).items():
        app = create_app(vendor, MockOptions(mutant=name))
        assert app.state.mutant == mutant
        assert len(app.middleware) == 1


def test_read_only_mutants_keep_what_the_client_sent() -> None:
    """A read-only member sent by the client comes back as sent; the faithful app fills its own."""
    sent = {**BODY, "metadata": {**BODY["metadata"], "createdBy": "mallory"}}
    assert client("blaxel", None).post("/v0/models", json=sent, headers=BEARER).json()["metadata"]["createdBy"] != (
        "mallory"
    )
    kept = client("blaxel", "create.read-only.metadata.createdBy.kept").post("/v0/models", json=sent, headers=BEARER)
    assert kept.json()["metadata"]["createdBy"] == "mallory"
    names = [n for n in mutants_of("blaxel", default_spec_dir("blaxel")) if ".read-only." in n]
    assert "create.read-only.status.kept" in names and not any("events[]" in n for n in names)


def test_the_live_route_kills_a_mutant_and_passes_the_faithful_mock(tmp_path: Path) -> None:
    """benchmarks.mutation_score judges through ``conformance run --base-url``: wrong type killed, faithful clean."""
    from benchmarks.mutation_score import run_one

    mutant = mutants_of("baseten", default_spec_dir("baseten"))["delete.response.deleted.wrong-type"]
    faithful = run_one("baseten", None, tmp_path, budget=30, seed=1)
    assert faithful.exit_code == 0 and not faithful.must_failed
    killed = run_one("baseten", mutant, tmp_path, budget=30, seed=1)
    assert killed.killed and killed.exit_code == 1
    assert "BTN-DELETE-DELETED-TYPE" in killed.must_failed
    assert killed.expected == ["BTN-DELETE-DELETED-TYPE"]
    assert killed.hits is not None and killed.hits > 0
