"""Progress of a run while it works: targets, requirements judged / total, phase, requests sent, elapsed, seed.

The sessions (in this process, or one subprocess per target) write a small JSON file each into the folder named by
``$CONFORMANCE_PROGRESS_DIR`` from the plugin's hooks; ``Display`` (in the ``conformance`` process) polls the folder
and draws one rich progress bar on a terminal, or prints a plain line every ``PLAIN_EVERY`` seconds or 10% of the
rows when stderr is not a TTY (CI logs). Nothing is drawn with ``-q``.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

ENV = "CONFORMANCE_PROGRESS_DIR"
PLAIN_EVERY = 5.0
POLL = 0.25
WRITE_EVERY = 0.2


class Writer:
    """One session's progress file (written atomically, at most every ``WRITE_EVERY`` seconds)."""

    def __init__(self, folder: Path, name: str, targets: Sequence[str], total: int) -> None:
        self.path = folder / f"{name}.json"
        self.state: dict[str, Any] = {"targets": list(targets), "total": total, "judged": 0, "phase": "starting"}
        self._written = 0.0

    @classmethod
    def from_env(cls, name: str, targets: Sequence[str], total: int) -> Writer | None:
        """A writer when the ``conformance`` process asked for progress, else None."""
        folder = os.environ.get(ENV)
        return cls(Path(folder), name, targets, total) if folder and Path(folder).is_dir() else None

    def update(self, *, force: bool = False, **values: Any) -> None:
        """Record ``values`` (judged, phase, requests); write when due or forced."""
        self.state.update(values)
        now = time.monotonic()
        if not force and now - self._written < WRITE_EVERY:
            return
        self._written = now
        scratch = self.path.with_suffix(".tmp")
        with contextlib.suppress(OSError):
            scratch.write_text(json.dumps(self.state), encoding="utf-8")
            scratch.replace(self.path)


class Hooks:
    """pytest hooks registered by the plugin when progress is wanted: each judged row updates the file."""

    def __init__(self, writer: Writer, state: Any) -> None:
        self.writer = writer
        self.state = state

    def _requests(self) -> int:
        contexts = getattr(self.state, "_contexts", {})
        return sum(int(ctx.client.request_count) for ctx in contexts.values())

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        """The row being judged is the phase."""
        self.writer.update(phase=f"judging {nodeid.rpartition('[')[2].rstrip(']')}", requests=self._requests())

    def pytest_runtest_logreport(self, report: Any) -> None:
        """A row is judged when its call ran, or its setup did not pass (skipped or errored)."""
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            judged = int(self.writer.state["judged"]) + 1
            last = judged >= int(self.writer.state["total"])
            self.writer.update(force=last, judged=judged, requests=self._requests())


@dataclass
class Snapshot:
    """The sum over every session's file."""

    judged: int = 0
    total: int = 0
    requests: int = 0
    phase: str = "starting"


def read(folder: Path) -> Snapshot:
    """Sum the progress files of ``folder`` (unreadable or half-written ones are skipped)."""
    snap = Snapshot()
    phases: list[str] = []
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        snap.judged += int(data.get("judged", 0))
        snap.total += int(data.get("total", 0))
        snap.requests += int(data.get("requests", 0))
        phases.append(str(data.get("phase", "")))
    active = [p for p in phases if p and p not in {"done", "starting"}]
    snap.phase = active[0] if len(active) == 1 else f"{len(active)} sessions" if active else (phases or ["starting"])[0]
    return snap


class Display:
    """Draws the progress of the sessions writing into a temporary folder (see the module docstring)."""

    def __init__(self, run_id: str, seed: int, targets: Sequence[str], stream: IO[str] | None = None) -> None:
        self.run_id, self.seed, self.targets = run_id, seed, list(targets)
        self.stream = stream or sys.stderr
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._folder = Path(tempfile.mkdtemp(prefix="conformance-progress-"))
        self._last_plain = 0.0
        self._last_step = -1
        self.announced = False

    def line(self, snap: Snapshot) -> str:
        """One plain progress line."""
        total = f"{snap.judged}/{snap.total}" if snap.total else f"{snap.judged}/?"
        return (
            f"progress: {total} requirements judged  phase {snap.phase}  {snap.requests} requests  "
            f"{time.monotonic() - self.started:.0f}s elapsed  seed {self.seed}"
        )

    def _plain_due(self, snap: Snapshot) -> bool:
        step = snap.judged * 10 // snap.total if snap.total else -1
        due = time.monotonic() - self._last_plain >= PLAIN_EVERY or step > self._last_step
        if due:
            self._last_plain, self._last_step = time.monotonic(), step
        return due

    def _announce(self) -> None:
        names = ", ".join(self.targets) if self.targets else "the embedded mocks"
        print(f"run {self.run_id}  seed {self.seed}  targets: {names}", file=self.stream, flush=True)
        self.announced = True

    def _started(self) -> bool:
        """A session has begun (the run's input was valid and its targets reachable): time to announce it."""
        return any(self._folder.glob("*.json"))

    def _plain(self) -> None:
        while not self._stop.wait(POLL):
            if not self.announced and not self._started():
                continue
            if not self.announced:
                self._announce()
            snap = read(self._folder)
            if self._plain_due(snap):
                print(self.line(snap), file=self.stream, flush=True)

    def _rich(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        while not self._started():
            if self._stop.wait(POLL):
                return
        self._announce()
        console = Console(file=self.stream, stderr=True)
        columns = (
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("requirements  {task.fields[requests]} requests"),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console, transient=True) as bar:
            task = bar.add_task("starting", total=None, requests=0)
            while not self._stop.wait(POLL):
                snap = read(self._folder)
                bar.update(
                    task,
                    description=snap.phase,
                    completed=snap.judged,
                    total=snap.total or None,
                    requests=snap.requests,
                )

    @contextlib.contextmanager
    def running(self) -> Iterator[Display]:
        """Draw while the body runs; the seed and targets are announced when the first session begins.

        Nothing is printed when the run ends before any session began (bad input, unreachable targets): its error
        stays the one line the command prints."""
        previous = os.environ.get(ENV)
        os.environ[ENV] = str(self._folder)
        tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        thread = threading.Thread(target=self._rich if tty else self._plain, name="conformance-progress", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join(timeout=5)
            if previous is None:
                os.environ.pop(ENV, None)
            else:
                os.environ[ENV] = previous
            if not self.announced and self._started():
                self._announce()  # a session that began and ended between two polls
            snap = read(self._folder)
            with contextlib.suppress(OSError):
                for path in self._folder.iterdir():
                    path.unlink()
                self._folder.rmdir()
            if self.announced and not tty:
                print(self.line(Snapshot(snap.judged, snap.total, snap.requests, "done")), file=self.stream, flush=True)


def shown(request: Any, *, quiet: bool, targets: Sequence[str]) -> contextlib.AbstractContextManager[Any]:
    """Progress around ``execute(request)``: fixes the run id and seed first, so that they are printed at the start."""
    import secrets

    from conformance.run.runner import new_run_id

    request.run_id = request.run_id or new_run_id()
    request.seed = request.seed if request.seed is not None else secrets.randbits(32)
    if quiet:
        return contextlib.nullcontext()
    return Display(request.run_id, request.seed, targets).running()
