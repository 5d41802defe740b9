"""The registry of checks: small named functions that judge one requirement on one target.

A check receives the target's context and the requirement row; it sends what it needs (through probes that
are shared between checks), and ends by returning ``Evidence`` (passed) or raising a ``Verdict``. Checks know
operations by role (``create``, ``delete``), never a vendor by name.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from conformance.catalog.model import Requirement
from conformance.checks.bodies import (
    SCHEMA_VIOLATIONS,
    Body,
    InvalidBody,
    at_max_length,
    body_rules,
    get_field,
    resource_names,
    rule_breaking_bodies,
    rule_breaking_examples,
    schema_breaking_bodies,
    schema_breaking_examples,
    set_field,
    valid_bodies,
)
from conformance.checks.registry import AUTH_KINDS
from conformance.exchange import Exchange
from conformance.target.context import TargetContext
from conformance.verdicts import CheckFailed, CheckSkipped

# --------------------------------------------------------------------------- helpers


def draw_settings(ctx: TargetContext, examples: int) -> settings:
    return settings(
        max_examples=max(1, examples),
        database=None,
        deadline=None,
        derandomize=False,
        phases=(Phase.explicit, Phase.generate),
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )


def draw_all(ctx: TargetContext, strategy: st.SearchStrategy[Any], examples: int, key: str) -> list[Any]:
    """Draw ``examples`` values from ``strategy`` reproducibly (seeded by the run seed and ``key``)."""
    drawn: list[Any] = []

    @seed(run_seed(ctx, key))
    @draw_settings(ctx, examples)
    @given(strategy)
    def collect(value: Any) -> None:
        drawn.append(value)

    collect()
    return drawn[:examples]


def run_seed(ctx: TargetContext, key: str) -> int:
    """A seed for one generator of the run: the same run seed and key always give the same seed."""
    import random

    return random.Random(f"{ctx.seed}:{key}").getrandbits(64)


def create_schema(ctx: TargetContext) -> dict[str, Any]:
    op = ctx.operation("create")
    schema = ctx.schemas.request_schema(op.method, op.path)
    if schema is None:
        raise CheckSkipped("the create operation documents no JSON request body")
    return schema


def valid_create_bodies(ctx: TargetContext, presence: str = "random", size: str = "any") -> st.SearchStrategy[Body]:
    """Valid create bodies whose ids carry the run prefix and a unique part."""
    rules = body_rules(ctx.vendor.requirements)
    op = ctx.operation("create")
    id_rules = [r for r in rules if r.field == op.id_field]
    names = resource_names(ctx.name_prefix, id_rules, unique=ctx.unique_suffix, size=size)
    return valid_bodies(ctx.schemas, create_schema(ctx), rules, id_field=op.id_field, ids=names, presence=presence)


def boundary_bodies(ctx: TargetContext) -> list[Body]:
    """A maximal body (every optional member, every length at its maximum) and a minimal one."""
    rules = body_rules(ctx.vendor.requirements)
    id_field = ctx.operation("create").id_field
    maximal = draw_all(ctx, valid_create_bodies(ctx, presence="all", size="max"), 1, "maximal")[0]
    minimal = draw_all(ctx, valid_create_bodies(ctx, presence="required", size="min"), 1, "minimal-size")[0]
    return [at_max_length(maximal, rules, skip=id_field), minimal]


def full_body(ctx: TargetContext, name: str) -> Body:
    """A valid create body with every optional member (the maximal boundary body), named ``name``."""
    return set_field(boundary_bodies(ctx)[0], ctx.operation("create").id_field or "name", name)


def minimal_body(ctx: TargetContext, name: str) -> Body:
    """The smallest valid create body: only required members."""
    bodies = draw_all(ctx, valid_create_bodies(ctx, presence="required"), 1, "minimal")
    op = ctx.operation("create")
    return set_field(bodies[0], op.id_field or "name", name)


def json_of(exchange: Exchange) -> Any:
    try:
        return exchange.json()
    except ValueError:
        raise CheckFailed(
            f"response body is not JSON (content-type {exchange.content_type or 'none'}): "
            f"{exchange.response_text[:80]!r}",
            [exchange],
        ) from None


def schema_at(ctx: TargetContext, schema: Mapping[str, Any], dotted: str) -> dict[str, Any]:
    """The schema of ``a.b[].c`` inside ``schema`` (allOf merged, refs followed)."""
    from conformance.checks.bodies import _merged

    node = _merged(ctx.schemas, schema)
    for part in dotted.split("."):
        is_array = part.endswith("[]")
        name = part[:-2] if is_array else part
        node = _merged(ctx.schemas, node.get("properties", {}).get(name, {}))
        if is_array:
            node = _merged(ctx.schemas, node.get("items", {}))
    return node


def values_at(body: Any, dotted: str) -> list[tuple[str, bool, Any]]:
    """(json path, present?, value) for ``a.b[].c`` in ``body``; absent parents yield nothing."""
    results: list[tuple[str, bool, Any]] = [("$", True, body)]
    for part in dotted.split("."):
        is_array = part.endswith("[]")
        name = part[:-2] if is_array else part
        nxt: list[tuple[str, bool, Any]] = []
        for path, present, node in results:
            if not present or not isinstance(node, dict):
                continue
            if name not in node:
                nxt.append((f"{path}.{name}", False, None))
                continue
            value = node[name]
            if is_array:
                if isinstance(value, list):
                    nxt += [(f"{path}.{name}[{i}]", True, v) for i, v in enumerate(value)]
            else:
                nxt.append((f"{path}.{name}", True, value))
        results = nxt
    return results


def parent_present(body: Any, dotted: str) -> bool:
    parent = dotted.rsplit(".", 1)[0] if "." in dotted else ""
    return not parent or isinstance(get_field(body, parent.replace("[]", "")), (dict, list))


# --------------------------------------------------------------------------- probes


def created_exchanges(ctx: TargetContext) -> list[tuple[Body, Exchange]]:
    """Valid creates (boundary lengths included), each answered; successes are in the ledger."""

    def run() -> list[tuple[Body, Exchange]]:
        bodies = boundary_bodies(ctx)
        bodies += draw_all(ctx, valid_create_bodies(ctx), ctx.profile.valid_examples, "valid-create")
        exchanges = ctx.map_requests(lambda b: ctx.call("create", body=b, note="valid create body"), bodies)
        return list(zip(bodies, exchanges, strict=True))

    return ctx.probe("created", run)


def successful_creates(ctx: TargetContext) -> list[tuple[Body, Exchange]]:
    """The valid creates that got a 2xx answer (skip when there is none to judge)."""
    pairs = [(b, e) for b, e in created_exchanges(ctx) if e.status is not None and 200 <= e.status < 300]
    if not pairs:
        sample = created_exchanges(ctx)[0][1]
        raise CheckSkipped(f"no valid create succeeded, nothing to judge (e.g. {sample.summary()})", [sample])
    return pairs


def deleted_exchanges(ctx: TargetContext) -> list[tuple[str, Exchange]]:
    """Deletes of resources the run may delete (created by it, or disposable).

    The first is created with every optional member (so that its delete answer carries them all, to be judged), the
    second with only the required ones.
    """

    def run() -> list[tuple[str, Exchange]]:
        out: list[tuple[str, Exchange]] = []
        for i in range(2):
            make = functools.partial(full_body if i == 0 else minimal_body, ctx)
            try:
                resource_id, _created = ctx.new_resource(make)
            except CheckSkipped:
                if out:
                    break
                raise
            out.append((resource_id, ctx.call("delete", resource_id=resource_id, note="delete an existing resource")))
        return out

    return ctx.probe("deleted", run)


def probe_exchanges(ctx: TargetContext, probe: str, role: str) -> list[Exchange]:
    """The exchanges of a named probe for an operation role."""
    if probe == "created":
        return [e for _, e in successful_creates(ctx)]
    if probe == "deleted":
        return [e for _, e in deleted_exchanges(ctx) if e.status is not None and e.status < 300] or no_success(
            deleted_exchanges(ctx)
        )
    if probe == "unknown":
        return [unknown_delete(ctx)]
    if probe == "wrong_token":
        return [auth_probe(ctx, probe, role), *wrong_token_variants(ctx, role)]
    if probe in AUTH_PROBES:
        return [auth_probe(ctx, probe, role)]
    if probe == "duplicate":
        return [duplicate_create(ctx)[1]]
    if probe == "invalid_body":
        return invalid_body_exchanges(ctx)
    raise CheckSkipped(f"unknown probe {probe!r}")


def no_success(pairs: list[tuple[str, Exchange]]) -> list[Exchange]:
    raise CheckFailed(
        f"deleting an existing resource did not succeed: {pairs[0][1].summary()}", [e for _, e in pairs[:1]]
    )


def unknown_delete(ctx: TargetContext) -> Exchange:
    """DELETE of an id that cannot exist."""
    return ctx.probe("unknown", lambda: ctx.call("delete", resource_id=ctx.absent_id(), note="delete an unknown id"))


AUTH_PROBES = tuple(AUTH_KINDS)


def auth_probe(ctx: TargetContext, kind: str, role: str) -> Exchange:
    """One request of ``role`` with credentials broken in the named way (never harmful if auth is ignored)."""

    def run() -> Exchange:
        header = ctx.vendor.auth.header
        headers: dict[str, str]
        if kind == "no_credentials":
            headers = {}
        elif kind == "wrong_scheme":
            headers = {header: f"Token {ctx.token}"}
        elif kind == "wrong_token":
            headers = ctx.auth_headers(token="invalid-" + ctx.unique_suffix())
        elif kind == "malformed_credentials":
            headers = {header: ctx.vendor.auth.scheme}
        else:
            restricted = ctx.target.restricted_token()
            if not restricted:
                raise CheckSkipped("no restricted token configured for this target (restricted_token_env)")
            headers = ctx.auth_headers(token=restricted)
        if role == "create":
            name = ctx.name_prefix + ctx.unique_suffix()
            body = minimal_body(ctx, name)
            exchange = ctx.call("create", body=body, headers=headers, authenticated=False, note=f"create, {kind}")
        else:
            exchange = ctx.call(
                "delete", resource_id=ctx.absent_id(), headers=headers, authenticated=False, note=f"delete, {kind}"
            )
        return exchange

    return ctx.probe(f"auth:{kind}:{role}", run)


def wrong_tokens(token: str, suffix: str) -> list[tuple[str, str]]:
    """(label, token): tokens that differ from the right one, each in a way a lax comparison might miss."""
    import secrets

    swapped = token.swapcase() if token.swapcase() != token else token + "X"
    half = max(1, len(token) // 2)
    other = (secrets.token_hex(len(token)) + "0")[: max(1, len(token) - half)]
    return [
        ("a random token", "invalid-" + suffix + secrets.token_hex(8)),
        ("the right token with its case changed", swapped),
        ("the right token cut short by one character", token[:-1]),
        ("the right token plus one character", token + "0"),
        ("the right prefix with another secret", token[:half] + other),
    ]


def wrong_token_variants(ctx: TargetContext, role: str) -> list[Exchange]:
    """The wrong tokens, each sent right after a request with the right token (same kept-alive connection)."""

    def run() -> list[Exchange]:
        out: list[Exchange] = []
        for label, token in wrong_tokens(ctx.token, ctx.unique_suffix()):
            headers = ctx.auth_headers(token=token)
            if ctx.has_operation("delete"):
                ctx.call("delete", resource_id=ctx.absent_id(), note="right token, before a wrong one")
            if role == "create":
                body = minimal_body(ctx, ctx.name_prefix + ctx.unique_suffix())
                out.append(ctx.call("create", body=body, headers=headers, authenticated=False, note=f"create, {label}"))
            else:
                resource_id = ctx.absent_id()
                out.append(
                    ctx.call(
                        "delete", resource_id=resource_id, headers=headers, authenticated=False, note=f"delete, {label}"
                    )
                )
        return out

    return ctx.probe(f"auth:wrong_tokens:{role}", run)


def duplicate_create(ctx: TargetContext) -> tuple[Exchange, Exchange]:
    """The same valid body created twice."""

    def run() -> tuple[Exchange, Exchange]:
        name = ctx.name_prefix + ctx.unique_suffix()
        body = minimal_body(ctx, name)
        first = ctx.call("create", body=body, note="create (first of two)")
        if first.status != 200:
            raise CheckSkipped(f"the first create did not succeed: {first.summary()}", [first])
        second = ctx.call("create", body=body, note="create the same name again")
        second.before = [first]  # the reproduction of a duplicate needs both creates
        return first, second

    return ctx.probe("duplicate", run)


def invalid_body_exchanges(ctx: TargetContext) -> list[Exchange]:
    """One invalid create per catalog rule and schema violation kind."""

    def run() -> list[Exchange]:
        samples: list[InvalidBody] = []
        for requirement in ctx.vendor.requirements:
            if requirement.check == "rejects_invalid_body" and requirement.operation == "create":
                samples += draw_all(ctx, invalid_bodies_for(ctx, requirement), 1, f"error-shape:{requirement.id}")
        out = ctx.map_requests(lambda s: ctx.call("create", body=s.body, note=f"invalid: {s.violation}"), samples)
        if not out:
            raise CheckSkipped("the catalog states no body rule to break")
        return out

    return ctx.probe("invalid_body", run)


def targeted_invalid_bodies(ctx: TargetContext, requirement: Requirement) -> list[InvalidBody]:
    """Deterministic invalid bodies: every way to break the rule, at every location, from a maximal body."""
    from conformance.checks.bodies import BodyRule

    body = boundary_bodies(ctx)[0]
    body = set_field(body, ctx.operation("create").id_field or "name", ctx.name_prefix + ctx.unique_suffix())
    if "field" in requirement.args:
        return rule_breaking_examples(BodyRule.from_requirement(requirement), body)
    violation = str(requirement.args.get("violation", ""))
    return schema_breaking_examples(ctx.schemas, create_schema(ctx), body, violation, requirement.id)


def invalid_bodies_for(ctx: TargetContext, requirement: Requirement) -> st.SearchStrategy[InvalidBody]:
    """Invalid bodies that break exactly ``requirement``'s rule."""
    from conformance.checks.bodies import BodyRule

    valid = valid_create_bodies(ctx)
    if "field" in requirement.args:
        return rule_breaking_bodies(BodyRule.from_requirement(requirement), valid)
    violation = str(requirement.args.get("violation", ""))
    if violation not in SCHEMA_VIOLATIONS:
        raise CheckSkipped(f"{requirement.id}: unknown violation {violation!r}")
    return schema_breaking_bodies(ctx.schemas, create_schema(ctx), valid, violation, requirement.id)


# --------------------------------------------------------------------------- checks


def brief(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 100 else text[:97] + "..."
