"""Section "mock": each vendor's reference mock under wrk (faithful and validating), beside Prism and the ceiling.

Every server runs in its own process on 127.0.0.1, under uvicorn (httptools, uvloop, no access log) and, when it
is installed, granian; wrk runs with 2 threads x 16 connections. Prism and our servers are measured in turn, run by
run, so that a shared machine's load falls on both alike. Creates carry unique valid names; deletes take seeded
ids, each once, from a pool sized from a short probe (the server is restarted, re-seeded, for every run). Prism and
the fixed-answer ceilings keep no state, so they serve all runs of a request kind from one start.
"""

from __future__ import annotations

import importlib.util
import math
import os
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
MODES = ("faithful", "validating")
TOKEN = "bench-token"
POOL_MARGIN = 2.0
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


def servers() -> tuple[str, ...]:
    """The servers the mocks are measured on: uvicorn, and granian when it is installed."""
    return ("uvicorn", "granian") if importlib.util.find_spec("granian") is not None else ("uvicorn",)


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


def _measure_stateless(label: str, mode: str, server: Server, kind: Kind, opts: Options, prism_target: bool) -> Row:
    """All repeats against one running server (Prism, the ceiling), which keeps no state."""
    say(f"mock: {label} ({mode}) x{opts.repeat}")
    nonce = secrets.token_hex(2)
    wrk.run(server.port, kind.script(f"w{nonce}", prism_target), opts.warmup)
    loads = [
        wrk.run(server.port, kind.run_script(run, nonce, prism_target), opts.duration) for run in range(opts.repeat)
    ]
    return Row(SECTION, label, _load_figures(loads), {"mode": mode})


def _ceiling_rows(all_kinds: list[Kind], opts: Options, work: Path) -> tuple[dict[tuple[str, str], Row], list[Row]]:
    """Fixed-answer apps under the same create and delete requests (one per HTTP method), per server: Starlette,
    raw ASGI. The Starlette rows are keyed by (server, method)."""
    rows: dict[tuple[str, str], Row] = {}
    extra: list[Row] = []
    for server_name in servers():
        for app, label, by_method in (("ceiling", "ceiling", True), ("ceiling-asgi", "raw ASGI ceiling", False)):
            port = free_port()
            argv = python_server_argv("--app", app, "--port", str(port), "--server", server_name)
            server = start_server(label, argv, port, work / f"{app}-{server_name}.log")
            try:
                seen: set[str] = set()
                for kind in all_kinds:
                    if kind.method in seen:
                        continue
                    seen.add(kind.method)
                    row = _measure_stateless(f"{label} {kind.method}", "fixed answer", server, kind, opts, False)
                    row.info.update(request=kind.label, server=server_name)
                    if by_method:
                        rows[server_name, kind.method] = row
                    else:
                        extra.append(row)
            finally:
                server.stop()
    return rows, extra


def _start_prism(kind: Kind, binary: Path, work: Path) -> tuple[Server, list[str]]:
    """Prism mocking the vendor's OpenAPI document (on a copy with absolute OAuth URLs if it refuses the original)."""
    spec = load_vendor(kind.vendor).spec_path
    port = free_port()
    try:
        return start_server("prism", prism.argv(binary, spec, port), port, work / f"prism-{kind.vendor}.log"), []
    except BenchError:
        copy = prism.absolute_oauth_copy(spec, work)
        if copy is None:
            raise
        port = free_port()
        server = start_server("prism", prism.argv(binary, copy, port), port, work / f"prism-{kind.vendor}-abs.log")
        return server, ["Prism refused the relative OAuth URLs: it mocks a copy with absolute ones"]


def _one_mock_run(
    kind: Kind, server_name: str, mode: str, per_thread: int, run: int, work: Path, opts: Options
) -> wrk.Load:
    """One measured run on a fresh (re-seeded) mock: creates and deletes change the store."""
    say(
        f"mock: {kind.label} ({mode}, {server_name}) run {run + 1}/{opts.repeat}"
        + (f", {per_thread * wrk.THREADS} ids" if per_thread else "")
    )
    tag = f"{kind.vendor}-{kind.role}-{mode}-{server_name}-{run}"
    server = _mock_server(kind, mode == "validating", per_thread, work, tag, server_name)
    try:
        nonce = secrets.token_hex(2)
        wrk.run(server.port, kind.script(f"w{nonce}" if kind.role == "create" else "warm"), opts.warmup)
        return wrk.run(server.port, kind.run_script(run, nonce), opts.duration)
    finally:
        server.stop()


