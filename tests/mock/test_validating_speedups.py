"""The validating mock's fast paths judge exactly as the reference code: compiled schemas, read-only plans, records."""

from __future__ import annotations

import functools
import gc
import json
import threading
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.catalog.loader import vendor_names
from conformance.mock import MockOptions, create_app
from conformance.mock._contract import (
    SPEC_URI,
    ReadOnlyFinder,
    _Schemas,
    _to_2020,
    load_contract,
    read_only_finder,
    read_only_members,
    resolve,
)
from conformance.mock._fastschema import SchemaCheck
from conformance.mock._records import Traffic, record_of

SPECS = Path(__file__).resolve().parents[2] / "specs"
VENDORS = vendor_names()
TOKEN = "speedups-token-0123"
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _checks() -> Iterator[tuple[str, SchemaCheck]]:
    """Every schema check the three vendors' contracts build, named."""
    for vendor in VENDORS:
        contract = load_contract(SPECS / vendor, vendor)
        for op in contract.operations:
            where = f"{vendor}:{op.method} {op.template}"
            for name, check in op.params.items():
                yield f"{where} param {name}", check
            if op.body_validator is not None:
                yield f"{where} body", op.body_validator
            for status, response in op.responses.items():
                if response.validator is not None:
                    yield f"{where} {status}", response.validator
        if contract.error_validator is not None:
            yield f"{vendor}:error", contract.error_validator


CHECKS = dict(_checks())

# ------------------------------------------------------------------ strategies

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
JSON = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


def _merge(parts: tuple[Any, ...]) -> Any:
    """allOf members' values merged (objects), or the first one."""
    if parts and all(isinstance(part, dict) for part in parts):
        out: dict[str, Any] = {}
        for part in parts:
            out.update(part)
        return out
    return parts[0] if parts else None


