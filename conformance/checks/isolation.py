"""Ownership and isolation between identities: a second credential, of another workspace or account, can neither
delete nor see the first identity's resources (as s3-tests does with its alt user).

The second identity's token comes from ``other_token_env`` (``--other-token-env``); without one the rows are skipped,
naming the option. What the second identity creates lives in its own workspace, out of the ledger's reach (the
ledger deletes with the first identity): the check deletes it at once with the second identity, and reports a leak
when it cannot confirm that.
"""

from __future__ import annotations

import time

from conformance.catalog.model import Requirement
from conformance.checks.probes import minimal_body
from conformance.checks.registry import register, sends_kinds
from conformance.checks.robustness import still_exists
from conformance.exchange import Exchange
from conformance.target.context import TargetContext
from conformance.verdicts import CheckErrored, CheckFailed, CheckSkipped, Evidence

NO_SECOND_IDENTITY = "no second identity configured: set other_token_env / --other-token-env"


def other_headers(ctx: TargetContext) -> dict[str, str]:
    """The credential header of the second identity, or skip the check when none is configured."""
    token = ctx.target.other_token()
    if not token:
        raise CheckSkipped(NO_SECOND_IDENTITY)
    if token == ctx.token:
        raise CheckErrored("not judged: the second identity's token is the first one's (other_token_env)")
    return ctx.auth_headers(token=token)


def _ok(exchange: Exchange) -> bool:
    return exchange.status is not None and 200 <= exchange.status < 300


@register(
    "other_identity_cannot_delete",
    sends=sends_kinds(
        ("create", True), ("delete", True), note="by the second identity, of a resource of the first (which must stay)"
    ),
)
def check_other_identity_cannot_delete(ctx: TargetContext, requirement: Requirement) -> Evidence:
    """A DELETE by a second identity of the first identity's resource is not processed and leaves it in place.

    Never 2xx (the operation's documented "nothing there" answer excepted, e.g. a tombstone whose ``deleted`` is
    false); afterwards the first identity still finds it (a create of its name answers 409, or the real delete 200).
    """
    headers = other_headers(ctx)
    resource_id, _created = ctx.new_resource(lambda name: minimal_body(ctx, name))
    seen: list[Exchange] = []
    exchange = ctx.call(
        "delete", resource_id=resource_id, headers=headers, authenticated=False, note="delete by the second identity"
    )
    seen.append(exchange)
    if _ok(exchange) and not ctx.answers_absent(exchange):
        raise CheckFailed(
            f"a DELETE of the first identity's {resource_id!r} with the second identity's credential answered "
            f"{exchange.status}: another workspace's (account's) credential was authorised for it",
            [exchange],
        )
    still_exists(ctx, resource_id, seen, "a DELETE of it by the second identity")
    return Evidence(
        examined=len(seen), exchanges=seen[:1], notes=[f"second identity's DELETE answered {exchange.status}"]
    )


def _delete_as_other(ctx: TargetContext, name: str, headers: dict[str, str], seen: list[Exchange]) -> bool:
    """Delete the second identity's ``name`` with its own credential, polled until absent (within the gone deadline)."""
    limit = time.monotonic() + ctx.target.gone_deadline
    pause = 0.05
    note = "cleanup: the second identity deletes its own resource"
    while True:
        exchange = ctx.call("delete", resource_id=name, headers=headers, authenticated=False, note=note)
        seen.append(exchange)
        if ctx.answers_absent(exchange):
            return True
        if exchange.status is None or exchange.status >= 300 or time.monotonic() + pause > limit:
            return False
        note = "poll: is the second identity's resource gone?"
        time.sleep(pause)
        pause = min(pause * 2, 1.0)


@register(
    "other_identity_isolated",
    sends=sends_kinds(
        ("create", True), ("delete", True), note="the first identity's name again, by the second identity (deleted)"
    ),
)
def check_other_identity_isolated(ctx: TargetContext, requirement: Requirement) -> Evidence:
    """The first identity's resources are invisible to a second identity: its create of the same name is no 409.

    It succeeds in the second identity's own workspace; the check deletes it at once with that identity, and the
    first identity's resource is still there afterwards (a create of its name answers 409).
    """
    if not ctx.has_operation("create"):
        raise CheckSkipped(f"{ctx.vendor.title} documents no create operation: no name to reuse across identities")
    headers = other_headers(ctx)
    name, created = ctx.new_resource(lambda n: minimal_body(ctx, n))
    seen: list[Exchange] = [created] if created is not None else []
    second = ctx.call(
        "create", body=minimal_body(ctx, name), headers=headers, authenticated=False, note="same name, second identity"
    )
    seen.append(second)
    if second.status == 409:
        raise CheckFailed(
            f"a create of {name!r} by the second identity answered 409 although only the first identity's workspace "
            "holds that name: the first workspace's resource is visible to another workspace",
            seen[-2:],
        )
    if not _ok(second):
        raise CheckErrored(
            f"not judged: the second identity's create of a fresh name answered {second.status} (is other_token_env "
            "a token of another workspace with create permission?)",
            [second],
        )
    if not _delete_as_other(ctx, name, headers, seen):
        ctx.other_identity_leaks[f"{name} (second identity)"] = (
            f"the second identity's {name!r} could not be confirmed gone: {seen[-1].summary()}"
        )
    still_exists(ctx, name, seen, "a create and delete of the same name by the second identity")
    notes = [f"second identity's create answered {second.status}"]
    return Evidence(examined=len(seen), exchanges=seen[1:2], notes=notes)
