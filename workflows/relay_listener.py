"""Wake the outbox relay when a transaction that wrote outbox rows commits.

A trigger on the outbox table (migration 0003) sends `NOTIFY parley_outbox`, which PostgreSQL
delivers at commit and drops on rollback. A listener — a thread in each Celery worker, started
by config/celery.py, or `manage.py relay_outbox --listen` — holds one connection with
`LISTEN parley_outbox` and runs the ordinary relay (SELECT … FOR UPDATE SKIP LOCKED) on every
wake. Several listeners never take the same row; a lost NOTIFY (listener restarting, connection
dropped) only means the beat relay picks the event up on its next tick, as before. When Redis is
down the relay keeps the events in PostgreSQL (relay_outbox releases them) exactly as the beat
relay does: nothing here changes the outage guarantees.

Why NOTIFY and not an on-commit `.delay()` from the request: the request path still never talks
to Redis (a Redis outage costs requests nothing, not even a connect timeout), the wake is sent by
PostgreSQL itself only for committed rows (no extra statement in the writer's transaction), and
the relay runs next to the broker client that is already configured for the worker.
"""
from __future__ import annotations

import contextlib
import logging
import threading

from django.conf import settings
from django.db import close_old_connections, connection

log = logging.getLogger("parley.relay")

CHANNEL = "parley_outbox"


def listen_supported() -> bool:
    # A vendor fork: LISTEN/NOTIFY is PostgreSQL's; elsewhere the relay runs after each commit
    # (outbox.outbox_register_relay) and the beat's sweep.
    return bool(getattr(settings, "OUTBOX_LISTEN", True)) and connection.vendor == "postgresql"


def _connect():
    import psycopg

    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("server_side_binding", None)
    params.pop("prepare_threshold", None)
    conn = psycopg.connect(**params, autocommit=True)
    conn.execute(f"LISTEN {CHANNEL}")
    return conn


def _relay() -> int:
    """One relay run per wake; more only while runs come back full (a burst). Not
    relay_until_empty: its closing empty claim would cost every wake a second transaction."""
    from .services.relay import relay_outbox

    total = 0
    try:
        while True:
            n = relay_outbox(log_lag=False)  # lag ≈ 0 here; beat's runs and /metrics report it
            total += n
            if n < settings.OUTBOX_BATCH_SIZE:
                return total
    finally:
        close_old_connections()


def listen_forever(stop: threading.Event, *, timeout: float | None = None, on_wake=None) -> None:
    """Relay on every NOTIFY until `stop` is set. Reconnects after an error (with a pause);
    relays once after each (re)connect so nothing written while it was away waits for beat."""
    timeout = timeout if timeout is not None else settings.OUTBOX_LISTEN_TIMEOUT
    relay = on_wake or _relay
    pause = 0.5
    while not stop.is_set():
        conn = None
        try:
            conn = _connect()
            relay()
            pause = 0.5
            while not stop.is_set():
                woke = False
                # notifies() returns after `timeout` or at the first notification; drain the
                # rest without waiting so one relay run serves a burst of commits.
                for _ in conn.notifies(timeout=timeout, stop_after=1):
                    woke = True
                if woke:
                    for _ in conn.notifies(timeout=0):
                        pass
                    relay()
        except Exception as exc:  # noqa: BLE001 - keep listening; beat covers the gap
            log.warning("outbox listener: %s, reconnecting", exc.__class__.__name__,
                        extra={"error": exc.__class__.__name__})
            stop.wait(pause)
            pause = min(pause * 2, 10.0)
        finally:
            if conn is not None:
                with contextlib.suppress(Exception):
                    conn.close()
            close_old_connections()


class ListenerThread:
    """The listener as a daemon thread (one per Celery worker process)."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.thread = threading.Thread(target=listen_forever, args=(self.stop,), name="outbox-listener",
                                       daemon=True)

    def start(self) -> ListenerThread:
        self.thread.start()
        return self

    def close(self) -> None:
        self.stop.set()
