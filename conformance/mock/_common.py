"""Shared pieces of the reference servers: options, store, responses, auth, admin routes."""

from __future__ import annotations

import html
import json
import math
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._asgi import (
    BODY_LIMIT,
    STORE_FULL_STATUS,
    BodyError,
    ErrorFn,
    Handler,
    MockApp,
    MockRequest,
    Reply,
    Route,
    StoreFull,
)
from ._quirks import ASYNC_DELETE_DELAY, COMMON_QUIRKS, TRANSPORT, QuirkMiddleware, foreign_ids

__all__ = [
    "BODY_LIMIT",
    "COMMON_QUIRKS",
    "STORE_FULL_STATUS",
    "BodyError",
    "ErrorFn",
    "MockApp",
    "MockRequest",
    "Reply",
    "Route",
    "StoreFull",
]

DEFAULT_MAX_RESOURCES = 10_000
DEFAULT_MAX_STORE_BYTES = 64 << 20

JsonObject = dict[str, Any]
ResourceFactory = Callable[[str], JsonObject]
_AUTH_RE = re.compile(r"([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*) ([\x21-\x7e]+)")
_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
DELETIONS_KEPT = 1000


class UnknownFault(ValueError):
    """An unknown vendor, fault or quirk name was given to create_app."""


@dataclass(frozen=True)
class MockOptions:
    """Configuration of one reference server."""

    token: str = "conformance-local-token"
    restricted_token: str | None = None
    other_token: str | None = None  # a second workspace/account: its own resources (``Workspaces``)
    faults: frozenset[str] = frozenset()
    quirks: frozenset[str] = frozenset()
    delete_delay: float = 0.0
    seed_ids: tuple[str, ...] = ()
    workspace: str = "conformance"
    strict_auth: bool = False
    validate: bool = False
    spec_dir: Path | None = None
    record_path: Path | None = None
    max_resources: int = DEFAULT_MAX_RESOURCES
    max_store_bytes: int = DEFAULT_MAX_STORE_BYTES
    mutant: str | None = None

    def __post_init__(self) -> None:
        """Normalise collection fields so that sets and lists are accepted too."""
        object.__setattr__(self, "faults", frozenset(self.faults))
        object.__setattr__(self, "quirks", frozenset(self.quirks))
        object.__setattr__(self, "seed_ids", tuple(self.seed_ids))
        if not self.delete_delay >= 0:
            raise ValueError(f"delete_delay must be a non-negative number, got {self.delete_delay!r}")
        if "async-delete" in self.quirks and self.delete_delay == 0:
            object.__setattr__(self, "delete_delay", ASYNC_DELETE_DELAY)
        for name in ("max_resources", "max_store_bytes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
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


def check_quirks(vendor: str, quirks: Iterable[str], known: Mapping[str, str]) -> None:
    """Raise UnknownFault naming the known quirks when a quirk name is not one of the vendor's."""
    unknown = sorted(set(quirks) - known.keys())
    if unknown:
        raise UnknownFault(
            f"unknown quirk(s) {', '.join(unknown)} for vendor {vendor}; known: {', '.join(sorted(known))}"
        )


class Store:
    """Thread-safe in-memory resources kept as JSON bytes; a deleting one vanishes once its deadline passes.

    Bytes, not dicts: a store of a million resources adds no work to the garbage collector, so a long load
    run keeps its latency. Each resource has an origin (``api``: created by a client through the vendor's API;
    ``seed``: ``--seed-id``; ``admin``: the admin route; ``foreign``: another user's, the foreign-models quirk);
    every delete that removes one is recorded with it (the last ``DELETIONS_KEPT``).
    """

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        max_items: int = DEFAULT_MAX_RESOURCES,
        max_bytes: int = DEFAULT_MAX_STORE_BYTES,
    ) -> None:
        """Start empty; clock gives seconds for delete deadlines; past ``max_items`` resources or ``max_bytes``
        bytes (ids and values) a new resource is refused with ``StoreFull``."""
        self.clock = clock
        self.max_items = max_items
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._items: dict[str, bytes] = {}
        self._deadlines: dict[str, float] = {}
        self._origins: dict[str, str] = {}
        self._deletions: deque[dict[str, Any]] = deque(maxlen=DELETIONS_KEPT)
        self._deleted_total = 0

        self._bytes = 0

    @property
    def stored_bytes(self) -> int:
        """Bytes of ids and values kept now."""
        return self._bytes

    def _room(self, key: str, value: bytes) -> None:
        """``StoreFull`` unless ``key`` may hold ``value`` (lock held)."""
        old = self._items.get(key)
        count = len(self._items) + (old is None)
        size = self._bytes + len(value) + (len(key) if old is None else -len(old))
        if count > self.max_items:
            raise StoreFull(f"the mock keeps at most {self.max_items} resources (a mock limit, --max-resources)")
        if size > self.max_bytes:
            raise StoreFull(
                f"the mock keeps at most {self.max_bytes} bytes of resources (a mock limit, --max-store-bytes)"
            )

    def _set(self, key: str, value: bytes) -> None:
        """Keep ``value`` under ``key``, counting bytes (lock held)."""
        old = self._items.get(key)
        self._bytes += len(value) + (len(key) if old is None else -len(old))
        self._items[key] = value

    def _drop(self, key: str) -> None:
        """Forget ``key`` entirely, counting bytes (lock held)."""
        self._bytes -= len(key) + len(self._items.pop(key))
        self._deadlines.pop(key, None)
        self._origins.pop(key, None)

    def _reap(self, key: str) -> None:
        """Drop key if its deletion deadline has passed (lock held)."""
        deadline = self._deadlines.get(key)
        if deadline is not None and self.clock() >= deadline:
            self._drop(key)

    def _reap_all(self) -> None:
        """Drop every resource whose deletion deadline has passed (lock held)."""
        now = self.clock()
        for key in [k for k, d in self._deadlines.items() if now >= d]:
            self._drop(key)

    def get(self, key: str) -> bytes | None:
        """Return the resource, or None when absent."""
        with self._lock:
            if self._deadlines:
                self._reap(key)
            return self._items.get(key)

    def add(self, key: str, value: bytes, origin: str = "api") -> bool:
        """Insert a new resource; False when the key exists (even if being deleted)."""
        with self._lock:
            if self._deadlines:
                if len(self._deadlines) > 1024:
                    self._reap_all()
                self._reap(key)
            if key in self._items:
                return False
            self._room(key, value)
            self._set(key, value)
            if origin != "api":
                self._origins[key] = origin
            return True

    def put(self, key: str, value: bytes, origin: str = "api") -> None:
        """Insert or overwrite a resource, cancelling any pending deletion."""
        with self._lock:
            self._room(key, value)
            self._set(key, value)
            self._deadlines.pop(key, None)
            if origin != "api":
                self._origins[key] = origin
            else:
                self._origins.pop(key, None)

    def deleting(self, key: str) -> bool:
        """Whether key is being deleted (still visible, gone at its deadline)."""
        with self._lock:
            if self._deadlines:
                self._reap(key)
            return key in self._deadlines

    def delete(self, key: str, delay: float, mark: Callable[[bytes], bytes] | None = None) -> bytes | None:
        """Start deleting key and return its (marked) value; None when absent."""
        with self._lock:
            if self._deadlines:
                self._reap(key)
            value = self._items.get(key)
            if value is None or key in self._deadlines:
                return value
            origin = self._origins.get(key, "api")
            self._deleted_total += 1
            self._deletions.append(
                {"seq": self._deleted_total, "id": key, "origin": origin, "created_via_api": origin == "api"}
            )
            if mark is not None:
                value = mark(value)
            if delay > 0:
                self._set(key, value)
                self._deadlines[key] = self.clock() + delay
            else:
                self._drop(key)
            return value

    def deletions(self) -> list[dict[str, Any]]:
        """The recorded deletions, oldest first (at most ``DELETIONS_KEPT``)."""
        with self._lock:
            return [dict(d) for d in self._deletions]

    def origin(self, key: str) -> str | None:
        """The origin of a present resource, else None."""
        with self._lock:
            return self._origins.get(key, "api") if key in self._items else None

    def ids(self) -> list[str]:
        """Return the current keys, including ones still being deleted."""
        with self._lock:
            self._reap_all()
            return list(self._items)


