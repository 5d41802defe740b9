"""The published contract of one vendor, read by the validating mock from the vendor's specs folder.

The folder holds ``openapi.yaml`` (paths, parameters, bodies, responses), ``vendor.yaml`` (server path,
documented auth, its observed aliases, the error schema) and ``client-requirements.yaml`` (which requirement
each kind of client mistake breaks). This module reads them itself: the mock shares no code with the suite.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from ._fastschema import SchemaCheck, compiled, registry_of

SPEC_URI = "urn:conformance:openapi"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
JsonObject = dict[str, Any]
MemberPath = tuple[str | int, ...]
ReadOnlyFinder = Callable[[Any], list[tuple[MemberPath, Any]]]


class ContractError(ValueError):
    """The specs folder is missing a file or holds one that cannot be used."""


@dataclass(frozen=True)
class ClientRule:
    """One row of client-requirements.yaml: the requirement a kind of client mistake breaks."""

    id: str
    level: str
    operation: str
    aspect: str
    args: Mapping[str, Any] = field(default_factory=dict)

    def applies_to(self, role: str | None) -> bool:
        """Whether the rule judges a request of this operation role (``any`` judges every request)."""
        return self.operation == "any" or self.operation == role


@dataclass(frozen=True)
class Alias:
    """An undocumented way of sending credentials that real servers accept (``auth.aliases``)."""

    header: str
    scheme: str
    evidence: str


@dataclass(frozen=True)
class AuthContract:
    """The documented credential header and scheme, and the observed alternatives."""

    header: str
    scheme: str
    aliases: tuple[Alias, ...] = ()
    undocumented_headers: tuple[tuple[str, str], ...] = ()

    @property
    def documented(self) -> str:
        """``Header: Scheme`` as documented."""
        return f"{self.header}: {self.scheme}"


@dataclass(frozen=True)
class ResponseContract:
    """One documented response: its media types and, for JSON, the body's validator."""

    media_types: tuple[str, ...]
    validator: SchemaCheck | None


@dataclass(frozen=True)
class OperationContract:
    """One documented operation, with everything needed to judge a request to it and the reply."""

    method: str
    template: str
    pattern: re.Pattern[str]
    operation_id: str
    role: str
    params: Mapping[str, SchemaCheck]
    body_required: bool
    body_media: tuple[str, ...]
    body_validator: SchemaCheck | None
    body_pointer: str | None
    responses: Mapping[str, ResponseContract]
    body_read_only: ReadOnlyFinder | None
    _by_status: dict[int, ResponseContract | None] = field(default_factory=dict, compare=False, repr=False)

    def path_params(self, raw_path: str) -> dict[str, str] | None:
        """The decoded path parameters when ``raw_path`` matches the template, else None."""
        match = self.pattern.fullmatch(raw_path)
        if match is None:
            return None
        return {name: unquote(value) for name, value in match.groupdict().items()}

    def response(self, status: int) -> ResponseContract | None:
        """The documented response for ``status`` (exact, then ``NXX``, then ``default``; looked up once per status)."""
        if status in self._by_status:
            return self._by_status[status]
        keys = (str(status), f"{status // 100}XX", "default")
        found = next((self.responses[key] for key in keys if key in self.responses), None)
        if len(self._by_status) < 1000:
            self._by_status[status] = found
        return found


@dataclass(frozen=True)
class Contract:
    """One vendor's contract as the validating mock uses it."""

    vendor: str
    server_path: str
    operations: tuple[OperationContract, ...]
    auth: AuthContract
    error_validator: SchemaCheck | None
    rules: tuple[ClientRule, ...]
    document: Mapping[str, Any]
    derived: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)
    """Values worked out from the contract on first use (the rules per aspect and role, compiled field rules)."""

    def match(self, method: str, raw_path: str) -> tuple[OperationContract | None, dict[str, str], list[str]]:
        """The operation for ``method`` and ``raw_path``, its path parameters, and the methods the path allows."""
        allowed: list[str] = []
        for operation in self.operations:
            params = operation.path_params(raw_path)
            if params is None:
                continue
            if operation.method == method.upper():
                return operation, params, [operation.method]
            allowed.append(operation.method)
        return None, {}, allowed

    def rules_for(self, aspect: str, role: str | None) -> tuple[ClientRule, ...]:
        """The rules of ``aspect`` that judge a request of ``role``."""
        key = ("rules", aspect, role)
        found: tuple[ClientRule, ...] | None = self.derived.get(key)
        if found is None:
            found = tuple(rule for rule in self.rules if rule.aspect == aspect and rule.applies_to(role))
            self.derived[key] = found
        return found

    def documented_operations(self) -> str:
        """Every documented ``METHOD path``, comma-separated."""
        return ", ".join(f"{op.method} {op.template}" for op in self.operations)


