"""Publishing transitions: start (one Publication per channel and language), published, failed,
retry. Sending itself (claiming a Publication, calling the adapter) lives in delivery.py."""
from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from ..constants import (
    ChannelPerm,
    InboundStatus,
    PartialFailurePolicy,
    PostState,
    PublicationStatus,
)
from ..exceptions import GuidelineViolation, NotPermitted
from ..models import InboundMessage, Lane, Post, Publication
from .audit import audit_defer, audit_flush_many, audit_record
from .caretaker import caretaker_hold, caretaker_hold_period, periods_active
from .common import (
    ensure_channel_perm,
    ensure_state,
    ensure_transition,
    ensure_version,
    post_get_for_update,
)
from .engine import recheck_text, save_post, save_posts
from .outbox import outbox_emit, outbox_emit_many
from .signatures import signed_body, speaks_as_person


def idempotency_key(*, post_id: int, channel_id: int, language: str) -> str:
    return f"parley-post-{post_id}-ch-{channel_id}-{language}"


def _lock(post_id: int) -> Post | None:
    return (
        Post.objects.select_for_update(of=("self",))
        .select_related("lane", "author")
        .filter(id=post_id)
        .first()
    )


@transaction.atomic
def post_publish_start(*, post_id: int, now=None) -> list[int]:
    """approved (or scheduled and due) → publishing. Creates one Publication per (channel,
    language the channel speaks and the post has text in); returns their ids. Idempotent: a post
    already publishing returns its pending publications; any other state returns []."""
    posts_publish_start(post_ids=[post_id], now=now)
    return list(Publication.objects.filter(post_id=post_id, post__state=PostState.PUBLISHING,
                                           status=PublicationStatus.PENDING).values_list("id", flat=True))


@transaction.atomic
def posts_publish_start(*, post_ids: list[int], now=None) -> list[int]:
    """post_publish_start for many posts in one transaction (issue 14): the rows locked together
    (id order) with their texts, channels and lanes' rules; the caretaker periods read once per
    organisation; each post's transition audited on its own chain. The publications, the audit
    events and the posts are written in one statement each. Returns the ids of the posts that
    started publishing now."""
    now = now or timezone.now()
    posts = list(Post.objects.select_for_update(of=("self",)).select_related("lane", "author")
                 .prefetch_related("texts", "channels", "lane__guidelines", "in_reply_to")
                 .filter(id__in=post_ids).order_by("id"))
    lanes: dict[int, Lane] = {}
    periods: dict[int, list] = {}
    pubs: list[Publication] = []
    ready: list[Post] = []
    for post in posts:
        post.lane = lanes.setdefault(post.lane_id, post.lane)  # lane_steps is read once per lane
        if post.state == PostState.APPROVED and post.scheduled_at and post.scheduled_at > now:
            ensure_transition(post, to=PostState.SCHEDULED)
            post.state = PostState.SCHEDULED
            audit_record(owner=post, verb="scheduled", from_state=PostState.APPROVED, to_state=post.state,
                         data={"scheduled_at": post.scheduled_at.isoformat()})
            save_post(post)
            continue
        if post.state not in (PostState.APPROVED, PostState.SCHEDULED):
            continue
        if post.state == PostState.SCHEDULED and post.scheduled_at and post.scheduled_at > now:
            continue
        if post.organisation_id not in periods:
            periods[post.organisation_id] = periods_active(organisation_id=post.organisation_id, at=now)
        period = caretaker_hold_period(post, now=now, periods=periods[post.organisation_id])
        if period is not None:
            caretaker_hold(post, period=period)
            save_post(post, fields=["lane", "escalation", "escalation_reason"])
            continue
        if not _text_still_allowed(post):
            continue
        texts = post.texts_dict()
        channels = list(post.channels.all())
        mine = [
            Publication(
                post=post, channel=channel, language=lang,
                body=signed_body(post, channel, language=lang, text=texts[lang]),
                idempotency_key=idempotency_key(post_id=post.id, channel_id=channel.id, language=lang),
            )
            for channel in channels for lang in channel.languages if lang in texts
        ]
        pubs += mine
        from_state = post.state
        post.state = PostState.PUBLISHING
        post.spoken_as_person = speaks_as_person(post, channels)
        audit_defer(post)
        audit_record(owner=post, verb="publishing", from_state=from_state, to_state=post.state,
                     data={"publications": len(mine)})
        ready.append(post)
    if pubs:
        Publication.objects.bulk_create(pubs, ignore_conflicts=True)
    audit_flush_many(ready)
    save_posts(ready, fields=["spoken_as_person"])
    return [p.id for p in ready]


