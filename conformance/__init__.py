"""conformance: contract and conformance testing of AI platforms' model-management REST APIs."""

from conformance.catalog.loader import all_requirements, load_vendor, vendor_names
from conformance.catalog.model import Requirement, Vendor
from conformance.errors import ConformanceError, ExitCode, InfrastructureError, UsageError
from conformance.target.model import Target

__version__ = "0.1.0"

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