def _read(path: Path) -> Any:
    """Parse one YAML file, raising ContractError when it is missing or invalid."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ContractError(f"cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ContractError(f"{path} is not valid YAML: {str(exc).splitlines()[0]}") from None


def escape(token: str) -> str:
    """Escape one JSON-pointer token."""
    return token.replace("~", "~0").replace("/", "~1")


def pointer_of(parts: Iterator[Any] | list[Any] | tuple[Any, ...]) -> str:
    """The JSON pointer of a sequence of keys and indexes."""
    return "".join("/" + escape(str(part)) for part in parts)


def resolve(document: Mapping[str, Any], node: Any, pointer: str = "") -> tuple[Any, str]:
    """Follow local ``$ref`` chains; return the target and its pointer in the document."""
    seen: set[str] = set()
    while isinstance(node, Mapping) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#"):
        ref = node["$ref"][1:]
        if ref in seen:
            raise ContractError(f"circular $ref {ref}")
        seen.add(ref)
        target: Any = document
        for token in ref.split("/")[1:]:
            token = token.replace("~1", "/").replace("~0", "~")
            target = target[int(token)] if isinstance(target, list) else target[token]
        node, pointer = target, ref
    return node, pointer


def _to_2020(node: Any) -> Any:
    """Rewrite OpenAPI 3.0 schema keywords (``nullable``, boolean exclusive bounds) as JSON Schema 2020-12."""
    if isinstance(node, list):
        return [_to_2020(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _to_2020(value) for key, value in node.items()}
    if out.pop("nullable", False) is True:
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        if isinstance(out.get("enum"), list) and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    for bound, exclusive in (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")):
        if isinstance(out.get(exclusive), bool) and out.pop(exclusive) and bound in out:
            out[exclusive] = out.pop(bound)
    return out


def _anchor(node: Any) -> Any:
    """Point a schema's local ``$ref`` values into the OpenAPI document's resource."""
    if isinstance(node, list):
        return [_anchor(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _anchor(value) for key, value in node.items()}
    if isinstance(out.get("$ref"), str) and out["$ref"].startswith("#"):
        out["$ref"] = SPEC_URI + out["$ref"]
    return out


class _Schemas:
    """Builds validators for schemas in (or referring into) one OpenAPI document."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        """Register the document as a JSON Schema 2020-12 resource (for python-jsonschema and jsonschema_rs)."""
        self.document = document
        resource: Resource[Any] = DRAFT202012.create_resource(dict(document))
        self.registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
        self.compiled_registry = registry_of(SPEC_URI, document)

    def at(self, pointer: str) -> SchemaCheck:
        """The validators of the schema at ``pointer`` in the document."""
        # python-jsonschema percent-decodes a fragment before following it; jsonschema_rs wants a valid URI.
        encoded = quote(unquote(pointer), safe="/~")
        return SchemaCheck(
            Draft202012Validator({"$ref": f"{SPEC_URI}#{pointer}"}, registry=self.registry),
            compiled({"$ref": f"{SPEC_URI}#{encoded}"}, self.compiled_registry, self.document, SPEC_URI),
        )

    def inline(self, schema: Mapping[str, Any]) -> SchemaCheck:
        """The validators of a schema given outside the document (its ``#`` refs point into the document)."""
        anchored = _anchor(dict(schema))
        return SchemaCheck(
            Draft202012Validator(anchored, registry=self.registry),
            compiled(anchored, self.compiled_registry, self.document, SPEC_URI),
        )


def _media(content: Any) -> tuple[str, ...]:
    """The media types of a ``content`` map, lower-cased."""
    return tuple(str(key).lower() for key in content) if isinstance(content, Mapping) else ()


def _json_media(content: Mapping[str, Any]) -> str | None:
    """The first JSON media type of a ``content`` map."""
    for key in content:
        text = str(key).lower()
        if text == "application/json" or text.endswith("+json"):
            return str(key)
    return None


def _params(schemas: _Schemas, levels: tuple[tuple[str, Mapping[str, Any]], ...]) -> dict[str, SchemaCheck]:
    """Validators of the path parameters declared on the path item and then the operation (pointer, node)."""
    document = schemas.document
    out: dict[str, SchemaCheck] = {}
    for where, node in levels:
        for index, raw in enumerate(node.get("parameters") or []):
            param, pointer = resolve(document, raw, f"{where}/parameters/{index}")
            if isinstance(param, Mapping) and param.get("in") == "path" and "schema" in param:
                out[str(param["name"])] = schemas.at(pointer + "/schema")
    return out


def _template_pattern(template: str) -> re.Pattern[str]:
    """A regex for a path template whose ``{name}`` segments capture one raw (still encoded) segment."""
    parts = re.split(r"\{([^}/]+)\}", template)
    regex = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>[^/]+)" for i, part in enumerate(parts))
    return re.compile(regex)


