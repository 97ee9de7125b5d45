"""Each action's check agrees with what running it does (workflows/actions.py: the rule of
workflows/services/actions.py, and its service).

The cases are derived from the definitions: every post action × every state (and each review
step) × every demo role, every inbox action × every message status × every role, and the
review and publication actions. For each: the check says allowed → execute succeeds; the check
refuses with a code → execute raises the same code and nothing changes (state, version, audit
trail). Every execution runs in a savepoint that is rolled back, so one post serves all roles."""
from __future__ import annotations

import pytest
from django.db import transaction

from tests.workflows import factories as f
from workflows import actions as edge_actions  # what the edges run: check + execute
from workflows.constants import (
    ACTION_FROM,
    ACTION_TO,
    ALLOWED_TRANSITIONS,
    Action,
    InboundStatus,
    PostState,
    PublicationStatus,
    ReviewVerdict,
)
from workflows.exceptions import WorkflowError
from workflows.models import AuditEvent, InboundMessage, Post, PostReview, Publication
from workflows.services import actions, inbound, posts

pytestmark = pytest.mark.django_db

ROLES = ("dana", "rami", "tess", "cora", "uma")
BOTH = {"en": f.EN, "fr": f.FR}


class _Rollback(Exception):
    pass


def _build(demo, situation: str) -> Post:
    """A post in `situation` (a state, or in_review at a named step), written in both languages
    so that a text rule never stands between an allowed action and its success."""
    if situation == "in_review@translation":
        return f.at_translation(demo, texts=BOTH)
    if situation == "in_review@sign_off":
        return f.at_sign_off(demo, texts=BOTH)
    return f.in_state(demo, PostState(situation), texts=BOTH)


SITUATIONS = [s.value for s in PostState] + ["in_review@translation", "in_review@sign_off"]

#: How the test runs each post action (the arguments a caller gives besides post and user).
POST_RUNS = {
    Action.EDIT: lambda post, user: {"post_id": post.id, "by": user, "texts": {"en": f.EN + " Edited."}},
    Action.SUBMIT: lambda post, user: {"post_id": post.id, "by": user},
    Action.APPROVE: lambda post, user: {"post_id": post.id, "by": user},
    Action.REQUEST_CHANGES: lambda post, user: {"post_id": post.id, "by": user, "comment": "Please fix."},
    Action.REJECT: lambda post, user: {"post_id": post.id, "by": user, "comment": "No."},
    Action.TRANSLATE: lambda post, user: {"post_id": post.id, "by": user, "language": "fr", "text": f.FR + " Révisé."},
    Action.WITHDRAW: lambda post, user: {"post_id": post.id, "by": user},
    Action.PUBLISH_URGENT: lambda post, user: {"post_id": post.id, "by": user, "reason": "Storm warning"},
    Action.RETRY: lambda post, user: {"post_id": post.id, "by": user},
    Action.RETRACT: lambda post, user: {"post_id": post.id, "by": user},
}


def test_every_post_action_is_run_by_this_test():
    assert {a.name for a in actions.POST_ACTIONS} == set(POST_RUNS)


def test_action_sources_and_targets_are_in_the_transition_table():
    """ACTION_FROM lives beside the table: each action's target is allowed from each source."""
    for action, sources in ACTION_FROM.items():
        for source in sources:
            assert ALLOWED_TRANSITIONS[source], (action, source)
            if action in ACTION_TO:
                assert ACTION_TO[action] in ALLOWED_TRANSITIONS[source], (action, source)


def _snapshot(post_id: int) -> tuple:
    post = Post.objects.get(id=post_id)
    return post.state, post.version, AuditEvent.objects.filter(post_id=post_id).count()


def _agree(run, refusal, *, snapshot) -> None:
    """Run inside a savepoint (rolled back) and compare with the check's answer."""
    before = snapshot()
    error: WorkflowError | None = None
    try:
        with transaction.atomic():
            try:
                run()
            except WorkflowError as exc:
                error = exc
            else:
                raise _Rollback
    except _Rollback:
        pass
    if refusal is None:
        assert error is None, f"check allowed it, execute refused: {error.code} {error.params}"
        return
    assert error is not None, f"check refused ({refusal.code}), execute succeeded"
    assert (error.code, type(error)) == (refusal.code, refusal.error)
    assert snapshot() == before, "a refused action changed something"


@pytest.mark.parametrize("situation", SITUATIONS)
@pytest.mark.parametrize("action", [a.name for a in actions.POST_ACTIONS])
def test_post_action_check_agrees_with_execute(demo, action, situation):
    post = _build(demo, situation)
    act = edge_actions.ACTIONS[action]
    for role in ROLES:
        user = getattr(demo, role)
        fresh = Post.objects.select_related("lane", "current_step", "current_step__team").get(id=post.id)
        refusal = act.check(user, fresh)
        _agree(lambda user=user: act.execute(**POST_RUNS[action](post, user)), refusal,
               snapshot=lambda: _snapshot(post.id))


