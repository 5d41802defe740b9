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


def _pool_context(client: RecordingClient) -> ssl.SSLContext:
    context: ssl.SSLContext = client._client._transport._pool._ssl_context  # type: ignore[attr-defined]
    return context


def test_clients_share_it() -> None:
    clients = [RecordingClient("https://127.0.0.1:9", redactor=Redactor()) for _ in range(2)]
    try:
        pools = [_pool_context(c) for c in clients]
        assert pools[0] is pools[1] is default_ssl_context(True)
    finally:
        for client in clients:
            client.close()


def test_a_plain_http_client_loads_no_ca_bundle_and_fails_closed() -> None:
    client = RecordingClient("http://127.0.0.1:9", redactor=Redactor())
    try:
        context = _pool_context(client)
        assert context is not default_ssl_context(True)
        assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
        assert context.cert_store_stats()["x509_ca"] == 0  # no CA: any TLS handshake fails verification
    finally:
        client.close()


def test_an_https_url_on_a_plain_http_client_is_verified() -> None:
    client = RecordingClient("http://127.0.0.1:9", redactor=Redactor(), timeout=0.5, max_retries=0)
    try:
        exchange = client.send("GET", "https://127.0.0.1:9/x")  # nothing listens: a transport error, recorded
        assert exchange.transport_error
        assert _pool_context(client) is default_ssl_context(True)
    finally:
        client.close()
