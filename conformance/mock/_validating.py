"""Validating and recording mode of the reference mocks.

An ASGI middleware in front of a vendor's app checks every request against the published contract (path,
method, path parameters, content type, JSON body schema incl. read-only members, field rules, credential
header and scheme), answers a non-conformant one as a careful server would (400/401 in the vendor's error
shape), lets the others through, checks the reply, and records both as one JSON line with secrets redacted.
Each violation names the client requirement it breaks (``client-requirements.yaml``). The faithful path of
the mocks does not go through this module at all.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from ._asgi import framed_length
from ._common import BODY_LIMIT, STORE_FULL_STATUS, ErrorFn, MockApp, MockOptions, parse_authorization
from ._contract import Alias, ClientRule, Contract, OperationContract, load_contract, pointer_of
from ._records import (
    REDACTED,
    TRAFFIC_LIMIT,
    Entry,
    Recorder,
    Redaction,
    Traffic,
    cut_text,
    flat_headers,
    frozen_json,
    scrub,
    scrub_data,
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Violation = dict[str, Any]

VALUE_LIMIT = 200
BODY_ASPECTS = frozenset({"content_type", "body_schema", "body_field", "path_params"})


@dataclass
class AuthOutcome:
    """How a request presented its credentials."""

    kind: str
    header: str | None = None
    scheme: str | None = None
    credential: str | None = None
    message: str = ""
    alias: Alias | None = None
    rewrite: tuple[str, str] | None = None


@dataclass
class RequestVerdict:
    """What the contract says about one request, and how to answer it."""

    operation: OperationContract | None
    auth: AuthOutcome
    violations: list[Violation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    answer: tuple[int, str] | None = None
    secrets: set[str] = field(default_factory=set)


def _value(value: Any) -> Any:
    """A JSON value cut to a readable size."""
    if isinstance(value, str):
        return value if len(value) <= VALUE_LIMIT else value[: VALUE_LIMIT - 1] + "…"
    text = json.dumps(value, ensure_ascii=False)
    return value if len(text) <= VALUE_LIMIT else text[: VALUE_LIMIT - 1] + "…"


def _violation(rule: ClientRule, location: str, pointer: str, value: Any, message: str) -> Violation:
    """One broken client rule."""
    return {
        "requirement": rule.id,
        "level": rule.level,
        "aspect": rule.aspect,
        "location": location,
        "pointer": pointer,
        "value": _value(value),
        "message": message,
    }


def _add(
    verdict: RequestVerdict, contract: Contract, aspect: str, where: tuple[str, str], value: Any, message: str
) -> None:
    """Record a violation of each rule of ``aspect`` judging the request; ``where`` is (location, pointer)."""
    role = verdict.operation.role if verdict.operation else None
    for rule in contract.rules_for(aspect, role):
        verdict.violations.append(_violation(rule, where[0], where[1], value, message))


def judge_auth(contract: Contract, options: MockOptions, headers: Mapping[str, str]) -> AuthOutcome:
    """Classify the credentials: documented, an accepted alias, or missing, malformed or of another scheme."""
    auth = contract.auth
    documented_header = auth.header.lower()
    value = headers.get(documented_header)
    if value is not None:
        parsed = parse_authorization(value)
        if parsed is None:
            shown = value.split(" ", 1)[0] if " " in value.strip() else "(no scheme)"
            return AuthOutcome(
                "malformed",
                auth.header,
                shown,
                None,
                f"malformed {auth.header} header; expected '{auth.scheme} <token>'",
            )
        scheme, credential = parsed
        shown_scheme = value.split(" ", 1)[0]
        if scheme == auth.scheme.lower():
            return AuthOutcome("documented", auth.header, shown_scheme, credential)
        for alias in auth.aliases:
            if alias.header.lower() == documented_header and alias.scheme.lower() == scheme:
                return _alias(auth.header, auth.scheme, alias, credential, options)
        return AuthOutcome(
            "wrong-scheme",
            auth.header,
            shown_scheme,
            credential,
            f"{auth.header} scheme {shown_scheme!r} is not the documented {auth.scheme!r}",
        )
    for alias in auth.aliases:
        alias_value = headers.get(alias.header.lower())
        if alias.header.lower() == documented_header or alias_value is None:
            continue
        parsed = parse_authorization(alias_value)
        if parsed is not None and parsed[0] == alias.scheme.lower():
            return _alias(auth.header, auth.scheme, alias, parsed[1], options)
        return AuthOutcome(
            "malformed",
            alias.header,
            alias_value.split(" ", 1)[0],
            parsed[1] if parsed else None,
            f"malformed {alias.header} header; expected '{alias.scheme} <token>' (and the documented header is "
            f"{auth.header})",
        )
    return AuthOutcome(
        "missing", message=f"no {auth.header} header; the contract documents '{auth.documented} <token>'"
    )


def _alias(header: str, scheme: str, alias: Alias, credential: str, options: MockOptions) -> AuthOutcome:
    """An alias use: accepted (and rewritten to the documented form) unless the mock is strict."""
    shown = f"{alias.header}: {alias.scheme}"
    if options.strict_auth:
        return AuthOutcome(
            "strict-alias",
            alias.header,
            alias.scheme,
            credential,
            f"{shown} is an undocumented alias of {header}: {scheme}; the strict (spec-only) mock rejects it",
            alias,
        )
    return AuthOutcome(
        "alias",
        alias.header,
        alias.scheme,
        credential,
        f"undocumented but accepted: {shown} <token> instead of {header}: {scheme} <token>"
        + (f" (evidence: {alias.evidence})" if alias.evidence else ""),
        alias,
        (header.lower(), f"{scheme} {credential}"),
    )


@dataclass(frozen=True)
class FieldCheck:
    """One ``body_field`` rule, with what it needs worked out once: the field's parts and pointer, its regex."""

    rule: ClientRule
    dotted: str
    parts: tuple[str, ...]
    pointer: str
    why: str
    pattern: Any
    regex: re.Pattern[str] | None
    max_length: Any

    @classmethod
    def of(cls, rule: ClientRule) -> FieldCheck:
        """Compile one rule (a pattern ``re`` cannot compile is left to fail, per request, as before)."""
        dotted = str(rule.args.get("field", ""))
        pattern = rule.args.get("pattern")
        try:
            regex = re.compile(str(pattern)) if pattern is not None else None
        except re.error:
            regex = None
        return cls(
            rule=rule,
            dotted=dotted,
            parts=tuple(dotted.split(".")),
            pointer=pointer_of(dotted.split(".")),
            why=f" ({rule.args['description']})" if rule.args.get("description") else "",
            pattern=pattern,
            regex=regex,
            max_length=rule.args.get("max_length"),
        )

    def matches(self, value: str) -> bool:
        """Whether ``value`` matches the whole pattern."""
        if self.regex is not None:
            return self.regex.fullmatch(value) is not None
        return re.fullmatch(str(self.pattern), value) is not None


