"""Embedded mode settles everything: with no broker (the `make run` default, tasks run
in-process), a small scheduler thread in the web process runs what Celery beat runs in
production — the very same jobs, read from the one definition in `config.celery.periodic_jobs`
(the publication sweep with its retries and abandoned sends, scheduled posts due now, the
outbox relay, listening, the engagement sweep, SLA reminders, spot checks, pruning, audit
checkpoints), each on its own interval. A job runs its Celery task's own code with
`task.apply()`; the tasks hand further work on with `tasks._dispatch`, which runs it here too
when there is no broker. tests/celery/test_embedded_jobs.py checks the two sets are equal.

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
import time

from django.conf import settings
from django.db import close_old_connections, connection

log = logging.getLogger("parley.embedded")

_lock = threading.Lock()
_thread: threading.Thread | None = None
_stop = threading.Event()
#: Beat entries that the embedded scheduler does not run, with the reason. None today: keep
#: it that way unless a job truly cannot run in a web process (the test reads this set).
NOT_EMBEDDED: dict[str, str] = {}
#: job name -> monotonic time of its last run in this process.
_last_run: dict[str, float] = {}
_run_lock = threading.Lock()


def enabled() -> bool:
    return not settings.CELERY_BROKER_URL and bool(getattr(settings, "EMBEDDED_SCHEDULER", True))


def jobs() -> dict[str, dict]:
    """The periodic jobs embedded mode runs: beat's schedule, minus NOT_EMBEDDED."""
    from config.celery import periodic_jobs

    return {name: job for name, job in periodic_jobs(settings).items() if name not in NOT_EMBEDDED}


def _task(name: str):
    from config.celery import app
    from workflows import tasks  # noqa: F401 - registers the tasks on the app

    return app.tasks[name]


def tick(*, force: bool = False) -> dict:
    """One round of the embedded beat: every job whose interval has passed since its last run
    here (all of them with `force`, and all on the first round). Returns {job name: result}
    (an exception's text for a job that failed: the others still ran)."""
    done: dict = {}
    with _run_lock:  # one round at a time in a process (the thread, or a test calling it)
        for name, job in jobs().items():
            now = time.monotonic()
            last = _last_run.get(name)
            if not force and last is not None and now - last < float(job["schedule"]):
                continue
            _last_run[name] = now
            try:
                done[name] = _task(job["task"]).apply().get(propagate=True)
            except Exception as exc:  # noqa: BLE001 - one job's failure must not stop the others
                log.exception("embedded job %s failed", name)
                done[name] = f"failed: {exc}"
    return done


def granularity() -> float:
    """How often the thread wakes: the shortest job interval (at least 0.1 s)."""
    return max(0.1, min(float(job["schedule"]) for job in jobs().values()))


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
            interval = granularity()
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
    _last_run.clear()


class EmbeddedSchedulerMiddleware:
    """Starts the embedded scheduler in the process that serves requests."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if _thread is None or not _thread.is_alive():
            ensure_started()
        return self.get_response(request)
