"""The mocks read a request body as its HTTP/1.x framing fixes it: no wait for a final empty message.

granian hands a body over in two ASGI messages (the data with ``more_body`` true, then an empty one), each a hop
between its threads; uvicorn in one. A reader that has ``Content-Length`` bytes has the whole body.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import pytest

from conformance.mock import MockOptions, create_app
from conformance.mock._asgi import MockRequest, framed_length
from conformance.mock._records import Redaction
from conformance.mock._validating import _read_body

SPECS = Path(__file__).resolve().parents[2] / "specs"
BODY = json.dumps({"metadata": {"name": "framed-1"}, "spec": {"enabled": True}}).encode()


def _scope(headers: list[tuple[bytes, bytes]], version: str = "1.1", method: str = "POST") -> dict[str, Any]:
    return {
        "type": "http",
        "http_version": version,
        "method": method,
        "path": "/v0/models",
        "raw_path": b"/v0/models",
        "query_string": b"",
        "headers": [(b"host", b"x"), (b"authorization", b"Bearer t"), *headers],
    }


class Receiver:
    """An ASGI receive that hands out ``messages`` in order and counts the calls."""

    def __init__(self, *messages: dict[str, Any]) -> None:
        self.messages = list(messages)
        self.calls = 0

    async def __call__(self) -> dict[str, Any]:
        self.calls += 1
        if not self.messages:
            raise AssertionError("receive called after the body was complete")
        return self.messages.pop(0)


def _granian_style(body: bytes) -> Receiver:
    return Receiver(
        {"type": "http.request", "body": body, "more_body": True},
        {"type": "http.request", "body": b"", "more_body": False},
    )


@pytest.mark.parametrize(
    ("headers", "version", "expected"),
    [
        ([(b"content-length", b"12")], "1.1", 12),
        ([(b"Content-Length", b"0")], "1.0", 0),
        ([], "1.1", 0),
        ([(b"transfer-encoding", b"chunked")], "1.1", None),
        ([(b"content-length", b"12")], "2", None),
        ([(b"content-length", b"+12")], "1.1", None),
        ([(b"content-length", b"12"), (b"content-length", b"12")], "1.1", None),
    ],
)
def test_framed_length(headers: list[tuple[bytes, bytes]], version: str, expected: int | None) -> None:
    assert framed_length(_scope(headers, version)) == expected


def test_a_body_of_content_length_bytes_is_read_with_one_receive() -> None:
    receive = _granian_style(BODY)
    request = MockRequest(_scope([(b"content-length", b"%d" % len(BODY))]), receive, {})
    assert asyncio.run(request.body()) == BODY
    assert receive.calls == 1


def test_a_body_without_framing_is_read_to_its_last_message() -> None:
    receive = _granian_style(BODY)
    request = MockRequest(_scope([(b"transfer-encoding", b"chunked")]), receive, {})
    assert asyncio.run(request.body()) == BODY
    assert receive.calls == 2


def test_a_request_without_length_or_chunking_has_an_empty_body_without_a_receive() -> None:
    receive = Receiver()
    assert asyncio.run(MockRequest(_scope([], method="DELETE"), receive, {}).body()) == b""
    assert asyncio.run(_read_body(_scope([], method="DELETE"), receive)) == (b"", False)
    assert receive.calls == 0


def test_the_validating_reader_stops_at_content_length_too() -> None:
    receive = _granian_style(BODY)
    assert asyncio.run(_read_body(_scope([(b"content-length", b"%d" % len(BODY))]), receive)) == (BODY, False)
    assert receive.calls == 1


@pytest.mark.parametrize("validate", [False, True])
def test_a_create_served_granian_style_answers_as_uvicorn_style(validate: bool) -> None:
    def answer(receive: Receiver) -> tuple[int, bytes]:
        options = MockOptions(token="t", validate=validate, spec_dir=SPECS / "blaxel" if validate else None)
        app = create_app("blaxel", options)
        sent: list[MutableMapping[str, Any]] = []

        async def send(message: MutableMapping[str, Any]) -> None:
            sent.append(message)

        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(BODY))]
        asyncio.run(app(_scope(headers), receive, send))
        body = json.loads(sent[1]["body"])
        for volatile in ("createdAt", "updatedAt"):
            body["metadata"].pop(volatile, None)
        body.pop("events", None)
        return int(sent[0]["status"]), json.dumps(body).encode()

    one = answer(Receiver({"type": "http.request", "body": BODY, "more_body": False}))
    two = answer(_granian_style(BODY))
    assert one == two and one[0] == 200


def test_the_redaction_caches_give_the_uncached_answers() -> None:
    from conformance.mock._contract import load_contract

    contract = load_contract(SPECS / "blaxel", "blaxel")
    clean = Redaction(contract, MockOptions(token="tok-1234", restricted_token="rst-5678"))
    for extra in ({"abcd-1"}, set(), {"tok-1234"}, {"abcd-1"}):
        expected = [s for s in sorted(clean.secrets | extra, key=len, reverse=True) if len(s) >= 4]
        assert clean.ordered(extra) == expected
    for name in ("authorization", "x-blaxel-authorization", "x-my-token", "content-type", "x-my-token"):
        assert clean.secret_name(name) == (name in clean.headers_secret or any(w in name for w in ("auth", "token")))
