"""Reference servers (faithful by default, with named faults) for the vendors under test.

Vendors are discovered, never listed: every public module of this package that defines ``VENDOR``, ``FAULTS`` and
``create_app`` serves that vendor, and ``load_mock_module(path)`` adds one from a user's vendor folder (its
``mock.py``). With ``MockOptions(validate=True, spec_dir=...)`` a server also judges every request against the
vendor's published contract and records each exchange (``app.state.traffic``, and ``record_path`` as JSON lines).
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from ._common import MockApp, MockOptions, UnknownFault

__all__ = [
    "MockApp",
    "MockOptions",
    "UnknownFault",
    "create_app",
    "faults_of",
    "load_mock_module",
    "mutants_of",
    "quirks_of",
    "vendors",
    "waiting_quirks",
]

_LOCK = threading.Lock()
_MODULES: dict[str, ModuleType] = {}
_DISCOVERED = False


def _register(module: ModuleType, where: str) -> str:
    """Add a vendor module after checking it has what a mock module needs."""
    missing = [name for name in ("VENDOR", "FAULTS", "create_app") if not hasattr(module, name)]
    if missing:
        raise UnknownFault(f"{where} is not a mock module: it lacks {', '.join(missing)}")
    vendor = str(module.VENDOR)
    known = _MODULES.get(vendor)
    if known is not None and known is not module:
        raise UnknownFault(f"{where}: a mock for vendor {vendor!r} is already registered ({known.__name__})")
    _MODULES[vendor] = module
    return vendor


def _discover() -> None:
    global _DISCOVERED
    with _LOCK:
        if _DISCOVERED:
            return
        for info in pkgutil.iter_modules(__path__):
            if info.name.startswith("_"):
                continue
            module = importlib.import_module(f"{__name__}.{info.name}")
            if hasattr(module, "VENDOR"):
                _register(module, module.__name__)
        _DISCOVERED = True


def load_mock_module(path: Path) -> str:
    """Import a vendor folder's ``mock.py`` (or the file given) and serve its vendor; returns the vendor name."""
    _discover()
    file = path / "mock.py" if path.is_dir() else path
    if not file.is_file():
        raise UnknownFault(f"no mock module at {file}")
    name = f"conformance_user_mock_{abs(hash(str(file.resolve())))}"
    with _LOCK:
        if name in sys.modules:
            return _register(sys.modules[name], str(file))
        spec = importlib.util.spec_from_file_location(name, file)
        if spec is None or spec.loader is None:
            raise UnknownFault(f"cannot import {file}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            del sys.modules[name]
            raise UnknownFault(f"{file}: {type(exc).__name__}: {exc}") from None
        return _register(module, str(file))


def vendors() -> tuple[str, ...]:
    """The vendors a mock is served for, sorted."""
    _discover()
    return tuple(sorted(_MODULES))


def _module(vendor: str) -> ModuleType:
    _discover()
    if vendor not in _MODULES:
        raise UnknownFault(f"unknown vendor {vendor!r}; expected one of: {', '.join(vendors())}")
    return _MODULES[vendor]


def faults_of(vendor: str) -> dict[str, str]:
    """Return the vendor's fault names mapped to one-line descriptions."""
    return dict(_module(vendor).FAULTS)


def quirks_of(vendor: str) -> dict[str, str]:
    """Return the vendor's quirk names (correct-but-unusual behaviours) mapped to one-line descriptions."""
    return dict(getattr(_module(vendor), "QUIRKS", {}))


def waiting_quirks() -> frozenset[str]:
    """The quirks whose answers make a client wait (Retry-After, a delay per request): a run is mostly asleep."""
    from ._quirks import WAITING

    return WAITING


def mutants_of(vendor: str) -> dict[str, tuple[str, str, bool, str]]:
    """The spec-derived mutants of the vendor's mock: name -> (operation role, kind, equivalent?, description)."""
    from ._mutants import default_spec_dir
    from ._mutants import mutants_of as derive

    _module(vendor)
    return {
        name: (m.operation, m.kind, m.equivalent, m.reason or m.description)
        for name, m in derive(vendor, default_spec_dir(vendor)).items()
    }


def create_app(vendor: str, options: MockOptions | None = None) -> MockApp:
    """Build the reference app of vendor; ValueError (UnknownFault) on an unknown vendor, fault, quirk or bad specs."""
    factory: Callable[[MockOptions | None], MockApp] = _module(vendor).create_app
    app = factory(options)
    if options is not None and options.mutant:
        from ._mutants import install as install_mutant

        install_mutant(app, vendor, options)
    if options is not None and options.validate:
        from ._validating import install

        install(app, vendor, options)
    return app
