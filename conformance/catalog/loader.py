"""The ground floor: loads each vendor's data from ``specs/<vendor>/``.

A vendor is a folder holding ``vendor.yaml`` (its profile), ``openapi.yaml`` (the published contract),
``requirements.yaml`` (the requirement catalog), ``faults.yaml`` (what each mock fault must break) and
``PROVENANCE.md``. Nothing else in the engine knows a vendor by name.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from conformance.catalog import cache
from conformance.catalog.derive import derive_rows
from conformance.catalog.model import AuthScheme, Operation, Requirement, Source, Vendor
from conformance.errors import UsageError

VENDOR_DIRS_ENV = "CONFORMANCE_VENDOR_DIRS"
SEED_FILE = re.compile(r"^\d{3}_[0-9a-f]{16}\.txt$")


def specs_dir() -> Path:
    """Where the vendor folders live: ``$CONFORMANCE_SPECS_DIR``, else the ``specs/`` shipped in the package."""
    override = os.environ.get("CONFORMANCE_SPECS_DIR")
    if override:
        return Path(override)
    return Path(__file__).parent.parent / "_specs"  # the checkout's specs/ (a symlink), or the copy inside a wheel


def extra_vendor_dirs() -> tuple[Path, ...]:
    """The user's vendor folders (``$CONFORMANCE_VENDOR_DIRS``, set from ``--vendor-dir`` and ``vendor_dirs``)."""
    return tuple(Path(p) for p in os.environ.get(VENDOR_DIRS_ENV, "").split(os.pathsep) if p)


def add_vendor_dirs(dirs: Iterable[Path | str]) -> None:
    """Add vendor folders (a vendor folder, or a folder of them) for this process and the runs it starts."""
    known = [str(p) for p in extra_vendor_dirs()]
    for folder in dirs:
        path = Path(folder).expanduser().resolve()
        if not path.is_dir():
            raise UsageError(f"--vendor-dir {folder}: not a folder")
        if str(path) not in known:
            known.append(str(path))
    os.environ[VENDOR_DIRS_ENV] = os.pathsep.join(known)
    _vendor_folders.cache_clear()
    load_vendor.cache_clear()
    load_client_requirements.cache_clear()


def _folders_in(root: Path) -> list[Path]:
    if (root / "vendor.yaml").is_file():
        return [root]
    return sorted(p for p in root.iterdir() if (p / "vendor.yaml").is_file()) if root.is_dir() else []


@functools.cache
def _vendor_folders(shipped: str, extra: str) -> dict[str, Path]:
    found = {p.name: p for p in _folders_in(Path(shipped))}
    for root in (Path(p) for p in extra.split(os.pathsep) if p):
        for folder in _folders_in(root):
            if folder.name in found and found[folder.name] != folder:
                raise UsageError(f"vendor {folder.name!r} of {folder} clashes with {found[folder.name]}")
            found[folder.name] = folder
    return found


def vendor_folders() -> dict[str, Path]:
    """Every vendor's folder: the package's specs, then the user's vendor folders (a name clash is an error)."""
    return _vendor_folders(str(specs_dir()), os.environ.get(VENDOR_DIRS_ENV, ""))


def vendor_names() -> tuple[str, ...]:
    """The vendors that have a folder (under ``specs/`` or in a user's vendor folder)."""
    return tuple(sorted(vendor_folders()))


def is_shipped(name: str) -> bool:
    """Whether the vendor's folder is one of the package's ``specs/`` (not a user's)."""
    folder = vendor_folders().get(name)
    return folder is not None and folder.parent == specs_dir()


def folder_label(name: str) -> str:
    """How messages name a vendor's folder: ``specs/<name>`` when shipped, else its path."""
    return f"specs/{name}" if is_shipped(name) else str(vendor_folders()[name])


def _read_yaml(path: Path) -> Any:
    import yaml  # a vendor found in the cache (conformance/catalog/cache.py) reads no YAML

    # libyaml's safe loader when PyYAML was built with it: 9x faster on the vendors' files (the same data for every
    # file under specs/); the pure-Python one otherwise.
    loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.load(handle, Loader=loader)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise UsageError(f"{path} is not valid YAML: {str(exc).splitlines()[0]}") from None


def _read_valid(path: Path, kind: str, label: str, problems: list[str]) -> Any:
    """The file's data (``None`` when absent); each schema problem is appended as ``label: …``."""
    from conformance.catalog.validate import schema_errors

    if not path.is_file():
        return None
    data = _read_yaml(path)
    problems += [f"{label}: {line}" for line in schema_errors(kind, data)]
    return data


def _requirement(vendor: str, row: Mapping[str, Any]) -> Requirement:
    source = row["source"]
    return Requirement(
        id=str(row["id"]),
        level=row["level"],
        operation=str(row["operation"]),
        rule=" ".join(str(row["rule"]).split()),
        source=Source(seed=str(source["seed"]), field=str(source["field"])),
        check=str(row["check"]),
        vendor=vendor,
        args=dict(row.get("args") or {}),
        inferred=bool(row.get("inferred", False)),
    )


def _rows(data: Any) -> list[Mapping[str, Any]]:
    return list((data or {}).get("requirements") or [])


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


VENDOR_FILES = ("vendor.yaml", "requirements.yaml", "faults.yaml", "samples.yaml")


