"""The machine a benchmark ran on: cores, CPU, memory, Python, package and tool versions, load."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from importlib import metadata
from typing import Any

PACKAGES = (
    "model-api-conformance",
    "schemathesis",
    "hypothesis",
    "pytest",
    "starlette",
    "uvicorn",
    "granian",
    "httptools",
    "uvloop",
    "httpx",
    "jsonschema",
    "jsonschema-rs",
)
# Environment variables that change the figures (bytecode caching, pytest options).
ENVIRONMENT = ("PYTHONDONTWRITEBYTECODE", "PYTEST_ADDOPTS", "PYTHONOPTIMIZE")


def package_versions() -> dict[str, str]:
    """Installed versions of the packages that matter to the figures ("absent" when not installed)."""
    versions: dict[str, str] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    try:
        with open("/proc/meminfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return 0.0


def tool_version(argv: list[str]) -> str:
    """The first line a tool prints about its version, or "absent"."""
    if shutil.which(argv[0]) is None:
        return "absent"
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    text = (done.stdout or done.stderr).strip().splitlines()
    return text[0].strip() if text else "unknown"


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages (other work on the machine skews every figure)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def describe() -> dict[str, Any]:
    """Everything about the machine that a reader needs beside a figure."""
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cores": os.cpu_count(),
        "usable_cores": affinity,
        "cpu": _cpu_model(),
        "memory_gib": _memory_gib(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "packages": package_versions(),
        "tools": {"wrk": tool_version(["wrk", "-v"]), "node": tool_version(["node", "--version"])},
        "environment": {name: os.environ.get(name, "") for name in ENVIRONMENT},
        "load_average_at_start": load_average(),
    }
