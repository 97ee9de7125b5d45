"""The reader's language, for the web pages and the API alike (one rule, `reader_language`).

Order: `?lang=en|fr` (an explicit choice for this request) → the language toggle's cookie (an
explicit choice, also saved to a signed-in person's profile) → the language a signed-in person
CHOSE (`preferred_language`; blank means never chosen) → the browser's or the client's
`Accept-Language` → settings.LANGUAGE_CODE. A profile's language counts only once its owner chose
it: a French browser gets French pages after sign-in until the person picks English."""
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


def supported_language(code: object) -> str | None:
    """`code` ('fr', 'fr-CA', 'FR') as one of the configured languages, else None."""
    if not code or not isinstance(code, str):
        return None
    code = code.lower().split("-")[0].split("_")[0]
    return code if code in _language_codes() else None


def chosen_language(user) -> str | None:
    """The language `user` chose and saved, or None (anonymous, or never chosen)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return supported_language(getattr(user, "preferred_language", ""))


def reader_language(request, *, user=None) -> str:
    """The language to answer `request` in (see the module docstring). `request` may be Django's
    or DRF's (which reads GET, COOKIES and META through to Django's)."""
    explicit = supported_language(request.GET.get("lang"))
    if explicit:
        return explicit
    toggled = supported_language(request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME))
    if toggled:
        return toggled
    chosen = chosen_language(user)
    if chosen:
        return chosen
    # Django's own reading of Accept-Language (the cookie, checked above, is not there).
    return supported_language(translation.get_language_from_request(request)) or settings.LANGUAGE_CODE


class PreferredLanguageMiddleware:
    """Runs after LocaleMiddleware and AuthenticationMiddleware: once the user is known, the
    page's language is `reader_language` (LocaleMiddleware alone cannot know a saved choice)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        lang = reader_language(request, user=getattr(request, "user", None))
        if lang != getattr(request, "LANGUAGE_CODE", None):  # LocaleMiddleware already activated it otherwise
            translation.activate(lang)
            request.LANGUAGE_CODE = lang
        return self.get_response(request)
