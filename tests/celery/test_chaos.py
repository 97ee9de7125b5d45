"""Chaos: posts published while the worker is SIGKILLed again and again and Redis (our own,
without persistence) restarts. Every publication reaches the platform exactly once.

The waits are derived from the throughput measured during the run, not fixed: a wait fails only
when nothing moved for longer than the run's own pace explains (see `wait_progress`)."""
from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter

import pytest

from workflows.constants import PostState
from workflows.constants import PublicationStatus as PS
from workflows.models import OutboxEvent, Post, Publication, WebhookSubscription

from . import flows
from .conftest import wait_for


def wait_progress(count, target: int, *, what: str, min_stall: float = 60.0, detail=lambda: "") -> dict:
    """Wait until count() >= target. Fails only when count() has not moved for longer than the
    stall allowance: the larger of `min_stall`, three claim timeouts (an abandoned send is
    reconciled after one) and 30 items' worth of the throughput measured so far."""
    from django.conf import settings

    start, first = time.monotonic(), count()
    last, moved = first, start
    rate = 0.0
    while last < target:
        time.sleep(0.5)
        now, n = time.monotonic(), count()
        if n > last:
            last, moved = n, now
        rate = (last - first) / max(now - start, 1e-6)
        stall = max(min_stall, 3 * settings.PUBLISH_CLAIM_TIMEOUT, 30 / rate if rate else 0)
        if now - moved > stall:
            raise AssertionError(f"{what}: stuck at {last}/{target} for {stall:.0f} s "
                                 f"(measured throughput {rate:.2f}/s)\n{detail()}")
    return {"seconds": round(time.monotonic() - start, 1), "per_second": round(rate, 2)}


class Killer:
    """SIGKILLs the supervised worker every few seconds once it is up (preferably while the
    platform holds a request, so the outcome is ambiguous), until stopped."""

    def __init__(self, worker, platform, rng, every: tuple[float, float]):
        self.worker, self.platform, self.rng, self.every = worker, platform, rng, every
        self.kills = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def loop(self):
        while not self.stop.wait(self.rng.uniform(*self.every)):
            w = self.worker
            if w.proc is None or w.proc.poll() is not None or b" ready." not in w.log_path.read_bytes():
                continue  # still starting: let it come up first
            seen = len(self.platform.requests)
            deadline = time.monotonic() + 0.5
            while len(self.platform.requests) == seen and time.monotonic() < deadline:
                time.sleep(0.01)
            w.kill()
            self.kills += 1

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=10)


def run_chaos(*, platform, demo, start_worker, private_redis, posts: int, kills: int, seed: int = 7,
              kill_every: float = 0.0, redis_restarts: int = 1) -> dict:
    """Index-based kills (`kills` of them, bounded test), or, with `kill_every`, a SIGKILL every
    kill_every..2×kill_every seconds while the posts are created and for the first half of the
    drain; Redis restarted `redis_restarts` times, evenly spread over the creation."""
    rng = random.Random(seed)
    started = time.monotonic()
    WebhookSubscription.objects.create(organisation=demo.dana.organisation, url=f"{platform.url}/hooks",
                                       secret="hook-secret", events=["post.published"])
    platform.delay = 0.15  # widen the window in which a kill leaves a send ambiguous
    worker = start_worker(broker_url=private_redis.url, supervised=True)
    kill_at = set() if kill_every else set(rng.sample(range(1, posts), min(kills, posts - 1)))
    restart_at = {posts * (k + 1) // (redis_restarts + 1) for k in range(redis_restarts)}
    killer = Killer(worker, platform, rng, (kill_every, 2 * kill_every)) if kill_every else None
    if killer:
        killer.__enter__()
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
        if i in restart_at:
            private_redis.restart()  # queued and unacknowledged messages are gone
    created_in = time.monotonic() - started
    n_pubs = Publication.objects.filter(post_id__in=ids).count()

    def sent():
        return Publication.objects.filter(post_id__in=ids, status=PS.SENT).count()

    def states():
        return (f"posts: {Counter(Post.objects.filter(id__in=ids).values_list('state', flat=True))}; "
                f"publications: {Counter(Publication.objects.filter(post_id__in=ids).values_list('status', flat=True))}"
                f"\n{worker.log()}")

    if killer:  # keep killing for the first half of the drain, then let it finish
        wait_progress(sent, (sent() + n_pubs) // 2, what="half the remaining sends", detail=states)
        killer.__exit__()
    drain = wait_progress(sent, n_pubs, what="every publication to be sent", detail=states)
    wait_progress(lambda: Post.objects.filter(id__in=ids, state=PostState.PUBLISHED).count(), len(ids),
                  what="every post to be published", detail=states)
    outbox = wait_progress(lambda: -OutboxEvent.objects.filter(dispatched_at__isnull=True).count(), 0,
                           what="the outbox to drain",
                           detail=lambda: str(Counter(OutboxEvent.objects.filter(dispatched_at__isnull=True)
                                                      .values_list("topic", flat=True))))
    keys = list(Publication.objects.filter(post_id__in=ids).values_list("idempotency_key", flat=True))
    counts = platform.counts_by_key()
    hooks = Counter(r["headers"]["X-Parley-Delivery"] for r in platform.posts("/hooks"))
    report = {
        "posts": len(ids), "publications": len(keys), "kills": killer.kills if killer else len(kill_at),
        "redis_restarts": len(restart_at), "worker_restarts": worker.restarts,
        "created_in_s": round(created_in, 1), "total_s": round(time.monotonic() - started, 1),
        "final_drain": drain, "outbox_drain": outbox,
        "requests": sum(counts.values()), "keys_seen": len(counts),
        "duplicates": {k: n for k, n in counts.items() if n > 1},
        "statuses": dict(Counter(Publication.objects.filter(post_id__in=ids).values_list("status", flat=True))),
        "attempts_over_1": Publication.objects.filter(post_id__in=ids, attempts__gt=1).count(),
        "reconciled_by_lookup": Publication.objects.filter(post_id__in=ids, last_error__startswith="reconciled").count(),
        "webhooks": len(hooks), "webhook_redeliveries": sum(n - 1 for n in hooks.values()),
    }
    print(f"\nchaos: {report}")
    report["lost"] = len(set(keys) - set(counts))
    report["duplicated"] = len(report["duplicates"])
    print(f"chaos summary: {len(keys)} publications, delivered {len(set(keys) & set(counts))}, "
          f"duplicates {report['duplicated']}, lost {report['lost']}")
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
@pytest.mark.timeout(7200)
def test_chaos_soak(webhook_channels, platform, demo, start_worker, private_redis):
    """`make soak`: SOAK_POSTS posts (default 1,000 publications' worth: 750 posts, a third of them
    bilingual), the worker SIGKILLed every SOAK_KILL_EVERY..2× seconds, Redis restarted
    SOAK_REDIS_RESTARTS times. SOAK_KILLS (index-based kills) is honoured when SOAK_KILL_EVERY=0."""
    run_chaos(platform=platform, demo=demo, start_worker=start_worker, private_redis=private_redis,
              posts=int(os.environ.get("SOAK_POSTS", "750")), kills=int(os.environ.get("SOAK_KILLS", "50")),
              seed=int(os.environ.get("SOAK_SEED", "11")),
              kill_every=float(os.environ.get("SOAK_KILL_EVERY", "4")),
              redis_restarts=int(os.environ.get("SOAK_REDIS_RESTARTS", "2")))
