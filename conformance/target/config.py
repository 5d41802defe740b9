"""The target configuration file: ``conformance.toml``, or ``[tool.conformance]`` in a ``pyproject.toml``.

Named targets under ``[targets.NAME]`` (with shared values under ``[defaults]``); every problem is one
``UsageError`` line naming the file, the target and the field. Tokens never go in the file: a target names the
environment variable that holds its token.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from conformance.catalog.loader import load_vendor, vendor_names
from conformance.errors import UsageError
from conformance.redact import is_secret_header
from conformance.target.model import (
    DEFAULT_MAX_LIVE_RESOURCES,
    DEFAULT_WORKERS,
    MAX_WORKERS,
    Target,
    check_base_url,
    check_workers,
)

CONFIG_NAME = "conformance.toml"
LIVE_DEFAULTS: dict[str, Any] = {
    "timeout": 10.0,
    "gone_deadline": 30.0,
    "budget": 1800.0,
    "max_requests": 2000,
    "max_retries": 3,
    "retry_max_wait": 30.0,
    "rate_limit": None,
    "allow_destructive": False,
    "max_live_resources": DEFAULT_MAX_LIVE_RESOURCES,
    "max_body_bytes": 1_000_000,
    "name_prefix": "cf",
    "sweep": True,
    "verify": True,
    "ca_bundle": None,
    "trust_env": True,
    "workers": DEFAULT_WORKERS,
}
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
PREFIX = re.compile(r"^[a-z][a-z0-9]{0,7}$")
TARGET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
SECRET_KEYS = frozenset({"token", "api_key", "apikey", "password", "secret", "authorization", "bearer"})
TOP_LEVEL_KEYS = frozenset({"defaults", "targets", "report_root", "vendor_dirs"})
SCHEMA_PATH = Path(__file__).with_name("config.schema.json")
HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # RFC 9110 token
HEADER_VALUE = re.compile(r"^[^\x00-\x08\x0a-\x1f\x7f]*$")  # no CR, LF, NUL or other control but tab


@dataclass(frozen=True)
class TargetsConfig:
    """A loaded configuration file: its path, named targets (in file order) and report root."""

    path: Path
    targets: dict[str, Target] = field(default_factory=dict)
    report_root: Path | None = None

    def target(self, name: str) -> Target:
        """The named target, or a ``UsageError`` listing the known ones."""
        try:
            return self.targets[name]
        except KeyError:
            known = ", ".join(self.targets) or "none"
            raise UsageError(f"{self.path}: no target named {name!r} (known: {known})") from None


class _Where:
    """Formats errors as ``file: target 'x': field 'y': problem``."""

    def __init__(self, path: Path, target: str | None) -> None:
        self.path = path
        self.target = target

    def error(self, problem: str, key: str | None = None) -> UsageError:
        parts = [str(self.path)]
        if self.target is not None:
            parts.append(f"target {self.target!r}")
        if key is not None:
            parts.append(f"field {key!r}")
        return UsageError(": ".join([*parts, problem]))


def _number(
    where: _Where,
    key: str,
    value: Any,
    *,
    integer: bool = False,
    minimum: float | None = None,
    maximum: float | None = None,
) -> float:
    """A number (an integer when asked): > 0 by default, else >= ``minimum``; <= ``maximum`` when given."""
    kinds = "an integer" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
        raise where.error(f"expected {kinds}, got {type(value).__name__} {value!r}", key)
    if not math.isfinite(value):
        raise where.error(f"expected a finite number, got {value!r}", key)
    if (minimum is None and value <= 0) or (minimum is not None and value < minimum):
        bound = "> 0" if minimum is None else f">= {minimum:g}"
        raise where.error(f"expected {kinds} {bound}, got {value!r}", key)
    if maximum is not None and value > maximum:
        raise where.error(f"expected {kinds} <= {maximum:g}, got {value!r}", key)
    return float(value)


def _text(where: _Where, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise where.error(f"expected a non-empty string, got {value!r}", key)
    return value.strip()


def _flag(where: _Where, key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise where.error(f"expected true or false, got {value!r}", key)
    return value


def _env_name(where: _Where, key: str, value: Any) -> str:
    text = _text(where, key, value)
    if not ENV_NAME.match(text):
        raise where.error(
            "expected the NAME of an environment variable (letters, digits, _), got a value that is not one; "
            "never put the token itself in the file",
            key,
        )
    return text


def _headers(where: _Where, value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise where.error("expected a table of header names to values", "headers")
    out: dict[str, str] = {}
    for name, text in value.items():
        lowered = str(name).lower()
        if is_secret_header(lowered):
            raise where.error(
                "credential headers do not belong in the file; the token comes from token_env", f"headers.{name}"
            )
        if not HEADER_NAME.match(str(name)):
            raise where.error("not a valid HTTP header name (RFC 9110 token)", f"headers.{name}")
        if not isinstance(text, str):
            raise where.error(f"expected a string, got {text!r}", f"headers.{name}")
        if not HEADER_VALUE.match(text):
            raise where.error("the value holds CR, LF, NUL or another control character", f"headers.{name}")
        out[str(name)] = text
    return out


def _ids(where: _Where, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise where.error("expected a list of non-empty strings", "disposable_ids")
    return tuple(value)


def _ca_bundle(where: _Where, value: Any, base: Path) -> str:
    path = Path(_text(where, "ca_bundle", value)).expanduser()
    if not path.is_absolute():
        path = (base / path).resolve()
    if not path.exists():
        raise where.error(f"no such file or folder {path}", "ca_bundle")
    return str(path)


Parser = Callable[[_Where, str, Any], Any]
FIELDS: dict[str, Parser] = {
    "vendor": _text,
    "base_url": _text,
    "token_env": _env_name,
    "restricted_token_env": _env_name,
    "other_token_env": _env_name,
    "timeout": _number,
    "gone_deadline": _number,
    "budget": _number,
    "rate_limit": _number,
    "retry_max_wait": lambda w, k, v: _number(w, k, v, minimum=0),
    "max_requests": lambda w, k, v: int(_number(w, k, v, integer=True, minimum=1)),
    "max_retries": lambda w, k, v: int(_number(w, k, v, integer=True, minimum=0)),
    "max_live_resources": lambda w, k, v: int(_number(w, k, v, integer=True, minimum=3)),
    "max_body_bytes": lambda w, k, v: int(_number(w, k, v, integer=True, minimum=1024)),
    "workers": lambda w, k, v: int(_number(w, k, v, integer=True, minimum=1, maximum=MAX_WORKERS)),
    "allow_destructive": _flag,
    "sweep": _flag,
    "verify": _flag,
    "trust_env": _flag,
    "name_prefix": _text,
    "ca_bundle": _text,
    "disposable_ids": lambda w, k, v: _ids(w, v),
    "headers": lambda w, k, v: _headers(w, v),
}


def _fields(where: _Where, table: Any, base: Path) -> dict[str, Any]:
    """The validated fields of one ``[targets.NAME]`` or ``[defaults]`` table."""
    if not isinstance(table, Mapping):
        raise where.error("expected a table")
    out: dict[str, Any] = {}
    for key, value in table.items():
        if key.lower() in SECRET_KEYS:
            raise where.error("never store a token in the file: set token_env to the NAME of its variable", key)
        if key not in FIELDS:
            raise where.error(f"unknown field (known: {', '.join(sorted(FIELDS))})", key)
        out[key] = _ca_bundle(where, value, base) if key == "ca_bundle" else FIELDS[key](where, key, value)
    if "name_prefix" in out and not PREFIX.match(out["name_prefix"]):
        raise where.error("expected 1-8 lowercase letters or digits, starting with a letter", "name_prefix")
    return out


def _target(name: str, values: Mapping[str, Any], where: _Where) -> Target:
    for required in ("vendor", "base_url"):
        if required not in values:
            raise where.error("missing (required)", required)
    vendor_name = values["vendor"]
    if vendor_name not in vendor_names():
        raise where.error(f"unknown vendor {vendor_name!r} (known: {', '.join(vendor_names())})", "vendor")
    try:
        base_url = check_base_url(values["base_url"])
    except UsageError as exc:
        raise where.error(str(exc), "base_url") from None
    vendor = load_vendor(vendor_name)
    merged = {**LIVE_DEFAULTS, **values}
    verify: bool | str = merged["ca_bundle"] if merged["verify"] and merged["ca_bundle"] else merged["verify"]
    return Target(
        name=name,
        vendor=vendor_name,
        base_url=base_url,
        token_env=merged.get("token_env") or vendor.token_env,
        restricted_token_env=merged.get("restricted_token_env"),
        other_token_env=merged.get("other_token_env"),
        disposable_ids=merged.get("disposable_ids", ()),
        name_prefix=merged["name_prefix"],
        timeout=merged["timeout"],
        gone_deadline=merged["gone_deadline"],
        budget=merged["budget"],
        max_requests=merged["max_requests"],
        rate_limit=merged["rate_limit"],
        max_retries=merged["max_retries"],
        retry_max_wait=merged["retry_max_wait"],
        allow_destructive=merged["allow_destructive"],
        max_live_resources=merged["max_live_resources"],
        max_body_bytes=merged["max_body_bytes"],
        sweep=merged["sweep"],
        verify=verify,
        trust_env=merged["trust_env"],
        workers=merged["workers"],
        extra_headers=merged.get("headers", {}),
    )


def live_target(vendor_name: str, base_url: str, name: str | None = None) -> Target:
    """A live target given on the command line (``--vendor V --base-url URL``), with the live defaults."""
    where = _Where(Path("<command line>"), name or vendor_name)
    return _target(name or vendor_name, {"vendor": vendor_name, "base_url": base_url}, where)


@cache
def config_schema() -> dict[str, Any]:
    """The JSON Schema of the configuration table (shipped in the package as ``config.schema.json``)."""
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return schema


def _non_finite(data: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], float]]:
    """Every ``nan`` and ``inf`` in the table (TOML allows them; no field does)."""
    if isinstance(data, float) and not math.isfinite(data):
        return [(path, data)]
    if isinstance(data, Mapping):
        return [hit for key, value in data.items() for hit in _non_finite(value, (*path, str(key)))]
    if isinstance(data, list):
        return [hit for i, value in enumerate(data) for hit in _non_finite(value, (*path, str(i)))]
    return []


def _locate(path: Path, keys: Sequence[Any]) -> tuple[_Where, str | None]:
    """Where a JSON path of the table is: the target (or defaults) and the field."""
    parts = [str(k) for k in keys]
    if len(parts) >= 2 and parts[0] == "targets":
        return _Where(path, parts[1]), ".".join(parts[2:]) or None
    if parts and parts[0] == "defaults":
        return _Where(path, "defaults"), ".".join(parts[1:]) or None
    return _Where(path, None), ".".join(parts) or None


def _schema_problems(error: jsonschema.ValidationError, fields_known: Sequence[str]) -> list[tuple[str | None, str]]:
    """(extra key, problem) pairs of one schema error, in words a user of the file understands."""
    keys = [str(k) for k in error.absolute_path]
    kind, value = error.validator, error.instance
    if kind == "additionalProperties" and isinstance(value, Mapping):
        schema = error.schema if isinstance(error.schema, Mapping) else {}
        allowed = set(schema.get("properties", {}))
        out: list[tuple[str | None, str]] = []
        for extra in sorted(set(value) - allowed):
            if not keys:
                out.append((None, f"unknown key {extra!r} (expected: defaults, targets, report_root, vendor_dirs)"))
            elif str(extra).lower() in SECRET_KEYS:
                out.append((extra, "never store a token in the file: set token_env to the NAME of its variable"))
            elif str(extra).lower() in {"authorization"} or is_secret_header(str(extra).lower()):
                out.append((extra, "credential headers do not belong in the file; the token comes from token_env"))
            else:
                out.append((extra, f"unknown field (known: {', '.join(fields_known)})"))
        return out
    if kind in {"propertyNames", "pattern"} and keys and keys[-1] in {"headers", "targets"}:  # a key's name
        if keys[-1] == "headers":
            return [(str(value), "not a valid HTTP header name (RFC 9110 token: letters, digits, !#$%&'*+-.^_`|~)")]
        return [(None, f"target name {value!r}: a target name is letters, digits, '-', '_' or '.' (up to 63)")]
    if kind in {"required", "minProperties"} and keys in ([], ["targets"]):
        return [(None, "no targets: add at least one [targets.NAME] table")]
    if kind == "type":
        wanted = {
            "number": "a number",
            "integer": "an integer",
            "string": "a string",
            "boolean": "true or false",
            "array": "a list",
            "object": "a table",
        }.get(str(error.validator_value), str(error.validator_value))
        return [(None, f"expected {wanted}, got {type(value).__name__} {value!r}")]
    if kind in {"minimum", "exclusiveMinimum"}:
        bound = ">=" if kind == "minimum" else ">"
        schema = error.schema if isinstance(error.schema, Mapping) else {}
        noun = "an integer" if schema.get("type") == "integer" else "a number"
        return [(None, f"expected {noun} {bound} {error.validator_value:g}, got {value!r}")]
    if kind == "pattern":
        field_name = keys[-1] if keys else ""
        if len(keys) >= 2 and keys[-2] == "headers":
            return [(None, "the value holds CR, LF, NUL or another control character (not a valid HTTP field value)")]
        if field_name.endswith("token_env"):
            return [
                (
                    None,
                    "expected the NAME of an environment variable (letters, digits, _), got a value that is "
                    "not one; never put the token itself in the file",
                )
            ]
        if field_name == "name_prefix":
            return [(None, "expected 1-8 lowercase letters or digits, starting with a letter")]
    if kind == "minLength":
        return [(None, f"expected a non-empty string, got {value!r}")]
    return [(None, " ".join(error.message.split())[:200])]


def schema_errors(data: Mapping[str, Any], path: Path) -> list[str]:
    """Every way the table breaks ``config.schema.json`` (and every non-finite number), one line each."""
    lines: list[str] = []
    for keys, value in _non_finite(data):
        where, key = _locate(path, keys)
        lines.append(str(where.error(f"expected a finite number, got {value!r}", key)))
    bad = {keys for keys, _ in _non_finite(data)}
    validator = jsonschema.Draft202012Validator(config_schema())
    for error in sorted(validator.iter_errors(data), key=lambda e: [str(k) for k in e.absolute_path]):
        keys = tuple(str(k) for k in error.absolute_path)
        if keys in bad:
            continue
        item = keys[-1] if len(keys) >= 2 and keys[-2] == "disposable_ids" else None  # the only list field
        where, key = _locate(path, keys[:-1] if item is not None else keys)
        for extra, problem in _schema_problems(error, sorted(FIELDS)):
            if item is not None:
                problem = f"item {item}: {problem}"
            field_name = ".".join(k for k in (key, extra) if k) or None
            lines.append(str(where.error(problem, field_name)))
    return list(dict.fromkeys(lines))


def parse_config(data: Mapping[str, Any], path: Path) -> TargetsConfig:
    """Validate a parsed configuration table (the file's, or pyproject's ``[tool.conformance]``): its structure
    against the shipped JSON Schema first, then each target's values; every problem is reported, one line each."""
    problems = schema_errors(data, path)
    if problems:
        raise UsageError("\n".join(problems))
    top = _Where(path, None)
    base = path.parent
    dirs = [base / str(d) for d in data.get("vendor_dirs", [])]
    missing = [str(d) for d in dirs if not d.is_dir()]
    if missing:
        raise top.error(f"vendor_dirs: not a folder: {', '.join(missing)}")
    if dirs:
        from conformance.catalog.loader import add_vendor_dirs

        add_vendor_dirs(dirs)  # before the targets, whose vendors may live there
    defaults = _fields(_Where(path, "defaults"), data.get("defaults", {}), base)
    targets_table = data.get("targets", {})
    if not isinstance(targets_table, Mapping) or not targets_table:
        raise top.error("no targets: add at least one [targets.NAME] table")
    targets: dict[str, Target] = {}
    for name, table in targets_table.items():
        where = _Where(path, name)
        try:
            targets[name] = _target(name, {**defaults, **_fields(where, table, base)}, where)
        except UsageError as exc:
            problems.append(str(exc))
    if problems:
        raise UsageError("\n".join(problems))
    report_root = data.get("report_root")
    return TargetsConfig(path=path, targets=targets, report_root=(base / report_root) if report_root else None)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such configuration file") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: invalid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 text (byte {exc.start})") from None


