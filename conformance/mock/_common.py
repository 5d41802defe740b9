"""Shared pieces of the reference servers: options, store, responses, auth, admin routes."""

from __future__ import annotations

import html
import json
import logging
import math
import re
import secrets
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

JsonObject = dict[str, Any]
ErrorFn = Callable[[int, str], Response]
Handler = Callable[[Request], Awaitable[Response]]
ResourceFactory = Callable[[str], JsonObject]

BODY_LIMIT = 1 << 20
_LOG = logging.getLogger("conformance.mock")
_AUTH_RE = re.compile(r"([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*) ([\x21-\x7e]+)")
_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    422: "Unprocessable Entity",
    500: "Internal Server Error",
}


class UnknownFault(ValueError):
    """An unknown vendor or fault name was given to create_app."""


class BodyError(Exception):
    """The request body is missing, too large or not JSON."""


@dataclass(frozen=True)
class MockOptions:
    """Configuration of one reference server."""

    token: str = "conformance-local-token"
    restricted_token: str | None = None
    faults: frozenset[str] = frozenset()
    delete_delay: float = 0.0
    seed_ids: tuple[str, ...] = ()
    workspace: str = "conformance"
    strict_auth: bool = False
    validate: bool = False
    spec_dir: Path | None = None
    record_path: Path | None = None

    def __post_init__(self) -> None:
        """Normalise collection fields so that sets and lists are accepted too."""
        object.__setattr__(self, "faults", frozenset(self.faults))
        object.__setattr__(self, "seed_ids", tuple(self.seed_ids))
        if not self.delete_delay >= 0:
            raise ValueError(f"delete_delay must be a non-negative number, got {self.delete_delay!r}")
        for name in ("spec_dir", "record_path"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, Path(value))
        if self.validate and self.spec_dir is None:
            raise ValueError("validate=True needs spec_dir, the vendor's folder of specs (openapi.yaml, vendor.yaml …)")


def check_faults(vendor: str, faults: Iterable[str], known: Mapping[str, str]) -> None:
    """Raise UnknownFault when a fault name is not one of the vendor's."""
    unknown = sorted(set(faults) - known.keys())
    if unknown:
        raise UnknownFault(
            f"unknown fault(s) {', '.join(unknown)} for vendor {vendor}; known: {', '.join(sorted(known))}"
        )


class Store:
    """Thread-safe in-memory resources; a deleting one vanishes once its deadline passes."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        """Start empty; clock gives seconds for delete deadlines."""
        self.clock = clock
        self._lock = threading.Lock()
        self._items: dict[str, JsonObject] = {}
        self._deadlines: dict[str, float] = {}

    def _reap(self, key: str) -> None:
        """Drop key if its deletion deadline has passed (lock held)."""
        deadline = self._deadlines.get(key)
        if deadline is not None and self.clock() >= deadline:
            del self._deadlines[key]
            del self._items[key]

    def _reap_all(self) -> None:
        """Drop every resource whose deletion deadline has passed (lock held)."""
        now = self.clock()
        for key in [k for k, d in self._deadlines.items() if now >= d]:
            del self._deadlines[key]
            del self._items[key]

    def get(self, key: str) -> JsonObject | None:
        """Return the resource, or None when absent."""
        with self._lock:
            self._reap(key)
            return self._items.get(key)

    def add(self, key: str, value: JsonObject) -> bool:
        """Insert a new resource; False when the key exists (even if being deleted)."""
        with self._lock:
            if len(self._deadlines) > 1024:
                self._reap_all()
            self._reap(key)
            if key in self._items:
                return False
            self._items[key] = value
            return True

    def put(self, key: str, value: JsonObject) -> None:
        """Insert or overwrite a resource, cancelling any pending deletion."""
        with self._lock:
            self._items[key] = value
            self._deadlines.pop(key, None)

    def delete(
        self, key: str, delay: float, mark: Callable[[JsonObject], JsonObject] | None = None
    ) -> JsonObject | None:
        """Start deleting key and return its (marked) value; None when absent."""
        with self._lock:
            self._reap(key)
            value = self._items.get(key)
            if value is None or key in self._deadlines:
                return value
            if mark is not None:
                value = mark(value)
            if delay > 0:
                self._items[key] = value
                self._deadlines[key] = self.clock() + delay
            else:
                del self._items[key]
            return value

    def ids(self) -> list[str]:
        """Return the current keys, including ones still being deleted."""
        with self._lock:
            self._reap_all()
            return list(self._items)


def new_store(options: MockOptions, factory: ResourceFactory) -> Store:
    """Create a store holding the options' seed resources."""
    store = Store()
    for key in options.seed_ids:
        store.add(key, factory(key))
    return store


def json_response(
    status: int,
    body: Any,
    headers: Mapping[str, str] | None = None,
    media_type: str = "application/json",
) -> Response:
    """Serialise body as compact ASCII JSON."""
    content = json.dumps(body, separators=(",", ":")).encode("ascii")
    return Response(content, status_code=status, headers=headers, media_type=media_type)


