"""conformance: contract and conformance testing of AI platforms' model-management REST APIs."""

from conformance._version import __version__
from conformance.catalog.loader import all_requirements, load_vendor, vendor_names
from conformance.catalog.model import Requirement, Vendor
from conformance.errors import ConformanceError, ExitCode, InfrastructureError, UsageError
from conformance.target.model import Target

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
