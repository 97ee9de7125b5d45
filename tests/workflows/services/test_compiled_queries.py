"""Approve's queries are compiled once per process (workflows/compiled.py, issue 14), and only
their SQL is kept: every approval reads the rules, steps, permissions, texts and approvals afresh.
A change made between two approvals in the same process (the compiled forms warm) is seen by the
second one."""
from __future__ import annotations

import pytest
from django.db import connection
from django.db.models.signals import post_save, pre_save
from django.db.models.sql.query import Query

from tests.workflows import factories as f
from workflows import compiled
from workflows.constants import PostState, StepKind
from workflows.exceptions import GuidelineViolation, NotPermitted
from workflows.models import AuditEvent, Decision, GuidelineRule, OutboxEvent, Post
from workflows.services import engine, reviews, translations
from workflows.services.audit import audit_verify

pytestmark = pytest.mark.django_db

#: The lock and steps queries are compiled on PostgreSQL (elsewhere they are the ORM's as before).
postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL path")


@pytest.fixture
def warm(demo):
    """One approval made: every compiled form of approve's path exists in this process."""
    reviews.post_approve(post_id=f.at_review(demo).id, by=demo.rami)
    return demo


def _compilations(monkeypatch) -> list[str]:
    made: list[str] = []
    original = Query.get_compiler

    def counting(self, *args, **kwargs):
        made.append(type(self).__name__)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Query, "get_compiler", counting)
    return made


@postgresql_only
def test_a_warm_approve_compiles_no_sql(warm, monkeypatch):
    """Building and compiling querysets was most of approve's time (15 ms, against 1.5 ms for
    the floor transaction): a warm approve builds none, from the lock to the last write."""
    post = f.at_review(warm)
    made = _compilations(monkeypatch)
    post = reviews.post_approve(post_id=post.id, by=warm.rami)
    assert post.current_step.kind == StepKind.TRANSLATION
    assert made == []


def test_a_rule_changed_after_a_warm_approve_blocks_the_next(warm):
    """A stale rule must not approve text the changed rule now blocks."""
    post = f.at_review(warm)
    rule = GuidelineRule.objects.get(lane=post.lane, kind="forbidden_terms")
    rule.params = {"terms": {"en": ["reopens"]}}
    rule.severity = "block"
    rule.enabled = True
    rule.save()
    with pytest.raises(GuidelineViolation):
        reviews.post_approve(post_id=post.id, by=warm.rami)
    assert not Decision.objects.filter(post=post).exists()


def test_a_rule_enabled_after_a_warm_approve_blocks_the_next(warm):
    post = f.at_review(warm)
    GuidelineRule.objects.filter(lane=post.lane, kind="forbidden_terms").update(enabled=False)
    reviews.post_approve(post_id=f.at_review(warm).id, by=warm.rami)  # passes without the rule
    GuidelineRule.objects.filter(lane=post.lane, kind="forbidden_terms").update(
        enabled=True, severity="block", params={"terms": {"en": ["monday"]}})
    with pytest.raises(GuidelineViolation):
        reviews.post_approve(post_id=post.id, by=warm.rami)


def test_a_quorum_raised_after_a_warm_approve_holds_the_step(warm):
    """The lane's steps are read at every approval: a raised quorum keeps the post waiting."""
    post = f.at_review(warm)
    step = post.lane.steps.get(order=1)
    step.quorum = 2
    step.save()
    post = reviews.post_approve(post_id=post.id, by=warm.rami)
    assert post.state == PostState.IN_REVIEW
    assert post.current_step_id == step.id


def test_a_permission_removed_after_a_warm_approve_refuses_the_next(warm):
    from guardian.shortcuts import remove_perm

    from accounts.models import Team

    post = f.at_review(warm)
    team = Team.objects.get(slug="managers", organisation__slug="dpe")
    remove_perm("workflows.review_channel", team.group, warm.channel("dpe-fr"))
    with pytest.raises(NotPermitted, match="permission"):
        reviews.post_approve(post_id=post.id, by=warm.rami)


def test_each_user_and_team_gets_their_own_answer(warm):
    """The compiled permission query binds the user and the team's group at each call."""
    post = f.at_review(warm)
    with pytest.raises(NotPermitted):
        reviews.post_approve(post_id=post.id, by=warm.tess)  # not on the review team
    post = reviews.post_approve(post_id=post.id, by=warm.rami)
    translations.translation_provide(post_id=post.id, by=warm.tess, language="fr", text=f.FR)
    with pytest.raises(NotPermitted):
        reviews.post_approve(post_id=post.id, by=warm.rami)  # not on the translation team
    post = reviews.post_approve(post_id=post.id, by=warm.tess)
    assert post.current_step.kind == StepKind.SIGN_OFF


