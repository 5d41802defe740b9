"""Drive Debian's ``wrk`` load generator with the benchmark's Lua scripts and read its JSON summary."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

LUA_DIR = Path(__file__).resolve().parent / "lua"
THREADS = 2
CONNECTIONS = 16


def available() -> bool:
    """True when ``wrk`` is on PATH."""
    return shutil.which("wrk") is not None


@dataclass(frozen=True)
class Load:
    """What one wrk run measured."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    socket_errors: int
    status_errors: int

    @property
    def rps(self) -> float:
        """Requests per second."""
        return self.requests / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class Script:
    """A Lua script and its arguments: request path, auth header name and value, a script-specific word."""

    name: str
    path: str
    header: str
    value: str
    word: str


def run(port: int, script: Script, seconds: float, *, threads: int = THREADS, connections: int = CONNECTIONS) -> Load:
    """Load 127.0.0.1:port with ``script`` for ``seconds``; ``RuntimeError`` when wrk fails."""
    argv = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "5s",
        "-s",
        str(LUA_DIR / f"{script.name}.lua"),
        f"http://127.0.0.1:{port}",
        "--",
        script.path,
        script.header,
        script.value,
        script.word,
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False)
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            data = json.loads(line.removeprefix("BENCH_JSON "))
            return Load(
                requests=int(data["requests"]),
                seconds=data["duration_us"] / 1e6,
                p50_ms=data["p50_us"] / 1000,
                p99_ms=data["p99_us"] / 1000,
                socket_errors=int(data["connect"] + data["read"] + data["write"] + data["timeout"]),
                status_errors=int(data["status"]),
            )
    raise RuntimeError(f"wrk gave no summary (exit {done.returncode}): {(done.stderr or done.stdout)[-400:]}")
