"""The registry of checks: small named functions that judge one requirement on one target.

A check receives the target's context and the requirement row; it sends what it needs (through probes that
are shared between checks), and ends by returning ``Evidence`` (passed) or raising a ``Verdict``. Checks know
operations by role (``create``, ``delete``), never a vendor by name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from conformance.catalog import Requirement
from conformance.context import TargetContext
from conformance.exchanges import Exchange
from conformance.strategies import (
    SCHEMA_VIOLATIONS,
    Body,
    InvalidBody,
    at_max_length,
    body_rules,
    get_field,
    read_only_fields,
    resource_names,
    rule_breaking_bodies,
    rule_breaking_examples,
    schema_breaking_bodies,
    schema_breaking_examples,
    set_field,
    valid_bodies,
)
from conformance.verdicts import CheckFailed, CheckSkipped, Evidence

CheckFunction = Callable[[TargetContext, Requirement], Evidence]
CHECKS: dict[str, CheckFunction] = {}
ISO_8601 = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")


def register(name: str) -> Callable[[CheckFunction], CheckFunction]:
    """Add a check to the registry under ``name``."""

    def wrap(func: CheckFunction) -> CheckFunction:
        CHECKS[name] = func
        return func

    return wrap


def run_check(ctx: TargetContext, requirement: Requirement) -> Evidence:
    """Judge ``requirement`` on ``ctx``'s target with its registered check."""
    try:
        check = CHECKS[requirement.check]
    except KeyError:
        raise CheckSkipped(f"no check named {requirement.check!r} is registered") from None
    return check(ctx, requirement)


# --------------------------------------------------------------------------- helpers


def _settings(ctx: TargetContext, examples: int) -> settings:
    return settings(
        max_examples=max(1, examples),
        database=None,
        deadline=None,
        derandomize=False,
        phases=(Phase.explicit, Phase.generate),
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )


def _draw_all(ctx: TargetContext, strategy: st.SearchStrategy[Any], examples: int, key: str) -> list[Any]:
    """Draw ``examples`` values from ``strategy`` reproducibly (seeded by the run seed and ``key``)."""
    import random

    drawn: list[Any] = []

    @_settings(ctx, examples)
    @given(strategy)
    def collect(value: Any) -> None:
        drawn.append(value)

    seeded = random.Random(f"{ctx.seed}:{key}").getrandbits(64)
    collect._hypothesis_internal_use_seed = seeded  # type: ignore[attr-defined]
    collect()
    return drawn[:examples]


def _create_schema(ctx: TargetContext) -> dict[str, Any]:
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
    return valid_bodies(ctx.schemas, _create_schema(ctx), rules, id_field=op.id_field, ids=names, presence=presence)


def boundary_bodies(ctx: TargetContext) -> list[Body]:
    """A maximal body (every optional member, every length at its maximum) and a minimal one."""
    rules = body_rules(ctx.vendor.requirements)
    id_field = ctx.operation("create").id_field
    maximal = _draw_all(ctx, valid_create_bodies(ctx, presence="all", size="max"), 1, "maximal")[0]
    minimal = _draw_all(ctx, valid_create_bodies(ctx, presence="required", size="min"), 1, "minimal-size")[0]
    return [at_max_length(maximal, rules, skip=id_field), minimal]


def minimal_body(ctx: TargetContext, name: str) -> Body:
    """The smallest valid create body: only required members."""
    bodies = _draw_all(ctx, valid_create_bodies(ctx, presence="required"), 1, "minimal")
    op = ctx.operation("create")
    return set_field(bodies[0], op.id_field or "name", name)


def _json_of(exchange: Exchange) -> Any:
    try:
        return exchange.json()
    except ValueError:
        raise CheckFailed(
            f"response body is not JSON (content-type {exchange.content_type or 'none'}): "
            f"{exchange.response_text[:80]!r}",
            [exchange],
        ) from None


def _field_schema(ctx: TargetContext, schema: Mapping[str, Any], dotted: str) -> dict[str, Any]:
    """The schema of ``a.b[].c`` inside ``schema`` (allOf merged, refs followed)."""
    from conformance.strategies import _merged

    node = _merged(ctx.schemas, schema)
    for part in dotted.split("."):
        is_array = part.endswith("[]")
        name = part[:-2] if is_array else part
        node = _merged(ctx.schemas, node.get("properties", {}).get(name, {}))
        if is_array:
            node = _merged(ctx.schemas, node.get("items", {}))
    return node


