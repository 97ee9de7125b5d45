"""Sending publications: claim one with a conditional UPDATE, call the adapter outside any
transaction, record the outcome; reconcile ambiguous and abandoned sends with the platform.

The state machine of a Publication:
    pending/retrying --claim--> sending --ok--> sent
                                        --transient--> retrying (next_attempt_at) | failed
                                        --permanent--> failed
                                        --ambiguous--> lookup: sent | retrying, else unknown
A publication `sending` for longer than PUBLISH_CLAIM_TIMEOUT was abandoned (worker killed):
the sweeper reconciles it the same way, it is never resent blindly. See docs/publishing.md.
"""
from __future__ import annotations

import logging
import os
import random
import socket
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from ..channels import AmbiguousError, PermanentError, Result, TransientError, get_adapter
from ..channels.base import OutboundMessage, ThreadRef
from ..constants import PostState, Visibility
from ..constants import PublicationStatus as PS
from ..models import Post, Publication
from .outbox import outbox_emit
from .publishing import post_mark_failed, post_mark_published, post_publish_start

log = logging.getLogger("parley.delivery")

IN_FLIGHT = (PS.PENDING, PS.RETRYING, PS.SENDING)


def message_for(pub: Publication) -> OutboundMessage:
    """The plain data an adapter needs to send `pub`: the text, and, for a reply, the thread
    references of the citizen's message and the visibility it allows."""
    reply_to = None
    visibility = Visibility.PUBLIC
    inbound = pub.post.in_reply_to if pub.post.in_reply_to_id else None
    if inbound is not None and inbound.channel_id == pub.channel_id:
        refs = {k: str(v) for k, v in (inbound.thread or {}).items() if k in ThreadRef.__dataclass_fields__}
        reply_to = ThreadRef(**{**refs, "author_handle": inbound.author_handle, "visibility": inbound.visibility})
        visibility = inbound.visibility or Visibility.PUBLIC
    return OutboundMessage(
        idempotency_key=pub.idempotency_key, body=pub.body, language=pub.language,
        created_at=pub.created_at, reply_to=reply_to, visibility=visibility,
    )


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def backoff_seconds(attempts: int, *, rng: random.Random | None = None) -> float:
    """Exponential backoff with (equal) jitter: half fixed, half random, capped."""
    ceiling = min(settings.PUBLISH_BACKOFF_MAX, settings.PUBLISH_BACKOFF_BASE * 2 ** max(0, attempts - 1))
    return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)


def _due_q(now) -> Q:
    return Q(status__in=(PS.PENDING, PS.RETRYING)) & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))


def publication_claim(*, publication_id: int, worker: str, now=None) -> Publication | None:
    """pending/retrying (and due) → sending, by one conditional UPDATE: exactly one caller wins.
    Only publications of a post that is publishing are claimed."""
    now = now or timezone.now()
    # Every condition on the publication row itself (no join: Django would turn a join into
    # `id IN (subquery)`, which PostgreSQL does not re-check against the row a concurrent
    # claim just updated). The loser of a race re-reads the row, sees `sending`, updates nothing.
    publishing = Exists(Post.objects.filter(id=OuterRef("post_id"), state=PostState.PUBLISHING))
    won = (
        Publication.objects.filter(_due_q(now), publishing, id=publication_id)
        .update(status=PS.SENDING, claimed_at=now, claimed_by=worker[:200], attempts=F("attempts") + 1)
    )
    if not won:
        return None
    return Publication.objects.select_related("channel").get(id=publication_id)


def _finish(pub: Publication, **fields) -> bool:
    """Write the outcome only if our claim still stands (claimed_at is the fencing token)."""
    done = Publication.objects.filter(
        id=pub.id, status=PS.SENDING, claimed_at=pub.claimed_at, claimed_by=pub.claimed_by
    ).update(**fields)
    if not done:
        log.warning("publication %s: claim lost before recording the outcome", pub.id)
    return bool(done)


