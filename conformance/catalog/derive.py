"""Requirement rows derived from ``openapi.yaml``: what each operation's success response schema states.

For every member of the documented success body (``$ref`` followed, ``allOf`` merged, nested members named
``a.b[].c``): a ``required`` row for each required member, an ``enum`` row for each enumerated member, and a
``type`` row for each other typed member, all judged by ``response_field``. A schema statement is a published
statement, so derived rows are MUST, unless ``vendor.yaml`` marks that part of the schema inferred
(``derive.inferred``: JSON pointers). Ids follow ``PREFIX-ROLE-MEMBER-ASPECT`` (the shortest member suffix that is
unique in the operation; ``derive.ids`` renames one); ``source.field`` is the JSON pointer into the spec.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from conformance.catalog.model import Operation, Requirement, Source

_MAX_DEPTH = 8
_SUCCESS = ("200", "201", "202")


@dataclass(frozen=True)
class Member:
    """One member of a response schema: its dotted path and where the spec states it."""

    dotted: str
    pointer: str
    schema: Mapping[str, Any]
    required_at: str | None


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def _lookup(spec: Mapping[str, Any], pointer: str) -> Any:
    node: Any = spec
    for part in pointer.lstrip("#").strip("/").split("/"):
        if part:
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _resolve(spec: Mapping[str, Any], node: Any, pointer: str) -> tuple[Mapping[str, Any], str]:
    for _ in range(_MAX_DEPTH):
        if not isinstance(node, Mapping) or "$ref" not in node:
            break
        pointer = str(node["$ref"])
        node = _lookup(spec, pointer)
    return (node if isinstance(node, Mapping) else {}), pointer


def _merged(
    spec: Mapping[str, Any], node: Any, pointer: str
) -> tuple[dict[str, Any], dict[str, tuple[Any, str]], dict[str, str]]:
    """``node`` resolved and allOf merged: its own keywords, its properties and its required names (with pointers)."""
    resolved, pointer = _resolve(spec, node, pointer)
    own = {k: v for k, v in resolved.items() if k != "allOf"}
    props = {
        name: (sub, f"{pointer}/properties/{_escape(name)}") for name, sub in resolved.get("properties", {}).items()
    }
    required = {name: f"{pointer}/required" for name in resolved.get("required", [])}
    for index, part in enumerate(resolved.get("allOf", [])):
        sub_own, sub_props, sub_required = _merged(spec, part, f"{pointer}/allOf/{index}")
        for key in ("type", "enum", "nullable"):
            if key in sub_own:
                own.setdefault(key, sub_own[key])
        props.update(sub_props)
        for name, where in sub_required.items():
            required.setdefault(name, where)
    return own, props, required


def members(spec: Mapping[str, Any], schema: Any, pointer: str, prefix: str = "", depth: int = 0) -> Iterator[Member]:
    """Every member of ``schema`` (nested ones too), with the pointer of its schema."""
    if depth > _MAX_DEPTH:
        return
    _, props, required = _merged(spec, schema, pointer)
    for name, (sub, where) in props.items():
        dotted = prefix + name
        own, _, _ = _merged(spec, sub, where)
        resolved, at = _resolve(spec, sub, where)
        yield Member(dotted, at, own, required.get(name))
        kinds = own.get("type")
        kinds = kinds if isinstance(kinds, list) else [kinds]
        if "array" in kinds and "items" in resolved:
            yield from members(spec, resolved["items"], f"{at}/items", dotted + "[].", depth + 1)
        elif "object" in kinds or "properties" in resolved or "allOf" in resolved:
            yield from members(spec, sub, where, dotted + ".", depth + 1)


def _word(part: str, singular: bool) -> str:
    name = part[:-2] if part.endswith("[]") else part
    if singular and part.endswith("[]") and name.endswith("s") and len(name) > 3:
        name = name[:-1]
    return re.sub(r"[^A-Z0-9]+", "-", name.upper()).strip("-")


def _label(dotted: str, length: int) -> str:
    parts = dotted.split(".")
    chosen = parts[-length:]
    return "-".join(_word(p, i < len(chosen) - 1) for i, p in enumerate(chosen))


def member_labels(dotted_fields: list[str]) -> dict[str, str]:
    """Each member's id word: the shortest suffix of its path that no other member of the operation shares."""
    labels: dict[str, str] = {}
    for dotted in dotted_fields:
        depth = len(dotted.split("."))
        for length in range(1, depth + 1):
            label = _label(dotted, length)
            others = [o for o in dotted_fields if o != dotted and _label(o, min(length, len(o.split(".")))) == label]
            if not others or length == depth:
                labels[dotted] = label
                break
    return labels


