"""Listening against the local Mastodon-API server: mentions, direct messages and replies since
a stored cursor, saved hashtags/searches, rate-limit back-off per channel, one poller per
channel. (None of it existed before: the inbox filled only through POST /api/v1/inbound/.)"""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from workflows.models import AuditEvent, InboundMessage, ListeningCursor
from workflows.services.listening import (
    channel_listen,
    channels_due_for_listening,
    listen_cycle,
    listening_adapters,
    listening_stream_add,
)

pytestmark = pytest.mark.django_db


def test_mentions_reach_the_inbox_once_with_what_a_reply_needs(demo, masto, masto_channels):
    chan = demo.channel("dpe-en")
    q = masto.post_as("alice", "@dpe Bonjour, quand le bureau ouvre-t-il ?", language="fr")
    dm = masto.post_as("alice", "@dpe I need help with my application please", visibility="direct", language=None)
    assert channel_listen(channel_id=chan.id) == {"heard": 2, "new": 2}
    msgs = {m.external_id: m for m in InboundMessage.objects.filter(channel=chan)}
    m = msgs[q["id"]]
    assert (m.kind, m.source, m.visibility, m.language, m.author_handle) == ("mention", "platform", "public", "fr", "alice")
    assert m.received_at == q["created_at"].replace(microsecond=q["created_at"].microsecond // 1000 * 1000)
    assert m.thread["external_id"] == q["id"] and m.url.endswith(q["id"])
    assert m.body == "@dpe Bonjour, quand le bureau ouvre-t-il ?"
    d = msgs[dm["id"]]
    assert (d.kind, d.visibility, d.language) == ("direct", "direct", "en")  # no tag: detected
    assert AuditEvent.objects.filter(inbound=m, verb="received", data__source="platform").exists()
    # Idempotent: nothing new on the next poll; a new mention is picked up from the cursor.
    assert channel_listen(channel_id=chan.id) == {"heard": 0, "new": 0}
    later = masto.post_as("alice", "@dpe and on Saturdays?")
    assert channel_listen(channel_id=chan.id) == {"heard": 1, "new": 1}
    assert InboundMessage.objects.filter(channel=chan).count() == 3
    assert InboundMessage.objects.filter(channel=chan, external_id=later["id"]).exists()


def test_cursor_lost_still_no_duplicates(demo, masto, masto_channels):
    chan = demo.channel("dpe-en")
    masto.post_as("alice", "@dpe hello there")
    channel_listen(channel_id=chan.id)
    ListeningCursor.objects.filter(channel=chan).update(cursor="", last_polled_at=None)
    assert channel_listen(channel_id=chan.id) == {"heard": 1, "new": 0}
    assert InboundMessage.objects.filter(channel=chan).count() == 1


def test_streams_bring_community_posts(demo, masto, masto_channels):
    chan = demo.channel("dpe-en")
    listening_stream_add(channel_id=chan.id, query="#parks")
    listening_stream_add(channel_id=chan.id, query="bike lanes")
    a = masto.post_as("alice", "The new #parks plan looks great")
    b = masto.post_as("alice", "We need more bike lanes downtown")
    channel_listen(channel_id=chan.id)
    got = {m.external_id: m.kind for m in InboundMessage.objects.filter(channel=chan)}
    assert got == {a["id"]: "community", b["id"]: "community"}
    c = masto.post_as("alice", "Another #parks idea")
    channel_listen(channel_id=chan.id)
    assert InboundMessage.objects.get(channel=chan, external_id=c["id"]).kind == "community"
    assert InboundMessage.objects.filter(channel=chan).count() == 3


def test_rate_limit_backs_the_channel_off(demo, masto, masto_channels):
    chan = demo.channel("dpe-en")
    masto.post_as("alice", "@dpe hi")
    masto.rate_limited, masto.retry_after = 1, 120
    assert channel_listen(channel_id=chan.id) is None
    head = ListeningCursor.objects.get(channel=chan, stream__isnull=True)
    assert "rate limited" in head.last_error and head.failures == 1 and head.leased_until is None
    assert 100 < (head.backoff_until - timezone.now()).total_seconds() <= 121
    assert chan.id not in channels_due_for_listening()
    assert channel_listen(channel_id=chan.id) is None  # still backing off: not even asked
    assert InboundMessage.objects.filter(channel=chan).count() == 0
    ListeningCursor.objects.filter(id=head.id).update(backoff_until=timezone.now() - timedelta(seconds=1))
    assert channel_listen(channel_id=chan.id) == {"heard": 1, "new": 1}
    head.refresh_from_db()
    assert (head.failures, head.last_error, head.backoff_until) == (0, "", None)


def test_wrong_token_backs_off_with_the_reason(demo, masto, masto_channels, monkeypatch):
    monkeypatch.setenv("PARLEY_SECRET_TEST_MASTODON_TOKEN", "bad")
    chan = demo.channel("dpe-en")
    assert channel_listen(channel_id=chan.id) is None
    head = ListeningCursor.objects.get(channel=chan, stream__isnull=True)
    assert "AuthError" in head.last_error and head.backoff_until is not None


def test_adapters_without_listening_are_skipped(demo, masto, masto_channels):
    assert "log" not in listening_adapters() and "webhook" not in listening_adapters()
    assert "mastodon" in listening_adapters()
    due = channels_due_for_listening()
    assert demo.channel("dpe-en").id in due and demo.channel("dpe-fr").id in due
    other = demo.channel("other-en")  # a log channel
    assert other.id not in due
    assert channel_listen(channel_id=other.id) is None


def test_a_polled_channel_is_not_due_until_the_interval_passed(demo, masto, masto_channels, settings):
    chan = demo.channel("dpe-en")
    channel_listen(channel_id=chan.id)
    assert chan.id not in channels_due_for_listening()
    later = timezone.now() + timedelta(seconds=settings.LISTEN_INTERVAL + 1)
    assert chan.id in channels_due_for_listening(now=later)


@pytest.mark.django_db(transaction=True)
def test_one_poller_per_channel(demo, masto, masto_channels):
    chan = demo.channel("dpe-en")
    for i in range(5):
        masto.post_as("alice", f"@dpe question {i}")
    masto.read_delay = 0.4
    results = []
    barrier = threading.Barrier(4)

    def poll(n):
        from django.db import connection

        barrier.wait()
        try:
            results.append(channel_listen(channel_id=chan.id, worker=f"w{n}"))
        finally:
            connection.close()

    threads = [threading.Thread(target=poll, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    polled = [r for r in results if r is not None]
    assert len(polled) == 1 and polled[0]["new"] == 5
    notification_reads = [r for r in masto.requests if r["path"] == "/api/v1/notifications"]
    assert len(notification_reads) == 1
    assert InboundMessage.objects.filter(channel=chan).count() == 5


def test_listen_cycle_polls_every_due_channel(demo, masto, masto_channels):
    masto.post_as("alice", "@dpe hello")
    out = listen_cycle()
    assert out["channels"] == 2 and out["new"] == 2  # dpe-en and dpe-fr both post as @dpe


def test_a_duplicate_beat_task_after_the_poll_does_nothing(demo, masto, masto_channels):
    chan = demo.channel("dpe-en")
    masto.post_as("alice", "@dpe hi")
    assert channel_listen(channel_id=chan.id, only_if_due=True) == {"heard": 1, "new": 1}
    assert channel_listen(channel_id=chan.id, only_if_due=True) is None
    assert len([r for r in masto.requests if r["path"] == "/api/v1/notifications"]) == 1
