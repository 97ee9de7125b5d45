"""Embedded mode settles everything (issue 10 §7): with no broker and no worker, the scheduler
thread the web process starts runs the very jobs Celery beat runs (one definition:
config.celery.periodic_jobs), so listening and the engagement sweep happen too, not only the
publication sweep."""
from __future__ import annotations

import time
import urllib.request

import pytest

from config.celery import app, periodic_jobs
from tests.platforms.conftest import masto, masto_channels, mastodon_server  # noqa: F401 - fixtures
from workflows import embedded
from workflows.constants import PostState
from workflows.constants import PublicationStatus as PS
from workflows.models import InboundMessage, Post, Publication

from .conftest import wait_for


def test_embedded_jobs_are_beats_jobs(settings):
    """The embedded scheduler's job set is beat's schedule (same names, same tasks, same
    intervals), minus only the documented exceptions; every job's task is registered."""
    beat = app.conf.beat_schedule
    assert set(beat) == set(periodic_jobs(settings))
    for reason in embedded.NOT_EMBEDDED.values():
        assert reason.strip(), "every job left out of embedded mode says why"
    jobs = embedded.jobs()
    assert set(jobs) == set(beat) - set(embedded.NOT_EMBEDDED)
    assert {n: (j["task"], j["schedule"]) for n, j in jobs.items()} == {
        n: (beat[n]["task"], beat[n]["schedule"]) for n in jobs}
    assert {j["task"] for j in jobs.values()} >= {
        "parley.publications_sweep", "parley.listen_fanout", "parley.engagements_sweep", "parley.relay_outbox"}
    for job in jobs.values():
        assert embedded._task(job["task"]).name == job["task"]


@pytest.mark.django_db(transaction=True)
def test_embedded_tick_runs_every_job_in_process(settings):
    """One forced round with no broker runs every job here and reports each (none failed)."""
    settings.CELERY_BROKER_URL = ""
    done = embedded.tick(force=True)
    assert set(done) == set(embedded.jobs())
    assert not [name for name, result in done.items() if isinstance(result, str) and result.startswith("failed")], done
    embedded.stop()


@pytest.mark.django_db(transaction=True)
def test_embedded_mode_listens_and_settles_a_retrying_reply(demo, masto, masto_channels, settings,  # noqa: F811
                                                            live_server):
    """No worker anywhere: a citizen's mention on the local Mastodon server reaches the inbox
    (listening runs in the web process), and the reply, whose first send the server dropped
    unanswered (an unclear outcome), settles: looked up, resent once, published, exactly one
    status in the thread."""
    settings.CELERY_BROKER_URL = ""
    settings.EMBEDDED_SCHEDULER = True  # on by default; the test settings keep it off elsewhere
    settings.PUBLISH_SWEEP_INTERVAL = 0.2
    settings.OUTBOX_RELAY_INTERVAL = 0.2
    settings.LISTEN_FANOUT_INTERVAL = 0.2
    settings.LISTEN_INTERVAL = 0.2
    settings.PUBLISH_BACKOFF_BASE = 0.2
    settings.PUBLISH_BACKOFF_MAX = 0.4
    settings.MASTODON_INFLIGHT_SECONDS = 1.0
    chan = demo.channel("dpe-en")
    embedded.stop()
    try:
        urllib.request.urlopen(f"{live_server.url}/healthz", timeout=5).read()  # the first request starts it
        assert embedded._thread is not None and embedded._thread.is_alive()
        t0 = time.monotonic()
        question = masto.post_as("alice", "@dpe Is the passport office open on Saturday?")
        msg = wait_for(lambda: InboundMessage.objects.filter(channel=chan, external_id=question["id"]).first(),
                       timeout=20, interval=0.05, what="the mention in the inbox (embedded listening)")
        print(f"\nembedded: mention -> inbox {time.monotonic() - t0:.2f} s")
        assert msg.author_handle == "alice"

        from workflows.services.posts import reply_send

        masto.drop_posts = 1  # the first send is read, then the connection closes unanswered
        post = reply_send(inbound_id=msg.id, by=demo.dana, text="Yes, from 9:00 to 12:00.", language="en",
                          rules_acknowledged=True)
        wait_for(lambda: Publication.objects.filter(post=post).exclude(ambiguous_since=None).exists(),
                 timeout=20, what="the unclear first attempt")
        wait_for(lambda: Post.objects.get(id=post.id).state == PostState.PUBLISHED, timeout=30,
                 what="the reply to settle with no worker")
        pub = Publication.objects.get(post=post)
        assert pub.status == PS.SENT and pub.attempts >= 2
        replies = [s for s in masto.statuses_of("dpe") if s["in_reply_to_id"] == question["id"]]
        assert len(replies) == 1 and replies[0]["id"] == pub.external_id  # once, in the thread
        posts = [r for r in masto.requests if r["method"] == "POST" and r["path"] == "/api/v1/statuses"]
        assert len(posts) == 2  # the dropped one (nothing stored) and the resend after looking
    finally:
        embedded.stop()
