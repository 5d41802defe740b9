"""The registry of checks: each check is a registered spec (its function, the args it takes, what it sends).

A ``CheckSpec`` is everything the rest of the suite needs to know about one check: the JSON Schema of a
requirement row's ``args`` (validated when a vendor's rows are loaded for a run), the kinds of requests it sends
(for the dry-run plan), whether it runs after the others, and the probes it may be given. Probe names are a
vocabulary of their own (``PROBES``), described here for the plan.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jsonschema

from conformance.catalog.model import Requirement, Vendor
from conformance.errors import UsageError
from conformance.target.context import TargetContext
from conformance.verdicts import CheckSkipped, Evidence

CheckFunction = Callable[[TargetContext, Requirement], Evidence]


@dataclass(frozen=True)
class RequestKind:
    """One kind of request a requirement needs, and whether it changes the target."""

    text: str
    destructive: bool


Sends = Callable[[Vendor, Requirement], list[RequestKind]]

AUTH_KINDS = {
    "no_credentials": "no credentials",
    "wrong_scheme": "the wrong scheme",
    "wrong_token": "an invalid token",
    "malformed_credentials": "a malformed credential header",
    "restricted_token": "the restricted token",
}

# The shared probes a row may name in ``args.probe`` (what each sends is in ``probe_kinds``).
PROBES: tuple[str, ...] = ("created", "deleted", "unknown", "duplicate", "invalid_body", *AUTH_KINDS)


def op_text(vendor: Vendor, role: str) -> str:
    """``METHOD /path`` of the operation playing ``role`` (for the plan)."""
    op = vendor.operations.get(role)
    return f"{op.method} {vendor.server_path}{op.path}" if op else f"(no {role} operation)"


def probe_kinds(vendor: Vendor, probe: str, role: str) -> list[RequestKind]:
    """The kinds of requests the named probe sends for an operation role."""
    create, delete = op_text(vendor, "create"), op_text(vendor, "delete")
    if probe == "created":
        return [RequestKind(f"{create} with valid bodies (run-prefixed names)", True)]
    if probe == "deleted":
        if "create" in vendor.operations:
            return [RequestKind(f"{create} a resource, then {delete} it (polled until gone)", True)]
        return [RequestKind(f"{delete} of a disposable id from the configuration (polled until gone)", True)]
    if probe == "unknown":
        return [RequestKind(f"{delete} of an id that cannot exist", False)]
    if probe in AUTH_KINDS:
        if role == "create":
            return [RequestKind(f"{create} with {AUTH_KINDS[probe]} (expected to be refused)", True)]
        return [RequestKind(f"{delete} of an id that cannot exist, with {AUTH_KINDS[probe]}", False)]
    if probe == "duplicate":
        return [RequestKind(f"{create} the same valid body twice", True)]
    return [RequestKind(f"{create} with invalid bodies (expected to be refused)", True)]


def sends_probe(vendor: Vendor, requirement: Requirement) -> list[RequestKind]:
    """What a check sends when it judges the answers of the row's ``args.probe``."""
    return probe_kinds(vendor, str(requirement.args.get("probe", "")), requirement.operation)


def sends_kinds(*kinds: tuple[str, bool], note: str = "") -> Sends:
    """What a check sends that builds its own requests: (operation role, destructive) pairs, described by ``note``."""

    def sends(vendor: Vendor, requirement: Requirement) -> list[RequestKind]:
        return [
            RequestKind(f"{op_text(vendor, role)} {note}".strip(), destructive)
            for role, destructive in kinds
            if role in vendor.operations
        ]

    return sends


def sends_fixed(probe: str) -> Sends:
    """What a check sends when it always judges the answers of one probe."""
    return lambda vendor, requirement: probe_kinds(vendor, probe, requirement.operation)


@dataclass(frozen=True)
class CheckSpec:
    """One registered check: its function and what the catalog, the planner and the plugin need to know."""

    name: str
    func: CheckFunction
    args_schema: Mapping[str, Any]
    sends: Sends
    last: bool = False
    probes: tuple[str, ...] = ()
    doc: str = ""
    examples: tuple[Mapping[str, Any], ...] = field(default_factory=tuple)

    @property
    def full_args_schema(self) -> dict[str, Any]:
        """``args_schema`` with ``probe`` restricted to the probes the check accepts."""
        schema = dict(self.args_schema)
        if self.probes:
            properties = dict(schema.get("properties", {}))
            properties["probe"] = {"enum": list(self.probes)}
            schema["properties"] = properties
        return schema


