"""The conversation inbox: ingest citizen messages, claim, dismiss."""
from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User

from .. import limits
from ..channels.base import InboundItem, ThreadRef
from ..constants import (
    DismissReason,
    InboundKind,
    InboundSource,
    InboundStatus,
    Visibility,
)
from ..exceptions import InvalidInput, NotFound, TextTooLong
from ..guidelines import detect_language
from ..messages import Message
from ..models import Channel, InboundMessage
from ..permissions import organisation_q
from . import actions
from .audit import audit_record
from .common import ensure_same_org
from .outbox import outbox_emit


def _lock(inbound_id: int, user: User) -> InboundMessage:
    msg = InboundMessage.objects.select_for_update().filter(id=inbound_id).first()
    if msg is None:
        raise NotFound(code="not_found.message")
    ensure_same_org(user=user, organisation_id=msg.organisation_id)
    return msg


def inbound_ingest(
    *,
    by: User,
    channel: str,
    external_id: str,
    author: str,
    text: str,
    url: str = "",
    received_at: datetime | None = None,
    language: str | None = None,
    kind: str = InboundKind.MENTION,
    source: str = InboundSource.API,
    visibility: str = Visibility.PUBLIC,
    author_handle: str = "",
    thread: dict | None = None,
    content_warning: str = "",
) -> tuple[InboundMessage, bool]:
    """Store a citizen message; idempotent on (channel, external_id). Detects the language when
    not given. `thread` holds the platform references a reply needs (the fields of ThreadRef).
    Returns (message, created). Raises InvalidInput, NotPermitted."""
    if isinstance(text, str) and len(text) > limits.INBOUND_TEXT_MAX:
        params = {"length": len(text), "limit": limits.INBOUND_TEXT_MAX}
        raise TextTooLong(params=params, errors={"text": [Message("text.too_long", params)]})
    errors = _field_errors(external_id=external_id, author=author, text=text, language=language,
                           received_at=received_at, kind=kind, source=source, visibility=visibility,
                           author_handle=author_handle)
    refs = _thread_refs(thread, errors)
    if errors:
        raise InvalidInput(code="fields.invalid", errors=errors)
    chan = _ingest_channel(by=by, slug=channel)
    return _store(
        channel=chan, by=by, external_id=external_id.strip(), author=author.strip(), text=text.strip(),
        url=url or "", received_at=received_at or timezone.now(), language=language or "", kind=kind,
        source=source, visibility=visibility, author_handle=author_handle.strip().lstrip("@"), thread=refs,
        content_warning=(content_warning or "").strip()[:limits.CONTENT_WARNING_MAX],
    )


def _field_errors(*, external_id: Any, author: Any, text: Any, language: Any, received_at: Any, kind: Any,
                  source: Any, visibility: Any, author_handle: Any) -> dict[str, list[str]]:
    """What is wrong with an ingested message's fields, by field (empty when nothing is)."""
    errors: dict[str, list[str]] = {}
    for name, value, limit in (("external_id", external_id, 300), ("author", author, 300), ("text", text, limits.INBOUND_TEXT_MAX)):
        if not isinstance(value, str) or not value.strip():
            errors[name] = ["This field is required."]
        elif len(value) > limit or "\x00" in value:
            errors[name] = [f"At most {limit} characters, no NUL."]
    if language not in (None, "", "en", "fr"):
        errors["language"] = ["Use en or fr."]
    if received_at is not None and (not isinstance(received_at, datetime) or timezone.is_naive(received_at)):
        errors["received_at"] = ["Give an ISO 8601 time with an offset."]
    for name, value, choices in (("kind", kind, InboundKind.values), ("source", source, InboundSource.values),
                                 ("visibility", visibility, Visibility.values)):
        if value not in choices:
            errors[name] = [f"Use one of: {', '.join(choices)}."]
    if not isinstance(author_handle, str) or len(author_handle) > 300 or "\x00" in author_handle:
        errors["author_handle"] = ["At most 300 characters, no NUL."]
    return errors


def _ingest_channel(*, by: User, slug: str) -> Channel:
    """The channel a message is ingested on (of an organisation the caller sees: the one rule in
    workflows.permissions), on which the caller may draft. Raises InvalidInput, NotPermitted."""
    chan = Channel.objects.filter(organisation_q(by), slug=slug).order_by("id").first()
    if chan is None:
        raise InvalidInput(code="channel.unknown", errors={"channel": [Message("channel.unknown")]})
    actions.INGEST.ensure(by, chan)
    return chan


def _thread_refs(thread: Any, errors: dict) -> dict:
    if thread in (None, ""):
        return {}
    if not isinstance(thread, dict) or any(k not in ThreadRef.__dataclass_fields__ for k in thread) or any(
        not isinstance(v, str) or len(v) > 500 for v in thread.values()
    ):
        errors["thread"] = [f"An object with string fields among: {', '.join(ThreadRef.__dataclass_fields__)}."]
        return {}
    return {k: v for k, v in thread.items() if v}


