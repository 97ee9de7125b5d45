"""Who is acting, for the audit trail's security events (docs/audit.md); the project's own 404 page
for objects a reader may not see, even under DEBUG (issue 21)."""
from __future__ import annotations

from django.http import Http404
from django.views import defaults

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


class NotVisibleMiddleware:
    """A web page for an object that does not exist or is not the reader's to see (another
    organisation's post, a message, an export) raises Http404. Under DEBUG Django would show its
    technical 404 page (English, with the URL patterns); the reader gets the project's own 404
    page instead, in their language, whatever DEBUG says. The API keeps its problem details
    (`workflows.api.errors`). An unmatched address is left to Django (a developer's typo)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, Http404) and not request.path.startswith("/api/"):
            return defaults.page_not_found(request, exception)
        return None
