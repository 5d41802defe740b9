"""conformance.toml is validated against the shipped JSON Schema: every problem at once, one line each."""

from __future__ import annotations

import math
import re
from pathlib import Path

import jsonschema
import pytest

from conformance.cli import main as cli_main
from conformance.errors import UsageError
from conformance.target.config import FIELDS, SCHEMA_PATH, Overrides, config_schema, live_target, load_config

ROOT = Path(__file__).resolve().parents[2]
BASE = '[targets.t]\nvendor = "blaxel"\nbase_url = "https://a.test/v0"\n'


def _problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "conformance.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UsageError) as caught:
        load_config(path)
    lines = str(caught.value).splitlines()
    assert all(line.startswith(str(path)) for line in lines), lines
    return lines


def test_the_schema_is_shipped_valid_and_names_every_field() -> None:
    assert SCHEMA_PATH.is_file()
    jsonschema.Draft202012Validator.check_schema(config_schema())
    assert set(config_schema()["$defs"]["fields"]["properties"]) == set(FIELDS)
    assert config_schema()["$defs"]["fields"]["additionalProperties"] is False


def test_the_documented_example_is_valid(tmp_path: Path) -> None:
    text = (ROOT / "docs" / "live-targets.md").read_text(encoding="utf-8")
    example = re.search(r"```toml\n(# conformance.toml: a complete example.*?)```", text, re.S)
    assert example is not None
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "staging-ca.pem").write_text("x", encoding="utf-8")
    path = tmp_path / "conformance.toml"
    path.write_text(example.group(1), encoding="utf-8")
    assert len(load_config(path).targets) >= 3


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        ("timeout = nan", "field 'timeout': expected a finite number, got nan"),
        ("timeout = inf", "field 'timeout': expected a finite number, got inf"),
        ("budget = -inf", "field 'budget': expected a finite number"),
        ("rate_limit = nan", "field 'rate_limit': expected a finite number"),
        ("gone_deadline = 0", "field 'gone_deadline': expected a number > 0"),
        ("max_requests = 0", "field 'max_requests': expected an integer >= 1"),
        ("max_retries = -1", "field 'max_retries': expected an integer >= 0"),
        ('headers = { "Bad Header" = "x" }', "field 'headers.Bad Header': not a valid HTTP header name"),
        ('headers = { "X-A:" = "x" }', "field 'headers.X-A:': not a valid HTTP header name"),
        ('headers = { X-Ok = "a\\nb" }', "field 'headers.X-Ok': the value holds CR, LF, NUL"),
        ('headers = { X-Ok = "a\\r\\nX-Injected: 1" }', "field 'headers.X-Ok': the value holds CR, LF, NUL"),
        ('headers = { X-Ok = "a\\u0000" }', "field 'headers.X-Ok': the value holds CR, LF, NUL"),
        ("headers = { X-Ok = 3 }", "field 'headers.X-Ok': expected a string"),
        ('colour = "red"', "field 'colour': unknown field"),
        ('token = "abc"', "field 'token': never store a token in the file"),
        ('token_env = "abc def"', "field 'token_env': expected the NAME of an environment variable"),
        ("disposable_ids = [1]", "field 'disposable_ids': item 0: expected a string"),
        ('name_prefix = "Bad"', "field 'name_prefix': expected 1-8 lowercase letters"),
        ('allow_destructive = "yes"', "field 'allow_destructive': expected true or false"),
    ],
)
def test_a_bad_field_is_one_line_naming_file_target_and_key(tmp_path: Path, line: str, needle: str) -> None:
    lines = _problems(tmp_path, BASE + line + "\n")
    assert len(lines) == 1, lines
    assert f"target 't': {needle}" in lines[0], lines


def test_every_problem_at_once_one_line_each(tmp_path: Path) -> None:
    text = (
        'report_rooot = "r"\n[defaults]\ntimeout = nan\n'
        + BASE
        + 'budget = -1\ncolour = "red"\nheaders = { "Bad Header" = "x", X-Ok = "a\\nb" }\n'
        + '[targets."bad name"]\nvendor = "oxen"\nbase_url = "http://127.0.0.1:9"\n'
    )
    lines = _problems(tmp_path, text)
    joined = "\n".join(lines)
    for needle in (
        "target 'defaults': field 'timeout': expected a finite number",
        "unknown key 'report_rooot'",
        "target 't': field 'budget'",
        "target 't': field 'colour': unknown field",
        "target 't': field 'headers.Bad Header'",
        "target 't': field 'headers.X-Ok'",
        "target name 'bad name'",
    ):
        assert needle in joined, joined
    assert len(lines) == 7, joined


def test_value_errors_of_several_targets_come_together(tmp_path: Path) -> None:
    text = (
        '[targets.a]\nvendor = "nope"\nbase_url = "https://a.test"\n'
        '[targets.b]\nvendor = "oxen"\nbase_url = "ftp://b.test"\n'
    )
    lines = _problems(tmp_path, text)
    assert len(lines) == 2, lines
    assert "target 'a': field 'vendor': unknown vendor 'nope'" in lines[0]
    assert "target 'b': field 'base_url': bad URL" in lines[1]


def test_the_cli_prints_each_problem_as_its_own_error_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "conformance.toml"
    path.write_text(BASE + "timeout = nan\nbudget = inf\n", encoding="utf-8")
    assert cli_main.main(["targets", "--config", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2, err
    assert all(line.startswith(f"conformance: error: {path}: target 't': field '") for line in err), err
    assert "Traceback" not in "\n".join(err)


@pytest.mark.parametrize("value", [math.nan, math.inf, -1.0, 0.0])
def test_overrides_refuse_non_finite_and_non_positive_numbers(value: float) -> None:
    target = live_target("oxen", "http://127.0.0.1:9")
    with pytest.raises(UsageError, match="--timeout"):
        Overrides(timeout=value).apply(target)


def test_a_discovered_config_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "conformance.toml").write_bytes(b'[targets.caf\xe9]\nvendor = "oxen"\n')
    with pytest.raises(UsageError, match=r"conformance.toml: not UTF-8 text \(byte 12\)"):
        load_config(cwd=tmp_path)
