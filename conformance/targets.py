"""Target configuration: where a vendor's API lives, how to authenticate, and what the run may touch."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from conformance.errors import UsageError


@dataclass(frozen=True)
class Target:
    """One API deployment under test. The token itself is never stored here, only its variable's name."""

    name: str
    vendor: str
    base_url: str
    token_env: str
    owned: bool = False
    disposable_ids: tuple[str, ...] = ()
    name_prefix: str = "cf"
    timeout: float = 10.0
    max_requests: int = 5000
    gone_deadline: float = 15.0
    allow_destructive: bool = True
    restricted_token_env: str | None = None
    verify: bool | str = True
    extra_headers: Mapping[str, str] = field(default_factory=dict)

    def token(self) -> str:
        """The token, read from the environment at the moment of use."""
        return os.environ.get(self.token_env, "")

    def restricted_token(self) -> str | None:
        """The restricted token, if the target declares one."""
        return os.environ.get(self.restricted_token_env) if self.restricted_token_env else None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready configuration (no secret in it)."""
        data = asdict(self)
        data["disposable_ids"] = list(self.disposable_ids)
        data["extra_headers"] = {k: ("[REDACTED]" if "auth" in k.lower() else v) for k, v in self.extra_headers.items()}
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Target:
        """The inverse of ``as_dict``."""
        values = dict(data)
        values["disposable_ids"] = tuple(values.get("disposable_ids", ()))
        values["extra_headers"] = dict(values.get("extra_headers", {}))
        return cls(**values)


def check_base_url(url: str) -> str:
    """``url`` if it is an absolute http(s) URL, else a ``UsageError``."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise UsageError(f"bad URL {url!r}: expected http(s)://host[:port][/path]")
    try:
        _ = parts.port
    except ValueError:
        raise UsageError(f"bad URL {url!r}: invalid port") from None
    return url.rstrip("/")
