"""Use a signed-in user's preferred language unless they picked one with the toggle."""
from __future__ import annotations

from functools import lru_cache

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils import translation


@lru_cache(maxsize=1)
def _language_codes() -> frozenset[str]:
    """The configured languages' codes, built once (not a dict per request; issue 14)."""
    return frozenset(code for code, _name in settings.LANGUAGES)


@receiver(setting_changed)
def _languages_changed(*, setting: str, **kwargs) -> None:
    if setting == "LANGUAGES":
        _language_codes.cache_clear()


def preferred_language_for(user) -> str:
    lang = getattr(user, "preferred_language", "") or settings.LANGUAGE_CODE
    return lang if lang in _language_codes() else settings.LANGUAGE_CODE


class PreferredLanguageMiddleware:
    """Runs after LocaleMiddleware and AuthenticationMiddleware.

    An explicit choice (the language cookie set by the toggle, or ?lang=) wins; otherwise a
    signed-in user gets their profile's language rather than the browser's Accept-Language."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and settings.LANGUAGE_COOKIE_NAME not in request.COOKIES
        ):
            lang = preferred_language_for(user)
            if lang != getattr(request, "LANGUAGE_CODE", None):  # LocaleMiddleware already activated it otherwise
                translation.activate(lang)
                request.LANGUAGE_CODE = lang
        return self.get_response(request)