def _tool_table(data: Mapping[str, Any]) -> Any:
    tool = data.get("tool")
    return tool.get("conformance") if isinstance(tool, Mapping) else None


def load_config(path: Path | None = None, cwd: Path | None = None) -> TargetsConfig:
    """Read ``path`` (a conformance.toml or a pyproject.toml), or find one in ``cwd``; ``UsageError`` otherwise."""
    if path is not None:
        data = _read_toml(path)
        table = _tool_table(data)
        if table is None and "targets" not in data and "tool" in data:
            raise UsageError(f"{path}: no [tool.conformance] table")
        return parse_config(table if table is not None else data, path)
    folder = cwd or Path.cwd()
    if (folder / CONFIG_NAME).is_file():
        return parse_config(_read_toml(folder / CONFIG_NAME), folder / CONFIG_NAME)
    pyproject = folder / "pyproject.toml"
    if pyproject.is_file():
        table = _tool_table(_read_toml(pyproject))
        if table is not None:
            return parse_config(table, pyproject)
    raise UsageError(f"no {CONFIG_NAME} and no [tool.conformance] in pyproject.toml in {folder} (use --config FILE)")


@dataclass(frozen=True)
class Overrides:
    """Command-line values that override the file (None: keep the file's)."""

    base_url: str | None = None
    token_env: str | None = None
    restricted_token_env: str | None = None
    other_token_env: str | None = None
    disposable_ids: Sequence[str] = ()
    timeout: float | None = None
    gone_deadline: float | None = None
    budget: float | None = None
    max_requests: int | None = None
    rate_limit: float | None = None
    workers: int | None = None
    allow_destructive: bool = False
    headers: Mapping[str, str] = field(default_factory=dict)
    verify: bool | str | None = None
    proxy: str | None = None

    def apply(self, target: Target) -> Target:
        """``target`` with every given flag applied."""
        changes: dict[str, Any] = {}
        if self.base_url:
            changes["base_url"] = check_base_url(self.base_url)
        for name in ("token_env", "restricted_token_env", "other_token_env"):
            value = getattr(self, name)
            if value:
                if not ENV_NAME.match(value):
                    raise UsageError(f"--{name.replace('_', '-')}: expected an environment variable's NAME")
                changes[name] = value
        for name in ("timeout", "gone_deadline", "budget", "rate_limit"):
            value = getattr(self, name)
            if value is not None:
                if not math.isfinite(value) or value <= 0:
                    raise UsageError(f"--{name.replace('_', '-')}: expected a number > 0, got {value:g}")
                changes[name] = float(value)
        if self.max_requests is not None:
            if self.max_requests < 1:
                raise UsageError(f"--max-requests: expected an integer >= 1, got {self.max_requests}")
            changes["max_requests"] = self.max_requests
        if self.workers is not None:
            changes["workers"] = check_workers(self.workers)
        if self.allow_destructive:
            changes["allow_destructive"] = True
        if self.disposable_ids:
            changes["disposable_ids"] = (*target.disposable_ids, *self.disposable_ids)
        if self.headers:
            changes["extra_headers"] = {**target.extra_headers, **self.headers}
        if self.verify is not None:
            changes["verify"] = self.verify
        if self.proxy is not None:
            changes["proxy"] = self.proxy
        return replace(target, **changes)


