"""The Mastodon adapter's scenarios against two real Mastodon-API servers: the local one this team
wrote (tests/platforms/mastodon_server.py) and Takahē (tests/platforms/takahe.py; skipped, loudly,
where it is not built). Everything is counted on the server, never in Parley: for Takahē through
its API (a parent's context as the government account, the status as seen by its author).

Takahē differs from Mastodon where these tests say so: it stores no status language, its local
accounts' `acct` is `user@domain`, it answers an unknown token with 400 (not 401), it counts a
status's length in code points whatever its advertised `characters_reserved_per_url`, and it
lists no private or direct status in an account's statuses, even to the author.
"""
from __future__ import annotations

import secrets
import threading
import time
from datetime import timedelta

import pytest
from django.conf import settings as dj_settings
from django.utils import timezone

from workflows.channels import get_adapter
from workflows.channels.base import Limits, OutboundMessage, PermanentError, ThreadRef
from workflows.constants import PostState
from workflows.constants import PublicationStatus as PS
from workflows.models import InboundMessage, Post, Publication
from workflows.services.delivery import post_deliver, publications_reconcile_stale
from workflows.services.listening import channel_listen, listening_stream_add
from workflows.services.posts import reply_send

from .takahe import Peer

pytestmark = pytest.mark.django_db

VISIBILITIES = ["public", "unlisted", "private", "direct"]

def _heard(demo, peer: Peer, text: str, *, visibility: str = "public", citizen: str = "alice",
           slug: str = "dpe-en", spoiler_text: str = "", language: str | None = None):
    """A citizen mentions the channel's account on the server; Parley hears it (after the
    server has made the notification)."""
    gov = peer.gov_en if slug == "dpe-en" else peer.gov_fr
    question = peer.post_as(citizen, f"@{gov.username} {text}", visibility=visibility,
                            spoiler_text=spoiler_text, language=language)
    peer.wait_mentioned(gov, question["id"])
    channel_listen(channel_id=demo.channel(slug).id)
    return question, InboundMessage.objects.get(channel=demo.channel(slug), external_id=question["id"])


def _settle_later(post_id: int, *, wait: float) -> str | None:
    """What the beat sweeper does once the claim is stale: reconcile (look), then deliver."""
    time.sleep(wait)
    later = timezone.now() + timedelta(seconds=dj_settings.PUBLISH_CLAIM_TIMEOUT + 1)
    publications_reconcile_stale(now=later)
    return post_deliver(post_id=post_id, now=later + timedelta(seconds=dj_settings.PUBLISH_BACKOFF_MAX + 1))


def _unclear_next_send(monkeypatch, peer: Peer, seconds: float) -> dict:
    """The next status sent lands on the server but its answer comes after the client's timeout:
    Takahē is SIGSTOPped just before the POST leaves (preflight has passed) and SIGCONTed
    `seconds` later; the local server stores it at once and answers late."""
    from workflows.channels.mastodon import MastodonAdapter

    original = MastodonAdapter.send
    state = {"armed": True, "thawed": threading.Event()}

    def send(self, msg):
        if not state.pop("armed", False):
            return original(self, msg)
        if peer.name == "takahe":
            peer.server.freeze()
            timer = threading.Timer(seconds, lambda: (peer.server.thaw(), state["thawed"].set()))
            timer.start()
            state["timer"] = timer
            return original(self, msg)
        peer.server.answer_delay = seconds
        began = time.monotonic()
        try:
            return original(self, msg)
        finally:
            peer.server.answer_delay = 0.0
            time.sleep(max(0.0, seconds + 0.1 - (time.monotonic() - began)))  # its late answer is out
            state["thawed"].set()

    monkeypatch.setattr(MastodonAdapter, "send", send)
    return state


# --- listening --------------------------------------------------------------------------------