def _text_still_allowed(post: Post) -> bool:
    """The guidelines again, on the exact text about to be published (rules may have changed
    since approval). A blocking result refuses the transition: the post stays approved or
    scheduled, nothing is published, the results are stored on the post and the refusal is
    audited once (not again while the results stay the same)."""
    try:
        recheck_text(post, code="guideline_violation.publish")
    except GuidelineViolation as exc:
        checks = [v for v in exc.violations]
        if post.checks != checks:
            post.checks = checks
            audit_record(owner=post, verb="publish_refused", from_state=post.state, to_state=post.state,
                         data={"violations": [{"code": v["code"], "params": v.get("params", {})} for v in checks]})
            save_post(post)
        return False
    return True


def post_mark_published(*, post_id: int) -> Post | None:
    """publishing → published, once every publication is sent. Sets the first-response time of
    the citizen message a reply answers. Enqueues post.published."""
    return posts_mark_published(post_ids=[post_id]).get(post_id)


@transaction.atomic
def posts_mark_published(*, post_ids: list[int]) -> dict[int, Post]:
    """post_mark_published for many posts in one transaction and a fixed number of statements
    (issue 14): the rows locked together (in id order), each post's transition audited on its own
    chain (the events in one INSERT), the replies' citizen messages, the post.published events
    and the posts written in one statement each. Returns {post_id: post} for the posts found."""
    posts = list(Post.objects.select_for_update(of=("self",)).select_related("lane", "author")
                 .filter(id__in=post_ids).order_by("id"))
    publishing = [p for p in posts if p.state == PostState.PUBLISHING]
    if not publishing:
        return {p.id: p for p in posts}
    urls: dict[int, list[str]] = {p.id: [] for p in publishing}
    unsent: set[int] = set()
    for pid, status, url in Publication.objects.filter(post_id__in=urls).values_list("post_id", "status", "url"):
        urls[pid].append(url)
        if status != PublicationStatus.SENT:
            unsent.add(pid)
    ready = [p for p in publishing if p.id not in unsent]
    now = timezone.now()
    for post in ready:
        audit_defer(post)
        post.state = PostState.PUBLISHED
        post.published_at = now
        audit_record(owner=post, verb="published", from_state=PostState.PUBLISHING, to_state=post.state,
                     data={"urls": urls[post.id]})
    audit_flush_many(ready)
    answered = [p.in_reply_to_id for p in ready if p.in_reply_to_id]
    if answered:
        InboundMessage.objects.filter(id__in=answered, first_response_at__isnull=True).update(first_response_at=now)
        InboundMessage.objects.filter(id__in=answered).exclude(status=InboundStatus.DISMISSED).update(
            status=InboundStatus.REPLIED)
    outbox_emit_many([{"topic": "post.published", "organisation_id": p.organisation_id, "post_id": p.id,
                       "payload": {"post_id": p.id}} for p in ready])
    save_posts(ready, fields=["published_at"])
    return {p.id: p for p in posts}


@transaction.atomic
def post_mark_failed(*, post_id: int, error: str) -> Post | None:
    """publishing → failed after a publication gave up. The other publications' states stay
    visible; nothing unsent is sent until someone retries. Enqueues post.failed."""
    post = _lock(post_id)
    if post is None or post.state != PostState.PUBLISHING:
        return post
    post.state = PostState.FAILED
    audit_record(owner=post, verb="failed", from_state=PostState.PUBLISHING, to_state=post.state,
                 data={"error": error[:2000]})
    outbox_emit(topic="post.failed", organisation_id=post.organisation_id, post_id=post.id,
                payload={"post_id": post.id, "error": error[:500]})
    save_post(post)
    return post


def _languages(pubs) -> str:
    return ", ".join(sorted({f"{p.language} ({p.channel.slug})" for p in pubs}))