def _store(*, channel: Channel, by: User | None, external_id: str, author: str, text: str, url: str, received_at: datetime,
           language: str, kind: str, source: str, visibility: str, author_handle: str,
           thread: dict, content_warning: str = "") -> tuple[InboundMessage, bool]:
    existing = InboundMessage.objects.filter(channel=channel, external_id=external_id).first()
    if existing is not None:
        return existing, False
    lang = language or detect_language(text) or ""
    try:
        with transaction.atomic():
            msg = InboundMessage.objects.create(
                organisation_id=channel.organisation_id, channel=channel, external_id=external_id,
                author=author, body=text, language=lang, url=url, received_at=received_at, kind=kind,
                source=source, visibility=visibility, author_handle=author_handle, thread=thread,
                content_warning=content_warning,
            )
            audit_record(owner=msg, verb="received", actor=by,
                         data={"channel": channel.slug, "external_id": msg.external_id, "language": lang,
                               "kind": kind, "source": source})
            msg.save(update_fields=["audit_seq", "audit_head"])
            outbox_emit(topic="inbound.received", organisation_id=channel.organisation_id,
                        payload={"inbound_id": msg.id})
    except IntegrityError:
        # Another request stored the same (channel, external_id) first: answer with that one.
        return InboundMessage.objects.get(channel=channel, external_id=external_id), False
    return msg, True


def inbound_hear(*, channel: Channel, item: InboundItem) -> tuple[InboundMessage, bool]:
    """Store what listening heard on the platform (source=platform); idempotent on (channel,
    external_id). The first-response clock starts at the platform's `created_at`; the language is
    the platform's tag, else detected. Returns (message, created)."""
    tag = (item.language or "").split("-")[0].lower()[:2]
    thread = {k: v for k, v in asdict(item.thread).items() if v and k not in ("author_handle", "visibility")}
    return _store(
        channel=channel, by=None, external_id=item.external_id[:300], author=(item.author or item.author_handle)[:300],
        text=item.text[:limits.INBOUND_TEXT_MAX], url=(item.url or "")[:500], received_at=item.created_at, language=tag,
        kind=item.kind if item.kind in InboundKind.values else InboundKind.MENTION, source=InboundSource.PLATFORM,
        visibility=item.visibility if item.visibility in Visibility.values else Visibility.PUBLIC,
        author_handle=item.author_handle.lstrip("@")[:300], thread=thread,
        content_warning=(item.content_warning or "")[:limits.CONTENT_WARNING_MAX],
    )


@transaction.atomic
def inbound_claim(*, inbound_id: int, by: User) -> InboundMessage:
    """Assign the message to `by`. Claimed by someone else → Conflict; replied/dismissed → Conflict."""
    msg = _lock(inbound_id, by)
    actions.CLAIM.ensure(by, msg)
    if msg.status == InboundStatus.CLAIMED and msg.assignee_id == by.id:
        return msg
    msg.status = InboundStatus.CLAIMED
    msg.assignee = by
    msg.claimed_at = timezone.now()
    audit_record(owner=msg, verb="claimed", actor=by, from_state=InboundStatus.NEW, to_state=msg.status)
    msg.save(update_fields=["status", "assignee", "claimed_at", "audit_seq", "audit_head"])
    return msg


@transaction.atomic
def inbound_dismiss(*, inbound_id: int, by: User, reason: str, comment: str = "") -> InboundMessage:
    """Close the message without a reply, for a reason (spam, no_reply_needed,
    handled_elsewhere) and an optional comment. → dismissed: it leaves the open inbox. Raises
    InvalidInput, NotFound, NotPermitted, Conflict (already replied or dismissed). Audited
    `dismissed` with the reason and comment."""
    if reason not in DismissReason.values:
        raise InvalidInput(code="dismiss.invalid_reason", errors={"reason": [Message("dismiss.invalid_reason")]})
    if not isinstance(comment, str):
        raise InvalidInput(code="text.not_string", errors={"comment": [Message("text.not_string")]})
    comment = comment.strip()
    if len(comment) > limits.DISMISS_COMMENT_MAX:
        params = {"length": len(comment), "limit": limits.DISMISS_COMMENT_MAX}
        raise TextTooLong(params=params, errors={"comment": [Message("text.too_long", params)]})
    msg = _lock(inbound_id, by)
    actions.DISMISS.ensure(by, msg)
    from_status = msg.status
    msg.status = InboundStatus.DISMISSED
    audit_record(owner=msg, verb="dismissed", actor=by, from_state=from_status, to_state=msg.status,
                 data={"reason": reason, "comment": comment})
    msg.save(update_fields=["status", "audit_seq", "audit_head"])
    return msg
