"""A disk cache of loaded vendors: the validated catalog and the rows derived from ``openapi.yaml``, per content.

``load_vendor`` parses four or five YAML files, validates each against its JSON Schema and derives rows from the
spec at every run, for the same files (about 30 ms, and the import of the YAML parser). The result is kept in
``$CONFORMANCE_CACHE_DIR`` (default ``$XDG_CACHE_HOME/conformance``, else ``~/.cache/conformance``; ``off``
disables it), one file per vendor folder, holding the SHA-256 of every file it was built from (and which were
absent) and of the code that builds it (this package and its schemas). A hit is used only when every one of those
still matches; anything else (a stale spec, a file that cannot be read or decoded, a cache from other code) is a
miss: the vendor is loaded from its files and the entry rewritten. The entries are ``marshal`` data of plain
values (no pickle: loading one runs no code), rebuilt into the catalog's dataclasses by name.
"""

from __future__ import annotations

import dataclasses
import hashlib
import marshal
import os
import sys
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from conformance.catalog import model

CACHE_ENV = "CONFORMANCE_CACHE_DIR"
FORMAT = 1
_CLASSES: dict[str, type[Any]] = {
    cls.__name__: cls for cls in (model.Vendor, model.Requirement, model.Source, model.AuthScheme, model.Operation)
}
_DATACLASS = "\x00conformance-dataclass"
_PATH = "\x00conformance-path"
_PLAIN = (str, int, float, bool, type(None), bytes)


def cache_dir() -> Path | None:
    """Where entries go, or None when caching is off (``CONFORMANCE_CACHE_DIR=off``)."""
    chosen = os.environ.get(CACHE_ENV, "")
    if chosen.lower() in {"off", "0", "none"}:
        return None
    if chosen:
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "conformance"


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


_CODE: list[str] = []


def code_fingerprint() -> str:
    """The SHA-256 of the catalog's code and schemas (a change to how a vendor is built invalidates every entry)."""
    if not _CODE:
        root = Path(__file__).parent
        digest = hashlib.sha256(f"{FORMAT} {sys.version}".encode())
        for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in {".py", ".json"}):
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
        _CODE.append(digest.hexdigest())
    return _CODE[0]


def _entry_path(root: Path, folder: Path, name: str) -> Path:
    where = hashlib.sha256(f"{folder.resolve()}\0{name}".encode()).hexdigest()[:24]
    return root / f"vendor-{name}-{where}.marshal"


def _encode(value: Any) -> Any:
    if isinstance(value, _PLAIN):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        name = type(value).__name__
        if _CLASSES.get(name) is not type(value):
            raise TypeError(f"not a catalog dataclass: {name}")
        fields = {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return (_DATACLASS, name, fields)
    if isinstance(value, Path):
        return (_PATH, str(value))
    if isinstance(value, Mapping) and type(value) is dict:
        return {_encode(k): _encode(v) for k, v in value.items()}
    if type(value) is list:
        return [_encode(v) for v in value]
    if type(value) is tuple:
        return tuple(_encode(v) for v in value)
    raise TypeError(f"cannot cache a {type(value).__name__}")


def _decode(value: Any) -> Any:
    if isinstance(value, tuple):
        if len(value) == 3 and value[0] == _DATACLASS:
            cls = _CLASSES[value[1]]
            return cls(**{k: _decode(v) for k, v in value[2].items()})
        if len(value) == 2 and value[0] == _PATH:
            return Path(value[1])
        return tuple(_decode(v) for v in value)
    if isinstance(value, dict):
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def load(folder: Path, name: str) -> model.Vendor | None:
    """The cached vendor of ``folder``, or None (no entry, stale, unreadable, corrupt: never an error)."""
    root = cache_dir()
    if root is None:
        return None
    try:
        entry = marshal.loads(_entry_path(root, folder, name).read_bytes())
        if not isinstance(entry, dict) or entry.get("format") != FORMAT or entry.get("code") != code_fingerprint():
            return None
        inputs = entry["inputs"]
        if not isinstance(inputs, dict) or not inputs:
            return None
        if any(_digest(Path(path)) != digest for path, digest in inputs.items()):
            return None
        vendor = _decode(entry["vendor"])
    except Exception:
        return None
    return vendor if isinstance(vendor, model.Vendor) and vendor.name == name else None


def store(folder: Path, name: str, vendor: model.Vendor, inputs: Iterable[Path]) -> None:
    """Keep ``vendor``, built from ``inputs`` (absent ones included), for the next run; failures are ignored."""
    root = cache_dir()
    if root is None:
        return
    try:
        entry = {
            "format": FORMAT,
            "code": code_fingerprint(),
            "inputs": {str(p): _digest(p) for p in inputs},
            "vendor": _encode(vendor),
        }
        data = marshal.dumps(entry)
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle, temporary = tempfile.mkstemp(dir=root, prefix=".vendor-", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temporary, _entry_path(root, folder, name))
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except (OSError, TypeError, ValueError):  # a read-only home, a value marshal cannot hold: run without cache
        return
