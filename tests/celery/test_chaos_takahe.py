"""`make soak`: the chaos run across platforms with a real Mastodon-API server, Takahē (issue 19).

The same chaos as tests/celery/test_chaos_platforms.py — a real Celery worker (beat included) on
its own Redis publishes bilingual posts, English to Mastodon and French to the reference Bluesky
PDS, and beside each answers a citizen in their thread, public, unlisted, followers-only and
direct in turn — with Takahē (tests/platforms/takahe.py) in place of the local server:

1. the worker is SIGKILLed while Takahē holds a POST: Takahē's gunicorn is SIGSTOPped once a
   publication to it is claimed, the worker killed, Takahē thawed past the client's timeout (it
   then stores what it was sent: the outcome is unclear and must be looked up, never resent);
2. Takahē frozen (SIGSTOP) past the client's timeout while sends go to it, then thawed;
3. the PDS frozen, the worker SIGKILLed while a send hangs on it, then thawed;
4. Redis restarted (no persistence): queued and unacknowledged tasks are gone.

Counted on the servers, never in Parley: on Takahē through its API — each reply in its parent's
context as the government account (the only place a followers-only or direct status is listed
to its author), each post among the account's statuses; on the PDS, its records. 0 duplicates,
0 lost, every visibility answered, the ids Parley recorded are those on the servers.
CHAOS_TAKAHE_POSTS (default 36: 108 publications) sets the size.
"""
from __future__ import annotations

import os
import random
import secrets
import time
from collections import Counter

import pytest

from tests.platforms.takahe import DOMAIN, GOV_EN, PEER_TOKEN_ENV, TakahePeer
from workflows.channels.base import InboundItem, ThreadRef
from workflows.channels.mastodon import html_to_text, normalise
from workflows.constants import PostState
from workflows.constants import PublicationStatus as PS
from workflows.models import Channel, Post, Publication
from workflows.services.inbound import inbound_hear
from workflows.services.posts import post_create, post_submit, reply_send

from . import flows
from .conftest import wait_for
from .test_chaos import wait_progress
from .test_chaos_platforms import BSKY_ENV, FREEZE_SECONDS, VISIBILITIES, Chaos, bluesky_records

TAKAHE_FREEZE = 3.0  # past PUBLISH_HTTP_TIMEOUT (2 s): the answer comes after the client gave up