def _responses(schemas: _Schemas, operation: Mapping[str, Any], base: str) -> dict[str, ResponseContract]:
    """The documented responses of one operation."""
    out: dict[str, ResponseContract] = {}
    for status, raw in (operation.get("responses") or {}).items():
        response, pointer = resolve(schemas.document, raw, f"{base}/responses/{escape(str(status))}")
        content = (response.get("content") or {}) if isinstance(response, Mapping) else {}
        media = _json_media(content)
        validator = None
        if media is not None and "schema" in content[media]:
            validator = schemas.at(f"{pointer}/content/{escape(media)}/schema")
        out[str(status).upper()] = ResponseContract(media_types=_media(content), validator=validator)
    return out


def _operations(schemas: _Schemas, server_path: str, roles: Mapping[tuple[str, str], str]) -> list[OperationContract]:
    """Every operation of the document."""
    out: list[OperationContract] = []
    for path, item in (schemas.document.get("paths") or {}).items():
        base = "/paths/" + escape(str(path))
        for method in METHODS:
            operation = item.get(method) if isinstance(item, Mapping) else None
            if not isinstance(operation, Mapping):
                continue
            op_base = f"{base}/{method}"
            body, body_pointer = resolve(schemas.document, operation.get("requestBody"), op_base + "/requestBody")
            content = (body.get("content") or {}) if isinstance(body, Mapping) else {}
            media = _json_media(content)
            schema_pointer = (
                f"{body_pointer}/content/{escape(media)}/schema" if media and "schema" in content[media] else None
            )
            template = server_path + str(path)
            out.append(
                OperationContract(
                    method=method.upper(),
                    template=template,
                    pattern=_template_pattern(template),
                    operation_id=str(operation.get("operationId") or f"{method.upper()} {path}"),
                    role=roles.get((method.upper(), str(path)), str(operation.get("operationId") or method)),
                    params=_params(schemas, ((base, item), (op_base, operation))),
                    body_required=bool(isinstance(body, Mapping) and body.get("required")),
                    body_media=_media(content),
                    body_validator=schemas.at(schema_pointer) if schema_pointer else None,
                    body_pointer=schema_pointer,
                    responses=_responses(schemas, operation, op_base),
                    body_read_only=read_only_finder(schemas.document, schema_pointer) if schema_pointer else None,
                )
            )
    return out


def _auth(profile: Mapping[str, Any]) -> AuthContract:
    """The auth section of vendor.yaml."""
    auth = profile.get("auth") or {}
    return AuthContract(
        header=str(auth.get("header", "Authorization")),
        scheme=str(auth.get("scheme", "Bearer")),
        aliases=tuple(
            Alias(header=str(row["header"]), scheme=str(row["scheme"]), evidence=str(row.get("evidence", "")))
            for row in auth.get("aliases") or []
        ),
        undocumented_headers=tuple(
            (str(row["header"]), str(row.get("evidence", ""))) for row in auth.get("undocumented_headers") or []
        ),
    )


def _rules(path: Path) -> tuple[ClientRule, ...]:
    """The client rules of client-requirements.yaml (none when the file is absent)."""
    if not path.is_file():
        return ()
    rows = (_read(path) or {}).get("requirements") or []
    out: list[ClientRule] = []
    for row in rows:
        args = dict(row.get("args") or {})
        if row.get("check") != "client_traffic" or "aspect" not in args:
            continue
        out.append(
            ClientRule(
                id=str(row["id"]),
                level=str(row["level"]),
                operation=str(row.get("operation", "any")),
                aspect=str(args.pop("aspect")),
                args=args,
            )
        )
    return tuple(out)


