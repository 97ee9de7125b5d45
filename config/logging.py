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


#: An outside approver's link (/o/<token>/, docs/outside-approvers.md): a credential in a path,
#: in any spelling a client may send (percent-encoded characters included).
_OUTSIDE_LINK = re.compile(r"/o/[^/?#\s\"']+/?")
_REDACTED = "/o/[link]/"


def redact(text: str) -> str:
    """`text` with every outside link replaced by /o/[link]/."""
    return _OUTSIDE_LINK.sub(_REDACTED, text)


class RedactLinksFilter(logging.Filter):
    """Keep outside approvers' links out of the logs: Django logs the path of every 4xx, runserver
    every request line (django.server), gunicorn every request line (gunicorn.access, whose
    arguments are a mapping of atoms). Set on every handler and logger Parley configures
    (config/settings.py LOGGING, config/gunicorn.py)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            for key, value in list(dict.items(record.args)):
                if isinstance(value, str):
                    dict.__setitem__(record.args, key, redact(value))
        request = getattr(record, "request", None)
        if request is not None and not isinstance(request, str):
            path = str(getattr(request, "path", "") or "")
            if path and _OUTSIDE_LINK.search(path):
                record.request = f"<{type(request).__name__}: {getattr(request, 'method', '')} '{redact(path)}'>"
            elif not path:
                # runserver passes its socket as `request`: nothing to read there, nothing to print
                record.request = None
        return True
