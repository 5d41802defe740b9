"""What the validating mode keeps of each exchange: secrets redacted, records in memory and as JSON lines.

Records are kept in memory as flat tuples of strings and numbers (``Traffic``), which the garbage collector does
not track, so a long SDK test run keeps its latency; reading one back gives the same dict as its JSON line.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, overload

from ._common import MockOptions
from ._contract import Contract

Violation = dict[str, Any]

REDACTED = "[REDACTED]"
RECORD_TEXT_LIMIT = 16_384
HEADER_TEXT_LIMIT = 4_096
TRAFFIC_LIMIT = 100_000
TRAFFIC_BYTES_LIMIT = 64 << 20
"""Characters of bodies and headers the in-memory records keep at most (the oldest records go first)."""
ALWAYS_SECRET = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key"})
# A header whose name holds one of these words carries a credential, whatever the vendor calls it (the suite's
# HTTP layer applies the same rule; the mocks import nothing from it).
SECRET_NAME_WORDS = ("auth", "token", "secret", "api-key", "apikey", "cookie", "password")
NAME_CACHE_LIMIT = 1024
"""Header names (and sets of secrets) whose verdict the redaction remembers; past it, it starts afresh."""


class Redaction:
    """Masks credential headers (keeping the scheme) and replaces secret values in any text."""

    def __init__(self, contract: Contract, options: MockOptions) -> None:
        """Know the credential headers of the contract and the mock's own tokens."""
        names = {contract.auth.header.lower(), *(alias.header.lower() for alias in contract.auth.aliases)}
        self.headers_secret = ALWAYS_SECRET | names
        self.secrets = {s for s in (options.token, options.restricted_token, options.other_token) if s}
        self._ordered: dict[frozenset[str], list[str]] = {}
        self._secret_name: dict[str, bool] = {}

    def ordered(self, extra: set[str]) -> list[str]:
        """The secrets worth replacing (four characters or more), longest first: the order ``scrub`` replaces in.

        Worked out once per set of extra secrets (most requests carry the mock's own token); a new list each call.
        """
        key = frozenset(extra)
        found = self._ordered.get(key)
        if found is None:
            found = [secret for secret in sorted(self.secrets | extra, key=len, reverse=True) if len(secret) >= 4]
            if len(self._ordered) >= NAME_CACHE_LIMIT:
                self._ordered.clear()
            self._ordered[key] = found
        return list(found)

    def secret_name(self, name: str) -> bool:
        """Whether a (lower-case) header name carries a credential (remembered for the names seen)."""
        found = self._secret_name.get(name)
        if found is None:
            found = name in self.headers_secret or any(word in name for word in SECRET_NAME_WORDS)
            if len(self._secret_name) >= NAME_CACHE_LIMIT:
                self._secret_name.clear()
            self._secret_name[name] = found
        return found

    def headers_scrubbed(self, headers: list[tuple[str, str]], secrets: list[str]) -> dict[str, str]:
        """Headers with credentials masked and ``secrets`` (as ``ordered`` gives them) replaced."""
        out: dict[str, str] = {}
        secret_name = self.secret_name
        for name, value in headers:
            if secret_name(name):
                scheme, _, rest = value.partition(" ")
                out[name] = f"{scheme} {REDACTED}" if rest else REDACTED
            else:
                out[name] = cut_header(scrub(value, secrets))
        return out


def cut_header(value: str) -> str:
    """A header value cut to ``HEADER_TEXT_LIMIT`` characters, saying how long it was."""
    if len(value) <= HEADER_TEXT_LIMIT:
        return value
    return value[:HEADER_TEXT_LIMIT] + f"…[cut: {len(value)} characters]"


def scrub(value: str, secrets: list[str]) -> str:
    """``value`` with each of ``secrets`` replaced, in order."""
    for secret in secrets:
        if secret in value:
            value = value.replace(secret, REDACTED)
    return value


def scrub_data(value: Any, secrets: list[str]) -> Any:
    """A JSON-like value (copied) with ``secrets`` replaced in every string."""
    if isinstance(value, str):
        return scrub(value, secrets)
    if isinstance(value, list):
        return [scrub_data(item, secrets) for item in value]
    if isinstance(value, dict):
        return {key: scrub_data(item, secrets) for key, item in value.items()}
    return value


Entry = tuple[Any, ...]
"""One record as kept in memory: a tuple of strings, numbers and flat tuples of strings (see ``record_of``)."""


