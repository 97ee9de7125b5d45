"""The conversation inbox: ingest citizen messages, claim, dismiss."""
from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from .. import limits
from ..constants import ChannelPerm, DismissReason, InboundStatus
from ..exceptions import Conflict, InvalidInput, NotFound, TextTooLong
from ..guidelines import detect_language
from ..messages import Message
from ..models import Channel, InboundMessage
from .audit import audit_record
from .common import ensure_perm_on_channels, ensure_same_org
from .outbox import outbox_emit


def _lock(inbound_id: int, user) -> InboundMessage:
    msg = InboundMessage.objects.select_for_update().filter(id=inbound_id).first()
    if msg is None:
        raise NotFound(code="not_found.message")
    ensure_same_org(user=user, organisation_id=msg.organisation_id)
    return msg


def inbound_ingest(
    *,
    by,
    channel: str,
    external_id: str,
    author: str,
    text: str,
    url: str = "",
    received_at: datetime | None = None,
    language: str | None = None,
) -> tuple[InboundMessage, bool]:
    """Store a citizen message; idempotent on (channel, external_id). Detects the language when
    not given. Returns (message, created). Raises InvalidInput, NotPermitted."""
    errors: dict[str, list[str]] = {}
    if isinstance(text, str) and len(text) > limits.INBOUND_TEXT_MAX:
        params = {"length": len(text), "limit": limits.INBOUND_TEXT_MAX}
        raise TextTooLong(params=params, errors={"text": [Message("text.too_long", params)]})
    for name, value, limit in (("external_id", external_id, 300), ("author", author, 300), ("text", text, limits.INBOUND_TEXT_MAX)):
        if not isinstance(value, str) or not value.strip():
            errors[name] = ["This field is required."]
        elif len(value) > limit or "\x00" in value:
            errors[name] = [f"At most {limit} characters, no NUL."]
    if language not in (None, "", "en", "fr"):
        errors["language"] = ["Use en or fr."]
    if received_at is not None and (not isinstance(received_at, datetime) or timezone.is_naive(received_at)):
        errors["received_at"] = ["Give an ISO 8601 time with an offset."]
    if errors:
        raise InvalidInput(code="fields.invalid", errors=errors)
    chan = Channel.objects.filter(slug=channel, organisation_id=by.organisation_id).first() if by.organisation_id or by.is_superuser else None
    if chan is None and by.is_superuser:
        chan = Channel.objects.filter(slug=channel).first()
    if chan is None:
        raise InvalidInput(code="channel.unknown", errors={"channel": [Message("channel.unknown")]})
    ensure_perm_on_channels(user=by, channel_ids=[chan.id], codename=ChannelPerm.DRAFT)
    existing = InboundMessage.objects.filter(channel=chan, external_id=external_id).first()
    if existing is not None:
        return existing, False
    lang = language or detect_language(text) or ""
    try:
        with transaction.atomic():
            msg = InboundMessage.objects.create(
                organisation_id=chan.organisation_id, channel=chan, external_id=external_id.strip(),
                author=author.strip(), body=text.strip(), language=lang, url=url or "",
                received_at=received_at or timezone.now(),
            )
            audit_record(owner=msg, verb="received", actor=by,
                         data={"channel": chan.slug, "external_id": msg.external_id, "language": lang})
            msg.save(update_fields=["audit_seq", "audit_head"])
            outbox_emit(topic="inbound.received", organisation_id=chan.organisation_id,
                        payload={"inbound_id": msg.id})
    except IntegrityError:
        # Another request stored the same (channel, external_id) first: answer with that one.
        return InboundMessage.objects.get(channel=chan, external_id=external_id.strip()), False
    return msg, True


@transaction.atomic
def inbound_claim(*, inbound_id: int, by) -> InboundMessage:
    """Assign the message to `by`. Claimed by someone else → Conflict; replied/dismissed → Conflict."""
    msg = _lock(inbound_id, by)
    ensure_perm_on_channels(user=by, channel_ids=[msg.channel_id], codename=ChannelPerm.DRAFT)
    if msg.status == InboundStatus.CLAIMED and msg.assignee_id == by.id:
        return msg
    if msg.status != InboundStatus.NEW:
        raise Conflict(code="inbound_taken", params={"status": msg.status})
    msg.status = InboundStatus.CLAIMED
    msg.assignee = by
    msg.claimed_at = timezone.now()
    audit_record(owner=msg, verb="claimed", actor=by, from_state=InboundStatus.NEW, to_state=msg.status)
    msg.save(update_fields=["status", "assignee", "claimed_at", "audit_seq", "audit_head"])
    return msg


def inbound_dismiss_check(*, msg: InboundMessage, user) -> None:
    """May `user` dismiss this message now? Raises NotPermitted (no draft permission on its
    channel), Conflict (already replied to or dismissed)."""
    ensure_perm_on_channels(user=user, channel_ids=[msg.channel_id], codename=ChannelPerm.DRAFT)
    if msg.status in (InboundStatus.REPLIED, InboundStatus.DISMISSED):
        raise Conflict(code="inbound_closed", params={"status": msg.status})


@transaction.atomic
def inbound_dismiss(*, inbound_id: int, by, reason: str, comment: str = "") -> InboundMessage:
    """Close the message without a reply, for a reason (spam, no_reply_needed,
    handled_elsewhere) and an optional comment. → dismissed: it leaves the open inbox. Raises
    InvalidInput, NotFound, NotPermitted, Conflict (already replied or dismissed). Audited
    `dismissed` with the reason and comment."""
    if reason not in DismissReason.values:
        raise InvalidInput(code="dismiss.invalid_reason", errors={"reason": [Message("dismiss.invalid_reason")]})
    if not isinstance(comment, str):
        raise InvalidInput(code="text.not_string", errors={"comment": [Message("text.not_string")]})
    comment = comment.strip()
    if len(comment) > limits.COMMENT_MAX:
        params = {"length": len(comment), "limit": limits.COMMENT_MAX}
        raise TextTooLong(params=params, errors={"comment": [Message("text.too_long", params)]})
    msg = _lock(inbound_id, by)
    inbound_dismiss_check(msg=msg, user=by)
    from_status = msg.status
    msg.status = InboundStatus.DISMISSED
    audit_record(owner=msg, verb="dismissed", actor=by, from_state=from_status, to_state=msg.status,
                 data={"reason": reason, "comment": comment})
    msg.save(update_fields=["status", "audit_seq", "audit_head"])
    return msg
