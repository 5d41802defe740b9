"""Stoplight Prism (npm ``@stoplight/prism-cli``), the peer mock, run silent.

``python -m benchmarks.prism`` installs it once into a cache folder (npm registry); the benchmark itself only looks
for it there, so a benchmark run talks to 127.0.0.1 only.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import yaml

PACKAGE = "@stoplight/prism-cli@^5"
OAUTH_URL_KEYS = ("authorizationUrl", "tokenUrl", "refreshUrl")
# Prism's fastest configuration: no logging, no CORS handling, static examples, one process.
FLAGS = ("-v", "silent", "--cors", "false")


def install_dir() -> Path:
    """Where Prism is installed: ``$CONFORMANCE_BENCH_PRISM_DIR`` or a folder under the user's cache."""
    override = os.environ.get("CONFORMANCE_BENCH_PRISM_DIR")
    if override:
        return Path(override)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "conformance-bench" / "prism"


def executable() -> tuple[Path | None, str]:
    """Prism's executable, or None and the reason it is unavailable (the benchmark never installs anything)."""
    binary = install_dir() / "node_modules" / ".bin" / "prism"
    if binary.exists():
        return binary, ""
    return None, f"Prism is not installed in {install_dir()} (install it first: python -m benchmarks.prism)"


def install() -> tuple[Path | None, str]:
    """Install Prism with npm into ``install_dir()`` (the one step that needs the npm registry)."""
    if shutil.which("npm") is None:
        return None, "npm not found (install Node.js to compare with Prism)"
    folder = install_dir()
    binary = folder / "node_modules" / ".bin" / "prism"
    if binary.exists():
        return binary, ""
    folder.mkdir(parents=True, exist_ok=True)
    argv = ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(folder), PACKAGE]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=900, check=False)
    except subprocess.TimeoutExpired:
        return None, f"`{' '.join(argv)}` did not finish within 900s"
    if done.returncode != 0 or not binary.exists():
        return None, f"`{' '.join(argv)}` failed: {(done.stderr or done.stdout).strip()[-300:]}"
    return binary, ""


def version(binary: Path) -> str:
    """Prism's version."""
    done = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=60, check=False)
    return done.stdout.strip() or "unknown"


def argv(binary: Path, spec: Path, port: int) -> list[str]:
    """The command that mocks ``spec`` on 127.0.0.1:port."""
    return [str(binary), "mock", str(spec), "-p", str(port), "-h", "127.0.0.1", *FLAGS]


def absolute_oauth_copy(spec: Path, folder: Path) -> Path | None:
    """A copy of ``spec`` whose relative OAuth URLs are made absolute (against its first server); None if none."""
    document: Any = yaml.safe_load(spec.read_text(encoding="utf-8"))
    servers = document.get("servers") or [{"url": "http://localhost/"}]
    base = str(servers[0].get("url", "http://localhost/"))
    changed = False
    for scheme in (document.get("components", {}).get("securitySchemes") or {}).values():
        for flow in (scheme.get("flows") or {}).values():
            for key in OAUTH_URL_KEYS:
                url = flow.get(key)
                if isinstance(url, str) and "://" not in url:
                    flow[key] = urljoin(base, url)
                    changed = True
    if not changed:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / f"{spec.parent.name}-absolute-oauth.yaml"
    copy.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return copy


def main() -> int:
    """Install Prism (``python -m benchmarks.prism``); exit 1 with the reason when it cannot."""
    binary, why = install()
    if binary is None:
        print(f"benchmarks.prism: error: {why}", file=sys.stderr)
        return 1
    print(f"Prism {version(binary)}: {binary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
