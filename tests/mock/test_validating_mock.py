"""The validating, recording mode of the reference mocks (in-process, via Starlette's TestClient)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest

from conformance.mock import MockOptions, create_app
from tests.helpers import ResponseLike

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

SPECS = Path(__file__).resolve().parents[2] / "specs"
TOKEN = "validating-token-0123"
RESTRICTED = "restricted-token-4567"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
APIKEY = {"Authorization": f"Api-Key {TOKEN}"}


def validating(vendor: str, *faults: str, record: Path | None = None, **options: Any) -> TestClient:
    """A test client of the vendor's mock in validating mode."""
    app = create_app(
        vendor,
        MockOptions(
            token=TOKEN,
            restricted_token=RESTRICTED,
            faults=frozenset(faults),
            validate=True,
            spec_dir=SPECS / vendor,
            record_path=record,
            **options,
        ),
    )
    return TestClient(app)


def traffic(c: TestClient) -> list[dict[str, Any]]:
    """The records the app kept."""
    return list(c.app.state.traffic)  # type: ignore[attr-defined]


def last(c: TestClient) -> dict[str, Any]:
    """The last record."""
    return traffic(c)[-1]


def broken(record: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The record's violations grouped by requirement id."""
    out: dict[str, list[dict[str, Any]]] = {}
    for violation in record["violations"]:
        out.setdefault(violation["requirement"], []).append(violation)
    return out


def create(c: TestClient, body: Any, headers: dict[str, str] | None = None) -> ResponseLike:
    """POST a Blaxel create request."""
    response: ResponseLike = c.post("/v0/models", json=body, headers=BEARER if headers is None else headers)
    return response


def test_faithful_mode_has_no_validation_layer() -> None:
    app = create_app("blaxel", MockOptions(token=TOKEN))
    assert not hasattr(app.state, "traffic")
    assert app.middleware == []


def test_validate_needs_a_spec_dir() -> None:
    with pytest.raises(ValueError, match="spec_dir"):
        MockOptions(validate=True)


def test_conformant_exchanges_record_no_violation() -> None:
    c = validating("blaxel")
    assert create(c, {"metadata": {"name": "m1", "labels": {"a": "b"}}, "spec": {"enabled": True}}).status_code == 200
    assert create(c, {"metadata": {"name": "m1"}, "spec": {}}).status_code == 409
    assert c.delete("/v0/models/nope", headers=BEARER).status_code == 404
    assert c.delete("/v0/models/m1", headers=BEARER).status_code == 200
    records = traffic(c)
    assert [r["response"]["status"] for r in records] == [200, 409, 404, 200]
    assert all(r["violations"] == [] and r["reply_violations"] == [] for r in records)
    assert [r["role"] for r in records] == ["create", "create", "delete", "delete"]
    assert records[0]["operation"] == "CreateModel" and records[0]["template"] == "/v0/models"


def test_uppercase_name_is_answered_400_and_recorded_with_its_value() -> None:
    c = validating("blaxel")
    response = create(c, {"metadata": {"name": "MyModel"}, "spec": {}})
    assert response.status_code == 400
    assert set(response.json()) == {"error", "code", "message"} and "MyModel" in response.json()["message"]
    record = last(c)
    assert record["answered_by"] == "validator"
    (violation,) = broken(record)["BLX-CLIENT-NAME-CHARSET"]
    assert violation == {
        "requirement": "BLX-CLIENT-NAME-CHARSET",
        "level": "MUST",
        "aspect": "body_field",
        "location": "body",
        "pointer": "/metadata/name",
        "value": "MyModel",
        "message": violation["message"],
    }
    assert "'MyModel'" in violation["message"]
    assert "BLX-CLIENT-NAME-EDGES" not in broken(record)


@pytest.mark.parametrize(
    ("name", "requirement"),
    [
        ("a" * 50, "BLX-CLIENT-NAME-MAXLEN"),
        ("-edge", "BLX-CLIENT-NAME-EDGES"),
        ("under_score", "BLX-CLIENT-NAME-CHARSET"),
    ],
)
def test_name_rules(name: str, requirement: str) -> None:
    c = validating("blaxel")
    assert create(c, {"metadata": {"name": name}, "spec": {}}).status_code == 400
    assert list(broken(last(c))) == [requirement]


def test_schema_violation_names_the_pointer() -> None:
    c = validating("blaxel")
    assert create(c, {"metadata": {"name": 42}, "spec": {"flavors": {}}}).status_code == 400
    found = broken(last(c))["BLX-CLIENT-BODY-SCHEMA"]
    assert {v["pointer"] for v in found} == {"/metadata/name", "/spec/flavors"}
    assert any(v["value"] == 42 and "not of type 'string'" in v["message"] for v in found)


def test_missing_body_and_invalid_json() -> None:
    c = validating("blaxel")
    assert c.post("/v0/models", headers={**BEARER, "Content-Type": "application/json"}).status_code == 400
    assert "required" in broken(last(c))["BLX-CLIENT-BODY-SCHEMA"][0]["message"]
    invalid = c.post("/v0/models", content=b"{nope", headers={**BEARER, "Content-Type": "application/json"})
    assert invalid.status_code == 400
    assert "not valid JSON" in broken(last(c))["BLX-CLIENT-BODY-SCHEMA"][0]["message"]


def test_content_type_is_checked() -> None:
    c = validating("blaxel")
    body = json.dumps({"metadata": {"name": "m1"}, "spec": {}})
    assert c.post("/v0/models", content=body, headers={**BEARER, "Content-Type": "text/plain"}).status_code == 400
    (violation,) = broken(last(c))["BLX-CLIENT-CONTENT-TYPE"]
    assert violation["value"] == "text/plain" and "application/json" in violation["message"]
    assert c.post("/v0/models", content=body, headers={**BEARER, "Content-Type": "application/json; charset=utf-8"})
    assert last(c)["violations"] == []


def test_read_only_members_are_a_should_finding_and_ignored() -> None:
    c = validating("blaxel")
    body = {
        "metadata": {"name": "m1", "createdAt": "2025-01-01T00:00:00Z", "workspace": "w"},
        "spec": {},
        "status": "RUNNING",
        "events": [],
    }
    response = create(c, body)
    assert response.status_code == 200, response.text
    found = broken(last(c))
    assert set(found) == {"BLX-CLIENT-READONLY-NOT-SENT"}
    assert {v["pointer"] for v in found["BLX-CLIENT-READONLY-NOT-SENT"]} == {
        "/metadata/createdAt",
        "/metadata/workspace",
        "/status",
        "/events",
    }
    assert all(v["level"] == "SHOULD" for v in found["BLX-CLIENT-READONLY-NOT-SENT"])
    assert response.json()["status"] == "DEPLOYED"


def test_path_and_method_violations_keep_the_mock_answer() -> None:
    c = validating("blaxel")
    assert c.delete("/v0/model/m1", headers=BEARER).status_code == 404
    assert list(broken(last(c))) == ["BLX-CLIENT-PATH"]
    assert last(c)["reply_violations"] == []
    assert c.put("/v0/models/m1", headers=BEARER).status_code == 405
    (violation,) = broken(last(c))["BLX-CLIENT-METHOD"]
    assert "PUT" in violation["message"] and "DELETE" in violation["message"]


def test_encoded_path_parameter_is_decoded() -> None:
    c = validating("blaxel", seed_ids=("a b",))
    assert c.delete("/v0/models/a%20b", headers=BEARER).status_code == 200
    assert last(c)["violations"] == [] and last(c)["path"] == "/v0/models/a%20b"


@pytest.mark.parametrize(
    ("headers", "kind"),
    [
        ({}, "missing"),
        ({"Authorization": f"Basic {TOKEN}"}, "wrong-scheme"),
        ({"Authorization": "Bearer"}, "malformed"),
    ],
)
def test_bad_credentials_break_the_auth_rule(headers: dict[str, str], kind: str) -> None:
    c = validating("blaxel", seed_ids=("m1",))
    assert c.delete("/v0/models/m1", headers=headers).status_code == 401
    record = last(c)
    assert record["auth"]["kind"] == kind
    assert list(broken(record)) == ["BLX-CLIENT-AUTH-SCHEME"]


def test_wrong_token_is_a_note_not_a_violation() -> None:
    c = validating("blaxel", seed_ids=("m1",))
    assert c.delete("/v0/models/m1", headers={"Authorization": "Bearer not-the-token"}).status_code == 401
    assert last(c)["violations"] == [] and last(c)["notes"]


def test_auth_is_judged_before_the_body() -> None:
    c = validating("blaxel")
    assert create(c, {"metadata": {"name": "BAD"}}, {"Authorization": f"Bearer {RESTRICTED}"}).status_code == 403
    assert create(c, {"metadata": {"name": "BAD"}}, {}).status_code == 401


def test_blaxel_alias_is_accepted_and_reported() -> None:
    c = validating("blaxel")
    headers = {"X-Blaxel-Authorization": f"Bearer {TOKEN}", "X-Blaxel-Workspace": "ws", "Blaxel-Version": "x"}
    assert create(c, {"metadata": {"name": "m1"}, "spec": {}}, headers).status_code == 200
    found = broken(last(c))
    assert set(found) == {"BLX-CLIENT-AUTH-DOCUMENTED", "BLX-CLIENT-HEADERS-DOCUMENTED"}
    assert found["BLX-CLIENT-AUTH-DOCUMENTED"][0]["message"].startswith("undocumented but accepted")
    assert {v["pointer"] for v in found["BLX-CLIENT-HEADERS-DOCUMENTED"]} == {"x-blaxel-workspace", "blaxel-version"}
    headers["X-Blaxel-Authorization"] = f"Bearer {RESTRICTED}"
    assert c.delete("/v0/models/m1", headers=headers).status_code == 403


def test_blaxel_alias_is_rejected_when_strict() -> None:
    c = validating("blaxel", strict_auth=True)
    response = create(c, {"metadata": {"name": "m1"}, "spec": {}}, {"X-Blaxel-Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 401 and response.headers["www-authenticate"].startswith("Bearer")
    assert "undocumented alias" in response.json()["message"]
    (violation,) = broken(last(c))["BLX-CLIENT-AUTH-SCHEME"]
    assert "strict" in violation["message"] and TOKEN not in json.dumps(violation)


def test_faithful_blaxel_mock_accepts_the_alias_unless_strict() -> None:
    headers = {"X-Blaxel-Authorization": f"Bearer {TOKEN}"}
    body = {"metadata": {"name": "m1"}, "spec": {}}
    assert create(TestClient(create_app("blaxel", MockOptions(token=TOKEN))), body, headers).status_code == 200
    strict = TestClient(create_app("blaxel", MockOptions(token=TOKEN, strict_auth=True)))
    assert create(strict, body, headers).status_code == 401


def test_baseten_bearer_alias_and_documented_api_key() -> None:
    c = validating("baseten", seed_ids=("m1", "m2"))
    assert c.delete("/v1/models/m1", headers=APIKEY).json() == {"id": "m1", "deleted": True}
    assert last(c)["violations"] == []
    assert c.delete("/v1/models/m2", headers=BEARER).status_code == 200
    assert list(broken(last(c))) == ["BTN-CLIENT-AUTH-DOCUMENTED"]
    strict = validating("baseten", seed_ids=("m1",), strict_auth=True)
    assert strict.delete("/v1/models/m1", headers=BEARER).status_code == 401
    assert list(broken(last(strict))) == ["BTN-CLIENT-AUTH-SCHEME"]


def test_oxen_auth_is_a_should_rule() -> None:
    c = validating("oxen", seed_ids=("m1",))
    assert c.delete("/api/ai/models/m1").status_code == 401
    assert [v["level"] for v in last(c)["violations"]] == ["SHOULD"]
    assert c.delete("/api/ai/models/m1", headers=BEARER).status_code == 200
    assert last(c)["violations"] == [] and last(c)["reply_violations"] == []


@pytest.mark.parametrize(
    ("vendor", "fault", "path", "pointer"),
    [
        ("blaxel", "delete-status-outside-enum", "/v0/models/m1", "/status"),
        ("oxen", "oxen-created-as-string", "/api/ai/models/m1", "/created"),
        ("baseten", "baseten-missing-deleted", "/v1/models/m1", ""),
    ],
)
def test_faulty_replies_are_recorded(vendor: str, fault: str, path: str, pointer: str) -> None:
    c = validating(vendor, fault, seed_ids=("m1",))
    assert c.delete(path, headers=APIKEY if vendor == "baseten" else BEARER).status_code == 200
    (problem,) = last(c)["reply_violations"]
    assert problem["pointer"] == pointer and problem["status"] == 200
    assert last(c)["faults"] == [fault]


def test_html_error_reply_is_recorded() -> None:
    c = validating("baseten", "baseten-html-404")
    assert c.delete("/v1/models/nope", headers=APIKEY).status_code == 404
    assert "text/html" in last(c)["reply_violations"][0]["message"]


def test_records_are_redacted_json_lines(tmp_path: Path) -> None:
    record_path = tmp_path / "traffic.jsonl"
    c = validating("blaxel", record=record_path)
    create(c, {"metadata": {"name": "m1", "labels": {"leak": TOKEN}}, "spec": {}})
    c.delete("/v0/models/m1", headers={"X-Blaxel-Authorization": f"Bearer {TOKEN}"})
    c.delete("/v0/models/m1", headers={"Authorization": "Bearer someone-elses-secret"})
    c.get("/__mock__/resources")
    text = record_path.read_text(encoding="utf-8")
    lines = [json.loads(line) for line in text.splitlines()]
    assert [line["seq"] for line in lines] == [1, 2, 3]
    assert TOKEN not in text and "someone-elses-secret" not in text
    assert lines[0]["request"]["headers"]["authorization"] == "Bearer [REDACTED]"
    assert lines[1]["request"]["headers"]["x-blaxel-authorization"] == "Bearer [REDACTED]"
    assert "[REDACTED]" in lines[0]["request"]["body"]


def test_a_credential_header_the_contract_does_not_name_is_redacted_too(tmp_path: Path) -> None:
    record_path = tmp_path / "traffic.jsonl"
    c = validating("oxen", record=record_path, seed_ids=("m1",))
    c.delete("/api/ai/models/m1", headers={**BEARER, "X-Gateway-Api-Token": "gateway-secret-9f2e"})
    text = record_path.read_text(encoding="utf-8")
    assert "gateway-secret-9f2e" not in text
    assert json.loads(text.splitlines()[0])["request"]["headers"]["x-gateway-api-token"] == "[REDACTED]"
