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
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import (
    Case,
    CharField,
    DateTimeField,
    Exists,
    F,
    Field,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from ..channels import (
    AmbiguousError,
    AuthError,
    ConfigError,
    NotSentError,
    ParentGone,
    PermanentError,
    RateLimited,
    Result,
    TransientError,
    Unthreaded,
    get_adapter,
)
from ..channels.base import OutboundMessage, ThreadRef
from ..constants import PostState, Visibility
from ..constants import PublicationStatus as PS
from ..models import Post, PostMedium, Publication
from ..outbound import link_url
from .channels import channel_limits_record
from .outbox import outbox_emit
from .publish_media import media_items, post_media_rows
from .publishing import (
    post_mark_failed,
    post_mark_published,
    post_publish_start,
    posts_mark_published,
    posts_publish_start,
)

log = logging.getLogger("parley.delivery")

IN_FLIGHT = (PS.PENDING, PS.RETRYING, PS.SENDING)


#: Annotated on the publications the delivery paths read: does the post have any media? Posts
#: without (the common case) then cost no media query at all (tests/celery/test_batch_delivery.py).
HAS_MEDIA = Exists(PostMedium.objects.filter(post_id=OuterRef("post_id")))


def message_for(pub: Publication, *, media: dict[int, list[PostMedium]] | None = None) -> OutboundMessage:
    """The plain data an adapter needs to send `pub`: the text, its language's media (issue 22,
    services/publish_media.py), and, for a reply, the thread references of the citizen's
    message and the visibility it allows. `media`: the posts' media rows already read (the batch
    path); otherwise they are read here, unless `pub` was read with HAS_MEDIA saying none."""
    if media is not None:
        rows = media.get(pub.post_id, [])
    elif getattr(pub, "has_media", True):
        rows = post_media_rows([pub.post_id]).get(pub.post_id, [])
    else:
        rows = []
    reply_to = None
    visibility: str = Visibility.PUBLIC
    inbound = pub.post.in_reply_to if pub.post.in_reply_to_id else None
    if inbound is not None and inbound.channel_id == pub.channel_id:
        refs = {k: str(v) for k, v in (inbound.thread or {}).items() if k in ThreadRef.__dataclass_fields__}
        reply_to = ThreadRef(**{**refs, "author_handle": inbound.author_handle, "visibility": inbound.visibility})
        visibility = inbound.visibility or Visibility.PUBLIC
    return OutboundMessage(
        idempotency_key=pub.idempotency_key, body=pub.body, language=pub.language,
        created_at=pub.created_at, reply_to=reply_to, visibility=visibility,
        content_warning=pub.post.content_warning, media=media_items(pub, rows),
    )


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def backoff_seconds(attempts: int, *, rng: random.Random | None = None) -> float:
    """Exponential backoff with (equal) jitter: half fixed, half random, capped."""
    ceiling = min(settings.PUBLISH_BACKOFF_MAX, settings.PUBLISH_BACKOFF_BASE * 2 ** max(0, attempts - 1))
    return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)


def _due_q(now: datetime) -> Q:
    return Q(status__in=(PS.PENDING, PS.RETRYING)) & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))


def _claimable(now: datetime) -> Q:
    """The claim rule: pending or retrying, due, of a post that is publishing. Every condition is
    on the publication row itself (an EXISTS, not a join: Django would turn a join into
    `id IN (subquery)`, which PostgreSQL does not re-check against the row a concurrent claim
    just updated)."""
    return _due_q(now) & Q(Exists(Post.objects.filter(id=OuterRef("post_id"), state=PostState.PUBLISHING)))


def _claim(publications: QuerySet[Publication], *, worker: str, now: datetime) -> int:
    """The one claim: a conditional UPDATE of `publications` that still meet the rule → sending,
    attempts + 1, first_attempt_at set on the first attempt. Exactly one caller wins each row:
    the loser's UPDATE re-checks the row a concurrent claim just changed and updates nothing."""
    return publications.filter(_claimable(now)).update(
        status=PS.SENDING, claimed_at=now, claimed_by=worker[:200], attempts=F("attempts") + 1,
        first_attempt_at=Coalesce("first_attempt_at", Value(now)))


