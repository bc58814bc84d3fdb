"""The limits in the OpenAPI schema: every operation may answer 429 (a throttle, ``Retry-After``) and every one that
takes a body 413 (a body or file over its limit), so clients and schema checks expect them (docs/limits.md)."""

from __future__ import annotations

from typing import Any

REFUSAL = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
# Declared once under components and referred to from each operation, so the schema (and the pages that draw it)
# grows by one line per operation.
RESPONSES = {
    "TooManyRequests": {
        "description": "Throttled, or logins locked: try again after the Retry-After header's seconds.",
        "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}},
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Refusal"}}},
    },
    "PayloadTooLarge": {
        "description": "The body, or a file in it, is larger than its limit; nothing was kept.",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Refusal"}}},
    },
}
METHODS = ("get", "put", "post", "patch", "delete", "head", "options")


def add_limit_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook (``SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]``)."""
    components = result.setdefault("components", {})
    components.setdefault("schemas", {})["Refusal"] = REFUSAL
    components.setdefault("responses", {}).update(RESPONSES)
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in METHODS:
                continue
            responses = operation.setdefault("responses", {})
            responses.setdefault("429", {"$ref": "#/components/responses/TooManyRequests"})
            if "requestBody" in operation:
                responses.setdefault("413", {"$ref": "#/components/responses/PayloadTooLarge"})
    return result