def _measure_kind(kind: Kind, binary: Path | None, opts: Options, work: Path, notes: list[str]) -> list[Row]:
    """Our mock in each mode on each server and Prism, interleaved run by run (the machine may be shared): each
    run measures Prism, then every (mode, server) once; ``x_prism`` is the median of the runs' own ratios."""
    configs = [(mode, server_name) for mode in MODES for server_name in servers()]
    probed = {
        c: _pool_size(kind, c[0] == "validating", opts, work, c[1]) if kind.role == "delete" else 0 for c in configs
    }
    # one pool per mode, the largest any server's probe asked for: a probe on a shared machine can run slow
    pools = {c: max(n for (mode, _), n in probed.items() if mode == c[0]) for c in configs}
    peer: Server | None = None
    if binary is not None:
        try:
            peer, extra = _start_prism(kind, binary, work)
            notes.extend(f"Prism on {kind.label}: {note}" for note in extra)
            wrk.run(peer.port, kind.script(f"w{secrets.token_hex(2)}", True), opts.warmup)
        except BenchError as exc:
            notes.append(f"Prism on {kind.label}: {exc}")
            peer = None
    ours: dict[tuple[str, str], list[wrk.Load]] = {c: [] for c in configs}
    theirs: list[wrk.Load] = []
    loads: list[float] = []
    try:
        for run in range(opts.repeat):
            if peer is not None:
                say(f"mock: {kind.label} (prism) run {run + 1}/{opts.repeat}")
                theirs.append(wrk.run(peer.port, kind.run_script(run, secrets.token_hex(2), True), opts.duration))
            for mode, server_name in configs:
                ours[mode, server_name].append(
                    _one_mock_run(kind, server_name, mode, pools[mode, server_name], run, work, opts)
                )
            loads.append(os.getloadavg()[0])
    finally:
        if peer is not None:
            peer.stop()
    rows: list[Row] = []
    for (mode, server_name), runs in ours.items():
        row = Row(SECTION, kind.label, _load_figures(runs), {"mode": mode, "server": server_name})
        row.figures["load"] = figure("load average", loads)
        if theirs:
            row.figures["x_prism"] = figure("x", [o.rps / p.rps for o, p in zip(runs, theirs, strict=True) if p.rps])
        if pools[mode, server_name]:
            row.info["seeded_ids"] = pools[mode, server_name] * wrk.THREADS
        if any(x.status_errors for x in runs):
            row.notes.append("answers outside 2xx/3xx counted as errors (a 404 means the seeded pool ran out)")
        rows.append(row)
    if theirs:
        row = Row(SECTION, kind.label, _load_figures(theirs), {"mode": "prism", "flags": " ".join(prism.FLAGS)})
        row.figures["load"] = figure("load average", loads)
        rows.append(row)
    return rows


def run(opts: Options, work: Path) -> tuple[list[Row], list[str]]:
    """Measure every request kind on our mock (both modes, each server), Prism and the ceilings; rows and notes."""
    if not wrk.available():
        return [], ["SKIPPED: wrk is not installed (Debian: apt-get install wrk); no mock figures"]
    notes = [
        f"wrk {wrk.THREADS} threads x {wrk.CONNECTIONS} connections, {opts.duration:g}s per run, {opts.repeat} run(s)",
        f"servers: {', '.join(servers())} (granian when installed: pip install granian)",
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
        measured = _measure_kind(kind, binary, opts, work, notes)
        for row in measured:
            ceiling = ceilings.get((row.info.get("server", ""), kind.method))
            if ceiling is not None:
                row.figures["x_ceiling"] = ratio(row.figures["rps"], ceiling.figures["rps"])
        rows += measured
    rows += list(ceilings.values()) + asgi_ceilings
    notes.append("x Prism: the median of each run's ratio (Prism and our servers are measured in turn, run by run)")
    notes.append("x ceiling: ours / the fixed-answer Starlette app on the same request and server")
    return rows, notes