@functools.cache
def load_vendor(name: str) -> Vendor:
    """Load and validate one vendor's folder; one ``UsageError`` names everything that is wrong.

    A folder whose files (and the code that reads them) are unchanged since an earlier run comes from the disk
    cache (``conformance/catalog/cache.py``): the same vendor, without parsing, validating and deriving again.
    """
    folder = vendor_folders().get(name)
    if folder is None:
        known = ", ".join(vendor_names()) or "none"
        raise UsageError(f"unknown vendor {name!r} (known: {known})")
    label = folder_label(name)
    cached = cache.load(folder, name)
    if cached is not None and cached.folder_label == label:
        return cached
    vendor = _load_vendor(name, folder, label)
    cache.store(folder, name, vendor, [*(folder / f for f in VENDOR_FILES), vendor.spec_path])
    return vendor


def _load_vendor(name: str, folder: Path, label: str) -> Vendor:
    from conformance.catalog.validate import raise_all

    problems: list[str] = []
    profile = _read_valid(folder / "vendor.yaml", "vendor", f"{label}/vendor.yaml", problems)
    rows_data = _read_valid(folder / "requirements.yaml", "requirements", f"{label}/requirements.yaml", problems)
    faults_data = _read_valid(folder / "faults.yaml", "faults", f"{label}/faults.yaml", problems)
    _read_valid(folder / "samples.yaml", "samples", f"{label}/samples.yaml", problems)  # read by doc_samples
    raise_all(problems, label)
    spec_name = str(profile.get("openapi", "openapi.yaml"))
    spec_path = folder / spec_name
    spec = _read_yaml(spec_path)
    if not isinstance(spec, dict) or "paths" not in spec:
        raise UsageError(f"{label}/{spec_name} is not an OpenAPI document")
    operations = {role: _operation(role, row) for role, row in profile["operations"].items()}
    hand = [_requirement(name, row) for row in _rows(rows_data)]
    derived = derive_rows(name, str(profile["prefix"]), spec, operations, profile.get("derive") or {}, spec_name)
    requirements = (*hand, *derived)
    problems += _catalog_problems(name, profile, requirements, label, spec_name)
    faults = {
        str(k): tuple(v if isinstance(v, list) else [v]) for k, v in ((faults_data or {}).get("faults") or {}).items()
    }
    ids = {r.id for r in requirements}
    problems += [
        f"{label}/faults.yaml: {fault}: {i}: no such requirement"
        for fault, rows in faults.items()
        for i in rows
        if i not in ids
    ]
    raise_all(problems, label)
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
        auth_aliases=tuple(_auth(a) for a in auth.get("aliases") or []),
        auth_documented=bool(auth.get("documented", True)),
        error_schema=dict(profile["error"]["schema"]),
        error_documented=bool(profile["error"].get("documented", True)),
        operations=operations,
        inferred_statuses={
            role: {int(code): str(why) for code, why in codes.items()}
            for role, codes in (profile.get("inferred_statuses") or {}).items()
        },
        requirements=requirements,
        faults=faults,
        semantics={str(k): str(v) for k, v in (profile.get("semantics") or {}).items()},
        folder_label=label,
    )


def _catalog_problems(
    name: str, profile: Mapping[str, Any], requirements: Iterable[Requirement], label: str, spec_name: str
) -> list[str]:
    """Duplicate ids, ids without the vendor's prefix, unknown operations, sources citing unknown documents."""
    problems: list[str] = []
    seen: set[str] = set()
    documents = {str(d) for d in profile.get("documents") or []} | {spec_name}
    roles = set(profile["operations"]) | {"any"}
    for r in requirements:
        where = f"{label}/requirements.yaml: {r.id}"
        if r.id in seen:
            problems.append(f"{where}: duplicate requirement id" + (" (a derived row has it)" if r.derived else ""))
        seen.add(r.id)
        if not r.id.startswith(f"{profile['prefix']}-"):
            problems.append(f"{where}: id: does not start with the vendor prefix {profile['prefix']}-")
        if r.operation not in roles:
            problems.append(f"{where}: operation: {r.operation!r} is not one of {sorted(roles)}")
        if "documents" in profile and r.source.seed not in documents and not SEED_FILE.match(r.source.seed):
            problems.append(
                f"{where}: source.seed: {r.source.seed!r} is neither a seed file nor one of {sorted(documents)}"
            )
    return problems


@functools.cache
def load_client_requirements(name: str) -> tuple[Requirement, ...]:
    """The vendor's client requirements (``client-requirements.yaml``, judged by ``sdk-gate``, not the suite)."""
    vendor = load_vendor(name)
    path = vendor_folders()[name] / "client-requirements.yaml"
    where = f"{vendor.folder_label}/client-requirements.yaml"
    from conformance.catalog.validate import raise_all

    problems: list[str] = []
    data = _read_valid(path, "client-requirements", where, problems)
    raise_all(problems, where)
    requirements = tuple(_requirement(name, row) for row in _rows(data))
    server_ids = {r.id for r in vendor.requirements}
    seen: set[str] = set()
    for requirement in requirements:
        if requirement.id in seen or requirement.id in server_ids:
            problems.append(f"{where}: {requirement.id}: duplicate requirement id")
        seen.add(requirement.id)
    raise_all(problems, where)
    return requirements


def all_requirements(vendors: tuple[str, ...] | None = None) -> list[Requirement]:
    """Every requirement of the named vendors (default: all), in catalog order."""
    return [r for v in (vendors or vendor_names()) for r in load_vendor(v).requirements]
