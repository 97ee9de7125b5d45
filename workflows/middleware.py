"""Who is acting, for the audit trail's security events (docs/audit.md)."""
from __future__ import annotations

from .services.audit import audit_context


class AuditContextMiddleware:
    """Runs after AuthenticationMiddleware. Makes the request's user the actor of security events
    recorded while it is handled (admin changes, guardian's permission pages, API calls: DRF
    sets the token's user on the same request once it has authenticated it)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with audit_context(request=request, via=f"{request.method} {request.path}"[:200]):
            return self.get_response(request)
