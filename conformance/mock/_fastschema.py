"""Schema checks for the validating mock: the verdict from a compiled validator, the messages from python-jsonschema.

``jsonschema_rs`` compiles each schema once (its ``$ref`` values resolved against the same OpenAPI document,
never fetched: ``offline``, and a registry whose retriever refuses) and answers "valid?" in about a microsecond.
Only when it says "invalid" (or cannot judge an instance, e.g. a string with a lone surrogate) does the
python-jsonschema validator run, so every verdict and message is python-jsonschema's own. A schema that reaches a
keyword the two engines judge differently (regexes, float ``multipleOf``) is not compiled at all.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import unquote

import jsonschema_rs
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError


def _refuse(uri: str) -> Any:
    """A retriever that fetches nothing: every ``$ref`` must resolve inside the registered document."""
    raise ValueError(f"the validating mock does not fetch schemas ({uri})")


def registry_of(uri: str, document: Mapping[str, Any]) -> jsonschema_rs.Registry | None:
    """The document as the one JSON Schema 2020-12 resource at ``uri`` (None when jsonschema_rs refuses it)."""
    try:
        return jsonschema_rs.Registry([(uri, dict(document))], draft=jsonschema_rs.Draft202012, retriever=_refuse)
    except Exception:
        return None


# Keywords the two engines judge differently: regexes (Python ``re`` against Rust's dialect: ``$`` before a final
# newline, ``\s``, ``\w``) and float ``multipleOf`` (python-jsonschema divides in binary floating point).
ENGINE_SENSITIVE = frozenset({"pattern", "patternProperties", "multipleOf"})
# Keywords that move the base URI or resolve dynamically: the scan below could not follow them faithfully.
UNFOLLOWED = frozenset({"$id", "$anchor", "$dynamicRef", "$dynamicAnchor", "$recursiveRef", "$recursiveAnchor"})


def engine_neutral(schema: Any, document: Mapping[str, Any], uri: str) -> bool:
    """Whether no keyword the engines judge differently is reachable from ``schema`` (through local ``$ref``).

    Conservative: a member merely named ``pattern``, or a ``$ref`` it cannot follow, also says no.
    """
    seen: set[int] = set()
    stack: list[Any] = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, Mapping) or id(node) in seen:
            continue
        seen.add(id(node))
        if not ENGINE_SENSITIVE.isdisjoint(node) or not UNFOLLOWED.isdisjoint(node):
            return False
        ref = node.get("$ref")
        if ref is not None:
            target = _local_target(ref, document, uri)
            if target is None:
                return False
            stack.append(target)
        stack.extend(node.values())
    return True


def _local_target(ref: Any, document: Mapping[str, Any], uri: str) -> Any:
    """The node a ``$ref`` into ``document`` (``uri#pointer`` or ``#pointer``) names, as python-jsonschema finds it."""
    if not isinstance(ref, str):
        return None
    base, hash_sign, fragment = ref.partition("#")
    if not hash_sign or base not in ("", uri) or (fragment and not fragment.startswith("/")):
        return None
    node: Any = document
    for token in unquote(fragment[1:]).split("/") if fragment else []:
        token = token.replace("~1", "/").replace("~0", "~")
        try:
            node = node[int(token)] if isinstance(node, list) else node[token]
        except (LookupError, ValueError, TypeError):
            return None
    return node


def compiled(
    schema: Mapping[str, Any], registry: jsonschema_rs.Registry | None, document: Mapping[str, Any], uri: str
) -> jsonschema_rs.Validator | None:
    """A compiled 2020-12 validator of ``schema`` that checks no ``format``, or None when it cannot be built.

    None too when the schema reaches a keyword the engines judge differently: python-jsonschema then judges alone.
    """
    if registry is None or not engine_neutral(schema, document, uri):
        return None
    try:
        return jsonschema_rs.Draft202012Validator(dict(schema), registry=registry, offline=True, validate_formats=False)
    except Exception:
        return None


class SchemaCheck:
    """One schema's validators: a compiled one for the common (valid) case, python-jsonschema for the rest."""

    __slots__ = ("fast", "slow")

    def __init__(self, slow: Draft202012Validator, fast: jsonschema_rs.Validator | None) -> None:
        """Pair the reference validator with its compiled twin (None: the reference judges alone)."""
        self.slow = slow
        self.fast = fast

    def surely_valid(self, instance: Any) -> bool:
        """Whether the compiled validator accepts ``instance`` (False when it rejects it or cannot judge it)."""
        fast = self.fast
        if fast is None:
            return False
        try:
            return fast.is_valid(instance)
        except Exception:
            return False

    def is_valid(self, instance: Any) -> bool:
        """python-jsonschema's verdict on ``instance``."""
        return self.surely_valid(instance) or bool(self.slow.is_valid(instance))

    def iter_errors(self, instance: Any) -> Iterator[ValidationError]:
        """python-jsonschema's errors (none, without running it, when the compiled validator accepts ``instance``)."""
        if self.surely_valid(instance):
            return iter(())
        return self.slow.iter_errors(instance)