def _values_at(body: Any, dotted: str) -> list[tuple[str, bool, Any]]:
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


def _parent_present(body: Any, dotted: str) -> bool:
    parent = dotted.rsplit(".", 1)[0] if "." in dotted else ""
    return not parent or isinstance(get_field(body, parent.replace("[]", "")), (dict, list))


# --------------------------------------------------------------------------- probes


def created_exchanges(ctx: TargetContext) -> list[tuple[Body, Exchange]]:
    """Valid creates (boundary lengths included), each answered; successes are in the ledger."""

    def run() -> list[tuple[Body, Exchange]]:
        bodies = boundary_bodies(ctx)
        bodies += _draw_all(ctx, valid_create_bodies(ctx), ctx.profile.valid_examples, "valid-create")
        return [(b, ctx.call("create", body=b, note="valid create body")) for b in bodies]

    return ctx.probe("created", run)


def successful_creates(ctx: TargetContext) -> list[tuple[Body, Exchange]]:
    """The valid creates that got a 2xx answer (skip when there is none to judge)."""
    pairs = [(b, e) for b, e in created_exchanges(ctx) if e.status is not None and 200 <= e.status < 300]
    if not pairs:
        sample = created_exchanges(ctx)[0][1]
        raise CheckSkipped(f"no valid create succeeded, nothing to judge (e.g. {sample.summary()})", [sample])
    return pairs


def deleted_exchanges(ctx: TargetContext) -> list[tuple[str, Exchange]]:
    """Deletes of resources the run may delete (created by it, or disposable)."""

    def run() -> list[tuple[str, Exchange]]:
        out: list[tuple[str, Exchange]] = []
        for _ in range(2):
            try:
                resource_id, _created = ctx.new_resource(lambda name: minimal_body(ctx, name))
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
        return [e for _, e in deleted_exchanges(ctx) if e.status is not None and e.status < 300] or _no_success(
            deleted_exchanges(ctx)
        )
    if probe == "unknown":
        return [unknown_delete(ctx)]
    if probe in AUTH_PROBES:
        return [auth_probe(ctx, probe, role)]
    if probe == "duplicate":
        return [duplicate_create(ctx)[1]]
    if probe == "invalid_body":
        return invalid_body_exchanges(ctx)
    raise CheckSkipped(f"unknown probe {probe!r}")


def _no_success(pairs: list[tuple[str, Exchange]]) -> list[Exchange]:
    raise CheckFailed(
        f"deleting an existing resource did not succeed: {pairs[0][1].summary()}", [e for _, e in pairs[:1]]
    )


def unknown_delete(ctx: TargetContext) -> Exchange:
    """DELETE of an id that cannot exist."""
    return ctx.probe("unknown", lambda: ctx.call("delete", resource_id=ctx.absent_id(), note="delete an unknown id"))


AUTH_PROBES = ("no_credentials", "wrong_scheme", "wrong_token", "malformed_credentials", "restricted_token")


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


def duplicate_create(ctx: TargetContext) -> tuple[Exchange, Exchange]:
    """The same valid body created twice."""

    def run() -> tuple[Exchange, Exchange]:
        name = ctx.name_prefix + ctx.unique_suffix()
        body = minimal_body(ctx, name)
        first = ctx.call("create", body=body, note="create (first of two)")
        if first.status != 200:
            raise CheckSkipped(f"the first create did not succeed: {first.summary()}", [first])
        return first, ctx.call("create", body=body, note="create the same name again")

    return ctx.probe("duplicate", run)


def invalid_body_exchanges(ctx: TargetContext) -> list[Exchange]:
    """One invalid create per catalog rule and schema violation kind."""

    def run() -> list[Exchange]:
        out: list[Exchange] = []
        for requirement in ctx.vendor.requirements:
            if requirement.check == "rejects_invalid_body" and requirement.operation == "create":
                sample = _draw_all(ctx, invalid_bodies_for(ctx, requirement), 1, f"error-shape:{requirement.id}")
                out += [ctx.call("create", body=s.body, note=f"invalid: {s.violation}") for s in sample]
        if not out:
            raise CheckSkipped("the catalog states no body rule to break")
        return out

    return ctx.probe("invalid_body", run)