def test_compiled_writes_match_the_orm(warm):
    """The decision, outbox event, audit events and post row written by approve are what the
    ORM writes: the audit chain verifies, and the rows read back equal."""
    post = f.at_review(warm)
    post = reviews.post_approve(post_id=post.id, by=warm.rami, comment="fine")
    decision = Decision.objects.get(post=post)
    assert (decision.reviewer_id, decision.verdict, decision.comment, decision.text_versions,
            decision.languages) == (warm.rami.id, "approve", "fine", {"en": 1}, ["en"])
    assert OutboxEvent.objects.filter(post=post, topic="post.step_entered").count() == 2  # submit, approve
    stored = Post.objects.get(id=post.id)
    assert (stored.version, stored.audit_seq, stored.audit_head, stored.current_step_id, stored.checks) == (
        post.version, post.audit_seq, post.audit_head, post.current_step_id, post.checks)
    events = list(AuditEvent.objects.filter(post=post).order_by("seq"))
    assert [e.verb for e in events][-2:] == ["approved", "step_entered"]
    assert events[-1].hash == stored.audit_head
    assert audit_verify()[1] is None


def test_compiled_writes_only_for_models_without_signals():
    """insert_rows / update_row send no model signals: the models they write must have none."""
    for model in (Decision, OutboxEvent, AuditEvent, Post):
        assert not pre_save.has_listeners(model) and not post_save.has_listeners(model), model


def test_a_sentinel_inlined_into_the_sql_is_refused():
    query = compiled.Compiled(lambda post_id: Post.objects.extra(where=[f"id = {post_id}"]), arity=1)
    with pytest.raises(ValueError, match="sentinels"):
        query.run(1)


@postgresql_only
def test_revisions_read_before_the_lock_wait_are_not_trusted(demo):
    """The lock statement's subqueries see the snapshot taken before it waited for the lock: when
    the post (read after the wait) counts a revision they miss, four eyes reads them again."""
    from django.db import transaction

    post = f.at_review(demo)
    with transaction.atomic():
        locked = engine.post_lock_for_transition(post_id=post.id, user=demo.rami, revisions=True)
        assert "_parley_revisions" in locked.__dict__
    Post.objects.filter(id=post.id).update(revision=post.revision + 1)  # as if committed meanwhile
    with transaction.atomic():
        locked = engine.post_lock_for_transition(post_id=post.id, user=demo.rami, revisions=True)
        assert "_parley_revisions" not in locked.__dict__


def _detail(post):
    """What a post's API detail reads: the row, its lane, author and step, and the related rows."""
    return (post.id, post.version, post.state, post.lane.slug, post.author.username,
            post.current_step_id, [(t.language, t.body) for t in post.texts.all()],
            [c.slug for c in post.channels.all()],
            [(d.id, d.reviewer.username, d.step_id, d.verdict) for d in post.decisions.all()],
            [(p.id, p.channel.slug, p.language, p.status) for p in post.publications.all()])


def test_post_detail_matches_the_orm_and_is_read_afresh(demo, django_assert_num_queries):
    """The post detail (selectors.post_get_visible, the API's answer to every action) reads through
    compiled SQL: the same rows as posts_visible, a change seen at the next read, another
    organisation's post not found, and no query left for the serializer's related rows."""
    from accounts.models import Organisation, User
    from workflows import selectors
    from workflows.exceptions import NotFound

    post = f.at_review(demo)
    first = selectors.post_get_visible(post_id=post.id, user=demo.dana)
    assert _detail(first) == _detail(selectors.posts_visible(user=demo.dana).get(id=post.id))
    reviews.post_approve(post_id=post.id, by=demo.rami)
    with django_assert_num_queries(5):  # the post, texts, channels, decisions, publications
        again = selectors.post_get_visible(post_id=post.id, user=demo.dana)
        seen = _detail(again)  # everything the detail shows, without another query
    assert seen == _detail(selectors.posts_visible(user=demo.dana).get(id=post.id))
    assert again.version == first.version + 1 and len(seen[8]) == len(_detail(first)[8]) + 1
    stranger = User.objects.create(username="stranger", organisation=Organisation.objects.create(
        name="Another department", slug="another-dept"))
    with pytest.raises(NotFound):
        selectors.post_get_visible(post_id=post.id, user=stranger)
    nobody = User.objects.create(username="nobody")
    with pytest.raises(NotFound):
        selectors.post_get_visible(post_id=post.id, user=nobody)