def record_of(entry: Entry) -> dict[str, Any]:
    """The record dict of one kept entry (every list and dict in it is new)."""
    (
        seq,
        time_text,
        vendor,
        method,
        path,
        query,
        operation,
        role,
        template,
        auth,
        request_headers,
        request_body,
        request_cut,
        status,
        response_headers,
        response_body,
        response_cut,
        answered_by,
        violations,
        reply_violations,
        notes,
        faults,
        strict,
        elapsed_ms,
    ) = entry
    return {
        "seq": seq,
        "time": time_text,
        "vendor": vendor,
        "method": method,
        "path": path,
        "query": query,
        "operation": operation,
        "role": role,
        "template": template,
        "auth": {"kind": auth[0], "header": auth[1], "scheme": auth[2]},
        "request": {"headers": unflat_headers(request_headers), "body": request_body, "truncated": request_cut},
        "response": {
            "status": status,
            "headers": unflat_headers(response_headers),
            "body": response_body,
            "truncated": response_cut,
        },
        "answered_by": answered_by,
        "violations": json.loads(violations) if violations else [],
        "reply_violations": json.loads(reply_violations) if reply_violations else [],
        "notes": list(notes),
        "faults": list(faults),
        "strict": strict,
        "elapsed_ms": elapsed_ms,
    }


def flat_headers(headers: dict[str, str]) -> tuple[str, ...]:
    """Headers as one flat tuple (name, value, name, value …): nested tuples would keep it tracked longer."""
    return tuple(itertools.chain.from_iterable(headers.items()))


def unflat_headers(flat: tuple[str, ...]) -> dict[str, str]:
    """Headers from their flat tuple."""
    return dict(zip(flat[::2], flat[1::2], strict=True))


def frozen_json(value: list[Violation]) -> str:
    """Violations as JSON text (empty for none): kept as a string, they give the garbage collector no work."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")) if value else ""


class Traffic(Sequence[dict[str, Any]]):
    """The recent records, oldest first, read as dicts (``list(traffic)``, ``traffic[-1]``).

    Each is kept as a flat tuple of strings and numbers, which the garbage collector stops tracking: a
    hundred thousand kept records add no work to its full collections (dicts and lists would).
    """

    def __init__(self, maxlen: int = TRAFFIC_LIMIT, max_chars: int = TRAFFIC_BYTES_LIMIT) -> None:
        """Keep at most ``maxlen`` records and ``max_chars`` characters of their texts (the oldest go first)."""
        self._entries: deque[Entry] = deque(maxlen=maxlen)
        self._sizes: deque[int] = deque(maxlen=maxlen)
        self.max_chars = max_chars
        self._chars = 0

    @property
    def maxlen(self) -> int | None:
        """How many records are kept at most."""
        return self._entries.maxlen

    def add(self, entry: Entry) -> None:
        """Keep one record (dropping the oldest past either limit)."""
        size = entry_size(entry)
        if len(self._entries) == self._entries.maxlen and self._sizes:
            self._chars -= self._sizes[0]
        self._entries.append(entry)
        self._sizes.append(size)
        self._chars += size
        while self._chars > self.max_chars and len(self._entries) > 1:
            self._entries.popleft()
            self._chars -= self._sizes.popleft()

    @property
    def chars(self) -> int:
        """Characters of texts the kept records hold."""
        return self._chars

    def clear(self) -> None:
        """Forget every record."""
        self._entries.clear()
        self._sizes.clear()
        self._chars = 0

    def __len__(self) -> int:
        """How many records are kept."""
        return len(self._entries)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        """One record (or a list of them for a slice)."""
        if isinstance(index, slice):
            return [record_of(entry) for entry in list(self._entries)[index]]
        return record_of(self._entries[index])

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """The records, oldest first (those kept when iteration began)."""
        return map(record_of, list(self._entries))


def entry_size(entry: Entry) -> int:
    """About how many characters one kept record holds (its strings, and the strings of its flat tuples)."""
    size = 64
    for item in entry:
        if isinstance(item, str):
            size += len(item)
        elif isinstance(item, tuple):
            for part in item:
                if isinstance(part, str):
                    size += len(part)
    return size


class Recorder:
    """Appends each record as one JSON line (to a file if given) and keeps the recent ones in memory."""

    def __init__(self, path: Path | None, memory: Traffic) -> None:
        """Create the file's folder; records go to ``memory`` too."""
        self.path = path
        self.memory = memory
        self._lock = threading.Lock()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()

    def write(self, entry: Entry) -> None:
        """Keep one record."""
        line = json_line(record_of(entry)) if self.path is not None else b""
        with self._lock:
            self.memory.add(entry)
            if self.path is not None:
                with self.path.open("ab") as handle:
                    handle.write(line)


def json_line(record: dict[str, Any]) -> bytes:
    """One record as a UTF-8 JSON line (a lone surrogate a client sent, e.g. ``"\\ud800"``, stays escaped)."""
    try:
        return (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
    except UnicodeEncodeError:
        return (json.dumps(record, separators=(",", ":")) + "\n").encode("ascii")


def cut_text(data: bytes) -> tuple[str, bool]:
    """Body text for a record, cut to the record limit."""
    return data[:RECORD_TEXT_LIMIT].decode("utf-8", "replace"), len(data) > RECORD_TEXT_LIMIT
