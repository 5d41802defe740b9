"""The reference mocks have bounds: stored resources and bytes, kept traffic, header size and header time."""

from __future__ import annotations

import json
import socket
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.catalog.loader import specs_dir
from conformance.mock import MockOptions, create_app
from conformance.mock._common import STORE_FULL_STATUS, Store, StoreFull
from conformance.mock._records import HEADER_TEXT_LIMIT, Traffic
from conformance.run import servers
from conformance.run.servers import BackgroundServer

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

TOKEN = "conformance-local-token"
AUTH = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}


def _create(client: TestClient, name: str, labels: dict[str, str] | None = None) -> Any:
    body = {"metadata": {"name": name, **({"labels": labels} if labels else {})}, "spec": {}}
    return client.post("/v0/models", content=json.dumps(body), headers=AUTH)


def test_a_full_store_refuses_creates_with_507_in_the_vendor_error_shape() -> None:
    client = TestClient(create_app("blaxel", MockOptions(max_resources=3)))
    assert [_create(client, f"m{i}").status_code for i in range(3)] == [200, 200, 200]
    full = _create(client, "m3")
    assert full.status_code == STORE_FULL_STATUS
    assert full.json()["code"] == STORE_FULL_STATUS and "at most 3 resources" in full.json()["message"]
    assert client.delete("/v0/models/m0", headers=AUTH).status_code == 200
    assert _create(client, "m3").status_code == 200, "a delete makes room again"


def test_the_store_bytes_are_bounded_and_counted_back_on_delete() -> None:
    client = TestClient(create_app("blaxel", MockOptions(max_store_bytes=300_000)))
    label = {"big": "x" * 100_000}
    codes = [_create(client, f"b{i}", label).status_code for i in range(5)]
    assert codes[:2] == [200, 200] and codes[-1] == STORE_FULL_STATUS, codes
    store: Store = client.app.state.store  # type: ignore[attr-defined]
    assert store.stored_bytes <= 300_000
    for i in range(5):
        client.delete(f"/v0/models/b{i}", headers=AUTH)
    assert store.stored_bytes == 0


def test_the_admin_seed_route_is_bounded_too() -> None:
    client = TestClient(create_app("oxen", MockOptions(max_resources=2)))
    codes = [client.post("/__mock__/resources", json={"id": f"s{i}"}).status_code for i in range(3)]
    assert codes == [201, 201, STORE_FULL_STATUS]


def test_seed_ids_beyond_the_limit_are_an_options_error() -> None:
    with pytest.raises(ValueError, match="at most 1 resources"):
        create_app("oxen", MockOptions(max_resources=1, seed_ids=("a", "b")))
    with pytest.raises(ValueError, match="max_resources"):
        MockOptions(max_resources=0)


def test_store_put_respects_the_limits() -> None:
    store = Store(max_items=1, max_bytes=10)
    store.put("a", b"12345")
    store.put("a", b"123456789")  # overwriting the one resource is allowed while it fits
    with pytest.raises(StoreFull):
        store.put("b", b"1")
    with pytest.raises(StoreFull):
        store.put("a", b"x" * 10)


def test_the_validating_mode_does_not_blame_the_contract_for_the_mock_limit() -> None:
    app = create_app(
        "blaxel", MockOptions(max_resources=1, validate=True, spec_dir=specs_dir() / "blaxel", token=TOKEN)
    )
    client = TestClient(app)
    assert _create(client, "v0").status_code == 200
    assert _create(client, "v1").status_code == STORE_FULL_STATUS
    record = list(app.state.traffic)[-1]
    assert record["reply_violations"] == []
    assert any("mock limit" in note for note in record["notes"])


