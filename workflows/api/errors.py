"""RFC 9457 problem details for every API error.

One shape everywhere: ``{"type", "title", "status", "detail", "code", "params", "errors": {field:
[msgs]}}`` with ``Content-Type: application/problem+json``. `code` and `params` are stable
(docs/api.md, "Message codes"); `title`, `detail` and the messages in `errors` and `violations`
are in the reader's language (workflows.api.language). Domain exceptions (workflows.exceptions), DRF's own
exceptions, and Django's 400/403/404/500 handlers for ``/api/`` paths all end up here.
"""
from __future__ import annotations

import json
import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpResponse
from django.views import defaults as django_defaults
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

from ..exceptions import GuidelineViolation, WorkflowError
from ..messages import render
from .language import activate_for

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:parley:problem:"

#: HTTP status -> (problem type slug, title) for errors that have no domain code.
STATUS_TITLES = {
    400: ("invalid_input", "Invalid input"),
    401: ("not_authenticated", "Not authenticated"),
    403: ("not_permitted", "Not permitted"),
    404: ("not_found", "Not found"),
    405: ("method_not_allowed", "Method not allowed"),
    406: ("not_acceptable", "Not acceptable"),
    409: ("conflict", "Conflict"),
    412: ("precondition_failed", "Precondition failed"),
    413: ("too_large", "Request too large"),
    415: ("unsupported_media_type", "Unsupported media type"),
    422: ("guideline_violation", "Guideline violation"),
    428: ("precondition_required", "Precondition required"),
    429: ("throttled", "Too many requests"),
    500: ("server_error", "Server error"),
}


def _slug(code: str) -> str:
    out = []
    for i, ch in enumerate(code):
        if ch.isupper() and i:
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


def problem(
    status: int,
    *,
    detail: str = "",
    title: str | None = None,
    code: str | None = None,
    errors: dict | None = None,
    extra: dict | None = None,
) -> dict:
    """The problem-details body for `status`."""
    default_code, _english = STATUS_TITLES.get(status, ("error", "Error"))
    default_title = render(f"problem.{default_code}", fallback=_english)
    body = {
        "type": TYPE_PREFIX + (code or default_code),
        "title": title or default_title,
        "status": status,
        "detail": detail or title or default_title,
        "code": code or default_code,
        "params": {},
        "errors": errors or {},
    }
    if extra:
        body.update(extra)
    return body


def problem_response(status: int, *, headers: dict | None = None, **kwargs) -> Response:
    return Response(
        problem(status, **kwargs), status=status, headers=headers, content_type=PROBLEM_CONTENT_TYPE
    )


def _flatten(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail -> {"field" or "field.sub" or "field.0": [messages]}."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            for k, v in _flatten(value, name).items():
                out.setdefault(k, []).extend(v)
    elif isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            out[prefix or "non_field_errors"] = [str(item) for item in detail]
        else:
            for i, item in enumerate(detail):
                name = f"{prefix}.{i}" if prefix else str(i)
                for k, v in _flatten(item, name).items():
                    out.setdefault(k, []).extend(v)
    else:
        out[prefix or "non_field_errors"] = [str(detail)]
    return {k: v for k, v in out.items() if v}


def problem_exception_handler(exc, context):
    """DRF's EXCEPTION_HANDLER: every error becomes problem details."""
    request = (context or {}).get("request")
    if request is not None:
        activate_for(request, user=getattr((context or {}).get("view"), "authenticated_user", None))
    if isinstance(exc, WorkflowError):
        extra: dict = {"code": exc.code, "params": exc.params}
        if exc.errors:
            extra["error_codes"] = exc.error_codes()
        if isinstance(exc, GuidelineViolation):
            extra["violations"] = exc.rendered_violations()
        # `type` names the kind of problem: the code itself when it is a single word (the
        # historical types such as stale_version), else the kind of error (not_found, ...).
        kind = exc.title_code.removeprefix("problem.")
        slug = _slug(exc.code) if "." not in exc.code else kind
        slug = {"invalid_state": "invalid_transition"}.get(slug, slug)
        return problem_response(
            exc.status, detail=exc.message, title=render(exc.title_code, fallback=exc.title), code=slug,
            errors=exc.rendered_errors(), extra=extra,
        )
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf_exceptions.PermissionDenied()
    if not isinstance(exc, drf_exceptions.APIException):
        return None  # a bug: Django's handler500 answers (in problem form for /api/)
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None) is not None:
        headers["Retry-After"] = str(int(exc.wait))
    status = exc.status_code
    if isinstance(exc, drf_exceptions.ValidationError):
        errors = _flatten(exc.detail)
        detail = render("problem.fields_invalid")
        if set(errors) == {"non_field_errors"} and len(errors["non_field_errors"]) == 1:
            detail = errors["non_field_errors"][0]
        return problem_response(status, detail=detail, errors=errors, headers=headers)
    detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
    code = None
    if isinstance(exc, drf_exceptions.ParseError):
        code = "malformed_request"
    return problem_response(status, detail=str(detail), code=code, headers=headers)


# --- Django's own error views: problem details under /api/, the web UI's HTML elsewhere.

def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def _django_problem(status: int, code: str) -> HttpResponse:
    return HttpResponse(
        json.dumps(problem(status, detail=render(code))), status=status, content_type=PROBLEM_CONTENT_TYPE
    )


def handler400(request, exception=None):
    if _is_api(request):
        return _django_problem(400, "request.not_understood")
    return django_defaults.bad_request(request, exception)


def handler403(request, exception=None):
    if _is_api(request):
        return _django_problem(403, "request.forbidden")
    return django_defaults.permission_denied(request, exception)


def handler404(request, exception=None):
    if _is_api(request):
        return _django_problem(404, "not_found.resource")
    return django_defaults.page_not_found(request, exception)


def handler500(request):
    if _is_api(request):
        return _django_problem(500, "request.server_error")
    return django_defaults.server_error(request)
