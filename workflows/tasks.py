"""Celery tasks: thin and idempotent. They take ids, call one service, and are safe to run
twice (Celery on Redis is at-least-once). Names are stable (see config/celery.py)."""
from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from config import celery as names

from .services import delivery, engagement, idempotency, listening, notifications, relay

log = logging.getLogger("parley.tasks")


def _worker(task) -> str:
    return f"{task.request.hostname or 'local'}:{task.request.id or '-'}"


def _dispatch(task, args: list, **options) -> None:
    """Hand `task` to the workers; with no broker (embedded mode: beat's jobs run in the web
    process, workflows/embedded.py) run it here. Decided from the settings on every call, as the
    relay does, not from the Celery app's configuration frozen when it was first used."""
    from django.conf import settings

    if not settings.CELERY_BROKER_URL:
        task.apply(args=args)
    else:
        task.apply_async(args=args, **options)


@shared_task(name=names.RELAY, ignore_result=True)
def relay_outbox() -> int:
    """Beat, every OUTBOX_RELAY_INTERVAL: relay due outbox events to their tasks."""
    return relay.relay_outbox()


@shared_task(name=names.HANDLE_EVENT, bind=True, ignore_result=True, acks_late=True)
def handle_event(self, event_id: int) -> str:
    """Publish, email or deliver one relayed event (routed to `publish` or `notify`)."""
    return relay.event_handle(event_id=int(event_id), worker=_worker(self))


def enqueue_event(event_id: int, topic: str) -> None:
    """The relay's enqueue (registered by WorkflowsConfig.ready()): one task per event."""
    if not settings.CELERY_BROKER_URL:
        # Embedded default: no broker, so the task runs here. Decided on every call from the
        # settings, not from the Celery app's configuration frozen when it was first used.
        handle_event.apply(args=[event_id])
        return
    handle_event.apply_async(
        args=[event_id], queue=relay.queue_for(topic), retry=True,
        # Fail fast when Redis is down: the event stays in PostgreSQL and is relayed later.
        retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2},
    )


def enqueue_events(event_ids: list[int], topic: str) -> None:
    """The relay's enqueue for a chunk of events of one queue (registered by
    WorkflowsConfig.ready()): one `handle_events` task."""
    if not settings.CELERY_BROKER_URL:
        handle_events.apply(args=[event_ids])  # embedded default: no broker, run here
        return
    handle_events.apply_async(
        args=[event_ids], queue=relay.queue_for(topic), retry=True,
        retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2},
    )


def enqueue_engagement(engagement_id: int) -> None:
    """The engagement service's enqueue (registered by WorkflowsConfig.ready())."""
    if not settings.CELERY_BROKER_URL:
        engage.apply(args=[engagement_id])  # embedded default: no broker, run here
        return
    try:
        engage.apply_async(args=[engagement_id], retry=True, retry_policy={"max_retries": 1, "interval_start": 0})
    except Exception as exc:  # noqa: BLE001 - broker down: the sweep sends it later
        log.warning("engagement %s: enqueue failed (%s); the sweep will send it", engagement_id, exc.__class__.__name__)
@shared_task(name=names.HANDLE_EVENTS, bind=True, ignore_result=True, acks_late=True)
def handle_events(self, event_ids: list[int]) -> dict:
    """Publish several relayed events together (claims in one UPDATE, one HTTP session per
    channel, outcomes and settling batched: see delivery.posts_deliver)."""
    return relay.events_handle(event_ids=[int(e) for e in event_ids], worker=_worker(self))


@shared_task(name=names.DELIVER_POST, bind=True, ignore_result=True, acks_late=True)
def deliver_post(self, post_id: int) -> str | None:
    """Send every due publication of one post (claims make duplicates harmless)."""
    return delivery.post_deliver(post_id=int(post_id), worker=_worker(self))


@shared_task(name=names.PUBLICATIONS_SWEEP, ignore_result=True)
def publications_sweep() -> list[int]:
    """Beat: reconcile abandoned sends and hand due retries to the publish queue."""
    post_ids = delivery.publications_sweep()
    for post_id in post_ids:
        _dispatch(deliver_post, [post_id], queue=names.PUBLISH_QUEUE)
    return post_ids


