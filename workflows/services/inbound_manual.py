"""Messages that reached staff by phone or e-mail: logged into the conversation inbox, and
answered the way they came — an e-mail through the outbox, or a call-back a person makes with
the approved text — never on a social platform (DESIGN.md, Additions 2026-12-07)."""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, get_connection
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import User

from ..constants import InboundMedium, PostState, ReplyDeliveryStatus
from ..exceptions import Conflict, InvalidInput, NotFound
from ..messages import Message
from ..models import InboundMessage, Post, ReplyDelivery
from . import actions
from .audit import audit_record
from .common import ensure_same_org
from .inbound import inbound_ingest
from .publishing import post_mark_failed, posts_mark_published

MEDIUMS = tuple(InboundMedium.values)
#: A phone number as staff type it: digits with spaces, dots, dashes, brackets, a leading +, an
#: extension ("poste 12", "ext. 12").
PHONE_RE = re.compile(r"^\+?[\d ().-]{7,30}(?:\s*(?:ext\.?|x|poste)\s*\d{1,6})?$", re.IGNORECASE)


def _clean_contact(medium: str, contact: object) -> str:
    """The e-mail address or phone number to answer; refused when it is not one."""
    value = contact.strip() if isinstance(contact, str) else ""
    if medium == InboundMedium.EMAIL:
        try:
            validate_email(value)
        except ValidationError:
            raise InvalidInput(code="reply.contact_email", errors={"contact": [Message("reply.contact_email")]}) from None
    elif not PHONE_RE.match(value) or sum(ch.isdigit() for ch in value) < 7:
        raise InvalidInput(code="reply.contact_phone", errors={"contact": [Message("reply.contact_phone")]})
    return value


@transaction.atomic
def inbound_log_manual(*, by: User, channel: str, medium: str, author: str, text: str, contact: str = "",
                       received_at: datetime | None = None, language: str | None = None) -> InboundMessage:
    """Store a message received by phone or e-mail (source=manual) on `channel` (whose team
    answers it; the reply goes back by e-mail or call-back, never on the channel). `author` is
    the person's name, `contact` the number or address to answer (both personal data).
    Raises InvalidInput (bad medium or contact, empty text, a time in the future), NotPermitted
    (no draft permission on the channel). Audited `logged` with the medium (never the contact)."""
    if medium not in MEDIUMS:
        raise InvalidInput(code="inbound.invalid_medium", errors={"medium": [Message("inbound.invalid_medium")]})
    if received_at is not None and received_at > timezone.now() + timedelta(minutes=5):
        raise InvalidInput(code="inbound.future_time", errors={"received_at": [Message("inbound.future_time")]})
    contact = _clean_contact(medium, contact)
    msg, _created = inbound_ingest(by=by, channel=channel, external_id=f"manual:{uuid.uuid4()}", author=author,
                                   text=text, received_at=received_at, language=language or None)
    msg.source = "manual"
    msg.medium = medium
    msg.contact = contact
    audit_record(owner=msg, verb="logged", actor=by, data={"medium": medium})
    msg.save(update_fields=["source", "medium", "contact", "audit_seq", "audit_head"])
    return msg


def _settle(delivery: ReplyDelivery, *, by: User | None, verb: str) -> None:
    """The reply reached the citizen: audited on the post, then publishing → published (which
    marks the message replied and its first response time)."""
    post = Post.objects.select_for_update(of=("self",)).get(id=delivery.post_id)
    audit_record(owner=post, verb=verb, actor=by, from_state=post.state, to_state=post.state,
                 data={"delivery_id": delivery.id, "medium": delivery.medium, "language": delivery.language})
    post.save(update_fields=["audit_seq", "audit_head"])
    posts_mark_published(post_ids=[post.id])


def reply_email(delivery: ReplyDelivery) -> EmailMessage:
    """The e-mail to the citizen, in the reply's language: the approved text, as approved."""
    with translation.override(delivery.language or "en"):
        subject = _("Reply to your message")
    return EmailMessage(subject=subject, body=delivery.body.rstrip() + "\n", to=[delivery.to],
                        from_email=settings.DEFAULT_FROM_EMAIL, headers={"Content-Language": delivery.language or "en"})


