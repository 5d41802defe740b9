"""The recording client builds httpx's default verifying context once per process, not once per client."""

from __future__ import annotations

import ssl

from conformance.redact import Redactor
from conformance.target.http import RecordingClient, default_ssl_context


def test_the_default_context_is_built_once_and_verifies() -> None:
    first = default_ssl_context(True)
    assert default_ssl_context(True) is first
    assert first.verify_mode == ssl.CERT_REQUIRED
    assert first.check_hostname


def test_clients_share_it() -> None:
    clients = [RecordingClient("http://127.0.0.1:9", redactor=Redactor()) for _ in range(2)]
    try:
        pools = [c._client._transport._pool._ssl_context for c in clients]  # type: ignore[attr-defined]
        assert pools[0] is pools[1] is default_ssl_context(True)
    finally:
        for client in clients:
            client.close()