def _sent(pub: Publication, result: Result, *, note: str = "") -> bool:
    return _finish(pub, status=PS.SENT, external_id=result.external_id[:300], url=result.url[:500],
                   sent_at=timezone.now(), last_error=note[:2000], next_attempt_at=None)


def _retry_or_fail(pub: Publication, error: str, *, now=None) -> bool:
    now = now or timezone.now()
    if pub.attempts >= settings.PUBLISH_MAX_ATTEMPTS:
        return _finish(pub, status=PS.FAILED, last_error=f"gave up after {pub.attempts} attempts: {error}"[:2000],
                       next_attempt_at=None)
    return _finish(pub, status=PS.RETRYING, last_error=error[:2000],
                   next_attempt_at=now + timedelta(seconds=backoff_seconds(pub.attempts)))


def _reconcile(pub: Publication, adapter, error: str) -> str:
    """The send may have happened: ask the platform, else leave it to a person."""
    if adapter.can_lookup:
        try:
            found = adapter.lookup(pub.idempotency_key)
        except TransientError as exc:
            # Still `sending`: the sweeper tries again once the claim is stale.
            _finish(pub, last_error=f"{error}; lookup failed: {exc}"[:2000])
            return PS.SENDING
        if found is not None:
            _sent(pub, found, note=f"reconciled: found on the platform after: {error}")
            return PS.SENT
        _retry_or_fail(pub, f"{error}; the platform has no such publication")
        return PS.RETRYING
    window = getattr(adapter, "dedupe_window", 0)
    if window and timezone.now() - pub.created_at < timedelta(seconds=window):
        # The platform deduplicates on the idempotency key within its window: resending is safe.
        _retry_or_fail(pub, f"{error}; resending under the same idempotency key")
        return PS.RETRYING
    _finish(pub, status=PS.UNKNOWN, last_error=f"{error}; check the platform, then mark it sent or failed"[:2000])
    return PS.UNKNOWN


def publication_send(*, publication_id: int, worker: str | None = None, now=None) -> str | None:
    """Claim and send one publication. Returns its resulting status, or None if another worker
    had it (or it is not due). The adapter is called outside any transaction."""
    worker = worker or worker_id()
    pub = publication_claim(publication_id=publication_id, worker=worker, now=now)
    if pub is None:
        return None
    try:
        adapter = get_adapter(pub.channel)
    except PermanentError as exc:
        _finish(pub, status=PS.FAILED, last_error=str(exc)[:2000], next_attempt_at=None)
        return PS.FAILED
    try:
        result = adapter.send(pub)
    except TransientError as exc:
        _retry_or_fail(pub, str(exc))
        return PS.RETRYING if pub.attempts < settings.PUBLISH_MAX_ATTEMPTS else PS.FAILED
    except PermanentError as exc:
        _finish(pub, status=PS.FAILED, last_error=str(exc)[:2000], next_attempt_at=None)
        return PS.FAILED
    except AmbiguousError as exc:
        return _reconcile(pub, adapter, str(exc))
    except BaseException as exc:  # soft time limit, bug, interrupt: the send may have happened
        if not isinstance(exc, Exception):
            _reconcile(pub, adapter, f"interrupted: {exc.__class__.__name__}")
            raise
        return _reconcile(pub, adapter, f"unexpected {exc.__class__.__name__}: {exc}"[:500])
    _sent(pub, result)
    return PS.SENT


def post_settle(*, post_id: int) -> str | None:
    """Once no publication of a publishing post is in flight: all sent → published; otherwise
    failed, with every language's state in the error (no silent unilingual post)."""
    rows = list(Publication.objects.filter(post_id=post_id)
                .values_list("status", "channel__slug", "language", "last_error"))
    state = Post.objects.filter(id=post_id).values_list("state", flat=True).first()
    if state != PostState.PUBLISHING or any(r[0] in IN_FLIGHT for r in rows):
        return state
    if not rows:  # no channel speaks a language the post has text in
        post = post_mark_failed(post_id=post_id, error="Nothing to publish: no channel takes any of the post's languages.")
    elif all(r[0] == PS.SENT for r in rows):
        post = post_mark_published(post_id=post_id)
    else:
        summary = "; ".join(
            f"{slug}/{lang}: {status}" + (f" ({err[:200]})" if err and status != PS.SENT else "")
            for status, slug, lang, err in rows
        )
        post = post_mark_failed(post_id=post_id, error=summary)
    return post.state if post else None


