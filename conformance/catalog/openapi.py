"""JSON Schema validation of bodies against an OpenAPI document, in the dialect the document uses.

OpenAPI 3.0 schemas are validated as Draft 4 after ``nullable: true`` is turned into a ``null`` type;
OpenAPI 3.1 schemas are Draft 2020-12 as published. Validators are compiled once per schema.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4, DRAFT202012

SPEC_URI = "urn:conformance:spec"


@dataclass(frozen=True)
class SchemaViolation:
    """One way a body breaks its schema."""

    path: str
    keyword: str
    message: str
    value: Any

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def json_path(parts: Any) -> str:
    """``$.a.b[0]`` from a jsonschema error path."""
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _nullable_to_type(node: Any) -> Any:
    if isinstance(node, dict):
        node = {k: _nullable_to_type(v) for k, v in node.items()}
        if node.pop("nullable", False) is True:
            kind = node.get("type")
            if isinstance(kind, str):
                node["type"] = [kind, "null"]
            if "enum" in node and None not in node["enum"]:
                node["enum"] = [*node["enum"], None]
            if "type" not in node and ("$ref" in node or "allOf" in node):
                node = {"anyOf": [{"type": "null"}, node]}
        return node
    if isinstance(node, list):
        return [_nullable_to_type(v) for v in node]
    return node


class SpecSchemas:
    """Compiled validators for the schemas of one OpenAPI document."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        self.spec = spec
        self.dialect = "3.1" if str(spec.get("openapi", "")).startswith("3.1") else "3.0"
        document = copy.deepcopy(dict(spec))
        if self.dialect == "3.0":
            document = _nullable_to_type(document)
            specification = DRAFT4
            self._validator_class: Any = jsonschema.Draft4Validator
        else:
            specification = DRAFT202012
            self._validator_class = jsonschema.Draft202012Validator
        resource = Resource.from_contents(document, default_specification=specification)
        self._registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
        self.document = document

    def resolve(self, node: Mapping[str, Any]) -> dict[str, Any]:
        """Follow ``$ref`` chains inside the document."""
        seen = 0
        current: Mapping[str, Any] = node
        while "$ref" in current and seen < 32:
            pointer = str(current["$ref"]).split("#", 1)[1]
            target: Any = self.document
            for part in pointer.strip("/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            current = target
            seen += 1
        return dict(current)

    def operation(self, method: str, path: str) -> dict[str, Any]:
        """The operation object of ``METHOD path``."""
        return dict(self.document["paths"][path][method.lower()])

    def response_schema(self, method: str, path: str, status: int) -> dict[str, Any] | None:
        """The JSON schema of the documented response for ``status``, or ``None`` when undocumented."""
        responses = self.operation(method, path).get("responses", {})
        entry = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX") or None
        if entry is None:
            return None
        entry = self.resolve(entry)
        content = entry.get("content", {})
        media = content.get("application/json") or next(iter(content.values()), None)
        if not media or "schema" not in media:
            return None
        return dict(media["schema"])

    def documented_statuses(self, method: str, path: str) -> tuple[str, ...]:
        """The status codes (as strings) the operation documents."""
        return tuple(str(code) for code in self.operation(method, path).get("responses", {}))

    def request_schema(self, method: str, path: str) -> dict[str, Any] | None:
        """The JSON schema of the operation's JSON request body, if any."""
        body = self.operation(method, path).get("requestBody")
        if not body:
            return None
        media = self.resolve(body).get("content", {}).get("application/json")
        return dict(media["schema"]) if media and "schema" in media else None

    def _absolute(self, schema: Mapping[str, Any]) -> dict[str, Any]:
        def fix(node: Any) -> Any:
            if isinstance(node, dict):
                return {
                    k: (SPEC_URI + v if k == "$ref" and isinstance(v, str) and v.startswith("#") else fix(v))
                    for k, v in node.items()
                }
            if isinstance(node, list):
                return [fix(v) for v in node]
            return node

        fixed: dict[str, Any] = fix(_nullable_to_type(dict(schema)) if self.dialect == "3.0" else dict(schema))
        return fixed

    @functools.lru_cache(maxsize=256)  # noqa: B019 - one SpecSchemas per vendor, kept for the process
    def _compiled(self, key: str) -> Any:
        import json

        return self._validator_class(json.loads(key), registry=self._registry)

    def validator(self, schema: Mapping[str, Any]) -> Any:
        """A compiled validator for ``schema`` (a fragment of this document)."""
        import json

        return self._compiled(json.dumps(self._absolute(schema), sort_keys=True))

    def violations(self, schema: Mapping[str, Any], instance: Any) -> list[SchemaViolation]:
        """Every violation of ``schema`` by ``instance``, most relevant first."""
        errors = sorted(self.validator(schema).iter_errors(instance), key=jsonschema.exceptions.relevance)
        return [_violation(e) for e in _leaves(errors)]


def _leaves(errors: list[ValidationError]) -> Iterator[ValidationError]:
    for error in errors:
        if error.context:
            yield from _leaves(sorted(error.context, key=jsonschema.exceptions.relevance))
        else:
            yield error


def _violation(error: ValidationError) -> SchemaViolation:
    value = error.instance
    shown = value if not isinstance(value, (dict, list)) or len(str(value)) < 200 else f"{str(value)[:200]}…"
    return SchemaViolation(
        path=json_path(error.absolute_path), keyword=str(error.validator), message=error.message, value=shown
    )


_CACHE: dict[int, SpecSchemas] = {}


def spec_schemas(spec: Mapping[str, Any]) -> SpecSchemas:
    """The compiled schemas of a loaded document, built once per process."""
    key = id(spec)
    if key not in _CACHE:
        _CACHE[key] = SpecSchemas(spec)
    return _CACHE[key]
