"""Packaging: the wheel built from this tree installs and runs on its own; the GitHub Action and the CI recipes
install THIS project (the distribution model-api-conformance), never PyPI's unrelated ``conformance``."""

from __future__ import annotations

import ast
import email.parser
import email.policy
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import conformance

ROOT = Path(__file__).resolve().parents[2]
DIST = "model-api-conformance"
VENDORS = ("blaxel", "oxen", "baseten")
# Never copied into the build tree: caches, environments, VCS (anywhere); outputs (at the root only: the package has a
# conformance/reports/ of its own).
_NOT_SOURCE_ANYWHERE = shutil.ignore_patterns(
    ".git", ".venv", ".tox", "*.egg-info", "__pycache__", ".mypy_cache", ".ruff_cache", ".hypothesis", ".schemathesis",
    "node_modules", "*.pyc",
)  # fmt: skip
_NOT_SOURCE_AT_ROOT = {"build", "dist", "reports"}


def _not_source(folder: str, names: list[str]) -> set[str]:
    ignored = set(_NOT_SOURCE_ANYWHERE(folder, names))
    return ignored | (_NOT_SOURCE_AT_ROOT & set(names)) if Path(folder) == ROOT else ignored


# `pip install conformance`, `pip install -q conformance==0.1`, `pip install conformance ./sdk` (not -e . or a path)
_PIP_INSTALL_PYPI_CONFORMANCE = re.compile(r"pip3?\s+install\s+(?:-\S+\s+)*conformance(?=$|[\s=<>!~\[;])", re.M)


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}}
    env["PYTHONNOUSERSITE"] = "1"
    return env


