"""Mutants of the faithful reference servers, derived mechanically from a vendor's spec documents.

``mutants_of(vendor, spec_dir)`` reads ``openapi.yaml`` and ``vendor.yaml`` of one vendor folder and derives one
named mutation per documented fact: each response member (dropped if required, wrong type, outside its enum, null
if not nullable), each status (swapped for a neighbour), each error-schema member, each way around the credentials,
each lifecycle promise of a delete, each request member a create should echo, each request default, each request
enum value, each class of unusual id. ``install`` puts one mutant, as an ASGI middleware, in front of a faithful
app; the engine knows no vendor by name, only the documents (and the admin routes and store every mock has).
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Awaitable, Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import yaml

from ._common import MockApp, MockOptions, Store, UnknownFault, parse_authorization

__all__ = ["KINDS", "Mutant", "default_spec_dir", "install", "mutants_of"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Path_ = tuple[str, ...]

KINDS: tuple[str, ...] = (
    "response-member",
    "media-type",
    "status",
    "error-shape",
    "auth",
    "lifecycle",
    "create-echo",
    "default",
    "request-enum",
    "request-validation",
    "read-only",
    "unusual-id",
)
ITEM = "[]"  # a path step into every item of an array
VALUE = "*"  # a path step into every value of a map (additionalProperties)
_JSON_TYPES: tuple[tuple[str, Any], ...] = (
    ("string", "mutant"),
    ("integer", 42),
    ("boolean", True),
    ("array", []),
    ("object", {}),
)
_SUCCESS_NEIGHBOURS = (200, 201, 202, 204)
UNUSUAL_IDS: dict[str, str] = {
    "non-ascii": "a non-ASCII character",
    "space": "a space",
    "regex-metachar": "a regular-expression metacharacter",
    "encoded-slash": "a percent-encoded slash (%2F)",
    "dot-segment": "a dot segment (. or ..)",
    "long": "300 characters or more",
    "trailing-newline": "a trailing newline",
}
_REGEX_META = frozenset("^$*+?()[]{}|\\")


@dataclass(frozen=True)
class Mutant:
    """One mechanical mutation of a faithful server; ``action`` and its parameters say how to apply it."""

    name: str
    operation: str
    kind: str
    pointer: str
    description: str
    action: str
    path: Path_ = ()
    value: Any = field(default=None, hash=False, compare=False)
    status: int = 0
    to_status: int = 0
    equivalent: bool = False
    reason: str = ""


@dataclass(frozen=True)
class Operation:
    """One operation of vendor.yaml with what the mutants need of the OpenAPI document."""

    role: str
    method: str
    path: str
    id_param: str | None
    id_field: str | None
    pointer: str
    spec: Mapping[str, Any]
    statuses: tuple[int, ...]
    id_pointer: str = ""

    @property
    def regex(self) -> re.Pattern[str]:
        """Match a served path (server path included) of this operation."""
        parts = re.split(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", self.path)
        return re.compile("".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>[^/]+)" for i, p in enumerate(parts)))


@dataclass(frozen=True)
class Member:
    """A member of a schema reached from a root: its path, resolved schema, pointer and whether it is required."""

    path: Path_
    schema: Mapping[str, Any]
    pointer: str
    required: bool


def default_spec_dir(vendor: str) -> Path:
    """The vendor's folder of specs: ``$CONFORMANCE_SPECS_DIR/<vendor>``, else the package's ``_specs/<vendor>``."""
    root = os.environ.get("CONFORMANCE_SPECS_DIR")
    return (Path(root) if root else Path(__file__).resolve().parent.parent / "_specs") / vendor


def _escape(token: str) -> str:
    """Escape one JSON-pointer token."""
    return token.replace("~", "~0").replace("/", "~1")


class _Spec:
    """An OpenAPI document with $ref / allOf resolution."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document

    def lookup(self, pointer: str) -> Any:
        """The node at a local JSON pointer (``#/components/...`` or ``/components/...``)."""
        node: Any = self.document
        for token in pointer.lstrip("#").strip("/").split("/"):
            if not token:
                continue
            token = token.replace("~1", "/").replace("~0", "~")
            node = node[int(token)] if isinstance(node, list) else node[token]
        return node

    def resolve(self, schema: Any, pointer: str, depth: int = 0) -> tuple[dict[str, Any], str]:
        """Follow $ref and merge allOf (properties, required, type); return the schema and its pointer."""
        if not isinstance(schema, Mapping) or depth > 32:
            return {}, pointer
        if "$ref" in schema:
            ref = str(schema["$ref"])
            return self.resolve(self.lookup(ref), ref.lstrip("#"), depth + 1)
        out = {k: v for k, v in schema.items() if k != "allOf"}
        if "allOf" in schema:
            props: dict[str, Any] = dict(out.get("properties", {}))
            required: list[str] = list(out.get("required", []))
            for i, part in enumerate(schema["allOf"]):
                sub, _ = self.resolve(part, f"{pointer}/allOf/{i}", depth + 1)
                for key, value in sub.get("properties", {}).items():
                    props.setdefault(key, value)
                required += [r for r in sub.get("required", []) if r not in required]
                if "type" in sub and "type" not in out:
                    out["type"] = sub["type"]
            out["properties"], out["required"] = props, required
        return out, pointer

    def walk(self, schema: Any, pointer: str, path: Path_ = (), depth: int = 0) -> Iterator[Member]:
        """Every member below schema, depth first: properties, array items, additionalProperties values."""
        node, pointer = self.resolve(schema, pointer)
        if depth > 12:
            return
        required = set(node.get("required", []))
        for key, sub in node.get("properties", {}).items():
            child_pointer = self._child_pointer(node, pointer, key)
            resolved, resolved_pointer = self.resolve(sub, child_pointer)
            yield Member((*path, key), resolved, resolved_pointer, key in required)
            yield from self.walk(sub, child_pointer, (*path, key), depth + 1)
        items = node.get("items")
        if isinstance(items, Mapping):
            resolved, resolved_pointer = self.resolve(items, f"{pointer}/items")
            yield Member((*path, ITEM), resolved, resolved_pointer, False)
            yield from self.walk(items, f"{pointer}/items", (*path, ITEM), depth + 1)
        extra = node.get("additionalProperties")
        if isinstance(extra, Mapping):
            resolved, resolved_pointer = self.resolve(extra, f"{pointer}/additionalProperties")
            yield Member((*path, VALUE), resolved, resolved_pointer, False)
            yield from self.walk(extra, f"{pointer}/additionalProperties", (*path, VALUE), depth + 1)

    def _child_pointer(self, node: Mapping[str, Any], pointer: str, key: str) -> str:
        """Where property key is written: in the schema itself or in one of its allOf parts."""
        original = self.lookup(pointer) if pointer.startswith("/") else {}
        if isinstance(original, Mapping) and key in original.get("properties", {}):
            return f"{pointer}/properties/{_escape(key)}"
        for i, part in enumerate(original.get("allOf", []) if isinstance(original, Mapping) else []):
            sub, sub_pointer = self.resolve(part, f"{pointer}/allOf/{i}")
            if key in sub.get("properties", {}):
                return f"{sub_pointer}/properties/{_escape(key)}"
        return f"{pointer}/properties/{_escape(key)}"


