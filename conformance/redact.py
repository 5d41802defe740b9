"""Secrets never reach a report: credential headers keep only their scheme, every token value is replaced."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "[REDACTED]"


SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "api-key",
        "x-auth-token",
        "x-access-token",
    }
)


# Any header whose name holds one of these words carries a credential (vendor aliases such as
# X-<Vendor>-Authorization included), so no vendor's header needs naming here.
SECRET_HEADER_WORDS = ("auth", "token", "secret", "api-key", "apikey", "cookie", "password")


def is_secret_header(name: str) -> bool:
    """Whether a header of this name carries a credential and must be masked."""
    lowered = name.lower()
    return lowered in SECRET_HEADERS or any(word in lowered for word in SECRET_HEADER_WORDS)


class Redactor:
    """Replaces every known secret value, and every credential header, with ``[REDACTED]``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def add(self, secret: str) -> None:
        """Also redact ``secret`` from now on."""
        if secret and len(secret) >= 4 and secret not in self._secrets:
            self._secrets = sorted([*self._secrets, secret], key=len, reverse=True)

    def text(self, value: str) -> str:
        """``value`` with every secret replaced."""
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        """Headers with credential headers masked (their scheme kept) and secrets replaced."""
        clean: dict[str, str] = {}
        for name, value in headers.items():
            if is_secret_header(name):
                scheme, _, rest = value.partition(" ")
                clean[name] = f"{scheme} {REDACTED}" if rest else REDACTED
            else:
                clean[name] = self.text(value)
        return clean

    def data(self, value: Any) -> Any:
        """A JSON-like value with secrets replaced in every string."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.data(v) for v in value]
        if isinstance(value, dict):
            return {self.text(str(k)): self.data(v) for k, v in value.items()}
        return value
