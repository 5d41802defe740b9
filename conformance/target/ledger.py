"""The ledger: every resource a run created or was given, until it is confirmed gone; leftovers of earlier runs."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from conformance.target.model import Target

OWNED_ORIGINS = frozenset({"created", "uncertain"})


class Ledger:
    """Every resource the run created or was given, until it is confirmed gone; mirrored to a JSON-lines file.

    The file starts with an ``open`` line naming the run and the target (never a secret); then ``add`` lines
    (origin ``uncertain`` before a create is sent, ``created`` once it succeeded, ``disposable`` for given ids)
    and ``gone`` lines. A crash leaves ``uncertain`` or ``created`` ids behind: ``conformance cleanup`` retries them.
    """

    def __init__(self, path: Path | None = None, header: Mapping[str, Any] | None = None) -> None:
        self.path = path
        self.header = dict(header) if header else None
        self.live: dict[str, str] = {}
        self.known: set[str] = set()
        self._lock = threading.Lock()
        self._opened = False

    @classmethod
    def load(cls, path: Path) -> Ledger:
        """The state recorded in a ledger file (unreadable lines are skipped); later events append to it."""
        ledger = cls(path)
        ledger._opened = True
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError:
            return ledger
        for line in lines:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if not isinstance(event, dict):
                continue
            kind, resource_id = event.get("event"), event.get("id")
            if kind == "open":
                ledger.header = event
            elif kind == "add" and isinstance(resource_id, str):
                ledger.live[resource_id] = str(event.get("origin", "created"))
                ledger.known.add(resource_id)
            elif kind == "gone" and isinstance(resource_id, str):
                ledger.live.pop(resource_id, None)
                ledger.known.add(resource_id)
        return ledger

    def _write(self, event: dict[str, Any]) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            if not self._opened:
                self._opened = True
                if self.header is not None and handle.tell() == 0:
                    handle.write(json.dumps({"event": "open", **self.header, "t": time.time()}) + "\n")
            handle.write(json.dumps({**event, "t": time.time()}) + "\n")

    def open(self) -> None:
        """Write the header line now (so that an empty ledger still says which run and target it belongs to)."""
        with self._lock:
            if not self._opened and self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as handle:
                    self._opened = True
                    if self.header is not None and handle.tell() == 0:
                        handle.write(json.dumps({"event": "open", **self.header, "t": time.time()}) + "\n")

    def add(self, resource_id: str, origin: str = "created") -> None:
        """Record that ``resource_id`` exists (or may exist) because of this run."""
        with self._lock:
            self.live[resource_id] = origin
            self.known.add(resource_id)
            self._write({"event": "add", "id": resource_id, "origin": origin})

    def remove(self, resource_id: str, reason: str = "gone") -> None:
        """Record that ``resource_id`` is confirmed gone (or was never created)."""
        with self._lock:
            origin = self.live.pop(resource_id, "")
            self._write({"event": "gone", "id": resource_id, "origin": origin, "reason": reason})

    def owns(self, resource_id: str) -> bool:
        """Whether the run may delete ``resource_id``."""
        return resource_id in self.live

    def owned(self) -> list[str]:
        """The ids the run created (or may have created) and has not seen gone, oldest first."""
        with self._lock:
            return [i for i, origin in self.live.items() if origin in OWNED_ORIGINS]


def ledgers_of(report_root: Path, target_name: str) -> list[Path]:
    """Every ledger file of ``target_name`` under a report root (one per run directory, parallel parts included)."""
    name = f"ledger-{target_name}.jsonl"
    found = list(report_root.glob(f"*/{name}")) + list(report_root.glob(f"*/.sessions/*/{name}"))
    return sorted(p for p in found if p.is_file())


def leftovers(path: Path, target: Target) -> tuple[str | None, list[str]]:
    """The run id and the ids still owned in an earlier run's ledger that this target may sweep.

    Only ledgers of the same target (same vendor and base URL) count, and only ids with the configured prefix.
    """
    ledger = Ledger.load(path)
    header = ledger.header or {}
    recorded = header.get("target") if isinstance(header.get("target"), dict) else {}
    if recorded and (recorded.get("base_url") != target.base_url or recorded.get("vendor") != target.vendor):
        return None, []
    run_id = header.get("run_id")
    if not isinstance(run_id, str):
        return None, []
    prefix = f"{target.name_prefix}-"
    return run_id, [i for i in ledger.owned() if i.startswith(prefix)]
