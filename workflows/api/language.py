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
    django_request = getattr(request, "_request", request)
    return _supported(translation.get_language_from_request(django_request)) or settings.LANGUAGE_CODE


def authenticated_user(request):
    """The user DRF authenticated, without triggering authentication (None before it ran)."""
    return request.__dict__.get("_user")


def activate_for(request) -> str:
    lang = reader_language(request, user=authenticated_user(request))
    translation.activate(lang)
    request.LANGUAGE_CODE = lang
    return lang


class ReaderLanguageMixin:
    """For every API view: once DRF has authenticated the caller, answer in their language."""

    def initial(self, request, *args, **kwargs):
        try:
            super().initial(request, *args, **kwargs)  # type: ignore[misc]
        finally:
            activate_for(request)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        response.headers.setdefault("Content-Language", translation.get_language())
        return response