def reply_email_send(*, delivery_id: int) -> str:
    """Send a reply's e-mail once, inside the relayed event's transaction (notifications holds
    its row lock): waiting → sent, audited `reply_emailed`, the post published. Raises on an
    SMTP failure (the event retries with backoff). Returns what was done."""
    delivery = ReplyDelivery.objects.select_for_update().filter(id=delivery_id).first()
    if delivery is None or delivery.status != ReplyDeliveryStatus.PENDING:
        return "skipped"
    delivery.attempts += 1
    try:
        get_connection().send_messages([reply_email(delivery)])
    except Exception as exc:
        ReplyDelivery.objects.filter(id=delivery.id).update(attempts=delivery.attempts,
                                                            last_error=f"{exc.__class__.__name__}: {exc}"[:2000])
        raise
    delivery.status, delivery.done_at, delivery.last_error = ReplyDeliveryStatus.SENT, timezone.now(), ""
    delivery.save(update_fields=["status", "done_at", "last_error", "attempts"])
    _settle(delivery, by=None, verb="reply_emailed")
    return "emailed"


@transaction.atomic
def reply_email_gave_up(*, delivery_id: int, error: str) -> None:
    """The e-mail could not be sent after every retry: the delivery and the post fail (retry
    queues it again), so nobody is told it was sent."""
    delivery = ReplyDelivery.objects.select_for_update().filter(id=delivery_id).first()
    if delivery is None or delivery.status != ReplyDeliveryStatus.PENDING:
        return
    delivery.status, delivery.last_error = ReplyDeliveryStatus.FAILED, error[:2000]
    delivery.save(update_fields=["status", "last_error"])
    post_mark_failed(post_id=delivery.post_id, error=f"The reply could not be e-mailed: {error}"[:2000])


@transaction.atomic
def reply_callback_done(*, delivery_id: int, by: User) -> ReplyDelivery:
    """A person called the citizen back and read them the approved reply: waiting → done,
    audited `called_back` (who, when; never the number), the post published and the message
    replied. Needs the permission to reply to the message (actions.REPLY). Raises NotFound,
    NotPermitted, Conflict (already done, or not a call-back)."""
    delivery = ReplyDelivery.objects.select_for_update().select_related("inbound").filter(id=delivery_id).first()
    if delivery is None:
        raise NotFound(code="not_found.callback")
    ensure_same_org(user=by, organisation_id=delivery.inbound.organisation_id)
    actions.CALLBACK_DONE.ensure(by, delivery)
    if not Post.objects.filter(id=delivery.post_id, state=PostState.PUBLISHING).exists():
        raise Conflict(code="reply.callback_closed")
    delivery.status, delivery.done_at, delivery.done_by = ReplyDeliveryStatus.DONE, timezone.now(), by
    delivery.save(update_fields=["status", "done_at", "done_by"])
    _settle(delivery, by=by, verb="called_back")
    return delivery


# --- reads for the edges ----------------------------------------------------------------------

def replies_going_back(*, inbound_id: int) -> list[ReplyDelivery]:
    """The e-mails and call-backs answering one logged message, newest first (the caller checked
    the message is visible; the page shows the number only to people who may reply)."""
    return list(ReplyDelivery.objects.filter(inbound_id=inbound_id).select_related("done_by", "post"))


@dataclass(frozen=True)
class WayTaken:
    """What became of a reply that goes back by e-mail or call-back, as the page says it."""

    medium: str
    status: str
    sentence: str
    go_to_message: bool


def reply_way_taken(*, post_id: int) -> WayTaken | None:
    """After a reply was sent from the message's page: the truth about where it went, in the
    reader's language, or None for a reply that goes to a platform."""
    delivery = ReplyDelivery.objects.filter(post_id=post_id).only("medium", "status").first()
    if delivery is None:
        return None
    if delivery.medium == InboundMedium.PHONE:
        sentence = _("Call-back task created: call the citizen back, read them the approved reply, then mark the "
                     "call as made. Nothing was posted on a platform.")
        return WayTaken(delivery.medium, delivery.status, sentence, go_to_message=True)
    if delivery.status == ReplyDeliveryStatus.SENT:
        sentence = _("Reply e-mailed to the citizen. Nothing was posted on a platform.")
    elif delivery.status == ReplyDeliveryStatus.FAILED:
        sentence = _("The reply could not be e-mailed: check the address, then retry.")
    else:
        sentence = _("Reply approved: it is being e-mailed to the citizen. Nothing is posted on a platform.")
    return WayTaken(delivery.medium, delivery.status, sentence, go_to_message=False)
