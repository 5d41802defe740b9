"""Hypothesis strategies for request bodies: valid ones, and invalid ones tagged with what they break.

Valid bodies come from the operation's request schema (every optional field present or absent, every enum
value reachable) narrowed by the prose-only rules of the requirement catalog (``BodyRule``); invalid bodies
break exactly one rule or schema keyword and carry the requirement id they break.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from conformance.catalog.model import Requirement
from conformance.catalog.openapi import SpecSchemas

Body = dict[str, Any]
SCHEMA_VIOLATIONS = ("wrong_type", "enum", "missing_required")
CHARSET_BREAKERS: Mapping[str, str] = {
    "uppercase": "ABCXYZ",
    "underscore": "_",
    "space": " ",
    "non-ascii": "éßø漢",
    "dot": ".",
    "slash": "/",
}


@dataclass(frozen=True)
class BodyRule:
    """A prose-only rule on one request field, as the catalog states it."""

    requirement: str
    field: str
    max_length: int | None = None
    min_length: int | None = None
    alphabet: str | None = None
    edge_alphabet: str | None = None

    @classmethod
    def from_requirement(cls, requirement: Requirement) -> BodyRule:
        """The rule a ``rejects_invalid_body`` requirement states in its ``args``."""
        args = requirement.args
        return cls(
            requirement=requirement.id,
            field=str(args["field"]),
            max_length=args.get("max_length"),
            min_length=args.get("min_length"),
            alphabet=args.get("alphabet"),
            edge_alphabet=args.get("edge_alphabet"),
        )

    def broken_by(self, value: Any) -> str | None:
        """Why ``value`` breaks this rule, or ``None`` when it does not."""
        if not isinstance(value, str):
            return None
        if self.max_length is not None and len(value) > self.max_length:
            return f"{len(value)} characters, more than {self.max_length}"
        if self.min_length is not None and len(value) < self.min_length:
            return f"{len(value)} characters, fewer than {self.min_length}"
        if self.alphabet is not None:
            bad = sorted({c for c in value if c not in self.alphabet})
            if bad:
                return f"characters {''.join(bad)!r} outside [{self.alphabet}]"
        return None


@dataclass(frozen=True)
class InvalidBody:
    """A body that breaks exactly one rule, tagged with the requirement it breaks."""

    body: Body
    requirement: str
    violation: str
    field: str


def body_rules(requirements: Sequence[Requirement]) -> tuple[BodyRule, ...]:
    """The prose rules stated by the ``rejects_invalid_body`` rows that name a field."""
    return tuple(
        BodyRule.from_requirement(r) for r in requirements if r.check == "rejects_invalid_body" and "field" in r.args
    )


def get_field(body: Mapping[str, Any], dotted: str) -> Any:
    """The value at ``a.b.c`` or ``None``."""
    node: Any = body
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def set_field(body: Body, dotted: str, value: Any) -> Body:
    """A copy of ``body`` with ``a.b.c`` set to ``value`` (parents created)."""
    import copy

    out = copy.deepcopy(body)
    node = out
    parts = dotted.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    return out


def _merged(schemas: SpecSchemas, schema: Mapping[str, Any]) -> dict[str, Any]:
    """``schema`` with ``$ref`` followed and ``allOf`` members merged into one object schema."""
    node = schemas.resolve(schema)
    if "allOf" not in node:
        return node
    merged: dict[str, Any] = {k: v for k, v in node.items() if k != "allOf"}
    props = dict(merged.get("properties", {}))
    required = list(merged.get("required", []))
    for member in node["allOf"]:
        part = _merged(schemas, member)
        props.update(part.get("properties", {}))
        required += [r for r in part.get("required", []) if r not in required]
        merged.setdefault("type", part.get("type"))
    merged["properties"] = props
    merged["required"] = required
    return merged


def _is_read_only(schemas: SpecSchemas, schema: Mapping[str, Any]) -> bool:
    return bool(schemas.resolve(schema).get("readOnly", False))


def constrained_strings(rules: Sequence[BodyRule], min_size: int = 0, max_size: int = 24) -> st.SearchStrategy[str]:
    """Strings obeying every rule given (length bounds, alphabet, edge characters)."""
    alphabet = next((r.alphabet for r in rules if r.alphabet), None)
    edges = next((r.edge_alphabet for r in rules if r.edge_alphabet), alphabet)
    low = max([min_size, *[r.min_length for r in rules if r.min_length is not None]])
    high = min(
        [
            max_size if not any(r.max_length for r in rules) else 10_000,
            *[r.max_length for r in rules if r.max_length is not None],
        ]
    )
    chars = alphabet or (string.ascii_letters + string.digits + " -_.")

    @st.composite
    def build(draw: st.DrawFn) -> str:
        size = draw(st.one_of(st.sampled_from(sorted({low, high, max(low, 1)})), st.integers(low, high)))
        if size == 0:
            return ""
        middle = draw(st.text(alphabet=chars, min_size=max(size - 2, 0), max_size=max(size - 2, 0)))
        if size == 1:
            return draw(st.sampled_from(edges or chars))
        first = draw(st.sampled_from(edges or chars))
        last = draw(st.sampled_from(edges or chars))
        return first + middle + last

    return build()


def schema_values(
    schemas: SpecSchemas, schema: Mapping[str, Any], rules: Sequence[BodyRule], path: str = "", presence: str = "random"
) -> st.SearchStrategy[Any]:
    """Values valid for ``schema`` (request side: readOnly properties are never produced).

    ``presence`` says which optional members appear: ``random``, ``all`` (maximal bodies) or ``required``.
    """
    node = _merged(schemas, schema)
    field_rules = [r for r in rules if r.field == path]
    if "enum" in node:
        return st.sampled_from(list(node["enum"]))
    kind = node.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind == "object" or "properties" in node:
        return _objects(schemas, node, rules, path, presence)
    if kind == "array":
        items = schema_values(schemas, node.get("items", {}), rules, f"{path}[]", presence)
        return st.lists(items, min_size=1 if presence == "all" else 0, max_size=3)
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers(min_value=node.get("minimum", -1000), max_value=node.get("maximum", 1000))
    if kind == "number":
        return st.floats(min_value=0, max_value=1000, allow_nan=False)
    if kind == "string":
        return constrained_strings(field_rules, node.get("minLength", 0), node.get("maxLength", 24))
    return st.none()


def _objects(
    schemas: SpecSchemas, node: Mapping[str, Any], rules: Sequence[BodyRule], path: str, presence: str
) -> st.SearchStrategy[Body]:
    required = set(node.get("required", []))
    members: dict[str, tuple[bool, st.SearchStrategy[Any]]] = {}
    for name, sub in node.get("properties", {}).items():
        if _is_read_only(schemas, sub):
            continue
        child = f"{path}.{name}" if path else name
        members[name] = (name in required, schema_values(schemas, sub, rules, child, presence))
    extra = node.get("additionalProperties")
    extras: st.SearchStrategy[dict[str, Any]] = st.just({})
    if isinstance(extra, dict) and not members:
        keys = st.text(alphabet=string.ascii_lowercase + "-", min_size=1, max_size=8)
        extras = st.dictionaries(keys, schema_values(schemas, extra, rules, f"{path}.*"), max_size=3)

    @st.composite
    def build(draw: st.DrawFn) -> Body:
        out: Body = dict(draw(extras))
        for name, (is_required, values) in members.items():
            wanted = presence == "all" or (presence == "random" and draw(st.booleans()))
            if is_required or wanted:
                out[name] = draw(values)
        return out

    return build()


def valid_bodies(
    schemas: SpecSchemas,
    schema: Mapping[str, Any],
    rules: Sequence[BodyRule],
    *,
    id_field: str | None = None,
    ids: st.SearchStrategy[str] | None = None,
    presence: str = "random",
) -> st.SearchStrategy[Body]:
    """Valid request bodies; the resource id, when given, comes from ``ids`` (run-prefixed names)."""
    base = schema_values(schemas, schema, rules, presence=presence)
    if id_field is None or ids is None:
        return base
    return st.tuples(base, ids).map(lambda pair: set_field(pair[0], id_field, pair[1]))


def resource_names(
    prefix: str, rules: Sequence[BodyRule], *, unique: Callable[[], str] | None = None, size: str = "any"
) -> st.SearchStrategy[str]:
    """Names that obey ``rules`` and start with ``prefix``; boundary lengths are drawn often."""
    alphabet = next((r.alphabet for r in rules if r.alphabet), string.ascii_lowercase + string.digits)
    edges = next((r.edge_alphabet for r in rules if r.edge_alphabet), alphabet)
    high = min([64, *[r.max_length for r in rules if r.max_length is not None]])
    low = max([1, len(prefix) + 1, *[r.min_length for r in rules if r.min_length is not None]])
    low = min(low, high)
    inner = "".join(c for c in alphabet if c in edges) or alphabet

    @st.composite
    def build(draw: st.DrawFn) -> str:
        if size == "max":
            length = high
        elif size == "min":
            length = low
        else:
            length = draw(st.one_of(st.sampled_from(sorted({low, high})), st.integers(low, high)))
        token = unique() if unique else ""
        length = min(high, max(length, len(prefix) + len(token)))  # never cut the unique part: no collisions
        body = (prefix + token)[:length]
        rest = length - len(body)
        if rest > 0:
            body += draw(st.text(alphabet=inner, min_size=rest, max_size=rest))
        if body and body[-1] not in edges:
            body = body[:-1] + inner[0]
        return body

    return build()


def _breaking_values(rule: BodyRule, valid: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if rule.max_length is not None:
        fill = (rule.alphabet or string.ascii_lowercase)[0]
        out.append(("too-long-by-one", (valid + fill * (rule.max_length + 1))[: rule.max_length + 1]))
        out.append(("far-too-long", (valid + fill * (rule.max_length * 3))[: rule.max_length * 3]))
    if rule.min_length is not None and rule.min_length > 0:
        out.append(("empty" if rule.min_length == 1 else "too-short", valid[: rule.min_length - 1]))
    if rule.alphabet is not None:
        for label, chars in CHARSET_BREAKERS.items():
            bad = next((c for c in chars if c not in rule.alphabet), None)
            if bad is None:
                continue
            cut = max(1, len(valid) // 2)
            candidate = valid[:cut] + bad + valid[cut + 1 :] if len(valid) > 1 else bad
            if label == "uppercase":
                candidate = valid[:cut].upper() + valid[cut:] if any(c.isalpha() for c in valid[:cut]) else candidate
            if rule.max_length is not None:
                candidate = candidate[: rule.max_length]
            if any(c not in rule.alphabet for c in candidate):
                out.append((label, candidate))
    return out


def rule_breaking_bodies(rule: BodyRule, valid: st.SearchStrategy[Body]) -> st.SearchStrategy[InvalidBody]:
    """Bodies valid in every way but one: ``rule`` is broken (too long by one, uppercase, empty …)."""

    @st.composite
    def build(draw: st.DrawFn) -> InvalidBody:
        body = draw(valid)
        current = get_field(body, rule.field)
        base = current if isinstance(current, str) and current else "a"
        options = _breaking_values(rule, base)
        label, value = draw(st.sampled_from(options))
        return InvalidBody(set_field(body, rule.field, value), rule.requirement, label, rule.field)

    return build()


def _typed_paths(
    schemas: SpecSchemas, schema: Mapping[str, Any], body: Any, path: str = ""
) -> list[tuple[str, dict[str, Any]]]:
    """(dotted path, merged schema) for every object member present in ``body``."""
    node = _merged(schemas, schema)
    out: list[tuple[str, dict[str, Any]]] = []
    if isinstance(body, dict):
        for name, sub in node.get("properties", {}).items():
            if name in body:
                child = f"{path}.{name}" if path else name
                merged = _merged(schemas, sub)
                out.append((child, merged))
                out += _typed_paths(schemas, merged, body[name], child)
    return out


_OTHER_TYPES: Mapping[str, list[Any]] = {
    "string": [12345, True, ["x"], {"k": "v"}],
    "boolean": ["yes", 1, ["true"]],
    "integer": ["1", 1.5, [1]],
    "number": ["1.5", [1.5]],
    "array": ["x", {"k": "v"}, 7],
    "object": ["x", [1], 7],
}


def schema_breaking_bodies(
    schemas: SpecSchemas,
    schema: Mapping[str, Any],
    valid: st.SearchStrategy[Body],
    violation: str,
    requirement: str,
) -> st.SearchStrategy[InvalidBody]:
    """Bodies that break one schema keyword: ``wrong_type``, ``enum`` or ``missing_required``."""

    @st.composite
    def build(draw: st.DrawFn) -> InvalidBody:
        body = draw(valid)
        paths = _typed_paths(schemas, schema, body)
        if violation == "missing_required":
            holders = [("", _merged(schemas, schema))] + [(p, s) for p, s in paths if s.get("required")]
            holders = [
                (p, s) for p, s in holders if any(r in (get_field(body, p) if p else body) for r in s["required"])
            ]
            where, node = draw(st.sampled_from(holders))
            name = draw(st.sampled_from(list(node["required"])))
            import copy

            out = copy.deepcopy(body)
            parent = get_field(out, where) if where else out
            del parent[name]
            full = f"{where}.{name}" if where else name
            return InvalidBody(out, requirement, f"missing required {full}", full)
        if violation == "enum":
            enums = [(p, s) for p, s in paths if "enum" in s]
            if not enums:
                holder = _enum_holders(schemas, schema)
                where, node = draw(st.sampled_from(holder))
            else:
                where, node = draw(st.sampled_from(enums))
            bad = draw(
                st.sampled_from(["not-a-listed-value", "INVALID", "other"]).filter(lambda v: v not in node["enum"])
            )
            return InvalidBody(set_field(body, where, bad), requirement, f"{where}={bad!r} outside enum", where)
        typed = [
            (p, s) for p, s in paths if isinstance(s.get("type"), str) and s["type"] in _OTHER_TYPES and "enum" not in s
        ]
        where, node = draw(st.sampled_from(typed))
        bad = draw(st.sampled_from(_OTHER_TYPES[node["type"]]))
        return InvalidBody(
            set_field(body, where, bad),
            requirement,
            f"{where} is {type(bad).__name__}, not {node['type']}",
            where,
        )

    return build()


def _enum_holders(schemas: SpecSchemas, schema: Mapping[str, Any], path: str = "") -> list[tuple[str, dict[str, Any]]]:
    node = _merged(schemas, schema)
    out: list[tuple[str, dict[str, Any]]] = []
    for name, sub in node.get("properties", {}).items():
        if _is_read_only(schemas, sub):
            continue
        child = f"{path}.{name}" if path else name
        merged = _merged(schemas, sub)
        if "enum" in merged:
            out.append((child, merged))
        elif merged.get("type") == "object" or "properties" in merged:
            out += _enum_holders(schemas, merged, child)
    return out


def read_only_fields(schemas: SpecSchemas, schema: Mapping[str, Any], path: str = "") -> list[str]:
    """Dotted paths of the readOnly properties a client must not send."""
    node = _merged(schemas, schema)
    out: list[str] = []
    for name, sub in node.get("properties", {}).items():
        child = f"{path}.{name}" if path else name
        if _is_read_only(schemas, sub):
            out.append(child)
            continue
        merged = _merged(schemas, sub)
        if merged.get("type") == "object" or "properties" in merged:
            out += read_only_fields(schemas, merged, child)
    return out


def at_max_length(body: Body, rules: Sequence[BodyRule], skip: str | None = None) -> Body:
    """``body`` with every field that has a maximum length filled to exactly that length."""
    out = body
    for rule in rules:
        if rule.max_length is None or rule.field == skip:
            continue
        current = get_field(out, rule.field)
        fill = (rule.edge_alphabet or rule.alphabet or string.ascii_lowercase)[0]
        base = current if isinstance(current, str) else ""
        out = set_field(out, rule.field, (base + fill * rule.max_length)[: rule.max_length])
    return out


def rule_breaking_examples(rule: BodyRule, body: Body) -> list[InvalidBody]:
    """One body per way to break ``rule`` (too long by one, uppercase, underscore, empty …)."""
    current = get_field(body, rule.field)
    base = current if isinstance(current, str) and current else "a"
    return [
        InvalidBody(set_field(body, rule.field, value), rule.requirement, label, rule.field)
        for label, value in _breaking_values(rule, base)
    ]


def schema_breaking_examples(
    schemas: SpecSchemas, schema: Mapping[str, Any], body: Body, violation: str, requirement: str
) -> list[InvalidBody]:
    """One body per location where ``violation`` can happen in ``body`` (every enum, required member, type)."""
    import copy

    out: list[InvalidBody] = []
    paths = _typed_paths(schemas, schema, body)
    if violation == "missing_required":
        holders = [("", _merged(schemas, schema)), *[(p, s) for p, s in paths if s.get("required")]]
        for where, node in holders:
            parent = get_field(body, where) if where else body
            for name in node.get("required", []):
                if isinstance(parent, dict) and name in parent:
                    broken = copy.deepcopy(body)
                    target = get_field(broken, where) if where else broken
                    del target[name]
                    full = f"{where}.{name}" if where else name
                    out.append(InvalidBody(broken, requirement, f"missing required {full}", full))
    elif violation == "enum":
        for where, node in paths:
            if "enum" in node:
                out.append(
                    InvalidBody(
                        set_field(body, where, "not-a-listed-value"), requirement, f"{where} outside enum", where
                    )
                )
    else:
        for where, node in paths:
            kind = node.get("type")
            if isinstance(kind, str) and kind in _OTHER_TYPES and "enum" not in node:
                bad = _OTHER_TYPES[kind][0]
                out.append(
                    InvalidBody(
                        set_field(body, where, bad), requirement, f"{where} is {type(bad).__name__}, not {kind}", where
                    )
                )
    return out