def test_listening_hears_mentions_direct_messages_and_a_hashtag(demo, peer_channels):
    peer = peer_channels
    chan = demo.channel("dpe-en")
    tag = f"parks{secrets.token_hex(3)}"
    listening_stream_add(channel_id=chan.id, query=f"#{tag}")
    mention = peer.post_as("alice", "@dpe_en When does the passport office open on Saturdays?")
    direct = peer.post_as("bob", "@dpe_en my file number is 12345, can you help?", visibility="direct")
    community = peer.post_as("chloe", f"The new #{tag} plan looks great")
    peer.wait_mentioned(peer.gov_en, direct["id"])
    peer.wait_mentioned(peer.gov_en, mention["id"])
    channel_listen(channel_id=chan.id)
    got = {m.external_id: m for m in InboundMessage.objects.filter(
        channel=chan, external_id__in=[mention["id"], direct["id"], community["id"]])}
    assert (got[mention["id"]].kind, got[mention["id"]].visibility) == ("mention", "public")
    assert (got[direct["id"]].kind, got[direct["id"]].visibility) == ("direct", "direct")
    assert (got[community["id"]].kind, got[community["id"]].visibility) == ("community", "public")
    # Takahē shows another local account's acct as user@domain (users/models/identity.py,
    # to_mastodon_json: `self.handle` unless it is the caller's own account); Mastodon shows `user`.
    assert got[mention["id"]].author_handle.split("@")[0] == "alice"
    # Nothing heard twice; a later mention is picked up from the cursor.
    before = InboundMessage.objects.filter(channel=chan).count()
    later = peer.post_as("alice", "@dpe_en and on Sundays?")
    peer.wait_mentioned(peer.gov_en, later["id"])
    channel_listen(channel_id=chan.id)
    assert InboundMessage.objects.filter(channel=chan).count() == before + 1
    assert InboundMessage.objects.filter(channel=chan, external_id=later["id"]).exists()


# --- threaded reply, per visibility -----------------------------------------------------------

@pytest.mark.parametrize("visibility", VISIBILITIES)
def test_threaded_reply_never_wider_than_the_citizen(demo, peer_channels, visibility):
    peer = peer_channels
    question, inbound = _heard(demo, peer, "where do I renew my permit?", visibility=visibility)
    assert inbound.visibility == visibility
    post = reply_send(inbound_id=inbound.id, by=demo.dana, text="Thank you: renewals are on our website.",
                      language="en", rules_acknowledged=True)
    assert post_deliver(post_id=post.id) == "published"
    (reply,) = peer.replies_by(peer.gov_en, question["id"])
    assert reply["in_reply_to_id"] == question["id"]
    assert reply["visibility"] == visibility  # the channel posts publicly: the citizen's is narrower or equal
    assert [m["username"] for m in reply["mentions"]] == ["alice"]
    assert Publication.objects.get(post=post).external_id == reply["id"]
    if peer.stores_language:
        assert reply["language"] == "en"
    else:  # Takahē stores no language: `"language": None` always (activities/models/post.py)
        assert reply["language"] is None


# --- the unclear send, per visibility ---------------------------------------------------------

@pytest.mark.parametrize("visibility", VISIBILITIES)
def test_unclear_send_publishes_exactly_once(demo, peer_channels, visibility, monkeypatch, settings):
    """The server is frozen (Takahē: SIGSTOP) past the client's timeout while the reply is being
    sent, then thawed: it stores the status after the client gave up. Parley looks before it
    sends again: exactly one status, counted on the server."""
    peer = peer_channels
    settings.PUBLISH_HTTP_TIMEOUT = 2
    settings.MASTODON_INFLIGHT_SECONDS = 5.0
    question, inbound = _heard(demo, peer, "is the pool open today?", visibility=visibility)
    post = reply_send(inbound_id=inbound.id, by=demo.dana, text="Yes, until 21:00 today.",
                      language="en", rules_acknowledged=True)
    started = time.monotonic()
    state = _unclear_next_send(monkeypatch, peer, seconds=3.0)
    outcome = post_deliver(post_id=post.id)
    pub = Publication.objects.get(post=post)
    assert "armed" not in state, f"nothing was sent: {outcome}, {pub.last_error}"
    assert state["thawed"].wait(10)
    assert pub.ambiguous_since is not None or "reconciled" in pub.last_error, (outcome, pub.last_error)
    if outcome != "published":
        wait = settings.MASTODON_INFLIGHT_SECONDS + 0.5 - (time.monotonic() - started)
        settled = _settle_later(post.id, wait=max(0.0, wait))
        pub.refresh_from_db()
        assert settled == "published", (pub.status, pub.attempts, pub.last_error)
    replies = peer.replies_by(peer.gov_en, question["id"])
    pub.refresh_from_db()
    print(f"\n{peer.name}/{visibility}: {len(replies)} status(es); first outcome {outcome}; {pub.last_error}")
    assert len(replies) == 1, [(r["id"], r["visibility"]) for r in replies]
    pub.refresh_from_db()
    assert (pub.status, pub.external_id) == (PS.SENT, replies[0]["id"])
    assert replies[0]["visibility"] == visibility


