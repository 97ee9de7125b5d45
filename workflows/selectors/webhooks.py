"""Webhook subscriptions the user may manage."""
from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User

from ..exceptions import NotFound
from ..models import WebhookSubscription
from ..permissions import ensure_can_manage_webhooks
from .channels import _org_filter


def webhooks_visible(*, user: User) -> QuerySet:
    """The caller's organisation's webhook subscriptions; only for those who may manage them
    (raises NotPermitted otherwise)."""
    ensure_can_manage_webhooks(user=user)
    return (
        WebhookSubscription.objects.filter(_org_filter(user))
        .select_related("created_by")
        .order_by("id")
    )


def webhook_get_visible(*, webhook_id: int, user: User) -> WebhookSubscription:
    """One subscription of the caller's organisation: NotFound for another's, then NotPermitted."""
    hook = WebhookSubscription.objects.filter(_org_filter(user), id=webhook_id).select_related("created_by").first()
    if hook is None:
        raise NotFound(code="not_found.webhook")
    ensure_can_manage_webhooks(user=user)
    return hook
