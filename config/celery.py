"""The Celery app. Tasks live in workflows/tasks.py; the design is in docs/publishing.md.

Celery on Redis is at-least-once: every task here is idempotent (it takes ids, re-reads state
under a lock or a conditional UPDATE, and does nothing when there is nothing left to do), which is
what makes acks_late safe. Periodic work is driven by beat and by rows in PostgreSQL, never by
long broker countdowns (an ETA beyond the visibility timeout is redelivered again and again).
"""
from __future__ import annotations

import os

from celery import Celery
from celery.signals import (
    task_postrun,
    task_prerun,
    worker_init,
    worker_process_init,
    worker_ready,
    worker_shutdown,
)
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("parley")
app.config_from_object("django.conf:settings", namespace="CELERY")

#: Stable task names: queued messages survive a refactor of the Python module.
RELAY = "parley.relay_outbox"
HANDLE_EVENT = "parley.handle_event"
HANDLE_EVENTS = "parley.handle_events"
DELIVER_POST = "parley.deliver_post"
PUBLICATIONS_SWEEP = "parley.publications_sweep"
PUBLISH_DUE = "parley.publish_due_posts"
SLA_SWEEP = "parley.sla_sweep"
SPOT_CHECKS = "parley.spot_check_sample"
OUTBOX_PRUNE = "parley.outbox_prune"
AUDIT_CHECKPOINT = "parley.audit_checkpoint"
# --- listening and engagement (issue 10) ---
LISTEN_FANOUT = "parley.listen_fanout"
LISTEN_CHANNEL = "parley.listen_channel"
ENGAGE = "parley.engage"
ENGAGEMENTS_SWEEP = "parley.engagements_sweep"
# --- access-to-information exports (issue 13) ---
ATIP_EXPORT_BUILD = "parley.atip_export_build"
ATIP_EXPORTS_SWEEP = "parley.atip_exports_sweep"

PUBLISH_QUEUE = "publish"
NOTIFY_QUEUE = "notify"
DEFAULT_QUEUE = "celery"


def periodic_jobs(settings) -> dict[str, dict]:
    """The periodic work, defined once: Celery beat's schedule in production, and the jobs the
    embedded scheduler (workflows/embedded.py) runs in-process when there is no broker, so the
    two cannot drift (tests/celery/test_embedded_jobs.py checks). Name -> {"task", "schedule"
    (seconds), "options"}."""
    relay_every = float(getattr(settings, "OUTBOX_RELAY_INTERVAL", 2.0))
    sweep_every = float(getattr(settings, "PUBLISH_SWEEP_INTERVAL", 5.0))
    listen_every = float(getattr(settings, "LISTEN_FANOUT_INTERVAL", 15.0))
    checkpoint_every = float(getattr(settings, "AUDIT_CHECKPOINT_INTERVAL", 300.0))
    export_every = float(getattr(settings, "EXPORT_SWEEP_INTERVAL", 300.0))
    return {
        "relay-outbox": {
            "task": RELAY, "schedule": relay_every,
            "options": {"expires": max(5.0, relay_every * 5)},
        },
        "publications-sweep": {
            "task": PUBLICATIONS_SWEEP, "schedule": sweep_every,
            "options": {"expires": max(10.0, sweep_every * 5)},
        },
        "publish-due-posts": {
            "task": PUBLISH_DUE, "schedule": sweep_every,
            "options": {"expires": max(10.0, sweep_every * 5)},
        },
        "sla-sweep": {"task": SLA_SWEEP, "schedule": 60.0, "options": {"expires": 120}},
        "spot-check-sample": {"task": SPOT_CHECKS, "schedule": 300.0, "options": {"expires": 600}},
        "outbox-prune": {"task": OUTBOX_PRUNE, "schedule": 3600.0, "options": {"expires": 3600}},
        "audit-checkpoint": {
            "task": AUDIT_CHECKPOINT, "schedule": checkpoint_every, "options": {"expires": checkpoint_every},
        },
        # --- listening and engagement (issue 10): one listen task per due channel, fanned
        # out across the workers; engagements due again (retries, lost tasks).
        "listen-fanout": {
            "task": LISTEN_FANOUT, "schedule": listen_every,
            "options": {"expires": max(5.0, listen_every * 2)},
        },
        "engagements-sweep": {
            "task": ENGAGEMENTS_SWEEP, "schedule": sweep_every,
            "options": {"expires": max(10.0, sweep_every * 5)},
        },
        # --- end listening and engagement
        # Access-to-information exports: expired files deleted, lost builds handed back.
        "atip-exports-sweep": {
            "task": ATIP_EXPORTS_SWEEP, "schedule": export_every, "options": {"expires": export_every},
        },
    }


