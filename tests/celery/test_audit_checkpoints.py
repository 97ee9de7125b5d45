"""Beat signs checkpoints of the audit chains on a real worker (issue 9 §7)."""
from __future__ import annotations

import pytest
from django.db.models import Max

from workflows.constants import PostState
from workflows.models import AuditCheckpoint, AuditEvent, Post
from workflows.services.audit import audit_verify_report

from . import flows
from .conftest import wait_for

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]


def test_beat_checkpoints_every_chain_that_grew(webhook_channels, platform, demo, start_worker):
    worker = start_worker(extra_env={"AUDIT_CHECKPOINT_INTERVAL": "0.5"})
    post = flows.reply(demo)
    wait_for(lambda: Post.objects.get(id=post.id).state == PostState.PUBLISHED, timeout=20, what="the post to be published")

    def sealed_to_the_end():
        post_now = Post.objects.get(id=post.id)
        cp = AuditCheckpoint.objects.filter(chain=f"post:{post.id}").order_by("-seq").first()
        return cp is not None and (cp.seq, cp.head) == (post_now.audit_seq, post_now.audit_head)

    wait_for(sealed_to_the_end, timeout=20, what="a checkpoint of the post's whole chain")

    def every_chain_sealed():
        ends = dict(AuditEvent.objects.values("chain").annotate(m=Max("seq")).values_list("chain", "m"))
        sealed = dict(AuditCheckpoint.objects.values("chain").annotate(m=Max("seq")).values_list("chain", "m"))
        return ends == sealed

    try:
        wait_for(every_chain_sealed, timeout=20, what="a checkpoint at the end of every chain")
    except AssertionError:
        chains = sorted(AuditEvent.objects.values_list("chain", flat=True).distinct())
        raise AssertionError(f"chains {chains}, checkpoints "
                             f"{list(AuditCheckpoint.objects.values_list('chain', 'seq'))}\n{worker.log()}") from None
    assert any(c.startswith("security:") for c in AuditCheckpoint.objects.values_list("chain", flat=True))
    report = audit_verify_report()
    assert report.ok, report.findings