def load_contract(spec_dir: Path, vendor: str = "") -> Contract:
    """Read the contract of the vendor whose specs folder is ``spec_dir``."""
    profile = _read(spec_dir / "vendor.yaml")
    if not isinstance(profile, Mapping):
        raise ContractError(f"{spec_dir / 'vendor.yaml'} is not a vendor profile")
    document = _read(spec_dir / str(profile.get("openapi", "openapi.yaml")))
    if not isinstance(document, Mapping) or "paths" not in document:
        raise ContractError(f"{spec_dir} holds no OpenAPI document")
    if not str(document.get("openapi", "")).startswith("3.1"):
        document = _to_2020(dict(document))
    schemas = _Schemas(document)
    roles = {
        (str(row["method"]).upper(), str(row["path"])): str(role)
        for role, row in (profile.get("operations") or {}).items()
    }
    error_schema = (profile.get("error") or {}).get("schema")
    try:
        return Contract(
            vendor=vendor or spec_dir.name,
            server_path=str(profile.get("server_path", "")),
            operations=tuple(_operations(schemas, str(profile.get("server_path", "")), roles)),
            auth=_auth(profile),
            error_validator=schemas.inline(error_schema) if isinstance(error_schema, Mapping) else None,
            rules=_rules(spec_dir / "client-requirements.yaml"),
            document=document,
        )
    except (KeyError, TypeError, IndexError) as exc:
        raise ContractError(f"{spec_dir}: malformed contract data ({type(exc).__name__}: {exc})") from None


def _candidates(document: Mapping[str, Any], schema: Any, key: str) -> list[Any]:
    """The schemas a member ``key`` of an object validated by ``schema`` must satisfy (through allOf/anyOf/oneOf)."""
    schema, _ = resolve(document, schema)
    if not isinstance(schema, Mapping):
        return []
    out: list[Any] = []
    properties = schema.get("properties")
    if isinstance(properties, Mapping) and key in properties:
        out.append(properties[key])
    elif isinstance(schema.get("additionalProperties"), Mapping):
        out.append(schema["additionalProperties"])
    for keyword in ("allOf", "anyOf", "oneOf"):
        for member in schema.get(keyword) or []:
            out += _candidates(document, member, key)
    return out


def _items(document: Mapping[str, Any], schema: Any) -> list[Any]:
    """The schemas of an array's items (through allOf/anyOf/oneOf)."""
    schema, _ = resolve(document, schema)
    if not isinstance(schema, Mapping):
        return []
    out: list[Any] = [schema["items"]] if isinstance(schema.get("items"), Mapping) else []
    for keyword in ("allOf", "anyOf", "oneOf"):
        for member in schema.get(keyword) or []:
            out += _items(document, member)
    return out


def read_only_members(
    document: Mapping[str, Any], schema: Any, instance: Any, path: tuple[str | int, ...] = ()
) -> list[tuple[tuple[str | int, ...], Any]]:
    """Every member of ``instance`` whose schema is ``readOnly`` (a request must not send them), with its value."""
    found: list[tuple[tuple[str | int, ...], Any]] = []
    if isinstance(instance, dict):
        for key, value in instance.items():
            candidates = _candidates(document, schema, str(key))
            if any(resolve(document, c)[0].get("readOnly") is True for c in candidates if _is_map(document, c)):
                found.append(((*path, key), value))
                continue
            for candidate in candidates:
                found += read_only_members(document, candidate, value, (*path, key))
    elif isinstance(instance, list):
        for candidate in _items(document, schema):
            for index, value in enumerate(instance):
                found += read_only_members(document, candidate, value, (*path, index))
    return _unique(found)


def _is_map(document: Mapping[str, Any], schema: Any) -> bool:
    """Whether ``schema`` resolves to a schema object."""
    return isinstance(resolve(document, schema)[0], Mapping)


def _unique(found: list[tuple[tuple[str | int, ...], Any]]) -> list[tuple[tuple[str | int, ...], Any]]:
    """Drop repeated paths (a member reached through several allOf branches)."""
    seen: set[tuple[str | int, ...]] = set()
    out: list[tuple[tuple[str | int, ...], Any]] = []
    for path, value in found:
        if path not in seen:
            seen.add(path)
            out.append((path, value))
    return out


ReadOnlyEntry = tuple[bool, tuple["_ReadOnlyNode", ...]]


