"""The batched publishing path (issue 14): many posts per task, the same rules as one by one.

Real PostgreSQL and a real HTTP platform on 127.0.0.1; statement counts are pinned so a change
that adds a round trip per publication to the hot path has to update them on purpose."""
from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from workflows.constants import PostState
from workflows.constants import PublicationStatus as PS
from workflows.models import AuditEvent, OutboxEvent, Post, Publication
from workflows.services import delivery, relay

from . import flows

pytestmark = pytest.mark.django_db

#: Pinned: posts_deliver runs this many statements for a batch of any size. Replies started
#: publishing in their submit request (DESIGN.md: draft → approved → publishing in one request),
#: so their batch only reads, claims, sends and settles; approved official posts start here too
#: (the start's transaction, and the publications read again once created).
BATCH_STATEMENTS = {"reply": 17, "official": 30}  # issue 23: the claim in the ORM (lock, UPDATE: +3); issue 22: the batch's media for the guideline checks, one query (+1)


def _replies(demo, n: int) -> list[int]:
    return [flows.reply(demo, text=f"Thank you for asking: the office opens at 9:00 ({i}).").id for i in range(n)]


def _statements(fn) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries), [q["sql"] for q in ctx.captured_queries]


def test_batch_publishes_each_once_audited(webhook_channels, platform, demo):
    ids = _replies(demo, 5)
    states = delivery.posts_deliver(post_ids=ids + ids[:2], worker="w")  # duplicates are harmless
    assert states == {pid: PostState.PUBLISHED for pid in ids}
    keys = [r["headers"]["Idempotency-Key"] for r in platform.posts()]
    assert sorted(keys) == sorted(set(keys)) and len(keys) == 5
    for pub in Publication.objects.filter(post_id__in=ids):
        assert (pub.status, pub.attempts, pub.external_id != "") == (PS.SENT, 1, True)
        assert pub.first_attempt_at is not None and pub.sent_at is not None
    for pid in ids:  # every transition audited, on the post's own chain
        events = list(AuditEvent.objects.filter(post_id=pid).order_by("seq"))
        assert [e.verb for e in events[-2:]] == ["publishing", "published"]
        post = Post.objects.get(id=pid)  # the chain's end is anchored on the row, as one by one
        assert (post.audit_seq, post.audit_head) == (events[-1].seq, events[-1].hash)
        assert post.published_at is not None and post.version >= 3
    from workflows.services.audit import audit_verify

    assert audit_verify()[1] is None
    # again: nothing left to send, nothing sent twice
    assert delivery.posts_deliver(post_ids=ids, worker="w2") == {pid: PostState.PUBLISHED for pid in ids}
    assert len(platform.posts()) == 5


def test_claim_many_wins_once(webhook_channels, platform, demo):
    ids = _replies(demo, 3)
    for pid in ids:
        delivery.post_publish_start(post_id=pid)
    first = delivery.publications_claim_many(post_ids=ids, worker="a")
    second = delivery.publications_claim_many(post_ids=ids, worker="b")
    assert len(first) == 3 and second == []
    assert set(Publication.objects.filter(post_id__in=ids).values_list("claimed_by", flat=True)) == {"a"}
    assert all(p.attempts == 1 and p.first_attempt_at == p.claimed_at for p in first)


def test_lost_claim_is_not_overwritten(webhook_channels, platform, demo):
    (pid,) = _replies(demo, 1)
    delivery.post_publish_start(post_id=pid)
    (pub,) = delivery.publications_claim_many(post_ids=[pid], worker="a")
    # the reconciler took the claim over meanwhile (the fencing token moved)
    Publication.objects.filter(id=pub.id).update(claimed_by="reconciler")
    from workflows.channels import Result

    assert delivery._sent_many([(pub, Result(external_id="x", url="https://x.example/1"), pub.claimed_at)]) == 0
    assert Publication.objects.get(id=pub.id).status == PS.SENDING