# --- both languages or neither ----------------------------------------------------------------

def _official(demo, marker: str):
    from tests.celery import flows

    return flows.official(demo, en=f"Notice {marker}: the office is closed on Monday.",
                          fr=f"Avis {marker} : le bureau est fermé lundi.")


def test_both_languages_go_out_each_on_its_account(demo, peer_channels):
    peer = peer_channels
    marker = secrets.token_hex(4)
    post = _official(demo, marker)
    assert post_deliver(post_id=post.id) == "published"
    (en,) = peer.statuses_by_text(peer.gov_en, f"Notice {marker}")
    (fr,) = peer.statuses_by_text(peer.gov_fr, f"Avis {marker}")
    assert peer.statuses_by_text(peer.gov_en, f"Avis {marker}") == []
    assert peer.statuses_by_text(peer.gov_fr, f"Notice {marker}") == []
    assert {p.language: p.external_id for p in Publication.objects.filter(post=post)} == {"en": en["id"], "fr": fr["id"]}


def test_neither_language_goes_out_when_one_account_refuses(demo, peer_channels, monkeypatch):
    """The French account's token is refused: preflight stops both before the first leaves.
    (Takahē answers an unknown token with 400 "Invalid Bearer token", not 401: api/middleware.py.)"""
    peer = peer_channels
    from .takahe import PEER_TOKEN_ENV

    monkeypatch.setenv(PEER_TOKEN_ENV["fr"], "revoked-" + secrets.token_hex(8))
    marker = secrets.token_hex(4)
    post = _official(demo, marker)
    post_deliver(post_id=post.id)
    assert Post.objects.get(id=post.id).state != PostState.PUBLISHED
    assert peer.statuses_by_text(peer.gov_en, f"Notice {marker}") == []
    assert peer.statuses_by_text(peer.gov_fr, f"Avis {marker}") == []


# --- retract, like and boost, limits ----------------------------------------------------------

def test_retract_deletes_the_status_on_the_server(demo, peer_channels):
    from workflows.services.publishing import post_retract

    peer = peer_channels
    question, inbound = _heard(demo, peer, "can you confirm the hours?")
    post = reply_send(inbound_id=inbound.id, by=demo.dana, text="Open 9 to 5, Monday to Friday.",
                      language="en", rules_acknowledged=True)
    assert post_deliver(post_id=post.id) == "published"
    (reply,) = peer.replies_by(peer.gov_en, question["id"])
    post_retract(post_id=post.id, by=demo.cora)
    assert peer.status(reply["id"], as_=peer.gov_en.username) is None
    assert peer.replies_by(peer.gov_en, question["id"]) == []
    get_adapter(demo.channel("dpe-en")).retract(reply["id"])  # again: already gone, no error


def test_like_and_boost_once_each_counted_on_the_server(demo, peer_channels):
    peer = peer_channels
    status = peer.post_as("alice", f"Loving the new #parks{secrets.token_hex(2)} plan")
    adapter = get_adapter(demo.channel("dpe-en"))
    target = ThreadRef(external_id=status["id"], author_handle="alice", visibility="public")
    assert not adapter.engaged("like", target)
    for _ in range(2):  # a retry after an unclear outcome is harmless
        adapter.engage("like", target, "e-like")
        adapter.engage("boost", target, "e-boost")
    assert adapter.engaged("like", target) and adapter.engaged("boost", target)
    seen = peer.status(status["id"], as_="alice")
    assert (seen["favourites_count"], seen["reblogs_count"]) == (1, 1)
    mine = peer.status(status["id"], as_=peer.gov_en.username)
    assert mine["favourited"] and mine["reblogged"]


