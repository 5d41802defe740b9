"""The ground floor: loads each vendor's data from ``specs/<vendor>/``.

A vendor is a folder holding ``vendor.yaml`` (its profile), ``openapi.yaml`` (the published contract),
``requirements.yaml`` (the requirement catalog), ``faults.yaml`` (what each mock fault must break) and
``PROVENANCE.md``. Nothing else in the engine knows a vendor by name.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from conformance.catalog.model import LEVELS, AuthScheme, Operation, Requirement, Source, Vendor
from conformance.errors import UsageError

_ID_PATTERN = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$")


def specs_dir() -> Path:
    """Where the vendor folders live: ``$CONFORMANCE_SPECS_DIR``, else the ``specs/`` shipped in the package."""
    override = os.environ.get("CONFORMANCE_SPECS_DIR")
    if override:
        return Path(override)
    return Path(__file__).parent.parent / "_specs"  # the checkout's specs/ (a symlink), or the copy inside a wheel


def vendor_names() -> tuple[str, ...]:
    """The vendors that have a folder under ``specs/``."""
    root = specs_dir()
    if not root.is_dir():
        return ()
    return tuple(sorted(p.name for p in root.iterdir() if (p / "vendor.yaml").is_file()))


def _read_yaml(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise UsageError(f"{path} is not valid YAML: {str(exc).splitlines()[0]}") from None


def _requirement(vendor: str, row: Mapping[str, Any], where: Path) -> Requirement:
    try:
        level = row["level"]
        if level not in LEVELS:
            raise UsageError(f"{where}: {row.get('id')}: level must be MUST or SHOULD, not {level!r}")
        if not _ID_PATTERN.match(str(row["id"])):
            raise UsageError(f"{where}: requirement id {row['id']!r} is not of the form ABC-WORD-WORD")
        source = row["source"]
        return Requirement(
            id=str(row["id"]),
            level=level,
            operation=str(row["operation"]),
            rule=" ".join(str(row["rule"]).split()),
            source=Source(seed=str(source["seed"]), field=str(source["field"])),
            check=str(row["check"]),
            vendor=vendor,
            args=dict(row.get("args") or {}),
            inferred=bool(row.get("inferred", False)),
        )
    except (KeyError, TypeError) as exc:
        raise UsageError(f"{where}: requirement {row!r:.80} lacks {exc}") from None


def _operation(role: str, row: Mapping[str, Any]) -> Operation:
    return Operation(
        role=role,
        method=str(row["method"]).upper(),
        path=str(row["path"]),
        operation_id=str(row.get("operation_id", role)),
        id_param=row.get("id_param"),
        id_field=row.get("id_field"),
        returns=str(row.get("returns", "resource")),
        absent_answer=dict(row["absent_answer"]) if row.get("absent_answer") else None,
    )


def _auth(row: Mapping[str, Any]) -> AuthScheme:
    return AuthScheme(header=str(row["header"]), scheme=str(row["scheme"]), evidence=str(row.get("evidence", "")))


@functools.cache
def load_vendor(name: str) -> Vendor:
    """Load and validate one vendor's folder; a ``UsageError`` names what is wrong."""
    folder = specs_dir() / name
    profile_path = folder / "vendor.yaml"
    if not profile_path.is_file():
        known = ", ".join(vendor_names()) or "none"
        raise UsageError(f"unknown vendor {name!r} (known: {known})")
    profile = _read_yaml(profile_path)
    spec_path = folder / str(profile.get("openapi", "openapi.yaml"))
    spec = _read_yaml(spec_path)
    if not isinstance(spec, dict) or "paths" not in spec:
        raise UsageError(f"{spec_path} is not an OpenAPI document")
    req_path = folder / "requirements.yaml"
    rows = (_read_yaml(req_path) or {}).get("requirements", []) if req_path.is_file() else []
    requirements = tuple(_requirement(name, row, req_path) for row in rows)
    seen: set[str] = set()
    for requirement in requirements:
        if requirement.id in seen:
            raise UsageError(f"{req_path}: duplicate requirement id {requirement.id}")
        seen.add(requirement.id)
    faults_path = folder / "faults.yaml"
    fault_rows = (_read_yaml(faults_path) or {}) if faults_path.is_file() else {}
    faults = {str(k): tuple(v if isinstance(v, list) else [v]) for k, v in fault_rows.get("faults", {}).items()}
    try:
        auth = profile["auth"]
        return Vendor(
            name=name,
            title=str(profile["title"]),
            prefix=str(profile["prefix"]),
            spec=spec,
            spec_path=spec_path,
            server_path=str(profile.get("server_path", "")),
            default_base_url=str(profile["default_base_url"]),
            token_env=str(profile["token_env"]),
            auth=_auth(auth),
            auth_aliases=tuple(_auth(a) for a in auth.get("aliases", [])),
            auth_documented=bool(auth.get("documented", True)),
            error_schema=dict(profile["error"]["schema"]),
            error_documented=bool(profile["error"].get("documented", True)),
            operations={role: _operation(role, row) for role, row in profile["operations"].items()},
            inferred_statuses={
                role: {int(code): str(why) for code, why in codes.items()}
                for role, codes in (profile.get("inferred_statuses") or {}).items()
            },
            requirements=requirements,
            faults=faults,
            semantics={str(k): str(v) for k, v in (profile.get("semantics") or {}).items()},
        )
    except (KeyError, TypeError) as exc:
        raise UsageError(f"{profile_path}: missing or malformed field {exc}") from None


@functools.cache
def load_client_requirements(name: str) -> tuple[Requirement, ...]:
    """The vendor's client requirements (``client-requirements.yaml``, judged by ``sdk-gate``, not the suite)."""
    load_vendor(name)
    path = specs_dir() / name / "client-requirements.yaml"
    if not path.is_file():
        return ()
    requirements = tuple(_requirement(name, row, path) for row in (_read_yaml(path) or {}).get("requirements", []))
    server_ids = {r.id for r in load_vendor(name).requirements}
    seen: set[str] = set()
    for requirement in requirements:
        if requirement.id in seen or requirement.id in server_ids:
            raise UsageError(f"{path}: duplicate requirement id {requirement.id}")
        seen.add(requirement.id)
    return requirements


def all_requirements(vendors: tuple[str, ...] | None = None) -> list[Requirement]:
    """Every requirement of the named vendors (default: all), in catalog order."""
    return [r for v in (vendors or vendor_names()) for r in load_vendor(v).requirements]