def post_partial_failure(*, post_id: int) -> Post | None:
    """Some languages are live, another failed for good (or its outcome is unknown): the lane's
    policy decides. `retract` deletes the live ones through each adapter (audited, status
    retracted) when every other language failed for good; `hold` — and any retraction that
    could not be done — keeps them live, flags the post `partly_published`, fails it with a
    message naming what is live and what failed, and alerts (post.partially_published:
    e-mail to the author and webhook subscribers)."""
    from ..channels import get_adapter

    post = Post.objects.select_related("lane").filter(id=post_id).first()
    if post is None or post.state != PostState.PUBLISHING:
        return post
    pubs = list(post.publications.select_related("channel"))
    live = [p for p in pubs if p.status == PublicationStatus.SENT]
    failed = [p for p in pubs if p.status != PublicationStatus.SENT]
    retracted, problems = [], []
    if (post.lane.partial_failure_policy == PartialFailurePolicy.RETRACT
            and all(p.status == PublicationStatus.FAILED for p in failed)):
        for pub in live:
            try:
                get_adapter(pub.channel).retract(pub.external_id)
            except Exception as exc:  # noqa: BLE001 - it stays live; the post is held instead
                problems.append(f"{pub.channel.slug}/{pub.language}: could not retract: {exc}"[:300])
                continue
            Publication.objects.filter(id=pub.id, status=PublicationStatus.SENT).update(
                status=PublicationStatus.RETRACTED, retracted_at=timezone.now())
            retracted.append(pub)
    still_live = [p for p in live if p not in retracted]
    detail = "; ".join(f"{p.channel.slug}/{p.language}: {p.status} ({p.last_error[:200]})" for p in failed)
    if still_live:
        error = (f"PARTLY PUBLISHED: {_languages(still_live)} is live, {_languages(failed)} failed. {detail}"
                 + (f" Retraction failed: {'; '.join(problems)}" if problems else ""))
    else:
        error = f"Retracted {_languages(retracted)} because {_languages(failed)} failed: {detail}"
    return _fail_partly(post_id=post_id, error=error, live=[p.id for p in still_live],
                        retracted=[p.id for p in retracted])


@transaction.atomic
def _fail_partly(*, post_id: int, error: str, live: list[int], retracted: list[int]) -> Post | None:
    post = _lock(post_id)
    if post is None or post.state != PostState.PUBLISHING:
        return post
    if retracted:
        audit_record(owner=post, verb="publications_retracted", from_state=post.state, to_state=post.state,
                     data={"publications": retracted, "reason": "partial_failure_policy=retract"})
    post.state = PostState.FAILED
    post.partly_published = bool(live)
    audit_record(owner=post, verb="failed", from_state=PostState.PUBLISHING, to_state=post.state,
                 data={"error": error[:2000], "live_publications": live, "retracted_publications": retracted})
    outbox_emit(topic="post.failed", organisation_id=post.organisation_id, post_id=post.id,
                payload={"post_id": post.id, "error": error[:500]})
    if live:
        outbox_emit(topic="post.partially_published", organisation_id=post.organisation_id, post_id=post.id,
                    payload={"post_id": post.id, "live_publications": live, "error": error[:500]})
    save_post(post, fields=["partly_published"])
    return post


def post_retract(*, post_id: int, by, version: int | None = None) -> Post:
    """Delete what a post published (a published post, or a failed one holding live languages):
    each sent publication is retracted through its adapter (status retracted), audited. Needs
    the publish permission on the post's channels. A published post becomes `retracted`; a
    failed one stays failed (retry sends everything again under new keys). When a platform
    refuses, the others are still retracted and the error is raised (nothing is hidden)."""
    from ..channels import get_adapter
    from ..exceptions import InvalidTransition

    with transaction.atomic():
        post = post_get_for_update(post_id=post_id, user=by)
        ensure_version(post, version)
        ensure_channel_perm(user=by, post=post, codename=ChannelPerm.PUBLISH)
        ensure_state(post, allowed={PostState.PUBLISHED, PostState.FAILED}, action="retract")
        pubs = list(post.publications.select_related("channel").filter(status=PublicationStatus.SENT))
        if not pubs:
            raise InvalidTransition(code="retract.nothing_live")
    done, problems = [], []
    for pub in pubs:  # outside any transaction: the platform is slow and may fail
        try:
            get_adapter(pub.channel).retract(pub.external_id)
        except Exception as exc:  # noqa: BLE001 - reported below
            problems.append(f"{pub.channel.slug}/{pub.language}: {exc}"[:300])
            continue
        if Publication.objects.filter(id=pub.id, status=PublicationStatus.SENT).update(
                status=PublicationStatus.RETRACTED, retracted_at=timezone.now()):
            done.append(pub.id)
    with transaction.atomic():
        post = post_get_for_update(post_id=post_id, user=by)
        from_state = post.state
        left = post.publications.filter(status=PublicationStatus.SENT).exists()
        if done:
            if post.state == PostState.PUBLISHED and not left:
                post.state = PostState.RETRACTED
            post.partly_published = post.state == PostState.FAILED and left
            audit_record(owner=post, verb="retracted", actor=by, from_state=from_state, to_state=post.state,
                         data={"publications": done, "problems": problems})
            outbox_emit(topic="post.retracted", organisation_id=post.organisation_id, post_id=post.id,
                        payload={"post_id": post.id, "publications": done})
            save_post(post, fields=["partly_published"])
    if problems:
        from ..exceptions import InvalidTransition

        raise InvalidTransition(code="retract.failed", params={"problems": problems})
    return post