def _types(schema: Mapping[str, Any]) -> set[str]:
    """The JSON types a schema allows (empty: any); 3.0 ``nullable`` adds null."""
    declared = schema.get("type")
    types = {declared} if isinstance(declared, str) else set(declared or ())
    if schema.get("nullable") is True:
        types.add("null")
    if "enum" in schema and not types:
        types = {_json_type(v) for v in schema["enum"]}
    return types


def _json_type(value: Any) -> str:
    """The JSON type name of a Python value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _allows(types: set[str], value: Any) -> bool:
    """Whether a value's JSON type is one of types (an integer is a number)."""
    kind = _json_type(value)
    return not types or kind in types or (kind == "integer" and "number" in types)


def _wrong_type(types: set[str]) -> Any:
    """A value of a JSON type the schema does not allow (None when every type is allowed)."""
    for _, value in _JSON_TYPES:
        if not _allows(types, value):
            return value
    return None


def _outside_enum(enum: list[Any]) -> Any:
    """A value of the enum's type that is not in it."""
    if all(isinstance(v, str) for v in enum):
        candidate = "mutant-outside-enum"
        while candidate in enum:
            candidate += "-x"
        return candidate
    numbers = [v for v in enum if isinstance(v, int | float) and not isinstance(v, bool)]
    return (max(numbers) + 1) if numbers else "mutant-outside-enum"


def minimal(spec: _Spec, schema: Mapping[str, Any], depth: int = 0) -> Any:
    """A small valid instance of a resolved schema (object: its required members; string: a fresh lowercase word)."""
    if "default" in schema:
        return schema["default"]
    if schema.get("enum"):
        return schema["enum"][0]
    types = _types(schema)
    if "object" in types or ("properties" in schema and not types):
        out: dict[str, Any] = {}
        for key in schema.get("required", []):
            sub, _ = spec.resolve(schema.get("properties", {}).get(key, {}), "")
            out[key] = minimal(spec, sub, depth + 1) if depth < 8 else None
        return out
    for kind, value in (("string", None), ("integer", 0), ("number", 0), ("boolean", True), ("array", [])):
        if kind in types:
            return f"mutant{secrets.token_hex(4)}" if kind == "string" else value
    return None


def alter(value: Any, enum: list[Any] | None = None) -> Any:
    """A different value of the same JSON type (another enum value when there is one)."""
    if enum:
        others = [v for v in enum if v != value]
        if others:
            return others[0]
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if isinstance(value, str):
        return value + "-altered"
    if isinstance(value, list):
        return [*value, alter(value[-1])] if value else ["altered"]
    if isinstance(value, dict):
        return {**value, "mutantaltered": "altered"}
    return "altered"


