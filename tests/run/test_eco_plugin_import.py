"""The ``pytest11`` plugin costs next to nothing in pytest sessions that do not use the conformance options."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import conformance.run.plugin

HEAVY = ("schemathesis", "hypothesis", "httpx", "jsonschema", "yaml", "conformance.catalog", "conformance.checks")
ALLOWED_TOP = {"pytest", "__future__", *sys.stdlib_module_names}


def _loaded_after(code: str, cwd: Path | None = None) -> list[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    # Other packages' pytest11 plugins (schemathesis, hypothesis, allure) import their own stacks: only ours loads.
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True, cwd=cwd, env=env
    )
    modules: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return [m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY)]


def test_the_plugin_module_imports_only_pytest_and_the_stdlib_at_module_level() -> None:
    tree = ast.parse(Path(conformance.run.plugin.__file__).read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in tree.body:  # module level only: imports inside hooks and ``if TYPE_CHECKING`` are lazy
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module.split(".")[0])
    assert found, "the parse found no import at all"
    assert found <= ALLOWED_TOP, f"module-level imports beyond pytest and the stdlib: {sorted(found - ALLOWED_TOP)}"


def test_importing_the_plugin_loads_none_of_the_heavy_dependencies() -> None:
    assert _loaded_after("import conformance.run.plugin") == []


def test_a_pytest_session_without_conformance_options_never_loads_the_suite(tmp_path: Path) -> None:
    (tmp_path / "test_plain.py").write_text("def test_one():\n    assert 1 + 1 == 2\n", encoding="utf-8")
    code = (
        "import pytest, io, contextlib\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    code = pytest.main(['-q', '-p', 'conformance.run.plugin', '-p', 'no:cacheprovider', '.'])\n"
        "assert code == 0, code"
    )
    assert _loaded_after(code, cwd=tmp_path) == []


def test_the_package_keeps_its_public_names() -> None:
    import conformance

    missing = [name for name in conformance.__all__ if not hasattr(conformance, name)]
    assert missing == []
    assert conformance.Target.__module__ == "conformance.target.model"