def _field_checks(contract: Contract, role: str | None) -> tuple[FieldCheck, ...]:
    """The compiled ``body_field`` rules judging a request of ``role`` (worked out once per contract and role)."""
    key = ("field_checks", role)
    checks: tuple[FieldCheck, ...] | None = contract.derived.get(key)
    if checks is None:
        checks = tuple(FieldCheck.of(rule) for rule in contract.rules_for("body_field", role))
        contract.derived[key] = checks
    return checks


def _field_rules(verdict: RequestVerdict, contract: Contract, body: Any) -> None:
    """Check the prose rules (``body_field``: pattern, max_length) the schema does not carry."""
    role = verdict.operation.role if verdict.operation else None
    for check in _field_checks(contract, role):
        value = body
        for part in check.parts:
            if not isinstance(value, dict) or part not in value:
                break
            value = value[part]
        else:
            if not isinstance(value, str):
                continue
            rule, dotted, why = check.rule, check.dotted, check.why
            if check.pattern is not None and not check.matches(value):
                message = f"{dotted} {_value(value)!r} does not match {check.pattern}{why}"
                verdict.violations.append(_violation(rule, "body", check.pointer, value, message))
            if check.max_length is not None and len(value) > int(check.max_length):
                message = f"{dotted} is {len(value)} characters long, more than {check.max_length}{why}"
                verdict.violations.append(_violation(rule, "body", check.pointer, value, message))