def dotted(path: Path_) -> str:
    """Render a member path: ``spec.flavors[].type``, ``metadata.labels.*``."""
    text = ""
    for step in path:
        text += step if step == ITEM else ("." if text else "") + step
    return text or "(body)"


# --- derivation -------------------------------------------------------------------------------------------------


_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_PARSED: dict[tuple[str, int], Any] = {}


def _yaml(path: Path) -> Any:
    """Parse a YAML file once per version of it (path and modification time); the result is shared, read-only."""
    key = (str(path.resolve()), path.stat().st_mtime_ns)
    if key not in _PARSED:
        _PARSED[key] = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
    return _PARSED[key]


def _load(spec_dir: Path) -> tuple[dict[str, Any], _Spec]:
    """Read vendor.yaml and the OpenAPI document it names."""
    profile = _yaml(spec_dir / "vendor.yaml")
    if not isinstance(profile, dict) or not isinstance(profile.get("operations"), dict):
        raise ValueError(f"{spec_dir / 'vendor.yaml'} is not a vendor profile")
    return profile, _Spec(_yaml(spec_dir / str(profile.get("openapi", "openapi.yaml"))))


def operations_of(profile: Mapping[str, Any], spec: _Spec) -> list[Operation]:
    """The operations of vendor.yaml, each with its OpenAPI operation object and its documented+inferred statuses."""
    out: list[Operation] = []
    inferred = profile.get("inferred_statuses") or {}
    for role, op in profile["operations"].items():
        method = str(op["method"]).lower()
        pointer = f"/paths/{_escape(op['path'])}/{method}"
        try:
            node = spec.lookup(pointer)
        except (KeyError, IndexError, TypeError):
            node = {}
        documented = {int(s) for s in (node.get("responses") or {}) if str(s).isdigit()}
        statuses = tuple(sorted(documented | {int(s) for s in inferred.get(role) or {}}))
        id_pointer = f"vendor.yaml#/operations/{role}/id_param"
        path_pointer = pointer.rsplit("/", 1)[0]
        for where in (pointer, path_pointer):
            try:
                params = spec.lookup(f"{where}/parameters")
            except (KeyError, IndexError, TypeError):
                continue
            for i, param in enumerate(params):
                resolved = spec.lookup(param["$ref"]) if "$ref" in param else param
                if resolved.get("name") == op.get("id_param"):
                    id_pointer = f"{where}/parameters/{i}"
        out.append(
            Operation(
                role=role,
                method=method.upper(),
                path=str(profile.get("server_path") or "") + str(op["path"]),
                id_param=op.get("id_param"),
                id_field=op.get("id_field"),
                pointer=pointer,
                spec=node,
                statuses=statuses,
                id_pointer=id_pointer,
            )
        )
    return out


def _json_schema(node: Mapping[str, Any]) -> Any:
    """The application/json schema of a response or request body object, if any."""
    content = node.get("content") or {}
    media = content.get("application/json") or next(iter(content.values()), None) or {}
    return media.get("schema") if isinstance(media, Mapping) else None


def _member_mutants(
    spec: _Spec, op: Operation, root: Any, root_pointer: str, prefix: str, kind: str, action: str, status: int
) -> Iterator[Mutant]:
    """Drop / wrong type / outside enum / null for each member of the schema at root."""
    for member in spec.walk(root, root_pointer):
        name = f"{op.role}.{prefix}.{dotted(member.path)}"
        types = _types(member.schema)
        where = f"{prefix} member {dotted(member.path)}"
        if member.path[-1] not in (ITEM, VALUE):
            yield Mutant(
                f"{name}.dropped",
                op.role,
                kind,
                member.pointer,
                f"{op.role} answers without the {'required' if member.required else 'optional'} {where}",
                f"{action}-drop",
                member.path,
                status=status,
                equivalent=not member.required,
                reason="" if member.required else "an optional member may be absent: the answer still conforms",
            )
        wrong = _wrong_type(types)
        if types and wrong is not None:
            yield Mutant(
                f"{name}.wrong-type",
                op.role,
                kind,
                member.pointer,
                f"{op.role} answers the {where} as {_json_type(wrong)} {json.dumps(wrong)} (allowed: "
                f"{', '.join(sorted(types))})",
                f"{action}-set",
                member.path,
                wrong,
                status=status,
            )
        if member.schema.get("enum"):
            outside = _outside_enum(list(member.schema["enum"]))
            yield Mutant(
                f"{name}.outside-enum",
                op.role,
                kind,
                f"{member.pointer}/enum",
                f"{op.role} answers the {where} as {json.dumps(outside)}, outside its enum",
                f"{action}-set",
                member.path,
                outside,
                status=status,
            )
        if types and "null" not in types:
            yield Mutant(
                f"{name}.null",
                op.role,
                kind,
                member.pointer,
                f"{op.role} answers the non-nullable {where} as null",
                f"{action}-set",
                member.path,
                None,
                status=status,
            )