def test_kept_traffic_is_bounded_in_characters_and_huge_headers_are_cut() -> None:
    traffic = Traffic(maxlen=1000, max_chars=10_000)
    for i in range(50):
        traffic.add((i, "x" * 1000))
    assert traffic.chars <= 10_000 and 5 <= len(traffic) <= 10
    app = create_app("oxen", MockOptions(validate=True, spec_dir=specs_dir() / "oxen", token=TOKEN))
    client = TestClient(app)
    client.delete("/api/ai/models/x", headers={**AUTH, "X-Big": "a" * 50_000})
    kept = list(app.state.traffic)[-1]["request"]["headers"]["x-big"]
    assert len(kept) < HEADER_TEXT_LIMIT + 40 and kept.endswith("[cut: 50000 characters]")


@pytest.fixture
def quick_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[BackgroundServer]:
    monkeypatch.setattr(servers.GuardedProtocol, "header_timeout", 1.0)
    monkeypatch.setattr(servers.GuardedProtocol, "body_timeout", 1.0)
    server = BackgroundServer(create_app("oxen", MockOptions())).start()
    try:
        yield server
    finally:
        server.stop()


def test_a_slow_loris_connection_is_closed_at_the_header_deadline(quick_server: BackgroundServer) -> None:
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", quick_server.port), timeout=6) as sock:
        sock.sendall(b"GET /__mock__/health HTTP/1.1\r\n")
        answer = b""
        for _ in range(50):  # one header byte every 0.1 s: at most 5 s
            try:
                sock.sendall(b"X")
                chunk = sock.recv(4096)
            except (BrokenPipeError, ConnectionResetError):
                break
            except TimeoutError:
                break
            if not chunk:
                break
            answer += chunk
            time.sleep(0.1)
    held = time.monotonic() - started
    assert held < 3.0, f"a slow-loris connection stayed open {held:.1f} s"


def test_a_body_sent_a_byte_at_a_time_is_cut_at_the_body_deadline(quick_server: BackgroundServer) -> None:
    started = time.monotonic()
    head = (
        b"POST /__mock__/resources HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    )
    answer = b""
    with socket.create_connection(("127.0.0.1", quick_server.port), timeout=6) as sock:
        sock.sendall(head)
        for _ in range(50):  # one body byte every 0.1 s: at most 5 s
            try:
                sock.sendall(b" ")
                sock.settimeout(0.1)
                answer += sock.recv(4096)
                if answer:
                    break
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
    assert time.monotonic() - started < 3.0, "a trickled body held the connection"
    assert answer.startswith(b"HTTP/1.1 408") or answer == b"", answer


def test_an_idle_new_connection_is_closed_and_a_prompt_one_is_served(quick_server: BackgroundServer) -> None:
    with socket.create_connection(("127.0.0.1", quick_server.port), timeout=5) as sock:
        started = time.monotonic()
        assert sock.recv(100) == b""
        assert time.monotonic() - started < 3.0
    with socket.create_connection(("127.0.0.1", quick_server.port), timeout=5) as sock:
        sock.sendall(b"GET /__mock__/health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 200")


@pytest.mark.parametrize("pieces", [1, 40])
def test_headers_past_the_limit_are_431(quick_server: BackgroundServer, pieces: int) -> None:
    request = (
        b"GET /__mock__/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (servers.MAX_HEADER_BYTES + 10) + b"\r\n\r\n"
    )
    size = len(request) // pieces + 1
    with socket.create_connection(("127.0.0.1", quick_server.port), timeout=5) as sock:
        try:
            for i in range(0, len(request), size):
                sock.sendall(request[i : i + size])
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert sock.recv(100).startswith(b"HTTP/1.1 431")


def test_the_server_config_caps_connections() -> None:
    server = BackgroundServer(create_app("oxen", MockOptions()))
    try:
        assert server._server.config.limit_concurrency == servers.MAX_CONNECTIONS
        assert server._server.config.http is servers.GuardedProtocol
    finally:
        server._socket.close()


def test_the_mock_command_takes_the_limits(tmp_path: Path) -> None:
    from conformance.cli.main import build_parser

    args = build_parser().parse_args(["mock", "--vendor", "oxen", "--max-resources", "5", "--max-store-bytes", "99"])
    assert (args.max_resources, args.max_store_bytes) == (5, 99)