def _body(verdict: RequestVerdict, contract: Contract, headers: Mapping[str, str], body: bytes) -> None:
    """Check content type, JSON syntax, schema, read-only members and field rules of a request body."""
    operation = verdict.operation
    if operation is None or not operation.body_media:
        return
    media = ", ".join(operation.body_media)
    if not body.strip():
        if operation.body_required:
            _add(
                verdict,
                contract,
                "body_schema",
                where=("body", ""),
                value=None,
                message=f"request body is required ({media})",
            )
        return
    content_type = headers.get("content-type")
    given = (content_type or "").split(";")[0].strip().lower()
    if given not in operation.body_media:
        message = (
            f"Content-Type {content_type!r} is not a documented request media type ({media})"
            if content_type
            else f"no Content-Type header; the body must be sent as {media}"
        )
        _add(verdict, contract, "content_type", where=("header", "content-type"), value=content_type, message=message)
    try:
        document = _request_json(body.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        text = body[:80].decode("utf-8", "replace")
        _add(
            verdict,
            contract,
            "body_schema",
            where=("body", ""),
            value=text,
            message=f"request body is not valid JSON ({type(exc).__name__}: {str(exc)[:80]})",
        )
        return
    read_only: list[tuple[str | int, ...]] = []
    if operation.body_read_only is not None:
        for path, value in operation.body_read_only(document):
            read_only.append(path)
            pointer = pointer_of(path)
            _add(
                verdict,
                contract,
                "readonly",
                where=("body", pointer),
                value=value,
                message=f"read-only member {pointer} = {_value(value)!r} sent in a request (a server ignores it)",
            )
    if operation.body_validator is not None:
        for error in sorted(operation.body_validator.iter_errors(document), key=lambda e: list(e.absolute_path))[:10]:
            path = tuple(error.absolute_path)
            if any(path[: len(ro)] == ro for ro in read_only):
                continue
            pointer = pointer_of(path)
            _add(
                verdict,
                contract,
                "body_schema",
                where=("body", pointer),
                value=error.instance,
                message=f"body {pointer or '/'}: {_short(error.message)}",
            )
    _field_rules(verdict, contract, document)


def _short(text: str, limit: int = 300) -> str:
    """One line of at most ``limit`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _no_constant(name: str) -> Any:
    """Refuse NaN and Infinity, which strict JSON does not allow."""
    raise ValueError(f"{name} is not valid JSON")


_REQUEST_DECODER = json.JSONDecoder(parse_constant=_no_constant)


def _request_json(text: str) -> Any:
    """``json.loads(text, parse_constant=_no_constant)`` with one decoder for every request (same errors)."""
    if text.startswith("\ufeff"):
        raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
    return _REQUEST_DECODER.decode(text)


def judge_request(
    contract: Contract,
    options: MockOptions,
    method: str,
    raw_path: str,
    headers: Mapping[str, str],
    body: bytes,
    too_large: bool = False,
) -> RequestVerdict:
    """Judge one request against the contract and decide whether the validator answers it itself."""
    operation, params, allowed = contract.match(method, raw_path)
    auth = judge_auth(contract, options, headers)
    verdict = RequestVerdict(operation=operation, auth=auth)
    if auth.credential:
        verdict.secrets.add(auth.credential)
    if operation is None:
        if allowed:
            templates = sorted({op.template for op in contract.operations if op.path_params(raw_path) is not None})
            _add(
                verdict,
                contract,
                "method",
                where=("method", ""),
                value=method,
                message=f"{method} is not documented for {', '.join(templates)} (documented: {', '.join(allowed)})",
            )
        else:
            _add(
                verdict,
                contract,
                "path",
                where=("path", ""),
                value=raw_path,
                message=f"{method} {raw_path}: no documented path matches "
                f"(documented: {contract.documented_operations()})",
            )
        return verdict
    if auth.kind in {"missing", "malformed", "wrong-scheme", "strict-alias"}:
        _add(
            verdict,
            contract,
            "auth",
            where=("header", (auth.header or contract.auth.header).lower()),
            value=f"{auth.header}: {auth.scheme} {REDACTED}" if auth.header else None,
            message=auth.message,
        )
    elif auth.kind == "alias" and auth.alias is not None:
        _add(
            verdict,
            contract,
            "auth_alias",
            where=("header", auth.alias.header.lower()),
            value=f"{auth.alias.header}: {auth.alias.scheme} {REDACTED}",
            message=auth.message,
        )
    for header, evidence in contract.auth.undocumented_headers:
        if header.lower() in headers:
            _add(
                verdict,
                contract,
                "undocumented_header",
                where=("header", header.lower()),
                value=headers[header.lower()],
                message=f"undocumented but accepted: header {header}"
                + (f" (evidence: {evidence})" if evidence else ""),
            )
    for name, validator in operation.params.items():
        for error in validator.iter_errors(params.get(name, "")):
            _add(
                verdict,
                contract,
                "path_params",
                where=("path", name),
                value=params.get(name),
                message=f"path parameter {name}={params.get(name)!r}: {_short(error.message)}",
            )
    if too_large:
        _add(
            verdict,
            contract,
            "body_schema",
            where=("body", ""),
            value=None,
            message=f"request body exceeds {BODY_LIMIT} bytes",
        )
    else:
        _body(verdict, contract, headers, body)
    credential_ok = auth.credential is not None and auth.credential == options.token
    if auth.kind == "strict-alias":
        verdict.answer = (401, auth.message)
    elif auth.kind in {"documented", "alias"} and credential_ok:
        problems = [v for v in verdict.violations if v["aspect"] in BODY_ASPECTS]
        if problems or too_large:
            verdict.answer = (400, problems[0]["message"] if problems else f"request body exceeds {BODY_LIMIT} bytes")
    elif auth.kind in {"documented", "alias"} and auth.credential != options.restricted_token:
        verdict.notes.append("the credentials are not the mock's token: the request is answered 401")
    return verdict


def judge_reply(
    contract: Contract, operation: OperationContract | None, status: int, headers: Mapping[str, str], body: bytes
) -> list[Violation]:
    """Check a reply against the documented response (or the vendor's error schema for an undocumented error)."""
    out: list[Violation] = []
    expected = operation.response(status) if operation else None
    where = f"{operation.method} {operation.template}" if operation else "the path"
    if operation is not None and expected is None and status < 400:
        documented = ", ".join(sorted(operation.responses))
        out.append(_reply(status, "", status, f"status {status} is not documented for {where} ({documented})"))
        return out
    validator = expected.validator if expected else (contract.error_validator if status >= 400 else None)
    media = expected.media_types if expected and expected.media_types else ()
    if not media and validator is not None:
        media = ("application/json",)
    given = headers.get("content-type", "").split(";")[0].strip().lower()
    if media and given not in media:
        out.append(_reply(status, "content-type", given, f"reply content type {given!r} is not {', '.join(media)}"))
        return out
    if validator is None:
        return out
    try:
        document = json.loads(body.decode("utf-8"))
    except ValueError:
        out.append(_reply(status, "", body[:80].decode("utf-8", "replace"), "reply body is not valid JSON"))
        return out
    for error in sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))[:10]:
        pointer = pointer_of(tuple(error.absolute_path))
        out.append(_reply(status, pointer, error.instance, f"reply {pointer or '/'}: {_short(error.message)}"))
    return out


