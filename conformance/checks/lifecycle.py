"""Checks of a resource's life: what a create echoes, what a delete returns, gone, re-create, read-only members."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conformance.catalog.model import Requirement, Vendor
from conformance.checks.bodies import (
    _merged,
    get_field,
    read_only_fields,
    set_field,
)
from conformance.checks.probes import (
    brief,
    create_schema,
    deleted_exchanges,
    json_of,
    minimal_body,
    no_success,
    successful_creates,
)
from conformance.checks.registry import RequestKind, op_text, register, sends_fixed
from conformance.exchange import Exchange
from conformance.target.context import TargetContext
from conformance.verdicts import CheckErrored, CheckFailed, CheckSkipped, Evidence

ECHOES_ARGS: dict[str, Any] = {
    "type": "object",
    "properties": {"fields": {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1}},
    "additionalProperties": False,  # no fields: the whole body sent is compared
}


def _sends_recreate(vendor: Vendor, requirement: Requirement) -> list[RequestKind]:
    create, delete = op_text(vendor, "create"), op_text(vendor, "delete")
    return [RequestKind(f"{create}, {delete}, then {create} the same name again", True)]


def _sends_read_only(vendor: Vendor, requirement: Requirement) -> list[RequestKind]:
    return [RequestKind(f"{op_text(vendor, 'create')} with readOnly members set", True)]


@register("echoes_request", args_schema=ECHOES_ARGS, sends=sends_fixed("created"))
def check_echoes_request(ctx: TargetContext, requirement: Requirement) -> Evidence:
    """A created resource reflects what was sent: the listed ``args.fields``, or (no list) the whole body.

    The whole-body comparison is deep (nested objects, maps, arrays element by element), skips readOnly
    members (the server's to fill), and expects the documented ``default`` of every member that was omitted.
    """
    fields = [str(f) for f in requirement.args.get("fields", [])]
    schema = create_schema(ctx)
    pairs = successful_creates(ctx)
    for body, exchange in pairs:
        answer = json_of(exchange)
        if not fields:
            problem = _unreflected(ctx, schema, body, answer, "$")
            if problem:
                raise CheckFailed(problem, [exchange])
            continue
        for dotted in fields:
            sent = get_field(body, dotted)
            got = get_field(answer, dotted) if isinstance(answer, dict) else None
            if not _contains(got, sent):
                raise CheckFailed(f"{dotted} sent as {brief(sent)} came back as {brief(got)}", [exchange])
    return Evidence(examined=len(pairs), exchanges=[pairs[0][1]])


def _unreflected(ctx: TargetContext, schema: Mapping[str, Any], sent: Any, got: Any, path: str) -> str:
    """Why ``got`` does not reflect ``sent`` under ``schema`` ("" when it does)."""
    node = _merged(ctx.schemas, schema)
    if isinstance(sent, dict):
        if not isinstance(got, dict):
            return f"{path} was sent as an object, came back as {brief(got)}"
        props = node.get("properties", {})
        extra = node.get("additionalProperties")
        for key, value in sent.items():
            sub = props.get(key, extra if isinstance(extra, dict) else {})
            if _merged(ctx.schemas, sub).get("readOnly"):
                continue
            if key not in got:
                return f"{path}.{key} was sent as {brief(value)} and is missing from the created resource"
            problem = _unreflected(ctx, sub, value, got[key], f"{path}.{key}")
            if problem:
                return problem
        for key, sub in props.items():
            merged = _merged(ctx.schemas, sub)
            if key in sent or "default" not in merged or merged.get("readOnly"):
                continue
            default = merged["default"]
            if key in got and (got[key] != default or type(got[key]) is not type(default)):  # absent means default
                shown = brief(got[key])
                return f"{path}.{key} was omitted, its documented default is {default!r}, it came back {shown}"
        return ""
    if isinstance(sent, list):
        if not isinstance(got, list) or len(got) != len(sent):
            return f"{path} was sent as {brief(sent)}, came back as {brief(got)}"
        items = node.get("items", {})
        for i, (s_item, g_item) in enumerate(zip(sent, got, strict=True)):
            problem = _unreflected(ctx, items, s_item, g_item, f"{path}[{i}]")
            if problem:
                return problem
        return ""
    if got != sent or type(got) is not type(sent):
        return f"{path} was sent as {brief(sent)}, came back as {brief(got)}"
    return ""


def _contains(got: Any, sent: Any) -> bool:
    """Whether ``got`` carries everything ``sent`` had (a server may add defaults)."""
    if isinstance(sent, dict):
        return isinstance(got, dict) and all(k in got and _contains(got[k], v) for k, v in sent.items())
    if isinstance(sent, list):
        return isinstance(got, list) and len(got) == len(sent) and all(map(_contains, got, sent))
    return bool(got == sent and type(got) is type(sent))


@register("returns_deleted", sends=sends_fixed("deleted"))
def check_returns_deleted(ctx: TargetContext, requirement: Requirement) -> Evidence:
    """A delete answers with the resource it deleted: its id field equals the id in the path."""
    role = requirement.operation
    dotted = ctx.operation(role).id_field or "id"
    pairs = [(i, e) for i, e in deleted_exchanges(ctx) if e.status is not None and e.status < 300]
    if not pairs:
        no_success(deleted_exchanges(ctx))
    for resource_id, exchange in pairs:
        body = json_of(exchange)
        got = get_field(body, dotted) if isinstance(body, dict) else None
        if got != resource_id:
            raise CheckFailed(f"deleted {resource_id!r} but the answer's {dotted} is {got!r}", [exchange])
    return Evidence(examined=len(pairs), exchanges=[pairs[0][1]])


@register("gone_after_delete", sends=sends_fixed("deleted"))
def check_gone_after_delete(ctx: TargetContext, requirement: Requirement) -> Evidence:
    """After a successful delete the resource disappears within the deadline (polled: deletion may be async).

    A resource the run already saw outlive its gone deadline (in any check, or while making room under the
    resource cap) is the verdict: the target's deletes do not take effect, whatever stopped this check's own probe.
    """
    try:
        pairs = [(i, e) for i, e in deleted_exchanges(ctx) if e.status is not None and e.status < 300]
        if not pairs:
            no_success(deleted_exchanges(ctx))
    except CheckErrored:
        _fail_if_never_gone(ctx)
        raise
    resource_id, first = pairs[0]
    gone, polls = ctx.wait_until_gone(resource_id)
    if not gone:
        _fail_if_never_gone(ctx, [first])
        raise CheckFailed(
            f"{resource_id!r} still answers {polls[-1].status} to DELETE {ctx.target.gone_deadline:g}s after it was "
            f"deleted ({len(polls)} polls)",
            [first, polls[-1]],
        )
    return Evidence(examined=len(polls), exchanges=[first, polls[-1]], notes=[f"gone after {len(polls)} poll(s)"])


def _fail_if_never_gone(ctx: TargetContext, first: list[Exchange] | None = None) -> None:
    """Fail with the evidence of a resource known to outlive its gone deadline, if there is one."""
    for message, evidence in list(ctx.never_gone.values())[:1]:
        raise CheckFailed(f"deleted resources are not gone: {message}", [*(first or []), *evidence])


@register("recreate_after_delete", sends=_sends_recreate)
def check_recreate_after_delete(ctx: TargetContext, requirement: Requirement) -> Evidence:
    """Once a deleted resource is gone, its name can be created again (polled to the deadline)."""
    import time

    ctx.operation("create")
    name = ctx.name_prefix + ctx.unique_suffix()
    body = minimal_body(ctx, name)
    first = ctx.call("create", body=body, note="create, to delete and re-create")
    if first.status != 200:
        raise CheckSkipped(f"create did not succeed: {first.summary()}", [first])
    deleted = ctx.call("delete", resource_id=name, note="delete, before re-creating")
    if deleted.status is None or deleted.status >= 300:
        raise CheckFailed(f"delete of a fresh resource answered {deleted.status}", [deleted])
    limit = ctx.gone_limit(name)  # one poll only once this target's deletes are known not to take effect
    pause = 0.05
    while True:
        again = ctx.call("create", body=body, note="re-create the deleted name")
        if again.status == 200:
            return Evidence(examined=2, exchanges=[deleted, again])
        if time.monotonic() + pause > limit:
            stuck = ctx.stuck_reason()
            raise CheckFailed(
                f"re-creating {name!r} still answers {again.status} {ctx.target.gone_deadline:g}s after its delete"
                if not stuck
                else f"re-creating {name!r} answers {again.status}: deletes on this target do not take effect "
                f"({stuck})",
                [deleted, again],
            )
        time.sleep(pause)
        pause = min(pause * 2, 1.0)


@register("read_only_ignored", sends=_sends_read_only)
def check_read_only_ignored(ctx: TargetContext, requirement: Requirement) -> Evidence:
    """A create that sends readOnly members is rejected, or their values are the server's, not the client's."""
    schema = create_schema(ctx)
    fields = [f for f in read_only_fields(ctx.schemas, schema) if "." in f]
    if not fields:
        raise CheckSkipped("the request schema has no nested readOnly member")
    name = ctx.name_prefix + ctx.unique_suffix()
    body = minimal_body(ctx, name)
    planted = "client-sent-read-only-value"
    for dotted in fields:
        body = set_field(body, dotted, planted)
    exchange = ctx.call("create", body=body, note="create with readOnly members set by the client")
    if exchange.status is not None and 400 <= exchange.status < 500:
        return Evidence(examined=1, exchanges=[exchange], notes=["rejected"])
    if exchange.status != 200:
        raise CheckFailed(f"a body with readOnly members answered {exchange.status}", [exchange])
    answer = json_of(exchange)
    kept = [f for f in fields if get_field(answer, f) == planted]
    if kept:
        raise CheckFailed(f"the server kept client-sent readOnly values for {', '.join(kept)}", [exchange])
    return Evidence(examined=1, exchanges=[exchange], notes=["accepted, readOnly values replaced"])
