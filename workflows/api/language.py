"""The reader's language on the API: problem details and rendered messages follow it.

Order: `?lang=en|fr` (an explicit choice for this request) → the authenticated user's saved
language (`preferred_language`) → `Accept-Language` → settings.LANGUAGE_CODE. Token-authenticated
calls are authenticated by DRF inside the view, after Django's LocaleMiddleware ran, so the
language is chosen again once DRF knows the user (`ReaderLanguageMixin.initial`). Codes never
change with the language; only `title`, `detail`, `errors` and `message` fields do."""
from __future__ import annotations

from django.conf import settings
from django.utils import translation


def _supported(code: str | None) -> str | None:
    if not code:
        return None
    code = code.lower().split("-")[0]
    return code if code in dict(settings.LANGUAGES) else None


def reader_language(request, *, user=None) -> str:
    """The language to answer `request` in (see the module docstring)."""
    explicit = _supported(getattr(request, "GET", {}).get("lang"))
    if explicit:
        return explicit
    if user is not None and getattr(user, "is_authenticated", False):
        saved = _supported(getattr(user, "preferred_language", ""))
        if saved:
            return saved
    # A DRF Request answers COOKIES and META as the HttpRequest it wraps.
    return _supported(translation.get_language_from_request(request)) or settings.LANGUAGE_CODE


def activate_for(request, *, user=None) -> str:
    """Answer `request` in its reader's language. `user`: who authenticated, when known
    (ReaderLanguageMixin.perform_authentication records it on the view); None before."""
    lang = reader_language(request, user=user)
    translation.activate(lang)
    request.LANGUAGE_CODE = lang
    return lang


class ReaderLanguageMixin:
    """For every API view: once DRF has authenticated the caller, answer in their language."""

    def initial(self, request, *args, **kwargs):
        try:
            super().initial(request, *args, **kwargs)  # type: ignore[misc]
        finally:
            activate_for(request, user=getattr(self, "authenticated_user", None))

    def perform_authentication(self, request):
        """DRF's hook: authenticate, and remember who for the language (and the error handler)."""
        super().perform_authentication(request)  # type: ignore[misc]
        self.authenticated_user = request.user

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        response.headers.setdefault("Content-Language", translation.get_language())
        return response
