"""Every user-caused error of every command is one line ``conformance: error: …`` and exit 2, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.cli import main as cli_main
from tests.helpers import run_cli

# (command line, a fragment the one error line must contain); run in a folder holding the files of ``_files``.
BAD_INPUTS: list[tuple[list[str], str]] = [
    # paths: a file where a folder is wanted, paths under a file, missing or undecodable inputs
    (["run", "--vendor", "oxen", "--report-dir", "afile"], "is a file, not a folder"),
    (["run", "--vendor", "oxen", "--report-dir", "afile/sub"], "is under afile"),
    (["selftest", "--report-dir", "afile/x/y"], "is under afile"),
    (["report", "rundir", "--out", "afile"], "--out afile"),
    (["report", "rundir", "--out", "afile/m"], "is under afile"),
    (["sdk-gate", "--vendor", "oxen", "--report-dir", "afile", "--", "true"], "--report-dir afile"),
    (["sdk-gate", "--vendor", "oxen", "--report-dir", "afile/r", "--", "true"], "is under afile"),
    (["report", "missing-dir", "--out", "out"], "missing-dir"),
    (["report", "emptydir", "--out", "out"], "results.json"),
    (["report", "invalid.json", "--out", "out"], "invalid.json"),
    (["report", "latin1.json", "--out", "out"], "latin1.json"),
    (["report", "rundir", "--out", "out", "--expectations", "latin1.toml"], "not UTF-8"),
    (["run", "--vendor", "oxen", "--expectations", "latin1.toml"], "not UTF-8"),
    (["run", "--vendor", "oxen", "--expectations", "missing.yaml"], "no such file"),
    (["run", "--vendor", "oxen", "--expectations", "invalid.toml", "--dry-run"], "invalid.toml"),
    (["run", "--vendor", "oxen", "--baseline", "invalid.json", "--dry-run"], "invalid.json"),
    (["targets", "--config", "latin1.toml"], "not UTF-8"),
    (["targets", "--config", "missing.toml"], "no such file"),
    (["targets", "--config", "emptydir"], "is a folder"),
    (["targets", "--config", "invalid.toml"], "invalid TOML"),
    (["run", "--target", "x", "--config", "latin1.toml"], "not UTF-8"),
    (["cleanup", "--run-id", "unknown-run"], "no run directory"),
    (["cleanup", "--run-id", "../etc"], "invalid run id"),
    # values out of range, not finite, not numbers
    (["run", "--delete-delay", "-1"], "--delete-delay"),
    (["run", "--delete-delay", "nan"], "--delete-delay"),
    (["mock", "--vendor", "oxen", "--delete-delay", "-1"], "--delete-delay"),
    (["mock", "--vendor", "oxen", "--delete-delay", "inf"], "--delete-delay"),
    (["mock", "--vendor", "oxen", "--port", "70000"], "70000"),
    (["mock", "--vendor", "oxen", "--port", "http"], "invalid port"),
    (["mock", "--vendor", "oxen", "--max-resources", "0"], "--max-resources"),
    (["mock", "--vendor", "oxen", "--max-store-bytes", "-5"], "--max-store-bytes"),
    (["run", "--jobs", "0"], "--jobs"),
    (["run", "--jobs", "-3"], "--jobs"),
    (["selftest", "--jobs", "0"], "--jobs"),
    (["run", "--seed", "-1"], "--seed"),
    (["selftest", "--seed", "1.5"], "--seed"),
    (["run", "--budget", "-1"], "--budget"),
    (["run", "--budget", "nan"], "--budget"),
    (["run", "--timeout", "inf"], "--timeout"),
    (["run", "--timeout", "0"], "--timeout"),
    (["run", "--gone-deadline", "-2"], "--gone-deadline"),
    (["run", "--max-requests", "0"], "--max-requests"),
    (["run", "--rate-limit", "abc"], "--rate-limit"),
    (["run", "--rate-limit", "-inf"], "--rate-limit"),
    (["sdk-gate", "--vendor", "oxen", "--timeout", "nan", "--", "true"], "--timeout"),
    # unknown names and missing pieces
    (["run", "--profile", "x"], "unknown profile"),
    (["run", "--profile", "x", "--dry-run"], "unknown profile"),
    (["selftest", "--profile", "x"], "unknown profile"),
    (["run", "--vendor", "blaxl"], "unknown vendor"),
    (["run", "--vendor", "oxen", "--fault", "no-such-fault"], "no-such-fault"),
    (["mock", "--vendor", "blaxl"], "unknown vendor"),
    (["mock"], "--vendor"),
    (["sdk-gate", "--vendor", "oxen"], "needs a command"),
    (["sdk-gate", "--vendor", "oxen", "--"], "needs a command"),
    (["sdk-gate", "--vendor", "blaxl", "--", "true"], "unknown vendor"),
    (["sdk-gate", "--vendor", "oxen", "--", "./no-such-client"], "cannot run"),
    (["run", "--vendor", "oxen", "--base-url", "ftp://example"], "bad URL"),
    (["run", "--vendor", "oxen", "--base-url", "http://127.0.0.1:99999"], "invalid port"),
    (["run", "--token-env", "not a name", "--vendor", "oxen", "--base-url", "http://127.0.0.1:9"], "--token-env"),
    (["run", "--requirement", "NO-SUCH-ROW", "--dry-run"], "unknown requirement"),
    (["selftest", "--requirement", "NO-SUCH-ROW"], "unknown requirement"),
    (["mock", "--vendor", "oxen", "--seed-id", "a/b"], "--seed-id"),
    (["mock", "--vendor", "oxen", "--seed-id", ""], "--seed-id"),
    (["sdk-gate", "--vendor", "oxen", "--seed-id", "a/b", "--", "true"], "--seed-id"),
    (["report", "array.json", "--out", "out"], 'array.json: $: expected type "object"'),
    (["report", "partial.json", "--out", "out"], "partial.json: $: expected 'run_id' (a required member)"),
    (["run", "--vendor", "oxen", "--baseline", "emptydir", "--dry-run"], "is a folder"),
    (["run", "--vendor", "oxen", "--report-dir", "x" * 300], "File name too long"),
    (["nonsense"], "invalid choice"),
    ([], "required"),
]


def _files(folder: Path) -> None:
    (folder / "afile").write_text("a file, not a folder\n", encoding="utf-8")
    (folder / "emptydir").mkdir()
    (folder / "rundir").mkdir()
    (folder / "invalid.json").write_text("{not json", encoding="utf-8")
    (folder / "latin1.json").write_bytes(b'{"format": "caf\xe9"}')
    (folder / "latin1.toml").write_bytes(b'[targets.caf\xe9]\nvendor = "oxen"\n')
    (folder / "invalid.toml").write_text("[targets\n", encoding="utf-8")
    (folder / "array.json").write_text("[]", encoding="utf-8")
    (folder / "partial.json").write_text('{"format": "conformance-results", "version": 1}', encoding="utf-8")


@pytest.mark.parametrize(("argv", "fragment"), BAD_INPUTS, ids=[" ".join(a)[:60] or "(none)" for a, _ in BAD_INPUTS])
def test_a_bad_input_is_one_line_and_exit_2(
    argv: list[str], fragment: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _files(tmp_path)
    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    code = cli_main.main(argv)
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2, err
    assert "Traceback" not in err
    assert len(lines) == 1, err
    assert lines[0].startswith("conformance: error: "), err
    assert fragment in lines[0], err
    assert sorted(p.name for p in tmp_path.iterdir()) == before, "a refused command left something behind"


def test_an_internal_error_is_one_line_exit_3_and_debug_shows_the_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(args: object) -> int:
        raise KeyError("boom")

    monkeypatch.setattr(cli_main, "_cmd_run", broken)
    assert cli_main.main(["run", "--dry-run"]) == 3
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        "conformance: error: internal error: KeyError: 'boom' (run again with --debug for the traceback)"
    ]
    assert cli_main.main(["--debug", "run", "--dry-run"]) == 3
    err = capsys.readouterr().err
    assert "Traceback" in err and "KeyError" in err
    assert err.strip().splitlines()[-1].startswith("conformance: error: internal error: KeyError")


def test_an_infrastructure_os_error_is_exit_3(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import errno

    def full(args: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device", "reports/x/results.json")

    monkeypatch.setattr(cli_main, "_cmd_run", full)
    assert cli_main.main(["run"]) == 3
    assert capsys.readouterr().err.strip().splitlines() == [
        "conformance: error: cannot use reports/x/results.json: No space left on device"
    ]


def test_the_installed_command_too(tmp_path: Path) -> None:
    """The same boundary through a real process (the entry point, not only ``main``)."""
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    result = run_cli("run", "--vendor", "oxen", "--report-dir", str(tmp_path / "afile" / "sub"), timeout=60)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"conformance: error: --report-dir {tmp_path / 'afile' / 'sub'}: is under {tmp_path / 'afile'}, which is a "
        "file, not a folder"
    ]
