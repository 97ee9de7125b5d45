"""Listening: pull what was said to a channel (mentions, direct messages, replies) and around it
(saved hashtags and searches) into the inbox, from a stored cursor, per channel.

- Each channel's head cursor row (stream = NULL) carries a lease: `channel_listen` takes it with
  one conditional UPDATE, so a channel is polled by at most one worker at a time, and a worker
  killed mid-poll only delays the channel until the lease expires. No transaction is held open
  during the platform calls.
- A rate limit (RateLimited) backs the channel off until `Retry-After` / `X-RateLimit-Reset`
  (else an exponential back-off); other errors back off too, and are kept in `last_error`.
- Beat runs `listen_fanout` every LISTEN_FANOUT_INTERVAL: one task per due channel, spread over
  the workers (a duplicate task finds the lease taken and does nothing).
- Ingest is idempotent on (channel, external_id) (services.inbound.inbound_hear), and the cursor
  moves only after a page is stored: a crash re-reads a page, never skips one.
"""
from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from ..channels import adapter_classes, get_adapter
from ..channels.base import AdapterError, RateLimited
from ..messages import Message
from ..models import Channel, ListeningCursor, ListeningStream
from .inbound import inbound_hear

log = logging.getLogger("parley.listening")


def listening_adapters() -> list[str]:
    """The adapters that can listen (they implement fetch_mentions)."""
    return sorted(name for name, cls in adapter_classes().items()
                  if callable(getattr(cls, "fetch_mentions", None)))


def _listening_channels() -> Q:
    return Q(is_active=True, adapter__in=listening_adapters())


def channels_due_for_listening(*, now: datetime | None = None, limit: int = 5000) -> list[int]:
    """Ids of the channels due a poll: listening adapters, not polled for LISTEN_INTERVAL, not
    backing off, not leased. Creates the head cursor of a channel that never listened."""
    now = now or timezone.now()
    has_head = Exists(ListeningCursor.objects.filter(channel_id=OuterRef("id"), stream__isnull=True))
    missing = Channel.objects.filter(_listening_channels()).filter(~has_head).values_list("id", flat=True)
    ListeningCursor.objects.bulk_create([ListeningCursor(channel_id=cid) for cid in missing], ignore_conflicts=True)
    stale = now - timedelta(seconds=settings.LISTEN_INTERVAL)
    return list(
        ListeningCursor.objects.filter(
            Q(last_polled_at__isnull=True) | Q(last_polled_at__lte=stale),
            Q(backoff_until__isnull=True) | Q(backoff_until__lte=now),
            Q(leased_until__isnull=True) | Q(leased_until__lte=now),
            stream__isnull=True, channel__is_active=True, channel__adapter__in=listening_adapters(),
        ).order_by("last_polled_at", "channel_id").values_list("channel_id", flat=True)[:limit]
    )


def _lease(channel_id: int, worker: str, now: datetime, *, only_if_due: bool) -> bool:
    """Take the channel's poll lease with one conditional UPDATE (creating the head row the
    first time): at most one worker polls a channel at a time."""
    due = Q()
    if only_if_due:  # a duplicate fan-out task arriving after the poll finds nothing to do
        due = Q(last_polled_at__isnull=True) | Q(last_polled_at__lte=now - timedelta(seconds=settings.LISTEN_INTERVAL))
    free = (Q(leased_until__isnull=True) | Q(leased_until__lte=now)) & (
        Q(backoff_until__isnull=True) | Q(backoff_until__lte=now))
    lease = {"leased_until": now + timedelta(seconds=settings.LISTEN_LEASE_SECONDS), "leased_by": worker[:200]}
    if ListeningCursor.objects.filter(due, free, channel_id=channel_id, stream__isnull=True).update(**lease):
        return True
    if ListeningCursor.objects.filter(channel_id=channel_id, stream__isnull=True).exists():
        return False
    ListeningCursor.objects.bulk_create([ListeningCursor(channel_id=channel_id)], ignore_conflicts=True)
    return bool(ListeningCursor.objects.filter(due, free, channel_id=channel_id, stream__isnull=True).update(**lease))


def _backoff(failures: int, retry_after: float | None) -> float:
    if retry_after is not None:
        return max(1.0, retry_after)
    return min(settings.LISTEN_BACKOFF_MAX, settings.LISTEN_BACKOFF_BASE * 2 ** max(0, failures - 1))


