"""Checks of single answers: statuses, schemas, members, content types, error shapes."""

from __future__ import annotations

import re
from typing import Any

from conformance.catalog.model import Requirement, Vendor
from conformance.checks.bodies import (
    SCHEMA_VIOLATIONS,
    get_field,
)
from conformance.checks.probes import (
    brief,
    created_exchanges,
    draw_all,
    invalid_bodies_for,
    json_of,
    probe_exchanges,
    schema_at,
    targeted_invalid_bodies,
    values_at,
)
from conformance.checks.registry import PROBES, RequestKind, op_text, register, sends_fixed, sends_probe
from conformance.exchange import Exchange
from conformance.target.context import TargetContext
from conformance.verdicts import CheckFailed, CheckSkipped, Evidence

# The aspects of one response member that ``response_field`` judges.
ASPECTS: tuple[str, ...] = ("required", "type", "enum", "iso8601", "equals")

_STATUS: dict[str, Any] = {"type": "integer", "minimum": 100, "maximum": 599}
STATUS_ARGS: dict[str, Any] = {"type": "object", "properties": {"status": _STATUS}, "additionalProperties": False}
PROBE_ARGS: dict[str, Any] = {
    "type": "object",
    "properties": {"probe": {}},
    "required": ["probe"],
    "additionalProperties": False,
}
STATUS_ON_ARGS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "probe": {},
        "status": {"oneOf": [_STATUS, {"type": "array", "items": _STATUS, "minItems": 1}]},
    },
    "required": ["probe", "status"],
    "additionalProperties": False,
}
RESPONSE_SCHEMA_ARGS: dict[str, Any] = {
    "type": "object",
    "properties": {"probe": {}, "status": _STATUS, "schema": {"type": "object"}},
    "required": ["probe"],
    "additionalProperties": False,
}
RESPONSE_FIELD_ARGS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "probe": {},
        "field": {"type": "string", "pattern": r"^[^.\[\]]+(\[\])?(\.[^.\[\]]+(\[\])?)*$"},
        "aspect": {"enum": list(ASPECTS)},
        "value": {},
        "values": {"type": "array", "minItems": 1},  # an inferred enum the document does not carry
    },
    "required": ["probe", "field", "aspect"],
    "additionalProperties": False,
    "if": {"properties": {"aspect": {"const": "equals"}}},
    "then": {"required": ["value"]},
}
INVALID_BODY_ARGS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "field": {"type": "string", "minLength": 1},
        "max_length": {"type": "integer", "minimum": 0},
        "min_length": {"type": "integer", "minimum": 0},
        "alphabet": {"type": "string", "minLength": 1},
        "edge_alphabet": {"type": "string", "minLength": 1},
        "violation": {"enum": list(SCHEMA_VIOLATIONS)},
        "status": _STATUS,
    },
    "oneOf": [
        {"required": ["field"], "not": {"required": ["violation"]}},
        {"required": ["violation"], "not": {"required": ["field"]}},
    ],
    "additionalProperties": False,
}


def _sends_invalid(vendor: Vendor, requirement: Requirement) -> list[RequestKind]:
    broken = requirement.args.get("field") or requirement.args.get("violation") or "a rule"
    return [RequestKind(f"{op_text(vendor, 'create')} with bodies breaking {broken} (expected to be refused)", True)]


def _sends_nothing(vendor: Vendor, requirement: Requirement) -> list[RequestKind]:
    return [RequestKind("none of its own (judges the answers recorded by the other checks)", False)]


ISO_8601 = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")


@register("accepts_valid_body", args_schema=STATUS_ARGS, sends=sends_fixed("created"))
def check_accepts_valid_body(ctx: TargetContext, requirement: Requirement) -> Evidence:
    """Every valid body (boundary lengths included) is answered with the documented success status."""
    expected = int(requirement.args.get("status", 200))
    pairs = created_exchanges(ctx)
    for body, exchange in pairs:
        if exchange.status != expected:
            raise CheckFailed(
                f"valid body answered {exchange.status}, expected {expected}: {brief(body)}; "
                f"response {exchange.response_text[:120]!r}",
                [exchange],
            )
    return Evidence(examined=len(pairs), exchanges=[pairs[0][1]])


