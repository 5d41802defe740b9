"""Blaxel reference server: POST /v0/models and DELETE /v0/models/{modelName}.

Auth is ``Authorization: Bearer <token>``; ``X-Blaxel-Authorization: Bearer <token>`` is also accepted
when ``Authorization`` is absent, unless ``MockOptions.strict_auth`` (the official SDK sends it: an observed
deviation, ``specs/blaxel/vendor.yaml`` ``auth.aliases``); every error is
``{"error": "<kind>", "code": <status>, "message": "<text>"}`` (seed 002's Error schema).
Admin routes (no auth, outside the spec): ``POST /__mock__/resources`` with ``{"id": name}``
seeds a minimal valid model (201, or 409 if it exists), ``GET /__mock__/resources`` lists
``{"ids": [...]}`` (including models still DELETING), ``GET /__mock__/health`` answers
``{"status": "ok", "vendor": "blaxel"}``.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from ._common import (
    COMMON_QUIRKS,
    Authenticator,
    BodyError,
    JsonObject,
    MockApp,
    MockOptions,
    MockRequest,
    Reply,
    Store,
    Workspaces,
    admin_routes,
    build_app,
    check_faults,
    check_quirks,
    decode,
    encode,
    html_response,
    json_response,
    new_store,
    now_iso,
    parse_authorization,
    read_json,
    route,
)

VENDOR = "blaxel"

FAULTS: dict[str, str] = {
    "create-missing-metadata": "create answers 200 with a Model lacking the required metadata",
    "create-missing-spec": "create answers 200 with a Model lacking the required spec",
    "create-status-outside-enum": "create answers status RUNNING, which is not in the Status enum",
    "create-name-wrong-type": "create answers metadata.name as the integer 42",
    "create-events-not-array": "create answers events as an object instead of an array",
    "create-accepts-long-name": "create accepts metadata.name longer than 49 characters",
    "create-accepts-uppercase-name": "create accepts uppercase letters in metadata.name",
    "create-accepts-underscore-name": "create accepts underscores in metadata.name",
    "create-accepts-long-displayname": "create accepts metadata.displayName longer than 63 characters",
    "create-accepts-bad-runtime-type": "create accepts and echoes a spec.runtime.type outside its enum",
    "create-accepts-missing-spec": "create accepts a request body without spec",
    "create-422-on-invalid": "create answers 422 instead of 400 for every invalid body",
    "create-no-409": "create overwrites an existing model (200) instead of answering 409",
    "create-500-on-max-name": "create answers 500 when metadata.name is exactly 49 characters",
    "create-error-without-error-field": "create error bodies lack the required error field",
    "create-html-error": "create answers 400 as a text/html page",
    "create-auth-not-enforced": "create performs no authentication or permission checks",
    "create-any-scheme": "create accepts the right token under any Authorization scheme",
    "create-renames": "create answers a different metadata.name than the one sent",
    "create-drops-runtime": "create answers a spec without the runtime that was sent",
    "create-text-plain": "create answers its 200 JSON body with content-type text/plain",
    "create-timestamps-not-iso": "create answers metadata.createdAt as 'yesterday'",
    "create-keeps-readonly": "create keeps client-sent readOnly metadata (createdBy, workspace …) instead of its own",
    "create-500-on-unicode": "create answers 500 when any string in the body has a non-ASCII character",
    "create-lenient-types": "create validates almost nothing: any body with a metadata.name string is stored as sent",
    "create-missing-name": "create answers metadata without the required name",
    "create-runtime-type-outside-enum": "create answers spec.runtime.type upper-cased (OPENAI), outside its enum",
    "create-generation-outside-enum": "create answers spec.runtime.generation upper-cased (MK3), outside its enum",
    "create-flavor-type-outside-enum": "create answers spec.flavors[].type upper-cased (GPU), outside its enum",
    "create-enabled-as-string": "create answers spec.enabled as the string 'true' instead of a boolean",
    "create-accepts-empty-name": "create accepts an empty metadata.name and makes up a name",
    "create-409-wrong-shape": "create answers 409 with {detail} instead of the Error shape",
    "create-accepts-any-token": "create accepts any well-formed Bearer token, valid or not",
    "create-400-on-malformed-auth": "create answers 400 instead of 401 to a malformed Authorization header",
    "create-ignores-permissions": "create lets a valid token without models:create through instead of answering 403",
    "delete-does-not-delete": "delete answers 200 but the model stays forever",
    "delete-returns-empty": "delete answers 200 with an empty object",
    "delete-returns-other-model": "delete answers the Model of a different name",
    "delete-500-on-unknown": "delete answers 500 instead of 404 for an unknown name",
    "delete-auth-not-enforced": "delete performs no authentication or permission checks",
    "delete-status-outside-enum": "delete answers status GONE, which is not in the Status enum",
    "delete-200-on-unknown": "delete answers 200 with a fabricated Model for an unknown name",
    "delete-202-accepted": "delete answers 202 instead of the documented 200",
    "delete-text-plain": "delete answers its 200 JSON body with content-type text/plain",
    "delete-any-scheme": "delete accepts the right token under any Authorization scheme",
    "delete-401-plain-text": "delete answers 401 as a text/plain 'Unauthorized' page, as an auth proxy would",
    "delete-404-detail-body": "delete answers 404 with {detail} instead of the Error shape",
    "create-ignores-enabled-default": "create stores spec.enabled false when omitted (default true)",
    "blaxel-shared-namespace": "one store for every token: another workspace's create of a name answers 409, "
    "its delete deletes the first workspace's model",
    "blaxel-cross-tenant-delete": "a delete of a name absent from the caller's workspace deletes another workspace's",
    "create-rejects-some-runtime-types": "create answers 400 for every other spec.runtime.type (openai among them)",
    "create-keeps-rejected": "create answers 400 to an invalid body but keeps its metadata.name taken",
    "delete-case-insensitive": "delete finds the model by its name lower-cased (ABC deletes abc)",
    "delete-500-on-odd-name": "delete answers 500 when the name has a character outside [a-z0-9-]",
    "delete-comes-back": "a deleted model, once seen gone, is back: a later delete answers 200 again",
}

QUIRKS: dict[str, str] = {
    **COMMON_QUIRKS,
    "blaxel-lenient-names": "create accepts a metadata.name with a leading or trailing hyphen (the docs are silent)",
    "minimal-answers": "models carry only metadata.name, spec and what was sent: no events, status, createdAt …",
    "blaxel-create-deploying": "create answers status DEPLOYING with a 'deployment started' event (it deploys later)",
    "blaxel-spec-defaults": "create fills spec defaults: sandbox false, empty flavors, connections, policies",
}
SPEC_DEFAULTS: dict[str, Any] = {"sandbox": False, "flavors": [], "integrationConnections": [], "policies": []}
FOREIGN_ACTOR = "alice@team-a.example"

_CREATE_VIEW_FAULTS = frozenset(
    {
        "create-renames", "create-name-wrong-type", "create-timestamps-not-iso", "create-drops-runtime",
        "create-status-outside-enum", "create-events-not-array", "create-missing-metadata", "create-missing-spec",
        "create-missing-name", "create-runtime-type-outside-enum",
        "create-generation-outside-enum", "create-flavor-type-outside-enum", "create-enabled-as-string",
    }
)  # fmt: skip
_CREATE_AUTH_FAULTS = frozenset(
    {"create-accepts-any-token", "create-400-on-malformed-auth", "create-ignores-permissions"}
)
ALIAS_HEADER = "x-blaxel-authorization"
NAME_MAX = 49
DISPLAY_NAME_MAX = 63
ACTOR = "conformance-mock"
RUNTIME_TYPES = frozenset(
    {
        "hf_private_endpoint", "hf_public_endpoint", "huggingface", "public_model", "mcp", "openai",
        "anthropic", "gemini", "mistral", "deepseek", "cohere", "cerebras", "xai", "vertexai",
        "azure-openai-service", "azure-ai-inference", "azure-marketplace", "groq",
    }
)  # fmt: skip
GENERATIONS = ("mk3", "mk2")
FLAVOR_TYPES = ("cpu", "gpu")
_KINDS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    422: "unprocessable_entity",
    429: "too_many_requests",
    500: "internal_error",
    503: "service_unavailable",
}


def _name_regex(upper: bool, underscore: bool, edge_hyphens: bool = False) -> re.Pattern[str]:
    """Compile the metadata.name pattern, optionally loosened by a fault (or, edge hyphens, by a quirk)."""
    chars = "a-z0-9" + ("A-Z" if upper else "") + ("_" if underscore else "")
    if edge_hyphens:
        return re.compile(f"-*[{chars}][{chars}-]*")
    return re.compile(f"[{chars}]([{chars}-]*[{chars}])?")


_NAME_RES = {(u, s, h): _name_regex(u, s, h) for u in (False, True) for s in (False, True) for h in (False, True)}


class Invalid(Exception):
    """A request body violates the Model schema; the message names the field."""


@dataclass(frozen=True)
class Rules:
    """The validation rules in force (faults may loosen them)."""

    name_re: re.Pattern[str]
    name_max: int | None
    display_name_max: int | None
    runtime_types: frozenset[str] | None
    require_spec: bool
    allow_empty_name: bool

    @classmethod
    def of(cls, faults: frozenset[str], quirks: frozenset[str] = frozenset()) -> Rules:
        """Derive the rules from the active faults and quirks."""
        return cls(
            name_re=_NAME_RES[
                "create-accepts-uppercase-name" in faults,
                "create-accepts-underscore-name" in faults,
                "blaxel-lenient-names" in quirks,
            ],
            name_max=None if "create-accepts-long-name" in faults else NAME_MAX,
            display_name_max=None if "create-accepts-long-displayname" in faults else DISPLAY_NAME_MAX,
            runtime_types=None if "create-accepts-bad-runtime-type" in faults else RUNTIME_TYPES,
            require_spec="create-accepts-missing-spec" not in faults,
            allow_empty_name="create-accepts-empty-name" in faults,
        )


def _string(value: Any, field: str) -> str:
    """Return value if it is a string."""
    if not isinstance(value, str):
        raise Invalid(f"{field} must be a string")
    return value


def _boolean(value: Any, field: str) -> bool:
    """Return value if it is a boolean."""
    if not isinstance(value, bool):
        raise Invalid(f"{field} must be a boolean")
    return value


def _obj(value: Any, field: str) -> dict[str, Any]:
    """Return value if it is a JSON object."""
    if not isinstance(value, dict):
        raise Invalid(f"{field} must be an object")
    return value


def _strings(value: Any, field: str) -> list[str]:
    """Return value if it is an array of strings."""
    if not isinstance(value, list):
        raise Invalid(f"{field} must be an array of strings")
    return [_string(item, f"{field}[{i}]") for i, item in enumerate(value)]


def _enum(value: Any, field: str, allowed: frozenset[str] | tuple[str, ...] | None) -> str:
    """Return value if it is a string in allowed (any string when allowed is None)."""
    text = _string(value, field)
    if allowed is not None and text not in allowed:
        raise Invalid(f"{field} must be one of: {', '.join(sorted(allowed))}")
    return text


def validate_metadata(body: dict[str, Any], rules: Rules) -> JsonObject:
    """Validate the writable metadata fields and return them."""
    if "metadata" not in body:
        raise Invalid("metadata is required")
    metadata = _obj(body["metadata"], "metadata")
    if "name" not in metadata:
        raise Invalid("metadata.name is required")
    name = _string(metadata["name"], "metadata.name")
    if not name:
        if not rules.allow_empty_name:
            raise Invalid("metadata.name must not be empty")
        name = f"model-{secrets.token_hex(4)}"
    if rules.name_max is not None and len(name) > rules.name_max:
        raise Invalid(f"metadata.name must be at most {rules.name_max} characters")
    if rules.name_re.fullmatch(name) is None:
        raise Invalid("metadata.name must be lowercase alphanumeric with hyphens, starting and ending alphanumeric")
    out: JsonObject = {"name": name}
    if "displayName" in metadata:
        display = _string(metadata["displayName"], "metadata.displayName")
        if rules.display_name_max is not None and len(display) > rules.display_name_max:
            raise Invalid(f"metadata.displayName must be at most {rules.display_name_max} characters")
        out["displayName"] = display
    if "labels" in metadata:
        labels = _obj(metadata["labels"], "metadata.labels")
        out["labels"] = {key: _string(value, f"metadata.labels.{key}") for key, value in labels.items()}
    return out


def _flavor(value: Any, field: str) -> JsonObject:
    """Validate one Flavor."""
    flavor = _obj(value, field)
    out: JsonObject = {}
    if "name" in flavor:
        out["name"] = _string(flavor["name"], f"{field}.name")
    if "type" in flavor:
        out["type"] = _enum(flavor["type"], f"{field}.type", FLAVOR_TYPES)
    return out


def _runtime(value: Any, rules: Rules) -> JsonObject:
    """Validate the ModelRuntime."""
    runtime = _obj(value, "spec.runtime")
    out: JsonObject = {}
    for key in ("endpointName", "model", "organization"):
        if key in runtime:
            out[key] = _string(runtime[key], f"spec.runtime.{key}")
    if "generation" in runtime:
        out["generation"] = _enum(runtime["generation"], "spec.runtime.generation", GENERATIONS)
    if "type" in runtime:
        out["type"] = _enum(runtime["type"], "spec.runtime.type", rules.runtime_types)
    return out


def validate_spec(body: dict[str, Any], rules: Rules) -> JsonObject:
    """Validate the ModelSpec and return it with enabled defaulted to true."""
    if "spec" not in body:
        if rules.require_spec:
            raise Invalid("spec is required")
        return {"enabled": True}
    spec = _obj(body["spec"], "spec")
    out: JsonObject = {"enabled": _boolean(spec["enabled"], "spec.enabled") if "enabled" in spec else True}
    if "flavors" in spec:
        flavors = spec["flavors"]
        if not isinstance(flavors, list):
            raise Invalid("spec.flavors must be an array")
        out["flavors"] = [_flavor(item, f"spec.flavors[{i}]") for i, item in enumerate(flavors)]
    for key in ("integrationConnections", "policies"):
        if key in spec:
            out[key] = _strings(spec[key], f"spec.{key}")
    if "runtime" in spec:
        out["runtime"] = _runtime(spec["runtime"], rules)
    if "sandbox" in spec:
        out["sandbox"] = _boolean(spec["sandbox"], "spec.sandbox")
    return out


def validate(body: Any, rules: Rules) -> tuple[JsonObject, JsonObject]:
    """Validate a create body and return (writable metadata, spec)."""
    if not isinstance(body, dict):
        raise Invalid("request body must be a JSON object (Model)")
    return validate_metadata(body, rules), validate_spec(body, rules)


def _has_non_ascii(value: Any) -> bool:
    """Whether any string (key or value) inside ``value`` has a non-ASCII character."""
    if isinstance(value, str):
        return not value.isascii()
    if isinstance(value, list):
        return any(_has_non_ascii(v) for v in value)
    if isinstance(value, dict):
        return any(_has_non_ascii(k) or _has_non_ascii(v) for k, v in value.items())
    return False


def _lenient(body: Any) -> tuple[JsonObject, JsonObject] | None:
    """What a server without type checks stores: the members as sent, if metadata.name is a usable name."""
    if not isinstance(body, dict) or not isinstance(body.get("metadata"), dict):
        return None
    name = body["metadata"].get("name")
    if not isinstance(name, str) or not name:
        return None
    metadata: JsonObject = {k: v for k, v in body["metadata"].items() if k in ("name", "displayName", "labels")}
    raw_spec = body.get("spec")
    spec: JsonObject = dict(raw_spec) if isinstance(raw_spec, dict) else {}
    return metadata, spec


def _event(status: str, message: str, kind: str, revision: str, when: str) -> JsonObject:
    """Build one CoreEvent."""
    return {"message": message, "revision": revision, "status": status, "time": when, "type": kind}


def build_model(
    metadata: JsonObject,
    spec: JsonObject,
    workspace: str,
    minimal: bool = False,
    actor: str = ACTOR,
    status: str = "DEPLOYED",
) -> JsonObject:
    """Build the stored Model with server-side read-only fields (minimal: only the required members and those sent)."""
    when = now_iso()
    name = metadata["name"]
    meta: JsonObject = {"name": name}
    meta.update((k, metadata[k]) for k in ("displayName", "labels") if k in metadata)
    if minimal:
        return {"metadata": meta, "spec": spec}
    meta.update(
        createdAt=when,
        updatedAt=when,
        createdBy=actor,
        updatedBy=actor,
        plan="free",
        url=f"https://run.blaxel.ai/{workspace}/models/{name}",
        workspace=workspace,
    )
    revision = f"rev-{secrets.token_hex(4)}"
    message = "Deployment successful" if status == "DEPLOYED" else "Deployment started"
    event = _event(status, message, "deployment", revision, when)
    return {"metadata": meta, "spec": spec, "events": [event], "status": status}


def mark_deleting(model: JsonObject) -> JsonObject:
    """Return a copy of model in state DELETING with a deletion event."""
    when = now_iso()
    events = model["events"]
    revision = events[-1]["revision"] if events else f"rev-{secrets.token_hex(4)}"
    metadata = {**model["metadata"], "updatedAt": when}
    deleting = _event("DELETING", "Deletion requested", "deletion", revision, when)
    return {**model, "metadata": metadata, "events": [*events, deleting], "status": "DELETING"}


def _other_name(name: str) -> str:
    """Return a different valid name of the same length."""
    return name[:-1] + ("0" if name[-1:] != "0" else "1")


def create_app(options: MockOptions | None = None) -> MockApp:
    """Build the Blaxel reference app."""
    options = options or MockOptions()
    check_faults(VENDOR, options.faults, FAULTS)
    check_quirks(VENDOR, options.quirks, QUIRKS)
    faults = options.faults
    quirks = options.quirks
    minimal_answers = "minimal-answers" in quirks
    created_status = "DEPLOYING" if "blaxel-create-deploying" in quirks else "DEPLOYED"
    rules = Rules.of(faults, quirks)
    auth = Authenticator(options, ("bearer",), "Bearer")
    invalid_status = 422 if "create-422-on-invalid" in faults else 400
    ok_media = "text/plain" if "create-text-plain" in faults else "application/json"
    deleted_status = 202 if "delete-202-accepted" in faults else 200
    deleted_media = "text/plain" if "delete-text-plain" in faults else "application/json"
    delete_any_scheme = "delete-any-scheme" in faults

    def error(status: int, message: str) -> Reply:
        """Render the Error schema."""
        headers = {"WWW-Authenticate": 'Bearer realm="blaxel"'} if status == 401 else None
        body = {"error": _KINDS.get(status, "error"), "code": status, "message": message}
        return json_response(status, body, headers)

    def create_error(status: int, message: str) -> Reply:
        """Render a create error, honouring the error-shape faults."""
        if status == 400 and "create-html-error" in faults:
            return html_response(status, message)
        if status == 409 and "create-409-wrong-shape" in faults:
            return json_response(status, {"detail": message})
        if "create-error-without-error-field" in faults:
            return json_response(status, {"code": status, "message": message})
        return error(status, message)

    def minimal(name: str) -> JsonObject:
        """Build a minimal valid model for seeding."""
        return build_model({"name": name}, {"enabled": True}, options.workspace, minimal_answers)

    def foreign(name: str) -> JsonObject:
        """Build another user's model (foreign-models)."""
        return build_model({"name": name}, {"enabled": True}, options.workspace, minimal_answers, FOREIGN_ACTOR)

    store = new_store(options, minimal, foreign)
    workspaces = Workspaces(options, store, shared="blaxel-shared-namespace" in faults)

    def workspace_of(own: Store) -> str:
        """The workspace name of a store (the second token's workspace has its own)."""
        return options.workspace if own is store else f"{options.workspace}-other"

    gone_once: set[str] = set()  # names answered 404 once (the delete-comes-back fault)
    came_back: set[str] = set()

    def credentials(request: MockRequest) -> str | None:
        """The Authorization header, else (unless strict) the SDK's X-Blaxel-Authorization alias."""
        value = request.header("authorization")
        if value is None and not options.strict_auth:
            value = request.header(ALIAS_HEADER)
        return value

    def create_auth_fault(status: int, header: str | None) -> int:
        """The status a create auth fault turns a refusal into (0: let the request through)."""
        if status == 403:
            return 0 if "create-ignores-permissions" in faults else status
        parsed = parse_authorization(header)
        if parsed is None:
            return 400 if header is not None and "create-400-on-malformed-auth" in faults else status
        return 0 if parsed[0] == "bearer" and "create-accepts-any-token" in faults else status

    def upper_enums(spec: JsonObject) -> None:
        """Upper-case the enum members of spec that the enum faults name (in place; nested members copied)."""
        runtime = spec.get("runtime")
        if isinstance(runtime, dict):
            runtime = spec["runtime"] = dict(runtime)
            for key, fault in (
                ("type", "create-runtime-type-outside-enum"),
                ("generation", "create-generation-outside-enum"),
            ):
                if fault in faults and isinstance(runtime.get(key), str):
                    runtime[key] = runtime[key].upper()
        flavors = spec.get("flavors")
        if "create-flavor-type-outside-enum" in faults and isinstance(flavors, list):
            spec["flavors"] = [
                {**f, "type": f["type"].upper()} if isinstance(f, dict) and isinstance(f.get("type"), str) else f
                for f in flavors
            ]

    def create_view(model: JsonObject) -> JsonObject:
        """Apply the response faults of create to a copy of the stored model."""
        view = {**model, "metadata": dict(model["metadata"]), "spec": dict(model["spec"])}
        upper_enums(view["spec"])
        if "create-enabled-as-string" in faults and isinstance(view["spec"].get("enabled"), bool):
            view["spec"]["enabled"] = str(view["spec"]["enabled"]).lower()
        if "create-renames" in faults:
            view["metadata"]["name"] = _other_name(view["metadata"]["name"])
        if "create-name-wrong-type" in faults:
            view["metadata"]["name"] = 42
        if "create-timestamps-not-iso" in faults:
            view["metadata"]["createdAt"] = "yesterday"
        if "create-drops-runtime" in faults:
            view["spec"].pop("runtime", None)
        if "create-status-outside-enum" in faults:
            view["status"] = "RUNNING"
        if "create-events-not-array" in faults:
            view["events"] = view["events"][0]
        if "create-missing-name" in faults:
            view["metadata"].pop("name", None)
        if "create-missing-metadata" in faults:
            del view["metadata"]
        if "create-missing-spec" in faults:
            del view["spec"]
        return view

    async def create(request: MockRequest) -> Reply:
        """Create a model (CreateModel)."""
        if "create-auth-not-enforced" not in faults:
            header = credentials(request)
            status, reason = auth.check(header, "models:create", "create-any-scheme" in faults)
            if status and faults & _CREATE_AUTH_FAULTS:
                status = create_auth_fault(status, header)
            if status:
                return create_error(status, reason)
        own = workspaces.of(credentials(request))
        try:
            body = await read_json(request)
        except BodyError as exc:
            return create_error(invalid_status, str(exc))
        if "create-500-on-unicode" in faults and _has_non_ascii(body):
            return create_error(500, "internal server error")
        try:
            metadata, spec = validate(body, rules)
            runtime_type = spec.get("runtime", {}).get("type") if isinstance(spec.get("runtime"), dict) else None
            if "create-rejects-some-runtime-types" in faults and runtime_type in sorted(RUNTIME_TYPES)[::2]:
                raise Invalid(f"spec.runtime.type {runtime_type} is not supported")
        except Invalid as exc:
            sent = body.get("metadata") if isinstance(body, dict) else None
            if "create-keeps-rejected" in faults and isinstance(sent, dict) and isinstance(sent.get("name"), str):
                own.add(sent["name"], encode(minimal(sent["name"])))
            lenient = _lenient(body) if "create-lenient-types" in faults else None
            if lenient is None:
                return create_error(invalid_status, str(exc))
            metadata, spec = lenient
        name = metadata["name"]
        if "create-500-on-max-name" in faults and len(name) == NAME_MAX:
            return create_error(500, "internal server error")
        if "create-ignores-enabled-default" in faults and "enabled" not in (body.get("spec") or {}):
            spec = {**spec, "enabled": False}
        if minimal_answers and not (isinstance(body.get("spec"), dict) and "enabled" in body["spec"]):
            spec.pop("enabled", None)
        if "blaxel-spec-defaults" in quirks:
            spec = {**{k: list(v) if isinstance(v, list) else v for k, v in SPEC_DEFAULTS.items()}, **spec}
        model = build_model(metadata, spec, workspace_of(own), minimal_answers, status=created_status)
        if "create-keeps-readonly" in faults and isinstance(body.get("metadata"), dict):
            sent = body["metadata"]
            for key in ("createdAt", "updatedAt", "createdBy", "updatedBy", "plan", "url", "workspace"):
                if key in sent:
                    model["metadata"][key] = sent[key]
        stored = encode(model)
        if "create-no-409" in faults:
            own.put(name, stored)
        elif not own.add(name, stored):
            return create_error(409, f"model {name} already exists")
        return Reply(200, encode(create_view(model)) if faults & _CREATE_VIEW_FAULTS else stored, ok_media)

    def mark(data: bytes) -> bytes:
        """The stored model, marked DELETING (minimal answers carry no status: unchanged)."""
        return data if minimal_answers else encode(mark_deleting(decode(data)))

    async def delete(request: MockRequest) -> Reply:
        """Delete a model (DeleteModel)."""
        name: str = request.path_params["modelName"]
        if "delete-case-insensitive" in faults:
            name = name.lower()
        if "delete-500-on-odd-name" in faults and re.search(r"[^a-z0-9-]", name):
            return error(500, "internal server error")
        if "delete-comes-back" in faults and name in gone_once and name not in came_back:
            came_back.add(name)
            store.add(name, encode(minimal(name)))
        if "delete-auth-not-enforced" not in faults:
            status, reason = auth.check(credentials(request), "models:delete", delete_any_scheme)
            if status:
                if status == 401 and "delete-401-plain-text" in faults:
                    return Reply(401, b"Unauthorized", "text/plain", {"WWW-Authenticate": 'Bearer realm="blaxel"'})
                return error(status, reason)
        own = workspaces.of(credentials(request))
        if "delete-does-not-delete" in faults:
            stored = own.get(name)
            data = mark(stored) if stored is not None else None
        else:
            data = own.delete(name, options.delete_delay, mark)
        elsewhere = workspaces.others(own) if "blaxel-cross-tenant-delete" in faults else None
        if data is None and elsewhere is not None:
            data = elsewhere.delete(name, options.delete_delay, mark)
        if data is None:
            gone_once.add(name)
            if "delete-500-on-unknown" in faults:
                return error(500, "internal server error")
            if "delete-404-detail-body" in faults:
                return json_response(404, {"detail": "Not Found"})
            if "delete-200-on-unknown" not in faults:
                return error(404, f"model {name} not found")
            data = encode(mark_deleting(build_model({"name": name}, {"enabled": True}, options.workspace)))
        if "delete-returns-empty" in faults:
            return Reply(deleted_status, b"{}", deleted_media)
        if "delete-returns-other-model" not in faults and "delete-status-outside-enum" not in faults:
            return Reply(deleted_status, data, deleted_media)
        model = decode(data)
        if "delete-returns-other-model" in faults:
            other = _other_name(name)
            url = f"https://run.blaxel.ai/{options.workspace}/models/{other}"
            model = {**model, "metadata": {**model["metadata"], "name": other, "url": url}}
        if "delete-status-outside-enum" in faults:
            model = {**model, "status": "GONE"}
        return Reply(deleted_status, encode(model), deleted_media)

    routes = [
        route("/v0/models", create, "POST", create_error),
        route("/v0/models/{modelName}", delete, "DELETE", error),
        *admin_routes(VENDOR, store, error, minimal),
    ]
    return build_app(VENDOR, options, store, routes, error, closed=("labels",))
