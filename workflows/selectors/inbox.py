"""Citizen messages the user may see: the inbox, one message, its engagements and replies."""
from __future__ import annotations

from datetime import datetime

from django.db.models import Count, QuerySet
from django.utils import timezone

from accounts.models import User

from ..constants import InboundStatus, LaneKind
from ..exceptions import NotFound
from ..models import AuditEvent, Engagement, HoldingReply, InboundMessage, Lane, Post
from .channels import _org_filter
from .posts import posts_visible


def inbox_visible(*, user: User) -> QuerySet[InboundMessage]:
    return (
        InboundMessage.objects.filter(_org_filter(user))
        .select_related("channel", "assignee")
        .order_by("-received_at", "-id")
    )


def inbound_get_visible(*, inbound_id: int, user: User) -> InboundMessage:
    msg = inbox_visible(user=user).filter(id=inbound_id).first()
    if msg is None:
        raise NotFound(code="not_found.message")
    return msg


def inbound_last_event(*, inbound_id: int, verb: str) -> AuditEvent | None:
    """The latest audit event of this verb on a citizen message (e.g. why it was dismissed)."""
    return (AuditEvent.objects.filter(inbound_id=inbound_id, verb=verb).select_related("actor")
            .order_by("-seq").first())


#: What "open" means in the inbox: not yet answered or closed.
INBOX_OPEN = (InboundStatus.NEW, InboundStatus.CLAIMED)


def inbox_filtered(*, user: User, channel: str = "", status: str = "") -> QuerySet[InboundMessage]:
    """The inbox for one channel (slug; "" for all) and status ("all", one status, or "" for
    the open ones), newest first; the edge pages it."""
    qs = inbox_visible(user=user)
    if channel:
        qs = qs.filter(channel__slug=channel)
    if status == "all":
        return qs
    if status:
        return qs.filter(status=status)
    return qs.filter(status__in=INBOX_OPEN)


def inbox_overdue_before(*, user: User) -> datetime | None:
    """Open messages received before this moment are past the conversation lane's response
    time (the inbox flags them "Overdue"); None when the organisation sets no response time."""
    if user.organisation_id is None:
        return None
    sla = (Lane.objects.filter(organisation_id=user.organisation_id, kind=LaneKind.CONVERSATION)
           .exclude(response_sla=None).order_by("id").values_list("response_sla", flat=True).first())
    return timezone.now() - sla if sla else None


def inbox_counts_by_channel(*, user: User) -> list[tuple[str, list[int]]]:
    """[(channel handle, [count per status, in InboundStatus order])], by handle: one query."""
    counts: dict[str, dict[str, int]] = {}
    for handle, status, n in (inbox_visible(user=user).order_by()
                              .values_list("channel__handle", "status").annotate(n=Count("id"))):
        counts.setdefault(handle, {})[status] = n
    return [(handle, [counts[handle].get(st, 0) for st in InboundStatus.values]) for handle in sorted(counts)]


def engagements_by_action(*, inbound_id: int) -> dict[str, Engagement]:
    """{action: the engagement} already asked on one citizen message (like, boost)."""
    return {e.action: e for e in Engagement.objects.filter(inbound_id=inbound_id)}


def holding_replies_for(*, organisation_id: int) -> list[HoldingReply]:
    """The organisation's prepared holding replies (the reply form offers them)."""
    return list(HoldingReply.objects.filter(organisation_id=organisation_id))


def replies_to(*, inbound_id: int, user: User) -> QuerySet[Post]:
    """The visible replies drafted to one citizen message."""
    return posts_visible(user=user).filter(in_reply_to=inbound_id)
