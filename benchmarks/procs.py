"""Child processes of a benchmark: servers on loopback, and commands timed with their peak memory."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def answers(port: int, path: str = "/", timeout: float = 1.0) -> bool:
    """True when an HTTP server on the port answers a GET of ``path`` (any status)."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request("GET", path)
        connection.getresponse().read()
        return True
    except OSError:
        return False
    finally:
        connection.close()


class BenchError(RuntimeError):
    """A benchmark could not be carried out (a server did not start, a tool failed)."""


@dataclass
class Server:
    """A server running in a child process (its own process group), listening on ``port``."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        """Terminate the server's process group, then kill it if it lingers."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def start_server(
    name: str, argv: Sequence[str], port: int, log: Path, *, ready_path: str = "/", timeout: float = 120.0
) -> Server:
    """Start ``argv`` (which must listen on ``port``) and wait until it answers HTTP; ``BenchError`` if it does not."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        process = subprocess.Popen(
            list(argv), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=ROOT, start_new_session=True
        )
    server = Server(name, port, process, log)
    limit = time.monotonic() + timeout
    while not answers(port, ready_path):
        if process.poll() is not None or time.monotonic() > limit:
            server.stop()
            tail = log.read_text(encoding="utf-8", errors="replace")[-600:].strip()
            raise BenchError(f"{name} did not start on port {port}: {tail or 'no output'}")
        time.sleep(0.1)
    return server


@contextlib.contextmanager
def running(name: str, argv: Sequence[str], port: int, log: Path, *, ready_path: str = "/") -> Iterator[Server]:
    """Serve for the duration of the block."""
    server = start_server(name, argv, port, log, ready_path=ready_path)
    try:
        yield server
    finally:
        server.stop()


def python_server_argv(*args: str) -> list[str]:
    """The command line of ``benchmarks.serve`` with ``args``."""
    return [sys.executable, "-m", "benchmarks.serve", *args]


@dataclass(frozen=True)
class Measured:
    """One timed command: exit code, wall seconds, peak memory (MiB: its largest process; its whole process tree,
    sampled) and its output."""

    code: int
    seconds: float
    peak_mib: float
    tree_peak_mib: float
    stdout: str
    stderr: str
    cpu_seconds: float = 0.0  # user + system CPU of it and its waited-for children (steadier than wall when busy)


def run_measured(
    argv: Sequence[str], *, env: Mapping[str, str] | None = None, timeout: float = 3600.0, cwd: Path = ROOT
) -> Measured:
    """Run a command to completion; peak memory is the largest resident set of it and its waited-for children."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            list(argv),
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            cwd=cwd,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
        timer = threading.Timer(timeout, _kill_group, (process.pid,))
        timer.start()
        sampler = TreeSampler(process.pid)
        sampler.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            timer.cancel()
            sampler.stop()
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if seconds >= timeout:
            raise BenchError(f"{' '.join(argv[:6])} … did not finish within {timeout:g}s")
        out.seek(0)
        err.seek(0)
        return Measured(
            process.returncode,
            seconds,
            usage.ru_maxrss / 1024,
            sampler.peak_kib / 1024,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
            usage.ru_utime + usage.ru_stime,
        )


def _kill_group(pid: int) -> None:
    """Kill a process group that ran out of time."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


class TreeSampler:
    """Samples, every ``interval`` seconds, the summed resident memory of a process and all its descendants."""

    def __init__(self, root: int, interval: float = 0.2) -> None:
        self.root = root
        self.interval = interval
        self.peak_kib = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"rss:{root}", daemon=True)

    def start(self) -> None:
        """Start sampling."""
        self._thread.start()

    def stop(self) -> None:
        """Stop sampling and wait for the sampler."""
        self._done.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._done.is_set():
            self.peak_kib = max(self.peak_kib, tree_rss_kib(self.root))
            self._done.wait(self.interval)


def tree_rss_kib(root: int) -> int:
    """The summed resident set (KiB) of ``root`` and its descendants, from /proc (0 where /proc is missing)."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    page_kib = os.sysconf("SC_PAGE_SIZE") // 1024
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else []:
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text(encoding="ascii", errors="replace")
            statm = (entry / "statm").read_text(encoding="ascii").split()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        parents[int(entry.name)] = int(fields[1])
        rss[int(entry.name)] = int(statm[1]) * page_kib
    tree = {root}
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                grew = True
    return sum(rss.get(pid, 0) for pid in tree)