def _response_mutants(spec: _Spec, op: Operation) -> Iterator[Mutant]:
    """Mutants of every documented success answer: its members and its media type."""
    for code, response in (op.spec.get("responses") or {}).items():
        if not str(code).startswith("2") or not isinstance(response, Mapping):
            continue
        pointer = f"{op.pointer}/responses/{code}"
        schema = _json_schema(response)
        if schema is None:
            continue
        schema_pointer = f"{pointer}/content/application~1json/schema"
        yield from _member_mutants(spec, op, schema, schema_pointer, "response", "response-member", "response", 0)
        yield Mutant(
            f"{op.role}.response.media-type",
            op.role,
            "media-type",
            f"{pointer}/content",
            f"{op.role} answers its {code} JSON body with content-type text/plain",
            "response-media",
            value="text/plain",
        )
        yield Mutant(
            f"{op.role}.response.not-json",
            op.role,
            "media-type",
            f"{pointer}/content",
            f"{op.role} answers {code} with a body that is not JSON",
            "response-body",
            value=b"OK",
        )


def _status_mutants(op: Operation) -> Iterator[Mutant]:
    """Each status of the operation swapped for a neighbour: 2xx for another 2xx, 4xx for another 4xx of it."""
    documented = {int(s) for s in op.spec.get("responses") or {} if str(s).isdigit()}
    for status in op.statuses:
        where = (
            f"{op.pointer}/responses/{status}"
            if status in documented
            else f"vendor.yaml#/inferred_statuses/{op.role}/{status}"
        )
        if 200 <= status < 300:
            neighbours = [n for n in _SUCCESS_NEIGHBOURS if n not in op.statuses]
        elif 400 <= status < 500:
            neighbours = [n for n in op.statuses if 400 <= n < 500 and n != status]
        else:
            continue  # a 5xx the suite cannot provoke from a faithful server
        for neighbour in neighbours:
            yield Mutant(
                f"{op.role}.status.{status}-as-{neighbour}",
                op.role,
                "status",
                where,
                f"{op.role} answers {neighbour} where it should answer {status}",
                "status",
                status=status,
                to_status=neighbour,
            )


def _error_mutants(spec: _Spec, op: Operation, profile: Mapping[str, Any]) -> Iterator[Mutant]:
    """Error bodies reshaped: each error-schema member dropped / mistyped / nulled, not an object, not JSON."""
    error = (profile.get("error") or {}).get("schema")
    if not isinstance(error, Mapping):
        return
    root, pointer = spec.resolve(error, "vendor.yaml#/error/schema")
    yield from _member_mutants(spec, op, error, pointer, "error-body", "error-shape", "error", 0)
    types = _types(root)
    wrong = _wrong_type(types)
    if types and wrong is not None:
        yield Mutant(
            f"{op.role}.error-body.wrong-type",
            op.role,
            "error-shape",
            pointer,
            f"{op.role} answers its errors with a JSON {_json_type(wrong)} instead of {', '.join(sorted(types))}",
            "error-body",
            value=json.dumps(wrong).encode(),
        )
    if isinstance(root.get("minProperties"), int) and root["minProperties"] > 0:
        yield Mutant(
            f"{op.role}.error-body.empty",
            op.role,
            "error-shape",
            f"{pointer}/minProperties",
            f"{op.role} answers its errors with an empty JSON object",
            "error-body",
            value=b"{}",
        )
    yield Mutant(
        f"{op.role}.error-body.not-json",
        op.role,
        "error-shape",
        pointer,
        f"{op.role} answers its errors with a text/html page instead of JSON",
        "error-body",
        value=b"<html><body><h1>Error</h1></body></html>",
    )


def _auth_mutants(spec: _Spec, op: Operation, profile: Mapping[str, Any]) -> Iterator[Mutant]:
    """Every security requirement bypassed: no credentials, any token, another scheme; permissions ignored."""
    auth = profile.get("auth") or {}
    if not auth.get("header"):
        return
    security = op.spec.get("security", spec.document.get("security"))
    pointer = "vendor.yaml#/auth"
    if security:
        pointer = f"{op.pointer}/security" if "security" in op.spec else "/security"
    header, scheme = str(auth["header"]), str(auth.get("scheme") or "")
    for suffix, description in (
        ("no-credentials-accepted", f"without any {header} header"),
        ("any-token-accepted", f"with any token under '{scheme}'"),
        ("wrong-scheme-accepted", f"with the right token under a scheme other than '{scheme}'"),
    ):
        yield Mutant(
            f"{op.role}.auth.{suffix}", op.role, "auth", pointer, f"{op.role} lets a request through {description}",
            f"auth-{suffix}",
        )  # fmt: skip
    scoped = any(scopes for requirement in security or [] for scopes in requirement.values())
    inferred = 403 in op.statuses
    if scoped or inferred:
        where = pointer if scoped else f"vendor.yaml#/inferred_statuses/{op.role}/403"
        yield Mutant(
            f"{op.role}.auth.permission-ignored",
            op.role,
            "auth",
            where,
            f"{op.role} lets a valid token without the permission through",
            "auth-permission-ignored",
        )


