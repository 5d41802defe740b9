"""HTTP exchanges with a target: a recording client, redaction of secrets, and curl reproductions."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import email.utils
import json
import os
import random
import ssl
import threading
import time
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from conformance.exchange import MAX_BODY_BYTES, Exchange
from conformance.redact import Redactor

CURRENT_ROW: contextvars.ContextVar[str] = contextvars.ContextVar("conformance_row", default="")
"""The requirement row the current thread judges ('' outside a row): set by ``TargetContext.judging``."""

RETRY_STATUSES = frozenset({429, 502, 503, 504})
BACKOFF_BASE = 0.5
BUDGET_CUT = "time budget exhausted during the request"
T = TypeVar("T")


class RequestBudgetExceeded(Exception):
    """The run has sent as many requests as its budget allows."""


class TimeBudgetExceeded(RequestBudgetExceeded):
    """The run's time budget leaves no room for this request."""


class RunStopped(Exception):
    """The run was asked to stop (SIGINT/SIGTERM): no new request is sent."""


class RetriesExhausted(Exception):
    """The target kept answering 429/502/503/504; the last answer is attached."""

    def __init__(self, message: str, exchange: Exchange) -> None:
        super().__init__(message)
        self.exchange = exchange


# A hook called before each request with (method, path, body); it may raise to refuse the request, and may return
# a callback that receives the last answer (None when there was none) and whether anything was sent at all.
Settle = Callable[[Exchange | None, bool], None]
BeforeSend = Callable[[str, str, bytes | None], Settle | None]


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """The wait a ``Retry-After`` header asks for (delta-seconds or an HTTP date), or None when absent/invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class _LoopThread:
    """An asyncio loop in a daemon thread: requests run there, so a deadline can cancel them at any byte."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule ``coro`` on the loop."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def stop(self) -> None:
        """Stop the loop and its thread."""
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self.loop.close()


_SSL_CONTEXTS: dict[tuple[bool, str | None, str | None], ssl.SSLContext] = {}
_SSL_LOCK = threading.Lock()


