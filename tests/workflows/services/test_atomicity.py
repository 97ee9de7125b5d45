"""A failure half-way through any service leaves nothing half-written."""
from __future__ import annotations

import pytest

from tests.workflows import factories as f
from workflows.models import (
    AuditEvent,
    Decision,
    OutboxEvent,
    Post,
    PostRevision,
    PostText,
    Publication,
)
from workflows.services import posts, publishing, reviews, translations

pytestmark = pytest.mark.django_db


def _snapshot(post_id):
    post = Post.objects.get(id=post_id)
    return {
        "post": (post.state, post.version, post.current_step_id, post.revision, post.lane_id, post.audit_seq),
        "texts": sorted(PostText.objects.filter(post_id=post_id).values_list("language", "body", "version")),
        "revisions": PostRevision.objects.filter(post_id=post_id).count(),
        "decisions": sorted(Decision.objects.filter(post_id=post_id).values_list("id", "invalidated_at")),
        "audit": AuditEvent.objects.count(),
        "outbox": OutboxEvent.objects.count(),
        "publications": Publication.objects.filter(post_id=post_id).count(),
    }


CASES = [
    ("submit", f.official_draft, lambda d, p: posts.post_submit(post_id=p.id, by=d.dana)),
    ("escalating submit", lambda d: f.reply_draft(d, text="Ask the minister."), lambda d, p: posts.post_submit(post_id=p.id, by=d.dana)),
    ("edit", f.changes_requested, lambda d, p: posts.post_edit(post_id=p.id, by=d.dana, texts={"en": "New text."})),
    ("approve", f.at_review, lambda d, p: reviews.post_approve(post_id=p.id, by=d.rami)),
    ("request changes", f.at_review, lambda d, p: reviews.post_request_changes(post_id=p.id, by=d.rami, comment="x")),
    ("reject", f.at_review, lambda d, p: reviews.post_reject(post_id=p.id, by=d.rami, comment="x")),
    ("withdraw", f.at_review, lambda d, p: posts.post_withdraw(post_id=p.id, by=d.dana)),
    ("translate", f.at_translation, lambda d, p: translations.translation_provide(post_id=p.id, by=d.tess, language="fr", text=f.FR)),
    ("urgent", lambda d: f.at_review(d, texts={"en": f.EN, "fr": f.FR}),
     lambda d, p: posts.post_publish_urgent(post_id=p.id, by=d.uma, reason="Now")),
    ("publish start", f.approved, lambda d, p: publishing.post_publish_start(post_id=p.id)),
    ("mark failed", f.publishing_, lambda d, p: publishing.post_mark_failed(post_id=p.id, error="x")),
    ("retry", f.failed, lambda d, p: publishing.post_retry(post_id=p.id, by=d.dana)),
]


@pytest.mark.parametrize(("name", "build", "act"), CASES, ids=[c[0] for c in CASES])
def test_failure_half_way_leaves_nothing_half_written(demo, monkeypatch, name, build, act):
    post = build(demo)
    before = _snapshot(post.id)

    # The last write of every transition is the post row itself; make it fail after the
    # decisions, texts, revisions, audit events and outbox rows were written.
    def boom(self, *args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(Post, "save", boom)
    with pytest.raises(RuntimeError):
        act(demo, post)
    monkeypatch.undo()
    assert _snapshot(post.id) == before
