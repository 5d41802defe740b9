"""The target configuration: conformance.toml or [tool.conformance], validated; flags override it; dry runs."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from conformance.errors import UsageError
from conformance.target.config import Overrides, load_config, resolve_targets
from conformance.target.model import Target, cleanup_reserve, with_deadline, with_slots
from tests.helpers import ROOT, run_cli

VALID = """
report_root = "nightly-reports"

[defaults]
timeout = 5
budget = 600
rate_limit = 4

[targets.blaxel-staging]
vendor = "blaxel"
base_url = "https://staging.example.test/v0"
token_env = "BLAXEL_STAGING_TOKEN"
restricted_token_env = "BLAXEL_STAGING_READONLY_TOKEN"
allow_destructive = true
name_prefix = "nightly"
max_live_resources = 10
headers = { X-Blaxel-Workspace = "conformance" }

[targets.oxen-staging]
vendor = "oxen"
base_url = "https://oxen.example.test"
disposable_ids = ["model-a", "model-b"]
timeout = 20
verify = false
"""


def _write(tmp_path: Path, text: str, name: str = "conformance.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_valid_file_gives_named_targets_with_defaults_applied(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, VALID))
    assert list(config.targets) == ["blaxel-staging", "oxen-staging"]
    blaxel = config.target("blaxel-staging")
    assert blaxel.vendor == "blaxel" and blaxel.base_url == "https://staging.example.test/v0"
    assert blaxel.token_env == "BLAXEL_STAGING_TOKEN" and blaxel.restricted_token_env == "BLAXEL_STAGING_READONLY_TOKEN"
    assert (blaxel.timeout, blaxel.budget, blaxel.rate_limit) == (5.0, 600.0, 4.0)
    assert blaxel.allow_destructive and blaxel.name_prefix == "nightly" and blaxel.max_live_resources == 10
    assert dict(blaxel.extra_headers) == {"X-Blaxel-Workspace": "conformance"}
    oxen = config.target("oxen-staging")
    assert oxen.token_env == "OXEN_API_KEY", "the vendor's variable by default"
    assert oxen.disposable_ids == ("model-a", "model-b") and oxen.timeout == 20.0 and oxen.verify is False
    assert not oxen.allow_destructive, "destructive calls are opt-in"
    assert config.report_root == tmp_path / "nightly-reports"


def test_pyproject_tool_table_is_found_in_the_working_folder(tmp_path: Path) -> None:
    table = VALID.replace("[defaults]", "[tool.conformance.defaults]").replace(
        "[targets.", "[tool.conformance.targets."
    )
    table = table.replace('report_root = "nightly-reports"', "")
    _write(tmp_path, '[project]\nname = "x"\n' + table, "pyproject.toml")
    config = load_config(cwd=tmp_path)
    assert config.path == tmp_path / "pyproject.toml" and len(config.targets) == 2


def test_conformance_toml_wins_over_pyproject(tmp_path: Path) -> None:
    _write(tmp_path, '[tool.conformance.targets.x]\nvendor = "oxen"\nbase_url = "https://a.test"\n', "pyproject.toml")
    _write(tmp_path, VALID)
    assert load_config(cwd=tmp_path).path.name == "conformance.toml"


def test_no_configuration_is_a_clear_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"no conformance\.toml"):
        load_config(cwd=tmp_path)


BASE = '[targets.t]\nvendor = "blaxel"\nbase_url = "https://a.test/v0"\n'


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (BASE + "colour = 1\n", "target 't': field 'colour': unknown field"),
        ('[targets.t]\nvendor = "blaxel"\n', "target 't': field 'base_url': missing"),
        ('[targets.t]\nvendor = "acme"\nbase_url = "https://a.test"\n', "field 'vendor': unknown vendor 'acme'"),
        (BASE.replace("https://a.test/v0", "ftp://a"), "field 'base_url': bad URL"),
        (BASE.replace("https://", "https://user:pw@"), "field 'base_url': bad URL"),
        (BASE + 'token = "sk-live-123"\n', "field 'token': never store a token"),
        (BASE + 'token_env = "sk-live-123 abc"\n', "field 'token_env': expected the NAME"),
        (BASE + 'headers = { Authorization = "Bearer x" }\n', "field 'headers.Authorization': credential headers"),
        (BASE + 'headers = { X-Api-Key = "x" }\n', "field 'headers.X-Api-Key'"),
        (BASE + "timeout = -1\n", "field 'timeout': expected a number > 0"),
        (BASE + 'budget = "long"\n', "field 'budget': expected a number"),
        (BASE + "max_requests = 2.5\n", "field 'max_requests': expected an integer"),
        (BASE + "max_live_resources = 1\n", "field 'max_live_resources': expected an integer >= 3"),
        (BASE + 'allow_destructive = "yes"\n', "field 'allow_destructive': expected true or false"),
        (BASE + 'name_prefix = "Bad_Prefix"\n', "field 'name_prefix'"),
        (BASE + 'ca_bundle = "missing.pem"\n', "field 'ca_bundle': no such file"),
        (BASE + "disposable_ids = [1]\n", "field 'disposable_ids'"),
        ("[defaults]\nbudget = 0\n" + BASE, "target 'defaults': field 'budget'"),
        ("[targets]\n", "no targets"),
        ("surprise = 1\n" + BASE, "unknown key 'surprise'"),
        (BASE + "timeout = \n", "invalid TOML"),
    ],
)
def test_every_problem_is_one_line_naming_file_target_and_field(tmp_path: Path, text: str, needle: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(UsageError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(str(path)), message
    assert needle in message, message


def test_ca_bundle_path_is_relative_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("not really a certificate")
    target = load_config(_write(tmp_path, BASE + 'ca_bundle = "ca.pem"\n')).target("t")
    assert target.verify == str(tmp_path / "ca.pem")


def test_flags_override_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, VALID)
    overrides = Overrides(timeout=1.5, budget=30, max_requests=7, rate_limit=2, allow_destructive=True)
    targets, root = resolve_targets(
        names=["oxen-staging"], config_path=path, vendors=[], base_url="https://other.test", overrides=overrides
    )
    (oxen,) = targets
    assert (oxen.timeout, oxen.budget, oxen.max_requests, oxen.rate_limit) == (1.5, 30.0, 7, 2.0)
    assert oxen.allow_destructive and oxen.base_url == "https://other.test"
    assert root == tmp_path / "nightly-reports"


@pytest.mark.parametrize(
    ("names", "vendors", "base_url", "needle"),
    [
        (["blaxel-staging"], ["blaxel"], None, "cannot be combined"),
        (["blaxel-staging", "oxen-staging"], [], "https://x.test", "single --target"),
        (["nope"], [], None, "no target named 'nope'"),
        (["oxen-staging", "oxen-staging"], [], None, "named twice"),
    ],
)
def test_conflicting_flags_are_usage_errors(
    tmp_path: Path, names: list[str], vendors: list[str], base_url: str | None, needle: str
) -> None:
    with pytest.raises(UsageError, match=needle):
        resolve_targets(
            names=names, config_path=_write(tmp_path, VALID), vendors=vendors, base_url=base_url, overrides=Overrides()
        )


def test_live_targets_from_flags_are_not_destructive_by_default() -> None:
    (target,), _ = resolve_targets(
        names=[], config_path=None, vendors=["blaxel"], base_url="http://127.0.0.1:9/v0", overrides=Overrides()
    )
    assert not target.allow_destructive and target.budget is not None


def test_deadlines_and_slots() -> None:
    target = Target(name="t", vendor="blaxel", base_url="http://x", token_env="T", budget=100)
    timed = with_deadline(target, 1000.0)
    assert timed.deadline is not None and 1090 < timed.deadline < 1100
    assert timed.suite_deadline == timed.deadline - cleanup_reserve(100)
    assert Target.from_dict({**timed.as_dict(), "spec_version": "1"}) == timed
    assert [t.slot for t in with_slots([target, target, target])] == ["a", "b", "c"]
    assert with_slots([target])[0].slot == ""


# --------------------------------------------------------------------------- the CLI


def test_targets_command_lists_and_validates(tmp_path: Path) -> None:
    result = run_cli("targets", "--config", str(_write(tmp_path, VALID)), env={"BLAXEL_STAGING_TOKEN": "t0k3n-x"})
    assert result.returncode == 0, result.stderr
    assert "2 target(s), valid" in result.stdout
    assert "blaxel-staging" in result.stdout and "$BLAXEL_STAGING_TOKEN (set)" in result.stdout
    assert "$OXEN_API_KEY (NOT SET)" in result.stdout or "$OXEN_API_KEY (set)" in result.stdout
    assert "t0k3n-x" not in result.stdout


def test_targets_command_rejects_a_bad_file_with_exit_2(tmp_path: Path) -> None:
    result = run_cli("targets", "--config", str(_write(tmp_path, BASE + "timeout = 0\n")))
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "target 't': field 'timeout'" in lines[0]


class CountingListener:
    """A TCP listener that counts connections (a dry run must make none)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self.connections = 0
        self._stop = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop = True
        self._thread.join(timeout=2)
        self.sock.close()