class TakaheChaos(Chaos):
    """Chaos's posts and phases, with Takahē as the Mastodon side (frozen by SIGSTOP: it cannot
    be told to answer late)."""

    def __init__(self, *, peer: TakahePeer, marker: str, **kwargs):
        super().__init__(masto=None, **kwargs)
        self.peer, self.marker = peer, marker
        self.questions: dict[int, str] = {}  # reply post id → the citizen's status id on Takahē

    def reply_to_citizen(self, i: int) -> None:
        visibility = VISIBILITIES[sum(self.replies.values()) % len(VISIBILITIES)]
        question = self.peer.post_as("alice", f"@{GOV_EN} {self.marker} question {i} ({visibility}): when is "
                                     f"the office open?", visibility=visibility)
        inbound, _ = inbound_hear(channel=Channel.objects.get(slug="dpe-en"), item=InboundItem(
            external_id=question["id"], kind="direct" if visibility == "direct" else "mention", author="Alice",
            author_handle=f"alice@{DOMAIN}", text=html_to_text(question["content"]),
            created_at=question["created_at"], language="en", visibility=visibility,
            thread=ThreadRef(external_id=question["id"], author_handle=f"alice@{DOMAIN}",
                             visibility=visibility)))
        post = reply_send(inbound_id=inbound.id, by=self.demo.dana,
                          text=f"{self.marker} answer {i} ({visibility}): from 9:00.", language="en",
                          rules_acknowledged=True)
        self.ids.append(post.id)
        self.questions[post.id] = question["id"]
        self.replies[visibility] += 1
        self.expected += 1

    def create(self, n: int) -> None:
        """As Chaos.create, every text carrying the run's marker (Takahē is shared by the session)."""
        m = self.marker
        for _ in range(n):
            self.reply_to_citizen(len(self.ids))
            i = len(self.ids)
            if i % 4 == 3:  # an official post, through review, translation and sign-off
                self.ids.append(flows.official(self.demo, en=f"{m} notice {i}: the office is closed on Monday.",
                                               fr=f"{m} avis {i} : le bureau est fermé lundi.").id)
            else:
                post = post_create(author=self.demo.dana, channels=["dpe-en", "dpe-fr"], kind="reply",
                                   rules_acknowledged=True,
                                   texts={"en": f"{m} thank you for question {i}: the answer is on our site.",
                                          "fr": f"{m} merci pour la question {i} : la réponse est sur notre site."})
                self.ids.append(post_submit(post_id=post.id, by=self.demo.dana).id)
            self.expected += 2  # English to Takahē, French to Bluesky

    def _wait_takahe_send(self) -> bool:
        claimed = Publication.objects.filter(post_id__in=self.ids, channel__slug="dpe-en", status=PS.SENDING)
        try:
            wait_for(claimed.exists, timeout=30, interval=0.005, what="a send to Takahē")
            return True
        except AssertionError:
            return False

    def kill_mid_mastodon_send(self, batch: int) -> None:
        """Once a publication to Takahē is claimed (preflight passed), freeze Takahē, SIGKILL the
        worker, thaw Takahē past the client's timeout."""
        self.create(batch)
        if not self._wait_takahe_send():
            self.events.append("no send to Takahē seen in 30 s: no kill")
            return
        self.peer.server.freeze()
        frozen = time.monotonic()
        try:
            time.sleep(0.3)
            self.worker.kill()
            time.sleep(max(0.0, TAKAHE_FREEZE - (time.monotonic() - frozen)))
        finally:
            self.peer.server.thaw()
        self.events.append(f"Takahē frozen mid-send, SIGKILL, thawed after {time.monotonic() - frozen:.1f} s")

    def freeze_pds(self, batch: int) -> None:
        """Chaos.freeze_pds, waiting longer for a send to hang on the frozen PDS (the worker may
        still be busy with Takahē's backlog); the worker is SIGKILLed either way."""
        self.stack.freeze()
        frozen = time.monotonic()
        try:
            self.create(batch)
            hanging = Publication.objects.filter(post_id__in=self.ids, channel__slug="dpe-fr", status=PS.SENDING)
            try:
                wait_for(hanging.exists, timeout=90, interval=0.05, what="a send hanging on the frozen PDS")
                time.sleep(0.5)
                self.events.append("PDS frozen (SIGSTOP); SIGKILL while a send hangs on it")
            except AssertionError:
                self.events.append("PDS frozen (SIGSTOP); no send hung on it in 90 s; SIGKILL")
            self.worker.kill()
            time.sleep(max(0.0, FREEZE_SECONDS - (time.monotonic() - frozen)))
        finally:
            self.stack.thaw()
        self.events.append(f"PDS thawed (SIGCONT) after {time.monotonic() - frozen:.1f} s")

    def late_answers(self, batch: int) -> None:
        """Takahē frozen past the client's timeout while a send is with it, then thawed."""
        self.create(batch)
        if not self._wait_takahe_send():
            self.events.append("no send to Takahē seen in 30 s: no freeze")
            return
        self.peer.server.freeze()
        frozen = time.monotonic()
        try:
            time.sleep(TAKAHE_FREEZE + 1.0)
        finally:
            self.peer.server.thaw()
        self.events.append(f"Takahē frozen (SIGSTOP) past the timeout for {time.monotonic() - frozen:.1f} s")


def _takahe_statuses(peer: TakahePeer) -> list[dict]:
    """Every status of the government account that the account's own listing shows (posts and
    public or unlisted replies), paged."""
    out, max_id = [], None
    while True:
        params = {"limit": 40, **({"max_id": max_id} if max_id else {})}
        r = peer.api("GET", f"/api/v1/accounts/{peer.gov_en.id}/statuses", GOV_EN, params=params)
        assert r.status_code == 200, r.text
        page = r.json()
        if not page:
            return out
        out.extend(page)
        max_id = page[-1]["id"]


