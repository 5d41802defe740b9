"""One HTTP exchange with a target, as recorded (redacted), and its reproduction as a curl command."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from typing import Any

MAX_BODY_BYTES = 1_000_000


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

    def curl(self) -> str:
        """A curl command that repeats the request (credentials redacted)."""
        parts = ["curl", "-sS", "-X", self.method, shlex.quote(self.url)]
        for name, value in self.request_headers.items():
            if name.lower() in {
                "host",
                "content-length",
                "accept-encoding",
                "connection",
                "user-agent",
                "accept",
            }:
                continue
            parts += ["-H", shlex.quote(f"{name}: {value}")]
        if self.request_body is not None:
            parts += ["--data-raw", shlex.quote(self.request_body)]
        return " ".join(parts)

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
        }
