"""The catalog's model: a vendor, its operations, and its requirement rows (all read from data)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Level = Literal["MUST", "SHOULD"]


LEVELS: tuple[Level, ...] = ("MUST", "SHOULD")


@dataclass(frozen=True)
class Source:
    """Where a requirement comes from: a seed file and a field or passage in it."""

    seed: str
    field: str


@dataclass(frozen=True)
class Requirement:
    """One row of a vendor's requirement catalog."""

    id: str
    level: Level
    operation: str
    rule: str
    source: Source
    check: str
    vendor: str
    args: Mapping[str, Any] = field(default_factory=dict)
    inferred: bool = False
    derived: bool = False


@dataclass(frozen=True)
class AuthScheme:
    """How a credential is presented: ``<header>: <scheme> <token>``."""

    header: str
    scheme: str
    evidence: str = ""


@dataclass(frozen=True)
class Operation:
    """One API operation, by the role it plays in a resource's life (``create`` or ``delete``)."""

    role: str
    method: str
    path: str
    operation_id: str
    id_param: str | None = None
    id_field: str | None = None
    returns: str = "resource"
    absent_answer: Mapping[str, Any] | None = None  # besides a 4xx, the documented answer that says "no such resource"

    def url_path(self, server_path: str, resource_id: str | None = None) -> str:
        """The request path below the target's base URL (``server_path`` is already in the base URL)."""
        path = self.path
        if self.id_param is not None and resource_id is not None:
            from urllib.parse import quote

            path = path.replace("{" + self.id_param + "}", quote(resource_id, safe=""))
        return path


@dataclass(frozen=True)
class Vendor:
    """Everything the engine knows about one vendor, all read from data."""

    name: str
    title: str
    prefix: str
    spec: Mapping[str, Any]
    spec_path: Path
    server_path: str
    default_base_url: str
    token_env: str
    auth: AuthScheme
    auth_aliases: tuple[AuthScheme, ...]
    auth_documented: bool
    error_schema: Mapping[str, Any]
    error_documented: bool
    operations: Mapping[str, Operation]
    inferred_statuses: Mapping[str, Mapping[int, str]]
    requirements: tuple[Requirement, ...]
    faults: Mapping[str, tuple[str, ...]]
    semantics: Mapping[str, str]
    folder_label: str = ""

    @property
    def dialect(self) -> str:
        """``3.0`` or ``3.1``, from the document's ``openapi`` field."""
        return "3.1" if str(self.spec.get("openapi", "")).startswith("3.1") else "3.0"

    def operation(self, role: str) -> Operation:
        """The operation that plays ``role``; raises ``KeyError`` when the vendor has none."""
        return self.operations[role]

    def requirement(self, requirement_id: str) -> Requirement:
        """The requirement with that id."""
        for requirement in self.requirements:
            if requirement.id == requirement_id:
                return requirement
        raise KeyError(requirement_id)
