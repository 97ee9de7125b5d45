"""The reader's language on the API: problem details and rendered messages follow it.

Order (`accounts.middleware.reader_language`, the same rule as the web pages): `?lang=en|fr` (an
explicit choice for this request) → the language cookie → the language the authenticated user
CHOSE (`preferred_language`; blank: never chosen) → `Accept-Language` → settings.LANGUAGE_CODE. Token-authenticated
calls are authenticated by DRF inside the view, after Django's LocaleMiddleware ran, so the
language is chosen again once DRF knows the user (`ReaderLanguageMixin.initial`). Codes never
change with the language; only `title`, `detail`, `errors` and `message` fields do."""
from __future__ import annotations

from django.utils import translation

from accounts.middleware import reader_language as accounts_reader_language


def reader_language(request, *, user=None) -> str:
    """The language to answer `request` in: the one rule of the web pages too
    (`accounts.middleware.reader_language`)."""
    return accounts_reader_language(request, user=user)


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
