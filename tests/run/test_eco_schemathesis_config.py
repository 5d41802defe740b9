"""No stray schemathesis.toml changes a run: the fuzz rows use an explicit configuration, recorded in results.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.helpers import run_cli

FUZZ_ROWS = ("BTN-DELETE-FUZZ-NO-SERVER-ERROR", "BTN-DELETE-FUZZ-RESPONSE-SCHEMA")
INVALID = 'generation = "not a table"\nmax-examples = -3\n[checks.no_such_check]\nenabled = "sometimes"\n'


def _run(cwd: Path) -> tuple[int, dict[str, Any], str]:
    cwd.mkdir()
    args = ["run", "--vendor", "baseten", "--seed", "5", "--report-dir", str(cwd / "report")]
    result = run_cli(*args, *(a for r in FUZZ_ROWS for a in ("--requirement", r)), cwd=cwd)
    return result.returncode, json.loads((cwd / "report" / "results.json").read_text()), result.stdout + result.stderr


def test_an_invalid_schemathesis_toml_in_the_working_directory_changes_nothing(tmp_path: Path) -> None:
    stray = tmp_path / "with-toml"
    stray.mkdir()
    (stray / "schemathesis.toml").write_text(INVALID, encoding="utf-8")
    (stray / "nested").mkdir()
    code, data, output = _run(stray / "nested" / "run")  # discovery walks up from the working directory
    plain_code, plain, _ = _run(tmp_path / "plain")
    assert code == 0, output[-3000:]
    assert plain_code == 0
    verdicts = {r["requirement"]: r["status"] for r in data["results"]}
    assert verdicts == {r["requirement"]: r["status"] for r in plain["results"]}
    assert set(verdicts) == set(FUZZ_ROWS) and set(verdicts.values()) == {"passed"}
    for row in data["results"]:
        settings = [n for n in row["evidence"]["notes"] if n.startswith("fuzz settings: ")]
        assert len(settings) == 1, row["evidence"]
        assert "schemathesis 4.32" in settings[0] and "any schemathesis.toml is ignored" in settings[0]
        assert "generation modes positive" in settings[0] and "max examples " in settings[0]