def publication_claim(*, publication_id: int, worker: str, now: datetime | None = None) -> Publication | None:
    """pending/retrying (and due) → sending, by one conditional UPDATE: exactly one caller wins.
    Only publications of a post that is publishing are claimed."""
    now = now or timezone.now()
    won = _claim(Publication.objects.filter(id=publication_id), worker=worker, now=now)
    if not won:
        return None
    return Publication.objects.select_related("channel").get(id=publication_id)


def _fence(pub: Publication, *, status: str = PS.SENDING) -> Q:
    """Our claim on `pub` still stands: claimed_at and claimed_by are the fencing token."""
    return Q(id=pub.id, status=status, claimed_at=pub.claimed_at, claimed_by=pub.claimed_by)


def _finish(pub: Publication, **fields: Any) -> bool:
    """Write the outcome only if our claim still stands (_fence)."""
    done = Publication.objects.filter(_fence(pub)).update(**fields)
    if not done:
        log.warning("publication %s: claim lost before recording the outcome", pub.id)
    return bool(done)


def _sent(pub: Publication, result: Result, *, note: str = "") -> bool:
    """Record one success (the rule of _sent_many, applied to one publication)."""
    return bool(_sent_many([(pub, result, timezone.now())], note=note))


def _retry_or_fail(pub: Publication, error: str, *, now: datetime | None = None, at: datetime | None = None, **extra: Any) -> str:
    """Due again after a backoff (or at `at`, e.g. a platform's Retry-After), until
    PUBLISH_MAX_ATTEMPTS; then failed — or unknown when an earlier attempt may have landed."""
    now = now or timezone.now()
    if pub.attempts >= settings.PUBLISH_MAX_ATTEMPTS:
        if extra.get("ambiguous_since") or pub.ambiguous_since:
            _finish(pub, status=PS.UNKNOWN, next_attempt_at=None, **extra,
                    last_error=f"{error}; an earlier attempt may have been published: check the platform, "
                               f"then mark it sent or failed"[:2000])
            return PS.UNKNOWN
        _finish(pub, status=PS.FAILED, last_error=f"gave up after {pub.attempts} attempts: {error}"[:2000],
                next_attempt_at=None, **extra)
        return PS.FAILED
    due = now + timedelta(seconds=backoff_seconds(pub.attempts))
    if at is not None and at > due:
        due = at
    _finish(pub, status=PS.RETRYING, last_error=error[:2000], next_attempt_at=due, **extra)
    return PS.RETRYING


def _unknown(pub: Publication, error: str, **extra: Any) -> str:
    _finish(pub, status=PS.UNKNOWN, next_attempt_at=None, **extra,
            last_error=f"{error}; check the platform, then mark it sent or failed"[:2000])
    return PS.UNKNOWN


def _after_unclear(pub: Publication, adapter: Any, msg: OutboundMessage, error: str, *, since: datetime | None) -> str:
    """The attempt that began at `since` may have been published: look, never resend blindly.
    Found → sent. Not there, or the platform could not be asked → retrying, and the next attempt
    looks again before it sends (ambiguous_since). No lookup → a person decides (unknown)."""
    first = min(pub.ambiguous_since, since) if pub.ambiguous_since and since else (pub.ambiguous_since or since)
    if not adapter.can_lookup:
        return _unknown(pub, f"{error}; this channel cannot look publications up", ambiguous_since=first)
    try:
        found = adapter.lookup(msg, since=first)
    except Exception as exc:  # noqa: BLE001 - not asked: the next attempt asks before sending
        return _retry_or_fail(pub, f"{error}; lookup failed: {exc}", ambiguous_since=first)
    if found is not None:
        return PS.SENT if _sent(pub, found, note=f"reconciled: found on the platform after: {error}") else PS.SENDING
    return _retry_or_fail(pub, f"{error}; the platform has no such publication (it is looked up again "
                               f"before any resend)", ambiguous_since=first)


def _look_before_resending(pub: Publication, adapter: Any, msg: OutboundMessage, *, now: datetime | None) -> str | None:
    """An earlier attempt was unclear: ask the platform *now*, at send time. Returns the
    resulting status, or None when sending again is allowed: the platform answered that it is
    not there and, for a platform that deduplicates only for a while, its window is still open."""
    if not adapter.can_lookup:
        return _unknown(pub, "an earlier attempt may have been published and this channel cannot look it up")
    try:
        found = adapter.lookup(msg, since=pub.ambiguous_since)
    except Exception as exc:  # noqa: BLE001 - not asked: never send on a guess
        return _retry_or_fail(pub, f"could not look before sending again: {exc}")
    if found is not None:
        return PS.SENT if _sent(pub, found, note="reconciled: found on the platform before sending again") else PS.SENDING
    window = getattr(adapter, "dedupe_window", 0) or 0
    started = pub.first_attempt_at or pub.created_at
    if window and now is not None and (now - started).total_seconds() >= window:
        return _unknown(pub, f"not found on the platform, but its {int(window)} s deduplication window has "
                             f"closed: a resend could duplicate a publication still being processed")
    return None


