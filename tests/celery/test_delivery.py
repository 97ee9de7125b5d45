"""Publishing without a worker: claims, retries, reconciliation, scheduling, settling."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from workflows.constants import PostState
from workflows.constants import PublicationStatus as PS
from workflows.models import OutboxEvent, Post, Publication
from workflows.services import delivery, relay

from . import flows
from .platform import valid_signature

pytestmark = pytest.mark.django_db


def drain(now=None):
    """Run the relay and every task it enqueues, in this process (what a worker would do)."""
    handled = []

    def inline(event_id, topic):
        handled.append((topic, relay.event_handle(event_id=event_id)))

    while relay.relay_outbox(enqueue=inline, now=now):
        pass
    return handled


def test_reply_is_published_once_with_signature(webhook_channels, platform, demo):
    post = flows.reply(demo)
    assert post.state == PostState.PUBLISHING  # started in the submit request; a worker sends it
    drain()
    post.refresh_from_db()
    assert post.state == PostState.PUBLISHED
    (req,) = platform.posts()
    assert req["headers"]["Idempotency-Key"] == f"parley-post-{post.id}-ch-{demo.channel('dpe-en').id}-en"
    assert valid_signature("channel-secret-for-tests", req["body"], req["headers"]["X-Parley-Signature"])
    pub = Publication.objects.get(post=post)
    assert (pub.status, pub.attempts, pub.external_id) == (PS.SENT, 1, "ext-1")
    assert pub.url.endswith(pub.idempotency_key)
    drain()
    delivery.post_deliver(post_id=post.id)
    assert len(platform.posts()) == 1


def test_only_one_claim_wins(webhook_channels, platform, demo):
    post = flows.official(demo)
    delivery.post_publish_start(post_id=post.id)
    pub = Publication.objects.filter(post=post).first()
    first = delivery.publication_claim(publication_id=pub.id, worker="a")
    second = delivery.publication_claim(publication_id=pub.id, worker="b")
    assert first is not None and first.claimed_by == "a"
    assert second is None


def test_transient_errors_retry_with_backoff_then_publish(webhook_channels, platform, demo, settings):
    settings.PUBLISH_BACKOFF_BASE = 10
    post = flows.reply(demo)
    key = f"parley-post-{post.id}-ch-{demo.channel('dpe-en').id}-en"
    platform.scripts[key] = [500, 500, 500]
    now = timezone.now()
    delivery.post_deliver(post_id=post.id, now=now)
    pub = Publication.objects.get(post=post)
    assert pub.status == PS.RETRYING and "HTTP 500" in pub.last_error
    # Not due yet: the sweeper does not pick it up before next_attempt_at.
    assert delivery.publications_sweep(now=now) == []
    for _ in range(3):
        pub.refresh_from_db()
        assert pub.next_attempt_at > now
        now = pub.next_attempt_at
        assert delivery.publications_sweep(now=now) == [post.id]
        delivery.post_deliver(post_id=post.id, now=now)
    post.refresh_from_db()
    pub.refresh_from_db()
    assert (post.state, pub.status, pub.attempts) == (PostState.PUBLISHED, PS.SENT, 4)
    assert platform.counts_by_key()[key] == 4
    assert len(platform.published) == 1


def test_backoff_grows_and_is_jittered(settings):
    settings.PUBLISH_BACKOFF_BASE = 2
    settings.PUBLISH_BACKOFF_MAX = 100
    delays = [delivery.backoff_seconds(n) for n in range(1, 6)]
    for n, d in enumerate(delays, start=1):
        assert 2 ** (n - 1) <= d <= 2**n
    assert delivery.backoff_seconds(30) <= 100


def test_permanent_error_fails_post_with_error_visible(webhook_channels, platform, demo):
    post = flows.reply(demo)
    platform.default_status = 400
    assert delivery.post_deliver(post_id=post.id) == PostState.FAILED
    pub = Publication.objects.get(post=post)
    assert pub.status == PS.FAILED and "HTTP 400" in pub.last_error
    assert OutboxEvent.objects.filter(post=post, topic="post.failed").exists()


def test_one_language_failing_fails_the_post_and_shows_the_other(webhook_channels, platform, demo):
    """The lane's default policy (hold): English stays live, the post is flagged partly
    published, failed, and an alert goes out."""
    post = flows.official(demo)
    fr_key = f"parley-post-{post.id}-ch-{demo.channel('dpe-fr').id}-fr"
    platform.scripts[fr_key] = [422]
    assert delivery.post_deliver(post_id=post.id) == PostState.FAILED
    states = dict(Publication.objects.filter(post=post).values_list("language", "status"))
    assert states == {"en": PS.SENT, "fr": PS.FAILED}
    failed = OutboxEvent.objects.get(post=post, topic="post.failed")
    assert "en (dpe-en) is live, fr (dpe-fr) failed" in failed.payload["error"]
    assert "dpe-fr/fr: failed" in failed.payload["error"]
    assert Post.objects.get(id=post.id).partly_published
    alert = OutboxEvent.objects.get(post=post, topic="post.partially_published")
    assert alert.payload["live_publications"] == [Publication.objects.get(post=post, language="en").id]


def test_retry_after_failure_resends_only_the_failed_language(webhook_channels, platform, demo):
    from workflows.services.publishing import post_retry

    post = flows.official(demo)
    fr_key = f"parley-post-{post.id}-ch-{demo.channel('dpe-fr').id}-fr"
    platform.scripts[fr_key] = [422]
    delivery.post_deliver(post_id=post.id)
    post_retry(post_id=post.id, by=demo.dana)
    drain()
    post.refresh_from_db()
    assert post.state == PostState.PUBLISHED
    assert sorted(platform.counts_by_key().values()) == [1, 2]  # en once; fr refused, then sent


def answer_after_timeout(platform, settings):
    """The platform processes the request but answers after the client's timeout."""
    settings.PUBLISH_HTTP_TIMEOUT = 0.3
    platform.delay = 0.8


