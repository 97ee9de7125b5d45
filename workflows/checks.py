"""System checks for the production keys (run by `manage.py check --deploy`): the audit trail's
AUDIT_HMAC_KEY and Django's SECRET_KEY, judged by one estimate of how guessable they are
(config/keys.py). The same estimate refuses to start the web process with DEBUG off
(config/wsgi.py)."""
from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register

from config.keys import HOW_TO, key_weakness


@register(Tags.security, deploy=True)
def audit_key_check(app_configs, **kwargs):
    key = getattr(settings, "AUDIT_HMAC_KEY", "") or ""
    if not key:
        return [Error(
            "AUDIT_HMAC_KEY is not set: with DEBUG off every audited action is refused.",
            hint="Set AUDIT_HMAC_KEY to a long random value kept apart from the database (docs/audit.md).",
            id="parley.E101",
        )]
    weakness = key_weakness("AUDIT_HMAC_KEY", key)
    if weakness:
        return [Error(f"AUDIT_HMAC_KEY is too weak: {weakness}.", hint=HOW_TO, id="parley.E102")]
    return []


@register(Tags.security, deploy=True)
def secret_key_check(app_configs, **kwargs):
    weakness = key_weakness("SECRET_KEY", settings.SECRET_KEY or "")
    if weakness:
        return [Error(f"SECRET_KEY is too weak: {weakness}.", hint=HOW_TO, id="parley.E103")]
    return []