def _credentials_error(exc: Exception) -> str:
    from django.utils.translation import gettext as _

    return _("The platform refused this channel's credentials (a person must fix the token or password "
             "in the environment variable the channel names): %(detail)s") % {"detail": str(exc)[:500]}


def publication_send(*, publication_id: int, worker: str | None = None, now: datetime | None = None) -> str | None:
    """Claim and send one publication. Returns its resulting status, or None if another worker
    had it (or it is not due). The adapter is called outside any transaction, with plain data."""
    worker = worker or worker_id()
    pub = publication_claim(publication_id=publication_id, worker=worker, now=now)
    if pub is None:
        return None
    return _send_claimed(pub)


def _send_claimed(pub: Publication, *, sent: list | None = None, media: dict | None = None) -> str:
    """Send a publication this worker has claimed and record the outcome. With `sent`, a
    success is appended there (pub, result, time) for `_sent_many` to write with the others;
    every other outcome is written at once, as in the single path. `media`: message_for's."""
    started = pub.claimed_at
    try:
        adapter = get_adapter(pub.channel)
        msg = message_for(pub, media=media)
    except NotSentError as exc:
        return _retry_or_fail(pub, str(exc))
    if pub.ambiguous_since is not None:
        settled = _look_before_resending(pub, adapter, msg, now=pub.claimed_at)  # the send time
        if settled is not None:
            return settled
    try:
        result = adapter.send(msg)
    except RateLimited as exc:
        at = timezone.now() + timedelta(seconds=exc.retry_after) if exc.retry_after else None
        return _retry_or_fail(pub, f"rate limited: {exc}", at=at)
    except TransientError as exc:  # NotSentError included: nothing left, never unknown
        return _retry_or_fail(pub, str(exc))
    except AuthError as exc:
        _finish(pub, status=PS.FAILED, last_error=_credentials_error(exc)[:2000], next_attempt_at=None)
        return PS.FAILED
    except Unthreaded as exc:
        return _hold_unthreaded(pub, exc)
    except PermanentError as exc:
        _finish(pub, status=PS.FAILED, last_error=str(exc)[:2000], next_attempt_at=None)
        return PS.FAILED
    except AmbiguousError as exc:
        return _after_unclear(pub, adapter, msg, str(exc), since=started)
    except BaseException as exc:  # soft time limit, bug, interrupt: the send may have happened
        if not isinstance(exc, Exception):
            _after_unclear(pub, adapter, msg, f"interrupted: {exc.__class__.__name__}", since=started)
            raise
        return _after_unclear(pub, adapter, msg, f"unexpected {exc.__class__.__name__}: {exc}"[:500], since=started)
    if sent is not None:
        sent.append((pub, result, timezone.now()))
        return PS.SENT
    _sent(pub, result)
    return PS.SENT


def post_settle(*, post_id: int) -> str | None:
    """Once no publication of a publishing post is in flight: all sent → published. Otherwise
    failed, with every language's state in the error (no silent unilingual post); when some
    language is live and another failed for good, the lane's partial_failure_policy decides:
    `retract` deletes the live ones (audited), `hold` keeps them and raises the alarm."""
    rows = list(Publication.objects.filter(post_id=post_id)
                .values_list("status", "channel__slug", "language", "last_error"))
    state = Post.objects.filter(id=post_id).values_list("state", flat=True).first()
    return _settle(post_id, state, rows)


def _settles(state: str | None, rows: list) -> str | None:
    """What settling does now: None (not publishing, or something still in flight), PUBLISHED
    (every publication sent), or FAILED (nothing to publish, or some failed; partly or wholly)."""
    if state != PostState.PUBLISHING or any(r[0] in IN_FLIGHT for r in rows):
        return None
    return PostState.PUBLISHED if rows and all(r[0] == PS.SENT for r in rows) else PostState.FAILED