def _lifecycle_mutants(op: Operation) -> Iterator[Mutant]:
    """Deletes that do not delete, delete another resource, answer for another one, or succeed on unknown ids."""
    if op.id_param is None:
        return
    pointer = op.id_pointer
    yield Mutant(
        f"{op.role}.lifecycle.does-not-delete", op.role, "lifecycle", pointer,
        f"{op.role} answers success but the resource stays", "keep",
    )  # fmt: skip
    yield Mutant(
        f"{op.role}.lifecycle.deletes-another", op.role, "lifecycle", pointer,
        f"{op.role} answers success for the named resource but deletes another one (when another exists)",
        "delete-other",
    )  # fmt: skip
    if op.id_field:
        id_path = tuple(op.id_field.split("."))
        yield Mutant(
            f"{op.role}.lifecycle.answers-another-id", op.role, "lifecycle", pointer,
            f"{op.role} answers a body whose {op.id_field} differs from the path's {op.id_param}",
            "answer-other", id_path,
        )  # fmt: skip
    if 404 in op.statuses:
        yield Mutant(
            f"{op.role}.lifecycle.unknown-succeeds", op.role, "lifecycle", pointer,
            f"{op.role} of an unknown {op.id_param} answers success (as if it existed) instead of 404",
            "phantom",
        )  # fmt: skip
    for cls, description in UNUSUAL_IDS.items():
        yield Mutant(
            f"{op.role}.unusual-id.{cls}", op.role, "unusual-id", pointer,
            f"{op.role} answers 500 when {op.id_param} contains {description}", "unusual-id", value=cls,
        )  # fmt: skip


def _request_mutants(spec: _Spec, op: Operation) -> Iterator[Mutant]:
    """Create echoes, defaults, request enums and request validation, from the request body schema."""
    body = op.spec.get("requestBody")
    schema = _json_schema(body) if isinstance(body, Mapping) else None
    if schema is None:
        return
    root_pointer = f"{op.pointer}/requestBody/content/application~1json/schema"
    read_only: list[Path_] = []
    for member in spec.walk(schema, root_pointer):
        if any(member.path[: len(r)] == r for r in read_only):
            continue
        if member.schema.get("readOnly"):
            read_only.append(member.path)
            if not {ITEM, VALUE} & set(member.path):
                name = dotted(member.path)
                yield Mutant(
                    f"{op.role}.read-only.{name}.kept", op.role, "read-only", f"{member.pointer}/readOnly",
                    f"{op.role} answers the read-only {name} the client sent instead of its own",
                    "keep-read-only", member.path,
                )  # fmt: skip
            continue
        name, where = dotted(member.path), member.pointer
        types = _types(member.schema)
        leaf = member.path[-1] not in (ITEM, VALUE)
        fixed_object = "object" in types and "properties" in member.schema
        if leaf and not member.required:
            yield Mutant(
                f"{op.role}.echo.{name}.dropped", op.role, "create-echo", where,
                f"{op.role} answers without the {name} it was sent", "echo-drop", member.path,
            )  # fmt: skip
        if not fixed_object:
            yield Mutant(
                f"{op.role}.echo.{name}.altered", op.role, "create-echo", where,
                f"{op.role} answers another {name} than the one it was sent", "echo-alter", member.path,
                member.schema.get("enum"),
            )  # fmt: skip
        if "default" in member.schema:
            default = member.schema["default"]
            yield Mutant(
                f"{op.role}.default.{name}.absent", op.role, "default", f"{where}/default",
                f"{op.role} of a body without {name} answers without its default {json.dumps(default)}",
                "default-drop", member.path, default,
            )  # fmt: skip
            yield Mutant(
                f"{op.role}.default.{name}.other", op.role, "default", f"{where}/default",
                f"{op.role} of a body without {name} answers {json.dumps(alter(default, member.schema.get('enum')))}"
                f" instead of its default {json.dumps(default)}",
                "default-set", member.path, alter(default, member.schema.get("enum")),
            )  # fmt: skip
        for value in member.schema.get("enum") or []:
            yield Mutant(
                f"{op.role}.request-enum.{name}.{value}-rejected", op.role, "request-enum", f"{where}/enum",
                f"{op.role} answers 400 when {name} is {json.dumps(value)}, a documented enum value",
                "reject-enum", member.path, value,
            )  # fmt: skip
        if member.required:
            yield Mutant(
                f"{op.role}.request.{name}.missing-accepted", op.role, "request-validation", where,
                f"{op.role} accepts a body without the required {name} (and makes one up)",
                "accept-missing", member.path, member.schema,
            )  # fmt: skip
        if types and leaf:
            yield Mutant(
                f"{op.role}.request.{name}.wrong-type-accepted", op.role, "request-validation", where,
                f"{op.role} accepts {name} of a type other than {', '.join(sorted(types))} (and stores a valid one)",
                "accept-wrong-type", member.path, member.schema,
            )  # fmt: skip
        if member.schema.get("enum"):
            yield Mutant(
                f"{op.role}.request.{name}.outside-enum-accepted", op.role, "request-validation", f"{where}/enum",
                f"{op.role} accepts {name} outside its enum (and stores a valid one)",
                "accept-outside-enum", member.path, member.schema,
            )  # fmt: skip


