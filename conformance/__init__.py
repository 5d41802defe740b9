"""conformance: contract and conformance testing of AI platforms' model-management REST APIs."""

from conformance.catalog.loader import all_requirements, load_vendor, vendor_names
from conformance.catalog.model import Requirement, Vendor
from conformance.errors import ConformanceError, ExitCode, InfrastructureError, UsageError
from conformance.target.model import Target

# The one version source: pyproject.toml reads it (setuptools `attr:`) for the distribution model-api-conformance.
# Code that reports the suite's version uses this, not importlib.metadata.version("conformance"): the distribution
# is not named like the import package.
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
