"""One target under test: its recording client, credentials, the resources the run owns, and cached probes.

Safety on live systems lives here. Every request goes through ``TargetContext._before_send``: a DELETE is only
sent to a resource the run created (recorded in the ledger before the create is sent), an id the configuration
declared disposable, or an id that cannot exist (``absent_id``: the run prefix, a reserved word, a random part);
writes need ``allow_destructive``; at most ``max_live_resources`` resources of the run exist at once.
"""

from __future__ import annotations

import contextvars
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from conformance import interrupts
from conformance.catalog.model import Operation, Vendor
from conformance.catalog.openapi import SpecSchemas, spec_schemas
from conformance.catalog.profiles import Profile
from conformance.exchange import Exchange
from conformance.redact import Redactor
from conformance.target.http import (
    CURRENT_ROW,
    RecordingClient,
    RequestBudgetExceeded,
    RetriesExhausted,
    RunStopped,
    Settle,
    TimeBudgetExceeded,
)
from conformance.target.ledger import OWNED_ORIGINS, Ledger
from conformance.target.model import Target
from conformance.verdicts import CheckErrored, CheckSkipped

T = TypeVar("T")
A = TypeVar("A")
ABSENT_MARK = "absent"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
NOT_ABOUT_THE_RESOURCE = frozenset({401, 403, 407, 429})  # 4xx answers that say nothing about the resource
PROTECTED_NEWEST = 2
STUCK_CLEANUP_WINDOW = 2.0  # seconds the cleanup still polls once this target's deletes proved never to take effect
CAUSE_STREAK = 25  # consecutive answers with one set-up cause (401 with the token, HTML) that stop the run


