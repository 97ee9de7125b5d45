"""The worker SIGKILLed mid-send, per visibility, against both Mastodon-API peers (the local server
and Takahē, tests/platforms/takahe.py): a real Celery worker (supervised: restarted as systemd
would) sends a reply; while the status's POST is with the server (Takahē SIGSTOPped just after
the publication was claimed — preflight has passed — the local server holding its answer), the
worker's whole process group is SIGKILLed; the server is thawed. The stale claim is reconciled
(looked up) and, only if the server says it is not there, sent again. Counted on the server: one
status per visibility, the one Parley recorded.
"""
from __future__ import annotations

import time

import pytest

from tests.platforms.conftest import mastodon_server  # noqa: F401 - the local peer's session fixture
from tests.platforms.test_mastodon_peers import VISIBILITIES
from workflows.constants import PostState
from workflows.constants import PublicationStatus as PS
from workflows.models import InboundMessage, Post, Publication
from workflows.services.listening import channel_listen
from workflows.services.posts import reply_send

from .conftest import wait_for

FREEZE_SECONDS = 3.0  # past PUBLISH_HTTP_TIMEOUT
WORKER_ENV = {"PUBLISH_HTTP_TIMEOUT": "2", "MASTODON_INFLIGHT_SECONDS": "5", "PUBLISH_MAX_ATTEMPTS": "12",
              "PUBLISH_BACKOFF_MAX": "2", "LISTEN_INTERVAL": "3600"}


def _posts_received(peer) -> int:
    return sum(1 for r in list(peer.server.requests) if r["method"] == "POST" and r["path"] == "/api/v1/statuses")


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_send_publishes_each_visibility_once(demo, peer_channels, start_worker,
                                                              private_redis):
    peer = peer_channels
    worker = start_worker(broker_url=private_redis.url, supervised=True, extra_env=WORKER_ENV)
    chan = demo.channel("dpe-en")
    questions = {v: peer.post_as("alice", f"@dpe_en a {v} question about my benefits", visibility=v)
                 for v in VISIBILITIES}
    for question in questions.values():
        peer.wait_mentioned(peer.gov_en, question["id"])
    channel_listen(channel_id=chan.id)
    cases = {}
    for visibility, question in questions.items():
        inbound = InboundMessage.objects.get(channel=chan, external_id=question["id"])
        seen = _posts_received(peer) if peer.name == "local" else 0
        if peer.name == "local":
            peer.server.answer_delay = FREEZE_SECONDS  # stored at once, answered after the timeout
        post = reply_send(inbound_id=inbound.id, by=demo.dana, text=f"Thank you: your {visibility} file is open.",
                          language="en", rules_acknowledged=True)
        claimed = Publication.objects.filter(post=post, status=PS.SENDING)
        frozen = time.monotonic()
        try:
            wait_for(lambda p=post: claimed.exists() or Publication.objects.filter(post=p, status=PS.FAILED).exists(),
                     timeout=30, interval=0.005, what="the reply to be claimed (about to be sent)")
            if peer.name == "takahe":
                peer.server.freeze()
                frozen = time.monotonic()
                time.sleep(0.3)
            else:
                wait_for(lambda s=seen: _posts_received(peer) > s, timeout=10, interval=0.005, what="the POST")
            worker.kill()  # mid-send: the POST is with the server, no answer yet
            time.sleep(max(0.0, FREEZE_SECONDS - (time.monotonic() - frozen)))
        finally:
            if peer.name == "takahe":
                peer.server.thaw()
            else:
                peer.server.answer_delay = 0.0
        cases[visibility] = (question, post)

    ids = [post.id for _, post in cases.values()]

    def states():
        pubs = Publication.objects.filter(post_id__in=ids)
        return f"{list(pubs.values_list('status', 'last_error'))}\n{worker.log()}"

    wait_for(lambda: Post.objects.filter(id__in=ids).exclude(
        state__in=[PostState.PUBLISHING]).count() == len(ids), timeout=120, interval=0.5,
        what=f"every reply to settle: {states()}")
    counts = {v: len(peer.replies_by(peer.gov_en, q["id"])) for v, (q, _) in cases.items()}
    print(f"\n{peer.name}: statuses per visibility after a SIGKILL mid-send: {counts}; "
          f"worker restarts: {worker.restarts}")
    assert counts == {v: 1 for v in VISIBILITIES}, (counts, states())
    for visibility, (question, post) in cases.items():
        (reply,) = peer.replies_by(peer.gov_en, question["id"])
        pub = Publication.objects.get(post=post)
        assert (pub.status, pub.external_id, reply["visibility"]) == (PS.SENT, reply["id"], visibility)
