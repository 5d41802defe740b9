"""A loopback TCP proxy that adds a fixed delay to every chunk, in each direction (a remote target's round trip).

Run as ``python -m benchmarks.latency_proxy --listen 127.0.0.1:P --to 127.0.0.1:Q --delay-ms 50``: every chunk
read from one side is written to the other ``delay-ms`` after it arrived, in order, so one HTTP exchange costs at
least twice the delay (the request's way there, the reply's way back); chunks are pipelined (a chunk does not
wait for the previous chunk's delay to end), connections and keep-alive are carried through unchanged (one
upstream connection per client connection), and a half-close is forwarded after the same delay. Only loopback
addresses are accepted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import threading
from collections.abc import Sequence

CHUNK = 65536
MAX_CONNECTIONS = 256  # concurrent client connections; more wait in the listen backlog


def _loopback(text: str) -> tuple[str, int]:
    """``host:port`` with a loopback host; ``ValueError`` otherwise."""
    host, _, port = text.rpartition(":")
    if not ipaddress.ip_address(host.strip("[]")).is_loopback:
        raise ValueError(f"{text}: only loopback addresses (127.0.0.1) are allowed")
    number = int(port)
    if not 0 <= number <= 65535:
        raise ValueError(f"{text}: port out of range")
    return host.strip("[]"), number


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    """Copy ``reader`` to ``writer``, each chunk ``delay`` seconds after it was read; forward EOF likewise."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def deliver() -> None:
        while True:
            due, data = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(data)
            await writer.drain()

    sender = asyncio.create_task(deliver())
    try:
        while True:
            data = await reader.read(CHUNK)
            queue.put_nowait((loop.time() + delay, data))
            if not data:
                break
        await sender
    except (ConnectionError, OSError):
        sender.cancel()
    finally:
        if not sender.done():
            sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError, OSError):
            await sender


class LatencyProxy:
    """Forward ``listen`` to ``upstream`` with ``delay_ms`` added per direction; ``port`` once started."""

    def __init__(self, upstream: tuple[str, int], delay_ms: float, listen: tuple[str, int] = ("127.0.0.1", 0)) -> None:
        self.upstream = upstream
        self.delay = max(0.0, delay_ms) / 1000
        self.listen = listen
        self.port = 0
        self.connections = 0
        self._slots = asyncio.Semaphore(MAX_CONNECTIONS)
        self._server: asyncio.Server | None = None

    async def _handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        async with self._slots:
            self.connections += 1
            try:
                up_reader, up_writer = await asyncio.wait_for(asyncio.open_connection(*self.upstream), 10)
            except (OSError, TimeoutError):
                client_writer.close()
                return
            try:
                await asyncio.gather(
                    _pump(client_reader, up_writer, self.delay), _pump(up_reader, client_writer, self.delay)
                )
            finally:
                for writer in (up_writer, client_writer):
                    writer.close()
                    with contextlib.suppress(ConnectionError, OSError):
                        await writer.wait_closed()

    async def start(self) -> None:
        """Listen; ``port`` is the bound port afterwards."""
        self._server = await asyncio.start_server(self._handle, *self.listen, backlog=512)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def serve_forever(self) -> None:
        """Start and serve until cancelled."""
        await self.start()
        assert self._server is not None
        async with self._server:
            await self._server.serve_forever()


class ThreadedProxy:
    """A :class:`LatencyProxy` on an event loop in a daemon thread (tests, in-process benchmarks)."""

    def __init__(self, upstream: tuple[str, int], delay_ms: float) -> None:
        self.proxy = LatencyProxy(upstream, delay_ms)
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="latency-proxy", daemon=True)
        self._task: asyncio.Task[None] | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._task = self._loop.create_task(self.proxy.serve_forever())
        self._loop.call_soon(self._ready.set)
        with contextlib.suppress(asyncio.CancelledError):
            self._loop.run_until_complete(self._task)
        pending = asyncio.all_tasks(self._loop)  # open connections' handlers: end them before the loop closes
        for task in pending:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self._loop.close()

    def __enter__(self) -> LatencyProxy:
        self._thread.start()
        self._ready.wait(10)
        for _ in range(1000):  # the port is known once start() ran: at most 10 s
            if self.proxy.port:
                break
            threading.Event().wait(0.01)
        return self.proxy

    def __exit__(self, *exc: object) -> None:
        if self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(timeout=10)


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the arguments and proxy until killed."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.latency_proxy", description=__doc__.splitlines()[0])
    parser.add_argument("--listen", required=True, help="127.0.0.1:PORT to listen on")
    parser.add_argument("--to", required=True, help="127.0.0.1:PORT to forward to")
    parser.add_argument("--delay-ms", type=float, default=50.0, help="delay per direction, per chunk (default 50)")
    args = parser.parse_args(argv)
    try:
        listen, upstream = _loopback(args.listen), _loopback(args.to)
    except ValueError as exc:
        parser.error(str(exc))
    proxy = LatencyProxy(upstream, args.delay_ms, listen)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(proxy.serve_forever())


if __name__ == "__main__":
    main()