def _settle(post_id: int, state: str | None, rows: list) -> str | None:
    """post_settle's decision on rows already read: [(status, channel slug, language, error)]."""
    from .publishing import delivered_offline, post_partial_failure

    if _settles(state, rows) is None:
        return state
    if not rows and delivered_offline(post_id):
        return state  # a reply going back by e-mail or call-back: settled when it reaches the citizen
    if not rows:  # no channel speaks a language the post has text in
        post = post_mark_failed(post_id=post_id, error="Nothing to publish: no channel takes any of the post's languages.")
    elif _settles(state, rows) == PostState.PUBLISHED:
        post = post_mark_published(post_id=post_id)
    elif any(r[0] == PS.SENT for r in rows):
        post = post_partial_failure(post_id=post_id)
    else:
        post = post_mark_failed(post_id=post_id, error=_summary(rows))
    return post.state if post else None


def _summary(rows: Any) -> str:
    return "; ".join(
        f"{slug}/{lang}: {status}" + (f" ({err[:200]})" if err and status != PS.SENT else "")
        for status, slug, lang, err in rows
    )


POSSIBLY_LIVE = (PS.SENT, PS.SENDING, PS.UNKNOWN)


def post_preflight(*, post_id: int, now: datetime | None = None) -> bool:
    """Before the first language of a post is sent, every target is checked (adapter.preflight:
    config, secrets, the platform's real limits, credentials or reachability where the adapter
    can). Returns True when sending may go on. A refusal (config, credentials, too long) fails
    every publication — nothing was sent, nothing is live; a passing problem (unreachable, rate
    limited) makes them due again after a backoff. Once anything may be live, it is moot."""
    pubs = list(Publication.objects.filter(post_id=post_id).select_related("channel", "post__in_reply_to"))
    return _preflight(post_id, pubs, now=now, media=post_media_rows([post_id]))


def _preflight(post_id: int, pubs: list[Publication], *, now: datetime | None = None,
               media: dict | None = None) -> bool:
    """post_preflight on the post's publications already read (with channel, post__in_reply_to);
    `media`: message_for's (the batch path's media rows)."""
    now = now or timezone.now()
    if not pubs or any(p.status in POSSIBLY_LIVE or p.ambiguous_since for p in pubs):
        return True
    waiting = [p for p in pubs if p.status in (PS.PENDING, PS.RETRYING)]
    if not waiting:
        return True
    by_channel: dict[int, list[Publication]] = {}
    for p in waiting:
        by_channel.setdefault(p.channel_id, []).append(p)
    refused: dict[int, str] = {}  # channel id -> its own refusal (never another channel's)
    passing: Exception | None = None  # unreachable, rate limited, platform hiccup: later
    for channel_id, group in by_channel.items():
        adapter = get_adapter(group[0].channel)
        try:
            adapter.preflight([message_for(p, media=media) for p in group])
        except ParentGone as exc:  # the citizen's post is gone: a person decides (issue 19)
            _hold(post_id, waiting, str(exc))
            return False
        except (PermanentError, ConfigError) as exc:
            refused[channel_id] = _credentials_error(exc) if isinstance(exc, AuthError) else str(exc)
            continue
        except Exception as exc:  # noqa: BLE001 - checked again after a backoff
            passing = passing or exc
            continue
        finally:  # what the platform told is recorded even when a text is refused for it
            channel_limits_record(channel_id=channel_id, limits=adapter.checked_limits)
    if refused:
        # Both languages or neither: nothing is sent. Each refused channel's publications carry
        # their own reason; the others were held back, and name the channel that held them
        # ("held: <slug>", read by web/publishing_truth.py), never its error.
        held_by = ", ".join(sorted(by_channel[c][0].channel.slug for c in refused))
        for channel_id, group in by_channel.items():
            error = f"preflight: {refused[channel_id]}" if channel_id in refused else f"held: {held_by}"
            Publication.objects.filter(id__in=[p.id for p in group], status__in=(PS.PENDING, PS.RETRYING)).update(
                status=PS.FAILED, next_attempt_at=None, last_error=error[:2000])
        log.warning("post %s: preflight refused: %s", post_id, refused)
        return False
    if passing is not None:
        attempts = max(p.attempts for p in waiting) + 1
        if attempts >= settings.PUBLISH_MAX_ATTEMPTS:
            Publication.objects.filter(id__in=[p.id for p in waiting], status__in=(PS.PENDING, PS.RETRYING)).update(
                status=PS.FAILED, next_attempt_at=None,
                last_error=f"preflight: gave up after {attempts} attempts: {passing}"[:2000])
            return False
        delay = backoff_seconds(attempts)
        if isinstance(passing, RateLimited) and passing.retry_after:
            delay = max(delay, passing.retry_after)
        Publication.objects.filter(id__in=[p.id for p in waiting], status__in=(PS.PENDING, PS.RETRYING)).update(
            status=PS.RETRYING, attempts=attempts, next_attempt_at=now + timedelta(seconds=delay),
            last_error=f"preflight: {passing}"[:2000])
        return False
    return True