def default_ssl_context(trust_env: bool) -> ssl.SSLContext:
    """httpx's default verifying context (certifi, or $SSL_CERT_FILE/$SSL_CERT_DIR with ``trust_env``), built once.

    Building one loads the CA bundle (about 75 ms); a run makes several clients, and a context is safe to share.
    """
    key = (
        (trust_env, os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
        if trust_env
        else (False, None, None)
    )
    with _SSL_LOCK:
        context = _SSL_CONTEXTS.get(key)
        if context is None:
            context = _SSL_CONTEXTS[key] = httpx.create_ssl_context(verify=True, trust_env=trust_env)
        return context


def _trusts_nothing() -> ssl.SSLContext:
    """A client context that verifies (certificate and host name) against no CA at all: every TLS handshake fails."""
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


class RecordingClient:
    """An httpx client bound to one target that records every exchange, redacted, within hard limits.

    Each attempt ends within ``timeout`` seconds (connect to last byte) and before ``deadline`` (epoch seconds);
    bodies are read up to ``max_body_bytes``; 429/502/503/504 are retried with exponential backoff (``Retry-After``
    honoured, never waiting past the deadline); ``rate_limit`` spaces requests; ``stop`` (an event) makes the client
    refuse new requests and abandon the one in flight, unless ``winding_down()`` was called (cleanup).
    Proxies and CAs follow httpx: ``trust_env`` reads HTTP(S)_PROXY, NO_PROXY, SSL_CERT_FILE; ``verify`` may be an
    ``ssl.SSLContext``.
    """

    def __init__(
        self,
        base_url: str,
        *,
        redactor: Redactor,
        timeout: float = 10.0,
        max_requests: int = 100_000,
        verify: bool | str | ssl.SSLContext = True,
        extra_headers: Mapping[str, str] | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
        max_retries: int = 3,
        retry_max_wait: float = 30.0,
        rate_limit: float | None = None,
        deadline: float | None = None,
        trust_env: bool = True,
        proxy: str | None = None,
        stop: threading.Event | None = None,
        before_send: BeforeSend | None = None,
        max_in_flight: int = 1,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.redactor = redactor
        self.timeout = timeout
        self.max_requests = max_requests
        self.max_body_bytes = max_body_bytes
        self.max_retries = max_retries
        self.retry_max_wait = retry_max_wait
        self.rate_limit = rate_limit
        self.deadline = deadline
        self.stop = stop
        self.before_send = before_send
        self.extra_headers = dict(extra_headers or {})
        self.exchanges: list[Exchange] = []
        self.retried: list[Exchange] = []
        self.retry_statuses: dict[str, int] = {}
        self.sent = 0
        self.budget_exhausted = False
        self._winding_down = False
        self._next_slot = 0.0
        self._lock = threading.Lock()
        # At most this many requests on the wire at once, however many threads send (rows judged at once, and the
        # requests a row sends at once: see TargetContext.map_requests).
        self._in_flight = threading.BoundedSemaphore(max(1, max_in_flight))
        self._trust_env = trust_env
        self._proxy = proxy
        # A plain-http target never needs the CA bundle (about 75 ms to load): its client gets a context that
        # trusts no certificate (it fails closed), and the verifying one is built if an https URL is ever sent.
        self._deferred_tls = verify is True and self.base_url.startswith("http://")
        if isinstance(verify, str):
            verify = ssl.create_default_context(cafile=verify)
        elif verify is True:
            verify = _trusts_nothing() if self._deferred_tls else default_ssl_context(trust_env)
        self._loop = _LoopThread(f"http:{urlsplit(self.base_url).netloc}")
        self._client = self._new_client(verify)
        self._closed = False

    def _new_client(self, verify: bool | ssl.SSLContext) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            timeout=httpx.Timeout(self.timeout),
            verify=verify,
            trust_env=self._trust_env,
            proxy=self._proxy,
            follow_redirects=False,
        )

    def _verify_tls(self) -> None:
        """An https URL on a client made for plain http: from now on with the verifying context."""
        with self._lock:
            if not self._deferred_tls:
                return
            previous, self._client = self._client, self._new_client(default_ssl_context(self._trust_env))
            self._deferred_tls = False
        with contextlib.suppress(Exception):
            self._loop.submit(previous.aclose()).result(timeout=5)

    def close(self) -> None:
        """Close the connection pool and the loop thread."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            self._loop.submit(self._client.aclose()).result(timeout=5)
        self._loop.stop()

    @property
    def request_count(self) -> int:
        """How many requests were sent (retries included)."""
        return self.sent

    @property
    def retry_count(self) -> int:
        """How many requests were retried after a 429/502/503/504."""
        return len(self.retried)

    def winding_down(self, deadline: float | None) -> None:
        """Cleanup starts: ignore the stop request and the request budget from now on; end by ``deadline``."""
        self._winding_down = True
        self.deadline = deadline

    def remaining(self) -> float | None:
        """Seconds left before the deadline (None when there is none)."""
        return None if self.deadline is None else self.deadline - time.time()

    # waiting ---------------------------------------------------------------
    def _stopped(self) -> bool:
        return self.stop is not None and self.stop.is_set() and not self._winding_down

    def _sleep(self, seconds: float) -> None:
        """Wait ``seconds``, or raise when the run stops or the deadline comes first."""
        left = self.remaining()
        if left is not None and seconds > left:
            self.budget_exhausted = True
            raise TimeBudgetExceeded("time budget exhausted")
        if self.stop is None or self._winding_down:
            time.sleep(max(0.0, seconds))
        elif self.stop.wait(max(0.0, seconds)):
            raise RunStopped("run interrupted")

    def _admit(self, method: str = "GET") -> float:
        """Check the stop request and both budgets, wait for the rate limit; the attempt's timeout in seconds.

        A POST (a create) is not started when the deadline would cut it short: one cut in flight may or may not
        have created its resource, and a target that then refuses the cleanup leaves the run a leak it caused.
        """
        if self._stopped():
            raise RunStopped("run interrupted")
        with self._lock:  # counted when admitted, so that requests judged at once never pass the budget
            if self.sent >= self.max_requests and not self._winding_down:
                raise RequestBudgetExceeded(f"request budget of {self.max_requests} exhausted")
            self.sent += 1
            slot = 0.0
            if self.rate_limit:
                now = time.monotonic()
                start = max(now, self._next_slot)
                self._next_slot = start + 1.0 / self.rate_limit
                slot = start - now
        try:
            if slot > 0:
                self._sleep(slot)
            left = self.remaining()
            if left is not None and (left <= 0.05 or (method == "POST" and left < self.timeout)):
                self.budget_exhausted = True
                raise TimeBudgetExceeded("time budget exhausted")
        except (TimeBudgetExceeded, RunStopped):
            with self._lock:
                self.sent -= 1  # never sent
            raise
        return self.timeout if left is None else min(self.timeout, left)

    def _retry_delay(self, exchange: Exchange, attempt: int) -> tuple[float | None, str]:
        """The wait before retrying ``exchange`` (None: give up) and why."""
        if attempt >= self.max_retries:
            return None, f"after {self.max_retries} retries"
        asked = retry_after_seconds(_header(exchange.response_headers, "retry-after"))
        if asked is not None and asked > self.retry_max_wait:
            return None, f"Retry-After {asked:g}s exceeds retry_max_wait {self.retry_max_wait:g}s"
        delay = asked if asked is not None else min(BACKOFF_BASE * 2**attempt, self.retry_max_wait)
        delay += 0.0 if asked is not None else random.uniform(0, delay / 4)
        left = self.remaining()
        if left is not None and delay >= left - 0.05:
            return None, f"waiting {delay:.1f}s would exceed the time budget"
        return delay, ""

    # sending ---------------------------------------------------------------
    async def _fetch(
        self, method: str, url: str, headers: dict[str, str], content: bytes | None, seconds: float
    ) -> tuple[int, dict[str, str], bytes, bool]:
        async with asyncio.timeout(seconds):
            request = self._client.build_request(method, url, headers=headers, content=content)
            response = await self._client.send(request, stream=True)
            try:
                chunks: list[bytes] = []
                size = 0
                truncated = False
                async for chunk in response.aiter_bytes():
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > self.max_body_bytes:
                        truncated = True
                        break
                return response.status_code, dict(response.headers), b"".join(chunks)[: self.max_body_bytes], truncated
            finally:
                await response.aclose()

    def _wait(self, future: concurrent.futures.Future[T], seconds: float, *, finish_on_stop: bool = False) -> T:
        """The future's result; cancelled when the run stops, unless ``finish_on_stop`` (it then ends within its
        timeout: a create abandoned in flight may still create its resource after the cleanup's DELETE)."""
        limit = time.monotonic() + seconds + 2.0
        while True:
            try:
                return future.result(timeout=0.05)
            except concurrent.futures.TimeoutError:
                if future.done():
                    raise
                if self._stopped() and not finish_on_stop:
                    future.cancel()
                    raise RunStopped("run interrupted") from None
                if time.monotonic() > limit:
                    future.cancel()
                    raise TimeoutError(f"no answer within {seconds:.1f}s") from None

    def _attempt(
        self, method: str, url: str, headers: dict[str, str], content: bytes | None, template: Exchange
    ) -> Exchange:
        with self._in_flight:
            return self._attempt_one(method, url, headers, content, template)

    def _attempt_one(
        self, method: str, url: str, headers: dict[str, str], content: bytes | None, template: Exchange
    ) -> Exchange:
        seconds = self._admit(method.upper())
        exchange = Exchange(
            method=template.method,
            url=template.url,
            request_headers=template.request_headers,
            request_body=template.request_body,
            note=template.note,
        )
        exchange.started = time.time()
        started = time.perf_counter()
        try:
            status, response_headers, raw, truncated = self._wait(
                self._loop.submit(self._fetch(method, url, headers, content, seconds)),
                seconds,
                finish_on_stop=method.upper() == "POST",
            )
            exchange.status = status
            exchange.truncated = truncated
            exchange.response_headers = self.redactor.headers(response_headers)
            exchange.response_text = self.redactor.text(raw.decode("utf-8", "replace"))
        except RunStopped:
            exchange.transport_error = "run interrupted"
        except TimeoutError:
            left = self.remaining()
            if left is not None and left <= 0.1:
                self.budget_exhausted = True
                exchange.transport_error = BUDGET_CUT
            else:
                exchange.transport_error = f"timed out after {seconds:.1f}s"
        except httpx.HTTPError as exc:
            exchange.transport_error = self.redactor.text(f"{type(exc).__name__}: {exc}".strip())
        except (OSError, ssl.SSLError, ValueError) as exc:
            exchange.transport_error = self.redactor.text(f"{type(exc).__name__}: {exc}".strip())
        exchange.elapsed_ms = (time.perf_counter() - started) * 1000
        return exchange

    def send(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
        content: bytes | str | None = None,
        note: str = "",
    ) -> Exchange:
        """Send one request below the base URL; transport errors are recorded, never raised.

        Raises ``RequestBudgetExceeded`` (or ``TimeBudgetExceeded``), ``RunStopped``, or ``RetriesExhausted``.
        """
        url = path if path.startswith(("http://", "https://")) else self.base_url + path
        if self._deferred_tls and url.startswith("https://"):
            self._verify_tls()
        send_headers = {**self.extra_headers, **dict(headers or {})}
        body_text: str | None = None
        payload: bytes | None
        if json_body is not None:
            body_text = json.dumps(json_body, ensure_ascii=False)
            payload = body_text.encode()
            send_headers.setdefault("Content-Type", "application/json")
        elif content is not None:
            body_text = content if isinstance(content, str) else content.decode("utf-8", "replace")
            payload = content.encode() if isinstance(content, str) else content
        else:
            payload = None
        relative = url[len(self.base_url) :] if url.startswith(self.base_url) else url
        done = self.before_send(method, relative, payload) if self.before_send else None
        template = Exchange(
            method=method,
            url=self.redactor.text(url),
            request_headers=self.redactor.headers(send_headers),
            request_body=self.redactor.text(body_text) if body_text is not None else None,
            note=note,
        )
        final: Exchange | None = None
        sent = False  # whether an attempt was admitted (went out); other threads' requests do not count
        try:
            attempt = 0
            while True:
                exchange = self._attempt(method, url, send_headers, payload, template)
                sent = True
                exchange.attempts = attempt + 1
                final = exchange if exchange.status is not None else None
                if exchange.transport_error == "run interrupted":
                    self._record(exchange)
                    raise RunStopped("run interrupted")
                if exchange.status not in RETRY_STATUSES:
                    break
                delay, why = self._retry_delay(exchange, attempt)
                if delay is None:
                    if self.max_retries == 0:
                        break
                    with self._lock:
                        self.retried.append(exchange)
                    raise RetriesExhausted(
                        f"the target answered {exchange.status} {attempt + 1} time(s) for {method} "
                        f"{template.url}; gave up {why}",
                        exchange,
                    )
                with self._lock:
                    self.retried.append(exchange)
                    key = str(exchange.status)
                    self.retry_statuses[key] = self.retry_statuses.get(key, 0) + 1
                self._sleep(delay)
                attempt += 1
            self._record(exchange)
            final = exchange
            if exchange.transport_error == BUDGET_CUT:
                raise TimeBudgetExceeded(BUDGET_CUT)
            return exchange
        finally:
            if done is not None:
                done(final, sent)

    def _record(self, exchange: Exchange) -> None:
        exchange.row = CURRENT_ROW.get()
        with self._lock:
            self.exchanges.append(exchange)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None
