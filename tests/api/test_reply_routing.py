"""A reply goes back where the question came from, in the question's language (issue 19 item 3):
a French mention of the English account is answered in French on the English account; a reply
never answers 200 and then publishes nothing; a post whose languages no channel takes is refused
at create/submit with a code. Each of these failed on main before the change."""
from __future__ import annotations

import pytest

from tests.platforms.conftest import masto, masto_channels, mastodon_server  # noqa: F401 - fixtures
from workflows.constants import PostState
from workflows.models import Post, Publication
from workflows.services.delivery import post_deliver

from .conftest import assert_problem

pytestmark = pytest.mark.django_db

FR_QUESTION = "@dpe_en Bonjour, est-ce que le bureau des passeports est ouvert samedi matin?"
FR_ANSWER = "Bonjour! Oui, le bureau est ouvert samedi de 9 h à midi."
EN_ANSWER = "Hello! Yes, the office is open on Saturday from 9 to noon."


def _french_mention(client, masto=None) -> dict:  # noqa: F811
    status = masto.post_as("alice", FR_QUESTION, language="fr") if masto is not None else {"id": "fr-q-1"}
    made = client.post("/api/v1/inbound/", {
        "channel": "dpe-en", "external_id": status["id"], "author": "Alice", "text": FR_QUESTION,
        "language": "fr", "author_handle": "alice", "thread": {"external_id": status["id"]},
    }, format="json")
    assert made.status_code == 201, made.content
    return made.json()


def test_french_reply_to_a_french_mention_of_the_english_account_goes_out_there_in_french(
        client_for, masto, masto_channels):  # noqa: F811
    dana = client_for("dana")
    msg = _french_mention(dana, masto)
    made = dana.post("/api/v1/posts/", {"kind": "reply", "in_reply_to": msg["id"], "texts": {"fr": FR_ANSWER},
                                        "rules_acknowledged": True}, format="json")
    assert made.status_code == 201, made.content
    sent = dana.post(f"/api/v1/posts/{made.json()['id']}/submit/", {}, format="json")
    assert sent.status_code == 200, sent.content
    assert sent.json()["state"] == "publishing"
    post = Post.objects.get(id=made.json()["id"])
    assert post.state == PostState.PUBLISHING
    (pub,) = Publication.objects.filter(post=post)
    assert (pub.channel.slug, pub.language) == ("dpe-en", "fr")
    assert post_deliver(post_id=post.id) == "published"
    (reply,) = masto.statuses_of("dpe")
    assert reply["text"] == f"@alice {FR_ANSWER}"
    assert reply["in_reply_to_id"] == msg["thread"]["external_id"]
    assert Publication.objects.get(post=post).status == "sent"


def test_english_reply_to_a_french_mention_is_refused_in_the_readers_language(client_for):
    dana = client_for("dana")
    msg = _french_mention(dana)
    made = dana.post("/api/v1/posts/?lang=fr", {"kind": "reply", "in_reply_to": msg["id"], "texts": {"en": EN_ANSWER},
                                        "rules_acknowledged": True}, format="json", HTTP_ACCEPT_LANGUAGE="fr")
    if made.status_code == 201:  # refused at create or at submit, never accepted
        made = dana.post(f"/api/v1/posts/{made.json()['id']}/submit/?lang=fr", {}, format="json")
    body = assert_problem(made, 422)
    assert "rédigez la réponse en français" in str(body), body
    assert not Publication.objects.filter(post__in_reply_to_id=msg["id"]).exists()


def test_a_bilingual_reply_to_a_french_mention_is_refused_not_half_published(client_for):
    """EN+FR to a French question: the English would never go out (a reply is in the citizen's
    language only), so it is refused with a code instead of publishing one and dropping the other."""
    dana = client_for("dana")
    msg = _french_mention(dana)
    refused = dana.post("/api/v1/posts/", {"kind": "reply", "in_reply_to": msg["id"],
                                           "texts": {"en": EN_ANSWER, "fr": FR_ANSWER},
                                           "rules_acknowledged": True}, format="json")
    body = assert_problem(refused, 422)
    assert body["code"] == "reply.extra_language", body
    assert not Post.objects.filter(in_reply_to_id=msg["id"]).exists()


def test_a_reply_goes_on_the_account_the_citizen_wrote_to(client_for):
    dana = client_for("dana")
    msg = _french_mention(dana)
    refused = dana.post("/api/v1/posts/", {"kind": "reply", "in_reply_to": msg["id"], "channels": ["dpe-fr"],
                                           "texts": {"fr": FR_ANSWER}, "rules_acknowledged": True}, format="json")
    body = assert_problem(refused, 422)
    assert body["code"] == "reply.other_channel", body


def test_a_post_no_channel_takes_is_refused_at_create_never_accepted_then_failed(client_for):
    """A reply (not to a message) in French on the English account would publish nothing: 422
    with a code at create, instead of 200 `publishing` and then "Nothing to publish"."""
    dana = client_for("dana")
    refused = dana.post("/api/v1/posts/?lang=fr", {"kind": "reply", "channels": ["dpe-en"], "texts": {"fr": FR_ANSWER},
                                           "rules_acknowledged": True}, format="json",
                        HTTP_ACCEPT_LANGUAGE="fr")
    body = assert_problem(refused, 422)
    assert body["code"] == "reply.nothing_to_publish", body
    assert "Rien ne serait publié" in body["detail"], body
    assert not Post.objects.filter(author__username="dana", texts__body=FR_ANSWER).exists()


def test_a_french_reply_on_the_english_account_is_held_to_that_accounts_length(client_for):
    """The length rule measures the French text against the channel it goes out on (on main, the
    English account "took no French", so a French reply of any length passed the check)."""
    dana = client_for("dana")
    msg = _french_mention(dana)
    refused = dana.post("/api/v1/posts/", {"kind": "reply", "in_reply_to": msg["id"], "texts": {"fr": FR_ANSWER * 10},
                                           "rules_acknowledged": True}, format="json")
    body = assert_problem(refused, 422)
    assert any(v["code"] == "length.over" for v in body.get("violations", [])), body