@register("rejects_invalid_body", args_schema=INVALID_BODY_ARGS, sends=_sends_invalid)
def check_rejects_invalid_body(ctx: TargetContext, requirement: Requirement) -> Evidence:
    """Bodies that break the rule are answered with the documented client-error status."""
    expected = int(requirement.args.get("status", 400))
    samples = targeted_invalid_bodies(ctx, requirement)
    samples += draw_all(
        ctx, invalid_bodies_for(ctx, requirement), ctx.profile.invalid_examples, f"invalid:{requirement.id}"
    )
    answers = ctx.map_requests(lambda s: ctx.call("create", body=s.body, note=f"invalid: {s.violation}"), samples)
    seen: list[Exchange] = []
    for sample, exchange in zip(samples, answers, strict=True):
        seen.append(exchange)
        if exchange.status != expected:
            shown = get_field(sample.body, sample.field) if "." in sample.field or sample.field else None
            raise CheckFailed(
                f"body with {sample.field} broken ({sample.violation}; value {shown!r}) answered "
                f"{exchange.status}, expected {expected}",
                [exchange],
            )
    return Evidence(examined=len(seen), exchanges=seen[:1])


def _statuses_on(ctx: TargetContext, requirement: Requirement, *, or_absent: bool) -> Evidence:
    """Every answer of the row's probe has one of ``args.status`` (or, ``or_absent``, says "no such resource")."""
    expected = requirement.args["status"]
    allowed = {int(s) for s in (expected if isinstance(expected, list) else [expected])}
    exchanges = probe_exchanges(ctx, str(requirement.args["probe"]), requirement.operation)
    for exchange in exchanges:
        if exchange.status in allowed or (or_absent and ctx.answers_absent(exchange, requirement.operation)):
            continue
        also = " or the operation's documented answer for a resource that does not exist" if or_absent else ""
        raise CheckFailed(
            f"{exchange.note or requirement.args['probe']}: answered {exchange.status}, "
            f"expected {' or '.join(map(str, sorted(allowed)))}{also}",
            [exchange],
        )
    return Evidence(examined=len(exchanges), exchanges=exchanges[:1])


@register("status_on", args_schema=STATUS_ON_ARGS, sends=sends_probe, probes=PROBES)
def check_status_on(ctx: TargetContext, requirement: Requirement) -> Evidence:
    """A probe (unknown id, broken credentials, duplicate …) gets the expected status code."""
    return _statuses_on(ctx, requirement, or_absent=False)


@register("error_shape", args_schema=PROBE_ARGS, sends=sends_probe, probes=PROBES)
def check_error_shape(ctx: TargetContext, requirement: Requirement) -> Evidence:
    """Every error answer of a probe is a JSON body of the vendor's error schema."""
    exchanges = [
        e
        for e in probe_exchanges(ctx, str(requirement.args["probe"]), requirement.operation)
        if e.status is not None and e.status >= 400
    ]
    if not exchanges:
        raise CheckSkipped("the probe produced no error answer to judge")
    for exchange in exchanges:
        if "json" not in exchange.content_type:
            raise CheckFailed(
                f"error answer {exchange.status} has content-type {exchange.content_type or 'none'}, not JSON: "
                f"{exchange.response_text[:80]!r}",
                [exchange],
            )
        body = json_of(exchange)
        problems = ctx.schemas.violations(ctx.vendor.error_schema, body)
        if problems:
            raise CheckFailed(f"error body {exchange.status} breaks the error shape: {problems[0]}", [exchange])
    return Evidence(examined=len(exchanges), exchanges=exchanges[:1])


@register("content_type_json", args_schema=PROBE_ARGS, sends=sends_probe, probes=PROBES)
def check_content_type_json(ctx: TargetContext, requirement: Requirement) -> Evidence:
    """Successful answers of a probe declare a JSON media type."""
    exchanges = probe_exchanges(ctx, str(requirement.args["probe"]), requirement.operation)
    for exchange in exchanges:
        if "json" not in exchange.content_type:
            raise CheckFailed(
                f"{exchange.status} answer has content-type {exchange.content_type or 'none'}, not application/json",
                [exchange],
            )
    return Evidence(examined=len(exchanges), exchanges=exchanges[:1])


def _success_schema(ctx: TargetContext, role: str, status: int = 200) -> dict[str, Any]:
    op = ctx.operation(role)
    schema = ctx.schemas.response_schema(op.method, op.path, status)
    if schema is None:
        raise CheckSkipped(f"{op.method} {op.path} documents no JSON schema for {status}")
    return schema


@register("response_schema", args_schema=RESPONSE_SCHEMA_ARGS, sends=sends_probe, probes=PROBES)
def check_response_schema(ctx: TargetContext, requirement: Requirement) -> Evidence:
    """Every successful answer of a probe validates against the documented response schema (or ``args.schema``)."""
    role = requirement.operation
    inline = requirement.args.get("schema")
    schema = dict(inline) if inline else _success_schema(ctx, role, int(requirement.args.get("status", 200)))
    exchanges = probe_exchanges(ctx, str(requirement.args["probe"]), role)
    for exchange in exchanges:
        problems = ctx.schemas.violations(schema, json_of(exchange))
        if problems:
            first = problems[0]
            raise CheckFailed(
                f"{first.path}: {first.message} (value {first.value!r}); {len(problems)} violation(s)", [exchange]
            )
    return Evidence(examined=len(exchanges), exchanges=exchanges[:1])


