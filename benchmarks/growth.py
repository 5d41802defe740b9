"""Section "growth": how the cost of a run grows with the examples asked for and with the targets run at once.

Examples: the quick profile on one vendor's embedded mock with every example count multiplied by 1, 4, 16
(``$CONFORMANCE_EXAMPLES_SCALE``). Targets: 1, 2, 4 live targets of one vendor from a configuration file, each
its own reference mock in a process of its own, run at once (``--jobs N``: one pytest session per target).
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

from benchmarks.options import Options
from benchmarks.procs import Server, free_port, python_server_argv, start_server
from benchmarks.stats import Figure, Row, figure
from benchmarks.suite_speed import SuiteRun, run_conformance, suite_row
from conformance.catalog.loader import load_vendor
from conformance.catalog.profiles import SCALE_ENV

SECTION = "growth"
VENDOR = "blaxel"
TOKEN_ENV = "CONFORMANCE_BENCH_TOKEN"
TOKEN = "bench-token"


def _config(servers: list[Server], folder: Path) -> Path:
    """A conformance.toml naming one live target per server."""
    server_path = load_vendor(VENDOR).server_path
    lines = ["[defaults]", "allow_destructive = true", f'token_env = "{TOKEN_ENV}"', "gone_deadline = 5", ""]
    for number, server in enumerate(servers, 1):
        lines += [
            f"[targets.t{number}]",
            f'vendor = "{VENDOR}"',
            f'base_url = "http://127.0.0.1:{server.port}{server_path}"',
        ]
    path = folder / f"targets-{len(servers)}.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _relative(rows: list[Row], key: str) -> None:
    """Add ``wall_vs_first``: each row's median wall time over the first row's."""
    first = rows[0].figures[key].median if rows else 0.0
    for row in rows:
        row.figures["wall_vs_first"] = Figure("x", (row.figures[key].median / first,) if first else ())


def _scale_rows(opts: Options, work: Path) -> list[Row]:
    rows: list[Row] = []
    for scale in opts.scales:
        args = ["--vendor", VENDOR, "--profile", "quick", "--seed", str(opts.seed)]
        env = {SCALE_ENV: str(scale)}
        runs = [run_conformance(args, work, env=env, label=f"scale{scale}") for _ in range(opts.repeat)]
        rows.append(suite_row(f"{VENDOR} quick x{scale} examples", runs, {"scale": scale, "vendor": VENDOR}))
    _relative(rows, "wall_s")
    _marginal(rows)
    return rows


def _marginal(rows: list[Row]) -> None:
    """Add ``marginal_ms_per_exchange``: the extra wall time per extra exchange over the first row (fixed costs out)."""
    if not rows:
        return
    wall, exchanges = rows[0].figures["wall_s"].median, rows[0].figures["exchanges"].median
    for row in rows[1:]:
        extra = row.figures["exchanges"].median - exchanges
        if extra > 0:
            value = 1000 * (row.figures["wall_s"].median - wall) / extra
            row.figures["marginal_ms_per_exchange"] = Figure("ms", (value,))


def _target_rows(opts: Options, work: Path) -> list[Row]:
    rows: list[Row] = []
    for count in opts.target_counts:
        runs: list[SuiteRun] = []
        for _ in range(opts.repeat):
            with ExitStack() as stack:
                servers: list[Server] = []
                for number in range(count):
                    port = free_port()
                    argv = python_server_argv(
                        "--app", "mock", "--vendor", VENDOR, "--port", str(port), "--token", TOKEN
                    )
                    server = start_server(
                        f"target {number}", argv, port, work / f"growth-t{number}.log", ready_path="/__mock__/health"
                    )
                    stack.callback(server.stop)
                    servers.append(server)
                names = [f for n in range(1, count + 1) for f in ("--target", f"t{n}")]
                args = ["--config", str(_config(servers, work)), *names, "--jobs", str(count), "--profile", "quick"]
                args += ["--seed", str(opts.seed)]
                runs.append(run_conformance(args, work, env={TOKEN_ENV: TOKEN}, label=f"targets{count}"))
        row = suite_row(f"{count} {VENDOR} target(s) at once", runs, {"targets": count, "vendor": VENDOR})
        row.figures["wall_per_target_s"] = figure("s", [r.measured.seconds / count for r in runs])
        rows.append(row)
    _relative(rows, "wall_s")
    return rows


def run(opts: Options, work: Path) -> tuple[list[Row], list[str]]:
    """Rows for each examples scale and each number of targets."""
    notes = [
        f"examples: {VENDOR} quick profile on the embedded mock, counts x{', x'.join(map(str, opts.scales))}",
        f"targets: live {VENDOR} targets, each on its own mock process, --jobs = number of targets",
    ]
    return _scale_rows(opts, work) + _target_rows(opts, work), notes
