"""Section "servers": the faithful mocks under uvicorn (the default) and under granian 2.x, the four requests.

The same mock app (``benchmarks.serve``; granian imports it through a factory reading its arguments from the
environment), one process, one worker; wrk 2 threads x 16 connections; a fresh, re-seeded server per run.
"""

from __future__ import annotations

import importlib.util
import secrets
from pathlib import Path

from benchmarks import wrk
from benchmarks.mock_load import Kind, _load_figures, _mock_server, _pool_size, kinds
from benchmarks.options import Options
from benchmarks.report import say
from benchmarks.stats import Row, ratio

SECTION = "servers"
SERVERS = ("uvicorn", "granian")


def _measure(kind: Kind, server_name: str, opts: Options, work: Path) -> Row:
    per_thread = _pool_size(kind, False, opts, work, server_name) if kind.role == "delete" else 0
    loads: list[wrk.Load] = []
    for run in range(opts.repeat):
        say(f"servers: {kind.label} under {server_name} run {run + 1}/{opts.repeat}")
        server = _mock_server(kind, False, per_thread, work, f"srv-{server_name}-{kind.label}-{run}", server_name)
        try:
            nonce = secrets.token_hex(2)
            wrk.run(server.port, kind.script(f"w{nonce}" if kind.role == "create" else "warm"), opts.warmup)
            loads.append(wrk.run(server.port, kind.run_script(run, nonce), opts.duration))
        finally:
            server.stop()
    row = Row(SECTION, f"{kind.label} faithful, {server_name}", _load_figures(loads), {"server": server_name})
    if per_thread:
        row.info["seeded_ids"] = per_thread * wrk.THREADS
    return row


def run(opts: Options, work: Path) -> tuple[list[Row], list[str]]:
    """uvicorn and granian rows per request kind; granian's rows carry their ratio to uvicorn's."""
    if not wrk.available():
        return [], ["SKIPPED: wrk is not installed (Debian: apt-get install wrk)"]
    if importlib.util.find_spec("granian") is None:
        return [], ["SKIPPED: granian is not installed (pip install granian)"]
    notes = [
        f"wrk {wrk.THREADS} threads x {wrk.CONNECTIONS} connections, {opts.duration:g}s per run, {opts.repeat} run(s)"
    ]
    rows: list[Row] = []
    for kind in kinds():
        base = _measure(kind, "uvicorn", opts, work)
        fast = _measure(kind, "granian", opts, work)
        fast.figures["x_uvicorn"] = ratio(fast.figures["rps"], base.figures["rps"])
        rows += [base, fast]
    return rows, notes
