"""One HTTP exchange with a target, as recorded (redacted), and its reproduction as a curl command."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_BODY_BYTES = 1_000_000
REDACTED = "[REDACTED]"  # as conformance.redact writes it (that module sits below this one)
# Headers curl sets itself (or that describe the connection, not the request).
CURL_OWN_HEADERS = frozenset({"host", "content-length", "connection", "transfer-encoding"})
_PLAIN = re.compile(r"[\x20-\x7e]*")
_HEADER_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")
_SCHEME = re.compile(r"[A-Za-z0-9._~+/-]+")


def shell_quote(text: str) -> str:
    """``text`` as one shell word that expands to exactly its UTF-8 bytes (``$'…'`` for control and non-ASCII)."""
    if _PLAIN.fullmatch(text):
        return shlex.quote(text)
    out = []
    for char in text:
        if char == "\\":
            out.append("\\\\")
        elif char == "'":
            out.append("\\'")
        elif " " <= char <= "~":
            out.append(char)
        else:
            out.append("".join(f"\\x{byte:02x}" for byte in char.encode("utf-8", "surrogatepass")))
    return "$'" + "".join(out) + "'"


def _header_option(name: str, value: str, token_env: str | None, credential: str = "") -> str:
    """One ``-H`` option: empty values as ``'Name;'``, a redacted credential as a reference to its variable, or,
    for a credential the check broke on purpose, a placeholder saying so (replaying it with the real token would
    not repeat the request)."""
    if value == "":
        return "-H " + shell_quote(f"{name};")
    scheme, _, rest = value.partition(" ")
    if credential and REDACTED in (value, rest):
        shown = f"{scheme} " if rest == REDACTED else ""
        return "-H " + shell_quote(f"{name}: {shown}<{credential}>")
    if token_env and _HEADER_NAME.fullmatch(name) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", token_env):
        if value == REDACTED:
            return f'-H "{name}: ${token_env}"'
        if rest == REDACTED and _SCHEME.fullmatch(scheme):
            return f'-H "{name}: {scheme} ${token_env}"'
    return "-H " + shell_quote(f"{name}: {value}")


def curl_command(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: str | None,
    *,
    token_env: str | None = None,
    credential: str = "",
) -> str:
    """A curl command that sends the same method, path, headers and body bytes.

    ``--path-as-is`` and ``--globoff`` keep the URL as it is; the ``Content-Type`` curl would give a body the request
    did not have is removed (``-H 'Content-Type:'``). With ``token_env``, a redacted credential becomes ``$TOKEN_ENV``.
    """
    parts = ["curl", "-sS", "--path-as-is", "--globoff", "-X", shell_quote(method), shell_quote(url)]
    sent = {name.lower() for name in headers}
    for name, value in headers.items():
        if name.lower() not in CURL_OWN_HEADERS:
            parts.append(_header_option(name, value, token_env, credential))
    if body is not None and "content-type" not in sent:
        parts.append("-H 'Content-Type:'")  # curl would add a form media type the request did not have
    if body is not None and "\x00" in body:  # no shell word holds a NUL byte: printf writes the body to stdin
        return f"printf {shell_quote(_printf_format(body))} | " + " ".join([*parts, "--data-binary", "@-"])
    if body is not None:
        parts += ["--data-raw", shell_quote(body)]
    return " ".join(parts)


def _printf_format(body: str) -> str:
    """A printf format (printable ASCII only) that prints exactly the UTF-8 bytes of ``body``."""
    out = []
    for byte in body.encode("utf-8", "surrogatepass"):
        char = chr(byte)
        if char == "%":
            out.append("%%")
        elif char == "\\":
            out.append("\\\\")
        elif " " <= char <= "~":
            out.append(char)
        else:
            out.append(f"\\{byte:03o}")
    return "".join(out)


@dataclass
class Exchange:
    """One request and its response (or the transport error instead), secrets already redacted."""

    method: str
    url: str
    request_headers: dict[str, str]
    request_body: str | None
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_text: str = ""
    elapsed_ms: float = 0.0
    transport_error: str | None = None
    truncated: bool = False
    note: str = ""
    attempts: int = 1
    started: float = 0.0  # epoch seconds when the request was sent (0: not recorded)
    before: list[Exchange] = field(default_factory=list)  # exchanges this one needs first (a duplicate's first create)
    credential: str = ""  # not the configured credential: what the check sent instead (e.g. "delete, random token")
    row: str = ""  # the requirement row whose judging sent it ('' for set-up and cleanup)

    @property
    def content_type(self) -> str:
        """The response's media type, lower-cased, without parameters."""
        for name, value in self.response_headers.items():
            if name.lower() == "content-type":
                return value.split(";")[0].strip().lower()
        return ""

    def json(self) -> Any:
        """The response body parsed as JSON; raises ``ValueError`` when it is not JSON."""
        return json.loads(self.response_text)

    def curl(self, token_env: str | None = None) -> str:
        """A curl command that repeats the request (credentials redacted, or ``$token_env``)."""
        return curl_command(
            self.method,
            self.url,
            self.request_headers,
            self.request_body,
            token_env=token_env,
            credential=self.credential,
        )

    def summary(self) -> str:
        """``METHOD URL -> STATUS`` in one line."""
        outcome = self.transport_error or str(self.status)
        return f"{self.method} {self.url} -> {outcome}"

    def as_dict(self) -> dict[str, Any]:
        """The exchange as JSON-ready evidence."""
        return {
            "request": {
                "method": self.method,
                "url": self.url,
                "headers": self.request_headers,
                "body": self.request_body,
            },
            "response": {
                "status": self.status,
                "headers": self.response_headers,
                "body": self.response_text[:4000],
                "truncated": self.truncated,
                "elapsed_ms": round(self.elapsed_ms, 2),
                "transport_error": self.transport_error,
                "attempts": self.attempts,
            },
            "curl": self.curl(),
            "note": self.note,
            **({"started": round(self.started, 3)} if self.started else {}),
            **({"before": [e.as_dict() for e in self.before]} if self.before else {}),
            **({"credential": self.credential} if self.credential else {}),
        }
