"""Listening and answering with a real Celery worker (beat included) on real Redis, against the
local Mastodon-API server: beat fans out one listen task per due channel; a citizen's mention
reaches the inbox; the threaded reply goes out once; a like goes out once."""
from __future__ import annotations

import time

import pytest

from tests.platforms.conftest import GOV_TOKEN, TOKEN_ENV, masto, mastodon_server  # noqa: F401 - fixtures
from workflows.models import Channel, Engagement, InboundMessage, ListeningCursor, Post

from .conftest import wait_for

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]

LISTEN_FAST = {"LISTEN_INTERVAL": "0.5", "LISTEN_FANOUT_INTERVAL": "0.3", "PUBLISH_HTTP_TIMEOUT": "3",
               "MASTODON_INFLIGHT_SECONDS": "2", TOKEN_ENV: GOV_TOKEN}


def test_mention_to_inbox_to_threaded_reply_with_a_worker(demo, masto, start_worker, monkeypatch):  # noqa: F811
    monkeypatch.setenv(TOKEN_ENV, GOV_TOKEN)
    config = {"api_base_url": masto.url, "token_env": TOKEN_ENV, "visibility": "public"}
    Channel.objects.filter(slug__in=["dpe-en", "dpe-fr"]).update(adapter="mastodon", adapter_config=config)
    start_worker(extra_env=LISTEN_FAST)
    chan = demo.channel("dpe-en")
    wait_for(lambda: ListeningCursor.objects.filter(channel=chan, last_polled_at__isnull=False).exists(),
             timeout=30, what="the first poll")
    t0 = time.monotonic()
    question = masto.post_as("alice", "@dpe Is the passport office open on Saturday?")
    msg = wait_for(lambda: InboundMessage.objects.filter(channel=chan, external_id=question["id"]).first(),
                   timeout=20, interval=0.02, what="the mention in the inbox")
    mention_to_inbox = time.monotonic() - t0
    assert msg.source == "platform" and msg.author_handle == "alice"

    from workflows.guidelines import detect_language
    from workflows.services.posts import reply_send

    detect_language("Warm the language models up in this process first.")
    t1 = time.monotonic()
    post = reply_send(inbound_id=msg.id, by=demo.dana, text="Yes, from 9:00 to 12:00.", language="en",
                      rules_acknowledged=True)
    reply = wait_for(lambda: next((s for s in masto.statuses_of("dpe") if s["in_reply_to_id"] == question["id"]), None),
                     timeout=20, interval=0.02, what="the threaded reply on the server")
    submit_to_visible = time.monotonic() - t1
    assert reply["text"].startswith("@alice ")
    wait_for(lambda: Post.objects.get(id=post.id).state == "published", timeout=20, what="the post published")

    from workflows.services.engagement import inbound_engage

    inbound_engage(inbound_id=msg.id, by=demo.dana, action="like")
    wait_for(lambda: Engagement.objects.filter(inbound=msg, status="done").exists(), timeout=20, what="the like")
    assert len(masto.favourites) == 1
    time.sleep(1.5)  # more polls: still one inbox row, one reply
    assert InboundMessage.objects.filter(channel=chan, external_id=question["id"]).count() == 1
    assert sum(1 for s in masto.statuses_of("dpe") if s["in_reply_to_id"] == question["id"]) == 1
    print(f"\nmention -> inbox: {mention_to_inbox:.2f} s; submit -> threaded reply visible: {submit_to_visible:.2f} s")


def test_fanout_polls_every_channel_with_one_poller_each(demo, masto, start_worker, monkeypatch):  # noqa: F811
    """Twenty listening channels, two worker processes: every channel is polled, none by two
    workers at once (each poll reads the notifications exactly once per lease)."""
    monkeypatch.setenv(TOKEN_ENV, GOV_TOKEN)
    config = {"api_base_url": masto.url, "token_env": TOKEN_ENV}
    org = demo.dana.organisation
    chans = [Channel.objects.create(organisation=org, slug=f"listen-{i}", platform="mastodon", handle=f"@l{i}",
                                    adapter="mastodon", adapter_config=config) for i in range(20)]
    masto.post_as("alice", "@dpe hello everyone")
    masto.read_delay = 0.05
    start_worker(extra_env={**LISTEN_FAST, "LISTEN_INTERVAL": "30"})
    wait_for(lambda: InboundMessage.objects.filter(channel__in=chans).count() == 20, timeout=60,
             what="every channel to hear the mention")
    polls = [r for r in masto.requests if r["path"] == "/api/v1/notifications"]
    assert len(polls) == 20  # once per channel within the interval: no double polling
    assert not ListeningCursor.objects.filter(channel__in=chans).exclude(last_error="").exists()