CHECKS: dict[str, CheckSpec] = {}

NO_ARGS: Mapping[str, Any] = {"type": "object", "additionalProperties": False}


def register(
    name: str,
    *,
    args_schema: Mapping[str, Any] = NO_ARGS,
    sends: Sends,
    last: bool = False,
    probes: Sequence[str] = (),
) -> Callable[[CheckFunction], CheckFunction]:
    """Add a check to the registry under ``name``; a second registration of the same name raises."""
    unknown = [p for p in probes if p not in PROBES]
    if unknown:
        raise ValueError(f"check {name!r} names unknown probe(s) {unknown} (known: {list(PROBES)})")
    jsonschema.Draft202012Validator.check_schema(args_schema)

    def wrap(func: CheckFunction) -> CheckFunction:
        if name in CHECKS:
            raise ValueError(f"a check named {name!r} is already registered ({CHECKS[name].func.__qualname__})")
        doc = (func.__doc__ or "").strip().splitlines()[0] if func.__doc__ else ""
        CHECKS[name] = CheckSpec(name, func, args_schema, sends, last, tuple(probes), doc)
        return func

    return wrap


def run_check(ctx: TargetContext, requirement: Requirement) -> Evidence:
    """Judge ``requirement`` on ``ctx``'s target with its registered check."""
    try:
        spec = CHECKS[requirement.check]
    except KeyError:
        raise CheckSkipped(f"no check named {requirement.check!r} is registered") from None
    return spec.func(ctx, requirement)


def is_last(check: str) -> bool:
    """Whether a check runs after the others (it judges what they recorded)."""
    spec = CHECKS.get(check)
    return spec is not None and spec.last


def request_kinds(vendor: Vendor, requirement: Requirement) -> list[RequestKind]:
    """The kinds of requests judging ``requirement`` sends (from its check's spec)."""
    spec = CHECKS.get(requirement.check)
    if spec is None:
        return [RequestKind(f"whatever check {requirement.check!r} sends", True)]
    return spec.sends(vendor, requirement)


def error_path(prefix: str, error: jsonschema.ValidationError) -> str:
    """``prefix.a[0].b``: where in a document a JSON Schema error is."""
    return prefix + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)


def row_errors(requirement: Requirement) -> list[str]:
    """What is wrong with one row for the registry (unknown check, args failing the check's schema)."""
    spec = CHECKS.get(requirement.check)
    if spec is None:
        return [f"{requirement.id}: check: {requirement.check!r} is not one of {sorted(CHECKS)}"]
    validator = jsonschema.Draft202012Validator(spec.full_args_schema)
    errors = sorted(validator.iter_errors(dict(requirement.args)), key=lambda e: list(e.absolute_path))
    return [f"{requirement.id}: {error_path('args', e)}: {e.message}" for e in errors]


def validate_rows(vendor: Vendor, rows: Iterable[Requirement] | None = None, where: str = "") -> None:
    """Check every row of ``vendor`` against the registry; one ``UsageError`` lists every problem."""
    label = where or f"{vendor.folder_label}/requirements.yaml"
    problems = [p for r in (vendor.requirements if rows is None else rows) for p in row_errors(r)]
    if len(problems) == 1:
        raise UsageError(f"{label}: {problems[0]}")
    if problems:
        raise UsageError("\n".join([f"{label}: {len(problems)} problems", *(f"{label}: {p}" for p in problems)]))


def reference_markdown() -> str:
    """The "Checks and their args" section of docs/adding-a-vendor.md, generated from the registry."""
    import json

    import conformance.checks  # noqa: F401 - registers every built-in check

    out = ["## Checks and their args (from the registry)", ""]
    for name in sorted(CHECKS):
        spec = CHECKS[name]
        out += [f"### `{name}`" + (" (runs last)" if spec.last else ""), ""]
        if spec.doc:
            out += [spec.doc, ""]
        out += ["args schema:", "", "```json", json.dumps(dict(spec.args_schema)), "```", ""]
    return "\n".join(out)