def from_schema(document: Mapping[str, Any], schema: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    """Mostly valid values of a (simple) schema: enough to walk every branch of the vendors' schemas."""
    schema, _ = resolve(document, schema)
    if not isinstance(schema, Mapping) or depth > 6:
        return JSON
    if "enum" in schema:
        return st.sampled_from(list(schema["enum"]))
    if "const" in schema:
        return st.just(schema["const"])
    options: list[st.SearchStrategy[Any]] = []
    for keyword in ("anyOf", "oneOf"):
        options += [from_schema(document, member, depth + 1) for member in schema.get(keyword) or []]
    if schema.get("allOf"):
        members = [from_schema(document, member, depth + 1) for member in schema["allOf"]]
        own = {key: value for key, value in schema.items() if key != "allOf"}
        options.append(st.tuples(*members, from_schema(document, own, depth + 1)).map(_merge))
    types = schema.get("type")
    kinds = [types] if isinstance(types, str) else list(types or [])
    if not kinds and not options:
        kinds = ["object"] if "properties" in schema else []
    for kind in kinds:
        options.append(_of_type(document, schema, kind, depth))
    return st.one_of(options) if options else JSON


def _of_type(document: Mapping[str, Any], schema: Mapping[str, Any], kind: str, depth: int) -> st.SearchStrategy[Any]:
    """Values of one JSON type shaped by the schema's keywords."""
    if kind == "object":
        properties = schema.get("properties") or {}
        required = [name for name in schema.get("required") or [] if name in properties]
        fixed = {name: from_schema(document, properties[name], depth + 1) for name in required}
        optional = {
            name: from_schema(document, value, depth + 1) for name, value in properties.items() if name not in fixed
        }
        extra = schema.get("additionalProperties")
        more = from_schema(document, extra, depth + 1) if isinstance(extra, Mapping) else JSON
        base = st.fixed_dictionaries(fixed, optional=optional)
        return st.tuples(base, st.dictionaries(st.text(max_size=6), more, max_size=2)).map(
            lambda pair: {**pair[1], **pair[0]}
        )
    if kind == "array":
        items = schema.get("items")
        return st.lists(from_schema(document, items, depth + 1) if isinstance(items, Mapping) else JSON, max_size=3)
    simple: dict[str, st.SearchStrategy[Any]] = {
        "string": st.text(max_size=12),
        "integer": st.integers() | st.integers(min_value=-(2**70), max_value=2**70),
        "number": st.integers() | st.floats(allow_nan=False, allow_infinity=False),
        "boolean": st.booleans(),
        "null": st.none(),
    }
    return simple.get(kind, JSON)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every member path of a JSON value (the value itself included)."""
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += _paths(item, (*prefix, index))
    return out


def _replaced(value: Any, path: tuple[Any, ...], new: Any, delete: bool) -> Any:
    """A copy of ``value`` with the member at ``path`` replaced (or deleted from its object)."""
    if not path:
        return new
    copy = json.loads(json.dumps(value))
    node = copy
    for part in path[:-1]:
        node = node[part]
    if delete and isinstance(node, dict):
        del node[path[-1]]
    else:
        node[path[-1]] = new
    return copy


def _mutants(value: Any) -> st.SearchStrategy[Any]:
    """``value`` with one member replaced by any JSON value, or deleted."""
    return st.tuples(st.sampled_from(_paths(value)), JSON, st.booleans()).map(
        lambda change: _replaced(value, change[0], change[1], change[2])
    )


def documents(document: Mapping[str, Any], schema: Any) -> st.SearchStrategy[Any]:
    """Valid-ish values of a schema, their mutants, and arbitrary JSON."""
    valid = from_schema(document, schema)
    return valid | valid.flatmap(_mutants) | JSON


def _schema_of(check: SchemaCheck) -> Any:
    """The schema a check judges (the python-jsonschema validator's)."""
    return check.slow.schema


@functools.cache
def _document(vendor: str) -> Mapping[str, Any]:
    """The (2020-12) OpenAPI document of a vendor, as its contract holds it."""
    return load_contract(SPECS / vendor, vendor).document


def _document_of(name: str) -> Mapping[str, Any]:
    """The document of the vendor a check name starts with."""
    return _document(name.split(":", 1)[0])


@functools.cache
def _finder(vendor: str, pointer: str) -> ReadOnlyFinder:
    """The read-only plan of one schema of a vendor's document."""
    return read_only_finder(_document(vendor), pointer)


def _local(schema: Any) -> Any:
    """A check's schema with its refs made local again (``urn:…#/x`` to ``#/x``), for the test's generator."""
    if isinstance(schema, list):
        return [_local(item) for item in schema]
    if isinstance(schema, dict):
        out = {key: _local(value) for key, value in schema.items()}
        if isinstance(out.get("$ref"), str) and out["$ref"].startswith(SPEC_URI):
            out["$ref"] = out["$ref"][len(SPEC_URI) :]
        return out
    return schema


# ------------------------------------------------------------------ compiled schemas agree with python-jsonschema


def test_every_vendor_schema_is_compiled() -> None:
    assert len(CHECKS) >= 14
    assert all(check.fast is not None for check in CHECKS.values()), [n for n, c in CHECKS.items() if c.fast is None]


@pytest.mark.parametrize("name", sorted(CHECKS))
@PROPERTY
@given(data=st.data())
def test_compiled_verdict_equals_python_jsonschema(name: str, data: st.DataObject) -> None:
    check = CHECKS[name]
    instance = data.draw(documents(_document_of(name), _local(_schema_of(check))))
    assert check.fast is not None
    expected = check.slow.is_valid(instance)
    assert check.fast.is_valid(instance) == expected
    assert check.is_valid(instance) == expected
    assert [e.message for e in check.iter_errors(instance)] == [e.message for e in check.slow.iter_errors(instance)]


@pytest.mark.parametrize(
    "instance",
    [
        float("inf"),
        {"created": float("inf"), "id": "x", "object": "model", "owned_by": "o"},
        {"created": 1, "id": "\ud800", "object": "model", "owned_by": "o"},
        {"created": 1, "id": "x", "object": "model", "owned_by": "o", "pricing": {"cost_per_image": float("-inf")}},
        "\udfff",
        10**40,
    ],
)
def test_what_the_compiled_validator_cannot_judge_goes_to_python_jsonschema(instance: Any) -> None:
    for check in CHECKS.values():
        assert check.is_valid(instance) == check.slow.is_valid(instance)
        assert [e.message for e in check.iter_errors(instance)] == [e.message for e in check.slow.iter_errors(instance)]


SYNTHETIC_30 = {
    "openapi": "3.0.3",
    "paths": {},
    "components": {
        "schemas": {
            "Thing": {
                "type": "object",
                "required": ["id"],
                "additionalProperties": False,
                "properties": {
                    "id": {"type": "string", "minLength": 2, "maxLength": 8},
                    "email": {"type": "string", "format": "email", "nullable": True},
                    "when": {"type": "string", "format": "date-time"},
                    "blob": {"type": "string", "contentEncoding": "base64", "contentMediaType": "application/json"},
                    "size": {"type": "integer", "minimum": 0, "exclusiveMinimum": True, "maximum": 10**20},
                    "ratio": {"type": "number", "maximum": 1, "exclusiveMaximum": True, "nullable": True},
                    "kind": {"type": "string", "enum": ["a", "b"], "nullable": True},
                    "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True, "maxItems": 3},
                    "child": {"$ref": "#/components/schemas/Thing"},
                    "either": {"oneOf": [{"type": "integer"}, {"type": "string", "maxLength": 2}]},
                    "both": {"allOf": [{"type": "object", "required": ["x"]}, {"minProperties": 2}]},
                    "not": {"not": {"type": "boolean"}},
                    "map": {"type": "object", "additionalProperties": {"type": "integer"}},
                    "big": {"enum": [2**70, 0.5, True, None, {"a": [1]}]},
                },
            }
        }
    },
}
THING = {"$ref": "#/components/schemas/Thing"}
AWKWARD = st.sampled_from(
    [
        {"id": "ab", "email": "not-an-email", "when": "yesterday", "blob": "not base64!"},
        {"id": "ab", "size": 0},
        {"id": "ab", "size": 10**20 + 1},
        {"id": "ab", "ratio": 1},
        {"id": "ab", "ratio": 1.0},
        {"id": "ab", "email": None, "kind": None, "ratio": None},
        {"id": "ab", "tags": ["x", "x"]},
        {"id": "ab", "big": 2**70},
        {"id": "ab", "big": float(2**70)},
        {"id": "ab", "big": 1},
        {"id": "ab", "big": {"a": [1.0]}},
    ]
)


@PROPERTY
@given(data=st.data())
def test_openapi_30_keywords_and_formats_judge_as_python_jsonschema(data: st.DataObject) -> None:
    document = _to_2020(SYNTHETIC_30)
    check = _Schemas(document).at("/components/schemas/Thing")
    assert check.fast is not None
    instance = data.draw(AWKWARD | AWKWARD.flatmap(_mutants) | documents(document, THING))
    # The compiled validator may reject what python-jsonschema accepts (a float equal to a big integer of an enum:
    # python-jsonschema then judges), never accept what it rejects.
    if check.fast.is_valid(instance):
        assert check.slow.is_valid(instance)
    assert check.is_valid(instance) == check.slow.is_valid(instance)


def test_formats_are_not_asserted_by_either_validator() -> None:
    check = _Schemas(_to_2020(SYNTHETIC_30)).at("/components/schemas/Thing")
    instance = {"id": "ab", "email": "not-an-email", "when": "yesterday", "blob": "not base64!"}
    assert check.slow.is_valid(instance) and check.fast is not None and check.fast.is_valid(instance)
    assert not check.is_valid({"id": "ab", "size": 0}) and not check.is_valid({"id": "ab", "ratio": 1})
    assert check.is_valid({"id": "ab", "email": None, "kind": None, "ratio": None})


SENSITIVE = {
    "paths": {},
    "components": {
        "schemas": {
            "Anchored": {"type": "string", "pattern": "^a$"},
            "Negated": {"not": {"$ref": "#/components/schemas/Anchored"}},
            "Spaces": {"type": "string", "pattern": "^\\S+$"},
            "Keys": {"patternProperties": {"^x$": {"type": "integer"}}},
            "Names": {"propertyNames": {"pattern": "^[a-z]+$"}},
            "Tenth": {"multipleOf": 0.1},
            "Nested": {"properties": {"deep": {"items": {"$ref": "#/components/schemas/Tenth"}}}},
            "Identified": {"$id": "https://example.invalid/x", "type": "string"},
            "NamedPattern": {"properties": {"pattern": {"type": "string"}}},
            "Plain": {"properties": {"n": {"type": "integer", "maximum": 3}}},
        }
    },
}
DIVERGENT = [
    ("Anchored", "a\n"),
    ("Negated", "a\n"),
    ("Spaces", "a\x1c"),
    ("Keys", {"x\n": "s"}),
    ("Names", {"ab\n": 1}),
    ("Tenth", 0.3),
    ("Nested", {"deep": [0.3]}),
]


@pytest.mark.parametrize(("name", "instance"), DIVERGENT)
def test_keywords_the_engines_judge_differently_are_left_to_python_jsonschema(name: str, instance: Any) -> None:
    check = _Schemas(SENSITIVE).at(f"/components/schemas/{name}")
    assert check.fast is None
    assert check.is_valid(instance) == check.slow.is_valid(instance)
    assert [e.message for e in check.iter_errors(instance)] == [e.message for e in check.slow.iter_errors(instance)]


def test_engine_neutral_is_conservative() -> None:
    schemas = _Schemas(SENSITIVE)
    assert schemas.at("/components/schemas/Plain").fast is not None
    assert schemas.at("/components/schemas/Identified").fast is None
    assert schemas.at("/components/schemas/NamedPattern").fast is None
    assert schemas.inline({"$ref": "#/components/schemas/Negated"}).fast is None
    assert schemas.inline({"$ref": "#/components/schemas/Plain"}).fast is not None


def test_awkward_path_pointers_resolve_to_the_same_schema() -> None:
    document = {
        "paths": {
            "/models/{modelName}": {"s": {"type": "string"}},
            "/q r%20s": {"s": {"type": "string"}},
            "/q r s": {"s": {"type": "integer"}},
            '/a"b<c>|^`': {"s": {"type": "boolean"}},
        }
    }
    schemas = _Schemas(document)
    for key in document["paths"]:
        pointer = "/paths/" + key.replace("~", "~0").replace("/", "~1") + "/s"
        check = schemas.at(pointer)
        assert check.fast is not None, key
        for instance in ("x", 1, True):
            assert check.fast.is_valid(instance) == check.slow.is_valid(instance), (key, instance)


class _Counting(BaseHTTPRequestHandler):
    """Answers every GET with a permissive schema and counts the requests."""

    hits: list[str] = []  # noqa: RUF012

    def do_GET(self) -> None:
        """Serve ``{}`` (any instance is valid)."""
        self.hits.append(self.path)
        body = b"{}"
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet."""


def test_no_schema_is_ever_fetched() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Counting)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        remote = f"http://127.0.0.1:{server.server_address[1]}/schema.json"
        document = {"components": {"schemas": {"R": {"$ref": remote}, "S": {"type": "string"}}}}
        schemas = _Schemas(document)
        remote_check = schemas.at("/components/schemas/R")
        inline_check = schemas.inline({"$ref": remote})
        local_check = schemas.at("/components/schemas/S")
        assert remote_check.fast is None and inline_check.fast is None and local_check.fast is not None
        assert local_check.is_valid("x") and not local_check.is_valid(1)
        for check in (remote_check, inline_check):
            with pytest.raises(Exception, match=r"Unresolvable|schema\.json"):
                check.is_valid(1)
        assert _Counting.hits == []
    finally:
        server.shutdown()
        server.server_close()


# ------------------------------------------------------------------ read-only members


def _pointers(vendor: str) -> list[str]:
    """The body and response schema pointers of a vendor's document."""
    contract = load_contract(SPECS / vendor, vendor)
    out: list[str] = []
    for path, item in contract.document["paths"].items():
        for method, op in item.items():
            if not isinstance(op, dict):
                continue
            base = f"/paths/{path.replace('~', '~0').replace('/', '~1')}/{method}"
            if "requestBody" in op:
                out.append(f"{base}/requestBody/content/application~1json/schema")
            for status, response in (op.get("responses") or {}).items():
                if "content" in response:
                    out.append(f"{base}/responses/{status}/content/application~1json/schema")
    return out


def _distinct(vendor: str) -> list[str]:
    """The vendor's body and response schema pointers, the first one of each schema they resolve to."""
    document = load_contract(SPECS / vendor, vendor).document
    by_target: dict[int, str] = {}
    for pointer in _pointers(vendor):
        by_target.setdefault(id(resolve(document, {"$ref": "#" + pointer})[0]), pointer)
    return list(by_target.values())


READ_ONLY_CASES = [(vendor, pointer) for vendor in VENDORS for pointer in _distinct(vendor)]

SYNTHETIC_READ_ONLY: dict[str, Any] = {
    "components": {
        "schemas": {
            "Root": {
                "allOf": [{"$ref": "#/components/schemas/Stamped"}, {"$ref": "#/components/schemas/Stamped"}],
                "anyOf": [{"properties": {"a": {"readOnly": True}}}, {"properties": {"b": {"type": "string"}}}],
                "oneOf": [{"properties": {"a": {"type": "integer"}}}],
                "properties": {
                    "node": {"$ref": "#/components/schemas/Node"},
                    "list": {"type": "array", "items": {"$ref": "#/components/schemas/Stamped"}},
                    "free": True,
                    "ro": {"$ref": "#/components/schemas/ReadOnly"},
                    "deep": {"items": {"items": {"properties": {"x": {"readOnly": True}}}}},
                    "map": {"additionalProperties": {"$ref": "#/components/schemas/Stamped"}},
                    "rokeys": {"additionalProperties": {"readOnly": True}},
                    "notread": {"readOnly": False, "properties": {"id": {"readOnly": "yes"}}},
                },
            },
            "Stamped": {"properties": {"id": {"readOnly": True}, "name": {"type": "string"}}},
            "Node": {
                "properties": {
                    "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
                    "next": {"$ref": "#/components/schemas/Node"},
                    "stamp": {"readOnly": True},
                }
            },
            "ReadOnly": {"type": "string", "readOnly": True},
            "Loop": {"properties": {"a": {"$ref": "#/components/schemas/LoopA"}}},
            "LoopA": {"$ref": "#/components/schemas/LoopB"},
            "LoopB": {"$ref": "#/components/schemas/LoopA"},
        }
    }
}
NAMES = st.sampled_from(
    [
        *("a", "b", "id", "name", "node", "children", "next", "stamp", "list", "free", "ro", "deep", "x", "map"),
        *("rokeys", "notread", "metadata", "spec", "status", "events", "createdAt", "plan", "labels", "flavors"),
        *("runtime", "deployments", "pricing", "developer", "deleted"),
    ]
) | st.text(max_size=4)
KEYED = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(NAMES, children, max_size=5),
    max_leaves=24,
)


@pytest.mark.parametrize(("vendor", "pointer"), READ_ONLY_CASES)
@PROPERTY
@given(data=st.data())
def test_read_only_finder_equals_read_only_members(vendor: str, pointer: str, data: st.DataObject) -> None:
    document = _document(vendor)
    schema = {"$ref": "#" + pointer}
    instance = data.draw(documents(document, schema) | KEYED)
    assert _finder(vendor, pointer)(instance) == read_only_members(document, schema, instance)


@PROPERTY
@given(instance=KEYED | st.dictionaries(NAMES, KEYED, max_size=6))
def test_read_only_finder_follows_composition_recursion_and_maps(instance: Any) -> None:
    document = SYNTHETIC_READ_ONLY
    schema = {"$ref": "#/components/schemas/Root"}
    assert read_only_finder(document, "/components/schemas/Root")(instance) == read_only_members(
        document, schema, instance
    )


def test_read_only_finder_finds_nested_members_in_order() -> None:
    body = {
        "a": 1,
        "id": 2,
        "node": {"next": {"children": [{"stamp": 3}, {}, {"stamp": 4}]}},
        "list": [{"id": 5}, {"name": "n"}],
        "ro": "x",
        "deep": [[{"x": 6}]],
        "map": {"k": {"id": 7}},
        "rokeys": {"z": 8},
        "notread": {"id": 9},
    }
    found = read_only_finder(SYNTHETIC_READ_ONLY, "/components/schemas/Root")(body)
    assert found == read_only_members(SYNTHETIC_READ_ONLY, {"$ref": "#/components/schemas/Root"}, body)
    assert [path for path, _ in found] == [
        ("a",),
        ("id",),
        ("node", "next", "children", 0, "stamp"),
        ("node", "next", "children", 2, "stamp"),
        ("list", 0, "id"),
        ("ro",),
        ("deep", 0, 0, "x"),
        ("map", "k", "id"),
        ("rokeys", "z"),
    ]


def test_a_schema_the_plan_cannot_follow_is_walked_per_body_as_before() -> None:
    find = read_only_finder(SYNTHETIC_READ_ONLY, "/components/schemas/Loop")
    assert find({"b": 1}) == []
    with pytest.raises(Exception, match="circular"):
        find({"a": 1})
    with pytest.raises(Exception, match="circular"):
        read_only_members(SYNTHETIC_READ_ONLY, {"$ref": "#/components/schemas/Loop"}, {"a": 1})


# ------------------------------------------------------------------ records


def _client(vendor: str, record: Path | None = None, *faults: str) -> Any:
    """A test client of a validating mock."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    options = MockOptions(
        token=TOKEN,
        validate=True,
        spec_dir=SPECS / vendor,
        record_path=record,
        seed_ids=("m1", "m2"),
        faults=frozenset(faults),
    )
    return TestClient(create_app(vendor, options))


def _exchanges(c: Any) -> None:
    """A few exchanges with violations, notes, aliases, secrets and a faulty reply."""
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    c.post("/v0/models", json={"metadata": {"name": "ok-1", "labels": {"leak": TOKEN}}, "spec": {}}, headers=bearer)
    c.post("/v0/models?x=" + TOKEN, json={"metadata": {"name": "Bad", "plan": "p"}, "spec": 1}, headers=bearer)
    c.post("/v0/models", json={"metadata": {"name": "n", "displayName": "d" * 70 + TOKEN}}, headers=bearer)
    c.post("/v0/models", content=b'{"metadata": {"name": "\\ud800"}}', headers=bearer)
    c.delete("/v0/models/m1", headers={"X-Blaxel-Authorization": f"Bearer {TOKEN}", "X-Blaxel-Workspace": "w"})
    c.delete("/v0/models/m2", headers={"Authorization": "Bearer other-secret-token"})
    c.get("/v0/nothing/here", headers=bearer)


def test_traffic_reads_back_the_records_written_to_the_file(tmp_path: Path) -> None:
    path = tmp_path / "traffic.jsonl"
    c = _client("blaxel", path, "delete-status-outside-enum")
    _exchanges(c)
    traffic: Traffic = c.app.state.traffic
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    records = list(traffic)
    assert len(records) == len(traffic) == len(lines) == 7
    assert records == lines
    assert traffic[-1] == records[-1] and traffic[1:3] == records[1:3]
    assert [r["seq"] for r in records] == [1, 2, 3, 4, 5, 6, 7]
    assert TOKEN not in json.dumps(records) and "other-secret-token" not in json.dumps(records)
    assert records[1]["query"] == "x=[REDACTED]"
    assert any("[REDACTED]" in str(v["value"]) for v in records[2]["violations"])
    assert {"BLX-CLIENT-NAME-CHARSET", "BLX-CLIENT-READONLY-NOT-SENT"} <= {
        v["requirement"] for v in records[1]["violations"]
    }
    assert records[4]["auth"] == {"kind": "alias", "header": "X-Blaxel-Authorization", "scheme": "Bearer"}
    assert records[4]["reply_violations"] and records[4]["faults"] == ["delete-status-outside-enum"]
    assert records[5]["notes"] and records[5]["request"]["headers"]["authorization"] == "Bearer [REDACTED]"
    assert records[6]["operation"] is None and records[6]["violations"][0]["aspect"] == "path"
    assert list(records[0]) == [
        "seq",
        "time",
        "vendor",
        "method",
        "path",
        "query",
        "operation",
        "role",
        "template",
        "auth",
        "request",
        "response",
        "answered_by",
        "violations",
        "reply_violations",
        "notes",
        "faults",
        "strict",
        "elapsed_ms",
    ]


def test_kept_records_hold_no_container_the_garbage_collector_walks() -> None:
    c = _client("blaxel")
    _exchanges(c)
    traffic: Traffic = c.app.state.traffic
    gc.collect()  # a collection stops tracking tuples of untracked items: the flat parts, then (next) the entries
    gc.collect()
    entries = list(traffic._entries)
    assert entries and all(type(entry) is tuple for entry in entries)
    assert not any(gc.is_tracked(entry) for entry in entries)
    assert all(isinstance(record_of(entry), dict) for entry in entries)


def test_traffic_keeps_the_most_recent_records() -> None:
    traffic = Traffic(maxlen=2)
    c = _client("oxen")
    for ident in ("m1", "m2", "m3"):
        c.delete(f"/api/ai/models/{ident}", headers={"Authorization": f"Bearer {TOKEN}"})
    for entry in c.app.state.traffic._entries:
        traffic.add(entry)
    assert traffic.maxlen == 2 and [r["seq"] for r in traffic] == [2, 3]
    traffic.clear()
    assert list(traffic) == [] and len(traffic) == 0


def test_openapi_document_is_not_changed_by_the_compilers() -> None:
    for vendor in VENDORS:
        raw = yaml.safe_load((SPECS / vendor / "openapi.yaml").read_text(encoding="utf-8"))
        contract = load_contract(SPECS / vendor, vendor)
        expected = raw if str(raw.get("openapi", "")).startswith("3.1") else _to_2020(raw)
        assert contract.document == expected
