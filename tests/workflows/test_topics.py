"""Every topic the outbox emits is one a webhook can subscribe to, and nothing else is
subscribable (STYLE.md: "A test asserts every emitted topic is subscribable")."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from workflows.services.outbox import outbox_emit
from workflows.services.webhook_subscriptions import TOPICS
from workflows.topics import INTERNAL, SUBSCRIBABLE, Topic

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"


def _topic_value(node: ast.AST) -> str | None:
    """A topic written as a string literal or as Topic.NAME."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "Topic":
        return Topic[node.attr].value
    return None


def emitted_topics() -> set[str]:
    """Every topic the code emits, read from the source: the `topic=` argument of any call
    (outbox_emit, and helpers that pass it on), and values assigned to a variable named
    `topic` (a sweep that picks one of two topics). Calls building the relay's own webhook
    deliveries (OutboxEvent(topic=Topic.WEBHOOK_DELIVER)) count too, and are internal."""
    found: set[str] = set()
    for path in WORKFLOWS.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Call):
                for kw in node.keywords:
                    if kw.arg == "topic" and (value := _topic_value(kw.value)) is not None:
                        found.add(value)
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    pairs: list[tuple[ast.AST, ast.AST]] = []
                    if isinstance(target, ast.Name):
                        pairs = [(target, node.value)]
                    elif isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                        pairs = list(zip(target.elts, node.value.elts, strict=False))
                    for name, value in pairs:
                        if isinstance(name, ast.Name) and name.id == "topic":
                            if (v := _topic_value(value)) is not None:
                                found.add(v)
    return found


def test_the_scan_sees_the_sla_topics_and_the_decision_topics():
    found = emitted_topics()
    # Assigned to `topic` in the SLA sweep; passed through a helper for decisions.
    assert {"post.sla_reminder", "post.sla_overdue", "post.rejected", "post.changes_requested"} <= found


def test_every_emitted_topic_is_a_topic_and_subscribable():
    emitted = emitted_topics()
    assert emitted <= {t.value for t in Topic}, emitted - {t.value for t in Topic}
    assert emitted - INTERNAL == set(SUBSCRIBABLE)
    assert set(TOPICS) == set(SUBSCRIBABLE)


@pytest.mark.django_db
def test_outbox_emit_refuses_a_topic_outside_the_vocabulary():
    with pytest.raises(ValueError, match="post.typo"):
        outbox_emit(topic="post.typo", organisation_id=None)


@pytest.mark.django_db
def test_a_batched_transition_refuses_a_topic_outside_the_vocabulary(demo):
    """transition is transition_many([post]): the batched form checks the topic too (issue 23:
    the two had drifted, the batch wrote any topic)."""
    from django.db import transaction

    from tests.workflows import factories
    from workflows.constants import PostState
    from workflows.models import AuditEvent, OutboxEvent, Post
    from workflows.services import engine

    post = factories.approved(demo)
    before = (OutboxEvent.objects.count(), AuditEvent.objects.filter(post_id=post.id).count())
    def batch():
        with transaction.atomic():
            locked = Post.objects.select_for_update().get(id=post.id)
            engine.transition_many([locked], to=PostState.PUBLISHING, verb="publishing", topic="post.typo")

    with pytest.raises(ValueError, match="post.typo"):
        batch()
    assert (OutboxEvent.objects.count(), AuditEvent.objects.filter(post_id=post.id).count()) == before
    assert Post.objects.get(id=post.id).state == PostState.APPROVED
