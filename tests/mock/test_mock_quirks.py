"""The mocks' quirks (correct-but-unusual behaviours) do what they say; every delete is recorded with its origin."""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import time
from collections.abc import Iterable
from typing import Any

import pytest

from conformance.mock import MockOptions, UnknownFault, create_app, quirks_of, vendors
from conformance.mock._common import COMMON_QUIRKS, DELETIONS_KEPT, Store
from conformance.mock._quirks import ASYNC_DELETE_DELAY, EXTRA_MEMBER, foreign_ids
from conformance.run.servers import BackgroundServer

VENDORS = vendors()

TOKEN = "conformance-local-token"
AUTH = {"blaxel": f"Bearer {TOKEN}", "oxen": f"Bearer {TOKEN}", "baseten": f"Api-Key {TOKEN}"}
DELETE_PATH = {"blaxel": "/v0/models/{}", "oxen": "/api/ai/models/{}", "baseten": "/v1/models/{}"}


class Answer:
    """What the ASGI app sent: status, headers (lower-case names), the body pieces."""

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], pieces: list[bytes]) -> None:
        self.status = status
        self.header_list = [(k.decode().lower(), v.decode()) for k, v in headers]
        self.headers = dict(self.header_list)
        self.pieces = pieces
        self.raw = b"".join(pieces)

    def json(self) -> Any:
        """The body as JSON (gunzipped when it was compressed)."""
        data = gzip.decompress(self.raw) if self.headers.get("content-encoding") == "gzip" else self.raw
        return json.loads(data)


async def _acall(app: Any, method: str, path: str, body: Any, headers: dict[str, str]) -> Answer:
    raw = b"" if body is None else json.dumps(body).encode()
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": raw, "more_body": False}

    async def send(message: Any) -> None:
        sent.append(dict(message))

    await app(scope, receive, send)
    start = sent[0]
    return Answer(start["status"], start["headers"], [m.get("body", b"") for m in sent[1:]])


def call(
    app: Any,
    method: str,
    path: str,
    body: Any = None,
    vendor: str = "blaxel",
    headers: dict[str, str] | None = None,
    auth: bool = True,
) -> Answer:
    """Send one request to the ASGI app directly and collect the answer."""
    sent = {"content-type": "application/json", **({"authorization": AUTH[vendor]} if auth else {})}
    return asyncio.run(_acall(app, method, path, body, {**sent, **(headers or {})}))


