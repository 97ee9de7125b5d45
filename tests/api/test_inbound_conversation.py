"""The inbound API carries what a reply needs (kind, source, visibility, author handle, thread
references) and POST /api/v1/inbound/{id}/engage/ likes or boosts (issue 10). The fields and the
route did not exist before."""
from __future__ import annotations

import pytest

from tests.platforms.conftest import masto, masto_channels, mastodon_server  # noqa: F401 - fixtures
from workflows.models import Engagement, InboundMessage, Publication
from workflows.services.delivery import post_deliver

from .conftest import assert_problem

pytestmark = pytest.mark.django_db

THREADED = {
    "channel": "dpe-en", "external_id": "at://did:plc:alice/app.bsky.feed.post/3k1", "author": "Alice",
    "text": "Is the passport office open on Saturday?", "kind": "reply", "visibility": "direct",
    "author_handle": "alice.example", "source": "platform",
    "thread": {"uri": "at://did:plc:alice/app.bsky.feed.post/3k1", "cid": "bafyparent",
               "root_uri": "at://did:plc:gov/app.bsky.feed.post/3k0", "root_cid": "bafyroot"},
}


def test_ingest_accepts_and_returns_the_thread_fields(client_for):
    dana = client_for("dana")
    made = dana.post("/api/v1/inbound/", THREADED, format="json")
    assert made.status_code == 201, made.content
    body = made.json()
    assert (body["kind"], body["visibility"], body["author_handle"], body["source"]) == \
        ("reply", "direct", "alice.example", "platform")
    assert body["thread"] == {"external_id": "", "uri": THREADED["thread"]["uri"], "cid": "bafyparent",
                              "root_uri": THREADED["thread"]["root_uri"], "root_cid": "bafyroot"}
    msg = InboundMessage.objects.get(id=body["id"])
    assert msg.thread == THREADED["thread"] and msg.visibility == "direct"
    listed = dana.get("/api/v1/inbound/").json()["results"]
    assert next(m for m in listed if m["id"] == body["id"])["thread"]["cid"] == "bafyparent"


def test_ingest_defaults_and_validation(client_for):
    dana = client_for("dana")
    plain = dana.post("/api/v1/inbound/", {"channel": "dpe-en", "external_id": "p1", "author": "A",
                                           "text": "Hello, is the office open today?"}, format="json").json()
    assert (plain["kind"], plain["source"], plain["visibility"], plain["author_handle"]) == ("mention", "api", "public", "")
    bad = {"channel": "dpe-en", "external_id": "p2", "author": "A", "text": "Hello"}
    assert_problem(dana.post("/api/v1/inbound/", {**bad, "visibility": "friends"}, format="json"), 400, field="visibility")
    assert_problem(dana.post("/api/v1/inbound/", {**bad, "kind": "shout"}, format="json"), 400, field="kind")
    assert_problem(dana.post("/api/v1/inbound/", {**bad, "thread": {"parent": "x"}}, format="json"), 400, field="thread.parent")


def test_a_reply_to_an_ingested_message_answers_in_its_thread(client_for, demo, masto, masto_channels):  # noqa: F811
    question = masto.post_as("alice", "@dpe is the office open on Saturday?", visibility="unlisted")
    dana = client_for("dana")
    body = dana.post("/api/v1/inbound/", {
        "channel": "dpe-en", "external_id": question["id"], "author": "Alice", "text": "@dpe is the office open on Saturday?",
        "author_handle": "alice", "visibility": "unlisted", "thread": {"external_id": question["id"]},
    }, format="json").json()
    from workflows.services.posts import reply_send

    post = reply_send(inbound_id=body["id"], by=demo.dana, text="Yes, from 9 to 12.", language="en", rules_acknowledged=True)
    assert post_deliver(post_id=post.id) == "published"
    (reply,) = masto.statuses_of("dpe")
    assert (reply["in_reply_to_id"], reply["visibility"]) == (question["id"], "unlisted")
    assert reply["text"] == "@alice Yes, from 9 to 12."
    assert Publication.objects.get(post=post).external_id == reply["id"]


def test_engage_endpoint(client_for, demo, masto, masto_channels, settings, django_capture_on_commit_callbacks):  # noqa: F811
    settings.CELERY_BROKER_URL = ""
    status = masto.post_as("alice", "@dpe thanks for the quick answer!")
    dana = client_for("dana")
    msg = dana.post("/api/v1/inbound/", {"channel": "dpe-en", "external_id": status["id"], "author": "Alice",
                                         "text": "@dpe thanks for the quick answer!",
                                         "thread": {"external_id": status["id"]}}, format="json").json()
    with django_capture_on_commit_callbacks(execute=True):
        first = dana.post(f"/api/v1/inbound/{msg['id']}/engage/", {"action": "like"}, format="json")
    assert first.status_code == 201, first.content
    assert first.json()["action"] == "like" and first.json()["inbound"] == msg["id"]
    again = dana.post(f"/api/v1/inbound/{msg['id']}/engage/", {"action": "like"}, format="json")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert again.json()["status"] == "done"
    assert len(masto.favourites) == 1
    assert_problem(dana.post(f"/api/v1/inbound/{msg['id']}/engage/", {"action": "share"}, format="json"), 400, field="action")
    assert_problem(client_for("rami").post(f"/api/v1/inbound/{msg['id']}/engage/", {"action": "boost"}, format="json"), 403)
    assert_problem(client_for("omar").post(f"/api/v1/inbound/{msg['id']}/engage/", {"action": "boost"}, format="json"), 404)
    assert Engagement.objects.count() == 1
    metrics = dana.get("/api/v1/metrics/?channel=dpe-en").json()["channels"][0]
    assert metrics["engagements"] == {"like": 1, "boost": 0}