class Workspaces:
    """One store per credential: the main token's (seeded, the admin routes') and the second identity's.

    Each token is its own workspace/account: a name is unique only within its own store, and a delete finds only
    the caller's resources (another workspace's id answers as an unknown one). ``shared`` (an isolation fault) makes
    every token use the main store.
    """

    def __init__(self, options: MockOptions, main: Store, *, shared: bool = False) -> None:
        """Keep ``main`` for the main token (and any other credential); a new, empty store for the other token."""
        self.main = main
        self.other = main if shared or options.other_token is None else Store()
        self._other_token = options.other_token

    def of(self, header: str | None) -> Store:
        """The store of the credential in an ``Authorization`` header value (the main one unless it is the other's)."""
        if self._other_token is None or self.other is self.main:
            return self.main
        parsed = parse_authorization(header)
        if parsed is not None and secrets.compare_digest(parsed[1].encode(), self._other_token.encode()):
            return self.other
        return self.main

    def others(self, store: Store) -> Store | None:
        """The store of the other workspace than ``store``'s (None when there is only one)."""
        if self.other is self.main:
            return None
        return self.main if store is self.other else self.other


_ENCODER = json.JSONEncoder(separators=(",", ":"))
_DECODER = json.JSONDecoder()


def encode(body: Any) -> bytes:
    """Serialise body as compact ASCII JSON."""
    return _ENCODER.encode(body).encode("ascii")


