"""One target under test: its recording client, credentials, the resources the run owns, and cached probes."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from conformance.catalog import Operation, Vendor
from conformance.exchanges import Exchange, RecordingClient, Redactor
from conformance.profiles import Profile
from conformance.schemas import SpecSchemas, spec_schemas
from conformance.targets import Target
from conformance.verdicts import CheckErrored, CheckSkipped

T = TypeVar("T")
ABSENT_MARK = "absent"


class Ledger:
    """Every resource the run created or was given, until it is confirmed gone; mirrored to a JSON-lines file."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.live: dict[str, str] = {}
        self._lock = threading.Lock()

    def _write(self, event: str, resource_id: str, origin: str) -> None:
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps({"event": event, "id": resource_id, "origin": origin, "t": time.time()}) + "\n")

    def add(self, resource_id: str, origin: str = "created") -> None:
        """Record that ``resource_id`` exists because of this run."""
        with self._lock:
            self.live[resource_id] = origin
            self._write("add", resource_id, origin)

    def remove(self, resource_id: str) -> None:
        """Record that ``resource_id`` is confirmed gone."""
        with self._lock:
            origin = self.live.pop(resource_id, "")
            self._write("gone", resource_id, origin)

    def owns(self, resource_id: str) -> bool:
        """Whether the run may delete ``resource_id``."""
        return resource_id in self.live