def channel_listen(*, channel_id: int, worker: str = "", now: datetime | None = None, only_if_due: bool = False) -> dict | None:
    """Poll one channel: its mentions, then each active stream, from the stored cursors, into
    the inbox. Returns {"heard": n, "new": n} or None when another worker holds the channel, it
    is backing off, its adapter does not listen, or (only_if_due, the beat's tasks) it was
    polled less than LISTEN_INTERVAL ago. Never raises for a platform error: the channel backs
    off (per channel) and the error is kept on its cursor."""
    now = now or timezone.now()
    worker = worker or "listener"
    if not _lease(channel_id, worker, now, only_if_due=only_if_due):
        return None
    head = (ListeningCursor.objects.select_related("channel")
            .annotate(has_streams=Exists(ListeningStream.objects.filter(channel_id=OuterRef("channel_id"), active=True)))
            .get(channel_id=channel_id, stream__isnull=True))
    channel = head.channel
    fields: dict = {"leased_until": None, "leased_by": ""}
    if not (channel.is_active and channel.adapter in listening_adapters()):
        ListeningCursor.objects.filter(id=head.id, leased_by=worker[:200]).update(**fields)
        return None
    heard = new = 0
    error = ""
    retry_after = None
    try:
        adapter: Any = get_adapter(channel)  # a listening adapter (listening_adapters())
        page = adapter.fetch_mentions(head.cursor)
        for item in page.items:
            _msg, created = inbound_hear(channel=channel, item=item)
            heard, new = heard + 1, new + int(created)
        if page.cursor != head.cursor:
            fields["cursor"] = page.cursor[:200]
            if page.items:  # stored: keep the progress even if a stream fails below
                ListeningCursor.objects.filter(id=head.id).update(cursor=fields["cursor"])
        streams = ListeningStream.objects.filter(channel_id=channel_id, active=True).order_by("id")
        for stream in (streams if head.has_streams else []):
            row, _ = ListeningCursor.objects.get_or_create(channel_id=channel_id, stream=stream)
            page = adapter.fetch_stream(stream.query, row.cursor)
            for item in page.items:
                _msg, created = inbound_hear(channel=channel, item=item)
                heard, new = heard + 1, new + int(created)
            ListeningCursor.objects.filter(id=row.id).update(cursor=page.cursor[:200], last_polled_at=timezone.now(),
                                                             last_error="")
    except RateLimited as exc:
        error, retry_after = f"rate limited: {exc}", exc.retry_after
    except AdapterError as exc:
        error = f"{exc.__class__.__name__}: {exc}"
    except Exception as exc:  # noqa: BLE001 - a bug or a malformed answer: back off, keep the cause
        log.exception("listening on channel %s failed", channel_id)
        error = f"{exc.__class__.__name__}: {exc}"
    done = timezone.now()
    fields["last_polled_at"] = done
    if error:
        failures = head.failures + 1
        fields.update(failures=failures, last_error=error[:2000],
                      backoff_until=done + timedelta(seconds=_backoff(failures, retry_after)))
        log.warning("listening on channel %s: %s", channel_id, error[:300])
    else:
        fields.update(failures=0, last_error="", backoff_until=None)
    ListeningCursor.objects.filter(id=head.id, leased_by=worker[:200]).update(**fields)
    return None if error else {"heard": heard, "new": new}


def listen_cycle(*, worker: str = "cycle") -> dict:
    """Poll every due channel here, one after the other (embedded mode, the bench). Returns
    {"channels": n, "heard": n, "new": n, "seconds": s}."""
    started = time.monotonic()
    totals = {"channels": 0, "heard": 0, "new": 0}
    for cid in channels_due_for_listening():
        out = channel_listen(channel_id=cid, worker=worker)
        totals["channels"] += 1
        if out:
            totals["heard"] += out["heard"]
            totals["new"] += out["new"]
    return {**totals, "seconds": round(time.monotonic() - started, 3)}


def listening_stream_add(*, channel_id: int, query: str) -> ListeningStream:
    """Save a hashtag (`#parks`) or a search for a channel to listen to (idempotent)."""
    from ..exceptions import InvalidInput

    query = (query or "").strip()
    if not query or len(query) > 200:
        raise InvalidInput(code="listening.invalid_query", errors={"query": [Message("listening.invalid_query")]})
    stream, created = ListeningStream.objects.get_or_create(channel_id=channel_id, query=query)
    if not created and not stream.active:
        stream.active = True
        stream.save(update_fields=["active"])
    return stream
