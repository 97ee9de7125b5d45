"""Log a citizen message that reached staff by phone or e-mail into the conversation inbox."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import User

from ..exceptions import InvalidInput
from ..messages import Message
from ..models import InboundMessage
from .audit import audit_record
from .inbound import inbound_ingest

MEDIUMS = ("phone", "email")


@transaction.atomic
def inbound_log_manual(*, by: User, channel: str, medium: str, author: str, text: str,
                       received_at: datetime | None = None, language: str | None = None) -> InboundMessage:
    """Store a message received by phone or e-mail (source=manual) on `channel`, the account a
    reply would go out on. Raises InvalidInput (bad medium, empty text, a time in the future),
    NotPermitted (no draft permission on the channel). Audited `logged` with the medium."""
    if medium not in MEDIUMS:
        raise InvalidInput(code="inbound.invalid_medium", errors={"medium": [Message("inbound.invalid_medium")]})
    if received_at is not None and received_at > timezone.now() + timedelta(minutes=5):
        raise InvalidInput(code="inbound.future_time", errors={"received_at": [Message("inbound.future_time")]})
    msg, _created = inbound_ingest(by=by, channel=channel, external_id=f"manual:{uuid.uuid4()}", author=author,
                                   text=text, received_at=received_at, language=language or None)
    msg.source = "manual"
    audit_record(owner=msg, verb="logged", actor=by, data={"medium": medium})
    msg.save(update_fields=["source", "audit_seq", "audit_head"])
    return msg