#: Why a reply was held at preflight (workflows.messages; shown on the post page).
CODE_PARENT_GONE = "platform.parent_deleted"


CODE_UNTHREADED = "platform.reply_unthreaded"
CODE_UNTHREADED_LIVE = "platform.reply_unthreaded_live"


def _hold_unthreaded(pub: Publication, exc: Unthreaded) -> str:
    """The platform published the reply outside its thread (the adapter tried to delete it):
    a person decides. Deleted → `held` (nothing live; retrying checks the parent again); still
    live → `unknown`, with the stray status's id (a person deletes it, then marks it failed).
    Written to the post's audit trail."""
    from .audit import audit_record

    status = PS.HELD if exc.retracted else PS.UNKNOWN
    code = CODE_UNTHREADED if exc.retracted else CODE_UNTHREADED_LIVE
    extra = {} if exc.retracted else {"external_id": exc.external_id[:300], "url": link_url(exc.url)}
    if not _finish(pub, status=status, next_attempt_at=None, last_error=f"held: {exc}"[:2000], **extra):
        return PS.SENDING
    with transaction.atomic():
        post = Post.objects.select_for_update().get(id=pub.post_id)
        audit_record(owner=post, verb="held", from_state=post.state, to_state=post.state,
                     data={"code": code, "params": {"id": exc.external_id[:100]}, "publication": pub.id,
                           "detail": str(exc)[:500]})
        post.save(update_fields=["audit_seq", "audit_head"])
    log.warning("publication %s: reply published outside its thread: %s", pub.id, exc)
    return status


def _hold(post_id: int, waiting: list[Publication], detail: str) -> None:
    """What a reply answers is gone (found at preflight, nothing sent): every waiting publication
    of the post is `held` for a person to decide (the post then settles as failed, with the
    reason shown; retrying checks again), and the hold is written to the post's audit trail."""
    from .audit import audit_record

    with transaction.atomic():
        post = Post.objects.select_for_update().get(id=post_id)
        held = Publication.objects.filter(id__in=[p.id for p in waiting], status__in=(PS.PENDING, PS.RETRYING)).update(
            status=PS.HELD, next_attempt_at=None, last_error=f"held: {detail}"[:2000])
        audit_record(owner=post, verb="held", from_state=post.state, to_state=post.state,
                     data={"code": CODE_PARENT_GONE, "params": {}, "publications_held": held, "detail": detail[:500]})
        post.save(update_fields=["audit_seq", "audit_head"])
    log.warning("post %s: held at preflight: %s", post_id, detail)


def post_deliver(*, post_id: int, worker: str | None = None, now: datetime | None = None) -> str | None:
    """Start publishing an approved (or due scheduled) post, preflight every target before the
    first language goes out, send every due publication, then settle. Idempotent; returns the
    post's state."""
    worker = worker or worker_id()
    if not Publication.objects.filter(post_id=post_id, post__state=PostState.PUBLISHING).exists():
        post_publish_start(post_id=post_id, now=now)  # not started yet (a reply starts at submit)
    due = list(Publication.objects.filter(_due_q(now or timezone.now()), post_id=post_id,
                                          post__state=PostState.PUBLISHING).values_list("id", flat=True))
    if due and post_preflight(post_id=post_id, now=now):
        for pid in due:
            publication_send(publication_id=pid, worker=worker, now=now)
    return post_settle(post_id=post_id)


# --- the batched path: many posts per task (issue 14: ≥ 200 publications/s per worker) ---------

