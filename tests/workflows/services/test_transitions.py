"""Each service, over every state it is allowed from and every state it is not."""
from __future__ import annotations

import pytest

from tests.workflows import factories as f
from workflows.constants import PostState
from workflows.exceptions import InvalidTransition
from workflows.models import AuditEvent, Decision, Post
from workflows.services import posts, publishing, reviews, translations

pytestmark = pytest.mark.django_db
ALL = list(PostState)


def _act_submit(demo, post):
    return posts.post_submit(post_id=post.id, by=demo.dana)


def _act_edit(demo, post):
    return posts.post_edit(post_id=post.id, by=demo.dana, texts={"en": f.EN + " Edited."})


def _act_approve(demo, post):
    return reviews.post_approve(post_id=post.id, by=demo.rami)


def _act_request_changes(demo, post):
    return reviews.post_request_changes(post_id=post.id, by=demo.rami, comment="Please fix.")


def _act_reject(demo, post):
    return reviews.post_reject(post_id=post.id, by=demo.rami, comment="No.")


def _act_withdraw(demo, post):
    return posts.post_withdraw(post_id=post.id, by=demo.dana)


def _act_urgent(demo, post):
    return posts.post_publish_urgent(post_id=post.id, by=demo.uma, reason="Storm warning")


def _act_retry(demo, post):
    return publishing.post_retry(post_id=post.id, by=demo.dana)


def _act_retract(demo, post):
    return publishing.post_retract(post_id=post.id, by=demo.cora)


def _act_translate(demo, post):
    return translations.translation_provide(post_id=post.id, by=demo.tess, language="fr", text=f.FR)


CASES = {
    # service: (action, states it is allowed from, resulting state or None for "in_review/any")
    "submit": (_act_submit, {PostState.DRAFT, PostState.CHANGES_REQUESTED}),
    "edit": (_act_edit, {PostState.DRAFT, PostState.CHANGES_REQUESTED}),
    "approve": (_act_approve, {PostState.IN_REVIEW}),
    "request_changes": (_act_request_changes, {PostState.IN_REVIEW}),
    "reject": (_act_reject, {PostState.IN_REVIEW}),
    "withdraw": (_act_withdraw, {PostState.DRAFT, PostState.IN_REVIEW, PostState.CHANGES_REQUESTED,
                                 PostState.APPROVED, PostState.SCHEDULED}),
    "publish_urgent": (_act_urgent, {PostState.DRAFT, PostState.IN_REVIEW, PostState.CHANGES_REQUESTED,
                                     PostState.APPROVED, PostState.SCHEDULED}),
    "retry": (_act_retry, {PostState.FAILED}),
    "retract": (_act_retract, {PostState.PUBLISHED}),  # a failed one only while something is live
}

EXPECTED_RESULT = {
    "submit": PostState.IN_REVIEW,
    "approve": PostState.IN_REVIEW,  # review → translation step
    "request_changes": PostState.CHANGES_REQUESTED,
    "reject": PostState.REJECTED,
    "withdraw": PostState.WITHDRAWN,
    "publish_urgent": PostState.APPROVED,
    "retry": PostState.PUBLISHING,
    "retract": PostState.RETRACTED,
}


@pytest.mark.parametrize(
    ("service", "state"),
    [(s, st) for s, (_, allowed) in CASES.items() for st in ALL if st in allowed],
)
def test_allowed(demo, service, state):
    action, _ = CASES[service]
    # Break glass still needs every required language: give urgent cases both from the start.
    kw = {"texts": {"en": f.EN, "fr": f.FR}} if service == "publish_urgent" else {}
    post = f.in_state(demo, state, **kw)
    result = action(demo, post)
    expected = EXPECTED_RESULT.get(service, state)
    assert Post.objects.get(id=post.id).state == expected == result.state


@pytest.mark.parametrize(
    ("service", "state"),
    [(s, st) for s, (_, allowed) in CASES.items() for st in ALL if st not in allowed],
)
def test_refused_and_unchanged(demo, service, state):
    action, _ = CASES[service]
    post = f.in_state(demo, state)
    before = (Post.objects.get(id=post.id).version, AuditEvent.objects.count(), Decision.objects.count())
    with pytest.raises(InvalidTransition):
        action(demo, post)
    after = Post.objects.get(id=post.id)
    assert after.state == state
    assert (after.version, AuditEvent.objects.count(), Decision.objects.count()) == before


@pytest.mark.parametrize("state", ALL)
def test_translation_only_at_the_translation_step(demo, state):
    post = f.in_state(demo, state)
    with pytest.raises(InvalidTransition):
        _act_translate(demo, post)
    assert Post.objects.get(id=post.id).state == state


def test_translation_at_translation_step(demo):
    post = f.at_translation(demo)
    post = _act_translate(demo, post)
    assert post.texts_dict()["fr"] == f.FR
    assert post.state == PostState.IN_REVIEW and post.current_step.kind == "translation"


@pytest.mark.parametrize("state", [s for s in ALL if s != PostState.PUBLISHING])
def test_mark_published_and_failed_ignore_other_states(demo, state):
    post = f.in_state(demo, state)
    publishing.post_mark_published(post_id=post.id)
    publishing.post_mark_failed(post_id=post.id, error="x")
    assert Post.objects.get(id=post.id).state == state


def test_mark_published_waits_for_every_publication(demo):
    post = f.publishing_(demo)
    from workflows.models import Publication

    first = Publication.objects.filter(post=post).order_by("id").first()
    Publication.objects.filter(id=first.id).update(status="sent")
    publishing.post_mark_published(post_id=post.id)
    assert Post.objects.get(id=post.id).state == PostState.PUBLISHING
    Publication.objects.filter(post=post).update(status="sent")
    publishing.post_mark_published(post_id=post.id)
    assert Post.objects.get(id=post.id).state == PostState.PUBLISHED