@shared_task(name=names.PUBLISH_DUE, ignore_result=True)
def publish_due_posts() -> list[int]:
    """Beat: scheduled posts whose time has come start publishing (via the outbox)."""
    return delivery.scheduled_publish_due()


@shared_task(name=names.SLA_SWEEP, ignore_result=True)
def sla_sweep() -> dict:
    """Beat: SLA reminders before a step is due, escalations once overdue (each once)."""
    return notifications.sla_sweep()


@shared_task(name=names.SPOT_CHECKS, ignore_result=True)
def spot_check_sample() -> list[int]:
    """Beat: sample published conversation replies into the spot-check queue."""
    return notifications.spot_check_sample()


@shared_task(name=names.OUTBOX_PRUNE, ignore_result=True)
def outbox_prune() -> int:
    """Beat, hourly: delete outbox events dispatched more than OUTBOX_RETENTION_DAYS ago, and
    Idempotency-Key records past their 24 h window."""
    idempotency.idempotency_purge_expired()
    return relay.outbox_prune()


@shared_task(name=names.AUDIT_CHECKPOINT, ignore_result=True)
def audit_checkpoint() -> dict:
    """Beat, every AUDIT_CHECKPOINT_INTERVAL: sign the end of every audit chain that grew."""
    from .services.audit import audit_checkpoint as run

    return run()
# --- listening and engagement (issue 10) ---


@shared_task(name=names.LISTEN_FANOUT, ignore_result=True)
def listen_fanout() -> int:
    """Beat: one listen task per channel due a poll, spread over the workers."""
    due = listening.channels_due_for_listening()
    for channel_id in due:
        _dispatch(listen_channel, [channel_id], expires=max(10.0, settings.LISTEN_INTERVAL))
    return len(due)


@shared_task(name=names.LISTEN_CHANNEL, bind=True, ignore_result=True, acks_late=True)
def listen_channel(self, channel_id: int) -> dict | None:
    """Poll one channel (a lease makes a duplicate task do nothing)."""
    return listening.channel_listen(channel_id=int(channel_id), worker=_worker(self), only_if_due=True)


@shared_task(name=names.ENGAGE, bind=True, ignore_result=True, acks_late=True)
def engage(self, engagement_id: int) -> str | None:
    """Send one like/boost (claimed by a conditional UPDATE: duplicates are harmless)."""
    return engagement.engagement_send(engagement_id=int(engagement_id), worker=_worker(self))


@shared_task(name=names.ENGAGEMENTS_SWEEP, ignore_result=True)
def engagements_sweep() -> list[int]:
    """Beat: engagements due (retries, abandoned sends, lost tasks) go back to the workers."""
    ids = engagement.engagements_sweep()
    for eid in ids:
        _dispatch(engage, [eid])
    return ids


# --- access-to-information exports (issue 13) ---


def _export_time_limit() -> int:
    from django.conf import settings

    return int(getattr(settings, "EXPORT_TASK_TIME_LIMIT", 1800))


@shared_task(name=names.ATIP_EXPORT_BUILD, ignore_result=True, acks_late=True,
             time_limit=_export_time_limit(), soft_time_limit=max(10, _export_time_limit() - 30))
def atip_export_build(export_id: int) -> str:
    """Build one export's ZIP (claimed by a conditional UPDATE: a duplicate does nothing)."""
    from .services import atip

    return atip.atip_export_build(export_id=int(export_id))


def enqueue_atip_export(export_id: int) -> None:
    """The ATIP service's enqueue (registered by WorkflowsConfig.ready())."""
    atip_export_build.delay(export_id)


@shared_task(name=names.ATIP_EXPORTS_SWEEP, ignore_result=True)
def atip_exports_sweep() -> dict:
    """Beat: delete expired export files; hand lost builds back to the workers."""
    from .services import atip

    done = atip.atip_exports_sweep()
    for export_id in done["requeued"]:
        _dispatch(atip_export_build, [export_id])
    return done
