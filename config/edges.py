"""The edges of every request: bodies too large, a busy embedded database, and errors on /api/.

- A body larger than DATA_UPLOAD_MAX_MEMORY_SIZE (MEDIA_UPLOAD_MAX_REQUEST_BYTES for a media
  upload) is refused with 413 before anything reads it: problem details on /api/ (in the
  reader's language), a page elsewhere.
- SQLite's "database is locked" (the busy timeout ran out) is 503 with Retry-After, never 500.
- On /api/ an error is problem details whatever DEBUG says: Django's debug pages (technical
  404/500, which print settings and the environment) are never sent there.
- API requests without valid credentials count against the anonymous throttle.
- Every response carries a Permissions-Policy switching off camera, microphone, location...
"""
from __future__ import annotations

import json
import logging
import re
import sys

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import OperationalError
from django.http import HttpResponse
from django.shortcuts import render
from rest_framework import exceptions as drf_exceptions

from workflows.api.errors import PROBLEM_CONTENT_TYPE, problem, problem_exception_handler
from workflows.messages import render as render_message

from .client_ip import AnonThrottle

logger = logging.getLogger("django.request")

BUSY_RETRY_AFTER = 2
#: Browser features no Parley page uses, switched off for every response.
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"


def is_api(request) -> bool:
    return request.path.startswith("/api/")


def is_lock_error(exc: BaseException) -> bool:
    """SQLite's lock errors ("database is locked", "database table is locked")."""
    return isinstance(exc, OperationalError) and "is locked" in str(exc)


def _problem(status: int, detail: str, **kwargs) -> HttpResponse:
    response = HttpResponse(json.dumps(problem(status, detail=detail, **kwargs)), status=status,
                            content_type=PROBLEM_CONTENT_TYPE)
    return response


#: Where a file is uploaded (POST): the body may be as large as MEDIA_UPLOAD_MAX_REQUEST_BYTES
#: (the largest media cap and the multipart framing); every other request keeps
#: DATA_UPLOAD_MAX_MEMORY_SIZE. docs/media.md, "Limits".
UPLOAD_PATHS = ("/api/v1/media/",)
#: The web forms that carry a file (compose and edit: the no-JavaScript upload, docs/media.md).
WEB_UPLOAD_PATHS = re.compile(r"/posts/(?:new|[0-9]{1,19}/(?:edit|translate))/")


def body_limit(request) -> int | None:
    """The largest body `request` may send."""
    if request.method == "POST" and (request.path in UPLOAD_PATHS or WEB_UPLOAD_PATHS.fullmatch(request.path)):
        return settings.MEDIA_UPLOAD_MAX_REQUEST_BYTES
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def too_large(request) -> HttpResponse:
    limit = body_limit(request) or 0
    if is_api(request):
        megabytes = limit / (1024 * 1024)
        return _problem(413, render_message("request.too_large",
                                            {"limit_mb": round(megabytes, 1) if megabytes < 10 else int(megabytes)}))
    return render(request, "413.html", {"limit": limit}, status=413)


def busy(request) -> HttpResponse:
    if is_api(request):
        response = _problem(503, "The database is busy; try again in a moment.", code="busy",
                            title="Service busy")
    else:
        response = render(request, "503.html", status=503)
    response["Retry-After"] = str(BUSY_RETRY_AFTER)
    return response


class EdgeErrorsMiddleware:
    """Outermost after the request id: see the module docstring."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = body_limit(request)
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if limit is not None and length > limit:
            return too_large(request)
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        if is_api(request) and response.status_code >= 400 and not _is_json(response):
            # Django's own error responses (technical 404/500 with DEBUG on, CSRF failure pages,
            # a debug page for a SuspiciousOperation): the status stays, the body is a problem.
            status = response.status_code
            fresh = _problem(status, problem(status)["detail"])
            for header in ("Retry-After", "WWW-Authenticate", "Allow", "Permissions-Policy"):
                if header in response:
                    fresh[header] = response[header]
            return fresh
        return response

    def process_exception(self, request, exception):
        if isinstance(exception, RequestDataTooBig):
            return too_large(request)
        if is_lock_error(exception):
            logger.warning("Database busy on %s: %s", request.path, exception)
            return busy(request)
        if is_api(request) and settings.DEBUG:
            # With DEBUG off Django's handler500 answers in problem form; with it on Django would
            # send its debug page. Log it as Django would, answer problem details.
            logger.error("Internal Server Error: %s", request.path, exc_info=sys.exc_info())
            return _problem(500, "Something went wrong on our side; it has been logged.")
        return None


def _is_json(response) -> bool:
    content_type = response.get("Content-Type", "")
    return "json" in content_type


def api_exception_handler(exc, context):
    """DRF's exception handler: problem details (workflows.api.errors), plus the anonymous
    throttle for requests that failed authentication, and 503 for a busy database."""
    if isinstance(exc, (drf_exceptions.NotAuthenticated, drf_exceptions.AuthenticationFailed)):
        request, view = context.get("request"), context.get("view")
        if request is not None:
            throttle = AnonThrottle()
            if not throttle.allow_request(request, view):
                exc = drf_exceptions.Throttled(throttle.wait())
    if is_lock_error(exc):
        return None  # EdgeErrorsMiddleware answers 503 (and logs it)
    return problem_exception_handler(exc, context)