def targeted_invalid_bodies(ctx: TargetContext, requirement: Requirement) -> list[InvalidBody]:
    """Deterministic invalid bodies: every way to break the rule, at every location, from a maximal body."""
    from conformance.strategies import BodyRule

    body = boundary_bodies(ctx)[0]
    body = set_field(body, ctx.operation("create").id_field or "name", ctx.name_prefix + ctx.unique_suffix())
    if "field" in requirement.args:
        return rule_breaking_examples(BodyRule.from_requirement(requirement), body)
    violation = str(requirement.args.get("violation", ""))
    return schema_breaking_examples(ctx.schemas, _create_schema(ctx), body, violation, requirement.id)


def invalid_bodies_for(ctx: TargetContext, requirement: Requirement) -> st.SearchStrategy[InvalidBody]:
    """Invalid bodies that break exactly ``requirement``'s rule."""
    from conformance.strategies import BodyRule

    valid = valid_create_bodies(ctx)
    if "field" in requirement.args:
        return rule_breaking_bodies(BodyRule.from_requirement(requirement), valid)
    violation = str(requirement.args.get("violation", ""))
    if violation not in SCHEMA_VIOLATIONS:
        raise CheckSkipped(f"{requirement.id}: unknown violation {violation!r}")
    return schema_breaking_bodies(ctx.schemas, _create_schema(ctx), valid, violation, requirement.id)


# --------------------------------------------------------------------------- checks


@register("accepts_valid_body")
def check_accepts_valid_body(ctx: TargetContext, requirement: Requirement) -> Evidence:
    """Every valid body (boundary lengths included) is answered with the documented success status."""
    expected = int(requirement.args.get("status", 200))
    pairs = created_exchanges(ctx)
    for body, exchange in pairs:
        if exchange.status != expected:
            raise CheckFailed(
                f"valid body answered {exchange.status}, expected {expected}: {_brief(body)}; "
                f"response {exchange.response_text[:120]!r}",
                [exchange],
            )
    return Evidence(examined=len(pairs), exchanges=[pairs[0][1]])


@register("rejects_invalid_body")
def check_rejects_invalid_body(ctx: TargetContext, requirement: Requirement) -> Evidence:
    """Bodies that break the rule are answered with the documented client-error status."""
    expected = int(requirement.args.get("status", 400))
    samples = targeted_invalid_bodies(ctx, requirement)
    samples += _draw_all(
        ctx, invalid_bodies_for(ctx, requirement), ctx.profile.invalid_examples, f"invalid:{requirement.id}"
    )
    seen: list[Exchange] = []
    for sample in samples:
        exchange = ctx.call("create", body=sample.body, note=f"invalid: {sample.violation}")
        seen.append(exchange)
        if exchange.status != expected:
            shown = get_field(sample.body, sample.field) if "." in sample.field or sample.field else None
            raise CheckFailed(
                f"body with {sample.field} broken ({sample.violation}; value {shown!r}) answered "
                f"{exchange.status}, expected {expected}",
                [exchange],
            )
    return Evidence(examined=len(seen), exchanges=seen[:1])


@register("status_on")
def check_status_on(ctx: TargetContext, requirement: Requirement) -> Evidence:
    """A probe (unknown id, broken credentials, duplicate …) gets the expected status code."""
    expected = requirement.args["status"]
    allowed = {int(s) for s in (expected if isinstance(expected, list) else [expected])}
    exchanges = probe_exchanges(ctx, str(requirement.args["probe"]), requirement.operation)
    for exchange in exchanges:
        if exchange.status not in allowed:
            raise CheckFailed(
                f"{exchange.note or requirement.args['probe']}: answered {exchange.status}, "
                f"expected {' or '.join(map(str, sorted(allowed)))}",
                [exchange],
            )
    return Evidence(examined=len(exchanges), exchanges=exchanges[:1])


@register("error_shape")
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
        body = _json_of(exchange)
        problems = ctx.schemas.violations(ctx.vendor.error_schema, body)
        if problems:
            raise CheckFailed(f"error body {exchange.status} breaks the error shape: {problems[0]}", [exchange])
    return Evidence(examined=len(exchanges), exchanges=exchanges[:1])


@register("content_type_json")
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