@pytest.mark.parametrize("status", [s.value for s in InboundStatus])
@pytest.mark.parametrize("action", [a.name for a in actions.INBOUND_ACTIONS])
def test_inbox_action_check_agrees_with_execute(demo, action, status):
    msg, _ = inbound.inbound_ingest(by=demo.dana, channel="dpe-en", external_id=f"agree-{action}-{status}",
                                    author="@citizen", text="When does the office reopen?", language="en")
    if status != InboundStatus.NEW:
        inbound.inbound_claim(inbound_id=msg.id, by=demo.uma)
    if status == InboundStatus.DISMISSED:
        inbound.inbound_dismiss(inbound_id=msg.id, by=demo.uma, reason="spam")
    elif status == InboundStatus.REPLIED:
        InboundMessage.objects.filter(id=msg.id).update(status=InboundStatus.REPLIED)
    runs = {
        Action.CLAIM: lambda user: inbound.inbound_claim(inbound_id=msg.id, by=user),
        Action.DISMISS: lambda user: inbound.inbound_dismiss(inbound_id=msg.id, by=user, reason="spam"),
        Action.REPLY: lambda user: posts.reply_send(inbound_id=msg.id, by=user, text="Monday at 9.",
                                                     language="en", rules_acknowledged=True),
    }

    def snapshot() -> tuple:
        m = InboundMessage.objects.get(id=msg.id)
        return m.status, m.assignee_id, AuditEvent.objects.filter(inbound_id=msg.id).count()

    for role in ROLES:
        user = getattr(demo, role)
        refusal = actions.ACTIONS[action].check(user, InboundMessage.objects.get(id=msg.id))
        _agree(lambda user=user: runs[action](user), refusal, snapshot=snapshot)


def test_complete_review_check_agrees_with_execute(demo):
    post = f.at_review(demo, texts=BOTH)
    posts.post_publish_urgent(post_id=post.id, by=demo.uma, reason="Storm warning")
    review = PostReview.objects.get(post=post)
    for role in ROLES:
        user = getattr(demo, role)
        fresh = PostReview.objects.select_related("post", "team").get(id=review.id)
        refusal = actions.COMPLETE_REVIEW.check(user, fresh)
        _agree(lambda user=user: edge_actions.COMPLETE_REVIEW.execute(review_id=review.id, by=user,
                                                                   verdict=ReviewVerdict.FINE),
               refusal, snapshot=lambda: _snapshot(post.id))


@pytest.mark.parametrize("pub_status", [PublicationStatus.UNKNOWN, PublicationStatus.SENT])
def test_resolve_check_agrees_with_execute(demo, pub_status):
    post = f.publishing_(demo, texts=BOTH)
    pub = Publication.objects.filter(post=post).first()
    Publication.objects.filter(id=pub.id).update(status=pub_status)
    for role in ROLES:
        user = getattr(demo, role)
        fresh = Publication.objects.select_related("post").get(id=pub.id)
        refusal = actions.RESOLVE.check(user, fresh)
        _agree(lambda user=user: edge_actions.RESOLVE.execute(publication_id=pub.id, by=user, sent=False),
               refusal, snapshot=lambda: _snapshot(post.id))


def test_post_actions_lists_what_the_checks_allow(demo):
    post = f.at_review(demo, texts=BOTH)
    assert actions.post_actions(user=demo.rami, post=post) == ["approve", "request_changes", "reject"]
    assert actions.post_actions(user=demo.dana, post=post) == ["withdraw"]
    assert actions.post_actions(user=demo.uma, post=post) == ["publish_urgent"]


def test_every_state_change_goes_through_the_one_transition_helper():
    """No service writes a post's state but engine.transition (which checks the table, audits,
    enqueues and saves); no service keeps its own list of allowed states (ACTION_FROM does)."""
    import ast
    import inspect
    from pathlib import Path

    from workflows.services import engine

    services = Path(engine.__file__).parent
    writers = []
    for path in sorted(services.glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef):
                for sub in ast.walk(node):
                    targets = sub.targets if isinstance(sub, ast.Assign) else []
                    if any(isinstance(t, ast.Attribute) and t.attr == "state" for t in targets):
                        writers.append(f"{path.name}:{node.name}")
        assert "ensure_state(" not in path.read_text(), path.name
    assert writers == ["engine.py:transition_many"]
    assert "ensure_transition(post, to=to)" in inspect.getsource(engine.transition_many)
    # One definition: transition is transition_many([post]) (issue 23: the two had drifted).
    assert "transition_many([post]" in inspect.getsource(engine.transition)
