"""Chaos: posts published while the worker is SIGKILLed again and again and Redis (our own,
without persistence) restarts. Every publication reaches the platform exactly once."""
from __future__ import annotations

import os
import random
import time
from collections import Counter

import pytest

from workflows.constants import PostState
from workflows.constants import PublicationStatus as PS
from workflows.models import OutboxEvent, Post, Publication, WebhookSubscription

from . import flows
from .conftest import wait_for


def run_chaos(*, platform, demo, start_worker, private_redis, posts: int, kills: int, seed: int = 7) -> dict:
    rng = random.Random(seed)
    WebhookSubscription.objects.create(organisation=demo.dana.organisation, url=f"{platform.url}/hooks",
                                       secret="hook-secret", events=["post.published"])
    platform.delay = 0.15  # widen the window in which a kill leaves a send ambiguous
    worker = start_worker(broker_url=private_redis.url, supervised=True)
    kill_at = set(rng.sample(range(1, posts), min(kills, posts - 1)))
    redis_restart_at = posts // 2
    ids = []
    for i in range(posts):
        if i % 3 == 2:
            ids.append(flows.official(demo, en=f"Notice {i}: the office is closed on Monday.",
                                      fr=f"Avis {i} : le bureau est fermé lundi.").id)
        else:
            ids.append(flows.reply(demo, text=f"Thank you for question {i}: the answer is on our site.").id)
        if i in kill_at:
            # Kill while the platform holds a request (received, not yet answered) when we can:
            # the outcome is then ambiguous and must be reconciled, not resent.
            seen = len(platform.requests)
            deadline = time.monotonic() + rng.uniform(0.2, 1.5)
            while len(platform.requests) == seen and time.monotonic() < deadline:
                time.sleep(0.01)
            worker.kill()  # SIGKILL: pool, beat and all; the supervisor starts a new one
            wait_for(lambda: worker.proc.poll() is None, timeout=10, what="the supervisor to restart it")
        if i == redis_restart_at:
            private_redis.restart()  # queued and unacknowledged messages are gone
    wait_for(lambda: Post.objects.filter(id__in=ids, state=PostState.PUBLISHED).count() == len(ids),
             timeout=120, interval=0.5,
             what=f"all {len(ids)} posts to be published; states: "
                  f"{Counter(Post.objects.filter(id__in=ids).values_list('state', flat=True))}\n{worker.log()}")
    wait_for(lambda: not OutboxEvent.objects.filter(dispatched_at__isnull=True).exists(), timeout=60,
             what="the outbox to drain")
    keys = list(Publication.objects.filter(post_id__in=ids).values_list("idempotency_key", flat=True))
    counts = platform.counts_by_key()
    hooks = Counter(r["headers"]["X-Parley-Delivery"] for r in platform.posts("/hooks"))
    report = {
        "posts": len(ids), "publications": len(keys), "kills": len(kill_at), "worker_restarts": worker.restarts,
        "requests": sum(counts.values()), "keys_seen": len(counts),
        "duplicates": {k: n for k, n in counts.items() if n > 1},
        "statuses": dict(Counter(Publication.objects.filter(post_id__in=ids).values_list("status", flat=True))),
        "attempts_over_1": Publication.objects.filter(post_id__in=ids, attempts__gt=1).count(),
        "reconciled_by_lookup": Publication.objects.filter(post_id__in=ids, last_error__startswith="reconciled").count(),
        "webhooks": len(hooks), "webhook_redeliveries": sum(n - 1 for n in hooks.values()),
    }
    print(f"\nchaos: {report}")
    assert report["statuses"] == {PS.SENT: len(keys)}
    assert counts == Counter({k: 1 for k in keys}), report  # each publication exactly once, none lost
    assert len(hooks) == len(ids)  # every post.published webhook delivered (at least once)
    return report


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_chaos_bounded(webhook_channels, platform, demo, start_worker, private_redis):
    run_chaos(platform=platform, demo=demo, start_worker=start_worker, private_redis=private_redis,
              posts=8, kills=3)


@pytest.mark.soak
@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(1800)
def test_chaos_soak(webhook_channels, platform, demo, start_worker, private_redis):
    run_chaos(platform=platform, demo=demo, start_worker=start_worker, private_redis=private_redis,
              posts=int(os.environ.get("SOAK_POSTS", "60")), kills=int(os.environ.get("SOAK_KILLS", "20")),
              seed=int(os.environ.get("SOAK_SEED", "11")))