def _run(argv: list[str | Path], cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in argv], cwd=cwd, env=_clean_env(), capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel of this tree, built from a fresh copy (no stale build/ can leak deleted modules into it)."""
    setuptools = importlib.metadata.version("setuptools")
    if int(setuptools.split(".")[0]) < 77:
        pytest.fail(f"setuptools {setuptools} < 77 (the dev extra asks for it): pip install -e '.[dev]'")
    base = tmp_path_factory.mktemp("wheel")
    src = base / "src"
    shutil.copytree(ROOT, src, symlinks=True, ignore=_not_source)  # conformance/_specs stays a symlink to specs/
    out = base / "dist"
    build = _run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index", "-w", out, src],
        cwd=base,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    (found,) = out.glob("*.whl")
    return found


@pytest.fixture(scope="module")
def clean_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new venv holding the wheel and nothing of the checkout.

    Its third-party dependencies are those of the development venv, without installing them again (no network):
    a folder of links to every entry of this venv's site-packages except this project's own (the editable install,
    its finder and .pth hooks, its dist-info), named in one .pth file of the new venv. The wheel itself is
    installed by pip, so its console script, entry points and package data are the wheel's."""
    base = tmp_path_factory.mktemp("venv")
    venv = base / "venv"
    made = _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=base)
    assert made.returncode == 0, made.stderr
    deps = base / "deps"
    deps.mkdir()
    own = re.compile(r"^(__editable__|model_api_conformance|conformance)|\.pth$|\.egg-link$", re.I)
    for folder in dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]):
        for entry in Path(folder).iterdir():
            if not own.search(entry.name) and not (deps / entry.name).exists():
                (deps / entry.name).symlink_to(entry)
    python = venv / "bin" / "python"
    site = _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=base)
    (Path(site.stdout.strip()) / "_development_dependencies.pth").write_text(f"{deps}\n", encoding="utf-8")
    install = _run([python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", wheel], cwd=base)
    assert install.returncode == 0, install.stdout + install.stderr
    return venv


_WHEEL_RUNS: dict[Path, Path] = {}


def _wheel_run(venv: Path) -> Path:
    """The report folder of one ``conformance run --vendor baseten`` by the installed wheel, from outside the checkout
    (run once per venv)."""
    if venv not in _WHEEL_RUNS:
        cwd = venv.parent / "elsewhere"
        cwd.mkdir()
        reports = cwd / "reports"
        run = _run([venv / "bin" / "conformance", "run", "--vendor", "baseten", "--report-dir", reports], cwd=cwd)
        assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
        _WHEEL_RUNS[venv] = reports
    return _WHEEL_RUNS[venv]


def _wheel_metadata(wheel: Path) -> tuple[zipfile.ZipFile, str, email.message.Message]:
    archive = zipfile.ZipFile(wheel)
    (info,) = {n.split("/")[0] for n in archive.namelist() if n.split("/")[0].endswith(".dist-info")}
    meta = email.parser.Parser(policy=email.policy.compat32).parsestr(archive.read(f"{info}/METADATA").decode())
    return archive, info, meta


def test_wheel_carries_license_specs_and_entry_points(wheel: Path) -> None:
    archive, info, meta = _wheel_metadata(wheel)
    names = set(archive.namelist())
    assert meta["Name"] == DIST and meta["Version"] == conformance.__version__
    assert meta["License-Expression"] == "Apache-2.0" and meta.get_all("License-File") == ["LICENSE"]
    license_text = archive.read(f"{info}/licenses/LICENSE").decode()
    assert "Apache License" in license_text and "Version 2.0, January 2004" in license_text
    for vendor in VENDORS:
        for data in ("openapi.yaml", "vendor.yaml", "requirements.yaml", "client-requirements.yaml", "faults.yaml"):
            assert f"conformance/_specs/{vendor}/{data}" in names
    assert "conformance/py.typed" in names
    sources = {p.relative_to(ROOT).as_posix() for p in (ROOT / "conformance").rglob("*.py") if "_specs" not in p.parts}
    assert sources - names == set()  # every module and sub-package (one without __init__.py would be left out)
    assert not {n for n in names if n.startswith(("tests/", "benchmarks/", "specs/", "examples/"))}
    entry_points = archive.read(f"{info}/entry_points.txt").decode()
    assert "[console_scripts]\nconformance = conformance.cli.main:main" in entry_points
    assert "[pytest11]\nconformance = conformance.run.plugin" in entry_points


def _imports(tree: ast.Module) -> Iterator[str]:
    """Top-level names of the absolute imports of a module (anywhere in it, except ``if TYPE_CHECKING:`` blocks)."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(inner) for inner in ast.walk(node))
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0]


def test_every_imported_third_party_package_is_declared(wheel: Path) -> None:
    archive, _, meta = _wheel_metadata(wheel)
    requires = [Requirement(r) for r in meta.get_all("Requires-Dist") or []]
    declared = {canonicalize_name(r.name) for r in requires if r.marker is None or "extra" not in str(r.marker)}
    providers = importlib.metadata.packages_distributions()
    missing: dict[str, str] = {}
    for name in archive.namelist():
        if not name.endswith(".py"):
            continue
        for module in _imports(ast.parse(archive.read(name), filename=name)):
            if module in sys.stdlib_module_names or module in {"conformance", "__future__"}:
                continue
            dists = {canonicalize_name(d) for d in providers.get(module, [])}
            if not dists & declared:
                missing[module] = f"{name} imports {module} (from {sorted(dists) or 'no installed distribution'})"
    assert not missing, "imported but not in [project].dependencies: " + "; ".join(missing.values())


def test_the_installed_wheel_runs_outside_the_checkout(clean_venv: Path, tmp_path: Path) -> None:
    bin_dir = clean_venv / "bin"
    version = _run([bin_dir / "conformance", "--version"], cwd=tmp_path)
    assert (version.returncode, version.stdout.strip()) == (0, f"conformance {conformance.__version__}")
    where = _run(
        [
            bin_dir / "python",
            "-c",
            "import conformance, conformance.catalog as c, importlib.metadata as m; "
            "print(conformance.__file__); print(c.__file__); print(m.version('model-api-conformance')); "
            "print(sorted(ep.value for ep in m.entry_points(group='pytest11') if ep.value.startswith('conformance')))",
        ],
        cwd=tmp_path,
    )
    assert where.returncode == 0, where.stderr
    package, catalog, dist_version, plugins = where.stdout.splitlines()
    assert Path(package).is_relative_to(clean_venv) and Path(catalog).is_relative_to(clean_venv), where.stdout
    assert dist_version == conformance.__version__ and plugins == "['conformance.run.plugin']"
    specs = Path(catalog).parent.parent / "_specs"
    assert not specs.is_symlink() and (specs / "baseten" / "openapi.yaml").is_file()  # shipped, not the checkout's

    reports = _wheel_run(clean_venv)
    results = json.loads((reports / "results.json").read_text(encoding="utf-8"))
    assert results["format"] == "conformance-results" and results["summary"]["must_failed"] == 0
    assert {t["vendor"] for t in results["targets"]} == {"baseten"} and results["results"]
    assert (reports / "summary.md").is_file() and (reports / "junit.xml").is_file()


def test_results_record_the_suite_version(clean_venv: Path) -> None:
    versions = json.loads((_wheel_run(clean_venv) / "results.json").read_text(encoding="utf-8"))["tool_versions"]
    assert conformance.__version__ in {versions.get("conformance"), versions.get(DIST)}


def test_distribution_name_console_script_and_plugin() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["name"] == DIST  # `conformance` on PyPI is an unrelated project
    assert project["scripts"] == {"conformance": "conformance.cli.main:main"}
    assert project["entry-points"]["pytest11"] == {"conformance": "conformance.run.plugin"}
    assert project["dynamic"] == ["version"] and "version" not in project  # one source: conformance.__version__
    (schemathesis,) = [Requirement(r) for r in project["dependencies"] if r.startswith("schemathesis")]
    assert schemathesis.specifier.contains("4.32.5") and not schemathesis.specifier.contains("4.33.0")


def _pins() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not NAME==VERSION"
            pins[canonicalize_name(name)] = version
    return pins


def test_constraints_pin_every_dependency_within_its_range() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pins = _pins()
    for text in [*project["dependencies"], *project["optional-dependencies"]["dev"]]:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"constraints.txt has no pin for {name}"
        assert requirement.specifier.contains(pins[name]), f"constraints.txt: {name}=={pins[name]} outside {text!r}"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    installs = [line for line in ci.splitlines() if re.search(r"pip install .*-e '\.", line)]
    assert installs and all("-c constraints.txt" in line for line in installs)


def test_ci_runs_exactly_the_readme_test_command() -> None:
    """.ci/run's test step is the README's (quick start, second command), parallel options and all."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (command,) = re.findall(r"^# 2\. the project's tests.*\n(.+)$", readme, flags=re.M)
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert ci[ci.index("# the README's test command:") + 1] == command
    assert "-n auto" in command, "the default run uses every core (pytest-xdist, the dev extra)"


# --- the GitHub Action ----------------------------------------------------------------------------------------

_EXPR = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")


def _action() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _step(action: Mapping[str, Any], step_id: str) -> dict[str, Any]:
    (step,) = [s for s in action["runs"]["steps"] if s.get("id") == step_id]
    return dict(step)


def test_action_inputs_are_declared_and_used() -> None:
    action = _action()
    assert action["runs"]["using"] == "composite"
    declared = set(action["inputs"])
    text = json.dumps(action["runs"]) + json.dumps(action.get("outputs", {}))
    used = set(re.findall(r"inputs\.([A-Za-z0-9_-]+)", " ".join(_EXPR.findall(text))))
    assert used == declared, f"declared, unused: {declared - used}; used, undeclared: {used - declared}"
    briefed = {"vendor", "base-url", "token-env", "profile", "args", "report-dir", "python-version", "suite-ref"}
    assert briefed <= declared
    run = _step(action, "run")
    wiring = {name: value for name, value in run["env"].items() if str(value).startswith("${{ inputs.")}
    expected = {"vendor", "base-url", "token-env", "target", "config", "profile", "args", "report-dir", "command"}
    assert {_EXPR.search(v).group(1).removeprefix("inputs.") for v in wiring.values()} == expected  # type: ignore[union-attr]
    for variable in wiring:
        assert f"${variable}" in run["run"], f"the run step never uses ${variable}"
    assert "${{" not in run["run"]  # inputs reach the script as variables, never spliced into its text


def test_action_installs_this_project_and_publishes_the_reports() -> None:
    action = _action()
    steps = action["runs"]["steps"]
    install = _step(action, "install")
    assert install["env"]["ACTION_PATH"] == "${{ github.action_path }}"
    assert '-c "$ACTION_PATH/constraints.txt" "$suite"' in install["run"] and 'suite="$ACTION_PATH"' in install["run"]
    assert not _PIP_INSTALL_PYPI_CONFORMANCE.search(install["run"])
    assert any(str(s.get("uses", "")).startswith("actions/setup-python@") for s in steps)
    (summary,) = [s for s in steps if "GITHUB_STEP_SUMMARY" in s.get("run", "")]
    assert summary["if"].startswith("always()") and "summary.md" in summary["run"]
    (upload,) = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact@")]
    assert upload["if"].startswith("always()") and upload["with"]["path"] == "${{ inputs.report-dir }}"
    last = steps[-1]
    assert last["if"].startswith("always()") and last["env"]["CODE"] == "${{ steps.run.outputs.exit-code }}"
    assert 'exit "${CODE' in last["run"]
    assert action["outputs"]["exit-code"]["value"] == "${{ steps.run.outputs.exit-code }}"


def _evaluate(value: str, inputs: Mapping[str, str], context: Mapping[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        expr = match.group(1)
        return inputs[expr.removeprefix("inputs.")] if expr.startswith("inputs.") else context[expr]

    return _EXPR.sub(one, value)


def _run_step(step: Mapping[str, Any], inputs: Mapping[str, str], tmp: Path) -> tuple[int, dict[str, str]]:
    """Run one of the action's bash steps as the runner would (its env evaluated); returns its code and outputs."""
    action = _action()
    values = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()} | dict(inputs)
    context = {"runner.temp": str(tmp / "runner-temp"), "github.action_path": str(ROOT)}
    env = _clean_env() | {k: _evaluate(str(v), values, context) for k, v in step.get("env", {}).items()}
    env["VENV"] = sys.prefix  # the development venv stands in for the one the install step makes
    outputs = tmp / "github-output"
    outputs.touch()
    env |= {"GITHUB_OUTPUT": str(outputs), "GITHUB_STEP_SUMMARY": str(tmp / "step-summary.md")}
    done = subprocess.run(
        ["bash", "-e", "-c", step["run"]], cwd=tmp, env=env, capture_output=True, text=True, timeout=240, check=False
    )
    found = dict(line.split("=", 1) for line in outputs.read_text(encoding="utf-8").splitlines() if "=" in line)
    return done.returncode, found


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("--seed 7 --requirement 'BTN-DELETE-EXISTING-200'", "0"),
        ("--seed 7 --requirement BTN-DELETE-EXISTING-200 --fault baseten-delete-202", "1"),  # a MUST fails: exit 1
    ],
)
def test_action_run_step_passes_inputs_and_the_exit_code(extra: str, expected: str, tmp_path: Path) -> None:
    action = _action()
    inputs = {"vendor": "baseten", "profile": "quick", "args": extra, "report-dir": "out/reports"}
    code, outputs = _run_step(_step(action, "run"), inputs, tmp_path)
    assert (code, outputs.get("exit-code")) == (0, expected)  # the step records the code; the last step exits with it
    results = json.loads((tmp_path / "out" / "reports" / "results.json").read_text(encoding="utf-8"))
    assert results["seed"] == 7 and results["profile"] == "quick"
    assert {t["vendor"] for t in results["targets"]} == {"baseten"}
    (summary_step,) = [s for s in action["runs"]["steps"] if "GITHUB_STEP_SUMMARY" in s.get("run", "")]
    assert _run_step(summary_step, inputs, tmp_path)[0] == 0
    assert (tmp_path / "step-summary.md").read_text(encoding="utf-8").strip()
    last = action["runs"]["steps"][-1]
    passed_on = subprocess.run(
        ["bash", "-e", "-c", last["run"]], env={**os.environ, "CODE": outputs["exit-code"]}, capture_output=True
    )
    assert passed_on.returncode == int(expected)


def test_ci_recipes_use_the_action_and_never_pypi_conformance() -> None:
    recipes = sorted((ROOT / "examples" / "ci").glob("*.yml"))
    assert recipes
    for recipe in recipes:
        text = recipe.read_text(encoding="utf-8")
        assert not _PIP_INSTALL_PYPI_CONFORMANCE.search(text), f"{recipe.name} installs PyPI's `conformance`"
        assert "OWNER" in text.split("\nname:")[0], f"{recipe.name}: the placeholder owner is not explained"
        for name, job in yaml.safe_load(text)["jobs"].items():
            steps = job["steps"]
            action_at = [i for i, s in enumerate(steps) if re.fullmatch(r"OWNER/conformance@\S+", s.get("uses", ""))]
            calls = [i for i, s in enumerate(steps) if re.search(r"(^|\n|\s)conformance\s", s.get("run", ""))]
            if calls or any("conformance" in str(s.get("uses", "")) for s in steps):
                assert action_at and action_at[0] < min(calls, default=len(steps)), f"{recipe.name}: job {name}"
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        assert not _PIP_INSTALL_PYPI_CONFORMANCE.search(doc.read_text(encoding="utf-8")), doc.name
