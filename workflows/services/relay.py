"""The outbox relay: from OutboxEvent rows (written with the state change) to Celery tasks.

Each run claims due events with SELECT … FOR UPDATE SKIP LOCKED (so several relays never take
the same row), leases them (available_at moves forward), fans each new event out to the
organisation's webhook subscriptions, commits, and only then enqueues one task per event. The
task marks the event dispatched when its work is done, so a task lost in Redis (restart without
persistence, SIGKILLed worker) is relayed again when the lease expires. See docs/publishing.md.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Min
from django.utils import timezone

from .. import topics
from ..models import OutboxEvent, WebhookSubscription
from ..topics import Topic

log = logging.getLogger("parley.relay")


def queue_for(topic: str) -> str:
    """Publishing topics (workflows.topics.PUBLISH) go to the `publish` queue, the rest to `notify`."""
    return "publish" if topic in topics.PUBLISH else "notify"


def _fan_out(events: list[OutboxEvent], *, now: datetime, lease_until: datetime,
             subs: dict[int, list[WebhookSubscription]] | None = None) -> list[OutboxEvent]:
    """Webhook deliveries for events relayed for the first time (attempts == 0). `subs`: the
    organisations' active subscriptions when the caller read them with the claim."""
    fresh = [e for e in events if e.attempts == 0 and e.topic not in topics.INTERNAL and e.organisation_id]
    if not fresh:
        return []
    if subs is None:
        subs = {}
        for sub in WebhookSubscription.objects.filter(
            organisation_id__in={e.organisation_id for e in fresh}, is_active=True
        ).only("id", "organisation_id", "events"):
            subs.setdefault(sub.organisation_id, []).append(sub)
    children = [
        OutboxEvent(
            topic=Topic.WEBHOOK_DELIVER, organisation_id=e.organisation_id, post_id=e.post_id,
            payload={"event_id": e.id, "subscription_id": s.id, "topic": e.topic, "failures": 0},
            created_at=now, available_at=lease_until, attempts=1,
        )
        for e in fresh
        for s in (subs.get(e.organisation_id, []) if e.organisation_id is not None else [])
        if not s.events or e.topic in s.events
    ]
    return OutboxEvent.objects.bulk_create(children) if children else []


#: The claim on PostgreSQL in one statement (issue 14: the relay runs on every commit that wrote
#: outbox rows): lease the due events (SKIP LOCKED, oldest first) and read, for those relayed for
#: the first time, their organisations' active webhook subscriptions.
#: Raw SQL on purpose, and the one raw twin of an ORM rule left: the ORM's UPDATE cannot return
#: the rows it leased (no RETURNING in Django 5.2), so its form (relay_claim's other branch, run by
#: the SQLite pass) takes a locking SELECT, an UPDATE and the subscriptions' query — three round
#: trips on every commit that wrote an outbox row instead of one. Same conditions, same order:
#: change both together.
_CLAIM_SQL = """
WITH claimed AS (
    UPDATE workflows_outboxevent AS e SET available_at = %s, attempts = e.attempts + 1
    WHERE e.id IN (SELECT q.id FROM workflows_outboxevent AS q
                   WHERE q.dispatched_at IS NULL AND q.available_at <= %s
                   ORDER BY q.available_at, q.id LIMIT %s FOR UPDATE SKIP LOCKED)
    RETURNING e.id, e.topic, e.organisation_id, e.post_id, e.attempts - 1 AS attempts
)
SELECT c.id, c.topic, c.organisation_id, c.post_id, c.attempts, s.id, s.events
FROM claimed AS c
LEFT JOIN workflows_webhooksubscription AS s
    ON s.organisation_id = c.organisation_id AND s.is_active AND c.attempts = 0
ORDER BY c.id, s.id
"""


def _claim_postgresql(*, batch: int, now: datetime, lease_until: datetime) -> tuple[list[OutboxEvent], dict]:
    events: dict[int, OutboxEvent] = {}
    subs: dict[int, dict[int, WebhookSubscription]] = {}
    with connection.cursor() as cur:
        cur.execute(_CLAIM_SQL, [lease_until, now, batch])
        for eid, topic, org_id, post_id, attempts, sub_id, sub_events in cur.fetchall():
            events.setdefault(eid, OutboxEvent(id=eid, topic=topic, organisation_id=org_id, post_id=post_id,
                                               attempts=attempts))
            if sub_id is not None:
                if isinstance(sub_events, str):
                    sub_events = json.loads(sub_events)
                subs.setdefault(org_id, {})[sub_id] = WebhookSubscription(id=sub_id, organisation_id=org_id,
                                                                          events=sub_events or [])
    return list(events.values()), {org: list(by_id.values()) for org, by_id in subs.items()}


