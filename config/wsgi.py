import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()


def _refuse_weak_keys() -> None:
    """With DEBUG off the web process does not start on a guessable SECRET_KEY or AUDIT_HMAC_KEY
    (config/keys.py; the same rule fails `check --deploy`: parley.E102, parley.E103)."""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    from config.keys import HOW_TO, key_weakness

    if settings.DEBUG:
        return
    for name in ("SECRET_KEY", "AUDIT_HMAC_KEY"):
        weakness = key_weakness(name, getattr(settings, name, "") or "")
        if weakness:
            raise ImproperlyConfigured(f"Refusing to start: {weakness}. Generate one with {HOW_TO}.")


_refuse_weak_keys()
