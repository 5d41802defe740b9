"""Section "mock": each vendor's reference mock under wrk (faithful and validating), beside Prism and the ceiling.

Every server runs in its own process with uvicorn (httptools, uvloop, no access log) on 127.0.0.1; wrk runs with
2 threads x 16 connections. Creates carry unique valid names; deletes take seeded ids, each once, from a pool
sized from a short probe (the server is restarted, re-seeded, for every run). Prism and the fixed-answer ceiling
keep no state, so they serve all repeats of a request kind from one start.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from pathlib import Path

from benchmarks import prism, wrk
from benchmarks.options import Options
from benchmarks.procs import BenchError, Server, free_port, python_server_argv, start_server
from benchmarks.report import say
from benchmarks.serve import SEED_PREFIX
from benchmarks.stats import Figure, Row, figure, ratio
from conformance.catalog.loader import load_vendor, vendor_names

SECTION = "mock"
TOKEN = "bench-token"
POOL_MARGIN = 1.6
POOL_MIN = 5_000
POOL_MAX = 1_500_000


@dataclass(frozen=True)
class Kind:
    """One kind of request: a vendor's create or delete, its path on our mock and on Prism, and its credential."""

    vendor: str
    role: str
    method: str
    path: str
    prism_path: str
    header: str
    value: str

    @property
    def label(self) -> str:
        """``blaxel create`` and so on."""
        return f"{self.vendor} {self.role}"

    def run_script(self, run: int, nonce: str, prism_target: bool = False) -> wrk.Script:
        """The script of one measured run: creates named ``b<nonce><run>-…``, deletes of the seeded ids."""
        return self.script(f"{nonce}{run}" if self.role == "create" else SEED_PREFIX, prism_target)

    def script(self, word: str, prism_target: bool = False) -> wrk.Script:
        """The wrk script of this kind (``word``: the create names' run word, or the deletes' id prefix)."""
        name = "create" if self.role == "create" else "delete"
        path = self.prism_path if prism_target else self.path
        return wrk.Script(name, path, self.header, self.value, word)


def kinds() -> list[Kind]:
    """Every vendor's create and delete, from its profile (``specs/<vendor>/vendor.yaml``)."""
    out: list[Kind] = []
    for name in vendor_names():
        vendor = load_vendor(name)
        value = f"{vendor.auth.scheme} {TOKEN}".strip()
        for role in ("create", "delete"):
            if role not in vendor.operations:
                continue
            op = vendor.operation(role)
            path = op.path.split("/{", 1)[0] if op.id_param else op.path
            out.append(Kind(name, role, op.method, vendor.server_path + path, path, vendor.auth.header, value))
    return out


def _load_figures(loads: list[wrk.Load], expect_errors: bool = False) -> dict[str, Figure]:
    """req/s, p50, p99 and errors (socket errors plus answers outside 2xx/3xx) over the runs."""
    return {
        "rps": figure("req/s", [x.rps for x in loads]),
        "p50_ms": figure("ms", [x.p50_ms for x in loads]),
        "p99_ms": figure("ms", [x.p99_ms for x in loads]),
        "errors": figure("count", [x.socket_errors + x.status_errors for x in loads]),
    }


def _mock_server(kind: Kind, validate: bool, per_thread: int, work: Path, tag: str, server: str = "uvicorn") -> Server:
    """Start the vendor's mock (seeded with ``per_thread`` ids per wrk thread) in its own process."""
    port = free_port()
    args = ["--app", "mock", "--vendor", kind.vendor, "--port", str(port), "--token", TOKEN, "--server", server]
    args += ["--validate"] if validate else []
    args += ["--seed-count", str(per_thread), "--seed-threads", str(wrk.THREADS)]
    return start_server(f"{kind.vendor} mock", python_server_argv(*args), port, work / f"{tag}.log")


def _pool_size(kind: Kind, validate: bool, opts: Options, work: Path, server_name: str = "uvicorn") -> int:
    """Seeded ids per wrk thread: a probe's rate of deletes of unknown ids x duration x margin."""
    server = _mock_server(kind, validate, 0, work, f"{kind.vendor}-probe", server_name)
    try:
        probe = wrk.run(server.port, kind.script("probe"), max(2.0, opts.warmup))
    finally:
        server.stop()
    estimate = probe.rps * opts.duration * POOL_MARGIN / wrk.THREADS
    return int(min(POOL_MAX, max(POOL_MIN, math.ceil(estimate))))