def html_response(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    """Render an HTML error page, as a misconfigured proxy or framework would."""
    title = f"{status} {_REASONS.get(status, 'Error')}"
    page = (
        f"<!DOCTYPE html><html><head><title>{title}</title></head>"
        f"<body><h1>{title}</h1><p>{html.escape(message)}</p></body></html>"
    )
    return Response(page, status_code=status, headers=headers, media_type="text/html")


def now_iso() -> str:
    """Return the current UTC time as ISO-8601 with a Z suffix, second precision."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def parse_authorization(value: str | None) -> tuple[str, str] | None:
    """Split an Authorization header into (lower-case scheme, credentials); None if absent or malformed."""
    if value is None:
        return None
    match = _AUTH_RE.fullmatch(value)
    if match is None:
        return None
    return match.group(1).lower(), match.group(2)


class Authenticator:
    """Checks Authorization headers against the configured tokens."""

    def __init__(self, options: MockOptions, schemes: Iterable[str], hint: str) -> None:
        """Accept the given lower-case schemes; hint names the scheme in error messages."""
        self.schemes = frozenset(schemes)
        self.hint = hint
        self._token = options.token.encode()
        self._restricted = options.restricted_token.encode() if options.restricted_token else None

    def check(self, header: str | None, permission: str, any_scheme: bool = False) -> tuple[int, str]:
        """Return (0, "") when allowed, else (401 or 403, reason)."""
        if header is None:
            return 401, "missing Authorization header"
        parsed = parse_authorization(header)
        if parsed is None:
            return 401, f"malformed Authorization header; expected '{self.hint} <credentials>'"
        scheme, credentials = parsed
        if not any_scheme and scheme not in self.schemes:
            return 401, f"unsupported authorization scheme; expected '{self.hint}'"
        given = credentials.encode()
        if secrets.compare_digest(given, self._token):
            return 0, ""
        if self._restricted is not None and secrets.compare_digest(given, self._restricted):
            return 403, f"the credentials lack the {permission} permission"
        return 401, "invalid credentials"


async def read_json(request: Request) -> Any:
    """Read and parse a JSON request body, raising BodyError on any problem."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > BODY_LIMIT:
            raise BodyError("request body exceeds 1 MiB")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        raise BodyError("request body is required")
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_reject_constant, parse_float=_finite_float)
    except (ValueError, RecursionError) as exc:
        raise BodyError("request body is not valid JSON") from exc


def _finite_float(text: str) -> float:
    """Parse a JSON number, refusing ones that overflow to infinity."""
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"number {text[:20]} is out of range")
    return value


def _reject_constant(name: str) -> Any:
    """Refuse the NaN and Infinity literals that strict JSON does not allow."""
    raise ValueError(f"{name} is not valid JSON")


def guarded(handler: Handler, error: ErrorFn) -> Handler:
    """Wrap a handler so that an unexpected exception becomes a 400 error instead of a 500."""

    async def run(request: Request) -> Response:
        """Run the handler, converting crashes into shaped errors."""
        try:
            return await handler(request)
        except Exception:
            _LOG.debug("unexpected error in %s %s", request.method, request.url.path, exc_info=True)
            return error(400, "the request could not be processed")

    return run


def route(path: str, handler: Handler, methods: str, error: ErrorFn) -> Route:
    """Build a route for space-separated methods whose handler is guarded."""
    return Route(path, guarded(handler, error), methods=methods.split())


def admin_routes(vendor: str, store: Store, error: ErrorFn, factory: ResourceFactory) -> list[Route]:
    """Build the unauthenticated /__mock__ routes for seeding and inspection."""

    async def health(request: Request) -> Response:
        """Report liveness and the vendor served."""
        return json_response(200, {"status": "ok", "vendor": vendor})

    async def resources(request: Request) -> Response:
        """List the current ids (GET, including ones being deleted) or seed one from {"id": ...} (POST)."""
        if request.method != "POST":
            return json_response(200, {"ids": store.ids()})
        try:
            body = await read_json(request)
        except BodyError as exc:
            return error(400, str(exc))
        key = body.get("id") if isinstance(body, dict) else None
        if not isinstance(key, str) or not key or "/" in key:
            return error(400, "body must be a JSON object with a non-empty string 'id' without '/'")
        if not store.add(key, factory(key)):
            return error(409, f"resource {key} already exists")
        return json_response(201, {"id": key})

    return [
        route("/__mock__/health", health, "GET", error),
        route("/__mock__/resources", resources, "GET POST", error),
    ]


def build_app(vendor: str, options: MockOptions, store: Store, routes: list[Route], error: ErrorFn) -> Starlette:
    """Assemble a Starlette app whose 404/405 answers use the vendor's error shape."""

    async def http_error(request: Request, exc: Exception) -> Response:
        """Render routing errors in the vendor's shape."""
        status = exc.status_code if isinstance(exc, HTTPException) else 400
        if status == 404:
            response = error(404, f"no resource at {request.url.path}")
        elif status == 405:
            response = error(405, f"method {request.method} is not allowed on {request.url.path}")
        else:
            response = error(status, _REASONS.get(status, "request failed"))
        if isinstance(exc, HTTPException) and exc.headers:
            response.headers.update(exc.headers)
        return response

    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error})
    app.router.redirect_slashes = False
    app.state.vendor = vendor
    app.state.options = options
    app.state.store = store
    app.state.error = error
    return app
