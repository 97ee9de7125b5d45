from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.workflows import factories as f
from workflows.constants import InboundStatus, PostState, PublicationStatus
from workflows.exceptions import Conflict, InvalidInput, NotFound, NotPermitted
from workflows.models import AuditEvent, InboundMessage, Publication
from workflows.services import inbound, posts, publishing

pytestmark = pytest.mark.django_db


def _ingest(demo, external_id="ext-1", text="When does the passport office open?", **kw):
    return inbound.inbound_ingest(by=demo.dana, channel="dpe-en", external_id=external_id, author="@citizen", text=text, **kw)


def test_ingest_is_idempotent_on_channel_and_external_id(demo):
    msg, created = _ingest(demo)
    again, created_again = _ingest(demo, text="something else")
    assert created and not created_again
    assert again.id == msg.id and again.body == "When does the passport office open?"
    assert InboundMessage.objects.count() == 1
    assert msg.language == "en"
    assert AuditEvent.objects.filter(inbound=msg, verb="received").count() == 1


def test_given_language_wins_over_detection(demo):
    msg, _ = _ingest(demo, text="Bonjour tout le monde, merci beaucoup", language="en")
    assert msg.language == "en"


@pytest.mark.parametrize("bad", [
    {"external_id": ""}, {"text": " "}, {"author": ""}, {"language": "de"},
    {"received_at": timezone.now().replace(tzinfo=None)}, {"channel": "nope"}, {"text": "x\x00y"},
])
def test_bad_input_changes_nothing(demo, bad):
    args = {"by": demo.dana, "channel": "dpe-en", "external_id": "e", "author": "a", "text": "hello there"}
    with pytest.raises(InvalidInput):
        inbound.inbound_ingest(**{**args, **bad})
    assert InboundMessage.objects.count() == 0


def test_other_organisation_cannot_ingest_or_claim(demo):
    with pytest.raises(InvalidInput):
        inbound.inbound_ingest(by=demo.omar, channel="dpe-en", external_id="x", author="a", text="hi there")
    msg, _ = _ingest(demo)
    with pytest.raises(NotFound):
        inbound.inbound_claim(inbound_id=msg.id, by=demo.omar)


def test_ingest_needs_draft_permission(demo):
    with pytest.raises(NotPermitted):
        inbound.inbound_ingest(by=demo.rami, channel="dpe-en", external_id="x", author="a", text="hello there")


def test_claim_and_conflicting_claim(demo):
    msg, _ = _ingest(demo)
    claimed = inbound.inbound_claim(inbound_id=msg.id, by=demo.dana)
    assert claimed.status == InboundStatus.CLAIMED and claimed.assignee_id == demo.dana.id
    assert inbound.inbound_claim(inbound_id=msg.id, by=demo.dana).assignee_id == demo.dana.id
    with pytest.raises(Conflict):
        inbound.inbound_claim(inbound_id=msg.id, by=demo.uma)


def test_dismiss(demo):
    msg, _ = _ingest(demo)
    assert inbound.inbound_dismiss(inbound_id=msg.id, by=demo.dana, reason="spam").status == InboundStatus.DISMISSED
    with pytest.raises(Conflict):
        inbound.inbound_dismiss(inbound_id=msg.id, by=demo.dana, reason="no_reply_needed")


def test_dismiss_comment_cap_is_the_one_in_limits_for_every_caller(demo):
    """The service holds the same cap as the web form and the API (limits.DISMISS_COMMENT_MAX):
    a longer comment through the service is refused and changes nothing."""
    from workflows import limits
    from workflows.exceptions import TextTooLong

    msg, _ = _ingest(demo)
    with pytest.raises(TextTooLong):
        inbound.inbound_dismiss(inbound_id=msg.id, by=demo.dana, reason="spam",
                                comment="x" * (limits.DISMISS_COMMENT_MAX + 1))
    assert InboundMessage.objects.get(id=msg.id).status == InboundStatus.NEW
    done = inbound.inbound_dismiss(inbound_id=msg.id, by=demo.dana, reason="spam", comment="x" * limits.DISMISS_COMMENT_MAX)
    assert done.status == InboundStatus.DISMISSED


def test_first_response_time_is_set_when_the_reply_is_published(demo):
    received = timezone.now() - timedelta(minutes=7)
    msg, _ = _ingest(demo, received_at=received)
    reply = posts.post_create(author=demo.dana, kind="reply", in_reply_to=msg.id,
                              texts={"en": "It opens at 9:00 on weekdays."}, rules_acknowledged=True)
    assert InboundMessage.objects.get(id=msg.id).status == InboundStatus.CLAIMED
    reply = posts.post_submit(post_id=reply.id, by=demo.dana)
    assert reply.state == PostState.PUBLISHING
    publishing.post_publish_start(post_id=reply.id)
    assert InboundMessage.objects.get(id=msg.id).first_response_at is None
    Publication.objects.filter(post=reply).update(status=PublicationStatus.SENT)
    publishing.post_mark_published(post_id=reply.id)
    msg.refresh_from_db()
    assert msg.status == InboundStatus.REPLIED
    assert msg.first_response_at is not None
    assert 7 * 60 <= msg.first_response_seconds < 60 * 60


def test_publications_one_per_channel_and_language(demo):
    post = f.publishing_(demo)
    pubs = sorted(Publication.objects.filter(post=post).values_list("channel__slug", "language"))
    assert pubs == [("dpe-en", "en"), ("dpe-fr", "fr")]
    keys = set(Publication.objects.filter(post=post).values_list("idempotency_key", flat=True))
    assert len(keys) == 2
    # Starting again creates nothing new.
    publishing.post_publish_start(post_id=post.id)
    assert Publication.objects.filter(post=post).count() == 2
