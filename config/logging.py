"""Structured logging: a request id per request, carried into every log record."""
from __future__ import annotations

import contextvars
import logging
import re
import uuid

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def current_request_id() -> str:
    return _request_id.get()


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get()
        return True


class RequestIdMiddleware:
    """Take a well-formed X-Request-ID from the proxy or make one; echo it in the response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        rid = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        token = _request_id.set(rid)
        request.request_id = rid
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
        response["X-Request-ID"] = rid
        return response


#: An outside approver's link (/o/<token>/, docs/outside-approvers.md): a credential in a path.
_OUTSIDE_LINK = re.compile(r"/o/[A-Za-z0-9_-]+/?")
_REDACTED = "/o/[link]/"


class RedactLinksFilter(logging.Filter):
    """Keep outside approvers' links out of the logs (Django logs the path of every 4xx)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = _OUTSIDE_LINK.sub(_REDACTED, record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_OUTSIDE_LINK.sub(_REDACTED, a) if isinstance(a, str) else a for a in record.args)
        request = getattr(record, "request", None)
        if request is not None and _OUTSIDE_LINK.search(str(getattr(request, "path", "") or "")):
            record.request = f"<{type(request).__name__}: {getattr(request, 'method', '')} '{_REDACTED}'>"
        return True
