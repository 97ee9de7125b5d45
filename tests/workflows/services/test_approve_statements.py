"""Approve's SQL statements, BEGIN/COMMIT and permission checks included (issue 14): at most 10.
BEGIN; the row lock with the lane's rules and the text revisions (four eyes, the guideline
re-check: engine.post_lock_for_transition); the texts; the lane's steps with their live approvals;
the channels with every permission the caller holds (permissions.caller_perms); then the
decision, the outbox events, the audit events (one INSERT each) and the post's UPDATE; COMMIT.
Issue 23 removed the one-statement write of compiled.py (7 statements then): plain Django writes."""
from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.workflows import factories
from workflows.constants import PostState
from workflows.services import reviews, translations

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgresql("statement pins are PostgreSQL's (row locks, array subqueries); SQLite takes no row lock and reads permissions in more statements")]

LIMIT = 10


def _approve(post_id, by):
    with CaptureQueriesContext(connection) as ctx:
        post = reviews.post_approve(post_id=post_id, by=by)
    statements = [q["sql"] for q in ctx.captured_queries]
    return post, statements


def _show(statements):
    return "\n".join(f"{i + 1:2}. {s[:160]}" for i, s in enumerate(statements))


def test_approve_each_step_in_at_most_ten_statements(demo):
    post = factories.at_review(demo)
    post, first = _approve(post.id, demo.rami)  # review -> translation
    assert post.state == PostState.IN_REVIEW
    assert first[0] in {"BEGIN", "SAVEPOINT"} or first[0].startswith("BEGIN"), _show(first)
    assert first[-1] == "COMMIT", _show(first)
    assert len(first) <= LIMIT, _show(first)
    translations.translation_provide(post_id=post.id, by=demo.tess, language="fr", text=factories.FR)
    post, second = _approve(post.id, demo.tess)  # translation -> sign-off
    assert len(second) <= LIMIT, _show(second)
    post, last = _approve(post.id, demo.cora)  # sign-off -> approved (the last step)
    assert post.state == PostState.APPROVED
    assert len(last) <= LIMIT, _show(last)


def test_refused_approve_writes_nothing(demo):
    from workflows.exceptions import NotPermitted

    post = factories.at_review(demo)
    with pytest.raises(NotPermitted):
        reviews.post_approve(post_id=post.id, by=demo.tess)  # not on the review team
    from workflows.models import Decision

    assert not Decision.objects.filter(post_id=post.id).exists()
