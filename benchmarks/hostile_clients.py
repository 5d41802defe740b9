"""Hostile clients against ``conformance mock``: memory and connection bounds (docs/benchmarks.md, "Hostile clients").

``python -m benchmarks.hostile_clients`` starts ``conformance mock --vendor blaxel`` on a free loopback port, then
sends (every loop bounded in count and seconds): creates with huge labels, seeded ids of about 1 MB through the
admin route, and slow-loris sockets that send one header byte a second. It prints the mock's RSS before and after
(and its peak), how the creates and seeds were answered, and how long the slow-loris sockets stayed open.
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "conformance-local-token"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mb(pid: int) -> tuple[float, float]:
    """(current RSS, peak RSS) of a process in MB, from /proc."""
    values: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
        key, _, rest = line.partition(":")
        if key in {"VmRSS", "VmHWM"}:
            values[key] = int(rest.split()[0]) / 1024
    return values.get("VmRSS", 0.0), values.get("VmHWM", 0.0)


def creates(url: str, count: int, label_bytes: int, deadline: float) -> Counter[int]:
    """``count`` Blaxel creates, each with one label of ``label_bytes`` characters; status counts."""
    codes: Counter[int] = Counter()
    label = "x" * label_bytes
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    with httpx.Client(timeout=30) as client:
        for i in range(count):
            if time.monotonic() > deadline:
                codes[-1] += count - i  # not sent: out of time
                break
            body = json.dumps({"metadata": {"name": f"hostile-{i}", "labels": {"big": label}}, "spec": {}})
            codes[client.post(url + "/v0/models", content=body, headers=headers).status_code] += 1
    return codes


def seeds(url: str, count: int, id_bytes: int, deadline: float) -> Counter[int]:
    """``count`` resources seeded through the admin route, each id ``id_bytes`` characters long."""
    codes: Counter[int] = Counter()
    with httpx.Client(timeout=30) as client:
        for i in range(count):
            if time.monotonic() > deadline:
                codes[-1] += count - i
                break
            key = f"{i:04d}" + "s" * (id_bytes - 4)
            codes[client.post(url + "/__mock__/resources", json={"id": key}).status_code] += 1
    return codes


def slow_loris(port: int, sockets: int, seconds: float) -> tuple[list[float], int, float]:
    """``sockets`` connections sending one header byte a second for at most ``seconds``.

    Returns how long each stayed open (seconds; ``seconds`` for one the server never closed), how many were still
    open at the end, and the latency of one ordinary request sent while they were open (ms).
    """
    selector = selectors.DefaultSelector()
    opened: dict[socket.socket, float] = {}
    for _ in range(sockets):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(b"GET /__mock__/health HTTP/1.1\r\n")
        sock.setblocking(False)
        opened[sock] = time.monotonic()
        selector.register(sock, selectors.EVENT_READ)
    held: list[float] = []
    started = time.monotonic()
    latency = -1.0
    next_byte = started + 1.0
    while opened and time.monotonic() - started < seconds:
        for key, _ in selector.select(timeout=0.1):
            ready = key.fileobj
            if not isinstance(ready, socket.socket):
                continue
            sock = ready
            try:
                data = sock.recv(4096)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            if not data or b"\r\n\r\n" in data:
                held.append(time.monotonic() - opened.pop(sock))
                selector.unregister(sock)
                sock.close()
        if time.monotonic() >= next_byte:
            next_byte += 1.0
            for sock in list(opened):
                try:
                    sock.send(b"X")
                except OSError:
                    held.append(time.monotonic() - opened.pop(sock))
                    selector.unregister(sock)
                    sock.close()
            if latency < 0 and time.monotonic() - started > 2:
                begin = time.perf_counter()
                httpx.get(f"http://127.0.0.1:{port}/__mock__/health", timeout=10)
                latency = (time.perf_counter() - begin) * 1000
    still_open = len(opened)
    for sock in opened:
        held.append(seconds)
        sock.close()
    return held, still_open, latency


def main(argv: list[str] | None = None) -> int:
    """Run the hostile clients against a fresh mock and print the figures."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.hostile_clients", description=__doc__)
    parser.add_argument("--creates", type=int, default=2000)
    parser.add_argument("--label-bytes", type=int, default=800_000)
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--seed-bytes", type=int, default=1_000_000)
    parser.add_argument("--loris", type=int, default=50)
    parser.add_argument("--loris-seconds", type=float, default=20.0)
    parser.add_argument("--max-seconds", type=float, default=240.0, help="time budget of the create and seed loops")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--package-root", type=Path, default=ROOT, help="serve the mock of this source tree (to measure a commit)"
    )
    args = parser.parse_args(argv)
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "conformance", "mock", "--vendor", "blaxel", "--port", str(port)],
        cwd=args.package_root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "CONFORMANCE_MOCK_TOKEN": TOKEN, "PYTHONPATH": str(args.package_root.resolve())},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        limit = time.monotonic() + 30
        while True:
            try:
                httpx.get(url + "/__mock__/health", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > limit:
                    raise SystemExit("the mock did not start") from None
                time.sleep(0.1)
        before, _ = rss_mb(proc.pid)
        deadline = time.monotonic() + args.max_seconds
        began = time.monotonic()
        create_codes = creates(url, args.creates, args.label_bytes, deadline)
        seed_codes = seeds(url, args.seeds, args.seed_bytes, deadline)
        sent_s = time.monotonic() - began
        after_store, _ = rss_mb(proc.pid)
        held, still_open, latency = slow_loris(port, args.loris, args.loris_seconds)
        after, peak = rss_mb(proc.pid)
        figures = {
            "creates": {"count": args.creates, "label_bytes": args.label_bytes, "statuses": dict(create_codes)},
            "seeds": {"count": args.seeds, "id_bytes": args.seed_bytes, "statuses": dict(seed_codes)},
            "send_seconds": round(sent_s, 1),
            "rss_mb": {
                "before": round(before, 1),
                "after_store": round(after_store, 1),
                "after": round(after, 1),
                "peak": round(peak, 1),
            },
            "slow_loris": {
                "sockets": args.loris,
                "seconds": args.loris_seconds,
                "held_median_s": round(statistics.median(held), 1) if held else None,
                "held_max_s": round(max(held), 1) if held else None,
                "still_open_at_end": still_open,
                "health_latency_ms_during": round(latency, 1),
            },
        }
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
