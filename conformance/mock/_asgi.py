"""A small raw-ASGI application for the reference servers: routing, requests, pre-serialised replies.

The mocks answer with the same bytes Starlette would (status, ``content-type``, ``content-length``, body) but
without its per-request machinery, so that a mock keeps up with an SDK's test suite on a small machine.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from types import SimpleNamespace
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

BODY_LIMIT = 1 << 20
_LOG = logging.getLogger("conformance.mock")
_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class BodyError(Exception):
    """The request body is missing, too large or not JSON."""


class StoreFull(ValueError):
    """The mock's store holds its maximum of resources or bytes (``MockOptions.max_resources``/``max_store_bytes``).

    A mock limit, not a vendor behaviour: the request is answered ``STORE_FULL_STATUS`` in the vendor's error shape.
    """


STORE_FULL_STATUS = 507


class Reply:
    """An HTTP answer whose body is already bytes; calling it sends it over ASGI."""

    __slots__ = ("body", "raw_headers", "status")

    def __init__(
        self,
        status: int,
        body: bytes,
        media_type: str = "application/json",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Build the header list once: content-type, content-length, then the extra headers."""
        self.status = status
        self.body = body
        if media_type.startswith("text/") and "charset" not in media_type:
            media_type += "; charset=utf-8"
        raw = [(b"content-type", media_type.encode("latin-1")), (b"content-length", b"%d" % len(body))]
        if headers:
            raw.extend((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items())
        self.raw_headers = raw

    @property
    def headers(self) -> dict[str, str]:
        """The headers as a dict of lower-case names."""
        return {k.decode("latin-1"): v.decode("latin-1") for k, v in self.raw_headers}

    def add_header(self, name: str, value: str) -> None:
        """Append one header."""
        self.raw_headers.append((name.lower().encode("latin-1"), value.encode("latin-1")))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the reply."""
        await send({"type": "http.response.start", "status": self.status, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.body})


class MockRequest:
    """One request as the handlers see it: method, path, path parameters, headers, body."""

    __slots__ = ("_headers", "_receive", "path_params", "scope")

    def __init__(self, scope: Scope, receive: Receive, path_params: dict[str, str]) -> None:
        """Wrap an ASGI scope and its receive callable."""
        self.scope = scope
        self._receive = receive
        self.path_params = path_params
        self._headers: dict[str, str] | None = None

    @property
    def method(self) -> str:
        """The request method."""
        return str(self.scope["method"])

    @property
    def path(self) -> str:
        """The decoded request path."""
        return str(self.scope["path"])

    @property
    def headers(self) -> dict[str, str]:
        """The headers by lower-case name (the last one wins when repeated)."""
        if self._headers is None:
            self._headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in self.scope["headers"]}
        return self._headers

    def header(self, name: str) -> str | None:
        """The value of one header (``name`` in lower case; the last one wins when repeated)."""
        wanted = name.encode("latin-1")
        found: bytes | None = None
        for key, value in self.scope["headers"]:
            if key == wanted or key.lower() == wanted:
                found = value
        return found.decode("latin-1") if found is not None else None

    async def body(self) -> bytes:
        """The whole request body; ``BodyError`` past ``BODY_LIMIT``."""
        expected = framed_length(self.scope)
        if expected == 0:
            return b""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await self._receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > BODY_LIMIT:
                raise BodyError("request body exceeds 1 MiB")
            chunks.append(chunk)
            if not message.get("more_body", False) or size == expected:
                break
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def framed_length(scope: Scope) -> int | None:
    """The body length an HTTP/1.x request's framing fixes (RFC 9112 6.3), or None when only its end tells.

    ``Content-Length: N`` fixes N; no ``Content-Length`` and no ``Transfer-Encoding`` fixes 0. A reader that has
    that many bytes has the whole body and need not wait for the server's final, empty ``http.request`` message
    (granian sends one per body, each a hop between its threads; uvicorn sends the body in one message).
    """
    if scope.get("http_version") not in ("1.1", "1.0"):
        return None
    length: bytes | None = None
    for key, value in scope["headers"]:
        if key == b"content-length" or key.lower() == b"content-length":
            if length is not None:
                return None
            length = value
        elif key == b"transfer-encoding" or key.lower() == b"transfer-encoding":
            return None
    if length is None:
        return 0
    return int(length) if length.isdigit() else None


Handler = Callable[[MockRequest], Awaitable[Reply]]
ErrorFn = Callable[[int, str], Reply]


class Route:
    """A path template (``/v0/models/{modelName}``) and its handler per method."""

    __slots__ = ("error", "handlers", "pattern", "template")

    def __init__(self, template: str, handlers: Mapping[str, Handler], error: ErrorFn | None = None) -> None:
        """Compile the template; each ``{name}`` matches one non-empty path segment; ``error`` renders crashes."""
        self.template = template
        self.error = error
        parts = _PARAM.split(template)
        regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>[^/]+)" for i, p in enumerate(parts))
        self.pattern = re.compile(regex) if len(parts) > 1 else None
        self.handlers = dict(handlers)
        if "GET" in self.handlers and "HEAD" not in self.handlers:
            self.handlers["HEAD"] = self.handlers["GET"]

    def match(self, path: str) -> dict[str, str] | None:
        """The path parameters when ``path`` matches, else None."""
        if self.pattern is None:
            return {} if path == self.template else None
        found = self.pattern.fullmatch(path)
        return found.groupdict() if found is not None else None


class MockApp:
    """The ASGI app of one reference server; ``state`` holds what tests and the validating mode need."""

    def __init__(self, routes: list[Route], error: ErrorFn) -> None:
        """Serve ``routes``; ``error`` renders 400/404/405 answers in the vendor's shape."""
        self.routes = routes
        self.error = error
        self.state = SimpleNamespace()
        self._static = {r.template: r for r in routes if r.pattern is None}
        self._dynamic = [r for r in routes if r.pattern is not None]
        self._entry: ASGIApp = self._dispatch
        self.middleware: list[Callable[..., ASGIApp]] = []

    def add_middleware(self, middleware: Callable[..., ASGIApp], **options: Any) -> None:
        """Put an ASGI middleware (``middleware(app, **options)``) in front of the app."""
        self._entry = middleware(self._entry, **options)
        self.middleware.append(middleware)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call (http, and lifespan for servers that send it)."""
        if scope["type"] == "http":
            await self._entry(scope, receive, send)
        elif scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return

    def _route(self, path: str) -> tuple[Route | None, dict[str, str]]:
        """The route serving ``path`` and its parameters."""
        route = self._static.get(path)
        if route is not None:
            return route, {}
        for route in self._dynamic:
            params = route.match(path)
            if params is not None:
                return route, params
        return None, {}

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Route one request; an unexpected exception in a handler becomes a 400 in the vendor's shape."""
        path: str = scope["path"]
        method: str = scope["method"]
        route, params = self._route(path)
        if route is None:
            reply = self.error(404, f"no resource at {path}")
        else:
            handler = route.handlers.get(method)
            if handler is None:
                reply = self.error(405, f"method {method} is not allowed on {path}")
                reply.add_header("allow", ", ".join(sorted(route.handlers)))
            else:
                try:
                    reply = await handler(MockRequest(scope, receive, params))
                except StoreFull as exc:
                    reply = (route.error or self.error)(STORE_FULL_STATUS, str(exc))
                except Exception:
                    _LOG.debug("unexpected error in %s %s", method, path, exc_info=True)
                    reply = (route.error or self.error)(400, "the request could not be processed")
        await reply(scope, receive, send)
