"""API semantics as documented (``semantics`` in each vendor.yaml) and as observed in the evidence of runs."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol

from conformance.catalog.loader import load_vendor, vendor_names
from conformance.catalog.model import Vendor
from conformance.errors import UsageError
from conformance.redact import REDACTED
from conformance.results import RequirementResult


class Column(Protocol):
    """What an observation reads of a matrix column: its label, vendor and results."""

    @property
    def label(self) -> str: ...

    @property
    def vendor(self) -> str: ...

    @property
    def results(self) -> Mapping[str, RequirementResult]: ...


# An observation: what was seen (the key it merges by), the HTTP statuses it was seen on (if they matter), an example.
Observation = tuple[str, tuple[int, ...], str]
Observer = Callable[[Column, Vendor | None, str], Iterator[Observation]]
MAX_EXAMPLE = 400
ERROR_STATUSES = range(400, 500)


def body_shape(text: str) -> str:
    """A body in a few characters: the top-level members of a JSON object, ``[…]`` for an array, or its size."""
    if not text.strip():
        return "empty body"
    try:
        value = json.loads(text)
    except ValueError:
        return f"non-JSON body ({len(text)} bytes)"
    if isinstance(value, dict):
        return "{" + ", ".join(str(k) for k in value) + "}"
    if isinstance(value, list):
        return f"[array of {len(value)}]"
    return f"JSON {type(value).__name__}"


def _exchanges(column: Column, operation: str | None = None) -> Iterator[dict[str, Any]]:
    for result in column.results.values():
        if operation is None or result.operation == operation:
            yield from result.evidence.get("exchanges") or []


def _status(exchange: dict[str, Any]) -> int:
    return int(exchange.get("response", {}).get("status") or 0)


def _observe_auth(column: Column, vendor: Vendor | None, aspect: str) -> Iterator[Observation]:
    for exchange in _exchanges(column):
        if 200 <= _status(exchange) < 300:
            for name, value in (exchange.get("request", {}).get("headers") or {}).items():
                if REDACTED in str(value):
                    yield f"{name}: {str(value).replace(REDACTED, '<token>')} accepted", (), ""
                    return


def _observe_operation(column: Column, vendor: Vendor | None, role: str) -> Iterator[Observation]:
    method = vendor.operations[role].method if vendor and role in vendor.operations else None
    for exchange in _exchanges(column, role):
        status = _status(exchange)
        request = exchange.get("request", {})
        if 200 <= status < 300 and (method is None or request.get("method") == method):
            body = str(exchange.get("response", {}).get("body") or "")
            yield f"{request.get('method')} → HTTP {status} {body_shape(body)}", (), body[:MAX_EXAMPLE]
            return


def _observe_errors(column: Column, vendor: Vendor | None, aspect: str) -> Iterator[Observation]:
    statuses: dict[str, list[int]] = {}
    examples: dict[str, str] = {}
    for exchange in _exchanges(column):
        status = _status(exchange)
        if status in ERROR_STATUSES:
            body = str(exchange.get("response", {}).get("body") or "")
            shape = body_shape(body)
            if status not in statuses.setdefault(shape, []):
                statuses[shape].append(status)
            examples.setdefault(shape, f"HTTP {status} {body[:MAX_EXAMPLE]}")
    for shape, codes in sorted(statuses.items(), key=lambda kv: -len(kv[1]))[:3]:
        yield shape, tuple(codes), examples[shape]


def _observer(aspect: str, vendor: Vendor | None) -> Observer | None:
    if aspect == "auth":
        return _observe_auth
    if aspect == "error shape":
        return _observe_errors
    if vendor is not None and aspect in vendor.operations:
        return _observe_operation
    return None


def catalog_vendor(name: str) -> Vendor | None:
    """The vendor's catalog, or None when this installation has no such vendor."""
    if name not in vendor_names():  # a name from a results file is never a path to look up
        return None
    try:
        return load_vendor(name)
    except UsageError:
        return None


def observed_semantics(columns: Sequence[Column]) -> dict[str, dict[str, dict[str, Any]]]:
    """Per vendor and aspect: the documented semantics, and each distinct observation with the columns showing it."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for vendor_name in sorted({c.vendor for c in columns}):
        vendor = catalog_vendor(vendor_name)
        documented = dict(vendor.semantics) if vendor else {}
        aspects = list(documented) or ["auth", "error shape"]
        mine = [c for c in columns if c.vendor == vendor_name]
        per: dict[str, dict[str, Any]] = {}
        for aspect in aspects:
            observer = _observer(aspect, vendor)
            seen: dict[str, dict[str, Any]] = {}
            for column in mine if observer else []:
                for key, statuses, example in observer(column, vendor, aspect) if observer else ():
                    entry = seen.setdefault(key, {"text": key, "statuses": [], "example": example, "columns": []})
                    entry["statuses"] = sorted(set(entry["statuses"]) | set(statuses))
                    entry["columns"].append(column.label)
            for entry in seen.values():
                entry["everywhere"] = len(entry["columns"]) == len(mine)
                if entry["statuses"]:
                    entry["text"] += " on HTTP " + ", ".join(str(s) for s in entry["statuses"])
            per[aspect] = {"documented": documented.get(aspect, ""), "observed": list(seen.values())}
        out[vendor_name] = per
    return out
