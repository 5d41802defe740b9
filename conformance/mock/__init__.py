"""Reference servers (faithful by default, with named faults) for the vendors under test.

With ``MockOptions(validate=True, spec_dir=...)`` a server also judges every request against the vendor's
published contract and records each exchange (``app.state.traffic``, and ``record_path`` as JSON lines).
"""

from __future__ import annotations

from collections.abc import Callable

from . import baseten, blaxel, oxen
from ._common import MockApp, MockOptions, UnknownFault

__all__ = ["VENDORS", "MockApp", "MockOptions", "UnknownFault", "create_app", "faults_of"]

VENDORS: tuple[str, ...] = ("blaxel", "oxen", "baseten")

_FACTORIES: dict[str, Callable[[MockOptions | None], MockApp]] = {
    "blaxel": blaxel.create_app,
    "oxen": oxen.create_app,
    "baseten": baseten.create_app,
}
_FAULTS: dict[str, dict[str, str]] = {
    "blaxel": blaxel.FAULTS,
    "oxen": oxen.FAULTS,
    "baseten": baseten.FAULTS,
}


def _known(vendor: str) -> str:
    """Return vendor if it is served, else raise UnknownFault."""
    if vendor not in _FACTORIES:
        raise UnknownFault(f"unknown vendor {vendor!r}; expected one of: {', '.join(VENDORS)}")
    return vendor


def faults_of(vendor: str) -> dict[str, str]:
    """Return the vendor's fault names mapped to one-line descriptions."""
    return dict(_FAULTS[_known(vendor)])


def create_app(vendor: str, options: MockOptions | None = None) -> MockApp:
    """Build the reference app of vendor; ValueError (UnknownFault) on an unknown vendor or fault, or bad specs."""
    app = _FACTORIES[_known(vendor)](options)
    if options is not None and options.mutant:
        from ._mutants import install as install_mutant

        install_mutant(app, vendor, options)
    if options is not None and options.validate:
        from ._validating import install

        install(app, vendor, options)
    return app