def test_failures_take_the_single_path_rules(webhook_channels, platform, demo):
    from workflows.services.publishing import idempotency_key

    ids = _replies(demo, 3)
    chan = demo.channel("dpe-en").id
    platform.scripts[idempotency_key(post_id=ids[0], channel_id=chan, language="en")] = [500]  # transient
    states = delivery.posts_deliver(post_ids=ids, worker="w")
    assert states == {ids[0]: PostState.PUBLISHING, ids[1]: PostState.PUBLISHED, ids[2]: PostState.PUBLISHED}
    pub = Publication.objects.get(post_id=ids[0])
    assert pub.status == PS.RETRYING and pub.next_attempt_at is not None and "500" in pub.last_error


@pytest.mark.parametrize("n", [1, 20])
@pytest.mark.parametrize("kind", ["reply", "official"])
def test_batch_statement_budget(webhook_channels, platform, demo, n, kind):
    """The same statements for 1 post and for 20: one read of the publications (with their
    channels and posts); for posts not publishing yet, the start (lock; texts, channels, the lanes'
    rules, the caretaker periods, the lanes' steps; publications, audit events and posts written
    in one statement each) and the publications read again; the claim (the due rows locked, SKIP
    LOCKED, then one conditional UPDATE, in a savepoint), one UPDATE of the
    successes (each fenced by its claim, in the ORM: delivery._sent_many), the settle (publications and states read; lock, audit events, outbox rows, posts
    in one statement each). SAVEPOINT/RELEASE pairs included (the test runs inside a transaction)."""
    if kind == "reply":
        ids = _replies(demo, n)
    else:
        ids = [flows.official(demo, en=f"The office will be closed on Monday ({i}).",
                              fr=f"Le bureau sera fermé lundi ({i}).").id for i in range(n)]
    count, sql = _statements(lambda: delivery.posts_deliver(post_ids=ids, worker="w"))
    assert Post.objects.filter(id__in=ids, state=PostState.PUBLISHED).count() == n
    assert sum("SKIP LOCKED" in s for s in sql) == 1  # one claim for the batch: its lock,
    updates = [s.split(" WHERE ")[0] for s in sql if s.startswith('UPDATE "workflows_publication" SET')]
    assert sum('"claimed_by"' in s for s in updates) == 1  # its UPDATE
    assert sum('"sent_at" = CASE' in s for s in updates) == 1  # the successes (one ORM UPDATE)
    assert len(updates) == 2
    started_here = kind == "official"  # a reply's `publishing` event was written by its submit
    assert sum(s.startswith('INSERT INTO "workflows_auditevent"') for s in sql) == (2 if started_here else 1)
    assert count == BATCH_STATEMENTS[kind], "\n".join(sql)


def test_relay_sends_events_in_chunks(webhook_channels, platform, demo, settings, monkeypatch):
    settings.PUBLISH_BATCH_SIZE = 2
    ids = _replies(demo, 3)
    chunks, singles = [], []
    monkeypatch.setattr(relay, "_enqueue_many", lambda event_ids, topic: chunks.append((list(event_ids), topic)))
    monkeypatch.setattr(relay, "_enqueue", lambda event_id, topic: singles.append(([event_id], topic)))
    pending = list(OutboxEvent.objects.filter(dispatched_at__isnull=True).values_list("id", "topic"))
    assert relay.relay_outbox() == len(pending)
    units = chunks + singles
    assert sorted(i for ids_, _ in units for i in ids_) == sorted(i for i, _ in pending)  # each once
    assert all(len(ids_) == 2 for ids_, _ in chunks) and all(len(ids_) == 1 for ids_, _ in singles)
    for ids_, _ in units:  # a chunk never mixes the publish and notify queues
        topics = {t for i, t in pending if i in ids_}
        assert len({relay.queue_for(t) for t in topics}) == 1
    counts = [relay.events_handle(event_ids=ids_) for ids_, _ in units]
    assert sum(c["published"] for c in counts) == 3
    assert Post.objects.filter(id__in=ids, state=PostState.PUBLISHED).count() == 3
    assert not OutboxEvent.objects.filter(topic="post.approved", dispatched_at__isnull=True).exists()
