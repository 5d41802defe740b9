"""Real uvicorn servers on loopback, started and stopped in a background thread."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from conformance.errors import InfrastructureError, UsageError

# Limits of every server this package starts (a reference mock in shared CI meets careless and hostile clients).
HEADER_TIMEOUT = 10.0
"""Seconds a connection may take to deliver a request's headers once it opened or sent the first byte of them."""
BODY_TIMEOUT = 30.0
"""Seconds a request's body may take to arrive once its headers are complete (a body sent a byte at a time)."""
MAX_HEADER_BYTES = 64 * 1024
"""Bytes of request line and headers a request may have; past it the answer is 431 and the connection closes."""
MAX_CONNECTIONS = 256
"""Connections (and requests in progress) at once; a request past it is answered 503 by uvicorn."""
KEEP_ALIVE = 30
"""Seconds an idle keep-alive connection stays open (an SDK's pooled connections are reused in between)."""


class GuardedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the two limits it lacks: a header deadline and a header size.

    uvicorn 0.54 times out only idle keep-alive connections, and each byte received cancels that timer, so a
    client sending one byte a second holds a connection for ever (slow loris); httptools has no header size limit.
    """

    header_timeout = HEADER_TIMEOUT
    body_timeout = BODY_TIMEOUT
    max_header_bytes = MAX_HEADER_BYTES

    def connection_made(self, transport: Any) -> None:
        """Start the header deadline: a new connection must send its request's headers in time."""
        super().connection_made(transport)
        self._pending = 0
        self._guard: Any = None
        self._body_guard: Any = None
        self._arm()

    def _waiting(self) -> bool:
        """True while no request is being served (the bytes that arrive are a request line or headers)."""
        return self.cycle is None or bool(self.cycle.response_complete)

    def _arm(self) -> None:
        if self._guard is None:
            self._guard = self.loop.call_later(self.header_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._guard is not None:
            self._guard.cancel()
            self._guard = None

    def _body_arriving(self) -> bool:
        """True while a request's headers are in and its body is not yet complete."""
        return self.cycle is not None and not self.cycle.response_complete and bool(self.cycle.more_body)

    def _disarm_body(self) -> None:
        if self._body_guard is not None:
            self._body_guard.cancel()
            self._body_guard = None

    def data_received(self, data: bytes) -> None:
        """Feed the parser; count header bytes while a request's headers are incomplete."""
        super().data_received(data)
        if self.transport is None or self.transport.is_closing():
            self._disarm()
            return
        if self._waiting():
            self._pending += len(data)
            self._arm()
            if self._pending > self.max_header_bytes:
                self._refuse(b"431 Request Header Fields Too Large")
        else:
            self._pending = 0
            self._disarm()
            if not self._body_arriving():
                self._disarm_body()
            elif self._body_guard is None:  # the headers are in: the body gets its own deadline, from now
                self._body_guard = self.loop.call_later(self.body_timeout, self._body_too_slow)

    def _body_too_slow(self) -> None:
        """The body deadline passed: close a connection whose request body is still arriving."""
        self._body_guard = None
        if self._body_arriving() and not self.transport.is_closing():
            self._refuse(b"408 Request Timeout")

    def on_message_begin(self) -> None:
        """A request starts: count its header bytes from zero."""
        super().on_message_begin()
        self._header_bytes = 0

    def on_url(self, url: bytes) -> None:
        """Count the request target as header bytes."""
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        """Count each header (a request that arrives in one piece is counted here, not in ``data_received``)."""
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def _count(self, size: int) -> None:
        self._header_bytes = getattr(self, "_header_bytes", 0) + size
        if self._header_bytes > self.max_header_bytes:
            self._oversized = True
            raise ValueError("request headers too large")  # httptools stops parsing; uvicorn calls send_400_response

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a request it cannot parse; 431 when it is the header limit that stopped it."""
        if getattr(self, "_oversized", False):
            self._refuse(b"431 Request Header Fields Too Large")
        else:
            super().send_400_response(msg)

    def _too_slow(self) -> None:
        """The header deadline passed: close a connection still waiting for a request's headers."""
        self._guard = None
        if self._waiting() and not self.transport.is_closing():
            self._refuse(b"408 Request Timeout" if self._pending else b"")

    def _refuse(self, status: bytes) -> None:
        """Answer ``status`` (nothing when empty) and close the connection."""
        self._disarm()
        self._disarm_body()
        if status:
            self.transport.write(b"HTTP/1.1 " + status + b"\r\nconnection: close\r\ncontent-length: 0\r\n\r\n")
        self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the deadlines with the connection."""
        self._disarm()
        self._disarm_body()
        super().connection_lost(exc)


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket; a ``UsageError`` when the port is taken or invalid."""
    if not 0 <= port <= 65535:
        raise UsageError(f"invalid port {port}: expected 0-65535")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(f"port {port} on {host} is already in use") from None
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(512)
    sock.set_inheritable(True)
    return sock


class _PromptServer(uvicorn.Server):
    """uvicorn's server, stopped at once: woken by ``stop`` instead of at its next 0.1 s tick, and no fixed 0.1 s
    wait for connections when none is open (a self-test starts and stops one per case: ~0.1-0.2 s of each)."""

    _loop: asyncio.AbstractEventLoop | None = None
    _wake: asyncio.Event | None = None

    async def main_loop(self) -> None:
        """uvicorn's loop (``on_tick`` every 0.1 s until it says exit), its wait cut short by ``wake``."""
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 1) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 0.1)
            should_exit = await self.on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """uvicorn's shutdown, without its fixed 0.1 s wait for connections to drain when none is left open."""
        if self.server_state.connections or self.server_state.tasks:
            await super().shutdown(sockets)
            return
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for server in self.servers:
            await server.wait_closed()
        if not self.force_exit:
            await self.lifespan.shutdown()

    def wake(self) -> None:
        """From another thread: end the current wait now (``should_exit`` is read right after)."""
        loop, event = self._loop, self._wake
        if loop is not None and event is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already closed
                loop.call_soon_threadsafe(event.set)


class BackgroundServer:
    """An ASGI app served by uvicorn from a thread of this process."""

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning") -> None:
        self.host = host
        self._socket = bind_socket(host, port)
        self.port = int(self._socket.getsockname()[1])
        config = uvicorn.Config(
            app,
            log_level=log_level,
            access_log=False,
            lifespan="off",
            timeout_keep_alive=KEEP_ALIVE,
            limit_concurrency=MAX_CONNECTIONS,
            http=GuardedProtocol,
            proxy_headers=False,
            server_header=False,
        )
        self._server = _PromptServer(config)
        self._thread = threading.Thread(target=self._serve, name=f"uvicorn:{self.port}", daemon=True)

    @property
    def url(self) -> str:
        """``http://host:port`` of the running server."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def _serve(self) -> None:
        self._server.run(sockets=[self._socket])

    def start(self, timeout: float = 10.0) -> BackgroundServer:
        """Start serving; returns once the server accepts connections."""
        self._thread.start()
        limit = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > limit:
                raise InfrastructureError(f"the server on {self.url} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Ask uvicorn to exit and wait for it."""
        self._server.should_exit = True
        self._server.wake()
        self._thread.join(timeout=10)
        with contextlib.suppress(OSError):
            self._socket.close()


@contextlib.contextmanager
def serving(app: Any, *, host: str = "127.0.0.1", port: int = 0) -> Iterator[BackgroundServer]:
    """Serve ``app`` for the duration of the block."""
    server = BackgroundServer(app, host=host, port=port).start()
    try:
        yield server
    finally:
        server.stop()
