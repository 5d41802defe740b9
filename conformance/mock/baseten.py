"""Baseten reference server: DELETE /v1/models/{model_id} (seed 004).

Auth: ``Authorization: Api-Key <key>`` (the spec's scheme); ``Bearer <key>`` is also accepted
unless ``MockOptions.strict_auth`` (the official SDK sends it: an observed deviation).
Errors (inferred): ``{"error": str, "message": str}``.
Admin routes (no auth, outside the spec): ``POST /__mock__/resources`` with ``{"id": id}``
seeds a model (201, or 409 if it exists), ``GET /__mock__/resources`` lists ``{"ids": [...]}``
(including models still being deleted), ``GET /__mock__/health`` answers
``{"status": "ok", "vendor": "baseten"}``.
"""

from __future__ import annotations

import re

from ._common import (
    COMMON_QUIRKS,
    Authenticator,
    JsonObject,
    MockApp,
    MockOptions,
    MockRequest,
    Reply,
    Workspaces,
    admin_routes,
    build_app,
    check_faults,
    check_quirks,
    encode,
    html_response,
    json_response,
    new_store,
    parse_authorization,
    route,
)

VENDOR = "baseten"

FAULTS: dict[str, str] = {
    "baseten-tombstone-id-differs": "delete answers a tombstone whose id differs from the path id",
    "baseten-deleted-false": "delete answers deleted false although the model was deleted",
    "baseten-deleted-as-string": "delete answers deleted as the string 'true' instead of a boolean",
    "baseten-missing-deleted": "delete answers a tombstone without the required deleted field",
    "baseten-any-scheme": "delete accepts the right key under any Authorization scheme",
    "baseten-delete-does-not-delete": "delete answers 200 but the model stays forever",
    "baseten-html-404": "404 answers are text/html pages instead of JSON",
    "baseten-auth-not-enforced": "delete performs no authentication or permission checks",
    "baseten-500-on-unknown": "delete answers 500 instead of 404 for an unknown id",
    "baseten-missing-id": "delete answers a tombstone without the required id",
    "baseten-id-null": "delete answers a tombstone whose id is null",
    "baseten-delete-202": "delete answers 202 instead of the documented 200",
    "baseten-delete-text-plain": "delete answers its 200 JSON tombstone with content-type text/plain",
    "baseten-accepts-any-key": "delete accepts any well-formed key under an accepted scheme, valid or not",
    "baseten-500-on-odd-id": "delete answers 500 when the id has a character outside [A-Za-z0-9_-]",
    "baseten-cross-tenant-delete": "a delete of another account's model id (another API key's) deletes it",
}

QUIRKS: dict[str, str] = {
    **COMMON_QUIRKS,
    "idempotent-delete": "an unknown or already-deleted id answers 200 with the tombstone {id, deleted: false}",
    "detail-errors": 'errors are {"detail": "..."} (Django REST style): the page documents no error shape',
}

_KINDS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    429: "too_many_requests",
    500: "internal_error",
    503: "service_unavailable",
}


def _well_formed(header: str | None, schemes: tuple[str, ...]) -> bool:
    """Whether header is a well-formed credential under one of schemes, whatever the key."""
    parsed = parse_authorization(header)
    return parsed is not None and parsed[0] in schemes


def create_app(options: MockOptions | None = None) -> MockApp:
    """Build the Baseten reference app."""
    options = options or MockOptions()
    check_faults(VENDOR, options.faults, FAULTS)
    check_quirks(VENDOR, options.quirks, QUIRKS)
    faults = options.faults
    quirks = options.quirks
    schemes = ("api-key",) if options.strict_auth else ("api-key", "bearer")
    auth = Authenticator(options, schemes, "Api-Key")
    deleted_status = 202 if "baseten-delete-202" in faults else 200
    deleted_media = "text/plain" if "baseten-delete-text-plain" in faults else "application/json"

    def error(status: int, message: str) -> Reply:
        """Render the inferred error shape."""
        headers = {"WWW-Authenticate": 'Api-Key realm="baseten"'} if status == 401 else None
        if status == 404 and "baseten-html-404" in faults:
            return html_response(status, message, headers)
        if "detail-errors" in quirks:
            return json_response(status, {"detail": message}, headers)
        return json_response(status, {"error": _KINDS.get(status, "error"), "message": message}, headers)

    def seed(model_id: str) -> JsonObject:
        """Build a seeded model record."""
        return {"id": model_id}

    store = new_store(options, seed)
    workspaces = Workspaces(options, store)

    def tombstone(model_id: str) -> JsonObject:
        """Build the ModelTombstoneV1, honouring the tombstone faults."""
        body: JsonObject = {"id": model_id, "deleted": True}
        if "baseten-tombstone-id-differs" in faults:
            body["id"] = f"{model_id}-tombstone"
        if "baseten-deleted-false" in faults:
            body["deleted"] = False
        if "baseten-deleted-as-string" in faults:
            body["deleted"] = "true"
        if "baseten-missing-deleted" in faults:
            del body["deleted"]
        if "baseten-id-null" in faults:
            body["id"] = None
        if "baseten-missing-id" in faults:
            del body["id"]
        return body

    async def delete(request: MockRequest) -> Reply:
        """Delete a model by id."""
        model_id: str = request.path_params["model_id"]
        if "baseten-500-on-odd-id" in faults and re.search(r"[^A-Za-z0-9_-]", model_id):
            return error(500, "internal server error")
        if "baseten-auth-not-enforced" not in faults:
            any_scheme = "baseten-any-scheme" in faults
            header = request.header("authorization")
            status, reason = auth.check(header, "models:delete", any_scheme)
            if status == 401 and "baseten-accepts-any-key" in faults and _well_formed(header, schemes):
                status = 0
            if status:
                return error(status, reason)
        own = workspaces.of(request.header("authorization"))
        if "baseten-delete-does-not-delete" in faults:
            model = own.get(model_id)
        else:
            model = own.delete(model_id, options.delete_delay)
        other = workspaces.others(own) if "baseten-cross-tenant-delete" in faults else None
        if model is None and other is not None:
            model = other.delete(model_id, options.delete_delay)
        if model is None and "idempotent-delete" in quirks:
            return Reply(deleted_status, encode({"id": model_id, "deleted": False}), deleted_media)
        if model is None:
            if "baseten-500-on-unknown" in faults:
                return error(500, "internal server error")
            return error(404, f"model {model_id} not found")
        return Reply(deleted_status, encode(tombstone(model_id)), deleted_media)

    routes = [
        route("/v1/models/{model_id}", delete, "DELETE", error),
        *admin_routes(VENDOR, store, error, seed),
    ]
    return build_app(VENDOR, options, store, routes, error)