def test_ambiguous_send_is_reconciled_by_lookup_not_resent(webhook_channels, platform, demo, settings):
    """The platform got the request but the answer was lost: lookup finds it, no second send."""
    post = flows.reply(demo)
    answer_after_timeout(platform, settings)
    assert delivery.post_deliver(post_id=post.id) == PostState.PUBLISHED
    pub = Publication.objects.get(post=post)
    assert pub.status == PS.SENT and pub.external_id == "ext-1"
    assert pub.last_error.startswith("reconciled: found on the platform")
    assert len(platform.posts()) == 1


def test_ambiguous_send_without_lookup_waits_for_a_person(webhook_channels, platform, demo, settings):
    from workflows.models import Channel

    Channel.objects.filter(slug="dpe-en").update(adapter_config={**webhook_channels, "lookup_url": ""})
    post = flows.reply(demo)
    answer_after_timeout(platform, settings)
    assert delivery.post_deliver(post_id=post.id) == PostState.FAILED
    pub = Publication.objects.get(post=post)
    assert pub.status == PS.UNKNOWN and "check the platform" in pub.last_error


def test_abandoned_send_is_reconciled_not_resent(webhook_channels, platform, demo, settings):
    """A worker claimed and sent, then died before recording: the sweeper asks the platform."""
    post = flows.official(demo)
    delivery.post_publish_start(post_id=post.id)
    en, fr = Publication.objects.filter(post=post).order_by("language")
    claimed = delivery.publication_claim(publication_id=en.id, worker="killed")
    from workflows.channels import get_adapter

    get_adapter(claimed.channel).send(delivery.message_for(claimed))  # ...and the worker is SIGKILLed here
    delivery.publication_claim(publication_id=fr.id, worker="killed")  # killed before sending
    later = timezone.now() + timedelta(seconds=settings.PUBLISH_CLAIM_TIMEOUT + 1)
    assert delivery.publications_sweep(now=timezone.now()) == []  # too early: still in flight
    assert delivery.publications_sweep(now=later) == [post.id]
    en.refresh_from_db()
    fr.refresh_from_db()
    assert en.status == PS.SENT and fr.status == PS.RETRYING
    delivery.post_deliver(post_id=post.id, now=fr.next_attempt_at)
    post.refresh_from_db()
    assert post.state == PostState.PUBLISHED
    assert sorted(platform.counts_by_key().values()) == [1, 1]


def test_scheduled_post_is_published_once_at_its_time(webhook_channels, platform, demo):
    at = timezone.now() + timedelta(hours=2)
    post = flows.reply(demo, scheduled_at=at)
    drain()
    post.refresh_from_db()
    assert post.state == PostState.SCHEDULED
    assert delivery.scheduled_publish_due(now=at - timedelta(minutes=1)) == []
    drain()
    assert platform.posts() == []
    assert delivery.scheduled_publish_due(now=at) == [post.id]
    assert delivery.scheduled_publish_due(now=at + timedelta(seconds=5)) == []
    drain()
    post.refresh_from_db()
    assert post.state == PostState.PUBLISHED
    assert delivery.scheduled_publish_due(now=at + timedelta(hours=1)) == []
    drain()
    assert len(platform.posts()) == 1