def _reply(status: int, pointer: str, value: Any, message: str) -> Violation:
    """One way a reply breaks the contract."""
    return {"status": status, "location": "response", "pointer": pointer, "value": _value(value), "message": message}


async def _read_body(scope: Scope, receive: Receive) -> tuple[bytes, bool]:
    """Read the whole request body; past the body limit, drain it and say so."""
    expected = framed_length(scope)
    if expected == 0:
        return b"", False
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), size > BODY_LIMIT
        chunk = message.get("body", b"")
        size += len(chunk)
        if size <= BODY_LIMIT:
            chunks.append(chunk)
        if not message.get("more_body", False) or size == expected:
            return b"".join(chunks), size > BODY_LIMIT


class ValidatingMiddleware:
    """ASGI middleware: judge each request, answer or forward it, judge the reply, record both."""

    def __init__(
        self,
        app: ASGIApp,
        contract: Contract,
        options: MockOptions,
        error: ErrorFn,
        traffic: Traffic,
    ) -> None:
        """Wrap ``app`` (the vendor's faithful app)."""
        self.app = app
        self.contract = contract
        self.options = options
        self.error = error
        self.redaction = Redaction(contract, options)
        self.recorder = Recorder(options.record_path, traffic)
        self.faults = tuple(sorted(options.faults))
        self._seq = itertools.count(1)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        if scope["type"] != "http" or scope["path"].startswith("/__mock__/"):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        body, too_large = await _read_body(scope, receive)
        raw_headers: list[tuple[bytes, bytes]] = list(scope.get("headers") or [])
        pairs = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in raw_headers]
        headers = dict(pairs)
        raw = scope.get("raw_path")
        raw_path = raw.decode("latin-1").split("?", 1)[0] if isinstance(raw, bytes) and raw else scope["path"]
        verdict = judge_request(self.contract, self.options, scope["method"], raw_path, headers, body, too_large)
        status: list[int] = []
        reply_headers: list[tuple[str, str]] = []
        reply_body: list[bytes] = []
        recorded: list[bool] = []

        def finish() -> None:
            """Judge the reply and write the record (once), before the client can see the reply's end."""
            if recorded:
                return
            recorded.append(True)
            reply = b"".join(reply_body)
            code = status[0] if status else 0
            if code == STORE_FULL_STATUS:  # the mock's own limit, not the vendor's contract: not a reply to judge
                verdict.notes.append(f"the mock's store is full: {STORE_FULL_STATUS} is a mock limit, not the vendor's")
                problems: list[Violation] = []
            else:
                problems = (
                    judge_reply(self.contract, verdict.operation, code, dict(reply_headers), reply) if code else []
                )
            self._record(scope, raw_path, pairs, body, verdict, code, reply_headers, reply, problems, started)

        async def capture(message: Message) -> None:
            """Keep a copy of the reply while sending it; record the exchange before its last byte leaves."""
            if message["type"] == "http.response.start":
                status.append(int(message["status"]))
                reply_headers.extend((k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in message["headers"])
            elif message["type"] == "http.response.body":
                reply_body.append(message.get("body", b""))
                if not message.get("more_body", False):
                    finish()
            await send(message)

        try:
            if verdict.answer is not None:
                await self.error(*verdict.answer)(scope, receive, capture)
            else:
                inner_scope = scope
                if verdict.auth.rewrite is not None:
                    alias_header = verdict.auth.header.lower() if verdict.auth.header else ""
                    kept = [(k, v) for k, v in raw_headers if k.decode("latin-1").lower() != alias_header]
                    name, value = verdict.auth.rewrite
                    inner_scope = {**scope, "headers": [*kept, (name.encode("latin-1"), value.encode("latin-1"))]}
                await self.app(inner_scope, _replay(body, receive), capture)
        finally:
            finish()

    def _record(
        self,
        scope: Scope,
        raw_path: str,
        pairs: list[tuple[str, str]],
        body: bytes,
        verdict: RequestVerdict,
        status: int,
        reply_headers: list[tuple[str, str]],
        reply: bytes,
        problems: list[Violation],
        started: float,
    ) -> None:
        """Write the redacted record of one exchange."""
        seq = next(self._seq)
        clean = self.redaction
        secrets = clean.ordered(verdict.secrets)
        request_text, request_cut = cut_text(body)
        reply_text, reply_cut = cut_text(reply)
        operation = verdict.operation
        auth = verdict.auth
        entry: Entry = (
            seq,
            dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
            self.contract.vendor,
            scope["method"],
            scrub(raw_path, secrets),
            scrub(scope.get("query_string", b"").decode("latin-1"), secrets),
            operation.operation_id if operation else None,
            operation.role if operation else None,
            operation.template if operation else None,
            (auth.kind, auth.header, auth.scheme),
            flat_headers(clean.headers_scrubbed(pairs, secrets)),
            scrub(request_text, secrets) if body else None,
            request_cut,
            status,
            flat_headers(clean.headers_scrubbed(reply_headers, secrets)),
            scrub(reply_text, secrets),
            reply_cut,
            "validator" if verdict.answer is not None else "mock",
            frozen_json(scrub_data(verdict.violations, secrets)),
            frozen_json(scrub_data(problems, secrets)),
            tuple(verdict.notes),
            self.faults,
            self.options.strict_auth,
            round((time.perf_counter() - started) * 1000, 2),
        )
        self.recorder.write(entry)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive callable that hands the already-read body to the inner app, then defers to the real one."""
    sent = False

    async def replay() -> Message:
        """Return the body once, then whatever the connection says next."""
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def install(app: MockApp, vendor: str, options: MockOptions) -> None:
    """Put the validating, recording middleware in front of a vendor's app (``app.state.traffic`` keeps records)."""
    if options.spec_dir is None:
        raise ValueError("the validating mode needs MockOptions.spec_dir")
    contract = load_contract(options.spec_dir, vendor)
    traffic = Traffic(TRAFFIC_LIMIT)
    app.state.traffic = traffic
    app.state.contract = contract
    app.add_middleware(ValidatingMiddleware, contract=contract, options=options, error=app.state.error, traffic=traffic)
