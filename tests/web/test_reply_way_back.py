"""A reply goes back the way the question came (issue 21 item 1, issue 19 item 3), walked as a
public servant does with the Django test client:
- a message logged from a phone call is answered by a call-back task (the approved text and the
  number, marked done by a person, audited), never by a post on a platform;
- a message logged from an e-mail is answered by one e-mail through the outbox, never a post;
- the caller's name and number are personal data: not in the inbox list (HTML or API), shown
  on the message's page to people who may reply;
- a French mention of the English account is answered in French on the English account.
Each failed on main before the change (there the reply went out as a public post on the channel)."""
from __future__ import annotations

import json

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.test import Client
from django.urls import reverse

from workflows.constants import InboundStatus, PostState
from workflows.models import AuditEvent, InboundMessage, Post, Publication, ReplyDelivery
from workflows.services import relay
from workflows.services.delivery import post_deliver

pytestmark = pytest.mark.django_db

NUMBER = "613-555-0199"
ADDRESS = "g.tremblay@example.org"
QUESTION_FR = "Bonjour, je voudrais savoir si le bureau des passeports est ouvert le samedi matin."
ANSWER_FR = "Bonjour, oui : le bureau est ouvert le samedi de 9 h à midi."


def drain() -> list:
    """The relay and every task it enqueues, in this process (what a worker does)."""
    handled = []

    def inline(event_id, topic):
        handled.append((topic, relay.event_handle(event_id=event_id)))

    while relay.relay_outbox(enqueue=inline):
        pass
    return handled


@pytest.fixture
def dana(demo):
    client = Client()
    client.force_login(demo.dana)
    return client


def _log(client, *, medium: str, contact: str) -> InboundMessage:
    response = client.post(reverse("web-inbound-log"), {
        "medium": medium, "author": "Mme Tremblay", "contact": contact, "text": QUESTION_FR,
        "language": "fr", "channel": "dpe-fr",
    })
    assert response.status_code == 302, response.content[:2000]
    return InboundMessage.objects.get(id=int(response["Location"].rstrip("/").rsplit("/", 1)[1]))


def _reply(client, msg: InboundMessage):
    response = client.post(reverse("web-inbound", args=[msg.id]), {"text": ANSWER_FR, "rules_acknowledged": "on"})
    assert response.status_code == 302, response.content[:2000]
    return response, [str(m) for m in get_messages(response.wsgi_request)]


def test_a_phone_message_is_answered_by_a_call_back_task_never_a_post(dana, demo):
    msg = _log(dana, medium="phone", contact=NUMBER)
    response, said = _reply(dana, msg)
    post = Post.objects.get(in_reply_to=msg)
    assert not Publication.objects.filter(post=post).exists()
    task = ReplyDelivery.objects.get(post=post)
    assert (task.medium, task.status, task.to, task.language, task.body) == ("phone", "pending", NUMBER, "fr", ANSWER_FR)
    assert any(s.startswith("Call-back task created") for s in said), said
    assert not any("Reply sent" in s or "en ligne" in s for s in said), said
    # A worker woken by the approval does not fail it ("Nothing to publish") nor post it anywhere.
    drain()
    post_deliver(post_id=post.id)
    post.refresh_from_db()
    assert post.state == PostState.PUBLISHING and not Publication.objects.filter(post=post).exists()
    # The task is on the message's page, with the number and the text, for people who may reply.
    page = dana.get(response["Location"]).content.decode()
    assert NUMBER in page and "Mark the call as made" in page and "9 h à midi" in page
    done = dana.post(reverse("web-callback-done", args=[task.id]))
    assert done.status_code == 302
    task.refresh_from_db()
    post.refresh_from_db()
    msg.refresh_from_db()
    assert (task.status, task.done_by_id) == ("done", demo.dana.id)
    assert post.state == PostState.PUBLISHED and msg.status == InboundStatus.REPLIED
    event = AuditEvent.objects.get(post=post, verb="called_back")
    assert event.actor_id == demo.dana.id and NUMBER not in json.dumps(event.data)
    again = dana.post(reverse("web-callback-done", args=[task.id]))
    assert [str(m) for m in get_messages(again.wsgi_request)][-1].startswith("This call-back is already done")


def test_an_e_mail_message_is_answered_by_one_e_mail_through_the_outbox(dana, demo):
    msg = _log(dana, medium="email", contact=ADDRESS)
    mail.outbox.clear()
    _response, said = _reply(dana, msg)
    post = Post.objects.get(in_reply_to=msg)
    assert not Publication.objects.filter(post=post).exists()
    assert any("e-mailed to the citizen" in s for s in said), said
    assert [m for m in mail.outbox if m.to == [ADDRESS]] == []  # nothing before the relay runs
    drain()
    drain()
    (sent,) = [m for m in mail.outbox if m.to == [ADDRESS]]
    assert sent.body.strip() == ANSWER_FR and sent.subject == "Réponse à votre message"
    assert sent.extra_headers["Content-Language"] == "fr"
    post.refresh_from_db()
    assert post.state == PostState.PUBLISHED
    assert ReplyDelivery.objects.get(post=post).status == "sent"
    assert AuditEvent.objects.filter(post=post, verb="reply_emailed").count() == 1
    page = dana.get(reverse("web-post", args=[post.id])).content.decode()
    assert "E-mailed to the citizen on" in page


