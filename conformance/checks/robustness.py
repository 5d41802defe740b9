"""General checks derived from the schema and the security scheme, for any vendor.

Credentials refused on an existing resource (which must survive), documented defaults applied, every request
enum value accepted, the documentation's own request samples, gone stays gone, a rejected create leaves no
trace, ids are case-sensitive, and unusual ids are answered without a server error and delete nothing.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from conformance.catalog.model import Requirement
from conformance.checks.bodies import Body, _merged, get_field, set_field
from conformance.checks.probes import (
    boundary_bodies,
    brief,
    create_schema,
    invalid_body_exchanges,
    json_of,
    minimal_body,
    wrong_tokens,
)
from conformance.checks.registry import register, sends_kinds
from conformance.exchange import Exchange
from conformance.target.context import TargetContext
from conformance.verdicts import CheckFailed, CheckSkipped, Evidence

# --------------------------------------------------------------------------- credentials


def broken_credentials(ctx: TargetContext) -> list[tuple[str, dict[str, str]]]:
    """(label, headers): no credentials, malformed, wrong scheme, and the wrong tokens."""
    header = ctx.vendor.auth.header
    out: list[tuple[str, dict[str, str]]] = [
        ("no credentials", {}),
        ("a malformed header (scheme only)", {header: ctx.vendor.auth.scheme}),
        ("the right token under another scheme", {header: f"Token {ctx.token}"}),
    ]
    out += [(label, ctx.auth_headers(token=t)) for label, t in wrong_tokens(ctx.token, ctx.unique_suffix())]
    return out


def _ok(exchange: Exchange) -> bool:
    return exchange.status is not None and 200 <= exchange.status < 300


def _claims_deletion(ctx: TargetContext, exchange: Exchange) -> bool:
    """A 2xx to the DELETE of something that does not exist, where the docs give a way to say "nothing deleted".

    With a documented absent answer (a tombstone whose ``deleted`` is false), any other 2xx claims a deletion that
    did not happen: a broken statement. Without one (the only documented answer is 200), a 2xx is not wrong by the
    docs; the SHOULD row that expects a 4xx judges it.
    """
    op = ctx.vendor.operations.get("delete")
    documented = op is not None and op.absent_answer is not None
    return documented and _ok(exchange) and not ctx.answers_absent(exchange)


def _server_error(exchange: Exchange) -> bool:
    return exchange.status is not None and exchange.status >= 500


def still_exists(ctx: TargetContext, resource_id: str, seen: list[Exchange], why: str) -> None:
    """Fail unless ``resource_id`` still exists: a create of its name answers 409, or its real delete succeeds."""
    if ctx.has_operation("create"):
        again = ctx.call("create", body=minimal_body(ctx, resource_id), note=f"still there? ({why})")
        seen.append(again)
        if again.status != 409:
            raise CheckFailed(
                f"after {why}, a create of {resource_id!r} answered {again.status}, not 409: the resource was "
                "deleted (or was never kept)",
                seen[-3:],
            )
        return
    real = ctx.call("delete", resource_id=resource_id, note=f"real delete, after {why}")
    seen.append(real)
    if not _ok(real):
        raise CheckFailed(
            f"after {why}, the real DELETE of {resource_id!r} with the right credentials answered {real.status}: "
            "the earlier request had already deleted it",
            seen[-3:],
        )


ODD_IDS_ARGS: dict[str, Any] = {
    "type": "object",
    "properties": {"expect": {"const": "4xx"}},
    "additionalProperties": False,
}


@register(
    "auth_not_processed",
    sends=sends_kinds(("create", True), ("delete", True), note="with broken credentials, on a resource that exists"),
)
def check_auth_not_processed(ctx: TargetContext, requirement: Requirement) -> Evidence:
    """A request with broken credentials is never processed: no 2xx, and the resource it names survives.

    Each broken request is sent right after a request with the right credentials (on the kept-alive
    connection), so a server that remembers the last good credential of a connection is caught too.
    """
    role = requirement.operation
    seen: list[Exchange] = []
    if role == "create":
        for label, headers in broken_credentials(ctx):
            name = ctx.name_prefix + ctx.unique_suffix()
            if ctx.has_operation("delete"):
                ctx.call("delete", resource_id=ctx.absent_id(), note="right credentials, before a broken one")
            exchange = ctx.call(
                "create", body=minimal_body(ctx, name), headers=headers, authenticated=False, note=f"create, {label}"
            )
            seen.append(exchange)
            if _ok(exchange):
                raise CheckFailed(f"a create with {label} answered {exchange.status}: it was processed", [exchange])
            real = ctx.call("create", body=minimal_body(ctx, name), note=f"the same create, after {label}")
            seen.append(real)
            if real.status != 200:
                raise CheckFailed(
                    f"after a create with {label} (answered {exchange.status}), the same create with the right "
                    f"credentials answered {real.status}: the refused request left a trace",
                    [exchange, real],
                )
        return Evidence(examined=len(seen), exchanges=seen[:1])
    resource_id, _created = ctx.new_resource(lambda name: minimal_body(ctx, name))
    for label, headers in broken_credentials(ctx):
        seen.append(ctx.call("delete", resource_id=ctx.absent_id(), note="right credentials, before a broken one"))
        exchange = ctx.call(
            "delete", resource_id=resource_id, headers=headers, authenticated=False, note=f"delete, {label}"
        )
        seen.append(exchange)
        if _ok(exchange):
            raise CheckFailed(
                f"a DELETE of an existing resource with {label} answered {exchange.status}: it was processed",
                [seen[-2], exchange],
            )
    still_exists(ctx, resource_id, seen, "DELETEs with broken credentials")
    return Evidence(examined=len(seen), exchanges=seen[1:2], notes=[f"{len(broken_credentials(ctx))} kinds refused"])


# --------------------------------------------------------------------------- request schema: defaults and enums


def _walk(ctx: TargetContext, schema: Mapping[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """(dotted path, merged schema) of every writable member below ``schema`` (arrays as ``name[]``)."""
    node = _merged(ctx.schemas, schema)
    for name, sub in node.get("properties", {}).items():
        merged = _merged(ctx.schemas, sub)
        if merged.get("readOnly"):
            continue
        dotted = f"{path}.{name}" if path else name
        yield dotted, merged
        if merged.get("type") == "array" or "items" in merged:
            items = _merged(ctx.schemas, merged.get("items", {}))
            yield from _walk(ctx, items, dotted + "[]")
        else:
            yield from _walk(ctx, merged, dotted)


def _set_path(body: Body, dotted: str, value: Any) -> Body:
    """``set_field`` that understands ``a[].b``: sets ``b`` in every element (one element made if none)."""
    if "[]" not in dotted:
        return set_field(body, dotted, value)
    head, tail = dotted.split("[]", 1)
    out = copy.deepcopy(body)
    items = get_field(out, head)
    if not isinstance(items, list) or not items:
        items = [{}]
    items = [_set_path(i if isinstance(i, dict) else {}, tail.lstrip("."), value) for i in items]
    return set_field(out, head, items)


def _without(body: Body, dotted: str) -> Body:
    out = copy.deepcopy(body)
    parent_path, _, last = dotted.rpartition(".")
    parent = get_field(out, parent_path) if parent_path else out
    if isinstance(parent, dict):
        parent.pop(last, None)
    return out


@register("defaults_applied", sends=sends_kinds(("create", True), note="without each member that has a default"))
def check_defaults_applied(ctx: TargetContext, requirement: Requirement) -> Evidence:
    """Every ``default`` of the request schema is what the created resource carries when the member is omitted.

    An answer that leaves the member out is consistent with its default (absent means the default); another value is
    not.
    """
    defaults = [(p, s["default"]) for p, s in _walk(ctx, create_schema(ctx)) if "default" in s and "[]" not in p]
    if not defaults:
        raise CheckSkipped("the request schema documents no default")
    seen: list[Exchange] = []
    full = boundary_bodies(ctx)[0]
    id_field = ctx.operation("create").id_field or "name"
    for dotted, default in defaults:
        body = set_field(_without(full, dotted), id_field, ctx.name_prefix + ctx.unique_suffix())
        exchange = ctx.call("create", body=body, note=f"create without {dotted} (default {default!r})")
        seen.append(exchange)
        if exchange.status != 200:
            raise CheckFailed(f"a valid create without {dotted} answered {exchange.status}", [exchange])
        answer = json_of(exchange)
        parent, _, leaf = dotted.rpartition(".")
        holder = get_field(answer, parent) if parent else answer
        if isinstance(holder, dict) and leaf not in holder:
            continue
        got = get_field(answer, dotted)
        if got != default or type(got) is not type(default):
            raise CheckFailed(
                f"{dotted} was omitted, its documented default is {default!r}, the created resource has {brief(got)}",
                [exchange],
            )
    return Evidence(examined=len(seen), exchanges=seen[:1], notes=[f"defaults: {', '.join(d for d, _ in defaults)}"])


def enum_bodies(ctx: TargetContext) -> list[tuple[Body, list[str]]]:
    """N valid bodies (N = the largest request enum) that together use every value of every request enum."""
    enums = [(p, list(s["enum"])) for p, s in _walk(ctx, create_schema(ctx)) if s.get("enum")]
    if not enums:
        return []
    base = boundary_bodies(ctx)[0]
    id_field = ctx.operation("create").id_field or "name"
    count = max(len(values) for _, values in enums)
    out: list[tuple[Body, list[str]]] = []
    for i in range(count):
        body = set_field(base, id_field, ctx.name_prefix + ctx.unique_suffix())
        used = []
        for dotted, values in enums:
            value = values[i % len(values)]
            body = _set_path(body, dotted, value)
            used.append(f"{dotted}={value}")
        out.append((body, used))
    return out


@register(
    "enum_values_accepted", sends=sends_kinds(("create", True), note="covering every value of every request enum")
)
def check_enum_values_accepted(ctx: TargetContext, requirement: Requirement) -> Evidence:
    """Every value of every request enum is accepted (several enums per body: N bodies, N the largest enum)."""

    def run() -> list[tuple[Body, list[str], Exchange]]:
        pairs = enum_bodies(ctx)
        answers = ctx.map_requests(
            lambda p: ctx.call("create", body=p[0], note="enum values: " + ", ".join(p[1])), pairs
        )
        return [(b, u, e) for (b, u), e in zip(pairs, answers, strict=True)]

    results = ctx.probe("enum_values", run)
    if not results:
        raise CheckSkipped("the request schema has no enum")
    for _body, used, exchange in results:
        if exchange.status != 200:
            raise CheckFailed(
                f"a valid create using {', '.join(used)} answered {exchange.status}: {exchange.response_text[:120]!r}",
                [exchange],
            )
    return Evidence(examined=len(results), exchanges=[results[0][2]])


# --------------------------------------------------------------------------- the documentation's own samples


def load_samples(ctx: TargetContext) -> list[dict[str, Any]]:
    path = Path(ctx.vendor.spec_path).parent / "samples.yaml"
    if not path.exists():
        raise CheckSkipped("the vendor folder has no samples.yaml")
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return list(data.get("samples", []))


@register("doc_samples", sends=sends_kinds(("create", True), ("delete", True), note="the request samples of the docs"))
def check_doc_samples(ctx: TargetContext, requirement: Requirement) -> Evidence:
    """Every request sample of the docs (headers and body as published) gets its documented answer."""
    seen: list[Exchange] = []
    role = requirement.operation
    samples = [s for s in load_samples(ctx) if s.get("operation") == role]
    if not samples:
        raise CheckSkipped(f"no documented sample for {role}")
    for sample in samples:
        placeholder = str(sample.get("token_placeholder", "<token>"))
        headers = {k: str(v).replace(placeholder, ctx.token) for k, v in (sample.get("headers") or {}).items()}
        if sample.get("add_credentials"):
            headers.update(ctx.auth_headers())
        body = copy.deepcopy(sample.get("body"))
        resource_id = None
        if role == "create":
            body = set_field(
                body or {}, ctx.operation("create").id_field or "name", ctx.name_prefix + ctx.unique_suffix()
            )
        else:
            resource_id, _created = ctx.new_resource(lambda name: minimal_body(ctx, name))
        exchange = ctx.call(
            role,
            resource_id=resource_id,
            body=body,
            headers=headers,
            authenticated=False,
            note=f"documented sample: {sample.get('name')}",
        )
        seen.append(exchange)
        expected = int(sample.get("status", 200))
        if exchange.status != expected:
            raise CheckFailed(
                f"the documented sample {sample.get('name')!r} ({sample.get('seed')}) answered {exchange.status}, "
                f"documented {expected}: {exchange.response_text[:120]!r}",
                [exchange],
            )
    return Evidence(examined=len(seen), exchanges=seen[:1])


# --------------------------------------------------------------------------- state: gone, rejected, case


@register("gone_stays_gone", sends=sends_kinds(("delete", True), note="again, of every id seen gone"), last=True)
def check_gone_stays_gone(ctx: TargetContext, requirement: Requirement) -> Evidence:
    """A resource once seen gone is still gone when checked again later (every such id of the run)."""
    if not ctx.gone_ids:
        resource_id, _ = ctx.new_resource(lambda name: minimal_body(ctx, name))
        first = ctx.call("delete", resource_id=resource_id, note="delete, to check later that it stays gone")
        if not _ok(first):
            raise CheckFailed(f"delete of an existing resource answered {first.status}", [first])
        gone, polls = ctx.wait_until_gone(resource_id)
        if not gone:
            raise CheckFailed(f"{resource_id!r} never went away after its delete", [first, polls[-1]])
    seen: list[Exchange] = []
    for resource_id in list(ctx.gone_ids)[:20]:
        again = ctx.call("delete", resource_id=resource_id, note="later: is the gone resource still gone?")
        seen.append(again)
        if not ctx.answers_absent(again):
            raise CheckFailed(
                f"{resource_id!r} was seen gone earlier in the run, a later DELETE answered {again.status}", [again]
            )
    return Evidence(examined=len(seen), exchanges=seen[:1])


@register(
    "rejected_create_leaves_no_trace", sends=sends_kinds(("create", True), note="rejected, then valid, with one name")
)
def check_rejected_create_leaves_no_trace(ctx: TargetContext, requirement: Requirement) -> Evidence:
    """A create answered 4xx leaves nothing: its (valid) name is still free, a valid create of it succeeds."""
    checked = 0
    seen: list[Exchange] = []
    for exchange in invalid_body_exchanges(ctx):
        if exchange.status is None or not 400 <= exchange.status < 500 or exchange.request_body is None:
            continue
        try:
            sent = json_of_request(exchange)
        except ValueError:
            continue
        name = ctx.id_of_body(sent)
        if not name or not name.startswith(ctx.name_prefix) or name != name.lower() or len(name) > 49:
            continue
        again = ctx.call("create", body=minimal_body(ctx, name), note="a valid create of a rejected create's name")
        seen.append(again)
        checked += 1
        if again.status != 200:
            raise CheckFailed(
                f"a create of {name!r} was rejected with {exchange.status}, yet a valid create of that name "
                f"then answered {again.status}: the rejected create left a trace",
                [exchange, again],
            )
    if not checked:
        raise CheckSkipped("no rejected create carried a usable name")
    return Evidence(examined=checked, exchanges=seen[:1])


def json_of_request(exchange: Exchange) -> Any:
    import json

    return json.loads(exchange.request_body or "")


@register(
    "ids_case_sensitive", sends=sends_kinds(("create", True), ("delete", True), note="of the id with its case changed")
)
def check_ids_case_sensitive(ctx: TargetContext, requirement: Requirement) -> Evidence:
    """A DELETE of an id differing only in case deletes nothing (ids are case-sensitive; no seed says otherwise)."""
    resource_id, _ = ctx.new_resource(lambda name: minimal_body(ctx, name))
    other = resource_id.swapcase()
    if other == resource_id:
        raise CheckSkipped(f"{resource_id!r} has no letter to change the case of")
    ctx.mark_absent(other)
    seen = [ctx.call("delete", resource_id=other, note="delete the id with its case changed")]
    if (_claims_deletion(ctx, seen[0])) or _server_error(seen[0]):
        raise CheckFailed(
            f"DELETE of {other!r} (a case variant of the existing {resource_id!r}) answered {seen[0].status}", seen
        )
    still_exists(ctx, resource_id, seen, f"a DELETE of {other!r}")
    return Evidence(examined=len(seen), exchanges=seen[:1])


# --------------------------------------------------------------------------- unusual ids


def odd_ids(ctx: TargetContext, near: str) -> list[tuple[str, str]]:
    """(label, id): ids that cannot exist yet carry unusual characters, some built from an existing ``near``."""
    base = ctx.absent_id()
    return [
        ("non-ASCII letters and digits", base + "-ünïcødé-名前-٣٤"),
        ("spaces", base + " with spaces"),
        ("regex metacharacters", base + "([*+?\\"),
        ("a glob matching the existing id", near[:-2] + ".*"),
        ("a percent-encoded slash", base + "%2Fx"),
        ("a slash (sent percent-encoded)", base + "/x"),
        ("dot segments", base + "/../.."),
        ("300+ characters", base + "x" * 300),
        ("the existing id plus a trailing newline", near + "\n"),
        ("the existing id plus a trailing space", near + " "),
    ]


def odd_id_exchanges(ctx: TargetContext) -> tuple[str, list[tuple[str, Exchange]], list[Exchange], str]:
    """(existing id, (label, answer) per odd id, the existence check, why it failed or "") once per run."""

    def run() -> tuple[str, list[tuple[str, Exchange]], list[Exchange], str]:
        near, _ = ctx.new_resource(lambda name: minimal_body(ctx, name))
        ids = odd_ids(ctx, near)
        for _label, resource_id in ids:
            ctx.mark_absent(resource_id)
        sent = ctx.map_requests(lambda i: ctx.call("delete", resource_id=i[1], note=f"delete an id with {i[0]}"), ids)
        answers = [(label, exchange) for (label, _), exchange in zip(ids, sent, strict=True)]
        tail: list[Exchange] = []
        try:
            still_exists(ctx, near, tail, "DELETEs of unusual ids")
        except CheckFailed as failed:
            return near, answers, list(failed.exchanges), failed.message
        return near, answers, tail, ""

    return ctx.probe("odd_ids", run)


@register(
    "odd_ids", args_schema=ODD_IDS_ARGS, sends=sends_kinds(("delete", False), note="of ids with unusual characters")
)
def check_odd_ids(ctx: TargetContext, requirement: Requirement) -> Evidence:
    """DELETEs of ids with unusual characters: never 5xx and delete nothing (``args.expect: 4xx`` also the class)."""
    near, answers, tail, lost = odd_id_exchanges(ctx)
    class_4xx = requirement.args.get("expect") == "4xx"
    for label, exchange in answers:
        if _server_error(exchange):
            raise CheckFailed(f"DELETE of an id with {label} answered {exchange.status}", [exchange])
        if class_4xx and not ctx.answers_absent(exchange):
            raise CheckFailed(f"DELETE of an id with {label} answered {exchange.status}, not a 4xx", [exchange])
        if not class_4xx and _claims_deletion(ctx, exchange):
            raise CheckFailed(f"DELETE of an id that cannot exist ({label}) answered {exchange.status}", [exchange])
    if lost:
        raise CheckFailed(f"{near!r} did not survive the DELETEs of unusual ids: {lost}", tail)
    return Evidence(examined=len(answers), exchanges=[answers[0][1]])
