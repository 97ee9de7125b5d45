"""Listening and answering on the reference Bluesky stack with a real Celery worker (beat
included) on real Redis: a citizen's mention on the PDS reaches the inbox, and the reply is
visible in the citizen's thread in the AppView (app.bsky.feed.getPostThread). The figures
printed here (run with -s) are the ones in docs/publishing.md, "Figures"."""
from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime

import pytest

from tests.atproto.conftest import xrpc_get, xrpc_post
from workflows.channels import bluesky
from workflows.models import Channel, InboundMessage, ListeningCursor, Post, Publication

from .conftest import wait_for

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]

PASSWORD_ENV = "PARLEY_SECRET_TEST_WORKER_BSKY"
LISTEN_FAST = {"LISTEN_INTERVAL": "0.5", "LISTEN_FANOUT_INTERVAL": "0.3", "PUBLISH_HTTP_TIMEOUT": "5"}
ROUNDS = 3


def _mention(stack, citizen, gov, text: str) -> dict:
    """The citizen writes a post mentioning the government account (with the mention facet a
    Bluesky client adds, so the PDS notifies it)."""
    start = len(text[: text.index("@")].encode())
    return xrpc_post(stack, "com.atproto.repo.createRecord", citizen, {
        "repo": citizen.did, "collection": bluesky.POST, "record": {
            "$type": bluesky.POST, "text": text, "createdAt": bluesky._iso(datetime.now(UTC)), "langs": ["en"],
            "facets": [{"index": {"byteStart": start, "byteEnd": start + len(gov.handle) + 1},
                        "features": [{"$type": "app.bsky.richtext.facet#mention", "did": gov.did}]}]}})


def test_mention_to_inbox_to_threaded_reply_on_bluesky_with_a_worker(demo, atproto_stack, make_account,
                                                                     start_worker, monkeypatch):
    gov, citizen = make_account("dpew"), make_account("citizen")
    monkeypatch.setenv(PASSWORD_ENV, gov.password)
    Channel.objects.filter(slug="dpe-en").update(
        adapter="bluesky", handle=gov.handle,
        adapter_config={"base_url": atproto_stack.pds, "handle": gov.handle, "password_env": PASSWORD_ENV})
    chan = demo.channel("dpe-en")
    worker = start_worker(extra_env=LISTEN_FAST)
    wait_for(lambda: ListeningCursor.objects.filter(channel=chan, last_polled_at__isnull=False).exists(),
             timeout=30, what="the first poll")
    errors = list(ListeningCursor.objects.filter(channel=chan).values_list("last_error", flat=True))
    assert errors == [""], f"{errors}\n{worker.log()}"

    from workflows.guidelines import detect_language
    from workflows.services.posts import reply_send

    detect_language("Warm the language models up in this process first.")
    to_inbox, to_visible, to_sent = [], [], []
    for n in range(ROUNDS):
        t0 = time.monotonic()
        asked = _mention(atproto_stack, citizen, gov, f"@{gov.handle} question {n}: when does the passport office open?")
        try:
            msg = wait_for(lambda: InboundMessage.objects.filter(channel=chan, external_id=asked["uri"]).first(),
                           timeout=30, interval=0.02, what="the mention in the inbox")
        except AssertionError as exc:
            cursors = list(ListeningCursor.objects.filter(channel=chan).values("cursor", "last_error", "backoff_until"))
            raise AssertionError(f"{exc}\ncursors: {cursors}\n{worker.log()}") from None
        to_inbox.append(time.monotonic() - t0)
        assert msg.author_handle == citizen.handle and msg.thread["cid"] == asked["cid"]

        t1, submitted_at = time.monotonic(), datetime.now(UTC)
        post = reply_send(inbound_id=msg.id, by=demo.dana, text=f"Answer {n}: Monday at 9:00.", language="en",
                          rules_acknowledged=True)

        def visible(uri=asked["uri"]):
            thread = xrpc_get(atproto_stack, "app.bsky.feed.getPostThread", citizen, uri=uri)["thread"]
            return [r for r in thread.get("replies", []) if r["post"]["author"]["did"] == gov.did]

        [reply] = wait_for(visible, timeout=30, interval=0.02, what="the reply in the citizen's thread")
        to_visible.append(time.monotonic() - t1)
        assert reply["post"]["record"]["text"] == f"@{citizen.handle} Answer {n}: Monday at 9:00."
        wait_for(lambda post_id=post.id: Post.objects.get(id=post_id).state == "published", timeout=20,
                 what="the post published")
        pub = Publication.objects.get(post=post)
        assert pub.external_id == reply["post"]["uri"]
        to_sent.append((pub.sent_at - submitted_at).total_seconds())  # accepted by the PDS

    records = xrpc_get(atproto_stack, "com.atproto.repo.listRecords", repo=gov.did, collection=bluesky.POST)["records"]
    assert len(records) == ROUNDS  # one reply per question, nothing twice
    assert InboundMessage.objects.filter(channel=chan).count() == ROUNDS

    def fmt(xs):
        return f"median {statistics.median(xs):.2f} s (min {min(xs):.2f}, max {max(xs):.2f}, n={len(xs)})"

    print(f"\nBluesky with a worker: mention on the PDS -> inbox {fmt(to_inbox)}; "
          f"submit -> threaded reply visible in the AppView {fmt(to_visible)} "
          f"(of which submit -> accepted by the PDS {fmt(to_sent)})")