def posts_deliver(*, post_ids: list[int], worker: str | None = None, now: datetime | None = None) -> dict[int, str | None]:
    """post_deliver for many posts at once, with the same rules and far fewer round trips:
    every post starts publishing in one transaction (publishing.posts_publish_start, each
    transition audited as ever), one query reads every publication for the preflight, one UPDATE … SKIP LOCKED
    claims every due publication, each is sent over the channel's reused HTTP session (outside
    any transaction), the successes are written by one UPDATE (still fenced by each claim), and
    the posts settle in one transaction. A post whose start raised is left out (its event stays
    due and is relayed again). Returns {post_id: state}; the ids that raised map to "error"."""
    worker = worker or worker_id()
    ids = list(dict.fromkeys(int(p) for p in post_ids))
    # A vendor fork: the batch claims with SKIP LOCKED, which SQLite lacks; SQLite (the embedded
    # mode) has one writer anyway, so one post at a time costs it nothing and runs the same rules.
    if connection.vendor != "postgresql":
        return {pid: post_deliver(post_id=pid, worker=worker, now=now) for pid in ids}
    by_post = _publications_by_post(ids)
    # Posts not publishing yet start here; a reply approved at submit started in that request
    # (posts.post_submit), so its worker goes straight to the claim (issue 14).
    waiting = [pid for pid, pubs in by_post.items() if not pubs or pubs[0].post.state != PostState.PUBLISHING]
    states: dict[int, str | None] = {}
    if waiting:
        states = _start_many(waiting, now=now)
        by_post.update(_publications_by_post([pid for pid in waiting if pid not in states]))
        by_post = {pid: pubs for pid, pubs in by_post.items() if pid not in states}
    started = list(by_post)
    if not started:
        return states
    # The media of the posts that have any, in one query (none when no post has media).
    media = post_media_rows([pid for pid, pubs in by_post.items() if any(getattr(p, "has_media", True) for p in pubs)])
    cleared = [pid for pid, pubs in by_post.items()
               if pubs and pubs[0].post.state == PostState.PUBLISHING and _preflight(pid, pubs, now=now, media=media)]
    claimed = publications_claim_many(post_ids=cleared, worker=worker, now=now, known=by_post)
    sent: list = []
    try:
        for pub in claimed:
            _send_claimed(pub, sent=sent, media=media)
    finally:  # even when interrupted: what was sent is recorded
        _sent_many(sent)
    states.update(posts_settle(post_ids=started))
    return states


def _publications_by_post(post_ids: list[int]) -> dict[int, list[Publication]]:
    """Every publication of `post_ids` (with its channel and post), grouped by post; [] for none."""
    by_post: dict[int, list[Publication]] = {pid: [] for pid in post_ids}
    if post_ids:
        for pub in (Publication.objects.filter(post_id__in=post_ids).select_related("channel", "post__in_reply_to")
                    .annotate(has_media=HAS_MEDIA)):
            by_post[pub.post_id].append(pub)
    return by_post


def _start_many(post_ids: list[int], *, now: datetime | None) -> dict[int, str | None]:
    """Start publishing `post_ids` together; when that fails, one by one, so one bad post stops
    only itself. Returns {post_id: "error"} for the posts whose start raised (their events stay
    due and are relayed again)."""
    try:
        posts_publish_start(post_ids=post_ids, now=now)
        return {}
    except Exception:  # noqa: BLE001 - all rolled back: one by one
        log.warning("batch of %d posts: could not start together, one by one", len(post_ids), exc_info=True)
    errors: dict[int, str | None] = {}
    for pid in post_ids:
        try:
            post_publish_start(post_id=pid, now=now)
        except Exception:  # noqa: BLE001 - its event stays due and is relayed again later
            log.exception("post %s: could not start publishing", pid)
            errors[pid] = "error"
    return errors


