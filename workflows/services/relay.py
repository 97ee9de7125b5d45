"""The outbox relay: from OutboxEvent rows (written with the state change) to Celery tasks.

Each run claims due events with SELECT … FOR UPDATE SKIP LOCKED (so several relays never take
the same row), leases them (available_at moves forward), fans each new event out to the
organisation's webhook subscriptions, commits, and only then enqueues one task per event. The
task marks the event dispatched when its work is done, so a task lost in Redis (restart without
persistence, SIGKILLed worker) is relayed again when the lease expires. See docs/publishing.md.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Min
from django.utils import timezone

from ..models import OutboxEvent, WebhookSubscription

log = logging.getLogger("parley.relay")

#: Topics that start or resume publishing; handled on the `publish` queue.
PUBLISH_TOPICS = frozenset({"post.approved", "post.publish"})
#: One delivery of one event to one webhook subscription (created by the relay).
WEBHOOK_TOPIC = "webhook.deliver"
#: Topics never delivered to webhook subscriptions.
INTERNAL_TOPICS = frozenset({WEBHOOK_TOPIC})


def queue_for(topic: str) -> str:
    return "publish" if topic in PUBLISH_TOPICS else "notify"


def _fan_out(events: list[OutboxEvent], *, now: datetime, lease_until: datetime) -> list[OutboxEvent]:
    """Webhook deliveries for events relayed for the first time (attempts == 0)."""
    fresh = [e for e in events if e.attempts == 0 and e.topic not in INTERNAL_TOPICS and e.organisation_id]
    if not fresh:
        return []
    subs: dict[int, list[WebhookSubscription]] = {}
    for sub in WebhookSubscription.objects.filter(
        organisation_id__in={e.organisation_id for e in fresh}, is_active=True
    ).only("id", "organisation_id", "events"):
        subs.setdefault(sub.organisation_id, []).append(sub)
    children = [
        OutboxEvent(
            topic=WEBHOOK_TOPIC, organisation_id=e.organisation_id, post_id=e.post_id,
            payload={"event_id": e.id, "subscription_id": s.id, "topic": e.topic, "failures": 0},
            created_at=now, available_at=lease_until, attempts=1,
        )
        for e in fresh
        for s in (subs.get(e.organisation_id, []) if e.organisation_id is not None else [])
        if not s.events or e.topic in s.events
    ]
    return OutboxEvent.objects.bulk_create(children) if children else []


def relay_claim(*, batch: int | None = None, now: datetime | None = None) -> list[tuple[int, str]]:
    """Claim and lease up to `batch` due events (SKIP LOCKED); returns [(event_id, topic)],
    webhook deliveries included. Commits before returning: nothing here talks to the broker."""
    now = now or timezone.now()
    batch = batch or settings.OUTBOX_BATCH_SIZE
    lease_until = now + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
    with transaction.atomic():
        events = list(
            OutboxEvent.objects.select_for_update(skip_locked=True)
            .filter(dispatched_at__isnull=True, available_at__lte=now)
            .order_by("available_at", "id")
            .only("id", "topic", "organisation_id", "post_id", "attempts")[:batch]
        )
        if not events:
            return []
        children = _fan_out(events, now=now, lease_until=lease_until)
        OutboxEvent.objects.filter(id__in=[e.id for e in events]).update(
            available_at=lease_until, attempts=F("attempts") + 1
        )
    return [(e.id, e.topic) for e in events] + [(c.id, c.topic) for c in children]


def _enqueue(event_id: int, topic: str) -> None:
    from ..tasks import handle_event

    if not settings.CELERY_BROKER_URL:
        # Embedded default: no broker, so the task runs here. Decided on every call from the
        # settings, not from the Celery app's configuration frozen when it was first used.
        handle_event.apply(args=[event_id])
        return
    handle_event.apply_async(
        args=[event_id], queue=queue_for(topic), retry=True,
        # Fail fast when Redis is down: the event stays in PostgreSQL and is relayed later.
        retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2},
    )


def relay_outbox(*, batch: int | None = None, now: datetime | None = None, enqueue: Callable[..., Any] | None = None) -> int:
    """Relay one batch of due events to Celery; returns how many were enqueued.

    When the broker refuses, the events not yet enqueued are released (due again in a second)
    and the run stops; nothing is lost. With no broker (embedded default) the tasks run inline."""
    now = now or timezone.now()
    enqueue = enqueue or _enqueue
    claimed = relay_claim(batch=batch, now=now)
    sent = 0
    for i, (event_id, topic) in enumerate(claimed):
        try:
            enqueue(event_id, topic)
        except Exception as exc:  # noqa: BLE001 - broker down: keep the rest for the next run
            rest = [eid for eid, _ in claimed[i:]]
            OutboxEvent.objects.filter(id__in=rest, dispatched_at__isnull=True).update(
                available_at=timezone.now() + timedelta(seconds=1),
                last_error=f"enqueue failed: {exc.__class__.__name__}"[:500],
            )
            log.warning("outbox relay: broker unavailable, %d events kept", len(rest),
                        extra={"error": exc.__class__.__name__, "kept": len(rest)})
            break
        sent += 1
    if claimed and log.isEnabledFor(logging.INFO):  # the lag costs two queries: only when logged
        log.info("outbox relay", extra={"relayed": sent, "outbox_lag_seconds": outbox_lag(now=now)["lag_seconds"]})
    return sent


def relay_until_empty(*, batch: int | None = None, max_batches: int = 1000) -> int:
    total = 0
    for _ in range(max_batches):
        n = relay_outbox(batch=batch)
        total += n
        if n == 0:
            break
    return total


def event_done(*, event_id: int, error: str = "") -> None:
    OutboxEvent.objects.filter(id=event_id, dispatched_at__isnull=True).update(
        dispatched_at=timezone.now(), last_error=error[:2000]
    )


def event_handle(*, event_id: int, worker: str = "") -> str:
    """Do the work of one relayed event; idempotent. Returns what was done (for logs/tests).

    Publishing topics run `delivery.post_deliver` (whose claims make a duplicate harmless) and
    then mark the event dispatched; notifications and webhook deliveries run under the event's
    row lock (SKIP LOCKED: a concurrent duplicate does nothing) and retry with backoff."""
    event = OutboxEvent.objects.filter(id=event_id).only("id", "topic", "post_id", "dispatched_at").first()
    if event is None or event.dispatched_at is not None:
        return "skipped"
    if event.topic in PUBLISH_TOPICS:
        from .delivery import post_deliver

        if event.post_id:
            post_deliver(post_id=event.post_id, worker=worker)
        event_done(event_id=event.id)
        return "published"
    from . import notifications

    return notifications.event_notify(event_id=event.id)


def outbox_prune(*, now: datetime | None = None, chunk: int = 5000) -> int:
    """Delete events dispatched more than OUTBOX_RETENTION_DAYS ago (the audit trail keeps the
    history). Returns how many were deleted."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.OUTBOX_RETENTION_DAYS)
    total = 0
    while True:
        ids = list(OutboxEvent.objects.filter(dispatched_at__lt=cutoff).values_list("id", flat=True)[:chunk])
        if not ids:
            return total
        total += OutboxEvent.objects.filter(id__in=ids).delete()[0]


def outbox_lag(*, now: datetime | None = None) -> dict:
    """Age in seconds of the oldest event due and not dispatched (0 when none), and the count."""
    now = now or timezone.now()
    qs = OutboxEvent.objects.filter(dispatched_at__isnull=True, available_at__lte=now)
    row = qs.aggregate(oldest=Min("available_at"))
    oldest = row["oldest"]
    lag = max(0.0, (now - oldest).total_seconds()) if oldest else 0.0
    return {"lag_seconds": round(lag, 1), "pending": qs.count()}


def outbox_check() -> dict:
    """/readyz detail: the relay's lag. Not ok only above OUTBOX_LAG_ALERT_SECONDS (if set)."""
    try:
        info = outbox_lag()
    except Exception as exc:  # noqa: BLE001 - the database check reports the cause
        return {"ok": False, "error": exc.__class__.__name__}
    limit = settings.OUTBOX_LAG_ALERT_SECONDS
    return {"ok": not limit or info["lag_seconds"] <= limit, **info}
