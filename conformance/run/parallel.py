"""Several targets in one invocation: one pytest session per target in its own process, then one merged report.

Each session writes into ``<report dir>/.sessions/<target>/``; afterwards results.json, pytest.log, the ledgers and
the exchange logs are merged into the run directory (every report format is then written from the merged results).
Target names are unique, and every name a session creates carries the run id, so sessions cannot clash. A stop
request (SIGINT/SIGTERM) is forwarded to each session once; a session still alive past the run's deadline is
terminated, then killed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from conformance import interrupts
from conformance.results import RunResults, load_results
from conformance.target.model import Target

SESSIONS_DIR = ".sessions"
GRACE = 3.0
KILL_AFTER = 2.0


@dataclass
class Session:
    """One target's pytest session running in a child process."""

    target: Target
    folder: Path
    process: subprocess.Popen[bytes]
    log: IO[bytes]
    terminated_at: float | None = None


def _spawn(target: Target, payload: Mapping[str, Any], report_dir: Path) -> Session:
    folder = report_dir / SESSIONS_DIR / target.name
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "session.json"
    config.write_text(
        json.dumps({**payload, "targets": [target.as_dict()], "report_dir": str(folder)}), encoding="utf-8"
    )
    log = (folder / "session.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "conformance.run.session_worker", str(config)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    return Session(target, folder, process, log)


def _signal(session: Session, sig: int) -> None:
    if session.process.poll() is None:
        with contextlib.suppress(OSError):
            os.killpg(session.process.pid, sig)


def run_sessions(
    targets: Sequence[Target], payload: Mapping[str, Any], report_dir: Path, *, jobs: int, deadline: float | None
) -> list[Path]:
    """Run one session per target, ``jobs`` at a time; the folders of the sessions that ran."""
    pending = list(targets)
    running: list[Session] = []
    finished: list[Session] = []
    forwarded = False
    try:
        while pending or running:
            while pending and len(running) < max(1, jobs) and not interrupts.STOP.is_set():
                running.append(_spawn(pending.pop(0), payload, report_dir))
            if interrupts.STOP.is_set():
                pending.clear()
                if not forwarded:
                    forwarded = True
                    for session in running:
                        _signal(session, signal.SIGINT)
            now = time.time()
            for session in running:
                if deadline is not None and now > deadline + GRACE and session.terminated_at is None:
                    session.terminated_at = now
                    _signal(session, signal.SIGTERM)
                elif session.terminated_at is not None and now > session.terminated_at + KILL_AFTER:
                    _signal(session, signal.SIGKILL)
            for session in [s for s in running if s.process.poll() is not None]:
                running.remove(session)
                session.log.close()
                finished.append(session)
            time.sleep(0.05)
    finally:
        for session in running:
            _signal(session, signal.SIGKILL)
            session.process.wait(timeout=5)
            session.log.close()
            finished.append(session)
    order = {t.name: i for i, t in enumerate(targets)}
    return [s.folder for s in sorted(finished, key=lambda s: order[s.target.name])]


def merge_results(runs: Sequence[RunResults], run_id: str, profile: str, seed: int) -> RunResults | None:
    """One RunResults holding every session's targets, results, leaks and counters."""
    if not runs:
        return None
    merged = RunResults(
        run_id=run_id,
        profile=profile,
        seed=seed,
        started=min(r.started for r in runs),
        finished=max(r.finished for r in runs),
        tool_versions=dict(runs[0].tool_versions),
    )
    for run in runs:
        merged.targets += run.targets
        merged.results += run.results
        merged.leaks += run.leaks
        merged.requests += run.requests
        merged.retries += run.retries
        merged.notes += [n for n in run.notes if n not in merged.notes]
    return merged


def merge_folders(folders: Sequence[Path], report_dir: Path, run_id: str, profile: str, seed: int) -> RunResults | None:
    """Merge the sessions' files into ``report_dir`` and remove their folders; the merged results, if any."""
    runs: list[RunResults] = []
    logs: list[str] = []
    for folder in folders:
        if (folder / "results.json").is_file():
            try:
                runs.append(load_results(folder))
            except Exception as exc:
                logs.append(f"{folder.name}: unreadable results.json: {exc}")
        for name in ("session.log", "pytest.log"):
            if (folder / name).is_file():
                text = (folder / name).read_text(encoding="utf-8", errors="replace")
                if text.strip():
                    logs.append(f"===== {folder.name}: {name} =====\n{text}")
        for ledger in [*folder.glob("ledger-*.jsonl"), *folder.glob("exchanges-*.jsonl")]:
            shutil.move(str(ledger), report_dir / ledger.name)
    (report_dir / "pytest.log").write_text("\n".join(logs) + "\n", encoding="utf-8")
    merged = merge_results(runs, run_id, profile, seed)  # junit.xml and allure-results/ are written from it
    shutil.rmtree(report_dir / SESSIONS_DIR, ignore_errors=True)
    return merged
