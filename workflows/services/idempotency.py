"""Idempotency-Key records (the API's replay of a first response, workflows/api/idempotency.py):
how long they are kept, and the periodic purge."""
from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from ..models import IdempotencyRecord

#: How long a key's first response is replayed.
TTL = timedelta(hours=24)


def idempotency_purge_expired(*, now: datetime | None = None) -> int:
    """Delete records older than the 24 h window (the hourly prune task calls it); returns how
    many were deleted."""
    now = now or timezone.now()
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=now - TTL).delete()
    return deleted
