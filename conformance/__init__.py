"""conformance: contract and conformance testing of AI platforms' model-management REST APIs.

The names below load on first use (module ``__getattr__``): importing a submodule, such as the ``pytest11``
plugin that every pytest session of the environment loads, does not pay for the catalog and its YAML parser.
"""

from __future__ import annotations

import importlib as _importlib
import typing as _typing

from conformance._version import __version__

if _typing.TYPE_CHECKING:
    from conformance.catalog.loader import all_requirements, load_vendor, vendor_names
    from conformance.catalog.model import Requirement, Vendor
    from conformance.errors import ConformanceError, ExitCode, InfrastructureError, UsageError
    from conformance.target.model import Target

_LAZY = {
    "ConformanceError": "conformance.errors",
    "ExitCode": "conformance.errors",
    "InfrastructureError": "conformance.errors",
    "UsageError": "conformance.errors",
    "Requirement": "conformance.catalog.model",
    "Vendor": "conformance.catalog.model",
    "Target": "conformance.target.model",
    "all_requirements": "conformance.catalog.loader",
    "load_vendor": "conformance.catalog.loader",
    "vendor_names": "conformance.catalog.loader",
}

__all__ = [
    "ConformanceError",
    "ExitCode",
    "InfrastructureError",
    "Requirement",
    "Target",
    "UsageError",
    "Vendor",
    "__version__",
    "all_requirements",
    "load_vendor",
    "vendor_names",
]


def __getattr__(name: str) -> _typing.Any:
    """Import the module defining ``name`` on first access (``from conformance import Target`` works)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'conformance' has no attribute {name!r}")
    value = getattr(_importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