def model(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    """A valid Blaxel create body."""
    body: dict[str, Any] = {"metadata": {"name": name}, "spec": {"runtime": {"type": "openai", "model": "gpt-4.1"}}}
    if labels is not None:
        body["metadata"]["labels"] = labels
    return body


def app_of(vendor: str, quirks: Iterable[str], **options: Any) -> Any:
    """The vendor's mock with those quirks."""
    return create_app(vendor, MockOptions(quirks=frozenset(quirks), **options))


def delete(app: Any, vendor: str, key: str, **kwargs: Any) -> Answer:
    """DELETE one resource of vendor."""
    return call(app, "DELETE", DELETE_PATH[vendor].format(key), vendor=vendor, **kwargs)


# --- names and validation -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("vendor", VENDORS)
def test_quirk_names_validated_in_one_line(vendor: str) -> None:
    with pytest.raises(UnknownFault) as caught:
        app_of(vendor, ["no-such-quirk"])
    text = str(caught.value)
    assert "\n" not in text and "no-such-quirk" in text and "known: " in text
    assert all(name in text for name in quirks_of(vendor))


def test_vendor_specific_quirks_are_not_everyones() -> None:
    assert set(COMMON_QUIRKS) <= set(quirks_of("baseten")) and set(COMMON_QUIRKS) <= set(quirks_of("oxen"))
    assert "blaxel-lenient-names" in quirks_of("blaxel")
    for wrong in ("blaxel-lenient-names", "bearer-required"):
        with pytest.raises(UnknownFault):
            app_of("baseten", [wrong])
    assert "idempotent-delete" not in quirks_of("blaxel")  # Blaxel's documented DELETE answers the Model
    # Oxen's DELETE answers the model, not a tombstone: a repeated 200 cannot say "nothing deleted", so an
    # idempotent Oxen server is indistinguishable from one whose deletes never happen (OXN-DELETE-GONE, SHOULD).
    assert "idempotent-delete" not in quirks_of("oxen")


def test_quirks_combine_with_each_other_and_with_faults() -> None:
    options = MockOptions(
        quirks=frozenset({"gzip", "extra-members", "async-delete"}), faults=frozenset({"delete-202-accepted"})
    )
    app = create_app("blaxel", options)
    assert call(app, "POST", "/v0/models", model("combo")).status == 200
    answer = delete(app, "blaxel", "combo", headers={"accept-encoding": "gzip"})
    assert answer.status == 202 and answer.headers["content-encoding"] == "gzip"
    body = answer.json()
    assert body["status"] == "DELETING" and EXTRA_MEMBER in body and EXTRA_MEMBER in body["metadata"]


# --- transport quirks -----------------------------------------------------------------------------------------------


def test_gzip_only_when_accepted() -> None:
    app = app_of("blaxel", ["gzip"])
    zipped = call(app, "POST", "/v0/models", model("zipped"), headers={"accept-encoding": "gzip, deflate"})
    assert zipped.status == 200 and zipped.raw[:2] == b"\x1f\x8b"
    assert zipped.headers["content-encoding"] == "gzip" and int(zipped.headers["content-length"]) == len(zipped.raw)
    assert zipped.json()["metadata"]["name"] == "zipped"
    plain = call(app, "POST", "/v0/models", model("plain"))
    assert "content-encoding" not in plain.headers and json.loads(plain.raw)["metadata"]["name"] == "plain"


@pytest.mark.parametrize("vendor", VENDORS)
def test_charset_on_json_answers(vendor: str) -> None:
    answer = delete(app_of(vendor, ["charset"]), vendor, "never-there")
    assert answer.status == 404 and answer.headers["content-type"] == "application/json; charset=utf-8"


def test_chunked_answer_in_pieces_without_length() -> None:
    answer = call(app_of("blaxel", ["chunked"]), "POST", "/v0/models", model("chunky"))
    assert answer.status == 200 and "content-length" not in answer.headers
    assert len([p for p in answer.pieces if p]) >= 3 and answer.json()["metadata"]["name"] == "chunky"


def test_chunked_and_connection_close_on_the_wire() -> None:
    server = BackgroundServer(app_of("oxen", ["chunked", "connection-close"], seed_ids=("wire",))).start()
    try:
        host, port = "127.0.0.1", int(server.url.rsplit(":", 1)[1])
        with socket.create_connection((host, port), timeout=5) as sock:
            request = f"DELETE /api/ai/models/wire HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\r\n"
            sock.sendall(request.encode())
            data = b""
            while chunk := sock.recv(65536):  # the server closes the connection: recv ends with b""
                data += chunk
    finally:
        server.stop()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().lower().split("\r\n")
    assert lines[0].startswith("http/1.1 200") and "transfer-encoding: chunked" in lines
    assert "connection: close" in lines and not any(line.startswith("content-length") for line in lines)
    assert b'"id":"wire"' in body


def test_connection_close_header() -> None:
    answer = delete(app_of("baseten", ["connection-close"]), "baseten", "x")
    assert answer.headers["connection"] == "close"


def test_latency_waits_without_blocking_the_loop() -> None:
    app = app_of("baseten", ["latency"], seed_ids=("a", "b"))
    headers = {"authorization": AUTH["baseten"]}

    async def both() -> list[Answer]:
        return list(
            await asyncio.gather(
                _acall(app, "DELETE", "/v1/models/a", None, headers),
                _acall(app, "DELETE", "/v1/models/b", None, headers),
            )
        )

    started = time.monotonic()
    answers = asyncio.run(both())
    elapsed = time.monotonic() - started
    assert [a.status for a in answers] == [200, 200]
    assert 0.2 <= elapsed < 0.38, elapsed  # both waited, at the same time


@pytest.mark.parametrize("vendor", VENDORS)
def test_rate_limit_every_seventh_with_retry_after(vendor: str) -> None:
    app = app_of(vendor, ["rate-limit"])
    statuses = [delete(app, vendor, f"unknown-{i}").status for i in range(1, 15)]
    assert [i + 1 for i, s in enumerate(statuses) if s == 429] == [7, 14] and set(statuses) == {404, 429}
    app = app_of(vendor, ["rate-limit"])
    for i in range(6):
        delete(app, vendor, f"unknown-{i}")
    refused = delete(app, vendor, "again")
    assert refused.status == 429 and refused.headers["retry-after"] == "1"
    body = refused.json()
    assert isinstance(body, dict) and body  # the vendor's error shape
    if vendor == "blaxel":
        assert body["code"] == 429 and isinstance(body["error"], str)
    assert delete(app, vendor, "again").status == 404  # the retry goes through


def test_rate_limit_retry_succeeds_even_on_the_next_turn() -> None:
    app = app_of("oxen", ["rate-limit"], seed_ids=("keep",))
    for i in range(6):
        delete(app, "oxen", f"unknown-{i}")
    assert delete(app, "oxen", "keep").status == 429  # 7th
    for i in range(6):
        delete(app, "oxen", f"other-{i}")
    assert delete(app, "oxen", "keep").status == 200  # the 14th would be refused, but it is a retry


@pytest.mark.parametrize("vendor", VENDORS)
def test_transient_503_then_retry_succeeds(vendor: str) -> None:
    app = app_of(vendor, ["transient-503"])
    statuses = [delete(app, vendor, f"u{i}").status for i in range(1, 12)]
    assert statuses[:10] == [404] * 10 and statuses[10] == 503
    app = app_of(vendor, ["transient-503"])
    for i in range(10):
        delete(app, vendor, f"u{i}")
    refused = delete(app, vendor, "same")
    assert refused.status == 503 and refused.headers["retry-after"] == "1" and refused.json()
    assert delete(app, vendor, "same").status == 404


def test_admin_routes_are_never_refused_or_delayed() -> None:
    app = app_of("blaxel", ["rate-limit", "transient-503", "latency"])
    started = time.monotonic()
    statuses = {call(app, "GET", "/__mock__/health", auth=False).status for _ in range(15)}
    assert statuses == {200} and time.monotonic() - started < 0.5


def test_extra_members_where_the_schema_allows_them() -> None:
    app = app_of("blaxel", ["extra-members"])
    sent = model("extra", labels={"team": "a"})
    sent["spec"]["flavors"] = [{"name": "t4", "type": "cpu"}]
    body = call(app, "POST", "/v0/models", sent).json()
    for obj in (body, body["metadata"], body["spec"], body["spec"]["runtime"], body["spec"]["flavors"][0]):
        assert EXTRA_MEMBER in obj
    assert all(EXTRA_MEMBER in event for event in body["events"])
    assert body["metadata"]["labels"] == {"team": "a"}  # labels take string values only: left as sent
    error = call(app, "POST", "/v0/models", {"metadata": {}}).json()
    assert error["code"] == 400 and EXTRA_MEMBER in error
    oxen = delete(app_of("oxen", ["extra-members"], seed_ids=("m",)), "oxen", "m").json()
    assert EXTRA_MEMBER in oxen and EXTRA_MEMBER in oxen["pricing"] and oxen["id"] == "m"


# --- state quirks ---------------------------------------------------------------------------------------------------


def test_async_delete_default_delay() -> None:
    assert MockOptions(quirks=frozenset({"async-delete"})).delete_delay == ASYNC_DELETE_DELAY
    assert MockOptions(quirks=frozenset({"async-delete"}), delete_delay=0.5).delete_delay == 0.5
    assert MockOptions().delete_delay == 0


def test_async_delete_blaxel_deleting_then_gone() -> None:
    app = app_of("blaxel", ["async-delete"], delete_delay=0.3)
    assert call(app, "POST", "/v0/models", model("slow")).status == 200
    first = delete(app, "blaxel", "slow")
    assert first.status == 200 and first.json()["status"] == "DELETING"
    again = delete(app, "blaxel", "slow")
    assert again.status == 200 and again.json()["status"] == "DELETING"
    assert call(app, "POST", "/v0/models", model("slow")).status == 409
    time.sleep(0.35)
    assert delete(app, "blaxel", "slow").status == 404
    assert call(app, "POST", "/v0/models", model("slow")).status == 200


@pytest.mark.parametrize("vendor", ["oxen", "baseten"])
def test_async_delete_delete_only_vendors(vendor: str) -> None:
    app = app_of(vendor, ["async-delete"], delete_delay=0.3, seed_ids=("slow",))
    first, again = delete(app, vendor, "slow"), delete(app, vendor, "slow")
    assert first.status == again.status == 200 and first.json()["id"] == again.json()["id"] == "slow"
    time.sleep(0.35)
    assert delete(app, vendor, "slow").status == 404


@pytest.mark.parametrize("vendor", VENDORS)
def test_foreign_models_present_and_recorded_as_foreign(vendor: str) -> None:
    app = app_of(vendor, ["foreign-models"], seed_ids=("mine",))
    ids = call(app, "GET", "/__mock__/resources", auth=False).json()["ids"]
    foreign = foreign_ids()
    assert len(foreign) == len(set(foreign)) == 50 and set(foreign) <= set(ids) and "mine" in ids
    assert all(not name.startswith("conformance") for name in foreign)
    assert delete(app, vendor, foreign[7]).status == 200
    record = call(app, "GET", "/__mock__/deletions", auth=False).json()
    assert record == [{"seq": 1, "id": foreign[7], "origin": "foreign", "created_via_api": False}]


def test_blaxel_lenient_names_only_edge_hyphens() -> None:
    strict, lenient = create_app("blaxel"), app_of("blaxel", ["blaxel-lenient-names"])
    for name in ("-lead", "trail-", "-both-"):
        assert call(strict, "POST", "/v0/models", model(name)).status == 400
        answer = call(lenient, "POST", "/v0/models", model(name))
        assert answer.status == 200 and answer.json()["metadata"]["name"] == name
    for name in ("Upper", "under_score", "-", "x" * 50, ""):
        assert call(lenient, "POST", "/v0/models", model(name)).status == 400, name


def test_oxen_bearer_required() -> None:
    app = app_of("oxen", ["bearer-required"], seed_ids=("m",))
    assert delete(app, "oxen", "m", auth=False).status == 401
    assert delete(app, "oxen", "m", headers={"authorization": f"Token {TOKEN}"}).status == 401
    assert delete(app, "oxen", "m").status == 200


def test_minimal_answers() -> None:
    app = app_of("blaxel", ["minimal-answers"])
    created = call(app, "POST", "/v0/models", model("lean")).json()
    assert created == {"metadata": {"name": "lean"}, "spec": {"runtime": {"type": "openai", "model": "gpt-4.1"}}}
    assert delete(app, "blaxel", "lean").json() == created
    oxen = delete(app_of("oxen", ["minimal-answers"], seed_ids=("m",)), "oxen", "m").json()
    assert sorted(oxen) == ["created", "id", "object", "owned_by"] and oxen["object"] == "model"


def test_idempotent_delete_baseten_says_deleted_false() -> None:
    app = app_of("baseten", ["idempotent-delete"], seed_ids=("m",))
    assert delete(app, "baseten", "m").json() == {"id": "m", "deleted": True}
    for key in ("m", "never-there"):
        answer = delete(app, "baseten", key)
        assert answer.status == 200 and answer.json() == {"id": key, "deleted": False}
    assert delete(app, "baseten", "m", auth=False).status == 401  # auth still first


@pytest.mark.parametrize("vendor", ["oxen", "baseten"])
def test_detail_errors(vendor: str) -> None:
    app = app_of(vendor, ["detail-errors"])
    answer = delete(app, vendor, "never-there")
    assert answer.status == 404 and set(answer.json()) == {"detail"}
    assert delete(app, vendor, "x", auth=False).json().keys() == {"detail"}


# --- who deleted what -----------------------------------------------------------------------------------------------


def test_deletions_record_origin() -> None:
    app = create_app("blaxel", MockOptions(seed_ids=("seeded",)))
    assert call(app, "POST", "/__mock__/resources", {"id": "admin-one"}, auth=False).status == 201
    assert call(app, "POST", "/v0/models", model("made")).status == 200
    for name in ("made", "seeded", "admin-one", "made", "never-there"):
        delete(app, "blaxel", name)
    record = call(app, "GET", "/__mock__/deletions", auth=False).json()
    assert [(d["id"], d["origin"], d["created_via_api"]) for d in record] == [
        ("made", "api", True),
        ("seeded", "seed", False),
        ("admin-one", "admin", False),
    ]


def test_deletions_with_delay_recorded_once() -> None:
    app = create_app("oxen", MockOptions(seed_ids=("m",), delete_delay=5))
    for _ in range(3):
        assert delete(app, "oxen", "m").status == 200
    assert len(call(app, "GET", "/__mock__/deletions", auth=False).json()) == 1


def test_deletions_record_is_bounded() -> None:
    store = Store()
    for i in range(DELETIONS_KEPT + 5):
        store.add(f"k{i}", b"{}", origin="seed")
        store.delete(f"k{i}", 0)
    record = store.deletions()
    assert len(record) == DELETIONS_KEPT and record[0]["id"] == "k5" and record[-1]["seq"] == DELETIONS_KEPT + 5


# --- further quirks the docs allow ----------------------------------------------------------------------------------


def test_server_headers_and_no_www_authenticate() -> None:
    app = app_of("blaxel", ["server-headers", "no-www-authenticate"])
    answer = call(app, "POST", "/v0/models", model("x"), auth=False)
    assert answer.status == 401 and "www-authenticate" not in answer.headers
    assert len(answer.headers["x-request-id"]) == 16 and answer.headers["cache-control"] == "no-store"
    assert "www-authenticate" in call(create_app("blaxel"), "POST", "/v0/models", model("x"), auth=False).headers


def test_blaxel_create_deploying_and_spec_defaults() -> None:
    app = app_of("blaxel", ["blaxel-create-deploying", "blaxel-spec-defaults"])
    body = call(app, "POST", "/v0/models", model("later")).json()
    assert body["status"] == "DEPLOYING" and body["events"][0]["status"] == "DEPLOYING"
    assert body["spec"]["sandbox"] is False and body["spec"]["flavors"] == [] and body["spec"]["policies"] == []
    assert body["spec"]["runtime"] == {"type": "openai", "model": "gpt-4.1"}
    assert delete(app, "blaxel", "later").json()["status"] == "DELETING"


def test_oxen_null_optionals() -> None:
    body = delete(app_of("oxen", ["oxen-null-optionals"], seed_ids=("m",)), "oxen", "m").json()
    assert body["description"] is None and body["fine_tuning"] is None and body["deployments"] == []
    assert isinstance(body["developer"], dict)  # the page does not render developer as nullable
    assert body["id"] == "m" and body["object"] == "model" and isinstance(body["created"], int)


def test_fuzz_rebuilds_a_gzip_answer_from_its_decoded_text() -> None:
    from conformance.checks.fuzz import _as_httpx
    from conformance.exchange import Exchange

    text = '{"id": "m", "deleted": true}'
    headers = {"content-type": "application/json", "content-encoding": "gzip", "content-length": "17"}
    exchange = Exchange("DELETE", "http://x/v1/models/m", {}, None, 200, headers, text)
    response = _as_httpx(exchange, "DELETE", "http://x/v1/models/m")
    assert response.json() == {"id": "m", "deleted": True} and "content-encoding" not in response.headers