def _measure_mock(kind: Kind, mode: str, opts: Options, work: Path) -> Row:
    """A fresh (re-seeded) server per run: creates and deletes change the store."""
    validate = mode == "validating"
    per_thread = _pool_size(kind, validate, opts, work) if kind.role == "delete" else 0
    loads: list[wrk.Load] = []
    for run in range(opts.repeat):
        say(
            f"mock: {kind.label} ({mode}) run {run + 1}/{opts.repeat}"
            + (f", {per_thread * wrk.THREADS} ids" if per_thread else "")
        )
        server = _mock_server(kind, validate, per_thread, work, f"{kind.vendor}-{kind.role}-{mode}-{run}")
        try:
            nonce = secrets.token_hex(2)
            wrk.run(server.port, kind.script(f"w{nonce}" if kind.role == "create" else "warm"), opts.warmup)
            loads.append(wrk.run(server.port, kind.run_script(run, nonce), opts.duration))
        finally:
            server.stop()
    row = Row(SECTION, kind.label, _load_figures(loads), {"mode": mode, "server": "uvicorn+httptools+uvloop"})
    if per_thread:
        row.info["seeded_ids"] = per_thread * wrk.THREADS
    if any(x.status_errors for x in loads):
        row.notes.append("answers outside 2xx/3xx counted as errors (a 404 means the seeded pool ran out)")
    return row


def _measure_stateless(label: str, mode: str, server: Server, kind: Kind, opts: Options, prism_target: bool) -> Row:
    """All repeats against one running server (Prism, the ceiling), which keeps no state."""
    say(f"mock: {label} ({mode}) x{opts.repeat}")
    nonce = secrets.token_hex(2)
    wrk.run(server.port, kind.script(f"w{nonce}", prism_target), opts.warmup)
    loads = [
        wrk.run(server.port, kind.run_script(run, nonce, prism_target), opts.duration) for run in range(opts.repeat)
    ]
    return Row(SECTION, label, _load_figures(loads), {"mode": mode})


def _ceiling_rows(all_kinds: list[Kind], opts: Options, work: Path) -> tuple[dict[str, Row], list[Row]]:
    """Fixed-answer apps under the same create and delete requests (one per HTTP method): Starlette, raw ASGI."""
    rows: dict[str, Row] = {}
    extra: list[Row] = []
    for app, label, by_method in (("ceiling", "ceiling", True), ("ceiling-asgi", "raw ASGI ceiling", False)):
        port = free_port()
        server = start_server(label, python_server_argv("--app", app, "--port", str(port)), port, work / f"{app}.log")
        try:
            seen: set[str] = set()
            for kind in all_kinds:
                if kind.method in seen:
                    continue
                seen.add(kind.method)
                row = _measure_stateless(f"{label} {kind.method}", "fixed answer", server, kind, opts, False)
                row.info["request"] = kind.label
                if by_method:
                    rows[kind.method] = row
                else:
                    extra.append(row)
        finally:
            server.stop()
    return rows, extra


def _prism_row(kind: Kind, binary: Path, opts: Options, work: Path) -> Row:
    """Prism mocking the vendor's OpenAPI document (retrying on a copy with absolute OAuth URLs if it refuses)."""
    spec = load_vendor(kind.vendor).spec_path
    notes: list[str] = []
    port = free_port()
    try:
        server = start_server("prism", prism.argv(binary, spec, port), port, work / f"prism-{kind.vendor}.log")
    except BenchError:
        copy = prism.absolute_oauth_copy(spec, work)
        if copy is None:
            raise
        port = free_port()
        server = start_server("prism", prism.argv(binary, copy, port), port, work / f"prism-{kind.vendor}-abs.log")
        notes.append("Prism refused the relative OAuth URLs: it mocks a copy with absolute ones")
    try:
        row = _measure_stateless(kind.label, "prism", server, kind, opts, True)
    finally:
        server.stop()
    row.info["flags"] = " ".join(prism.FLAGS)
    row.notes += notes
    return row


def run(opts: Options, work: Path) -> tuple[list[Row], list[str]]:
    """Measure every request kind on our mock (both modes), Prism and the ceiling; rows and section notes."""
    if not wrk.available():
        return [], ["SKIPPED: wrk is not installed (Debian: apt-get install wrk); no mock figures"]
    notes = [
        f"wrk {wrk.THREADS} threads x {wrk.CONNECTIONS} connections, {opts.duration:g}s per run, {opts.repeat} run(s)"
    ]
    all_kinds = kinds()
    ceilings, asgi_ceilings = _ceiling_rows(all_kinds, opts, work)
    binary, why = prism.executable()
    if binary is None:
        notes.append(f"Prism not measured: {why}")
    else:
        notes.append(f"Prism {prism.version(binary)} with {' '.join(prism.FLAGS)} (static examples, one process)")
    rows: list[Row] = []
    for kind in all_kinds:
        peer: Row | None = None
        if binary is not None:
            try:
                peer = _prism_row(kind, binary, opts, work)
            except BenchError as exc:
                notes.append(f"Prism on {kind.label}: {exc}")
        ours = [_measure_mock(kind, mode, opts, work) for mode in ("faithful", "validating")]
        for row in ours:
            if peer is not None:
                row.figures["x_prism"] = ratio(row.figures["rps"], peer.figures["rps"])
            row.figures["x_ceiling"] = ratio(row.figures["rps"], ceilings[kind.method].figures["rps"])
        rows += ours + ([peer] if peer is not None else [])
    rows += list(ceilings.values()) + asgi_ceilings
    notes.append("x ceiling: ours / the fixed-answer Starlette app on the same request (the issue's ceiling)")
    return rows, notes