def _type_text(schema: Mapping[str, Any]) -> str:
    kind = schema.get("type")
    kinds = [str(k) for k in (kind if isinstance(kind, list) else [kind])]
    if schema.get("nullable"):
        kinds.append("null")
    return " or ".join(kinds)


def _success_schema(spec: Mapping[str, Any], op: Operation) -> tuple[str, Any, str] | None:
    operation = spec.get("paths", {}).get(op.path, {}).get(op.method.lower(), {})
    for status in _SUCCESS:
        response = operation.get("responses", {}).get(status)
        if response is None:
            continue
        base = f"#/paths/{_escape(op.path)}/{op.method.lower()}/responses/{status}"
        response, base = _resolve(spec, response, base)
        media = response.get("content", {}).get("application/json", {})
        if "schema" in media:
            return status, media["schema"], f"{base}/content/application~1json/schema"
    return None


def derive_rows(
    vendor: str,
    prefix: str,
    spec: Mapping[str, Any],
    operations: Mapping[str, Operation],
    settings: Mapping[str, Any],
    default_seed: str,
) -> list[Requirement]:
    """The rows ``vendor``'s spec states about each operation's success body (see the module docstring)."""
    if settings.get("enabled", True) is False:
        return []
    inferred = [str(p) for p in settings.get("inferred", [])]
    renames = {str(k): str(v) for k, v in (settings.get("ids") or {}).items()}
    skip = {str(s) for s in settings.get("skip", [])}
    seeds = {str(k): str(v) for k, v in (settings.get("seeds") or {}).items()}
    rows: list[Requirement] = []
    for role, op in operations.items():
        found = _success_schema(spec, op)
        if found is None:
            continue
        status, schema, pointer = found
        found_members = list(members(spec, schema, pointer))
        labels = member_labels([m.dotted for m in found_members])
        seed = seeds.get(role, str(settings.get("seed", default_seed)))
        for member in found_members:
            for aspect, where, rule in _statements(member, status, role):
                generated = f"{prefix}-{role.upper()}-{labels[member.dotted]}-{aspect.upper()}"
                if generated in skip:
                    continue
                is_inferred = any(where == p or where.startswith(p.rstrip("/") + "/") for p in inferred)
                rows.append(
                    Requirement(
                        id=renames.get(generated, generated),
                        level="SHOULD" if is_inferred else "MUST",
                        operation=role,
                        rule=rule,
                        source=Source(seed=seed, field=where),
                        check="response_field",
                        vendor=vendor,
                        args={
                            "probe": "created" if role == "create" else "deleted",
                            "field": member.dotted,
                            "aspect": aspect,
                        },
                        inferred=is_inferred,
                        derived=True,
                    )
                )
    return rows


def _statements(member: Member, status: str, role: str) -> Iterator[tuple[str, str, str]]:
    answer = f"the {status} answer to {role}"
    if member.required_at is not None:
        yield "required", member.required_at, f"{answer.capitalize()} carries {member.dotted} (required by the schema)."
    if "enum" in member.schema:
        allowed = ", ".join(repr(v) for v in member.schema["enum"])
        yield "enum", f"{member.pointer}/enum", f"{member.dotted} in {answer} is one of {allowed}."
    elif "type" in member.schema:
        yield "type", f"{member.pointer}/type", f"{member.dotted} in {answer} is of type {_type_text(member.schema)}."