class _ReadOnlyNode:
    """What ``read_only_members`` finds under one schema: per member name, read-only or the schemas to descend."""

    __slots__ = ("by_name", "hot", "items", "other")

    def __init__(self) -> None:
        """An empty node, filled in by ``_ReadOnlyCompiler``."""
        self.by_name: dict[str, ReadOnlyEntry] = {}
        self.other: ReadOnlyEntry = (False, ())
        self.items: tuple[_ReadOnlyNode, ...] = ()
        self.hot = False

    def entries(self) -> Iterator[ReadOnlyEntry]:
        """Every member entry (named ones, then the one for any other name)."""
        yield from self.by_name.values()
        yield self.other

    def walk(self, instance: Any, path: MemberPath, found: list[tuple[MemberPath, Any]]) -> None:
        """Append the read-only members of ``instance`` (at ``path``), in ``read_only_members`` order."""
        if isinstance(instance, dict):
            by_name, other = self.by_name, self.other
            for key, value in instance.items():
                read_only, children = by_name.get(str(key), other)
                if read_only:
                    found.append(((*path, key), value))
                    continue
                for child in children:
                    if child.hot:
                        child.walk(value, (*path, key), found)
        elif isinstance(instance, list):
            for child in self.items:
                if child.hot:
                    for index, value in enumerate(instance):
                        child.walk(value, (*path, index), found)


class _ReadOnlyCompiler:
    """Works out, once, the ``read_only_members`` walk of every schema reachable from one root."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        """Compile schemas of ``document``; nodes are shared by schema identity (so recursive schemas end)."""
        self.document = document
        self.nodes: dict[int, tuple[Any, _ReadOnlyNode]] = {}

    def node(self, schema: Any) -> _ReadOnlyNode:
        """The node of ``schema`` (resolved through local ``$ref`` chains)."""
        target, _ = resolve(self.document, schema)
        known = self.nodes.get(id(target))
        if known is not None:
            return known[1]
        node = _ReadOnlyNode()
        self.nodes[id(target)] = (target, node)
        names = _member_names(self.document, target, set())
        for name in sorted(names):
            node.by_name[name] = self.entry(target, name)
        node.other = self.entry(target, "\x00" * (1 + max(map(len, names), default=0)))
        node.items = tuple(self.node(candidate) for candidate in _items(self.document, target))
        return node

    def entry(self, schema: Any, name: str) -> ReadOnlyEntry:
        """Whether member ``name`` of an object validated by ``schema`` is read-only, else the schemas to descend."""
        document = self.document
        candidates = _candidates(document, schema, name)
        if any(resolve(document, c)[0].get("readOnly") is True for c in candidates if _is_map(document, c)):
            return True, ()
        return False, tuple(self.node(candidate) for candidate in candidates)

    def heat(self) -> None:
        """Mark the nodes under which a read-only member can be found (the walk skips the others)."""
        nodes = [node for _, node in self.nodes.values()]
        for node in nodes:
            node.hot = any(read_only for read_only, _ in node.entries())
        changed = True
        while changed:
            changed = False
            for node in nodes:
                if node.hot:
                    continue
                below = [child for _, children in node.entries() for child in children] + list(node.items)
                if any(child.hot for child in below):
                    node.hot = changed = True


def _member_names(document: Mapping[str, Any], schema: Any, seen: set[int]) -> set[str]:
    """The member names ``properties`` lists in ``schema`` and its allOf/anyOf/oneOf members."""
    schema, _ = resolve(document, schema)
    if not isinstance(schema, Mapping) or id(schema) in seen:
        return set()
    seen.add(id(schema))
    properties = schema.get("properties")
    out = {name for name in properties if isinstance(name, str)} if isinstance(properties, Mapping) else set()
    for keyword in ("allOf", "anyOf", "oneOf"):
        for member in schema.get(keyword) or []:
            out |= _member_names(document, member, seen)
    return out


def read_only_finder(document: Mapping[str, Any], pointer: str) -> ReadOnlyFinder:
    """``read_only_members`` of the schema at ``pointer``, with the schema walked once, here, not per instance."""
    schema = {"$ref": "#" + pointer}
    try:
        compiler = _ReadOnlyCompiler(document)
        root = compiler.node(schema)
        compiler.heat()
    except (ContractError, LookupError, TypeError, ValueError, AttributeError, RecursionError):

        def walk_each_time(instance: Any) -> list[tuple[MemberPath, Any]]:
            """A schema the compiler cannot follow: walk it per instance, as ``read_only_members`` does."""
            return read_only_members(document, schema, instance)

        return walk_each_time

    def find(instance: Any) -> list[tuple[MemberPath, Any]]:
        """The read-only members of ``instance`` with their values."""
        if not root.hot or not isinstance(instance, dict | list):
            return []
        found: list[tuple[MemberPath, Any]] = []
        root.walk(instance, (), found)
        return _unique(found) if len(found) > 1 else found

    return find
