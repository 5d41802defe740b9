"""Target configuration: where a vendor's API lives, how to authenticate, and what the run may touch."""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from conformance.errors import UsageError

DEFAULT_MAX_LIVE_RESOURCES = 25
DEFAULT_WORKERS = 8  # rows judged at once per target (conformance/run/judging.py); 1: one after another
MAX_WORKERS = 64


@dataclass(frozen=True)
class Target:
    """One API deployment under test. The token itself is never stored here, only its variable's name.

    ``deadline`` and ``slot`` are not configuration: the runner sets the deadline (epoch seconds) from ``budget``
    when the run starts, and gives each target of a several-target run a distinct slot (a letter) that goes into
    its names, so that parallel sessions against one deployment never create the same name.
    """

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
    other_token_env: str | None = None
    verify: bool | str = True
    extra_headers: Mapping[str, str] = field(default_factory=dict)
    budget: float | None = None
    rate_limit: float | None = None
    max_retries: int = 3
    retry_max_wait: float = 30.0
    max_live_resources: int = DEFAULT_MAX_LIVE_RESOURCES
    max_body_bytes: int = 1_000_000
    trust_env: bool = True
    proxy: str | None = None
    sweep: bool = True
    workers: int = DEFAULT_WORKERS
    deadline: float | None = None
    slot: str = ""

    def token(self) -> str:
        """The token, read from the environment at the moment of use."""
        return os.environ.get(self.token_env, "")

    def restricted_token(self) -> str | None:
        """The restricted token, if the target declares one."""
        return os.environ.get(self.restricted_token_env) if self.restricted_token_env else None

    def other_token(self) -> str | None:
        """The token of a second identity (another workspace or account), if the target declares one."""
        return os.environ.get(self.other_token_env) if self.other_token_env else None

    @property
    def suite_deadline(self) -> float | None:
        """When the checks must stop sending (epoch seconds): the deadline less the cleanup reserve."""
        if self.deadline is None:
            return None
        return self.deadline - cleanup_reserve(self.budget or 0.0)

    def ssl_verify(self) -> bool | ssl.SSLContext:
        """What httpx gets as ``verify``: a bool, or a context trusting the configured CA bundle (file or folder)."""
        if isinstance(self.verify, bool):
            return self.verify
        path = Path(self.verify)
        if path.is_dir():
            return ssl.create_default_context(capath=str(path))
        return ssl.create_default_context(cafile=str(path))

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready configuration (no secret in it)."""
        data = asdict(self)
        data["disposable_ids"] = list(self.disposable_ids)
        data["extra_headers"] = {k: ("[REDACTED]" if "auth" in k.lower() else v) for k, v in self.extra_headers.items()}
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Target:
        """The inverse of ``as_dict`` (keys it does not know, such as report annotations, are ignored)."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["disposable_ids"] = tuple(values.get("disposable_ids", ()))
        values["extra_headers"] = dict(values.get("extra_headers", {}))
        return cls(**values)


def cleanup_reserve(budget: float) -> float:
    """Seconds of a time budget kept for cleanup at the end of the run."""
    return min(max(budget * 0.2, 1.5), 120.0)


def report_margin(budget: float) -> float:
    """Seconds of a time budget kept for writing and merging the reports."""
    return min(max(budget * 0.05, 0.5), 10.0)


def with_deadline(target: Target, started: float) -> Target:
    """``target`` with its absolute deadline set from its budget, counted from ``started`` (epoch seconds)."""
    if target.budget is None:
        return target
    return replace(target, deadline=started + target.budget - report_margin(target.budget))


def with_slots(targets: list[Target]) -> list[Target]:
    """Distinct name slots (a, b, …) for the targets of a run with several targets; one target keeps none."""
    if len(targets) < 2:
        return targets
    letters = "abcdefghijklmnopqrstuvwxyz"
    return [replace(t, slot=letters[i % 26] + (str(i // 26) if i >= 26 else "")) for i, t in enumerate(targets)]


def check_base_url(url: str) -> str:
    """``url`` if it is an absolute http(s) URL, else a ``UsageError``."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise UsageError(f"bad URL {url!r}: expected http(s)://host[:port][/path]")
    try:
        _ = parts.port
    except ValueError:
        raise UsageError(f"bad URL {url!r}: invalid port") from None
    if parts.username or parts.password:
        raise UsageError(f"bad URL {parts.hostname}: credentials do not belong in a URL (use the token variable)")
    return url.rstrip("/")


def check_workers(workers: object, option: str = "--workers") -> int:
    """``workers`` if it is a count of rows judged at once (1 to ``MAX_WORKERS``), else a ``UsageError``."""
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= MAX_WORKERS:
        raise UsageError(f"{option}: expected an integer from 1 to {MAX_WORKERS}, got {workers!r}")
    return workers
