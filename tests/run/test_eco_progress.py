"""Progress while a run works: the seed at the start, periodic plain lines off a terminal, rich on one, -q quiet."""

from __future__ import annotations

import io
import json
import os
import re
import time
from pathlib import Path

import pytest

from conformance.run import progress
from tests.helpers import run_cli


def test_a_run_announces_its_seed_first_and_reports_progress_of_every_session(tmp_path: Path) -> None:
    report = tmp_path / "r"
    result = run_cli("run", "--vendor", "baseten", "--vendor", "oxen", "--jobs", "2", "--report-dir", str(report))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    data = json.loads((report / "results.json").read_text())
    lines = result.stderr.splitlines()
    assert lines[0] == f"run {data['run_id']}  seed {data['seed']}  targets: baseten-mock, oxen-mock"
    ticks = [line for line in lines if line.startswith("progress: ")]
    assert len(ticks) >= 2, result.stderr
    total = len(data["results"])
    assert re.match(
        rf"progress: {total}/{total} requirements judged  phase done  {data['requests']} requests", ticks[-1]
    )
    assert "target" in result.stdout and "reports:" in result.stdout, "the final table stays"


def test_quiet_runs_print_no_progress(tmp_path: Path) -> None:
    result = run_cli("run", "--vendor", "baseten", "-q", "--requirement", "BTN-DELETE-UNKNOWN-404")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "progress:" not in result.stderr and "seed" not in result.stderr
    assert "baseten-mock" in result.stdout


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_rich_draws_the_sessions_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress, "POLL", 0.01)
    stream = _Terminal()
    display = progress.Display("run1", 42, ["a", "b"], stream=stream)
    with display.running():
        writer = progress.Writer.from_env("run1-a", ["a"], 4)
        assert writer is not None, "the sessions find the folder in the environment"
        writer.update(force=True, judged=3, phase="judging a::X", requests=17)
        snap = progress.read(writer.path.parent)
        assert (snap.judged, snap.total, snap.requests, snap.phase) == (3, 4, 17, "judging a::X")
        time.sleep(0.3)
    assert stream.getvalue().startswith("run run1  seed 42  targets: a, b\n")
    assert "judging a::X" in stream.getvalue() and "17 requests" in stream.getvalue()
    assert progress.ENV not in os.environ


def test_plain_lines_come_every_tenth_of_the_rows() -> None:
    display = progress.Display("r", 1, [])
    due = [display._plain_due(progress.Snapshot(judged=n, total=20)) for n in range(21)]
    assert sum(due) == 11, due  # 0, 10%, 20%, ... 100%