def test_dry_run_prints_the_plan_and_sends_nothing(tmp_path: Path) -> None:
    listener = CountingListener()
    try:
        config = _write(
            tmp_path,
            f'[targets.t]\nvendor = "blaxel"\nbase_url = "http://127.0.0.1:{listener.port}/v0"\nbudget = 90\n',
        )
        result = run_cli(
            "run", "--config", str(config), "--target", "t", "--dry-run", "--report-dir", str(tmp_path / "r")
        )
    finally:
        listener.close()
    assert result.returncode == 0, result.stderr
    assert listener.connections == 0
    assert not (tmp_path / "r").exists()
    out = result.stdout
    assert "dry run: nothing is sent" in out and f"127.0.0.1:{listener.port}/v0" in out
    assert "budget 90s" in out and "destructive calls NOT allowed" in out
    assert "BLX-DELETE-UNKNOWN-404" in out and "DELETE /v0/models/{modelName} of an id that cannot exist" in out
    assert "[skipped: destructive]" in out


# --------------------------------------------------------------------------- the CI recipes stay honest

CI = ROOT / "examples" / "ci"


def _cli_lines(workflow: Path) -> list[list[str]]:
    """Every conformance command line of a recipe: `run:` lines, and the composite action's inputs as its argv."""
    import re
    import shlex

    import yaml

    text = re.sub(r"\\\n\s*", " ", workflow.read_text())
    text = re.sub(r"\$\{\{[^}]*\}\}", "X", text)
    lines = []
    for line in text.splitlines():
        line = line.strip().removeprefix("- run:").strip()
        if line.startswith("conformance "):
            lines.append(shlex.split(line.split("||")[0].replace("$run_id", "X")))
    flags = {"vendor": "--vendor", "target": "--target", "base-url": "--base-url", "token-env": "--token-env"}
    flags |= {"config": "--config", "profile": "--profile", "report-dir": "--report-dir"}
    for job in (yaml.safe_load(text).get("jobs") or {}).values():
        for step in job.get("steps", []):
            if "/conformance@" not in str(step.get("uses", "")):
                continue
            inputs = step.get("with") or {}
            command = str(inputs.get("command", "run"))
            if command == "install":
                continue
            argv = ["conformance", command]
            for key, flag in flags.items():
                if key in inputs:
                    argv += [flag, str(inputs[key])]
            lines.append(argv + shlex.split(str(inputs.get("args", ""))))
    return lines


@pytest.mark.parametrize("workflow", ["nightly-staging.yml", "sdk-release-gate.yml"])
def test_ci_recipes_use_only_the_documented_cli(workflow: str) -> None:
    from conformance.cli.main import build_parser

    commands = _cli_lines(CI / workflow)
    assert commands, "the recipe runs conformance"
    parser = build_parser()
    for argv in commands:
        parser.parse_args(argv[1:])  # a UsageError names what is not documented


def test_ci_example_configuration_is_valid() -> None:
    config = load_config(CI / "conformance.toml")
    assert set(config.targets) == {"blaxel-staging", "oxen-staging", "baseten-staging"}
    assert all(t.token_env.endswith("_TOKEN") for t in config.targets.values())
