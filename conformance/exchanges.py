"""HTTP exchanges with a target: a recording client, redaction of secrets, and curl reproductions."""

from __future__ import annotations

import json
import shlex
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

REDACTED = "[REDACTED]"
SECRET_HEADERS = frozenset({"authorization", "x-blaxel-authorization", "proxy-authorization", "cookie", "x-api-key"})
MAX_BODY_BYTES = 1_000_000


class Redactor:
    """Replaces every known secret value, and every credential header, with ``[REDACTED]``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def add(self, secret: str) -> None:
        """Also redact ``secret`` from now on."""
        if secret and len(secret) >= 4 and secret not in self._secrets:
            self._secrets = sorted([*self._secrets, secret], key=len, reverse=True)

    def text(self, value: str) -> str:
        """``value`` with every secret replaced."""
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        """Headers with credential headers masked (their scheme kept) and secrets replaced."""
        clean: dict[str, str] = {}
        for name, value in headers.items():
            if name.lower() in SECRET_HEADERS:
                scheme, _, rest = value.partition(" ")
                clean[name] = f"{scheme} {REDACTED}" if rest else REDACTED
            else:
                clean[name] = self.text(value)
        return clean

    def data(self, value: Any) -> Any:
        """A JSON-like value with secrets replaced in every string."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.data(v) for v in value]
        if isinstance(value, dict):
            return {self.text(str(k)): self.data(v) for k, v in value.items()}
        return value


@dataclass
class Exchange:
    """One request and its response (or the transport error instead), secrets already redacted."""

    method: str
    url: str
    request_headers: dict[str, str]
    request_body: str | None
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_text: str = ""
    elapsed_ms: float = 0.0
    transport_error: str | None = None
    truncated: bool = False
    note: str = ""

    @property
    def content_type(self) -> str:
        """The response's media type, lower-cased, without parameters."""
        for name, value in self.response_headers.items():
            if name.lower() == "content-type":
                return value.split(";")[0].strip().lower()
        return ""

    def json(self) -> Any:
        """The response body parsed as JSON; raises ``ValueError`` when it is not JSON."""
        return json.loads(self.response_text)

    def curl(self) -> str:
        """A curl command that repeats the request (credentials redacted)."""
        parts = ["curl", "-sS", "-X", self.method, shlex.quote(self.url)]
        for name, value in self.request_headers.items():
            if name.lower() in {
                "host",
                "content-length",
                "accept-encoding",
                "connection",
                "user-agent",
                "accept",
            }:
                continue
            parts += ["-H", shlex.quote(f"{name}: {value}")]
        if self.request_body is not None:
            parts += ["--data-raw", shlex.quote(self.request_body)]
        return " ".join(parts)

    def summary(self) -> str:
        """``METHOD URL -> STATUS`` in one line."""
        outcome = self.transport_error or str(self.status)
        return f"{self.method} {self.url} -> {outcome}"

    def as_dict(self) -> dict[str, Any]:
        """The exchange as JSON-ready evidence."""
        return {
            "request": {
                "method": self.method,
                "url": self.url,
                "headers": self.request_headers,
                "body": self.request_body,
            },
            "response": {
                "status": self.status,
                "headers": self.response_headers,
                "body": self.response_text[:4000],
                "truncated": self.truncated,
                "elapsed_ms": round(self.elapsed_ms, 2),
                "transport_error": self.transport_error,
            },
            "curl": self.curl(),
            "note": self.note,
        }


class RequestBudgetExceeded(Exception):
    """The run has sent as many requests as its budget allows."""


class RecordingClient:
    """An httpx client bound to one target that records every exchange, redacted."""

    def __init__(
        self,
        base_url: str,
        *,
        redactor: Redactor,
        timeout: float = 10.0,
        max_requests: int = 100_000,
        verify: bool | str = True,
        extra_headers: Mapping[str, str] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.redactor = redactor
        self.max_requests = max_requests
        self.exchanges: list[Exchange] = []
        self._lock = threading.Lock()
        self._client = httpx.Client(timeout=timeout, verify=verify, headers=dict(extra_headers or {}))

    def close(self) -> None:
        """Close the underlying connection pool."""
        self._client.close()

    @property
    def request_count(self) -> int:
        """How many requests were sent."""
        return len(self.exchanges)

    def send(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
        content: bytes | str | None = None,
        note: str = "",
    ) -> Exchange:
        """Send one request below the base URL; transport errors are recorded, never raised."""
        with self._lock:
            if len(self.exchanges) >= self.max_requests:
                raise RequestBudgetExceeded(f"request budget of {self.max_requests} exhausted")
        url = path if path.startswith(("http://", "https://")) else self.base_url + path
        send_headers = dict(headers or {})
        body_text: str | None = None
        if json_body is not None:
            body_text = json.dumps(json_body, ensure_ascii=False)
            content = body_text.encode()
            send_headers.setdefault("Content-Type", "application/json")
        elif content is not None:
            body_text = content if isinstance(content, str) else content.decode("utf-8", "replace")
        exchange = Exchange(
            method=method,
            url=self.redactor.text(url),
            request_headers=self.redactor.headers(send_headers),
            request_body=self.redactor.text(body_text) if body_text is not None else None,
            note=note,
        )
        started = time.perf_counter()
        try:
            with self._client.stream(method, url, headers=send_headers, content=content) as response:
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > MAX_BODY_BYTES:
                        exchange.truncated = True
                        break
                raw = b"".join(chunks)[:MAX_BODY_BYTES]
                exchange.status = response.status_code
                exchange.response_headers = self.redactor.headers(dict(response.headers))
                exchange.response_text = self.redactor.text(raw.decode("utf-8", "replace"))
        except httpx.HTTPError as exc:
            exchange.transport_error = f"{type(exc).__name__}: {exc}".strip()
        exchange.elapsed_ms = (time.perf_counter() - started) * 1000
        with self._lock:
            self.exchanges.append(exchange)
        return exchange
