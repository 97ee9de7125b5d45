"""Issue 19 §4: the context the citizen gave travels with the reply.

- A content warning (Mastodon's `spoiler_text`) is stored when listening, shown in the inbox (web
  and API), carried onto the reply (editable) and sent as the reply's `spoiler_text`.
- A reply whose parent was deleted before it was sent is held for a person (nothing published,
  not failed silently): the post page says why, in the reader's language, and the hold is audited.
Before issue 19 the warning was dropped and the reply went out (Takahē threads it to the deleted
status; Mastodon refuses it with 404, a plain failure)."""
from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from workflows.constants import PublicationStatus as PS
from workflows.models import AuditEvent, InboundMessage, Publication
from workflows.services.delivery import post_deliver
from workflows.services.listening import channel_listen
from workflows.services.posts import reply_send
from workflows.services.publishing import post_retry

pytestmark = pytest.mark.django_db

CW = "Deuil / bereavement"


def _heard(demo, masto, text="@dpe my father died; how do I close his file?", **kwargs):
    question = masto.post_as("alice", text, **kwargs)
    channel_listen(channel_id=demo.channel("dpe-en").id)
    return question, InboundMessage.objects.get(channel=demo.channel("dpe-en"), external_id=question["id"])


def _reply(demo, inbound, **kwargs):
    return reply_send(inbound_id=inbound.id, by=demo.dana, text="We are sorry for your loss; we will call you today.",
                      language="en", rules_acknowledged=True, **kwargs)


def test_the_warning_is_stored_and_shown_in_the_inbox(client, demo, masto, masto_channels):
    _question, inbound = _heard(demo, masto, spoiler_text=CW)
    assert inbound.content_warning == CW
    api = APIClient()
    api.force_authenticate(demo.dana)
    listed = api.get("/api/v1/inbound/").json()["results"]
    assert next(m for m in listed if m["id"] == inbound.id)["content_warning"] == CW
    assert api.post(f"/api/v1/inbound/{inbound.id}/claim/", {}, format="json").json()["content_warning"] == CW
    client.force_login(demo.dana)
    assert CW in client.get("/inbox/").content.decode()
    page = client.get(f"/inbox/{inbound.id}/").content.decode()
    assert 'id="content-warning"' in page and CW in page
    assert f'value="{CW}"' in page  # the reply form carries it, editable


def test_the_reply_carries_the_warning_as_spoiler_text(demo, masto, masto_channels):
    question, inbound = _heard(demo, masto, spoiler_text=CW)
    post = _reply(demo, inbound)
    assert post.content_warning == CW
    assert post_deliver(post_id=post.id) == "published"
    (reply,) = [s for s in masto.statuses_of("dpe") if s["in_reply_to_id"] == question["id"]]
    assert reply["spoiler_text"] == CW


def test_the_warning_is_editable_on_the_reply(client, demo, masto, masto_channels):
    question, inbound = _heard(demo, masto, spoiler_text=CW)
    client.force_login(demo.dana)
    answer = client.post(f"/inbox/{inbound.id}/", {
        "text": "We are sorry for your loss; we will call you today.", "rules_acknowledged": "on",
        "content_warning": "Deuil"})
    assert answer.status_code == 302, answer.content.decode()[:2000]
    post = inbound.replies.get()
    assert post.content_warning == "Deuil"
    assert post_deliver(post_id=post.id) == "published"
    (reply,) = [s for s in masto.statuses_of("dpe") if s["in_reply_to_id"] == question["id"]]
    assert reply["spoiler_text"] == "Deuil"
    # And none when the person clears it; none when the citizen gave none.
    _q2, plain = _heard(demo, masto, "@dpe where is the form?")
    assert _reply(demo, plain).content_warning == ""
    _q3, warned = _heard(demo, masto, "@dpe another sad question", spoiler_text=CW)
    assert _reply(demo, warned, content_warning="").content_warning == ""


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_a_reply_to_a_deleted_post_is_held_for_a_person(client, demo, masto, masto_channels, lang):
    question, inbound = _heard(demo, masto)
    post = _reply(demo, inbound)
    masto.delete_status(question["id"])  # the citizen deleted it before the reply went out
    assert post_deliver(post_id=post.id) == "failed"
    assert masto.statuses_of("dpe") == []  # nothing published
    pub = Publication.objects.get(post=post)
    assert pub.status == PS.HELD and pub.attempts == 0 and pub.last_error.startswith("held:")
    event = AuditEvent.objects.filter(verb="held").order_by("-id").first()
    assert event is not None and event.data["code"] == "platform.parent_deleted"
    demo.dana.__class__.objects.filter(id=demo.dana.id).update(preferred_language=lang)
    client.force_login(demo.dana)
    page = client.get(f"/posts/{post.id}/").content.decode()
    words = {"en": "was deleted on the platform", "fr": "a été supprimé sur la plateforme"}[lang]
    assert f'id="held-{pub.id}"' in page and words in page
    # A person decides to try again: checked again, still gone, held again (never sent).
    post_retry(post_id=post.id, by=demo.dana)
    assert post_deliver(post_id=post.id) == "failed"
    pub.refresh_from_db()
    assert pub.status == PS.HELD and masto.statuses_of("dpe") == []
