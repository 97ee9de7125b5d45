"""Submit and approve run a fixed, small number of SQL statements, permission checks included."""
from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.workflows import factories as f
from workflows.services import posts, reviews

pytestmark = pytest.mark.django_db

# Pinned: a change that adds a query to the hot path must update these on purpose.
# The counts include the SAVEPOINT/RELEASE pair of the service's atomic block.
# Approve: lock (with the text revisions and the lane's rules for four eyes and the guideline
# re-check), texts, steps with their live approvers, the channels with the caller's permissions,
# then the decision, the outbox events, the audit events and the post's update (one statement
# each since issue 23 removed compiled.py's one-statement write: 7 then).
# Submit: + 1 for the caretaker periods in force (one query, inheritance included); the lane's
# rules are read with the row lock (engine.post_lock_for_transition).
SUBMIT_QUERIES = 11  # the audit events (submitted, step entered) in one insert
APPROVE_QUERIES = 10


def _count(fn):
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries), [q["sql"] for q in ctx.captured_queries]


@pytest.mark.postgresql("statement pins are PostgreSQL's (row locks, array subqueries); SQLite takes no row lock and reads permissions in more statements")
def test_submit_query_budget(demo, django_assert_num_queries):
    post = f.official_draft(demo)
    with django_assert_num_queries(SUBMIT_QUERIES):
        posts.post_submit(post_id=post.id, by=demo.dana)


@pytest.mark.postgresql("statement pins are PostgreSQL's (row locks, array subqueries); SQLite takes no row lock and reads permissions in more statements")
def test_approve_query_budget(demo, django_assert_num_queries):
    post = f.at_review(demo)
    with django_assert_num_queries(APPROVE_QUERIES):
        reviews.post_approve(post_id=post.id, by=demo.rami)


def test_approve_cost_does_not_grow_with_history(demo):
    """A post with a long history costs the same to approve as a fresh one."""
    fresh = f.at_review(demo)
    n_fresh, _ = _count(lambda: reviews.post_approve(post_id=fresh.id, by=demo.rami))
    busy = f.at_review(demo)
    for _ in range(5):
        busy = reviews.post_request_changes(post_id=busy.id, by=demo.rami, comment="again")
        posts.post_submit(post_id=busy.id, by=demo.dana)
    n_busy, _ = _count(lambda: reviews.post_approve(post_id=busy.id, by=demo.rami))
    assert n_busy == n_fresh


#: A conversation reply's submit, the hot path of "published in seconds" (issue 14): lock (with
#: the lane's rules), channels, texts, escalation rules, caretaker periods, the lane's steps (none:
#: no approvals are read), the publication, the audit events (submitted, approved, publishing) in
#: one insert, the outbox row, the update; SAVEPOINT/RELEASE included.
REPLY_SUBMIT_QUERIES = 12


@pytest.mark.postgresql("statement pins are PostgreSQL's (row locks, array subqueries); SQLite takes no row lock and reads permissions in more statements")
def test_reply_submit_query_budget(demo):
    post = f.reply_draft(demo)
    n, sql = _count(lambda: posts.post_submit(post_id=post.id, by=demo.dana))
    assert sum(s.startswith('INSERT INTO "workflows_auditevent"') for s in sql) == 1
    assert not any('FROM "workflows_decision"' in s for s in sql)
    assert n == REPLY_SUBMIT_QUERIES, "\n".join(sql)
