"""`make bench`: outbox relay throughput, measured against baselines taken in the same run.

1. Relay in batches (one SKIP LOCKED claim per OUTBOX_BATCH_SIZE events) vs one event per
   transaction (batch=1), with a no-op enqueue: what PostgreSQL costs per relayed event.
2. Enqueueing to the real Redis (REDIS_URL) vs the no-op: what the broker adds per event.
Runs in a throwaway test database (created and dropped here); prints numbers, asserts nothing.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

N = int(os.environ.get("BENCH_EVENTS", "3000"))


def make_events(n: int) -> None:
    from workflows.models import OutboxEvent

    OutboxEvent.objects.bulk_create([OutboxEvent(topic="bench.event", payload={"i": i}) for i in range(n)], batch_size=1000)


def timed_relay(*, batch: int, enqueue) -> float:
    from workflows.services.relay import relay_outbox

    make_events(N)
    started = time.perf_counter()
    total = 0
    while True:
        n = relay_outbox(batch=batch, enqueue=enqueue)
        if not n:
            break
        total += n
    elapsed = time.perf_counter() - started
    assert total == N, total
    return N / elapsed


def redis_enqueue():
    from config.celery import app

    def enqueue(event_id: int, topic: str) -> None:
        app.send_task("parley.bench_noop", args=[event_id], queue="parley-bench")

    return enqueue


def main() -> None:
    # Its own database name: never clobber the test suite's test_<name> database.
    connection.settings_dict.setdefault("TEST", {})["NAME"] = f"bench_{connection.settings_dict['NAME']}"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        def noop(event_id, topic):
            return None

        batched = timed_relay(batch=settings.OUTBOX_BATCH_SIZE, enqueue=noop)
        single = timed_relay(batch=1, enqueue=noop)
        print(f"relay, no-op enqueue, batch={settings.OUTBOX_BATCH_SIZE}: {batched:,.0f} events/s")
        print(f"relay, no-op enqueue, batch=1 (baseline):   {single:,.0f} events/s")
        print(f"  batching speed-up: x{batched / single:.1f}")
        if settings.CELERY_BROKER_URL:
            import redis

            to_redis = timed_relay(batch=settings.OUTBOX_BATCH_SIZE, enqueue=redis_enqueue())
            redis.Redis.from_url(settings.CELERY_BROKER_URL).delete("parley-bench")
            print(f"relay, enqueue to Redis, batch={settings.OUTBOX_BATCH_SIZE}: {to_redis:,.0f} events/s")
            print(f"  broker cost: x{batched / to_redis:.1f} slower than the no-op baseline")
        else:
            print("no broker configured (REDIS_URL unset): Redis enqueue not measured")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
