"""People speak as themselves: personal channels, signed replies, and who answers (metrics)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.workflows import factories as f
from workflows import selectors
from workflows.constants import PostState, PublicationStatus
from workflows.exceptions import GuidelineViolation, InvalidInput, NotPermitted
from workflows.models import Channel, Post, Publication
from workflows.services import posts, publishing
from workflows.services.signatures import user_set_signature

pytestmark = pytest.mark.django_db


def _publish(post_id):
    publishing.post_publish_start(post_id=post_id)
    Publication.objects.filter(post_id=post_id).update(status=PublicationStatus.SENT, external_id="x")
    publishing.post_mark_published(post_id=post_id)
    return Post.objects.get(id=post_id)


def test_replies_on_a_signing_channel_carry_the_authors_signature_in_their_language(demo):
    Channel.objects.filter(slug__in=["dpe-en", "dpe-fr"]).update(sign_replies=True)
    user_set_signature(user=demo.dana, signature_en="– Dana, Passport Program", signature_fr="– Dana, Programme de passeport")
    en = posts.post_create_and_submit(author=demo.dana, channels=["dpe-en"], kind="reply",
                                      texts={"en": "The office opens at 9."}, rules_acknowledged=True)
    fr = posts.post_create_and_submit(author=demo.dana, channels=["dpe-fr"], kind="reply",
                                      texts={"fr": "Le bureau ouvre à 9 h."}, rules_acknowledged=True)
    publishing.post_publish_start(post_id=en.id)
    publishing.post_publish_start(post_id=fr.id)
    assert Publication.objects.get(post=en).body == "The office opens at 9.\n\n– Dana, Passport Program"
    assert Publication.objects.get(post=fr).body == "Le bureau ouvre à 9 h.\n\n– Dana, Programme de passeport"
    assert Post.objects.get(id=en.id).spoken_as_person
    # Broadcasts are the organisation's voice: never signed.
    official = f.approved(demo)
    publishing.post_publish_start(post_id=official.id)
    assert all("Dana" not in b for b in Publication.objects.filter(post=official).values_list("body", flat=True))


def test_the_signature_counts_against_the_channel_limit(demo):
    Channel.objects.filter(slug="dpe-en").update(sign_replies=True, char_limit=60)
    text = "x" * 50
    ok = posts.post_create_and_submit(author=demo.dana, channels=["dpe-en"], kind="reply", texts={"en": text},
                                      rules_acknowledged=True)
    assert ok.state == PostState.PUBLISHING  # no signature yet: 50 fits in 60
    user_set_signature(user=demo.dana, signature_en="– Dana, Passport Program", signature_fr="")
    with pytest.raises(GuidelineViolation):
        posts.post_create_and_submit(author=demo.dana, channels=["dpe-en"], kind="reply", texts={"en": text},
                                     rules_acknowledged=True)


def test_a_personal_channel_is_its_owners_alone(demo):
    chan = Channel.objects.get(slug="dpe-en")
    chan.owner = demo.uma
    chan.save(update_fields=["owner"])
    with pytest.raises(NotPermitted):
        posts.post_create(author=demo.dana, channels=["dpe-en"], kind="reply", texts={"en": "Hello"}, rules_acknowledged=True)
    mine = posts.post_create_and_submit(author=demo.uma, channels=["dpe-en"], kind="reply", texts={"en": "Hello there."},
                                        rules_acknowledged=True)
    assert _publish(mine.id).spoken_as_person


def test_signature_validation(demo):
    with pytest.raises(InvalidInput) as exc:
        user_set_signature(user=demo.dana, signature_en="x" * 101, signature_fr="two\nlines")
    assert set(exc.value.errors) == {"signature_en", "signature_fr"}
    demo.dana.refresh_from_db()
    assert demo.dana.signature_en == ""


def test_who_answers_counts_replies_per_person_and_the_named_share(demo):
    Channel.objects.filter(slug="dpe-en").update(sign_replies=True)
    user_set_signature(user=demo.dana, signature_en="– Dana", signature_fr="– Dana")
    for text in ("One.", "Two."):
        _publish(posts.post_create_and_submit(author=demo.dana, channels=["dpe-en"], kind="reply",
                                              texts={"en": f"Answer {text}"}, rules_acknowledged=True).id)
    _publish(posts.post_create_and_submit(author=demo.uma, channels=["dpe-en"], kind="reply",
                                          texts={"en": "Answer three."}, rules_acknowledged=True).id)
    now = timezone.now()
    voices = selectors.conversation_voices(user=demo.cora, since=now - timedelta(days=1), until=now + timedelta(minutes=1))
    assert voices["replies"] == 3 and voices["named_replies"] == 2 and voices["named_share"] == round(2 / 3, 3)
    assert [(p["username"], p["replies"], p["named_replies"]) for p in voices["people"]] == [("dana", 2, 2), ("uma", 1, 0)]
    other = selectors.conversation_voices(user=demo.omar, since=now - timedelta(days=1), until=now + timedelta(minutes=1))
    assert other["replies"] == 0 and other["people"] == []
