"""Embedded mode settles everything: with no broker (the `make run` default, tasks run
in-process), a small scheduler thread in the web process does what Celery beat does in
production — the publication sweep (due retries, abandoned sends, settling), scheduled posts due
now, the outbox relay (events whose first in-process run failed) and the access-to-information
export sweep (expired files, builds that never ran).

Why a thread started by the first request, not at import or in `AppConfig.ready()`: only the
process that serves requests runs it (not `migrate`, not runserver's autoreloader parent, not a
gunicorn master before it forks), it needs no extra command, and it is one per process. Every
step is idempotent and claims rows with conditional UPDATEs, so two processes (or a person's
request running the same work inline) never send twice. Opportunistic sweeps on requests were
rejected: a retry due at 3 a.m. would wait for the next visitor.
"""
from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import close_old_connections, connection

log = logging.getLogger("parley.embedded")

_lock = threading.Lock()
_thread: threading.Thread | None = None
_stop = threading.Event()


def enabled() -> bool:
    return not settings.CELERY_BROKER_URL and bool(getattr(settings, "EMBEDDED_SCHEDULER", True))


def tick() -> dict:
    """One round of the embedded beat. Returns what it did (for tests and logs)."""
    from .services import atip, delivery, relay

    done = {"delivered": [], "scheduled": [], "relayed": 0, "exports": []}
    done["scheduled"] = delivery.scheduled_publish_due()
    done["relayed"] = relay.relay_outbox()
    for post_id in delivery.publications_sweep():
        delivery.post_deliver(post_id=post_id, worker="embedded")
        done["delivered"].append(post_id)
    # Access-to-information exports: expired files deleted; an export whose in-process build
    # never ran (or died with its process) is built here.
    for export_id in atip.atip_exports_sweep()["requeued"]:
        atip.atip_export_build(export_id=export_id)
        done["exports"].append(export_id)
    return done


def _loop(interval: float) -> None:
    while not _stop.wait(interval):
        if not enabled():  # a broker was configured meanwhile: beat's job now
            return
        try:
            close_old_connections()
            tick()
        except Exception:  # noqa: BLE001 - keep the scheduler alive; the next round retries
            log.exception("embedded scheduler round failed")
        finally:
            connection.close()


def ensure_started() -> bool:
    """Start the scheduler thread once per process (embedded mode only). True if running."""
    global _thread
    if not enabled():
        return False
    if _thread is not None and _thread.is_alive():
        return True
    with _lock:
        if _thread is None or not _thread.is_alive():
            _stop.clear()
            interval = float(getattr(settings, "PUBLISH_SWEEP_INTERVAL", 5.0))
            _thread = threading.Thread(target=_loop, args=(interval,), name="parley-embedded-beat", daemon=True)
            _thread.start()
            log.info("embedded scheduler started (every %s s)", interval)
    return True


def stop(timeout: float = 5.0) -> None:
    global _thread
    _stop.set()
    if _thread is not None:
        _thread.join(timeout=timeout)
    _thread = None


class EmbeddedSchedulerMiddleware:
    """Starts the embedded scheduler in the process that serves requests."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if _thread is None or not _thread.is_alive():
            ensure_started()
        return self.get_response(request)
