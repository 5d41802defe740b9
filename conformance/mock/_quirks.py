"""Quirks: behaviours a careful production server may have and the vendors' docs allow (the suite must pass them).

A fault breaks a documented rule; a quirk breaks none. The transport quirks (rate limits, 503s, gzip, charset,
chunked bodies, ``Connection: close``, latency, extra members) live in one ASGI middleware in front of a vendor's
app; the state quirks (asynchronous deletes, foreign models, minimal answers …) live in the vendor modules.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from ._asgi import ASGIApp, Message, Receive, Scope, Send

ErrorFactory = Callable[[int, str], Any]

COMMON_QUIRKS: dict[str, str] = {
    "async-delete": "a deleted model stays visible for delete_delay (default 2 s): a second DELETE answers 200 "
    "(Blaxel: DELETING, re-create 409), then 404",
    "rate-limit": "every 7th request is answered 429 with Retry-After: 1 in the vendor's error shape",
    "transient-503": "every 11th request is answered 503 with Retry-After: 1; its retry is never refused",
    "gzip": "answers are gzip-compressed when the request has Accept-Encoding: gzip",
    "charset": "JSON answers carry Content-Type: application/json; charset=utf-8",
    "chunked": "answers are sent in several pieces with Transfer-Encoding: chunked, no Content-Length",
    "connection-close": "every answer carries Connection: close (the server closes the connection)",
    "latency": "every request waits 200 ms (asyncio.sleep, the loop is not blocked)",
    "extra-members": "undocumented extra members in every JSON object the schema leaves open, errors included",
    "foreign-models": "the store already holds 50 models of other users (team-a-prod-0 …) that no one may delete",
    "server-headers": "every answer carries X-Request-Id, RateLimit-*, Cache-Control: no-store and HSTS headers",
    "no-www-authenticate": "401 answers carry no WWW-Authenticate header (RFC 9110 asks for one; no page shows it)",
}
ASYNC_DELETE_DELAY = 2.0
LATENCY = 0.2
RATE_LIMIT_EVERY = 7
UNAVAILABLE_EVERY = 11
FOREIGN_COUNT = 50
EXTRA_MEMBER = "x-undocumented"
TRANSPORT = frozenset(
    {
        "rate-limit", "transient-503", "gzip", "charset", "chunked", "connection-close", "latency", "extra-members",
        "server-headers", "no-www-authenticate",
    }
)  # fmt: skip
_RETRY_MEMORY = 1024
# A run against these spends most of its time waiting (Retry-After: 1 every few requests, 200 ms on every one), not
# computing: the self-test starts their cases first, beside the others, on workers of their own.
WAITING = frozenset({"rate-limit", "transient-503", "latency"})


def foreign_ids(count: int = FOREIGN_COUNT) -> list[str]:
    """Names of other users' models (never the run's prefix): team-a-prod-0, team-b-staging-1 …"""
    teams = ("a", "b", "c", "d", "e")
    stages = ("prod", "staging")
    return [f"team-{teams[i % 5]}-{stages[(i // 5) % 2]}-{i}" for i in range(count)]


def with_extras(value: Any, closed: frozenset[str]) -> Any:
    """Return value with an undocumented member in every object, except under the keys named in ``closed``."""
    if isinstance(value, list):
        return [with_extras(v, closed) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: (v if k in closed else with_extras(v, closed)) for k, v in value.items()}
    out.setdefault(EXTRA_MEMBER, "added by the server, not in the published schema")
    return out


class QuirkMiddleware:
    """Applies the transport quirks of ``quirks`` to every request outside ``/__mock__``."""

    def __init__(self, app: ASGIApp, quirks: frozenset[str], error: ErrorFactory, closed: Iterable[str] = ()) -> None:
        """Wrap app; error renders the vendor's error shape; closed names objects that take no extra members."""
        self.app = app
        self.quirks = quirks
        self.error = error
        self.closed = frozenset(closed)
        self._lock = threading.Lock()
        self._count = 0
        self._refused: OrderedDict[tuple[str, str, bytes], None] = OrderedDict()

    def _refusal(self, scope: Scope) -> int:
        """The status (429/503) this request is refused with, or 0; a retry of a refused request is never refused."""
        if not self.quirks & {"rate-limit", "transient-503"}:
            return 0
        auth = next((v for k, v in scope["headers"] if k.lower() == b"authorization"), b"")
        key = (scope["method"], scope["path"], auth)
        with self._lock:
            self._count += 1
            if key in self._refused:
                del self._refused[key]
                return 0
            status = 0
            if "rate-limit" in self.quirks and self._count % RATE_LIMIT_EVERY == 0:
                status = 429
            elif "transient-503" in self.quirks and self._count % UNAVAILABLE_EVERY == 0:
                status = 503
            if status:
                self._refused[key] = None
                while len(self._refused) > _RETRY_MEMORY:
                    self._refused.popitem(last=False)
            return status

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request with the quirks in force."""
        if scope["path"].startswith("/__mock__"):
            await self.app(scope, receive, send)
            return
        if "latency" in self.quirks:
            await asyncio.sleep(LATENCY)
        status = self._refusal(scope)
        wrapped = self._sender(scope, send)
        if status:
            text = "rate limit exceeded, retry later" if status == 429 else "service temporarily unavailable"
            reply = self.error(status, text)
            reply.add_header("retry-after", "1")
            await reply(scope, receive, wrapped)
            return
        await self.app(scope, receive, wrapped)

    def _sender(self, scope: Scope, send: Send) -> Send:
        """A send callable that rewrites the answer (held until its last body piece)."""
        start: list[Message] = []
        pieces: list[bytes] = []
        accepts_gzip = any(k.lower() == b"accept-encoding" and b"gzip" in v.lower() for k, v in scope["headers"])

        async def quirky_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.append(message)
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            pieces.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            await self._emit(start[0], b"".join(pieces), accepts_gzip, scope["method"] == "HEAD", send)

        return quirky_send

    async def _emit(self, start: Message, body: bytes, accepts_gzip: bool, head: bool, send: Send) -> None:
        """Send start and body rewritten by the quirks in force."""
        headers = [(k.lower(), v) for k, v in start.get("headers", [])]
        media = next((v for k, v in headers if k == b"content-type"), b"")
        is_json = media.split(b";")[0].strip() == b"application/json"
        if "extra-members" in self.quirks and is_json and body:
            with contextlib.suppress(ValueError):
                body = json.dumps(with_extras(json.loads(body), self.closed), separators=(",", ":")).encode()
        if "charset" in self.quirks and is_json and b"charset" not in media:
            headers = [(k, v + b"; charset=utf-8" if k == b"content-type" else v) for k, v in headers]
        if "gzip" in self.quirks and accepts_gzip and body:
            body = gzip.compress(body, mtime=0)
            headers = [(k, v) for k, v in headers if k != b"content-encoding"]
            headers += [(b"content-encoding", b"gzip"), (b"vary", b"Accept-Encoding")]
        headers = [(k, v) for k, v in headers if k != b"content-length"]
        chunked = "chunked" in self.quirks and body and not head
        if not chunked:
            headers.append((b"content-length", b"%d" % len(body)))
        if "connection-close" in self.quirks:
            headers.append((b"connection", b"close"))
        if "no-www-authenticate" in self.quirks:
            headers = [(k, v) for k, v in headers if k != b"www-authenticate"]
        if "server-headers" in self.quirks:
            headers += [
                (b"x-request-id", secrets.token_hex(8).encode()),
                (b"ratelimit-limit", b"600"),
                (b"ratelimit-remaining", b"599"),
                (b"ratelimit-reset", b"60"),
                (b"cache-control", b"no-store"),
                (b"strict-transport-security", b"max-age=31536000; includeSubDomains"),
            ]
        await send({"type": "http.response.start", "status": start["status"], "headers": headers})
        if not chunked:
            await send({"type": "http.response.body", "body": body})
            return
        step = max(1, len(body) // 3 + 1)
        for offset in range(0, len(body), step):
            await send({"type": "http.response.body", "body": body[offset : offset + step], "more_body": True})
        await send({"type": "http.response.body", "body": b""})