def resolve_targets(
    *,
    names: Sequence[str],
    config_path: Path | None,
    vendors: Sequence[str],
    base_url: str | None,
    overrides: Overrides,
) -> tuple[list[Target], Path | None]:
    """The live targets a ``run`` names (``--target`` from the file, or ``--vendor V --base-url URL``), flags
    applied; empty for the embedded mocks. Also the file's report root, if it sets one."""
    if names:
        if vendors:
            raise UsageError("--target and --vendor cannot be combined: a target names its vendor")
        if len(names) > 1 and (
            base_url or overrides.token_env or overrides.restricted_token_env or overrides.other_token_env
        ):
            raise UsageError(
                "--base-url, --token-env, --restricted-token-env and --other-token-env apply to a single --target"
            )
        if len(set(names)) != len(names):
            raise UsageError("a --target is named twice")
        config = load_config(config_path)
        flags = replace(overrides, base_url=base_url)
        return [flags.apply(config.target(name)) for name in names], config.report_root
    if base_url:
        if len(vendors) != 1:
            raise UsageError("--base-url needs exactly one --vendor")
        if vendors[0] not in vendor_names():
            raise UsageError(f"unknown vendor {vendors[0]!r} (known: {', '.join(vendor_names())})")
        return [overrides.apply(live_target(vendors[0], base_url))], None
    if config_path is not None:
        raise UsageError("--config needs --target NAME (see `conformance targets`)")
    return [], None
