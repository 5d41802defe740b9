"""The architecture is checked by tools, not prose: import contracts, the public API, vendors as folders."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import conformance

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "conformance"


def test_import_contracts_hold() -> None:
    """import-linter's contracts in pyproject.toml: layers point down, mocks and engine kept apart."""
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.fail("lint-imports is not installed (it is in the dev extra)")
    done = subprocess.run([exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "BROKEN" not in done.stdout and done.stdout.count("KEPT") >= 3


def test_public_api_is_what_all_says() -> None:
    """Every name in ``conformance.__all__`` exists, and nothing public is exported beyond it."""
    for name in conformance.__all__:
        assert hasattr(conformance, name), name
    public = {n for n in vars(conformance) if not n.startswith("_")}
    modules = {n for n in public if type(getattr(conformance, n)).__name__ == "module"}
    assert public - modules <= set(conformance.__all__) | {"annotations"}


def _vendor_words() -> set[str]:
    return {p.name for p in (ROOT / "specs").iterdir() if (p / "vendor.yaml").is_file()}


def test_engine_names_no_vendor() -> None:
    """Outside ``conformance/mock/``, no module's code (strings and names) mentions a vendor by name."""
    words = _vendor_words()
    offenders: list[str] = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] in {"mock", "_specs"}:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            text = None
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                text = node.value.lower()
            elif isinstance(node, ast.Name):
                text = node.id.lower()
            if text and any(word in text for word in words):
                offenders.append(f"{rel}:{getattr(node, 'lineno', '?')}: {text[:60]!r}")
    assert not offenders, "\n".join(offenders)