@register("response_field", args_schema=RESPONSE_FIELD_ARGS, sends=sends_probe, probes=PROBES)
def check_response_field(ctx: TargetContext, requirement: Requirement) -> Evidence:
    """One field of the success body: present (``required``), of its type, in its enum, or ISO-8601."""
    role = requirement.operation
    dotted = str(requirement.args["field"])
    aspect = str(requirement.args["aspect"])
    schema = _success_schema(ctx, role)
    field_schema = schema_at(ctx, schema, dotted)
    exchanges = probe_exchanges(ctx, str(requirement.args["probe"]), role)
    examined = 0
    for exchange in exchanges:
        body = json_of(exchange)
        for path, present, value in values_at(body, dotted):
            examined += 1
            if aspect == "required":
                if not present:
                    raise CheckFailed(f"{path} is missing from the {exchange.status} answer", [exchange])
                continue
            if not present:
                continue
            if aspect == "type":
                kind = field_schema.get("type")
                sub: dict[str, Any] = {"type": kind} if kind else {}
                if field_schema.get("nullable"):
                    sub = {"type": [kind, "null"]}
                problems = ctx.schemas.violations(sub, value)
            elif aspect == "enum":
                # ``args.values``: an enum the document does not carry (an inferred row names its own list)
                allowed = list(requirement.args.get("values") or field_schema.get("enum", []))
                if isinstance(field_schema.get("type"), list) and "null" in field_schema["type"]:
                    allowed.append(None)
                problems = [] if value in allowed else [f"{value!r} is not one of {allowed}"]  # type: ignore[list-item]
            elif aspect == "iso8601":
                problems = [] if isinstance(value, str) and ISO_8601.match(value) else [f"{value!r} is not ISO-8601"]  # type: ignore[list-item]
            elif aspect == "equals":
                wanted = requirement.args["value"]
                problems = [] if value == wanted and type(value) is type(wanted) else [f"{value!r} is not {wanted!r}"]  # type: ignore[list-item]
            else:
                raise CheckSkipped(f"unknown aspect {aspect!r}")
            if problems:
                raise CheckFailed(f"{path}: {problems[0]}", [exchange])
    if not examined:
        raise CheckSkipped(f"no answer carried {dotted} to judge")
    return Evidence(examined=examined, exchanges=exchanges[:1])


@register("status_documented", sends=_sends_nothing, last=True)
def check_status_documented(ctx: TargetContext, requirement: Requirement) -> Evidence:
    """Every status the operation answered is documented, or is an inferred careful-server status."""
    role = requirement.operation
    op = ctx.operation(role)
    documented = set(ctx.schemas.documented_statuses(op.method, op.path))
    inferred = {str(code) for code in ctx.vendor.inferred_statuses.get(role, {})}
    seen = [
        e
        for e in ctx.client.exchanges
        if e.method == op.method and e.status is not None and _matches(op.path, e.url, ctx.target.base_url)
    ]
    if not seen:
        raise CheckSkipped("no answer of this operation was recorded yet")
    # in catalog order of the rows that sent them (recording order depends on which rows ran at once)
    order = {r.id: i for i, r in enumerate(ctx.vendor.requirements)}
    seen.sort(key=lambda e: (order.get(e.row, -1), e.note, e.status or 0, len(e.request_body or "")))
    notes = sorted({f"{e.status} (inferred, undocumented)" for e in seen if str(e.status) in inferred - documented})
    for exchange in seen:
        code = str(exchange.status)
        if code not in documented and code not in inferred and f"{code[0]}XX" not in documented:
            raise CheckFailed(
                f"answered {code}, which the spec does not document (documented: {', '.join(sorted(documented))})",
                [exchange],
            )
    return Evidence(examined=len(seen), exchanges=seen[:1], notes=notes)


def _matches(template: str, url: str, base_url: str) -> bool:
    path = url[len(base_url) :] if url.startswith(base_url) else url
    pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
    return re.match(pattern, path.split("?")[0]) is not None


@register("absent_on", args_schema=STATUS_ON_ARGS, sends=sends_probe, probes=PROBES)
def check_absent_on(ctx: TargetContext, requirement: Requirement) -> Evidence:
    """A probe's answers say "no such resource": ``args.status`` (e.g. 404), or the documented absent answer."""
    return _statuses_on(ctx, requirement, or_absent=True)