def test_the_callers_details_are_not_in_the_inbox_list_html_or_api(dana, demo):
    from rest_framework.test import APIClient

    from accounts.services import token_issue

    msg = _log(dana, medium="phone", contact=NUMBER)
    dana.get(reverse("web-inbound", args=[msg.id]))  # where logging leads (its "logged" message shown there)
    listing = dana.get(reverse("web-inbox")).content.decode()
    assert f"inbound-{msg.id}" in listing
    for needle in (NUMBER, "Tremblay"):
        assert needle not in listing, listing[max(0, listing.index(needle) - 300):listing.index(needle) + 100]
    assert "Caller (phone)" in listing
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(user=demo.dana)[1]}")
    rows = api.get("/api/v1/inbound/").content.decode()
    assert NUMBER not in rows and "Tremblay" not in rows
    # The detail (here: what claiming answers) reveals it to people who may reply.
    detail = api.post(f"/api/v1/inbound/{msg.id}/claim/", {}, format="json").json()
    assert detail["author"] == "Caller (phone)"
    assert detail["caller"] == {"name": "Mme Tremblay", "medium": "phone", "contact": NUMBER}
    page = dana.get(reverse("web-inbound", args=[msg.id])).content.decode()
    assert NUMBER in page and "Mme Tremblay" in page


def test_logging_refuses_a_message_without_a_way_back(dana):
    response = dana.post(reverse("web-inbound-log"), {
        "medium": "email", "author": "Mme Tremblay", "contact": "not an address", "text": QUESTION_FR,
        "language": "fr", "channel": "dpe-fr",
    })
    assert response.status_code == 400
    assert "Give the e-mail address to send the reply to." in response.content.decode()


def test_a_french_mention_of_the_english_account_is_answered_there_in_french(dana, demo, settings, tmp_path):
    from workflows.services.inbound import inbound_ingest

    settings.PUBLISH_LOG_PATH = str(tmp_path / "publications.log")
    msg, _ = inbound_ingest(by=demo.dana, channel="dpe-en", external_id="fr-mention-1", author="Alice",
                            text="@dpe_en " + QUESTION_FR, language="fr")
    _response, said = _reply(dana, msg)
    post = Post.objects.get(in_reply_to=msg)
    (pub,) = Publication.objects.filter(post=post)
    assert (pub.channel.slug, pub.language) == ("dpe-en", "fr")
    assert post_deliver(post_id=post.id) == "published"
    lines = [json.loads(x) for x in (tmp_path / "publications.log").read_text().splitlines()]
    (line,) = [x for x in lines if x["idempotency_key"] == pub.idempotency_key]
    assert (line["channel"], line["language"], line["text"]) == ("dpe-en", "fr", ANSWER_FR)


def test_an_e_mail_that_cannot_be_sent_fails_the_reply_truthfully_and_retry_sends_it(dana, demo, settings, monkeypatch):
    from workflows.services import inbound_manual
    from workflows.services.publishing import post_retry

    class Refusing:
        def send_messages(self, messages):
            raise ConnectionRefusedError("SMTP server refused the connection")

    settings.OUTBOX_MAX_ATTEMPTS = 1
    msg = _log(dana, medium="email", contact=ADDRESS)
    _reply(dana, msg)
    post = Post.objects.get(in_reply_to=msg)
    real = inbound_manual.get_connection
    monkeypatch.setattr(inbound_manual, "get_connection", lambda: Refusing())
    drain()
    post.refresh_from_db()
    delivery = ReplyDelivery.objects.get(post=post)
    assert (post.state, delivery.status) == (PostState.FAILED, "failed")
    assert "refused" in delivery.last_error
    page = dana.get(reverse("web-post", args=[post.id])).content.decode()
    assert "The e-mail could not be sent." in page and "E-mailed to the citizen" not in page
    drain()
    (told,) = [m for m in mail.outbox if m.to == ["dana@dpe.example"]]  # the author hears why, not "failed to publish"
    assert "could not be e-mailed" in told.subject and "refused" in told.body
    monkeypatch.setattr(inbound_manual, "get_connection", real)
    mail.outbox.clear()
    post_retry(post_id=post.id, by=demo.dana)
    drain()
    drain()
    post.refresh_from_db()
    assert post.state == PostState.PUBLISHED
    assert [m.to for m in mail.outbox if m.to != ["dana@dpe.example"]] == [[ADDRESS]]
    (told,) = [m for m in mail.outbox if m.to == ["dana@dpe.example"]]
    assert "was e-mailed to the citizen" in told.body and "is live" not in told.body


def test_only_people_who_may_reply_see_the_number_and_mark_the_call(dana, demo):
    msg = _log(dana, medium="phone", contact=NUMBER)
    _reply(dana, msg)
    task = ReplyDelivery.objects.get(post__in_reply_to=msg)
    omar, rami = Client(), Client()
    omar.force_login(demo.omar)  # another organisation: the task does not exist for him
    rami.force_login(demo.rami)  # a reviewer without the draft permission: may not reply
    assert omar.post(reverse("web-callback-done", args=[task.id])).status_code == 404
    refused = rami.post(reverse("web-callback-done", args=[task.id]))
    assert refused.status_code == 302
    task.refresh_from_db()
    assert task.status == "pending"
    page = rami.get(reverse("web-inbound", args=[msg.id]))
    assert page.status_code == 200
    html = page.content.decode()
    assert NUMBER not in html and "Mme Tremblay" not in html and "Mark the call as made" not in html
    assert "Caller (phone)" in html