def mutants_of(vendor: str, spec_dir: Path) -> dict[str, Mutant]:
    """Derive the vendor's mutants from the vendor folder ``spec_dir`` (openapi.yaml + vendor.yaml), by name."""
    profile, spec = _load(Path(spec_dir))
    found: dict[str, Mutant] = {}
    for op in operations_of(profile, spec):
        for mutant in (
            *_response_mutants(spec, op),
            *_status_mutants(op),
            *_error_mutants(spec, op, profile),
            *_auth_mutants(spec, op, profile),
            *_lifecycle_mutants(op),
            *_request_mutants(spec, op),
        ):
            found.setdefault(mutant.name, mutant)
    return found


# --- application ------------------------------------------------------------------------------------------------


def _values(body: Any, path: Path_) -> list[Any]:
    """Every value at path in body ([] where absent)."""
    nodes = [body]
    for step in path:
        nxt: list[Any] = []
        for node in nodes:
            if step == ITEM and isinstance(node, list):
                nxt += node
            elif step == VALUE and isinstance(node, dict):
                nxt += list(node.values())
            elif step not in (ITEM, VALUE) and isinstance(node, dict) and step in node:
                nxt.append(node[step])
        nodes = nxt
    return nodes


def _parents(body: Any, path: Path_) -> list[Any]:
    """The containers holding the last step of path."""
    return _values(body, path[:-1]) if path else []


def _has(body: Any, path: Path_) -> bool:
    """Whether path reaches at least one value in body."""
    return bool(_values(body, path))


def _set(body: Any, path: Path_, value: Callable[[Any], Any], create: bool = True) -> bool:
    """Set the member at path (every item / value for [] and *); returns whether anything changed."""
    changed = False
    last = path[-1]
    for parent in _parents(body, path):
        if last == ITEM and isinstance(parent, list):
            parent[:] = [value(v) for v in parent]
            changed = changed or bool(parent)
        elif last == VALUE and isinstance(parent, dict):
            for key in parent:
                parent[key] = value(parent[key])
                changed = True
        elif isinstance(parent, dict) and (create or last in parent):
            parent[last] = value(parent.get(last))
            changed = True
    return changed


def _drop(body: Any, path: Path_) -> bool:
    """Remove the member at path; returns whether it was there."""
    changed = False
    last = path[-1]
    for parent in _parents(body, path):
        if (last == ITEM and isinstance(parent, list)) or (last == VALUE and isinstance(parent, dict)):
            changed = changed or bool(parent)
            parent.clear()
        elif isinstance(parent, dict) and last in parent:
            del parent[last]
            changed = True
    return changed


def classify_id(raw: str) -> set[str]:
    """The unusual-id classes a raw (percent-encoded) path segment falls in."""
    value = unquote(raw)
    found: set[str] = set()
    if not value.isascii():
        found.add("non-ascii")
    if " " in value:
        found.add("space")
    if _REGEX_META & set(value):
        found.add("regex-metachar")
    if "%2f" in raw.lower():
        found.add("encoded-slash")
    if value in (".", "..") or value.startswith(("./", "../")) or "/../" in value or value.endswith("/.."):
        found.add("dot-segment")
    if len(value) >= 300:
        found.add("long")
    if value.endswith("\n"):
        found.add("trailing-newline")
    return found


