"""Webhook subscriptions: an organisation's integrations subscribe to Parley's events.

Only someone who may manage a channel of the organisation (or a superuser) manages them. Every
change is an event in the organisation's security audit chain (services/security_audit.py)."""
from __future__ import annotations

from typing import Any

from django.db import transaction

from accounts.models import User

from ..constants import ChannelPerm
from ..exceptions import InvalidInput, NotFound, NotPermitted
from ..models import WebhookSubscription
from ..permissions import channels_with_perm
from .audit import audit_context

#: Topics the outbox emits and webhooks may subscribe to.
TOPICS = (
    "post.created",
    "post.escalated",
    "post.step_entered",
    "post.approved",
    "post.changes_requested",
    "post.rejected",
    "post.withdrawn",
    "post.publish",
    "post.published",
    "post.failed",
    "post.held",
    "post.partially_published",
    "post.retracted",
    "review.opened",
    "review.concern",
    "inbound.received",
    "caretaker.created",
    "inbound.engaged",
)

_UNSET = object()


def url_refused(url: str) -> str:
    """Why the outbound door would refuse `url` (loopback, private, link-local... unless the
    operator allow-lists it), checked at save time for a clear error; "" when it is usable.
    A name that does not resolve now is accepted: the door checks again at every connection."""
    from django.utils.translation import gettext as _

    from ..channels.base import NotSentError
    from ..outbound import OutboundRefused, check_url

    try:
        check_url(url)
    except OutboundRefused as exc:
        return _("This address is refused: %(reason)s") % {"reason": str(exc)}
    except NotSentError:
        return ""
    except Exception:  # noqa: BLE001 - httpx.InvalidURL and the like
        return _("Give an http(s) URL.")
    return ""


def ensure_can_manage_webhooks(*, user: User) -> None:
    """Raises NotPermitted unless `user` holds manage_channel on a channel of their
    organisation, or is a superuser."""
    if user.is_superuser:
        return
    if user.organisation_id is None or not channels_with_perm(
        user=user, codename=ChannelPerm.MANAGE
    ).filter(organisation_id=user.organisation_id).exists():
        raise NotPermitted(
            "Managing webhooks needs the 'manage' permission on a channel of your organisation.",
            code="manage_webhooks",
        )


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
        if not isinstance(secret, str) or len(secret) < 16:
            errors["secret"] = ["At least 16 characters."]
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
    if hook is None or (not by.is_superuser and hook.organisation_id != by.organisation_id):
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