def relay_claim(*, batch: int | None = None, now: datetime | None = None) -> list[tuple[int, str]]:
    """Claim and lease up to `batch` due events (SKIP LOCKED); returns [(event_id, topic)],
    webhook deliveries included. Commits before returning: nothing here talks to the broker."""
    now = now or timezone.now()
    batch = batch or settings.OUTBOX_BATCH_SIZE
    lease_until = now + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
    with transaction.atomic():
        if connection.vendor == "postgresql":  # one statement: lease and subscriptions together
            events, subs = _claim_postgresql(batch=batch, now=now, lease_until=lease_until)
            children = _fan_out(events, now=now, lease_until=lease_until, subs=subs)
        else:  # SQLite (the embedded default): the same claim through the ORM
            events = list(
                OutboxEvent.objects.select_for_update(skip_locked=True)
                .filter(dispatched_at__isnull=True, available_at__lte=now)
                .order_by("available_at", "id")
                .only("id", "topic", "organisation_id", "post_id", "attempts")[:batch]
            )
            children = _fan_out(events, now=now, lease_until=lease_until)
            OutboxEvent.objects.filter(id__in=[e.id for e in events]).update(
                available_at=lease_until, attempts=F("attempts") + 1
            )
        if not events:
            return []
    return [(e.id, e.topic) for e in events] + [(c.id, c.topic) for c in children]


#: Hands one claimed event to the workers: `tasks.enqueue_event`, registered at app start
#: (WorkflowsConfig.ready()). Services never import tasks (docs/architecture.md).
_enqueue_fn: Callable[[int, str], None] | None = None


def relay_register_enqueue(fn: Callable[[int, str], None] | None) -> None:
    global _enqueue_fn
    _enqueue_fn = fn


def _enqueue(event_id: int, topic: str) -> None:
    if _enqueue_fn is None:
        raise RuntimeError("no enqueue function registered (WorkflowsConfig.ready() registers tasks.enqueue_event)")
    _enqueue_fn(event_id, topic)


#: Hands several events of one queue to the workers as one task: `tasks.enqueue_events`,
#: registered at app start like `_enqueue_fn`.
_enqueue_many_fn: Callable[[list[int], str], None] | None = None


def relay_register_enqueue_many(fn: Callable[[list[int], str], None] | None) -> None:
    global _enqueue_many_fn
    _enqueue_many_fn = fn


def _enqueue_many(event_ids: list[int], topic: str) -> None:
    """One task for several events of one queue (workflows.tasks.handle_events): publishing
    ones are started, claimed, sent and settled together (delivery.posts_deliver)."""
    if _enqueue_many_fn is None:
        raise RuntimeError("no enqueue function registered (WorkflowsConfig.ready() registers tasks.enqueue_events)")
    _enqueue_many_fn(event_ids, topic)


def _units(claimed: list[tuple[int, str]], *, batched: bool) -> list[tuple[list[int], str]]:
    """What to enqueue: when `batched`, publishing events in chunks of PUBLISH_BATCH_SIZE and
    notifications in chunks of the same size (one task per chunk, so a burst of 50 published
    posts costs the relay one broker call, not 50); webhook deliveries always alone (each may
    wait on a slow subscriber), and everything alone when not `batched`."""
    size = max(1, settings.PUBLISH_BATCH_SIZE)
    units: list[tuple[list[int], str]] = []
    chunks: dict[str, tuple[list[int], str]] = {}
    for event_id, topic in claimed:
        if not batched or topic == Topic.WEBHOOK_DELIVER:
            units.append(([event_id], topic))
            continue
        queue = queue_for(topic)
        ids, first = chunks.get(queue) or ([], topic)
        ids.append(event_id)
        if len(ids) >= size:
            units.append((ids, first))
            chunks.pop(queue, None)
        else:
            chunks[queue] = (ids, first)
    units += chunks.values()
    return units