@pytest.mark.soak
@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(3600)
def test_chaos_across_takahe_and_bluesky_soak(demo, takahe, atproto_stack, make_account, start_worker,
                                              private_redis, monkeypatch):
    peer = TakahePeer(takahe)
    posts = int(os.environ.get("CHAOS_TAKAHE_POSTS", "36"))
    rng = random.Random(int(os.environ.get("SOAK_SEED", "5")))
    marker = f"soak{secrets.token_hex(3)}"
    gov = make_account("soaktk")
    monkeypatch.setenv(BSKY_ENV, gov.password)
    monkeypatch.setenv(PEER_TOKEN_ENV["en"], peer.gov_en.token)
    Channel.objects.filter(slug="dpe-en").update(
        adapter="mastodon", adapter_config={"api_base_url": peer.url, "token_env": PEER_TOKEN_ENV["en"],
                                            "visibility": "public"})
    Channel.objects.filter(slug="dpe-fr").update(
        adapter="bluesky", handle=gov.handle,
        adapter_config={"base_url": atproto_stack.pds, "handle": gov.handle, "password_env": BSKY_ENV})
    started = time.monotonic()
    worker = start_worker(broker_url=private_redis.url, supervised=True, extra_env={
        "PUBLISH_HTTP_TIMEOUT": "2", "MASTODON_INFLIGHT_SECONDS": "5", "PUBLISH_MAX_ATTEMPTS": "12",
        "PUBLISH_BACKOFF_MAX": "2", "LISTEN_INTERVAL": "3600", PEER_TOKEN_ENV["en"]: peer.gov_en.token})
    chaos = TakaheChaos(peer=peer, marker=marker, demo=demo, stack=atproto_stack, worker=worker,
                        private_redis=private_redis, rng=rng)
    phases = [chaos.kill_mid_mastodon_send, chaos.late_answers, chaos.freeze_pds, chaos.restart_redis]
    rounds = max(1, posts // (3 * len(phases)))
    try:
        for _ in range(rounds):
            for phase in phases:
                t = time.monotonic()
                phase(3)
                chaos.events[-1] += f" ({time.monotonic() - t:.1f} s)"
        chaos.create(max(0, posts - len(chaos.questions)))
    finally:
        atproto_stack.thaw()
        takahe.thaw()
    ids, n_pubs = chaos.ids, chaos.expected
    pubs = Publication.objects.filter(post_id__in=ids)

    def states():
        return (f"posts: {Counter(Post.objects.filter(id__in=ids).values_list('state', flat=True))}; "
                f"publications: {Counter(pubs.values_list('status', flat=True))}\n"
                f"{list(pubs.exclude(status=PS.SENT).values_list('channel__slug', 'status', 'last_error'))[:5]}"
                f"\n{worker.log()}")

    drain = wait_progress(lambda: pubs.filter(status=PS.SENT).count(), n_pubs, min_stall=60,
                          what="every publication to be sent", detail=states)
    wait_progress(lambda: Post.objects.filter(id__in=ids, state=PostState.PUBLISHED).count(), len(ids),
                  min_stall=60, what="every post to be published", detail=states)

    # Counted on the servers. Takahē: each reply in its parent's context (whatever its
    # visibility), each post among the account's statuses; the PDS: its records.
    replies = {p.post_id: p for p in pubs.filter(post_id__in=list(chaos.questions))}
    reply_counts, reply_ids, by_visibility = {}, {}, Counter()
    for post_id, question in chaos.questions.items():
        found = peer.replies_by(peer.gov_en, question)
        reply_counts[post_id] = len(found)
        reply_ids[post_id] = {s["id"] for s in found}
        by_visibility.update(s["visibility"] for s in found)
    posts_en = {normalise(p.body): p.external_id for p in pubs.filter(channel__slug="dpe-en")
                .exclude(post_id__in=list(chaos.questions))}
    listed = [s for s in _takahe_statuses(peer) if s["in_reply_to_id"] is None and marker in s["content"]]
    on_takahe = Counter(normalise(html_to_text(s["content"])) for s in listed)
    fr = {p.body: p.external_id for p in pubs.filter(channel__slug="dpe-fr")}
    records = [r for r in bluesky_records(atproto_stack.pds, gov.did) if marker in r["value"]["text"]]
    on_bluesky = Counter(r["value"]["text"] for r in records)
    report = {
        "posts": len(ids), "publications": n_pubs, "takahe": len(posts_en) + len(replies), "bluesky": len(fr),
        "replies_by_visibility": dict(chaos.replies), "takahe_replies_by_visibility": dict(by_visibility),
        "events": chaos.events, "worker_restarts": worker.restarts, "total_s": round(time.monotonic() - started, 1),
        "drain": drain,
        "takahe_not_found_at_first_look": pubs.filter(channel__slug="dpe-en", ambiguous_since__isnull=False).count(),
        "takahe_reconciled_by_lookup": pubs.filter(channel__slug="dpe-en", last_error__startswith="reconciled").count(),
        "duplicates_takahe": sum(n - 1 for n in reply_counts.values() if n > 1)
        + sum(n - 1 for t, n in on_takahe.items() if n > 1),
        "duplicates_bluesky": sum(n - 1 for n in on_bluesky.values() if n > 1),
        "lost_takahe": sum(1 for n in reply_counts.values() if n == 0) + len(set(posts_en) - set(on_takahe)),
        "lost_bluesky": len(set(fr) - set(on_bluesky)),
    }
    print(f"\nchaos across Takahē and Bluesky: {report}")
    assert n_pubs >= 100 or posts < 34, report
    assert Counter(pubs.values_list("status", flat=True)) == {PS.SENT: n_pubs}, report
    assert set(chaos.replies) == set(VISIBILITIES) == set(by_visibility), report
    assert reply_counts == {post_id: 1 for post_id in chaos.questions}, report
    assert on_takahe == Counter({t: 1 for t in posts_en}), report
    assert on_bluesky == Counter({t: 1 for t in fr}), report
    assert all(reply_ids[post_id] == {pub.external_id} for post_id, pub in replies.items()), report
    assert {s["id"] for s in listed} == set(posts_en.values()), report
    assert {r["uri"] for r in records} == set(fr.values()), report