def test_limits_come_from_the_instance(demo, peer_channels):
    limits = get_adapter(demo.channel("dpe-en")).limits()
    assert (limits.max_length, limits.url_length) == (500, 23)  # what both servers publish


def _takahe_like(peer: Peer) -> None:
    """The local server answers as Takahē does (tests/platforms/mastodon_server.py `software`)."""
    if peer.name == "local":
        peer.server.software = "takahe"


def test_a_refused_token_is_the_credentials_error(demo, peer_channels, monkeypatch):
    """Takahē answers an unknown or revoked token with 400 "Invalid Bearer token" in plain text
    (api/middleware.py), not Mastodon's 401: it is still the credentials error that tells a
    person to fix the token, at test connection, at preflight and at send."""
    from workflows.channels.base import AuthError
    from workflows.services.channels import channel_test_connection

    from .takahe import PEER_TOKEN_ENV

    peer = peer_channels
    _takahe_like(peer)
    monkeypatch.setenv(PEER_TOKEN_ENV["en"], "revoked-" + secrets.token_hex(8))
    chan = demo.channel("dpe-en")
    with pytest.raises(AuthError, match=r"access token \(400\)"):
        get_adapter(chan).verify()
    msg = OutboundMessage(idempotency_key=f"k-{secrets.token_hex(4)}", body="Hello", language="en",
                          created_at=timezone.now(), visibility="public")
    with pytest.raises(AuthError):  # not verify_credentials: the answer's body says the token is invalid
        get_adapter(chan).send(msg)
    result = channel_test_connection(channel_id=chan.id, by=demo.admin)
    assert (result["ok"], result["kind"]) == (False, "credentials"), result
    marker = secrets.token_hex(4)
    post = _official(demo, marker)
    post_deliver(post_id=post.id)
    errors = list(Publication.objects.filter(post=post).values_list("last_error", flat=True))
    assert any("credentials" in e and "fix the token" in e for e in errors), errors
    assert peer.statuses_by_text(peer.gov_en, marker) == [] and peer.statuses_by_text(peer.gov_fr, marker) == []


LONG_URL_BODY = "Details: https://canada.ca/" + "x" * 122 + " " + "y" * 426  # 576 code points, 459 by Mastodon's rule


def test_a_long_url_is_counted_as_the_server_counts_it(demo, peer_channels):
    """Takahē advertises characters_reserved_per_url 23 (api/views/instance.py) but refuses any
    status longer than its limit in code points (api/views/statuses.py post_status:
    `len(details.status) > Config.system.post_length` → 400 "Status is too long"). Parley reads
    the server's software from its instance document and counts the stricter way there: the
    preflight refuses the text before anything leaves (never a permanent failure mid-post), the
    channel records what its server counts, and the guideline and live counter count the same."""
    from workflows.models import Channel
    from workflows.services.engine import text_length_for

    peer = peer_channels
    _takahe_like(peer)
    msg = OutboundMessage(idempotency_key=f"k-{secrets.token_hex(4)}", body=LONG_URL_BODY, language="en",
                          created_at=timezone.now(), visibility="public")
    adapter = get_adapter(demo.channel("dpe-en"))
    assert adapter.length_of(msg, Limits(max_length=500, unit="chars", url_length=23)) == 459
    limits = adapter.limits()
    assert (limits.max_length, limits.url_length, limits.counts_code_points) == (500, 23, True)
    assert adapter.length_of(msg, limits) == 576
    with pytest.raises(PermanentError, match="576"):
        adapter.preflight([msg])
    marker = secrets.token_hex(4)
    from tests.celery import flows

    post = flows.official(demo, en=f"{marker} {LONG_URL_BODY}"[:len(LONG_URL_BODY)], fr=f"Avis {marker} : lien.")
    post_deliver(post_id=post.id)
    assert Post.objects.get(id=post.id).state != PostState.PUBLISHED
    assert not Publication.objects.filter(post=post, status=PS.SENT).exists()
    assert peer.statuses_by_text(peer.gov_fr, f"Avis {marker}") == []  # neither language went out
    assert peer.statuses_by_text(peer.gov_en, "y" * 400) == []
    channel = Channel.objects.get(slug="dpe-en")
    assert channel.counts_code_points
    assert text_length_for(channel)(LONG_URL_BODY) == 576  # the guideline and the live counter


