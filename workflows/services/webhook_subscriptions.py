"""Webhook subscriptions: an organisation's integrations subscribe to Parley's events.

Only someone who may manage a channel of the organisation (or a superuser) manages them. Every
change is an event in the organisation's security audit chain (services/security_audit.py)."""
from __future__ import annotations

from typing import Any

from django.db import transaction

from accounts.models import User

from .. import limits
from ..exceptions import InvalidInput, NotFound
from ..models import WebhookSubscription
from ..outbound import url_refused
from ..permissions import ensure_can_manage_webhooks, sees_organisation
from ..topics import SUBSCRIBABLE
from .audit import audit_context

#: Topics webhooks may subscribe to: every emitted topic (workflows/topics.py).
TOPICS = SUBSCRIBABLE

_UNSET = object()


def _clean(*, url: Any = _UNSET, secret: Any = _UNSET, events: Any = _UNSET) -> dict:
    out: dict = {}
    errors: dict[str, list[str]] = {}
    if url is not _UNSET:
        if not isinstance(url, str) or not url.lower().startswith(("https://", "http://")):
            errors["url"] = ["Give an http(s) URL."]
        else:
            reason = url_refused(url)
            if reason:
                errors["url"] = [reason]
            else:
                out["url"] = url
    if secret is not _UNSET:
        if not isinstance(secret, str) or len(secret) < limits.WEBHOOK_SECRET_MIN:
            errors["secret"] = [f"At least {limits.WEBHOOK_SECRET_MIN} characters."]
        else:
            out["secret"] = secret
    if events is not _UNSET:
        unknown = [e for e in events or [] if e not in TOPICS]
        if unknown:
            errors["events"] = [f"Unknown topic: {e}" for e in unknown]
        else:
            out["events"] = sorted(set(events or []))
    if errors:
        raise InvalidInput(code="fields.invalid", errors=errors)
    return out


def _get_for_update(*, webhook_id: int, by: User) -> WebhookSubscription:
    hook = WebhookSubscription.objects.select_for_update().filter(id=webhook_id).first()
    if hook is None or not sees_organisation(by, hook.organisation_id):
        raise NotFound(code="not_found.webhook")
    ensure_can_manage_webhooks(user=by)
    return hook


@transaction.atomic
def webhook_create(*, by: User, url: str, secret: str, events: list[str] | None = None,
                   is_active: bool = True) -> WebhookSubscription:
    """Subscribe `by`'s organisation to `events` (empty: all). Raises NotPermitted, InvalidInput."""
    ensure_can_manage_webhooks(user=by)
    if by.organisation_id is None:
        raise InvalidInput(code="organisation.none", errors={"non_field_errors": ["No organisation."]})
    fields = _clean(url=url, secret=secret, events=events or [])
    with audit_context(actor=by):  # webhook.created in the organisation's security chain
        return WebhookSubscription.objects.create(
            organisation_id=by.organisation_id, created_by=by, is_active=bool(is_active), **fields
        )


@transaction.atomic
def webhook_update(*, webhook_id: int, by: User, url: Any = _UNSET, secret: Any = _UNSET, events: Any = _UNSET,
                   is_active: Any = _UNSET) -> WebhookSubscription:
    """Change a subscription. Raises NotFound (another organisation's), NotPermitted, InvalidInput."""
    hook = _get_for_update(webhook_id=webhook_id, by=by)
    fields = _clean(url=url, secret=secret, events=events)
    if is_active is not _UNSET:
        fields["is_active"] = bool(is_active)
    for name, value in fields.items():
        setattr(hook, name, value)
    if fields:
        with audit_context(actor=by):  # webhook.changed: before/after, the secret only as changed
            hook.save(update_fields=sorted(fields))
    return hook


@transaction.atomic
def webhook_delete(*, webhook_id: int, by: User) -> None:
    """Remove a subscription. Raises NotFound, NotPermitted."""
    hook = _get_for_update(webhook_id=webhook_id, by=by)
    with audit_context(actor=by):  # webhook.deleted
        hook.delete()