def _template_pattern(template: str) -> re.Pattern[str]:
    """A regex matching a path template, with its (single) parameter captured as ``id``."""
    pattern = re.sub(r"\\\{[^}]+\\\}", "(?P<id>[^/]+)", re.escape(template))
    return re.compile("^" + pattern + "/?$")


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
        resume: bool = False,
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
        other = target.other_token()
        if other:
            redactor.add(other)
        self.client = RecordingClient(
            target.base_url,
            redactor=redactor,
            timeout=target.timeout,
            max_requests=target.max_requests,
            verify=target.ssl_verify(),
            extra_headers=target.extra_headers,
            max_body_bytes=target.max_body_bytes,
            max_retries=target.max_retries,
            retry_max_wait=target.retry_max_wait,
            rate_limit=target.rate_limit,
            deadline=target.suite_deadline,
            trust_env=target.trust_env,
            proxy=target.proxy,
            stop=interrupts.STOP,
            before_send=self._before_send,
            max_in_flight=target.workers,
        )
        self.schemas: SpecSchemas = spec_schemas(vendor.spec)
        if resume and ledger_path is not None:
            self.ledger = Ledger.load(ledger_path)
        else:
            self.ledger = Ledger(ledger_path, {"run_id": run_id, "target": target.as_dict()})
            self.ledger.open()
        self._disposable = [] if resume else list(target.disposable_ids)
        for resource_id in self._disposable:
            self.ledger.add(resource_id, "disposable")
        self._absent: set[str] = set()
        self.gone_ids: list[str] = []  # ids seen gone (a 4xx to a DELETE after their delete), rechecked later
        self._probes: dict[str, Any] = {}
        self._probe_gates: dict[str, threading.Lock] = {}
        self._room = threading.Lock()  # one create at a time checks the resource cap and claims its name
        self._row_of: dict[str, str] = {}  # which row created each resource
        self._running_rows: set[str] = set()
        self._counter = 0
        self._lock = threading.Lock()
        self.leak_reasons: dict[str, str] = {}
        # Resources a check made under the second identity and could not confirm gone (another workspace's: not in
        # the ledger, which deletes with the first identity); the cleanup reports them as leaks.
        self.other_identity_leaks: dict[str, str] = {}
        self.peak_live = 0
        # Deletes that never take effect: when each resource was first deleted, and those that outlived the gone
        # deadline (decided: later waits on them give up at once, and other waits stop after one poll).
        self._deleted_at: dict[str, float] = {}
        self.never_gone: dict[str, tuple[str, list[Exchange]]] = {}
        self._fresh_disposable = set(self._disposable)
        # A set-up problem found during the run (a spent disposable id, every answer a 401 or an HTML page): the
        # rows left are not judged, the run ends with it. ``setup_exit`` is the documented exit code it calls for.
        self.setup_problem: str | None = None
        self.setup_exit = 3
        self._streak: tuple[str, int] = ("", 0)
        self._token_worked = False  # an answer other than 401 to a request carrying the token
        self._json_seen = False  # an answer in JSON: the base URL reaches an API
        self._patterns = {role: _template_pattern(op.path) for role, op in vendor.operations.items()}

    # names -----------------------------------------------------------------
    @property
    def name_prefix(self) -> str:
        """The run-unique prefix of every name the run creates."""
        return f"{self.target.name_prefix}-{self.run_id}{self.target.slot}-"

    def unique_suffix(self) -> str:
        """A short token, unique within the run."""
        with self._lock:
            self._counter += 1
            # fixed width: a generated name's length (and so what is drawn beside it) does not depend on which
            # row reached the counter first (rows judged at once, --workers)
            return f"{self._counter:05x}{secrets.token_hex(2)}"

    def absent_id(self) -> str:
        """An id that cannot exist: the run prefix, a reserved word and a random part (remembered: DELETE-able)."""
        resource_id = f"{self.name_prefix}{ABSENT_MARK}-{secrets.token_hex(6)}"
        with self._lock:
            self._absent.add(resource_id)
        return resource_id

    def mark_absent(self, resource_id: str) -> None:
        """Declare an id the run made up and knows cannot exist (e.g. a case variant of its own): DELETE-able."""
        with self._lock:
            self._absent.add(resource_id)

    # requests --------------------------------------------------------------
    def auth_headers(self, *, token: str | None = None, scheme: str | None = None) -> dict[str, str]:
        """The documented credential header, optionally with another token or scheme."""
        auth = self.vendor.auth
        value = f"{scheme if scheme is not None else auth.scheme} {token if token is not None else self.token}"
        return {auth.header: value.strip()}

    def answers_absent(self, exchange: Exchange, role: str = "delete") -> bool:
        """Whether an answer says the resource does not exist: a 4xx that is not about the caller (401, 403, 407,
        429), or the operation's documented "nothing there" answer (``absent_answer`` in vendor.yaml, e.g. a
        tombstone whose ``deleted`` is false)."""
        status = exchange.status
        if status is None:
            return False
        if 400 <= status < 500:
            return status not in NOT_ABOUT_THE_RESOURCE
        op = self.vendor.operations.get(role)
        absent = op.absent_answer if op is not None else None
        if not absent or status != int(absent.get("status", 200)):
            return False
        try:
            body = exchange.json()
        except ValueError:
            return False
        node: Any = body
        for part in str(absent.get("field", "")).split("."):
            if not isinstance(node, dict) or part not in node:
                return False
            node = node[part]
        wanted = absent.get("equals")
        return bool(node == wanted and type(node) is type(wanted))

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
        """Send the ``role`` operation; a transport error, an exhausted budget or retry becomes a ``CheckErrored``."""
        op = self.operation(role)
        if op.method == "DELETE" and resource_id is not None:
            self.guard_delete(resource_id)
        send_headers = dict(self.auth_headers()) if authenticated else {}
        send_headers.update(headers or {})
        path = op.url_path(self.vendor.server_path, resource_id)
        exchange = self.send(op.method, path, headers=send_headers, json_body=body, note=note)
        if not authenticated:  # a credential broken on purpose: its reproduction must not use the real token
            exchange.credential = (
                f"a deliberately wrong credential: {note}" if note else "a deliberately wrong credential"
            )
        if exchange.transport_error:
            raise CheckErrored(f"target unreachable: {exchange.transport_error}", [exchange])
        if op.method == "DELETE" and resource_id is not None and resource_id in self._fresh_disposable:
            self._fresh_disposable.discard(resource_id)
            if exchange.status == 404 and authenticated:
                self.ledger.remove(resource_id, "disposable id did not exist (404)")
                self.set_up_problem(
                    f"disposable id {resource_id} does not exist on {self.target.name} (DELETE answered 404; "
                    "already deleted by an earlier run?): declare ids that exist with --disposable-id",
                    exit_code=2,
                )
                raise CheckErrored(f"not judged: {self.setup_problem}", [exchange])
        return exchange

    def set_up_problem(self, cause: str, *, exit_code: int = 3) -> None:
        """Record a set-up problem (the first one wins): the checks left on this target are not judged."""
        with self._lock:
            if self.setup_problem is None:
                self.setup_problem = cause
                self.setup_exit = exit_code

    def send(
        self, method: str, path: str, *, headers: dict[str, str], json_body: Any = None, note: str = ""
    ) -> Exchange:
        """``client.send`` with the run's limits turned into ``CheckErrored`` verdicts."""
        try:
            return self.client.send(method, path, headers=headers, json_body=json_body, note=note)
        except RetriesExhausted as exc:
            raise CheckErrored(str(exc), [exc.exchange]) from None
        except TimeBudgetExceeded:
            raise CheckErrored(self._budget_spent()) from None
        except RequestBudgetExceeded as exc:
            raise CheckErrored(f"not judged: {exc} (target {self.target.name})") from None
        except RunStopped:
            raise CheckErrored(f"not judged: {interrupts.stop_reason() or 'the run was stopped'}") from None

    def _budget_spent(self) -> str:
        """Why a row is not judged once the time budget is spent, with the retries that spent it, if any."""
        retried = ", ".join(f"{n} x {status}" for status, n in sorted(dict(self.client.retry_statuses).items()))
        return (
            f"not judged: the time budget of {self.target.budget or 0:g}s was exhausted (target {self.target.name})"
            + (f"; the target asked for retries: {retried}" if retried else "")
        )

    def ensure_can_continue(self) -> None:
        """Refuse to start a check once the run was stopped, a set-up problem was found, or a budget is spent."""
        if self.setup_problem is not None:
            raise CheckErrored(f"not judged: {self.setup_problem}")
        if interrupts.STOP.is_set():
            raise CheckErrored(f"not judged: {interrupts.stop_reason() or 'the run was stopped'}")
        left = self.client.remaining()
        if self.client.budget_exhausted or (left is not None and left <= 0.05):
            self.client.budget_exhausted = True
            raise CheckErrored(self._budget_spent())
        if self.client.request_count >= self.client.max_requests:
            raise CheckErrored(f"not judged: request budget of {self.client.max_requests} exhausted")

    def guard_delete(self, resource_id: str) -> None:
        """Refuse a DELETE of anything the run neither created, was given, nor made up as absent."""
        if self.ledger.owns(resource_id) or resource_id in self.ledger.known or resource_id in self._absent:
            return
        raise CheckErrored(
            f"refusing to DELETE {resource_id!r}: not created by this run, not declared disposable, "
            "and not an id generated to be absent"
        )

    def _refuse_destructive(self, what: str) -> None:
        if not self.target.allow_destructive:
            raise CheckSkipped(
                f"needs {what}, a destructive call, and target {self.target.name} does not allow them "
                "(set allow_destructive = true for it in the configuration, or pass --allow-destructive)"
            )

    def _match(self, role: str, method: str, path: str) -> re.Match[str] | None:
        op = self.vendor.operations.get(role)
        if op is None or op.method != method:
            return None
        return self._patterns[role].match(urlsplit(path).path)

    def _before_send(self, method: str, path: str, body: bytes | None) -> Settle | None:
        """Enforce the safety rules on every request, then watch its answer for a set-up cause."""
        inner = self._guard(method, path, body)

        def settle(exchange: Exchange | None, sent: bool) -> None:
            if inner is not None:
                inner(exchange, sent)
            if exchange is not None:
                self._observe(method, path, exchange)

        return settle

    def _observe(self, method: str, path: str, exchange: Exchange) -> None:
        """Count consecutive answers that share a set-up cause; past ``CAUSE_STREAK`` the run stops judging."""
        if method.upper() == "DELETE" and exchange.status is not None and exchange.status < 300:
            match = self._match("delete", "DELETE", path)
            if match is not None and "id" in match.groupdict():
                self._deleted_at.setdefault(unquote(match.group("id")), time.monotonic())
        header = self.vendor.auth.header.lower()
        with_token = bool(self.token) and any(k.lower() == header for k in exchange.request_headers)
        if exchange.status is not None and exchange.status != 401 and with_token:
            self._token_worked = True
        if "json" in exchange.content_type:
            self._json_seen = True
        if exchange.status == 401 and with_token and not self._token_worked:
            cause = (
                f"every request with the token in ${self.target.token_env} was answered 401 on {self.target.name} "
                "(a wrong or expired token?)"
            )
        elif exchange.status is not None and exchange.content_type == "text/html" and not self._json_seen:
            cause = (
                f"every answer of {self.target.name} is an HTML page: is base_url {self.target.base_url} the API "
                f"(the spec's server path is {self.vendor.server_path or '/'})?"
            )
        else:
            cause = ""
        with self._lock:
            previous, count = self._streak
            count = count + 1 if cause and cause == previous else (1 if cause else 0)
            self._streak = (cause, count)
        if cause and count >= CAUSE_STREAK:
            self.set_up_problem(f"{cause} ({count} answers in a row)")

    def _guard(self, method: str, path: str, body: bytes | None) -> Settle | None:
        """Enforce the safety rules on every request the client sends (checks, fuzzing, cleanup alike)."""
        if method.upper() in SAFE_METHODS:
            return None
        if method.upper() == "DELETE":
            match = self._match("delete", "DELETE", path)
            if match is None or "id" not in match.groupdict():
                raise CheckErrored(f"refusing DELETE {path}: it names no resource the run may delete")
            resource_id = unquote(match.group("id"))
            self.guard_delete(resource_id)
            if resource_id not in self._absent and self.ledger.live.get(resource_id) not in OWNED_ORIGINS:
                self._refuse_destructive(f"DELETE of {resource_id!r}")
            return None
        self._refuse_destructive(f"{method} {path}")
        created = self._created_id(method, path, body)
        if created is not None and created in self.gone_ids:
            with self._lock:
                self.gone_ids.remove(created)  # created again: no longer expected gone
        if created is None or self.ledger.owns(created):
            return None
        with self._room:
            self._make_room()
            self.ledger.add(created, "uncertain")
            self._row_of[created] = CURRENT_ROW.get()
            self.peak_live = max(self.peak_live, len(self.ledger.owned()))

        def settle(exchange: Exchange | None, sent: bool) -> None:
            status = exchange.status if exchange is not None else None
            if not sent:
                self.ledger.remove(created, "not created (never sent)")
            if status is None:
                return
            if 200 <= status < 300:
                self.ledger.add(created, "created")
                self._deleted_at.pop(created, None)  # (re-)created: a later delete starts a new gone deadline
                self.never_gone.pop(created, None)
            elif status < 500 or status == 503:
                self.ledger.remove(created, f"not created (answered {status})")

        return settle

    def _created_id(self, method: str, path: str, body: bytes | None) -> str | None:
        if self._match("create", method.upper(), path) is None or body is None:
            return None
        try:
            return self.id_of_body(json.loads(body))
        except ValueError:
            return None

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
    def _make_room(self) -> None:
        """Keep at most ``max_live_resources`` of the run's resources: delete the oldest (never the newest two)."""
        owned = self.ledger.owned()
        cap = self.target.max_live_resources
        if len(owned) < cap:
            return
        # Outside a row, never the newest two (what the caller may still work on). Inside one: never a resource of
        # the row that asks (it may still work on it), and the resources of rows still being
        # judged only when there is no other: oldest first. One room per sender that may be waiting (``workers``),
        # so that rows judged at once do not stop for an eviction at every create; the evictions go out at once.
        mine = CURRENT_ROW.get()
        with self._lock:
            running = set(self._running_rows)
        own = [i for i in owned if mine and self._row_of.get(i) == mine]
        others = [i for i in owned if i not in own] if mine else owned[: max(0, len(owned) - PROTECTED_NEWEST)]
        idle = [i for i in others if self._row_of.get(i, "") not in running]  # oldest first
        busy = [i for i in others if self._row_of.get(i, "") in running]
        needed = len(owned) - cap + 1
        # what is needed (another running row's resource, then the asking row's own older ones, only as the last
        # resort: a row that creates more than the cap, like a fuzz row), plus spare room from idle ones only
        last_resort = busy + own[: max(0, len(own) - PROTECTED_NEWEST)]
        batch = (idle + last_resort)[:needed] + idle[needed : needed + self.target.workers - 1]
        self.map_requests(lambda resource_id: self._delete_until_gone(resource_id, "evicted: resource cap"), batch)
        if len(self.ledger.owned()) >= cap:
            stuck = self.stuck_reason()
            raise CheckErrored(
                f"resource cap: {len(self.ledger.owned())} resources of this run exist on {self.target.name} "
                f"(max_live_resources = {cap}) and none could be deleted in time"
                + (f": deletes on this target do not take effect ({stuck})" if stuck else "")
            )

    def _delete_until_gone(self, resource_id: str, note: str) -> bool:
        try:
            first = self.call("delete", resource_id=resource_id, note=note)
        except CheckErrored:
            return False
        if self.answers_absent(first):
            self.ledger.remove(resource_id, f"{note}: answered {first.status}")
            return True
        if first.status is None or first.status >= 300:
            return False
        try:
            gone, _polls = self.wait_until_gone(resource_id)
        except CheckErrored:
            return False
        return gone

    def disposable_left(self) -> int:
        """How many declared disposable ids are still unused."""
        return len(self._disposable)

    def take_disposable(self) -> str:
        """A disposable id given by the configuration, or skip when none is left."""
        self._refuse_destructive("a disposable resource to DELETE")
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

    def gone_limit(self, resource_id: str, deadline: float | None = None) -> float:
        """When waiting for ``resource_id`` to go ends (monotonic): its gone deadline counted from its first DELETE.

        Once one resource of this target outlived its deadline, deletes there are known not to take effect: every
        other wait ends after one poll, so a never-deleting server costs one deadline, not one per resource.
        """
        now = time.monotonic()
        span = self.target.gone_deadline if deadline is None else deadline
        limit = self._deleted_at.get(resource_id, now) + span
        if self.never_gone:
            limit = min(limit, now)
        return limit

    def stuck_reason(self) -> str:
        """Why this target's deletes are known not to take effect ('' while none outlived its deadline)."""
        for message, _evidence in self.never_gone.values():
            return message
        return ""

    def wait_until_gone(self, resource_id: str, *, deadline: float | None = None) -> tuple[bool, list[Exchange]]:
        """Poll a second DELETE until it says the resource is absent (``answers_absent``), within its gone deadline.

        A resource already known to outlive its deadline is not polled again (it fails at once, with its evidence).
        """
        if resource_id in self.never_gone:
            return False, list(self.never_gone[resource_id][1][-1:])
        limit = self.gone_limit(resource_id, deadline)
        seen: list[Exchange] = []
        pause = 0.05
        while True:
            exchange = self.call("delete", resource_id=resource_id, note="poll: is the deleted resource gone?")
            seen.append(exchange)
            if self.answers_absent(exchange):
                self.ledger.remove(resource_id)
                with self._lock:
                    if resource_id not in self.gone_ids:
                        self.gone_ids.append(resource_id)
                return True, seen
            now = time.monotonic()
            if now >= limit:
                self._mark_never_gone(resource_id, exchange, len(seen))
                return False, seen
            time.sleep(min(pause, limit - now))  # the last poll lands on the deadline itself
            pause = min(pause * 2, 1.0)

    def _mark_never_gone(self, resource_id: str, last: Exchange, polls: int) -> None:
        deleted = self._deleted_at.get(resource_id)
        age = time.monotonic() - deleted if deleted is not None else self.target.gone_deadline
        if age + 0.05 < self.target.gone_deadline:
            return  # a wait cut short (a shorter deadline asked for, or deletes already known stuck): not proof
        message = (
            f"{resource_id!r} still answers {last.status} to DELETE {age:.1f}s after it was deleted "
            f"(gone deadline {self.target.gone_deadline:g}s, {polls} poll(s))"
        )
        with self._lock:
            self.never_gone.setdefault(resource_id, (message, [last]))

    def map_requests(self, send: Callable[[A], T], items: Sequence[A]) -> list[T]:
        """``[send(item) for item in items]``, with up to ``workers`` of them at once; results in ``items``' order.

        For requests that do not depend on one another (the answers are judged afterwards, in order, so the verdict
        and its evidence are those of one-at-a-time sending). The first exception, in ``items``' order, is raised
        once every call has ended.
        """
        workers = min(self.target.workers, len(items))
        if workers <= 1:
            return [send(item) for item in items]
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"send-{self.target.name}") as pool:
            # each call in a copy of this thread's context: it sends for the same row (CURRENT_ROW)
            futures = [pool.submit(contextvars.copy_context().run, send, item) for item in items]
        return [future.result() for future in futures]

    @contextmanager
    def judging(self, row: str) -> Iterator[None]:
        """The current thread judges ``row``: the resources it creates meanwhile are its own (not evicted)."""
        token = CURRENT_ROW.set(row)
        with self._lock:
            self._running_rows.add(row)
        try:
            yield
        finally:
            with self._lock:
                self._running_rows.discard(row)
            CURRENT_ROW.reset(token)

    # probes ----------------------------------------------------------------
    def probe(self, key: str, run: Callable[[], T]) -> T:
        """Run ``run`` once per context; later calls reuse its result (or re-raise its verdict).

        Rows judged at once that ask for the same probe wait for the one that runs it (one set of requests).
        """
        with self._lock:
            gate = self._probe_gates.setdefault(key, threading.Lock())
        with gate:
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
        """Delete every resource the run created (or may have created), then poll them all to one shared deadline.

        Runs even after a stop request, within the run's final deadline. Returns the ids that could not be
        confirmed gone (leaks); ``leak_reasons`` says why for each.
        """
        self.client.winding_down(self.target.deadline)
        pending: list[str] = []
        leaks: dict[str, str] = {}
        stuck = self.stuck_reason()
        owned: list[str] = []
        for resource_id in self.ledger.owned():
            if resource_id in self.never_gone:
                leaks[resource_id] = f"deletes on this target do not take effect: {self.never_gone[resource_id][0]}"
            else:
                owned.append(resource_id)

        def delete(resource_id: str, note: str) -> Exchange | BaseException:
            try:
                return self.call("delete", resource_id=resource_id, note=note)
            except Exception as exc:  # a cleanup failure is a leak with its reason, never a crash
                return exc

        # up to ``workers`` deletes at once (a remote target's round trips overlap), judged in the ledger's order
        for resource_id, answer in zip(owned, self.map_requests(lambda i: delete(i, "cleanup"), owned), strict=True):
            if isinstance(answer, BaseException):
                leaks[resource_id] = _reason(answer)
            elif self.answers_absent(answer):
                self.ledger.remove(resource_id, f"cleanup: answered {answer.status}")
            elif answer.status is not None and answer.status < 300:
                pending.append(resource_id)
            else:
                leaks[resource_id] = f"cleanup DELETE answered {answer.status}"
        window = min(self.target.gone_deadline, STUCK_CLEANUP_WINDOW) if stuck else self.target.gone_deadline
        limit = time.monotonic() + window
        pause = 0.05
        while pending:
            still: list[str] = []
            polls = self.map_requests(lambda i: delete(i, "cleanup: poll until gone"), pending)
            for resource_id, answer in zip(pending, polls, strict=True):
                if isinstance(answer, BaseException):
                    leaks[resource_id] = _reason(answer)
                elif self.answers_absent(answer):
                    self.ledger.remove(resource_id, "cleanup: gone")
                else:
                    still.append(resource_id)
            pending = still
            left = self.client.remaining()
            if not pending or time.monotonic() + pause > limit or (left is not None and left < pause):
                break
            time.sleep(pause)
            pause = min(pause * 2, 1.0)
        for resource_id in pending:
            why = f" (deletes on this target do not take effect: {stuck})" if stuck else ""
            leaks[resource_id] = f"still present {window:g}s after its DELETE{why}"
        leaks.update(self.other_identity_leaks)
        self.leak_reasons.update(leaks)
        return list(leaks)

    def stats(self) -> dict[str, Any]:
        """Counters of the run on this target, for the report."""
        return {
            "requests": self.client.request_count,
            "retries": self.client.retry_count,
            "retry_statuses": dict(self.client.retry_statuses),
            "time_budget_exhausted": self.client.budget_exhausted,
            "peak_live_resources": self.peak_live,
            "deletes_never_take_effect": self.stuck_reason() or None,
            "setup_problem": self.setup_problem,
            "setup_exit": self.setup_exit if self.setup_problem else None,
        }

    def close(self) -> None:
        """Release the HTTP connections."""
        self.client.close()


def _reason(exc: BaseException) -> str:
    text = exc.message if isinstance(exc, CheckErrored) else f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())[:200]


# --------------------------------------------------------------------------- leftovers of earlier runs


def retry_cleanup(
    path: Path, target: Target, vendor: Vendor, profile: Profile, run_id: str, redactor: Redactor
) -> tuple[list[str], dict[str, str]]:
    """Delete what an earlier run's ledger still owns, appending to that ledger; (deleted ids, leaks with reasons)."""
    ctx = TargetContext(
        target, vendor, profile, run_id=run_id, seed=0, redactor=redactor, ledger_path=path, resume=True
    )
    try:
        before = ctx.ledger.owned()
        leaks = ctx.cleanup()
        return [i for i in before if i not in leaks], {i: ctx.leak_reasons.get(i, "") for i in leaks}
    finally:
        ctx.close()
