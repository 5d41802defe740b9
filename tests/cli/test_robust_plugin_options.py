"""The pytest plugin's bad options are one ``pytest.UsageError`` line (pytest exit 4), never an INTERNALERROR."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
URL = ["--conformance-base-url", "http://127.0.0.1:9"]
CASES: list[tuple[list[str], str]] = [
    ([], "the suite needs a target"),
    (["--conformance-vendor", "blaxl", *URL], "--conformance-vendor: unknown vendor 'blaxl'"),
    (["--conformance-vendor", "oxen"], "--conformance-base-url is required"),
    (["--conformance-vendor", "oxen", "--conformance-base-url", "ftp://x"], "--conformance-base-url: bad URL"),
    (["--conformance-vendor", "oxen", "--conformance-base-url", "http://h:99999"], "invalid port"),
    (["--conformance-vendor", "oxen", *URL, "--conformance-profile", "x"], "--conformance-profile: unknown profile"),
    (["--conformance-vendor", "oxen", *URL, "--conformance-seed", "-1"], "--conformance-seed"),
    (["--conformance-vendor", "oxen", *URL, "--conformance-seed", "x"], "--conformance-seed"),
    (["--conformance-vendor", "oxen", *URL, "--conformance-token-env", "A B"], "--conformance-token-env"),
    (["--conformance-vendor", "oxen", *URL, "--conformance-report-dir", "afile/r"], "is under afile"),
    (["--conformance-base-url", "http://127.0.0.1:9"], "needs --conformance-vendor"),
    (["--conformance-config", "missing.json"], "--conformance-config missing.json: cannot read"),
    (["--conformance-config", "afile"], "not a run configuration"),
]


@pytest.mark.parametrize(("options", "needle"), CASES, ids=[" ".join(o)[:50] or "(none)" for o, _ in CASES])
def test_a_bad_plugin_option_is_a_usage_error(tmp_path: Path, options: list[str], needle: str) -> None:
    (tmp_path / "afile").write_text("not json", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--pyargs", "conformance.run.suite", *options],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 4, output
    assert "INTERNALERROR" not in output and "Traceback" not in output, output
    lines = output.splitlines()
    # pytest's own parser (a value that is not an int) prints its usage line first, then the one error
    errors = [
        line for line in lines if (line.startswith("ERROR: ") and "usage:" not in line) or "error: argument" in line
    ]
    assert len(errors) == 1, output
    assert needle in errors[0], output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"], "nothing is written, nothing is sent"