class TargetContext:
    """Everything a check needs about one target, shared by the checks of a run."""

    def __init__(
        self,
        target: Target,
        vendor: Vendor,
        profile: Profile,
        *,
        run_id: str,
        seed: int,
        redactor: Redactor,
        ledger_path: Path | None = None,
    ) -> None:
        self.target = target
        self.vendor = vendor
        self.profile = profile
        self.run_id = run_id
        self.seed = seed
        self.redactor = redactor
        self.token = target.token()
        redactor.add(self.token)
        restricted = target.restricted_token()
        if restricted:
            redactor.add(restricted)
        self.client = RecordingClient(
            target.base_url,
            redactor=redactor,
            timeout=target.timeout,
            max_requests=target.max_requests,
            verify=target.verify,
            extra_headers=target.extra_headers,
        )
        self.schemas: SpecSchemas = spec_schemas(vendor.spec)
        self.ledger = Ledger(ledger_path)
        self._disposable = list(target.disposable_ids)
        for resource_id in self._disposable:
            self.ledger.add(resource_id, "disposable")
        self._probes: dict[str, Any] = {}
        self._counter = 0
        self._lock = threading.Lock()

    # names -----------------------------------------------------------------
    @property
    def name_prefix(self) -> str:
        """The run-unique prefix of every name the run creates."""
        return f"{self.target.name_prefix}-{self.run_id}-"

    def unique_suffix(self) -> str:
        """A short token, unique within the run."""
        with self._lock:
            self._counter += 1
            return f"{self._counter:x}{secrets.token_hex(2)}"

    def absent_id(self) -> str:
        """An id that cannot exist: the run prefix, a reserved word and a random part."""
        return f"{self.name_prefix}{ABSENT_MARK}-{secrets.token_hex(6)}"

    # requests --------------------------------------------------------------
    def auth_headers(self, *, token: str | None = None, scheme: str | None = None) -> dict[str, str]:
        """The documented credential header, optionally with another token or scheme."""
        auth = self.vendor.auth
        value = f"{scheme if scheme is not None else auth.scheme} {token if token is not None else self.token}"
        return {auth.header: value.strip()}

    def has_operation(self, role: str) -> bool:
        """Whether the vendor documents an operation for ``role``."""
        return role in self.vendor.operations

    def operation(self, role: str) -> Operation:
        """The vendor's operation for ``role``, or skip the check when there is none."""
        if role not in self.vendor.operations:
            raise CheckSkipped(f"{self.vendor.title} documents no {role} operation")
        return self.vendor.operations[role]

    def call(
        self,
        role: str,
        *,
        resource_id: str | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        authenticated: bool = True,
        note: str = "",
    ) -> Exchange:
        """Send the ``role`` operation; a transport error becomes a ``CheckErrored``."""
        op = self.operation(role)
        if op.method == "DELETE" and resource_id is not None:
            self.guard_delete(resource_id)
        send_headers = dict(self.auth_headers()) if authenticated else {}
        send_headers.update(headers or {})
        path = op.url_path(self.vendor.server_path, resource_id)
        exchange = self.client.send(op.method, path, headers=send_headers, json_body=body, note=note)
        if exchange.transport_error:
            raise CheckErrored(f"target unreachable: {exchange.transport_error}", [exchange])
        if op.method == "POST" and exchange.status is not None and 200 <= exchange.status < 300:
            created = self.id_of_body(body)
            if created is not None:
                self.ledger.add(created)
        return exchange

    def guard_delete(self, resource_id: str) -> None:
        """Refuse a DELETE of anything the run neither created, was given, nor made up as absent."""
        if self.ledger.owns(resource_id) or resource_id.startswith(self.name_prefix):
            return
        raise CheckErrored(f"refusing to DELETE {resource_id!r}: not created by this run nor declared disposable")

    def id_of_body(self, body: Any) -> str | None:
        """The resource id inside a create body (the catalog's ``id_field``)."""
        if "create" not in self.vendor.operations or not isinstance(body, dict):
            return None
        node: Any = body
        for part in (self.vendor.operations["create"].id_field or "").split("."):
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node if isinstance(node, str) else None

    # resources -------------------------------------------------------------
    def take_disposable(self) -> str:
        """A disposable id given by the configuration, or skip when none is left."""
        with self._lock:
            if not self._disposable:
                raise CheckSkipped("no disposable resource id left: declare more with --disposable-id")
            return self._disposable.pop(0)

    def new_resource(self, make_body: Callable[[str], Any]) -> tuple[str, Exchange | None]:
        """A resource the run may delete: created by the run when the vendor can create, else a disposable id."""
        if not self.has_operation("create"):
            return self.take_disposable(), None
        name = self.name_prefix + self.unique_suffix()
        exchange = self.call("create", body=make_body(name), note="setup: create a resource to work on")
        if exchange.status != 200:
            raise CheckErrored(f"could not create a resource to work on: {exchange.summary()}", [exchange])
        return name, exchange

    def wait_until_gone(self, resource_id: str, *, deadline: float | None = None) -> tuple[bool, list[Exchange]]:
        """Poll a second DELETE until it answers 404 (or another 4xx), within the gone deadline."""
        limit = time.monotonic() + (self.target.gone_deadline if deadline is None else deadline)
        seen: list[Exchange] = []
        pause = 0.05
        while True:
            exchange = self.call("delete", resource_id=resource_id, note="poll: is the deleted resource gone?")
            seen.append(exchange)
            if exchange.status is not None and 400 <= exchange.status < 500:
                self.ledger.remove(resource_id)
                return True, seen
            if time.monotonic() + pause > limit:
                return False, seen
            time.sleep(pause)
            pause = min(pause * 2, 1.0)

    # probes ----------------------------------------------------------------
    def probe(self, key: str, run: Callable[[], T]) -> T:
        """Run ``run`` once per context; later calls reuse its result (or re-raise its verdict)."""
        with self._lock:
            if key in self._probes:
                cached = self._probes[key]
                if isinstance(cached, BaseException):
                    raise cached
                return cached  # type: ignore[no-any-return]
        try:
            value = run()
        except (CheckErrored, CheckSkipped) as verdict:
            with self._lock:
                self._probes[key] = verdict
            raise
        with self._lock:
            self._probes[key] = value
        return value

    @contextmanager
    def timed(self) -> Iterator[None]:
        """Nothing yet: a hook for per-check timing."""
        yield

    # cleanup ---------------------------------------------------------------
    def cleanup(self) -> list[str]:
        """Delete every resource the run created and still owns, then poll them all to one shared deadline.

        Returns the ids that could not be confirmed gone (leaks).
        """
        pending: list[str] = []
        leaks: list[str] = []
        for resource_id, origin in list(self.ledger.live.items()):
            if origin != "created":
                continue
            try:
                exchange = self.call("delete", resource_id=resource_id, note="cleanup")
            except Exception:
                leaks.append(resource_id)
                continue
            if exchange.status == 404:
                self.ledger.remove(resource_id)
            elif exchange.status is not None and exchange.status < 300:
                pending.append(resource_id)
            else:
                leaks.append(resource_id)
        limit = time.monotonic() + self.target.gone_deadline
        pause = 0.05
        while pending:
            still: list[str] = []
            for resource_id in pending:
                try:
                    exchange = self.call("delete", resource_id=resource_id, note="cleanup: poll until gone")
                except Exception:
                    still.append(resource_id)
                    continue
                if exchange.status is not None and 400 <= exchange.status < 500:
                    self.ledger.remove(resource_id)
                else:
                    still.append(resource_id)
            pending = still
            if not pending or time.monotonic() + pause > limit:
                break
            time.sleep(pause)
            pause = min(pause * 2, 1.0)
        return leaks + pending

    def close(self) -> None:
        """Release the HTTP connections."""
        self.client.close()
