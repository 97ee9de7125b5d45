"""Caretaker (election) periods: applied at submit and re-checked at publish, inherited by the
organisations under the one that declares it. time-machine moves the clock across the edges."""
from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts.models import Organisation
from tests.workflows import factories as f
from workflows.constants import LaneKind, PostState
from workflows.exceptions import GuidelineViolation, InvalidInput, NotFound, NotPermitted
from workflows.models import AuditEvent, CaretakerPeriod, Decision, OutboxEvent, Post
from workflows.services import caretaker, posts, publishing, reviews

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)


def _period(demo, *, start, end, by=None, **kw):
    period, caught = caretaker.caretaker_period_create(
        by=by or demo.cora, name_en="2027 general election", name_fr="Élections générales de 2027",
        starts_at=start, ends_at=end, banner_en="Caretaker period: approval needed.",
        banner_fr="Période de transition : approbation requise.", **kw,
    )
    return period, caught


def test_reply_in_a_period_goes_through_approval_and_not_outside_it(demo):
    now = timezone.now()
    _period(demo, start=now + HOUR, end=now + 3 * HOUR)
    before = f.reply_draft(demo)
    assert posts.post_submit(post_id=before.id, by=demo.dana).state == PostState.PUBLISHING  # not yet
    with time_machine.travel(now + 2 * HOUR, tick=False):
        during = posts.post_submit(post_id=f.reply_draft(demo).id, by=demo.dana)
        assert during.state == PostState.IN_REVIEW
        assert during.lane.kind == LaneKind.OFFICIAL
        assert "2027 general election" in during.escalation_display
        ev = AuditEvent.objects.filter(post=during, verb="escalated").get()
        assert ev.data["code"] == caretaker.CODE_OFFICIAL_ONLY
    with time_machine.travel(now + 3 * HOUR, tick=False):  # the end is exclusive
        after = posts.post_submit(post_id=f.reply_draft(demo).id, by=demo.dana)
        assert after.state == PostState.PUBLISHING


def test_topic_rule_routes_only_replies_that_touch_a_listed_topic(demo):
    now = timezone.now()
    _period(demo, start=now - HOUR, end=now + HOUR, official_lane_only=False, reply_topics=["pipeline", "tax"])
    plain = posts.post_submit(post_id=f.reply_draft(demo, "The office opens at 9.").id, by=demo.dana)
    assert plain.state == PostState.PUBLISHING
    touchy = posts.post_submit(post_id=f.reply_draft(demo, "The new Tax credit starts in May.").id, by=demo.dana)
    assert touchy.state == PostState.IN_REVIEW and "tax" in touchy.escalation_display


def test_broadcast_to_a_paused_channel_is_refused_and_nothing_changes(demo):
    now = timezone.now()
    _period(demo, start=now - HOUR, end=now + HOUR, paused_channels=["dpe-en"])
    draft = f.official_draft(demo)
    version = draft.version
    with pytest.raises(GuidelineViolation) as exc:
        posts.post_submit(post_id=draft.id, by=demo.dana)
    assert exc.value.violations[0]["code"] == caretaker.CODE_CHANNEL_PAUSED
    draft.refresh_from_db()
    assert (draft.state, draft.version) == (PostState.DRAFT, version)


def test_post_approved_before_the_period_and_scheduled_inside_it_is_held(demo):
    now = timezone.now()
    post = f.scheduled(demo)  # approved now, due in 2 hours
    assert post.state == PostState.SCHEDULED
    period, caught = _period(demo, start=now + HOUR, end=now + 5 * HOUR)
    assert caught == [post.id]  # listed for review when the period is created
    with time_machine.travel(post.scheduled_at + timedelta(seconds=1), tick=False):
        assert publishing.post_publish_start(post_id=post.id) == []
    post.refresh_from_db()
    assert post.state == PostState.IN_REVIEW
    assert post.current_step.kind == "review" and post.current_step.order == 1
    assert not post.publications.exists()
    assert not Decision.objects.filter(post=post, verdict="approve", invalidated_at__isnull=True).exists()
    held = AuditEvent.objects.filter(post=post, verb="held").get()
    assert held.data["caretaker_period_id"] == period.id
    assert OutboxEvent.objects.filter(post=post, topic="post.held").exists()


def test_post_approved_inside_the_period_publishes(demo):
    now = timezone.now()
    _period(demo, start=now - HOUR, end=now + 5 * HOUR)
    post = f.approved(demo)
    assert publishing.post_publish_start(post_id=post.id)
    assert Post.objects.get(id=post.id).state == PostState.PUBLISHING


def test_scheduled_after_the_period_is_not_caught_or_held(demo):
    now = timezone.now()
    post = f.scheduled(demo)
    _period(demo, start=now - HOUR, end=now + HOUR)
    with time_machine.travel(post.scheduled_at + timedelta(seconds=1), tick=False):
        publishing.post_publish_start(post_id=post.id)
    assert Post.objects.get(id=post.id).state == PostState.PUBLISHING


