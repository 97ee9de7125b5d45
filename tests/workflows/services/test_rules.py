"""The rules that hold whatever the lane."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Team, User
from tests.workflows import factories as f
from workflows import selectors
from workflows.constants import PostState, PublicationStatus, ReviewKind, StepKind
from workflows.exceptions import (
    Conflict,
    GuidelineViolation,
    InvalidInput,
    NotFound,
    NotPermitted,
)
from workflows.models import (
    AuditEvent,
    Decision,
    LaneStep,
    OutboxEvent,
    Post,
    PostReview,
    Publication,
)
from workflows.services import posts, reviews, translations

pytestmark = pytest.mark.django_db


def _join(user, team_slug):
    user.groups.add(Team.objects.get(slug=team_slug, organisation__slug="dpe").group)


def test_full_official_chain_reaches_approved(demo):
    post = f.approved(demo)
    assert post.state == PostState.APPROVED
    assert post.texts_dict() == {"en": f.EN, "fr": f.FR}
    verbs = list(AuditEvent.objects.filter(post=post).values_list("verb", flat=True))
    assert verbs[:2] == ["created", "submitted"]
    assert verbs.count("step_entered") == 3 and verbs[-1] == "approved_all"
    topics = list(OutboxEvent.objects.filter(post=post).values_list("topic", flat=True))
    assert topics.count("post.step_entered") == 3 and topics[-1] == "post.approved"


def test_author_never_approves_own_post_even_on_the_team(demo):
    _join(demo.dana, "managers")
    post = f.at_review(demo)
    with pytest.raises(NotPermitted, match="own"):
        reviews.post_approve(post_id=post.id, by=demo.dana)
    assert not Decision.objects.filter(post=post).exists()


def test_translator_does_not_sign_off_own_translation(demo):
    _join(demo.tess, "communications")
    post = f.at_sign_off(demo)
    with pytest.raises(NotPermitted):
        reviews.post_approve(post_id=post.id, by=demo.tess)
    assert reviews.post_approve(post_id=post.id, by=demo.cora).state == PostState.APPROVED


@pytest.mark.parametrize("who", ["tess", "cora", "uma", "dana"])
def test_only_the_steps_team_acts(demo, who):
    post = f.at_review(demo)
    with pytest.raises(NotPermitted):
        reviews.post_approve(post_id=post.id, by=getattr(demo, who))
    assert Post.objects.get(id=post.id).current_step.kind == StepKind.REVIEW


def test_team_member_without_channel_permission_is_refused(demo):
    stranger = User.objects.create(username="nochan", organisation=demo.dana.organisation)
    _join(stranger, "managers")
    from guardian.shortcuts import remove_perm

    team = Team.objects.get(slug="managers", organisation__slug="dpe")
    remove_perm("workflows.review_channel", team.group, demo.channel("dpe-fr"))
    post = f.at_review(demo)
    with pytest.raises(NotPermitted, match="permission"):
        reviews.post_approve(post_id=post.id, by=stranger)


def test_other_organisation_sees_nothing(demo):
    post = f.at_review(demo)
    for action in (
        lambda: reviews.post_approve(post_id=post.id, by=demo.omar),
        lambda: posts.post_withdraw(post_id=post.id, by=demo.omar),
        lambda: selectors.post_get_visible(post_id=post.id, user=demo.omar),
    ):
        with pytest.raises(NotFound):
            action()
    with pytest.raises(InvalidInput):
        posts.post_create(author=demo.omar, channels=["dpe-en"], kind="reply", texts={"en": "hi"})
    assert not AuditEvent.objects.filter(actor=demo.omar).exists()


def test_quorum_needs_distinct_approvers(demo):
    step = LaneStep.objects.get(lane=demo.lane("official"), order=1)
    step.quorum = 2
    step.save()
    second = User.objects.create(username="rami2", organisation=demo.dana.organisation)
    _join(second, "managers")
    post = f.at_review(demo)
    post = reviews.post_approve(post_id=post.id, by=demo.rami)
    assert post.current_step_id == step.id
    with pytest.raises(Conflict):
        reviews.post_approve(post_id=post.id, by=demo.rami)
    post = reviews.post_approve(post_id=post.id, by=second)
    assert post.current_step.kind == StepKind.TRANSLATION


def test_translation_step_needs_every_language(demo):
    post = f.at_translation(demo)
    with pytest.raises(GuidelineViolation, match="translation"):
        reviews.post_approve(post_id=post.id, by=demo.tess)
    assert Post.objects.get(id=post.id).current_step.kind == StepKind.TRANSLATION


def test_editing_a_language_voids_approvals_that_covered_it(demo):
    post = f.at_sign_off(demo)
    post = reviews.post_request_changes(post_id=post.id, by=demo.cora, comment="The French reads oddly.")
    manager = Decision.objects.get(post=post, reviewer=demo.rami)
    translator = Decision.objects.get(post=post, reviewer=demo.tess)
    assert set(manager.text_versions) == {"en"}
    posts.post_edit(post_id=post.id, by=demo.dana, texts={"fr": f.FR + " Merci."})
    manager.refresh_from_db()
    translator.refresh_from_db()
    assert manager.invalidated_at is None  # it saw only the English, which did not change
    assert translator.invalidated_at is not None
    post = posts.post_submit(post_id=post.id, by=demo.dana)
    # Back to the first step that must see it again: translation, not review.
    assert post.current_step.kind == StepKind.TRANSLATION


def test_editing_english_sends_the_post_back_to_review(demo):
    post = f.at_sign_off(demo)
    post = reviews.post_request_changes(post_id=post.id, by=demo.cora, comment="Tone.")
    posts.post_edit(post_id=post.id, by=demo.dana, texts={"en": f.EN + " Thanks."})
    assert Decision.objects.filter(post=post, verdict="approve", invalidated_at__isnull=True).count() == 0
    post = posts.post_submit(post_id=post.id, by=demo.dana)
    assert post.current_step.kind == StepKind.REVIEW


def test_unchanged_resubmission_skips_steps_already_approved(demo):
    post = f.at_sign_off(demo)
    post = reviews.post_request_changes(post_id=post.id, by=demo.cora, comment="Check the date.")
    post = posts.post_submit(post_id=post.id, by=demo.dana)
    assert post.current_step.kind == StepKind.SIGN_OFF


def test_translation_that_changes_text_seen_earlier_voids_that_approval(demo):
    post = f.official_draft(demo, texts={"en": f.EN, "fr": "Brouillon français à revoir."})
    post = posts.post_submit(post_id=post.id, by=demo.dana)
    post = reviews.post_approve(post_id=post.id, by=demo.rami)  # rami saw en+fr
    assert post.current_step.kind == StepKind.TRANSLATION
    post = translations.translation_provide(post_id=post.id, by=demo.tess, language="fr", text=f.FR)
    # rami's approval covered the French he saw; it is void, so the post returns to review.
    assert post.current_step.kind == StepKind.REVIEW


def test_stale_version_is_a_conflict(demo):
    post = f.at_review(demo)
    with pytest.raises(Conflict):
        reviews.post_approve(post_id=post.id, by=demo.rami, version=post.version - 1)
    assert reviews.post_approve(post_id=post.id, by=demo.rami, version=post.version).current_step.order == 2


def test_comment_required_to_request_changes_or_reject(demo):
    post = f.at_review(demo)
    for fn in (reviews.post_request_changes, reviews.post_reject):
        with pytest.raises(InvalidInput):
            fn(post_id=post.id, by=demo.rami, comment="  ")
    assert Post.objects.get(id=post.id).state == PostState.IN_REVIEW


def test_conversation_reply_is_approved_and_starts_publishing_on_submit(demo):
    """DESIGN.md: draft → approved → publishing in one request. The publications exist when the
    request commits, so the worker woken by `post.approved` only claims and sends (issue 14)."""
    post = f.reply_draft(demo)
    post = posts.post_submit(post_id=post.id, by=demo.dana)
    assert post.state == PostState.PUBLISHING
    assert OutboxEvent.objects.filter(post=post, topic="post.approved").count() == 1
    pubs = list(Publication.objects.filter(post=post).values_list("status", "language"))
    assert pubs == [(PublicationStatus.PENDING, "en")]
    verbs = list(AuditEvent.objects.filter(post=post).order_by("seq").values_list("verb", "to_state"))
    assert verbs[-2:] == [("approved_all", "approved"), ("publishing", "publishing")]
    post.refresh_from_db()
    assert post.state == PostState.PUBLISHING and post.version == 2


def test_a_scheduled_reply_waits_for_its_time_instead(demo):
    post = f.reply_draft(demo)
    Post.objects.filter(id=post.id).update(scheduled_at=timezone.now() + timedelta(hours=2))
    post = posts.post_submit(post_id=post.id, by=demo.dana)
    assert post.state == PostState.APPROVED
    assert not Publication.objects.filter(post=post).exists()


def test_escalation_moves_a_reply_to_the_official_lane(demo):
    post = f.reply_draft(demo, text="We will ask the minister about it.")
    post = posts.post_submit(post_id=post.id, by=demo.dana)
    assert post.lane.slug == "official"
    assert post.state == PostState.IN_REVIEW
    assert post.escalation == {"code": "escalation.terms",
                               "params": {"terms": ["minister"], "language": "en", "reason": "Sensitive topic",
                                          "reason_fr": "Sujet délicat"}}
    assert "minister" in post.escalation_display
    ev = AuditEvent.objects.get(post=post, verb="escalated")
    assert ev.data["to_lane"] == "official" and ev.data["escalation"] == post.escalation


def test_french_escalation_term(demo):
    post = posts.post_create(author=demo.dana, channels=["dpe-fr"], kind="reply",
                             texts={"fr": "Nous transmettrons votre question à la ministre."}, rules_acknowledged=True)
    assert posts.post_submit(post_id=post.id, by=demo.dana).lane.slug == "official"


def test_blocking_content_refuses_creating_the_draft_and_keeps_nothing(demo):
    count, events = Post.objects.count(), AuditEvent.objects.count()
    with pytest.raises(GuidelineViolation) as exc:
        posts.post_create(author=demo.dana, channels=["dpe-en"], kind="reply",
                          texts={"en": "Call me at 613-555-0199 to discuss."}, rules_acknowledged=True)
    assert [v["code"] for v in exc.value.violations] == ["personal_data.phone"]
    assert (Post.objects.count(), AuditEvent.objects.count()) == (count, events)


def test_blocking_guideline_refuses_submit_and_changes_nothing(demo):
    from workflows.models import GuidelineRule

    post = posts.post_create(author=demo.dana, channels=["dpe-en"], kind="reply",
                             texts={"en": "Call the office to discuss."}, rules_acknowledged=True)
    # The policy changes after the draft was saved: the submit is checked against it.
    rule = GuidelineRule.objects.get(lane=post.lane, kind="forbidden_terms")
    rule.params = {"terms": {"en": ["discuss"]}}
    rule.save()
    version, events = post.version, AuditEvent.objects.count()
    with pytest.raises(GuidelineViolation) as exc:
        posts.post_submit(post_id=post.id, by=demo.dana)
    assert any(v["rule"] == "forbidden_terms" for v in exc.value.violations)
    post = Post.objects.get(id=post.id)
    assert (post.state, post.version, AuditEvent.objects.count()) == (PostState.DRAFT, version, events)


def test_four_rules_must_be_acknowledged(demo):
    post = posts.post_create(author=demo.dana, channels=["dpe-en"], kind="reply", texts={"en": "We are open today."})
    with pytest.raises(GuidelineViolation, match="four rules"):
        posts.post_submit(post_id=post.id, by=demo.dana)
    assert posts.post_submit(post_id=post.id, by=demo.dana, rules_acknowledged=True).state == PostState.PUBLISHING


def test_reply_must_be_in_the_citizens_language(demo):
    from workflows.services import inbound

    msg, _ = inbound.inbound_ingest(by=demo.dana, channel="dpe-fr", external_id="m1", author="@citoyen",
                                    text="Bonjour, est-ce que le bureau est ouvert samedi?")
    assert msg.language == "fr"
    post = posts.post_create(author=demo.dana, kind="reply", in_reply_to=msg.id,
                             texts={"fr": "Hello, yes the office is open on Saturday morning."}, rules_acknowledged=True)
    with pytest.raises(GuidelineViolation, match="reads as English"):
        posts.post_submit(post_id=post.id, by=demo.dana)
    posts.post_edit(post_id=post.id, by=demo.dana, texts={"fr": "Bonjour, oui, le bureau est ouvert samedi matin."})
    assert posts.post_submit(post_id=post.id, by=demo.dana).state == PostState.PUBLISHING


def test_posts_may_not_use_the_conversation_lane(demo):
    with pytest.raises(InvalidInput):
        posts.post_create(author=demo.dana, channels=["dpe-en"], kind="post", lane="conversation", texts={"en": "x"})


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"texts": {"de": "Hallo"}}, "texts.de"),
        ({"texts": {"en": ""}}, "texts.en"),
        ({"texts": {"en": 5}}, "texts.en"),
        ({"texts": "hello"}, "texts"),
        ({"channels": ["nope"]}, "channels"),
        ({"kind": "tweet"}, "kind"),
        ({"scheduled_at": timezone.now() - timedelta(minutes=1)}, "scheduled_at"),
    ],
)
def test_bad_input_is_refused_and_creates_nothing(demo, kwargs, field):
    base = {"author": demo.dana, "channels": ["dpe-en"], "kind": "reply", "texts": {"en": "Hello"}}
    count = Post.objects.count()
    with pytest.raises(InvalidInput) as exc:
        posts.post_create(**{**base, **kwargs})
    assert field in exc.value.errors
    assert Post.objects.count() == count


class TestUrgent:
    def _bilingual_in_review(self, demo):
        return f.at_review(demo, texts={"en": f.EN, "fr": f.FR})

    def test_break_glass_skips_steps_and_opens_a_retrospective(self, demo):
        post = self._bilingual_in_review(demo)
        post = posts.post_publish_urgent(post_id=post.id, by=demo.uma, reason="Evacuation order")
        assert post.state == PostState.APPROVED and post.urgent
        review = PostReview.objects.get(post=post, kind=ReviewKind.RETROSPECTIVE)
        assert demo.uma.id in review.excluded_users and demo.dana.id in review.excluded_users
        with pytest.raises(NotPermitted):
            reviews.review_complete(review_id=review.id, by=demo.uma, verdict="fine")
        reviews.review_complete(review_id=review.id, by=demo.cora, verdict="fine")
        assert AuditEvent.objects.filter(post=post, verb="urgent_published").count() == 1

    def test_still_needs_every_language(self, demo):
        post = f.at_review(demo)
        with pytest.raises(GuidelineViolation):
            posts.post_publish_urgent(post_id=post.id, by=demo.uma, reason="Now")
        assert Post.objects.get(id=post.id).state == PostState.IN_REVIEW

    def test_needs_its_own_permission(self, demo):
        post = self._bilingual_in_review(demo)
        for who in ("dana", "rami", "cora"):
            with pytest.raises(NotPermitted):
                posts.post_publish_urgent(post_id=post.id, by=getattr(demo, who), reason="Now")

    def test_needs_a_reason_and_a_lane_that_allows_it(self, demo):
        post = self._bilingual_in_review(demo)
        with pytest.raises(InvalidInput):
            posts.post_publish_urgent(post_id=post.id, by=demo.uma, reason=" ")
        lane = demo.lane("official")
        lane.allow_urgent = False
        lane.save()
        with pytest.raises(NotPermitted):
            posts.post_publish_urgent(post_id=post.id, by=demo.uma, reason="Now")


def test_spot_check_review(demo):
    post = f.published(demo)
    review = reviews.review_open_spot_check(post_id=post.id)
    assert reviews.review_open_spot_check(post_id=post.id).id == review.id
    with pytest.raises(NotPermitted):
        reviews.review_complete(review_id=review.id, by=demo.dana, verdict="fine")
    with pytest.raises(InvalidInput):
        reviews.review_complete(review_id=review.id, by=demo.cora, verdict="follow_up", comment="")
    done = reviews.review_complete(review_id=review.id, by=demo.cora, verdict="follow_up", comment="Too casual.")
    assert done.status == "done" and done.ok is False
    with pytest.raises(Conflict):
        reviews.review_complete(review_id=review.id, by=demo.cora, verdict="fine")
    assert OutboxEvent.objects.filter(post=post, topic="review.concern").count() == 1


def test_create_and_submit_keeps_nothing_when_submit_is_refused(demo):
    count = Post.objects.count()
    with pytest.raises(GuidelineViolation):
        posts.post_create_and_submit(author=demo.dana, channels=["dpe-en"], kind="reply",
                                     texts={"en": "Email me at someone@example.com"}, rules_acknowledged=True)
    assert Post.objects.count() == count
    post = posts.post_create_and_submit(author=demo.dana, channels=["dpe-en"], kind="reply",
                                        texts={"en": "We are open until 17:00 today."}, rules_acknowledged=True)
    assert post.state == PostState.PUBLISHING
