"""Flags of ``conformance run`` named as a Schemathesis user knows them: ``-H``, ``--request-timeout``,
``--tls-verify``, ``--proxy`` and ``--rate-limit N/s``. Each parser turns bad input into one ``UsageError`` line."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from urllib.parse import urlsplit

from conformance.errors import UsageError
from conformance.redact import is_secret_header

HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")  # an RFC 9110 token
RATE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(?:/\s*([a-z]+))?\s*$")
PER_UNIT = {"s": 1.0, "sec": 1.0, "second": 1.0, "m": 60.0, "min": 60.0, "minute": 60.0}
LIVE_ONLY = ("headers", "tls_verify", "proxy")


def rate_limit(text: str) -> float:
    """Requests per second from ``N``, ``N/s`` or ``N/m`` (``10/s`` and ``600/m`` are both 10.0)."""
    match = RATE.match(text)
    unit = (match.group(2) or "s") if match else ""
    if match is None or unit not in PER_UNIT:
        raise UsageError(f"--rate-limit: expected N, N/s or N/m (requests per second or per minute), got {text!r}")
    value = float(match.group(1)) / PER_UNIT[unit]
    if value <= 0:
        raise UsageError(f"--rate-limit: expected a rate > 0, got {text!r}")
    return value


def header(text: str) -> tuple[str, str]:
    """``(name, value)`` of ``'Name: value'``: an HTTP token name, no line breaks, no credential."""
    name, sep, value = text.partition(":")
    name, value = name.strip(), value.strip()
    if not sep or not HEADER_NAME.match(name):
        raise UsageError(f"-H/--header: expected 'Name: value' with an HTTP header name, got {text!r}")
    if any(c in value for c in "\r\n\0"):
        raise UsageError(f"-H/--header {name}: the value may not contain line breaks or NUL")
    if is_secret_header(name):
        raise UsageError(f"-H/--header {name}: credentials do not go in headers; the token comes from --token-env")
    return name, value


def tls_verify(text: str) -> bool | str:
    """``true``/``false``, or a CA bundle (file or folder) to trust instead of the system's."""
    lowered = text.strip().lower()
    if lowered in {"true", "yes", "1"}:
        return True
    if lowered in {"false", "no", "0"}:
        return False
    path = Path(text).expanduser()
    if not path.exists():
        raise UsageError(f"--tls-verify: expected true, false or a CA bundle file/folder; no such path {text!r}")
    return str(path.resolve())


def proxy(text: str) -> str:
    """An ``http(s)://`` or ``socks5://`` proxy URL, without credentials (they would reach the reports)."""
    parts = urlsplit(text.strip())
    if parts.scheme not in {"http", "https", "socks5", "socks5h"} or not parts.hostname:
        raise UsageError(f"--proxy: expected http(s)://host:port or socks5://host:port, got {text!r}")
    try:
        _ = parts.port
    except ValueError:
        raise UsageError(f"--proxy: invalid port in {parts.hostname!r}") from None
    if parts.username or parts.password:
        raise UsageError("--proxy: credentials do not belong in the URL; set HTTPS_PROXY in the environment instead")
    return text.strip()


def add_flags(run: argparse.ArgumentParser) -> None:
    """Add ``-H/--header``, ``--request-timeout``, ``--tls-verify`` and ``--proxy`` to the ``run`` parser."""
    run.add_argument(
        "-H",
        "--header",
        dest="headers",
        type=header,
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="an extra header on every request of the live target (repeatable; not credentials)",
    )
    run.add_argument("--request-timeout", dest="timeout", type=float, metavar="S", help="alias of --timeout")
    run.add_argument(
        "--tls-verify",
        type=tls_verify,
        metavar="true|false|PATH",
        help="verify the live target's TLS certificate (default true), or trust this CA bundle file/folder",
    )
    run.add_argument(
        "--proxy", type=proxy, metavar="URL", help="send the live target's requests through this proxy (default none)"
    )


def check_live_only(args: argparse.Namespace, live: bool) -> None:
    """``UsageError`` when a flag that configures a live target's transport is given for the embedded mocks."""
    given = [name for name in LIVE_ONLY if getattr(args, name, None) not in (None, [])]
    if given and not live:
        flag = {"headers": "-H/--header", "tls_verify": "--tls-verify", "proxy": "--proxy"}[given[0]]
        raise UsageError(f"{flag} applies to a live target (--base-url or --target), not to the embedded mocks")