def decode(data: bytes) -> Any:
    """Parse JSON bytes kept by the store (``encode``'s output)."""
    return _DECODER.decode(data.decode("ascii"))


def new_store(options: MockOptions, factory: ResourceFactory, foreign: ResourceFactory | None = None) -> Store:
    """Create a store holding the options' seed resources (and other users' models with foreign-models)."""
    store = Store(max_items=options.max_resources, max_bytes=options.max_store_bytes)
    for key in options.seed_ids:
        store.add(key, encode(factory(key)), origin="seed")
    if "foreign-models" in options.quirks:
        for key in foreign_ids():
            store.add(key, encode((foreign or factory)(key)), origin="foreign")
    return store


def json_response(
    status: int,
    body: Any,
    headers: Mapping[str, str] | None = None,
    media_type: str = "application/json",
) -> Reply:
    """Serialise body as compact ASCII JSON."""
    return Reply(status, encode(body), media_type, headers)


def html_response(status: int, message: str, headers: Mapping[str, str] | None = None) -> Reply:
    """Render an HTML error page, as a misconfigured proxy or framework would."""
    title = f"{status} {_REASONS.get(status, 'Error')}"
    page = (
        f"<!DOCTYPE html><html><head><title>{title}</title></head>"
        f"<body><h1>{title}</h1><p>{html.escape(message)}</p></body></html>"
    )
    return Reply(status, page.encode("utf-8"), "text/html", headers)


_ISO_CACHE: list[Any] = [-1, ""]


def now_iso() -> str:
    """Return the current UTC time as ISO-8601 with a Z suffix, second precision."""
    second = int(time.time())
    if _ISO_CACHE[0] != second:
        _ISO_CACHE[1] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second))
        _ISO_CACHE[0] = second
    return str(_ISO_CACHE[1])


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
        self._other = options.other_token.encode() if options.other_token else None

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
        if self._other is not None and secrets.compare_digest(given, self._other):
            return 0, ""
        if self._restricted is not None and secrets.compare_digest(given, self._restricted):
            return 403, f"the credentials lack the {permission} permission"
        return 401, "invalid credentials"


async def read_json(request: MockRequest) -> Any:
    """Read and parse a JSON request body, raising BodyError on any problem."""
    raw = await request.body()
    if not raw.strip():
        raise BodyError("request body is required")
    try:
        return _STRICT_DECODER.decode(raw.decode("utf-8"))
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


_STRICT_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)


def route(path: str, handler: Handler, methods: str, error: ErrorFn) -> Route:
    """Build a route for space-separated methods; an unexpected exception in it becomes a 400 in ``error``'s shape."""
    return Route(path, dict.fromkeys(methods.split(), handler), error)


def admin_routes(vendor: str, store: Store, error: ErrorFn, factory: ResourceFactory) -> list[Route]:
    """Build the unauthenticated /__mock__ routes for seeding and inspection."""

    async def health(request: MockRequest) -> Reply:
        """Report liveness and the vendor served."""
        return json_response(200, {"status": "ok", "vendor": vendor})

    async def resources(request: MockRequest) -> Reply:
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
        if not store.add(key, encode(factory(key)), origin="admin"):
            return error(409, f"resource {key} already exists")
        return json_response(201, {"id": key})

    async def deletions(request: MockRequest) -> Reply:
        """List the deletions that removed a resource, each with its origin (api, seed, admin, foreign)."""
        return json_response(200, store.deletions())

    return [
        route("/__mock__/health", health, "GET", error),
        route("/__mock__/resources", resources, "GET POST", error),
        route("/__mock__/deletions", deletions, "GET", error),
    ]


def build_app(
    vendor: str,
    options: MockOptions,
    store: Store,
    routes: list[Route],
    error: ErrorFn,
    closed: Iterable[str] = (),
) -> MockApp:
    """Assemble the app; its 404/405 answers use the vendor's error shape; closed: objects without extra members."""
    app = MockApp(routes, error)
    if options.quirks & TRANSPORT:
        app.add_middleware(QuirkMiddleware, quirks=options.quirks, error=error, closed=closed)
    app.state.vendor = vendor
    app.state.options = options
    app.state.store = store
    app.state.error = error
    return app