@register("response_schema")
def check_response_schema(ctx: TargetContext, requirement: Requirement) -> Evidence:
    """Every successful answer of a probe validates against the documented response schema (or ``args.schema``)."""
    role = requirement.operation
    inline = requirement.args.get("schema")
    schema = dict(inline) if inline else _success_schema(ctx, role, int(requirement.args.get("status", 200)))
    exchanges = probe_exchanges(ctx, str(requirement.args["probe"]), role)
    for exchange in exchanges:
        problems = ctx.schemas.violations(schema, _json_of(exchange))
        if problems:
            first = problems[0]
            raise CheckFailed(
                f"{first.path}: {first.message} (value {first.value!r}); {len(problems)} violation(s)", [exchange]
            )
    return Evidence(examined=len(exchanges), exchanges=exchanges[:1])


@register("response_field")
def check_response_field(ctx: TargetContext, requirement: Requirement) -> Evidence:
    """One field of the success body: present (``required``), of its type, in its enum, or ISO-8601."""
    role = requirement.operation
    dotted = str(requirement.args["field"])
    aspect = str(requirement.args["aspect"])
    schema = _success_schema(ctx, role)
    field_schema = _field_schema(ctx, schema, dotted)
    exchanges = probe_exchanges(ctx, str(requirement.args["probe"]), role)
    examined = 0
    for exchange in exchanges:
        body = _json_of(exchange)
        for path, present, value in _values_at(body, dotted):
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
                allowed = list(field_schema.get("enum", []))
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


@register("echoes_request")
def check_echoes_request(ctx: TargetContext, requirement: Requirement) -> Evidence:
    """A created resource comes back with the name and the members that were sent."""
    fields = [str(f) for f in requirement.args["fields"]]
    pairs = successful_creates(ctx)
    for body, exchange in pairs:
        answer = _json_of(exchange)
        for dotted in fields:
            sent = get_field(body, dotted)
            got = get_field(answer, dotted) if isinstance(answer, dict) else None
            if not _contains(got, sent):
                raise CheckFailed(f"{dotted} sent as {_brief(sent)} came back as {_brief(got)}", [exchange])
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
        _no_success(deleted_exchanges(ctx))
    for resource_id, exchange in pairs:
        body = _json_of(exchange)
        got = get_field(body, dotted) if isinstance(body, dict) else None
        if got != resource_id:
            raise CheckFailed(f"deleted {resource_id!r} but the answer's {dotted} is {got!r}", [exchange])
    return Evidence(examined=len(pairs), exchanges=[pairs[0][1]])


@register("gone_after_delete")
def check_gone_after_delete(ctx: TargetContext, requirement: Requirement) -> Evidence:
    """After a successful delete the resource disappears within the deadline (polled: deletion may be async)."""
    pairs = [(i, e) for i, e in deleted_exchanges(ctx) if e.status is not None and e.status < 300]
    if not pairs:
        _no_success(deleted_exchanges(ctx))
    resource_id, first = pairs[0]
    gone, polls = ctx.wait_until_gone(resource_id)
    if not gone:
        raise CheckFailed(
            f"{resource_id!r} still answers {polls[-1].status} to DELETE {ctx.target.gone_deadline:g}s after it was "
            f"deleted ({len(polls)} polls)",
            [first, polls[-1]],
        )
    return Evidence(examined=len(polls), exchanges=[first, polls[-1]], notes=[f"gone after {len(polls)} poll(s)"])


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
    limit = time.monotonic() + ctx.target.gone_deadline
    pause = 0.05
    while True:
        again = ctx.call("create", body=body, note="re-create the deleted name")
        if again.status == 200:
            return Evidence(examined=2, exchanges=[deleted, again])
        if time.monotonic() + pause > limit:
            raise CheckFailed(
                f"re-creating {name!r} still answers {again.status} {ctx.target.gone_deadline:g}s after its delete",
                [deleted, again],
            )
        time.sleep(pause)
        pause = min(pause * 2, 1.0)


@register("read_only_ignored")
def check_read_only_ignored(ctx: TargetContext, requirement: Requirement) -> Evidence:
    """A create that sends readOnly members is rejected, or their values are the server's, not the client's."""
    schema = _create_schema(ctx)
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
    answer = _json_of(exchange)
    kept = [f for f in fields if get_field(answer, f) == planted]
    if kept:
        raise CheckFailed(f"the server kept client-sent readOnly values for {', '.join(kept)}", [exchange])
    return Evidence(examined=1, exchanges=[exchange], notes=["accepted, readOnly values replaced"])


@register("status_documented")
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


def _brief(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 100 else text[:97] + "..."
