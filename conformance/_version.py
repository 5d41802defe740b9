"""The one version source: pyproject.toml reads it statically (setuptools `attr:`), the code imports it.

The distribution is named model-api-conformance (`conformance` on PyPI is an unrelated project), so code that
reports the suite's version uses this, never ``importlib.metadata.version("conformance")``.
"""

__version__ = "0.1.0"