def test_children_inherit_a_parent_period(demo):
    parent = Organisation.objects.create(name="Privy Council Office", slug="pco")
    Organisation.objects.filter(slug="dpe").update(parent=parent)
    demo.cora.refresh_from_db()
    now = timezone.now()
    CaretakerPeriod.objects.create(organisation=parent, name_en="Election", name_fr="Élection",
                                   starts_at=now - HOUR, ends_at=now + HOUR)
    assert [p.organisation_id for p in caretaker.periods_active(organisation_id=demo.dana.organisation_id)] == [parent.id]
    reply = posts.post_submit(post_id=f.reply_draft(demo).id, by=demo.dana)
    assert reply.state == PostState.IN_REVIEW


def test_cancelled_period_no_longer_applies(demo):
    now = timezone.now()
    period, _ = _period(demo, start=now - HOUR, end=now + HOUR)
    caretaker.caretaker_period_cancel(period_id=period.id, by=demo.cora)
    assert posts.post_submit(post_id=f.reply_draft(demo).id, by=demo.dana).state == PostState.PUBLISHING
    verbs = list(AuditEvent.objects.filter(chain=f"policy:{period.organisation_id}").values_list("verb", flat=True))
    assert verbs[-2:] == ["policy_created", "policy_changed"]


def test_only_permitted_people_of_the_organisation_manage_periods(demo):
    now = timezone.now()
    with pytest.raises(NotPermitted):
        _period(demo, start=now, end=now + HOUR, by=demo.dana)
    period, _ = _period(demo, start=now, end=now + HOUR)
    with pytest.raises(NotFound):  # another organisation's period does not exist for omar
        caretaker.caretaker_period_cancel(period_id=period.id, by=demo.omar)
    with pytest.raises(NotPermitted):
        caretaker.caretaker_period_cancel(period_id=period.id, by=demo.dana)
    assert CaretakerPeriod.objects.get(id=period.id).cancelled_at is None


def test_invalid_periods_are_refused(demo):
    now = timezone.now()
    with pytest.raises(InvalidInput) as exc:
        _period(demo, start=now + HOUR, end=now)
    assert "ends_at" in exc.value.errors
    with pytest.raises(InvalidInput):
        _period(demo, start=now, end=now + HOUR, paused_channels=["other-en"])
    with pytest.raises(InvalidInput):
        _period(demo, start=now, end=now + HOUR, review_lane="nope")
    assert not CaretakerPeriod.objects.exists()


def test_held_post_can_be_approved_again_and_then_publishes(demo):
    now = timezone.now()
    post = f.scheduled(demo)
    _period(demo, start=now + HOUR, end=now + 5 * HOUR)
    with time_machine.travel(post.scheduled_at + timedelta(seconds=1), tick=False):
        publishing.post_publish_start(post_id=post.id)
        p = reviews.post_approve(post_id=post.id, by=demo.rami)
        p = reviews.post_approve(post_id=p.id, by=demo.tess)
        p = reviews.post_approve(post_id=p.id, by=demo.cora)
        assert p.state == PostState.APPROVED
        assert publishing.post_publish_start(post_id=p.id)  # approved inside the period
    with pytest.raises(NotFound):
        caretaker.caretaker_period_cancel(period_id=10**9, by=demo.cora)


def test_a_french_reply_in_a_period_is_approved_in_french_only(demo):
    """Issue 21: the period sends a reply for approval; the reply still answers one citizen in
    their language, and no English version is asked for."""
    from workflows.services import inbound
    from workflows.services.lanes import missing_languages, required_languages

    now = timezone.now()
    _period(demo, start=now - HOUR, end=now + HOUR)
    msg, _ = inbound.inbound_ingest(by=demo.dana, channel="dpe-fr", external_id="care-fr-1", author="@julie",
                                    text="Bonjour, le bureau est-il ouvert samedi?", language="fr")
    reply = posts.post_create(author=demo.dana, kind="reply", in_reply_to=msg.id, rules_acknowledged=True,
                              texts={"fr": "Oui, le bureau est ouvert samedi de 9 h à midi."})
    reply = posts.post_submit(post_id=reply.id, by=demo.dana)
    assert reply.state == PostState.IN_REVIEW and reply.lane.kind == LaneKind.OFFICIAL
    assert required_languages(reply) == ["fr"] and missing_languages(reply, ["fr"]) == []
    reply = reviews.post_approve(post_id=reply.id, by=demo.rami)
    reply = reviews.post_approve(post_id=reply.id, by=demo.tess)  # the translation step: nothing to translate
    reply = reviews.post_approve(post_id=reply.id, by=demo.cora)
    assert reply.state in (PostState.APPROVED, PostState.PUBLISHING, PostState.PUBLISHED)


def test_a_paused_channel_is_named_not_slugged(demo):
    from django.utils import translation

    from workflows.messages import render

    now = timezone.now()
    _period(demo, start=now - HOUR, end=now + HOUR, paused_channels=["dpe-en"])
    draft = f.official_draft(demo)
    with pytest.raises(GuidelineViolation) as exc:
        posts.post_submit(post_id=draft.id, by=demo.dana)
    v = exc.value.violations[0]
    english = render(v["code"], v["params"])
    with translation.override("fr"):
        french = render(v["code"], v["params"])
    assert "DPE (English)" in english and "dpe-en" not in english
    assert "MEP (anglais)" in french and "dpe-en" not in french