def configure(app: Celery) -> None:
    from django.conf import settings

    app.conf.update(
        task_queues=(Queue(DEFAULT_QUEUE), Queue(NOTIFY_QUEUE), Queue(PUBLISH_QUEUE)),
        task_default_queue=DEFAULT_QUEUE,
        task_routes={
            DELIVER_POST: {"queue": PUBLISH_QUEUE},
            HANDLE_EVENTS: {"queue": PUBLISH_QUEUE},
            # parley.handle_event is routed per event by the relay (publish or notify).
            HANDLE_EVENT: {"queue": NOTIFY_QUEUE},
            ENGAGE: {"queue": PUBLISH_QUEUE},
        },
        # One message at a time per process: a publish task never waits behind a prefetched one
        # (and a SIGKILL loses at most the message being worked on).
        worker_prefetch_multiplier=1,
        # acks_late only because every task is idempotent; a task whose worker died is rejected
        # (requeued) instead of silently acknowledged.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_time_limit=settings.CELERY_TASK_TIME_LIMIT,
        task_soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
        broker_transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        task_serializer="json",
        accept_content=["json"],
        beat_schedule=periodic_jobs(settings),
    )


@app.on_after_configure.connect
def _configure(sender, **kwargs):  # pragma: no cover - wiring
    configure(sender)


_listener = None


@worker_init.connect
def _preload_platform_sdks(sender=None, **kwargs):  # pragma: no cover - wiring (tests/celery)
    """Import the platform SDKs once in the worker's main process, before the pool forks. The
    atproto SDK's thousands of generated models take seconds to import; a pool process's first
    Bluesky task would otherwise pay that inside its time limit (a listen poll hit the soft limit
    on a loaded test machine, and its channel then backed off)."""
    import importlib

    for name in ("atproto", "atproto_client", "mastodon"):
        try:
            importlib.import_module(name)
        except ImportError:  # pragma: no cover - an install without that platform
            pass


@worker_process_init.connect
def _gc_tune(sender=None, **kwargs) -> None:
    """Each worker process, once forked with the tasks loaded: freeze what start-up allocated and
    raise the young generation's threshold, as the web workers do (config/gunicorn.py gc_tune):
    a full collection over the whole heap (tens of ms) no longer lands in a task."""
    from config.gunicorn import gc_tune

    gc_tune(urls=False)


@worker_ready.connect
def _start_outbox_listener(sender=None, **kwargs):  # pragma: no cover - wiring (tests/celery)
    """Every worker listens for `NOTIFY parley_outbox` and relays at once (workflows/relay_listener.py);
    beat's relay-outbox stays as the safety net."""
    global _listener
    from workflows.relay_listener import ListenerThread, listen_supported

    if _listener is None and listen_supported():
        _listener = ListenerThread().start()


@task_prerun.connect
def _task_started(sender=None, task_id=None, **kwargs):  # pragma: no cover - wiring
    from config.prometheus import task_started

    task_started(task_id=task_id)


@task_postrun.connect
def _task_finished(sender=None, task_id=None, task=None, state=None, **kwargs):  # pragma: no cover - wiring
    """Celery task metrics for /prometheus (config/prometheus.py), counted in Redis."""
    from django.conf import settings

    if getattr(settings, "PROMETHEUS_CELERY_METRICS", True):
        from config.prometheus import task_finished

        task_finished(task_id=task_id, task=task, state=state)


@worker_shutdown.connect
def _stop_outbox_listener(sender=None, **kwargs):  # pragma: no cover - wiring
    if _listener is not None:
        _listener.close()


app.autodiscover_tasks()