@dataclass
class _Answer:
    """A buffered answer of the inner app."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def header(self, name: bytes) -> bytes | None:
        """The value of one header."""
        return next((v for k, v in self.headers if k.lower() == name), None)

    def replace(self, body: bytes, media: bytes | None = None) -> None:
        """New body (and media type); content-length follows."""
        kept = [(k, v) for k, v in self.headers if k.lower() not in (b"content-length", b"content-type")]
        old_media = self.header(b"content-type") or b"application/json"
        self.headers = [(b"content-type", media or old_media), (b"content-length", b"%d" % len(body)), *kept]
        self.body = body


class MutantMiddleware:
    """Applies one mutant to the requests of its operation and the answers to them; everything else passes."""

    def __init__(self, app: ASGIApp, *, mutant: Mutant, operation: Operation, mock: MockApp, auth: Mapping[str, Any],
                 options: MockOptions) -> None:  # fmt: skip
        self.app = app
        self.mutant = mutant
        self.op = operation
        self.mock = mock
        self.options = options
        self.header = str(auth.get("header") or "authorization").lower().encode("latin-1")
        self.scheme = str(auth.get("scheme") or "Bearer")
        aliases = auth.get("aliases") or []
        self.auth_headers = {self.header} | {str(a["header"]).lower().encode("latin-1") for a in aliases}
        self.schemes = {self.scheme.lower()} | {
            str(a.get("scheme", "")).lower() for a in aliases if str(a["header"]).lower().encode() == self.header
        }
        self.prefix = operation.path.split("{", 1)[0]
        self.action = mutant.action

    @property
    def store(self) -> Store:
        """The mock's store."""
        store: Store = self.mock.state.store
        return store

    def _error(self, status: int, message: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """An error in the vendor's shape."""
        reply = self.mock.state.error(status, message)
        return reply.status, list(reply.raw_headers), reply.body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Mutate one exchange when it belongs to the operation."""
        if scope["type"] != "http" or scope["method"] != self.op.method:
            await self.app(scope, receive, send)
            return
        raw_path = scope.get("raw_path") or quote(scope["path"]).encode()
        raw = raw_path.decode("latin-1").split("?", 1)[0]
        if self.action == "unusual-id":
            segment = raw[len(self.prefix) :] if raw.startswith(self.prefix) and len(raw) > len(self.prefix) else None
            if segment is not None and self.mutant.value in classify_id(segment):
                self._hit()
                await self._send(send, *self._error(500, "internal server error"))
                return
            await self.app(scope, receive, send)
            return
        matched = self.op.regex.fullmatch(scope["path"])
        if matched is None:
            await self.app(scope, receive, send)
            return
        key = matched.groupdict().get(self.op.id_param or "", "")
        body = await _read(receive)
        request = _parse(body)
        rewritten = self._request_auth(scope)
        if rewritten is not scope:
            self._hit()
        rejected = self._request_body(request)
        if rejected is not None:
            self._hit()
            await self._send(send, *rejected)
            return
        if self.action.startswith("accept-") and isinstance(request, dict | list) and request != _parse(body):
            self._hit()
            body = json.dumps(request).encode()
        pre = self.store.get(key) if self.action in ("keep", "delete-other") else None
        others = [k for k in self.store.ids() if k != key] if self.action == "delete-other" else []
        phantom = self.action == "phantom" and bool(key) and self.store.get(key) is None
        if phantom:
            await self._seed(key)
        answer = await _call(self.app, rewritten, body)
        if 200 <= answer.status < 300 and (pre is not None or phantom):
            self._hit()
            if pre is not None:
                self.store.put(key, pre)
            if others:
                self.store.delete(others[0], 0.0)
        if self._response(answer, request, key):
            self._hit()
        await self._send(send, answer.status, answer.headers, answer.body)

    def _hit(self) -> None:
        """Count one exchange the mutant changed (``app.state.mutant_hits``)."""
        self.mock.state.mutant_hits += 1

    def _request_auth(self, scope: Scope) -> Scope:
        """Rewrite the credentials so that the mutant's bypass lets the request through."""
        if not self.action.startswith("auth-"):
            return scope
        headers: list[tuple[bytes, bytes]] = list(scope["headers"])
        present = [v.decode("latin-1") for k, v in headers if k.lower() == self.header]
        good = f"{self.scheme} {self.options.token}"
        value = present[-1] if present else None
        parsed = parse_authorization(value)
        replace = False
        if self.action == "auth-no-credentials-accepted":
            replace = not any(k.lower() in self.auth_headers for k, _ in headers)
        elif self.action == "auth-any-token-accepted":
            replace = (
                parsed is not None
                and parsed[0] in self.schemes
                and parsed[1] not in (self.options.token, self.options.restricted_token)
            )
        elif self.action == "auth-wrong-scheme-accepted":
            token = self.options.token
            replace = value is not None and (
                (parsed is not None and parsed[0] not in self.schemes and parsed[1] == token) or value.strip() == token
            )
        elif self.action == "auth-permission-ignored":
            restricted = self.options.restricted_token
            replace = bool(restricted) and parsed is not None and parsed[1] == restricted
        if not replace:
            return scope
        kept = [(k, v) for k, v in headers if k.lower() not in self.auth_headers]
        return {**scope, "headers": [*kept, (self.header, good.encode("latin-1"))]}

    def _request_body(self, request: Any) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
        """Reject a documented enum value, or repair an invalid body so that it is accepted (in place)."""
        path, action, schema = self.mutant.path, self.action, self.mutant.value
        if action == "reject-enum":
            if self.mutant.value in _values(request, path):
                return self._error(400, f"{dotted(path)} must not be {self.mutant.value!r}")
            return None
        if not action.startswith("accept-") or not isinstance(schema, Mapping):
            return None
        spec = _Spec({})
        if action == "accept-missing":
            for parent in _parents(request, path):
                if isinstance(parent, dict) and path[-1] not in parent:
                    parent[path[-1]] = minimal(spec, schema)
        else:
            types, enum = _types(schema), schema.get("enum")

            def valid(value: Any) -> Any:
                if action == "accept-wrong-type" and not _allows(types, value):
                    return minimal(spec, schema)
                if action == "accept-outside-enum" and enum and value not in enum and _allows(types, value):
                    return enum[0]
                return value

            _set(request, path, valid, create=False)
        return None

    def _response(self, answer: _Answer, request: Any, key: str) -> bool:
        """Mutate the answer (status, body members, media type) as the mutant says; whether anything changed."""
        m, action = self.mutant, self.action
        if action == "status":
            if answer.status != m.status:
                return False
            answer.status = m.to_status
            if m.to_status == 204:
                answer.replace(b"")
            return True
        if action.startswith("error"):
            if answer.status < 400:
                return False
            if action == "error-body":
                media = b"application/json" if m.value.startswith((b"{", b"[", b'"')) else b"text/html"
                answer.replace(bytes(m.value), media)
                return True
            return self._edit_json(answer, request, key)
        if not 200 <= answer.status < 300:
            return False
        if action == "response-media":
            answer.replace(answer.body, str(m.value).encode())
        elif action == "response-body":
            answer.replace(bytes(m.value), b"text/plain")
        else:
            return self._edit_json(answer, request, key)
        return True

    def _edit_json(self, answer: _Answer, request: Any, key: str) -> bool:
        """Apply a member mutation to a JSON answer; whether it changed."""
        m, action = self.mutant, self.action
        body = _parse(answer.body)
        if body is _NOT_JSON:
            return False
        changed = False
        if action in ("response-drop", "error-drop"):
            changed = _drop(body, m.path)
        elif action in ("response-set", "error-set"):
            changed = _set(body, m.path, lambda _old: m.value)
        elif action == "answer-other":
            changed = _set(body, m.path, lambda old: alter(old if isinstance(old, str) and old else key), create=False)
        elif action == "echo-drop" and _has(request, m.path):
            changed = _drop(body, m.path)
        elif action == "echo-alter" and _has(request, m.path):
            changed = _set(body, m.path, lambda old: alter(old, m.value), create=False)
        elif action == "keep-read-only" and _has(request, m.path):
            sent = _values(request, m.path)[0]
            changed = _set(body, m.path, lambda _old: sent)
        elif action in ("default-drop", "default-set") and not _has(request, m.path):
            if action == "default-drop":
                changed = _drop(body, m.path)
            else:
                changed = _set(body, m.path, lambda _old: m.value, create=False)
        if changed:
            answer.replace(json.dumps(body, separators=(",", ":")).encode())
        return changed

    async def _seed(self, key: str) -> None:
        """Create key through the mock's own admin route."""
        scope: Scope = {
            "type": "http",
            "method": "POST",
            "path": "/__mock__/resources",
            "raw_path": b"/__mock__/resources",
            "query_string": b"",
            "headers": [(b"content-type", b"application/json")],
        }
        await _call(self.app, scope, json.dumps({"id": key}).encode())

    @staticmethod
    async def _send(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        """Send a whole answer."""
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


_NOT_JSON = object()


def _parse(data: bytes) -> Any:
    """Parse JSON bytes, or ``_NOT_JSON``."""
    try:
        return json.loads(data) if data.strip() else _NOT_JSON
    except (ValueError, UnicodeDecodeError, RecursionError):
        return _NOT_JSON


async def _read(receive: Receive) -> bytes:
    """The whole request body."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _call(app: ASGIApp, scope: Scope, body: bytes) -> _Answer:
    """Run the inner app on one request and buffer its answer."""
    sent = False
    answer = _Answer(500, [], b"")
    chunks: list[bytes] = []

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            answer.status = int(message["status"])
            answer.headers = [(bytes(k), bytes(v)) for k, v in message.get("headers", [])]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    answer.body = b"".join(chunks)
    return answer


def install(app: MockApp, vendor: str, options: MockOptions) -> Mutant:
    """Put the mutant ``options.mutant`` in front of app; UnknownFault (one line) when the vendor has no such mutant."""
    spec_dir = options.spec_dir or default_spec_dir(vendor)
    known = mutants_of(vendor, spec_dir)
    name = str(options.mutant)
    if name not in known:
        close = [n for n in known if n.startswith(name.split(".", 1)[0] + ".")][:3]
        hint = f"; e.g. {', '.join(close)}" if close else ""
        raise UnknownFault(f"unknown mutant {name!r} for vendor {vendor} ({len(known)} known{hint})")
    mutant = known[name]
    profile, spec = _load(spec_dir)
    operation = next(op for op in operations_of(profile, spec) if op.role == mutant.operation)
    app.add_middleware(
        MutantMiddleware, mutant=mutant, operation=operation, mock=app, auth=profile.get("auth") or {}, options=options
    )
    app.state.mutant = mutant
    app.state.mutant_hits = 0
    return mutant