def publications_claim_many(*, post_ids: list[int], worker: str, now: datetime | None = None,
                            known: dict[int, list[Publication]] | None = None) -> list[Publication]:
    """Claim every due publication of `post_ids` (of posts still publishing) in one UPDATE:
    pending/retrying → sending, attempts + 1, first_attempt_at set on the first attempt. Rows
    another claim holds are skipped (SKIP LOCKED) and each locked row is re-checked against the
    conditions, so exactly one caller wins each publication, as with publication_claim. Returns
    the claimed publications (from `known` when given, else read with their channel)."""
    if not post_ids:
        return []
    now = now or timezone.now()
    with transaction.atomic():
        # Rows another claim holds are skipped (SKIP LOCKED, PostgreSQL; elsewhere the database
        # serialises writers); the UPDATE re-checks the rule on the rows locked here.
        locked = {r[0]: r[1:] for r in Publication.objects.select_for_update(skip_locked=True)
                  .filter(_claimable(now), post_id__in=post_ids).order_by("id")
                  .values_list("id", "attempts", "first_attempt_at", "ambiguous_since")}
        if not locked or not _claim(Publication.objects.filter(id__in=list(locked)), worker=worker, now=now):
            return []
    # What the UPDATE wrote on the rows locked above (the lock held until it ran).
    rows = {pid: (attempts + 1, first or now, ambiguous) for pid, (attempts, first, ambiguous) in locked.items()}
    pubs: list[Publication]
    if known is None:
        pubs = list(Publication.objects.filter(id__in=rows).select_related("channel", "post__in_reply_to")
                    .annotate(has_media=HAS_MEDIA))
    else:
        pubs = [p for group in known.values() for p in group if p.id in rows]
    for p in pubs:
        p.status, p.claimed_at, p.claimed_by = PS.SENDING, now, worker[:200]
        p.attempts, p.first_attempt_at, p.ambiguous_since = rows[p.id]
    return sorted(pubs, key=lambda p: p.id)


def _sent_many(sent: list, *, note: str = "") -> int:
    """Record successes [(publication, result, sent at)] in one UPDATE, each only if its claim
    still stands (_fence, as in _finish): → sent with the platform's id and link. Returns how
    many were recorded; a lost claim is logged (one more query, only then)."""
    if not sent:
        return 0
    fenced = Q()
    for pub, _result, _at in sent:
        fenced |= _fence(pub)

    def each(value: Any, field: Field) -> Case:
        return Case(*[When(id=pub.id, then=Value(value(result, at), output_field=field)) for pub, result, at in sent],
                    output_field=field)

    done = Publication.objects.filter(fenced).update(
        status=PS.SENT, last_error=note[:2000], next_attempt_at=None,
        external_id=each(lambda result, _at: str(result.external_id)[:300], CharField()),
        url=each(lambda result, _at: link_url(result.url), CharField()),
        sent_at=each(lambda _result, at: at, DateTimeField()),
    )
    if done != len(sent):
        kept = Q()
        for pub, _result, _at in sent:
            kept |= _fence(pub, status=PS.SENT)
        recorded = set(Publication.objects.filter(kept).values_list("id", flat=True))
        for pub, _, _ in sent:
            if pub.id not in recorded:
                log.warning("publication %s: claim lost before recording the outcome", pub.id)
    return done


def posts_settle(*, post_ids: list[int]) -> dict[int, str | None]:
    """post_settle for many posts: their publications and states read in two queries, the
    transitions (each audited, under its row lock) in one transaction."""
    rows: dict[int, list] = {pid: [] for pid in post_ids}
    for pid, *row in Publication.objects.filter(post_id__in=post_ids).values_list(
            "post_id", "status", "channel__slug", "language", "last_error"):
        rows[pid].append(tuple(row))
    states = dict(Post.objects.filter(id__in=post_ids).values_list("id", "state"))
    out: dict[int, str | None] = {}
    done = [pid for pid in post_ids if _settles(states.get(pid), rows[pid]) == PostState.PUBLISHED]
    with transaction.atomic():
        if done:  # the common case, together: one lock query, one INSERT of audit events, …
            for pid, post in posts_mark_published(post_ids=done).items():
                out[pid] = post.state
        for pid in post_ids:
            if pid not in out:
                out[pid] = _settle(pid, states.get(pid), rows[pid])
    return out


def publications_reconcile_stale(*, now: datetime | None = None) -> list[int]:
    """Publications `sending` for longer than PUBLISH_CLAIM_TIMEOUT: their worker died. Take the
    claim over and look on the platform (never resend blindly). Returns their post ids."""
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
        pub = Publication.objects.select_related("channel", "post__in_reply_to").get(id=pid)
        error = "the worker sending it stopped before recording the outcome"
        try:
            adapter = get_adapter(pub.channel)
            msg = message_for(pub)
        except NotSentError as exc:
            _unknown(pub, f"{error}; {exc}", ambiguous_since=claimed_at)
        else:
            _after_unclear(pub, adapter, msg, error, since=claimed_at)
        post_ids.append(pub.post_id)
    return post_ids


def publications_sweep(*, now: datetime | None = None) -> list[int]:
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


def scheduled_publish_due(*, now: datetime | None = None, batch: int = 100) -> list[int]:
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
