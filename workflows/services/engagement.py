"""Engagement: like or boost what a citizen or the community said, through the conversation
lane's permission (drafting a reply on the channel), audited on the message's chain, sent once.

The unit is an Engagement row, unique per (message, action): asking twice returns the first. It
is sent like a publication — after commit, by a Celery task that claims it with a conditional
UPDATE — and it is exactly once without trusting the server: before any retry the adapter is
asked whether the account already did it (`engaged`), and both actions are idempotent on the
platforms anyway (Mastodon answers a repeated favourite or boost with the same state; Bluesky's
adapter writes a record with a key derived from the idempotency key).
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import User

from ..channels import get_adapter
from ..channels.base import (
    AdapterError,
    AmbiguousError,
    PermanentError,
    ThreadRef,
    TransientError,
)
from ..constants import EngagementAction, EngagementStatus, InboundStatus, Visibility
from ..exceptions import InvalidInput
from ..messages import Message
from ..models import Engagement, InboundMessage
from . import actions
from .audit import audit_record
from .inbound import _lock
from .outbox import outbox_emit

log = logging.getLogger("parley.engagement")
ES = EngagementStatus


def can_engage(channel: Any) -> bool:
    try:
        return callable(getattr(get_adapter(channel), "engage", None))
    except AdapterError:
        return False


#: Hands one engagement to the workers: `tasks.enqueue_engagement`, registered at app start
#: (WorkflowsConfig.ready()). Services never import tasks (docs/architecture.md).
_enqueue_fn: Callable[[int], None] | None = None


def engagement_register_enqueue(fn: Callable[[int], None] | None) -> None:
    global _enqueue_fn
    _enqueue_fn = fn


def _enqueue(engagement_id: int) -> None:
    if _enqueue_fn is None:
        log.warning("engagement %s: no enqueue function registered; the sweep will send it", engagement_id)
        return
    _enqueue_fn(engagement_id)


@transaction.atomic
def inbound_engage(*, inbound_id: int, by: User, action: str) -> tuple[Engagement, bool]:
    """Like or boost a heard message. Needs the permission to reply on its channel (the
    conversation lane's); idempotent per (message, action): returns (engagement, created).
    Raises NotFound, NotPermitted, InvalidInput (unknown action, a channel that cannot engage,
    boosting a direct or followers-only message). Sends after commit."""
    if action not in EngagementAction.values:
        raise InvalidInput(code="engage.invalid_action", errors={"action": [Message("engage.invalid_action")]})
    msg = _lock(inbound_id, by)
    actions.ENGAGE.ensure(by, msg)
    existing = Engagement.objects.filter(inbound_id=msg.id, action=action).first()
    if existing is not None:
        return existing, False
    if msg.status == InboundStatus.DISMISSED:
        raise InvalidInput(code="engage.dismissed", errors={"action": [Message("engage.dismissed")]})
    if not can_engage(msg.channel):
        raise InvalidInput(code="engage.unsupported", errors={"action": [Message("engage.unsupported")]})
    if action == EngagementAction.BOOST and msg.visibility in (Visibility.PRIVATE, Visibility.DIRECT):
        raise InvalidInput(code="engage.not_public", errors={"action": [Message("engage.not_public")]})
    eng = Engagement.objects.create(
        organisation_id=msg.organisation_id, inbound=msg, channel_id=msg.channel_id, action=action,
        idempotency_key=f"parley-engage-{msg.id}-{action}", created_by=by,
    )
    audit_record(owner=msg, verb="engagement_requested", actor=by, data={"action": action, "engagement_id": eng.id})
    msg.save(update_fields=["audit_seq", "audit_head"])
    outbox_emit(topic="inbound.engaged", organisation_id=msg.organisation_id,
                payload={"inbound_id": msg.id, "engagement_id": eng.id, "action": action})
    transaction.on_commit(lambda: _enqueue(eng.id))
    return eng, True


def _claim(engagement_id: int, worker: str, now: datetime) -> Engagement | None:
    due = Q(status__in=(ES.PENDING, ES.RETRYING)) & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    won = Engagement.objects.filter(due, id=engagement_id).update(
        status=ES.SENDING, claimed_at=now, claimed_by=worker[:200], attempts=F("attempts") + 1)
    if not won:
        return None
    return Engagement.objects.select_related("inbound", "channel").get(id=engagement_id)


def _finish(eng: Engagement, **fields: Any) -> bool:
    return bool(Engagement.objects.filter(id=eng.id, status=ES.SENDING, claimed_at=eng.claimed_at,
                                          claimed_by=eng.claimed_by).update(**fields))


def _record(eng: Engagement, verb: str, data: dict) -> None:
    with transaction.atomic():
        msg = InboundMessage.objects.select_for_update().get(id=eng.inbound_id)
        audit_record(owner=msg, verb=verb, actor=None, data={"action": eng.action, "engagement_id": eng.id, **data})
        msg.save(update_fields=["audit_seq", "audit_head"])


def _target(msg: InboundMessage) -> ThreadRef:
    refs = {k: str(v) for k, v in (msg.thread or {}).items() if k in ThreadRef.__dataclass_fields__}
    refs.setdefault("external_id", msg.external_id)
    return ThreadRef(**{**refs, "author_handle": msg.author_handle, "visibility": msg.visibility})


def _retry_or_fail(eng: Engagement, error: str) -> str:
    from .delivery import backoff_seconds

    if eng.attempts >= settings.ENGAGE_MAX_ATTEMPTS:
        _finish(eng, status=ES.FAILED, last_error=f"gave up after {eng.attempts} attempts: {error}"[:2000],
                next_attempt_at=None)
        _record(eng, "engagement_failed", {"error": error[:500]})
        return ES.FAILED
    _finish(eng, status=ES.RETRYING, last_error=error[:2000],
            next_attempt_at=timezone.now() + timedelta(seconds=backoff_seconds(eng.attempts)))
    return ES.RETRYING


def engagement_send(*, engagement_id: int, worker: str = "engager", now: datetime | None = None) -> str | None:
    """Claim one engagement and do it on the platform. On a retry, first ask whether it is
    already done there. Returns the resulting status, or None when another worker has it."""
    now = now or timezone.now()
    eng = _claim(engagement_id, worker, now)
    if eng is None:
        return None
    target = _target(eng.inbound)
    try:
        adapter: Any = get_adapter(eng.channel)  # an engaging adapter (checked by inbound_engage)
        if eng.attempts > 1 and callable(getattr(adapter, "engaged", None)) and adapter.engaged(eng.action, target):
            result = None
        else:
            result = adapter.engage(eng.action, target, eng.idempotency_key)
    except (TransientError, AmbiguousError) as exc:
        # Nothing sent, or maybe: both actions are idempotent, and the next attempt asks first.
        return _retry_or_fail(eng, f"{exc.__class__.__name__}: {exc}")
    except PermanentError as exc:
        _finish(eng, status=ES.FAILED, last_error=str(exc)[:2000], next_attempt_at=None)
        _record(eng, "engagement_failed", {"error": str(exc)[:500]})
        return ES.FAILED
    fields = {"status": ES.DONE, "done_at": timezone.now(), "next_attempt_at": None, "last_error": ""}
    if result is not None:
        fields.update(external_id=result.external_id[:300], url=result.url[:500])
    if _finish(eng, **fields):
        _record(eng, "engaged", {"external_id": fields.get("external_id", "")})
    return ES.DONE


def engagements_sweep(*, now: datetime | None = None) -> list[int]:
    """Engagements to send now: due retries, pending ones whose task was lost, and sends
    abandoned for longer than PUBLISH_CLAIM_TIMEOUT (made due again: the retry asks first)."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.PUBLISH_CLAIM_TIMEOUT)
    Engagement.objects.filter(status=ES.SENDING, claimed_at__lt=cutoff).update(
        status=ES.RETRYING, next_attempt_at=now, last_error="the worker sending it stopped before recording the outcome")
    lost = now - timedelta(seconds=max(5.0, settings.PUBLISH_SWEEP_INTERVAL))
    return list(Engagement.objects.filter(
        Q(status=ES.RETRYING, next_attempt_at__lte=now) | Q(status=ES.PENDING, created_at__lte=lost)
    ).order_by("id").values_list("id", flat=True)[:500])