def relay_outbox(*, batch: int | None = None, now: datetime | None = None, enqueue: Callable[..., Any] | None = None,
                 log_lag: bool = True) -> int:
    """Relay one batch of due events to Celery; returns how many were enqueued.

    Events go out in chunks (one `handle_events` task per PUBLISH_BATCH_SIZE events of a queue;
    a chunk of one is an ordinary `handle_event`); an `enqueue(event_id, topic)` given by the
    caller gets them one by one. When the broker
    refuses, the events not yet enqueued are released (due again in a second) and the run
    stops; nothing is lost. With no broker (embedded default) the tasks run inline. `log_lag`:
    log the outbox lag (one more query) after the run; the commit listener's runs, which follow
    a commit by milliseconds, leave it to beat's runs and to /metrics."""
    now = now or timezone.now()
    claimed = relay_claim(batch=batch, now=now)
    units = _units(claimed, batched=enqueue is None)
    sent = 0
    for i, (event_ids, topic) in enumerate(units):
        try:
            if enqueue is not None:
                enqueue(event_ids[0], topic)
            elif len(event_ids) == 1:
                _enqueue(event_ids[0], topic)
            else:
                _enqueue_many(event_ids, topic)
        except Exception as exc:  # noqa: BLE001 - broker down: keep the rest for the next run
            rest = [eid for ids, _ in units[i:] for eid in ids]
            OutboxEvent.objects.filter(id__in=rest, dispatched_at__isnull=True).update(
                available_at=timezone.now() + timedelta(seconds=1),
                last_error=f"enqueue failed: {exc.__class__.__name__}"[:500],
            )
            log.warning("outbox relay: broker unavailable, %d events kept", len(rest),
                        extra={"error": exc.__class__.__name__, "kept": len(rest)})
            break
        sent += len(event_ids)
    if claimed and log_lag and log.isEnabledFor(logging.INFO):  # the lag costs a query: only when logged
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
    event = OutboxEvent.objects.filter(id=int(event_id)).only("id", "topic", "post_id", "dispatched_at").first()
    if event is None or event.dispatched_at is not None:
        return "skipped"
    if event.topic in topics.PUBLISH:
        from .delivery import posts_deliver

        if event.post_id and posts_deliver(post_ids=[event.post_id], worker=worker).get(event.post_id) == "error":
            return "error"  # could not start: the event stays due and is relayed again
        event_done(event_id=event.id)
        return "published"
    from . import notifications

    return notifications.event_notify(event_id=event.id)


def events_handle(*, event_ids: list[int], worker: str = "") -> dict[str, int]:
    """Do the work of several relayed events (the `handle_events` task); idempotent. The
    publishing ones run together through `delivery.posts_deliver` and are marked dispatched in
    one UPDATE (an event whose post could not start stays due and is relayed again); any other
    topic runs alone, as in event_handle. Returns counts (for logs and tests)."""
    events = list(OutboxEvent.objects.filter(id__in=event_ids, dispatched_at__isnull=True)
                  .only("id", "topic", "post_id"))
    publishing = [e for e in events if e.topic in topics.PUBLISH]
    counts = {"published": 0, "notified": 0, "skipped": len(event_ids) - len(events)}
    if publishing:
        from .delivery import posts_deliver

        states = posts_deliver(post_ids=[e.post_id for e in publishing if e.post_id], worker=worker)
        done = [e.id for e in publishing if e.post_id is None or states.get(e.post_id) != "error"]
        OutboxEvent.objects.filter(id__in=done, dispatched_at__isnull=True).update(
            dispatched_at=timezone.now(), last_error="")
        counts["published"] = len(done)
    for e in events:
        if e.topic not in topics.PUBLISH:
            try:
                event_handle(event_id=e.id, worker=worker)
            except Exception:  # noqa: BLE001 - this one stays due (relayed again); the others go on
                log.exception("outbox event %s (%s) failed", e.id, e.topic)
                continue
            counts["notified"] += 1
    return counts


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
    row = OutboxEvent.objects.filter(dispatched_at__isnull=True, available_at__lte=now).aggregate(
        oldest=Min("available_at"), pending=Count("id"))  # one query: it runs after every relay run at INFO
    oldest = row["oldest"]
    lag = max(0.0, (now - oldest).total_seconds()) if oldest else 0.0
    return {"lag_seconds": round(lag, 1), "pending": row["pending"]}


def outbox_check() -> dict:
    """/readyz detail: the relay's lag. Not ok only above OUTBOX_LAG_ALERT_SECONDS (if set)."""
    try:
        info = outbox_lag()
    except Exception as exc:  # noqa: BLE001 - the database check reports the cause
        return {"ok": False, "error": exc.__class__.__name__}
    limit = settings.OUTBOX_LAG_ALERT_SECONDS
    return {"ok": not limit or info["lag_seconds"] <= limit, **info}
