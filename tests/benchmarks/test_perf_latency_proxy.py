"""Smoke test of the latency proxy: it forwards HTTP over one kept-alive connection and adds at least its delay."""

from __future__ import annotations

import http.client
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.latency_proxy import ThreadedProxy, _loopback  # noqa: E402
from benchmarks.serve import FIXED_BODY, _fixed_asgi  # noqa: E402
from conformance.run.servers import serving  # noqa: E402

DELAY_MS = 40.0


def _get(connection: http.client.HTTPConnection) -> tuple[int, bytes, float]:
    began = time.perf_counter()
    connection.request("GET", "/v1/models")
    reply = connection.getresponse()
    return reply.status, reply.read(), time.perf_counter() - began


def test_the_proxy_forwards_and_adds_the_delay_each_way() -> None:
    with serving(_fixed_asgi) as server, ThreadedProxy(("127.0.0.1", server.port), DELAY_MS) as proxy:
        assert proxy.port
        connection = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
        try:
            first = _get(connection)
            second = _get(connection)  # the same connection: keep-alive is carried through
        finally:
            connection.close()
    for status, body, seconds in (first, second):
        assert (status, body) == (200, FIXED_BODY)
        assert seconds >= 2 * DELAY_MS / 1000
    assert proxy.connections == 1


def test_without_delay_it_still_forwards() -> None:
    with serving(_fixed_asgi) as server, ThreadedProxy(("127.0.0.1", server.port), 0) as proxy:
        connection = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
        try:
            status, body, _ = _get(connection)
        finally:
            connection.close()
    assert (status, body) == (200, FIXED_BODY)


def test_only_loopback_addresses_are_accepted() -> None:
    assert _loopback("127.0.0.1:8080") == ("127.0.0.1", 8080)
    with pytest.raises(ValueError, match="loopback"):
        _loopback("10.0.0.1:80")
