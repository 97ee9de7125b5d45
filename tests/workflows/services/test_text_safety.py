"""Guidelines hold wherever text changes, on the exact text approved and published, and four
eyes count every contributor. Each test here fails on the code before issue 9's fix."""
from __future__ import annotations

import pytest
from django.utils import translation

from accounts.models import Team, User
from tests.workflows import factories as f
from workflows.constants import PostState, StepKind
from workflows.exceptions import GuidelineViolation, NotPermitted
from workflows.models import AuditEvent, Decision, GuidelineRule, Post, PostText, Publication
from workflows.services import inbound, posts, publishing, reviews, translations
from workflows.services.four_eyes import approved_by_others, contributors
from workflows.services.preview import post_actions_for

pytestmark = pytest.mark.django_db

#: The French translation of issue 9: a swear word, an e-mail, a phone number, a link elsewhere.
BAD_FR = ("Merde, nos bureaux rouvrent lundi. Écrivez à jean.tremblay@courriel.example ou appelez le "
          "613-555-0199. Détails : https://ailleurs.example/bureaux")


def _join(user, team_slug):
    user.groups.add(Team.objects.get(slug=team_slug, organisation__slug="dpe").group)


def _snapshot(post_id):
    post = Post.objects.get(id=post_id)
    return (post.state, post.version, post.revision, post.texts_dict(), Decision.objects.filter(post=post).count(),
            AuditEvent.objects.filter(post=post).count())


def test_a_french_translation_with_a_swear_word_personal_data_and_a_foreign_link_is_never_published(demo):
    """Issue 9, §4: the exact path that published such a translation."""
    post = f.at_translation(demo)
    before = _snapshot(post.id)
    with pytest.raises(GuidelineViolation) as exc:
        translations.translation_provide(post_id=post.id, by=demo.tess, language="fr", text=BAD_FR)
    codes = {v["code"] for v in exc.value.violations}
    assert codes == {"forbidden_terms.found", "personal_data.email", "personal_data.phone",
                     "link_domains.not_allowed"}
    assert _snapshot(post.id) == before  # refused: nothing written
    # The rest of the old path is closed too: the step cannot complete without a French text,
    # sign-off never comes, nothing is published.
    with pytest.raises(GuidelineViolation):
        reviews.post_approve(post_id=post.id, by=demo.tess)
    assert publishing.post_publish_start(post_id=post.id) == []
    assert not Publication.objects.filter(post_id=post.id).exists()
    assert Post.objects.get(id=post.id).state == PostState.IN_REVIEW


def test_the_final_approval_re_checks_the_exact_text(demo):
    post = f.at_sign_off(demo)
    # The text changed behind the services' back (a database edit): approval sees what is stored.
    PostText.objects.filter(post=post, language="fr").update(body=f.FR + " Appelez le 613-555-0199.")
    before = _snapshot(post.id)
    with pytest.raises(GuidelineViolation) as exc:
        reviews.post_approve(post_id=post.id, by=demo.cora)
    assert [v["code"] for v in exc.value.violations] == ["personal_data.phone"]
    assert _snapshot(post.id) == before


def test_approval_refuses_a_text_that_a_new_rule_blocks(demo):
    post = f.at_review(demo)
    rule = GuidelineRule.objects.get(lane=post.lane, kind="forbidden_terms")
    rule.params = {"terms": {"en": ["reopens"]}}
    rule.save()
    before = _snapshot(post.id)
    with pytest.raises(GuidelineViolation):
        reviews.post_approve(post_id=post.id, by=demo.rami)
    assert _snapshot(post.id) == before


def test_approved_to_publishing_re_checks_the_text_and_refuses_once(demo):
    post = f.approved(demo)
    rule = GuidelineRule.objects.get(lane=post.lane, kind="forbidden_terms")
    rule.params = {"terms": {"fr": ["rouvre"]}}
    rule.save()
    assert publishing.post_publish_start(post_id=post.id) == []
    assert publishing.post_publish_start(post_id=post.id) == []  # the beat tries again: no new event
    post = Post.objects.get(id=post.id)
    assert post.state == PostState.APPROVED
    assert not Publication.objects.filter(post=post).exists()
    assert AuditEvent.objects.filter(post=post, verb="publish_refused").count() == 1
    assert [c["code"] for c in post.checks] == ["forbidden_terms.found"]


def test_a_reply_with_a_zero_width_space_inside_minister_escalates_instead_of_publishing(demo):
    """Issue 9, §4, end to end through the service the inbox uses."""
    msg, _ = inbound.inbound_ingest(by=demo.dana, channel="dpe-en", external_id="zw-1", author="@citizen",
                                    text="When will the office reopen after the storm?")
    post = posts.reply_send(inbound_id=msg.id, by=demo.dana, text="We will ask the mi\u200bnister today.",
                            language="en", rules_acknowledged=True)
    assert post.lane.slug == "official"
    assert post.state == PostState.IN_REVIEW
    assert post.escalation["code"] == "escalation.terms"
    assert post.escalation["params"]["terms"] == ["minister"]
    assert not Publication.objects.filter(post=post).exists()
    with translation.override("fr"):
        assert "minister" in post.escalation_display and "Le texte en anglais" in post.escalation_display


