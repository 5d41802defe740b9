"""Checks of a resource's life: what a create echoes, what a delete returns, gone, re-create, read-only members."""

from __future__ import annotations

from typing import Any

from conformance.catalog.model import Requirement
from conformance.checks.bodies import (
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
from conformance.checks.registry import register
from conformance.exchange import Exchange
from conformance.target.context import TargetContext
from conformance.verdicts import CheckErrored, CheckFailed, CheckSkipped, Evidence


@register("echoes_request")
def check_echoes_request(ctx: TargetContext, requirement: Requirement) -> Evidence:
    """A created resource comes back with the name and the members that were sent."""
    fields = [str(f) for f in requirement.args["fields"]]
    pairs = successful_creates(ctx)
    for body, exchange in pairs:
        answer = json_of(exchange)
        for dotted in fields:
            sent = get_field(body, dotted)
            got = get_field(answer, dotted) if isinstance(answer, dict) else None
            if not _contains(got, sent):
                raise CheckFailed(f"{dotted} sent as {brief(sent)} came back as {brief(got)}", [exchange])
    return Evidence(examined=len(pairs), exchanges=[pairs[0][1]])


def _contains(got: Any, sent: Any) -> bool:
    """Whether ``got`` carries everything ``sent`` had (a server may add defaults)."""
    if isinstance(sent, dict):
        return isinstance(got, dict) and all(k in got and _contains(got[k], v) for k, v in sent.items())
    return bool(got == sent and type(got) is type(sent))


@register("returns_deleted")
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


@register("gone_after_delete")
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


@register("recreate_after_delete")
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


@register("read_only_ignored")
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
