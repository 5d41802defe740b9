"""Validation of the data files against the JSON Schemas shipped in ``conformance/catalog/schemas/``.

Every problem of a file is reported, each on one line: ``file: row-id-or-index: key.path: what was expected``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.exceptions import best_match
from referencing import Registry, Resource

from conformance.errors import UsageError

SCHEMAS_DIR = Path(__file__).parent / "schemas"
SCHEMA_FILES = {
    "vendor": "vendor.json",
    "requirements": "requirements.json",
    "client-requirements": "client-requirements.json",
    "faults": "faults.json",
    "expectations": "expectations.json",
    "samples": "samples.json",
}


@functools.cache
def _registry() -> Registry[Any]:
    resources = []
    for path in sorted(SCHEMAS_DIR.glob("*.json")):
        contents = json.loads(path.read_text(encoding="utf-8"))
        resources.append((path.name, Resource.from_contents(contents)))
    return Registry().with_resources(resources)


@functools.cache
def validator(kind: str) -> jsonschema.Draft202012Validator:
    """The validator of one kind of data file (``vendor``, ``requirements``, ``faults`` …)."""
    schema = _registry().contents(SCHEMA_FILES[kind])
    return jsonschema.Draft202012Validator(schema, registry=_registry())


def schema_of(kind: str) -> Any:
    """The JSON Schema of one kind of data file."""
    return _registry().contents(SCHEMA_FILES[kind])


def _where(data: Any, path: Sequence[str | int]) -> tuple[str, list[str | int]]:
    """The row label (its ``id`` or ``requirement`` when it has one, else ``list[index]``) and the rest of the path."""
    if len(path) >= 2 and isinstance(path[1], int) and isinstance(data, dict):
        rows = data.get(path[0])
        row = rows[path[1]] if isinstance(rows, list) and path[1] < len(rows) else None
        label = row.get("id") or row.get("requirement") if isinstance(row, dict) else None
        return (str(label) if label else f"{path[0]}[{path[1]}]"), list(path[2:])
    return "", list(path)


def _dotted(path: Iterable[str | int]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _lines(error: jsonschema.ValidationError, data: Any) -> list[str]:
    if error.context:
        error = best_match(error.context)
    path = list(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted(error.schema.get("properties", {})) if isinstance(error.schema, dict) else []
        extra = sorted(str(k) for k in error.instance if k not in allowed)
        if allowed:
            return [_line(data, [*path, key], f"unknown key (expected one of: {', '.join(allowed)})") for key in extra]
    return [_line(data, path, error.message)]


def _line(data: Any, path: list[str | int], message: str) -> str:
    label, rest = _where(data, path)
    parts = [p for p in (label, _dotted(rest)) if p]
    return ": ".join([*parts, message])


def schema_errors(kind: str, data: Any) -> list[str]:
    """Every problem of ``data`` as a ``kind`` file, one line each (row label, key path, what was expected)."""
    errors = sorted(validator(kind).iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    return [line for error in errors for line in _lines(error, data)]


def raise_all(problems: Sequence[str], what: str = "") -> None:
    """One ``UsageError`` for every problem: the problem itself when alone, else a summary line first."""
    if len(problems) == 1:
        raise UsageError(problems[0])
    if problems:
        raise UsageError("\n".join([f"{len(problems)} problems{' in ' + what if what else ''}:", *problems]))
