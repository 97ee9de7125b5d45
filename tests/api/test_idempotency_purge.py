from datetime import timedelta

import pytest
from django.utils import timezone

from workflows import tasks
from workflows.models import IdempotencyRecord

pytestmark = pytest.mark.django_db


def test_hourly_prune_drops_idempotency_records_past_24_hours(demo):
    old = IdempotencyRecord.objects.create(user=demo.dana, key="old", method="POST", path="/api/v1/posts/",
                                           request_hash="x", created_at=timezone.now() - timedelta(hours=25))
    fresh = IdempotencyRecord.objects.create(user=demo.dana, key="fresh", method="POST", path="/api/v1/posts/",
                                             request_hash="y")
    tasks.outbox_prune()
    assert not IdempotencyRecord.objects.filter(id=old.id).exists()
    assert IdempotencyRecord.objects.filter(id=fresh.id).exists()