def ensure_can_retry(*, user, post: Post) -> None:
    """Who may retry a failed post: its author, anyone with the publish permission on every
    channel, and — for a post published urgently — anyone who may publish urgently there (they
    could publish it in the first place). Raises NotPermitted."""
    try:
        ensure_channel_perm(user=user, post=post, codename=ChannelPerm.PUBLISH)
    except NotPermitted:
        if not post.urgent:
            raise
        ensure_channel_perm(user=user, post=post, codename=ChannelPerm.PUBLISH_URGENT)


@transaction.atomic
def post_retry(*, post_id: int, by, version: int | None = None) -> Post:
    """failed → publishing: failed publications go back to pending (sent ones are never resent;
    ones whose outcome is unknown stay for a person to reconcile). Needs publish permission or
    authorship. Enqueues post.publish."""
    post = post_get_for_update(post_id=post_id, user=by)
    ensure_version(post, version)
    ensure_state(post, allowed={PostState.FAILED}, action="retry")
    if by.id != post.author_id:
        ensure_can_retry(user=by, post=post)
    reset = post.publications.filter(status=PublicationStatus.FAILED).update(
        status=PublicationStatus.PENDING, next_attempt_at=None, attempts=0, claimed_at=None, claimed_by="",
        first_attempt_at=None,
    )
    # Retracted ones go out again under a new key (the platform may remember the old one).
    for pub in post.publications.filter(status=PublicationStatus.RETRACTED):
        base, _, n = pub.idempotency_key.partition(".r")
        pub.idempotency_key = f"{base}.r{int(n or 0) + 1}"
        pub.status, pub.next_attempt_at, pub.attempts = PublicationStatus.PENDING, None, 0
        pub.claimed_at, pub.claimed_by, pub.first_attempt_at, pub.ambiguous_since = None, "", None, None
        pub.external_id, pub.url, pub.sent_at = "", "", None
        pub.save()
        reset += 1
    post.partly_published = False
    post.state = PostState.PUBLISHING
    audit_record(owner=post, verb="retried", actor=by, from_state=PostState.FAILED, to_state=post.state,
                 data={"publications_reset": reset})
    outbox_emit(topic="post.publish", organisation_id=post.organisation_id, post_id=post.id, payload={"post_id": post.id})
    save_post(post)
    return post


@transaction.atomic
def publication_resolve(*, publication_id: int, by, sent: bool, url: str = "", external_id: str = "") -> Publication:
    """A person settles a publication whose outcome was unknown, after checking the platform:
    unknown → sent (with its URL) or → failed (so that post_retry sends it). Needs the publish
    permission on the post's channels. Raises NotFound, NotPermitted, InvalidTransition."""
    from ..exceptions import InvalidTransition, NotFound

    pub = Publication.objects.select_for_update().filter(id=publication_id).first()
    if pub is None:
        raise NotFound(code="not_found.publication")
    post = post_get_for_update(post_id=pub.post_id, user=by)
    ensure_channel_perm(user=by, post=post, codename=ChannelPerm.PUBLISH)
    if pub.status != PublicationStatus.UNKNOWN:
        raise InvalidTransition(code="not_unknown")
    if sent:
        from .delivery import safe_url

        pub.status, pub.url, pub.external_id = PublicationStatus.SENT, safe_url(url), external_id[:300]
        pub.sent_at = timezone.now()
    else:
        # A person checked: it is not there. Retrying sends it without looking first.
        pub.status, pub.ambiguous_since = PublicationStatus.FAILED, None
    pub.save(update_fields=["status", "url", "external_id", "sent_at", "ambiguous_since"])
    audit_record(owner=post, verb="publication_resolved", actor=by, from_state=post.state, to_state=post.state,
                 data={"publication_id": pub.id, "language": pub.language, "sent": bool(sent), "url": pub.url})
    post.save(update_fields=["audit_seq", "audit_head"])
    return pub