def post_deliver(*, post_id: int, worker: str | None = None, now=None) -> str | None:
    """Start publishing an approved (or due scheduled) post and send every due publication of a
    publishing post, then settle it. Idempotent; returns the post's state."""
    worker = worker or worker_id()
    post_publish_start(post_id=post_id, now=now)
    due = list(Publication.objects.filter(_due_q(now or timezone.now()), post_id=post_id,
                                          post__state=PostState.PUBLISHING).values_list("id", flat=True))
    for pid in due:
        publication_send(publication_id=pid, worker=worker, now=now)
    return post_settle(post_id=post_id)


def publications_reconcile_stale(*, now=None) -> list[int]:
    """Publications `sending` for longer than PUBLISH_CLAIM_TIMEOUT: their worker died. Take the
    claim over and reconcile with the platform (never resend blindly). Returns their post ids."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.PUBLISH_CLAIM_TIMEOUT)
    post_ids = []
    for pid, claimed_at in Publication.objects.filter(status=PS.SENDING, claimed_at__lt=cutoff).values_list(
        "id", "claimed_at"
    )[:500]:
        me = f"reconciler:{worker_id()}"
        took = Publication.objects.filter(id=pid, status=PS.SENDING, claimed_at=claimed_at).update(
            claimed_at=now, claimed_by=me
        )
        if not took:
            continue
        pub = Publication.objects.select_related("channel").get(id=pid)
        try:
            adapter = get_adapter(pub.channel)
        except PermanentError as exc:
            _finish(pub, status=PS.UNKNOWN, last_error=str(exc))
        else:
            _reconcile(pub, adapter, "the worker sending it stopped before recording the outcome")
        post_ids.append(pub.post_id)
    return post_ids


def publications_sweep(*, now=None) -> list[int]:
    """The publishing safety net (beat): reconcile abandoned sends, and return the ids of the
    posts that need a delivery run — retries now due, pending sends whose task was lost, and
    publishing posts with nothing left in flight (settled here)."""
    now = now or timezone.now()
    post_ids = set(publications_reconcile_stale(now=now))
    post_ids |= set(
        Publication.objects.filter(_due_q(now), post__state=PostState.PUBLISHING)
        .values_list("post_id", flat=True).distinct()[:500]
    )
    unsettled = (
        Post.objects.filter(state=PostState.PUBLISHING)
        .exclude(publications__status__in=IN_FLIGHT)
        .values_list("id", flat=True)[:500]
    )
    for pid in unsettled:
        post_settle(post_id=pid)
    return sorted(post_ids)


def scheduled_publish_due(*, now=None, batch: int = 100) -> list[int]:
    """Posts scheduled for now or earlier → publishing (SKIP LOCKED: two beats never take the
    same post), each with a post.publish event for the relay. Returns their ids."""
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            Post.objects.select_for_update(skip_locked=True)
            .filter(state=PostState.SCHEDULED, scheduled_at__lte=now)
            .order_by("scheduled_at", "id").values_list("id", flat=True)[:batch]
        )
        started = []
        for pid in ids:
            post_publish_start(post_id=pid, now=now)
            post = Post.objects.only("id", "organisation_id", "state").get(id=pid)
            if post.state == PostState.PUBLISHING:
                outbox_emit(topic="post.publish", organisation_id=post.organisation_id, post_id=pid,
                            payload={"post_id": pid, "scheduled": True})
                started.append(pid)
    return started