def test_relay_skips_locked_rows_and_marks_dispatched(demo):
    flows.reply(demo)
    pending = OutboxEvent.objects.filter(dispatched_at__isnull=True).count()
    assert pending >= 2  # post.created, post.approved
    seen = []
    assert relay.relay_outbox(enqueue=lambda eid, topic: seen.append(topic)) == pending
    assert "post.approved" in seen
    # Leased: a second relay run takes nothing until the lease expires.
    assert relay.relay_outbox(enqueue=lambda eid, topic: seen.append(topic)) == 0
    later = timezone.now() + timedelta(seconds=3600)
    assert relay.relay_outbox(enqueue=lambda eid, topic: None, now=later) == pending


def test_relay_keeps_events_when_the_broker_refuses(demo):
    flows.reply(demo)

    def down(event_id, topic):
        raise ConnectionError("redis down")

    assert relay.relay_outbox(enqueue=down) == 0
    ev = OutboxEvent.objects.filter(dispatched_at__isnull=True).order_by("id").first()
    assert "enqueue failed" in ev.last_error
    soon = timezone.now() + timedelta(seconds=2)
    assert relay.relay_outbox(enqueue=lambda e, t: None, now=soon) >= 2


def test_outbox_lag_is_reported(demo, client):
    flows.reply(demo)
    later = timezone.now() + timedelta(seconds=90)
    assert relay.outbox_lag(now=later)["lag_seconds"] >= 90
    body = client.get("/readyz").json()
    assert body["checks"]["outbox"]["pending"] >= 2
    drain()
    assert relay.outbox_lag()["pending"] == 0
    assert Post.objects.get().state == PostState.PUBLISHED


def test_unknown_publication_is_resolved_by_a_person_then_retried(webhook_channels, platform, demo, settings):
    from workflows.exceptions import NotPermitted
    from workflows.models import Channel
    from workflows.services.publishing import post_retry, publication_resolve

    Channel.objects.filter(slug__in=["dpe-en", "dpe-fr"]).update(adapter_config={**webhook_channels, "lookup_url": ""})
    post = flows.official(demo)
    platform.path_status["/publish"] = 200
    answer_after_timeout(platform, settings)
    assert delivery.post_deliver(post_id=post.id) == PostState.FAILED
    en, fr = Publication.objects.filter(post=post).order_by("language")
    assert en.status == fr.status == PS.UNKNOWN
    with pytest.raises(NotPermitted):
        publication_resolve(publication_id=en.id, by=demo.dana, sent=True)
    publication_resolve(publication_id=en.id, by=demo.cora, sent=True, url="https://social.example/1")
    publication_resolve(publication_id=fr.id, by=demo.cora, sent=False)
    platform.delay = 0
    sent_before = len(platform.posts())
    post_retry(post_id=post.id, by=demo.dana)
    drain()
    post.refresh_from_db()
    assert post.state == PostState.PUBLISHED
    assert [json.loads(r["body"])["language"] for r in platform.posts()[sent_before:]] == ["fr"]


def test_relay_outbox_command_drains_due_events(demo, monkeypatch):
    from io import StringIO

    from django.core.management import call_command

    flows.reply(demo)
    seen = []
    monkeypatch.setattr(relay, "_enqueue", lambda event_id, topic: seen.append(topic))
    monkeypatch.setattr(relay, "_enqueue_many", lambda event_ids, topic: seen.extend([topic] * len(event_ids)))
    out = StringIO()
    call_command("relay_outbox", stdout=out)
    assert "post.approved" in seen and "relayed 2 events" in out.getvalue()


def test_dispatched_events_are_pruned_after_retention(demo, settings):
    settings.OUTBOX_RETENTION_DAYS = 30
    flows.reply(demo)
    drain()
    assert relay.outbox_prune() == 0
    dispatched = OutboxEvent.objects.filter(dispatched_at__isnull=False).count()
    assert dispatched >= 3  # created, approved, published
    assert relay.outbox_prune(now=timezone.now() + timedelta(days=31)) == dispatched
    assert not OutboxEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_have_exactly_one_winner(webhook_channels, platform, demo):
    """Real PostgreSQL, real threads: many workers race for the same publications."""
    import threading

    from django.db import connection

    winners: dict[int, list[str]] = {}
    for _round in range(10):
        post = flows.reply(demo, text=f"Thank you, round {_round} of our answers is online.")
        delivery.post_publish_start(post_id=post.id)
        pub_id = Publication.objects.get(post=post).id
        barrier = threading.Barrier(8)
        won: list[str] = []

        def claim(name, pub_id=pub_id, barrier=barrier, won=won):
            try:
                barrier.wait()
                if delivery.publication_claim(publication_id=pub_id, worker=name) is not None:
                    won.append(name)
            finally:
                connection.close()

        threads = [threading.Thread(target=claim, args=(f"w{i}",)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        winners[pub_id] = won
    assert all(len(w) == 1 for w in winners.values()), winners
    assert all(Publication.objects.get(id=pid).claimed_by == w[0] for pid, w in winners.items())
