"""Allure extras written beside allure-pytest's results: environment.properties and categories.json."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from conformance.results import RunResults

# Matched by Allure against each failed test's message, which the plugin words "[LEVEL ID] status: reason".
CATEGORIES: list[dict[str, Any]] = [
    {
        "name": "Conformance failures: MUST",
        "description": "The target broke a MUST requirement of its published contract.",
        "matchedStatuses": ["failed"],
        "messageRegex": r"(?s).*\[MUST [A-Z0-9-]+\] failed: .*",
    },
    {
        "name": "Conformance failures: SHOULD",
        "description": "The target broke a SHOULD requirement (inferred or a convention).",
        "matchedStatuses": ["failed"],
        "messageRegex": r"(?s).*\[SHOULD [A-Z0-9-]+\] failed: .*",
    },
    {
        "name": "Target or run errors (not judged)",
        "description": "Transport error, timeout, exhausted budget: the requirement could not be judged.",
        "matchedStatuses": ["failed", "broken"],
        "messageRegex": r"(?s).*\[(MUST|SHOULD) [A-Z0-9-]+\] error: .*",
    },
    {
        "name": "Suite defects",
        "description": "An exception in the suite itself: report it to the suite's maintainers.",
        "matchedStatuses": ["broken"],
    },
]

_KEY_ESCAPES = str.maketrans({"\\": "\\\\", "=": "\\=", ":": "\\:", " ": "\\ ", "#": "\\#", "!": "\\!"})


def _without_userinfo(url: str) -> str:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="[REDACTED]@" + parts.netloc.rsplit("@", 1)[1]))


def environment_properties(results: RunResults, redact: Callable[[str], str] = str) -> str:
    """Allure's environment.properties: run id, seed, profile, each target, spec versions and tool versions."""
    rows: list[tuple[str, str]] = [
        ("run_id", results.run_id),
        ("profile", results.profile),
        ("seed", str(results.seed)),
    ]
    for target in results.targets:
        vendor = str(target.get("vendor", ""))
        rows.append((f"target.{target.get('name')}", f"{vendor} {_without_userinfo(str(target.get('base_url', '')))}"))
        rows.append((f"spec.{vendor}", str(target.get("spec_version", ""))))
    rows += [(f"tool.{name}", version) for name, version in sorted(results.tool_versions.items())]
    seen: dict[str, str] = dict(rows)
    lines = [f"{key.translate(_KEY_ESCAPES)}={_value(redact(value))}" for key, value in seen.items()]
    return "\n".join(lines) + "\n"


def _value(text: str) -> str:
    return re.sub(r"[\r\n]+", " ", text).replace("\\", "\\\\")


def write_allure_extras(allure_dir: Path, results: RunResults, redact: Callable[[str], str] = str) -> None:
    """Write environment.properties and categories.json into an allure-results directory."""
    allure_dir.mkdir(parents=True, exist_ok=True)
    (allure_dir / "environment.properties").write_text(environment_properties(results, redact), encoding="utf-8")
    (allure_dir / "categories.json").write_text(json.dumps(CATEGORIES, indent=2) + "\n", encoding="utf-8")