def test_a_long_url_counts_as_23_on_mastodon(demo, masto_channels, masto):
    """The same text on a server that says it is Mastodon (the local server; Takahē is never
    Mastodon): counted 459, it passes preflight and is published, counted on the server."""
    msg = OutboundMessage(idempotency_key=f"k-{secrets.token_hex(4)}", body=LONG_URL_BODY, language="en",
                          created_at=timezone.now(), visibility="public")
    adapter = get_adapter(demo.channel("dpe-en"))
    assert not adapter.limits().counts_code_points
    adapter.preflight([msg])
    adapter.send(msg)
    assert [s["text"] for s in masto.statuses_of("dpe")] == [LONG_URL_BODY]


UNKNOWN_STATUS_ID = "1"  # never a status on either server (Takahē's ids are time-based, the local's large)


def _unknown_parent(inbound: InboundMessage) -> None:
    """The citizen's message now names a status the server does not know."""
    InboundMessage.objects.filter(id=inbound.id).update(
        external_id=UNKNOWN_STATUS_ID, thread={**(inbound.thread or {}), "external_id": UNKNOWN_STATUS_ID})


def test_reply_to_an_unknown_status_is_held_at_preflight(demo, peer_channels):
    """A parent the server does not know (never was, or gone): preflight holds the reply for a
    person; nothing leaves (Takahē would publish it top-level)."""
    peer = peer_channels
    _takahe_like(peer)
    question, inbound = _heard(demo, peer, "where is my refund?")
    _unknown_parent(inbound)
    post = reply_send(inbound_id=inbound.id, by=demo.dana, text="We sent it on Tuesday.",
                      language="en", rules_acknowledged=True)
    post_deliver(post_id=post.id)
    assert list(Publication.objects.filter(post=post).values_list("status", flat=True)) == [PS.HELD]
    assert peer.statuses_by_text(peer.gov_en, "We sent it on Tuesday.") == []


def test_a_reply_published_outside_its_thread_is_deleted_and_held(demo, peer_channels, monkeypatch):
    """The parent passed preflight but the server does not thread the reply under it (Takahē
    drops an in_reply_to_id it does not know and publishes top-level): Parley checks the
    returned `in_reply_to_id`, deletes the stray status and holds the reply for a person,
    audited. Counted on the server: nothing of it is left."""
    from workflows.channels.mastodon import MastodonAdapter
    from workflows.models import AuditEvent

    peer = peer_channels
    _takahe_like(peer)
    question, inbound = _heard(demo, peer, "is my permit ready?")
    _unknown_parent(inbound)
    monkeypatch.setattr(MastodonAdapter, "parent_exists", lambda self, msg: None)  # gone after preflight
    post = reply_send(inbound_id=inbound.id, by=demo.dana, text="Your permit is ready for pick-up.",
                      language="en", rules_acknowledged=True)
    post_deliver(post_id=post.id)
    pub = Publication.objects.get(post=post)
    assert pub.status == PS.HELD, (pub.status, pub.last_error)
    assert "not under status 1" in pub.last_error and "deleted" in pub.last_error
    assert Post.objects.get(id=post.id).state != PostState.PUBLISHED
    assert peer.statuses_by_text(peer.gov_en, "Your permit is ready") == []
    held = [e.data for e in AuditEvent.objects.filter(post=post, verb="held")]
    assert [d["code"] for d in held] == ["platform.reply_unthreaded"], held


def test_french_mention_of_the_english_account_is_answered_in_french_there(demo, peer_channels):
    peer = peer_channels
    question, inbound = _heard(demo, peer, "Bonjour, à quelle heure ouvre le bureau des passeports samedi ?",
                               language="fr")
    post = reply_send(inbound_id=inbound.id, by=demo.dana, text="Bonjour : le bureau ouvre à 9 h le samedi.",
                      language="fr", rules_acknowledged=True)
    assert post_deliver(post_id=post.id) == "published"
    (reply,) = peer.replies_by(peer.gov_en, question["id"])
    assert "le bureau ouvre à 9 h" in reply["content"]
    assert peer.replies_by(peer.gov_fr, question["id"]) == []
    if peer.stores_language:
        assert reply["language"] == "fr"
