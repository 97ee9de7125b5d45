"""Concurrent actions on real PostgreSQL: one transition, the rest conflicts."""
from __future__ import annotations

import threading

import pytest
from django.db import connection

from accounts.models import Team, User
from tests.workflows import factories as f
from workflows.constants import StepKind
from workflows.exceptions import Conflict, WorkflowError
from workflows.models import AuditEvent, Decision, Post
from workflows.services import reviews
from workflows.services.audit import audit_verify

N = 20


def _run_concurrently(n, fn):
    barrier = threading.Barrier(n)
    results = [None] * n

    def worker(i):
        try:
            barrier.wait(timeout=30)
            results[i] = fn(i)
        except Exception as exc:  # noqa: BLE001
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


@pytest.mark.postgresql("twenty threads racing for a row lock; SQLite locks the whole database")
@pytest.mark.django_db(transaction=True)
def test_twenty_approvers_at_once_make_one_transition(demo):
    managers = Team.objects.get(slug="managers", organisation__slug="dpe")
    approvers = []
    for i in range(N):
        u = User.objects.create(username=f"mgr{i}", organisation=demo.dana.organisation)
        u.groups.add(managers.group)
        approvers.append(u)
    post = f.at_review(demo)
    seen_version = post.version

    results = _run_concurrently(N, lambda i: reviews.post_approve(post_id=post.id, by=approvers[i], version=seen_version))

    successes = [r for r in results if isinstance(r, Post)]
    conflicts = [r for r in results if isinstance(r, Conflict)]
    others = [r for r in results if not isinstance(r, (Post, Conflict))]
    assert others == []
    assert len(successes) == 1
    assert len(conflicts) == N - 1
    assert Decision.objects.filter(post=post).count() == 1
    post.refresh_from_db()
    assert post.current_step.kind == StepKind.TRANSLATION
    assert AuditEvent.objects.filter(post=post, verb="step_entered").count() == 2
    assert audit_verify()[1] is None


@pytest.mark.postgresql("threads racing for a row lock; SQLite locks the whole database")
@pytest.mark.django_db(transaction=True)
def test_same_reviewer_twice_at_once_records_one_decision(demo):
    step = demo.lane("official").steps.get(order=1)
    step.quorum = 2
    step.save()
    post = f.at_review(demo)
    results = _run_concurrently(8, lambda i: reviews.post_approve(post_id=post.id, by=demo.rami))
    assert sum(isinstance(r, Post) for r in results) == 1
    assert all(isinstance(r, (Post, WorkflowError)) for r in results)
    assert Decision.objects.filter(post=post, reviewer=demo.rami).count() == 1
