"""drf-spectacular post-processing: document the problem-details responses and the ETag header.

Every /api/v1/ operation may answer 400, 401, 403, 404, 406 and 429; writes may also answer
409, 415 and 422. All of them are `application/problem+json` with the `Problem` schema."""
from __future__ import annotations

from .errors import PROBLEM_CONTENT_TYPE, STATUS_TITLES

PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details.",
    "properties": {
        "type": {"type": "string", "description": "A URI naming the kind of problem."},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
            "description": "Messages per field ('texts.fr', 'comment', 'non_field_errors', ...).",
        },
        "violations": {
            "type": "array",
            "description": "422 only: each blocking guideline violation.",
            "items": {
                "type": "object",
                "properties": {
                    "rule": {"type": "string"},
                    "severity": {"type": "string"},
                    "ok": {"type": "boolean"},
                    "message": {"type": "string"},
                    "language": {"type": "string"},
                    "field": {"type": "string"},
                },
            },
        },
    },
    "required": ["type", "title", "status", "detail", "errors"],
}

ALWAYS = (400, 401, 403, 404, 406, 429)
WRITES = (409, 415, 422)
DESCRIPTIONS = {
    400: "Malformed request or invalid fields.",
    401: "No or invalid credentials.",
    403: "Not allowed.",
    404: "Not visible to you.",
    406: "Cannot produce the requested media type.",
    409: "Conflict: state changed, stale If-Match, duplicate, or a request with the same Idempotency-Key in flight.",
    415: "Send application/json.",
    422: "Blocking guideline violations (listed), or an Idempotency-Key reused for another request.",
    429: "Fair-use throttle: slow down (see Retry-After).",
}
ETAG_HEADER = {"schema": {"type": "string"}, "description": "The post's version, e.g. W/\"3\"; send it back as If-Match."}


def _returns_post(response: dict) -> bool:
    for media in (response.get("content") or {}).values():
        if (media.get("schema") or {}).get("$ref", "").endswith(("/Post", "/PostDetail")):
            return True
    return False


def add_problem_responses(result, generator, request, public):
    result.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    ref = {"$ref": "#/components/schemas/Problem"}
    for path, operations in result.get("paths", {}).items():
        if not path.startswith("/api/v1/"):
            continue
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            responses = operation.setdefault("responses", {})
            codes = ALWAYS + (WRITES if method != "get" else ())
            for code in codes:
                responses.setdefault(str(code), {
                    "description": DESCRIPTIONS.get(code, STATUS_TITLES[code][1]),
                    "content": {PROBLEM_CONTENT_TYPE: {"schema": ref}},
                })
            for code, response in responses.items():
                if code.startswith("2") and _returns_post(response):
                    response.setdefault("headers", {})["ETag"] = ETAG_HEADER
    return result
