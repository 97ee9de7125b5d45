"""System checks for the audit trail's key (run by `manage.py check --deploy`)."""
from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def audit_key_check(app_configs, **kwargs):
    key = getattr(settings, "AUDIT_HMAC_KEY", "") or ""
    if not key:
        return [Error(
            "AUDIT_HMAC_KEY is not set: with DEBUG off every audited action is refused.",
            hint="Set AUDIT_HMAC_KEY to a long random value kept apart from the database (docs/audit.md).",
            id="parley.E101",
        )]
    if len(key) < 32 or len(set(key)) < 12:
        return [Error(
            "AUDIT_HMAC_KEY is too weak (fewer than 32 characters or few distinct ones).",
            hint="python -c 'import secrets; print(secrets.token_urlsafe(48))'",
            id="parley.E102",
        )]
    return []
