"""RFC 9457 problem details for every API error (the API issue fills this in)."""
from __future__ import annotations

from rest_framework.views import exception_handler


def problem_exception_handler(exc, context):
    return exception_handler(exc, context)