@pytest.mark.parametrize("disguise", ["ｍｉｎｉｓｔｅｒ", "mіnister", "mi\u00adnister", "MINIS\u200dTER"])
def test_other_disguises_escalate_too(demo, disguise):
    post = f.reply_draft(demo, text=f"We will ask the {disguise} today.")
    assert posts.post_submit(post_id=post.id, by=demo.dana).lane.slug == "official"


def test_editing_in_blocked_text_is_refused_and_voids_nothing(demo):
    post = f.at_sign_off(demo)
    post = reviews.post_request_changes(post_id=post.id, by=demo.cora, comment="Tone.")
    before = _snapshot(post.id)
    live = Decision.objects.filter(post=post, invalidated_at__isnull=True).count()
    with pytest.raises(GuidelineViolation):
        posts.post_edit(post_id=post.id, by=demo.dana, texts={"en": f.EN + " You idiot."})
    assert _snapshot(post.id) == before
    assert Decision.objects.filter(post=post, invalidated_at__isnull=True).count() == live


def test_urgent_publishing_is_refused_on_blocked_text(demo):
    post = f.at_review(demo, texts={"en": f.EN, "fr": f.FR})
    _join(demo.uma, "urgent")
    PostText.objects.filter(post=post, language="fr").update(body=f.FR + " Merde.")
    with pytest.raises(GuidelineViolation):
        posts.post_publish_urgent(post_id=post.id, by=demo.uma, reason="Storm warning")
    assert Post.objects.get(id=post.id).state == PostState.IN_REVIEW


# --- four eyes by contribution -------------------------------------------------------------

@pytest.fixture
def editing_reviewer(demo):
    """rami reviews (managers) and may also draft (authors): the reviewer of issue 9, §5."""
    _join(demo.rami, "authors")
    return demo.rami


def test_a_reviewer_who_edited_the_text_cannot_approve_it(demo, editing_reviewer):
    post = f.official_draft(demo)
    posts.post_edit(post_id=post.id, by=editing_reviewer, texts={"en": f.EN + " Welcome back."})
    post = posts.post_submit(post_id=post.id, by=demo.dana)
    assert contributors(post)["en"] == {demo.dana.id, demo.rami.id}
    assert post_actions_for(post=post, user=editing_reviewer).approve is False  # the same rule, no button
    assert post_actions_for(post=post, user=editing_reviewer).approve_refusal == "four_eyes.contributed"
    with pytest.raises(NotPermitted) as exc:
        reviews.post_approve(post_id=post.id, by=editing_reviewer)
    assert exc.value.code == "four_eyes.contributed" and exc.value.params == {"languages": ["en"]}
    assert not Decision.objects.filter(post=post).exists()
    # Another manager, who did not touch it, approves.
    other = User.objects.create(username="mara", organisation=demo.dana.organisation, preferred_language="fr")
    _join(other, "managers")
    assert post_actions_for(post=post, user=other).approve is True
    assert reviews.post_approve(post_id=post.id, by=other).current_step.kind == StepKind.TRANSLATION


def test_the_translator_completes_the_step_but_never_approves_own_words(demo):
    _join(demo.tess, "communications")
    post = f.at_translation(demo)
    post = translations.translation_provide(post_id=post.id, by=demo.tess, language="fr", text=f.FR)
    post = reviews.post_approve(post_id=post.id, by=demo.tess)
    event = AuditEvent.objects.filter(post=post, verb="approved").last()
    assert event.data["languages"] == ["en"]  # the step is complete; her French is not approved by her
    assert approved_by_others(post) == {"en": True, "fr": False}
    assert post_actions_for(post=post, user=demo.tess).approve is False
    with pytest.raises(NotPermitted, match="French"):
        reviews.post_approve(post_id=post.id, by=demo.tess)
    post = reviews.post_approve(post_id=post.id, by=demo.cora)
    assert post.state == PostState.APPROVED
    assert approved_by_others(post) == {"en": True, "fr": True}


def test_urgent_retrospective_review_excludes_every_contributor(demo, editing_reviewer):
    from workflows.models import PostReview

    post = f.official_draft(demo, texts={"en": f.EN, "fr": f.FR})
    posts.post_edit(post_id=post.id, by=editing_reviewer, texts={"fr": f.FR + " Merci."})
    post = posts.post_publish_urgent(post_id=post.id, by=demo.uma, reason="Storm warning")
    review = PostReview.objects.get(post=post)
    assert {demo.dana.id, demo.rami.id, demo.uma.id} <= set(review.excluded_users)
