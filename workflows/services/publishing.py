"""Publishing transitions: start (one Publication per channel and language), published, failed,
retry. Sending itself (claiming a Publication, calling the adapter) lives in delivery.py."""
from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from ..constants import ChannelPerm, InboundStatus, PostState, PublicationStatus
from ..exceptions import NotPermitted
from ..models import InboundMessage, Post, Publication
from .audit import audit_record
from .common import (
    ensure_channel_perm,
    ensure_state,
    ensure_transition,
    ensure_version,
    post_get_for_update,
)
from .engine import save_post
from .outbox import outbox_emit


def idempotency_key(*, post_id: int, channel_id: int, language: str) -> str:
    return f"parley-post-{post_id}-ch-{channel_id}-{language}"


def _lock(post_id: int) -> Post | None:
    return (
        Post.objects.select_for_update(of=("self",))
        .select_related("lane")
        .filter(id=post_id)
        .first()
    )


@transaction.atomic
def post_publish_start(*, post_id: int, now=None) -> list[int]:
    """approved (or scheduled and due) → publishing. Creates one Publication per (channel,
    language the channel speaks and the post has text in); returns their ids. Idempotent: a post
    already publishing returns its pending publications; any other state returns []."""
    now = now or timezone.now()
    post = _lock(post_id)
    if post is None:
        return []
    if post.state == PostState.PUBLISHING:
        return list(post.publications.filter(status=PublicationStatus.PENDING).values_list("id", flat=True))
    if post.state == PostState.APPROVED and post.scheduled_at and post.scheduled_at > now:
        ensure_transition(post, to=PostState.SCHEDULED)
        post.state = PostState.SCHEDULED
        audit_record(owner=post, verb="scheduled", from_state=PostState.APPROVED, to_state=post.state,
                     data={"scheduled_at": post.scheduled_at.isoformat()})
        save_post(post)
        return []
    if post.state not in (PostState.APPROVED, PostState.SCHEDULED):
        return []
    if post.state == PostState.SCHEDULED and post.scheduled_at and post.scheduled_at > now:
        return []
    texts = post.texts_dict()
    pubs = []
    for channel in post.channels.all():
        for lang in channel.languages:
            if lang in texts:
                pubs.append(Publication(
                    post=post, channel=channel, language=lang, body=texts[lang],
                    idempotency_key=idempotency_key(post_id=post.id, channel_id=channel.id, language=lang),
                ))
    Publication.objects.bulk_create(pubs, ignore_conflicts=True)
    from_state = post.state
    post.state = PostState.PUBLISHING
    audit_record(owner=post, verb="publishing", from_state=from_state, to_state=post.state,
                 data={"publications": len(pubs)})
    save_post(post)
    return list(post.publications.filter(status=PublicationStatus.PENDING).values_list("id", flat=True))


@transaction.atomic
def post_mark_published(*, post_id: int) -> Post | None:
    """publishing → published, once every publication is sent. Sets the first-response time of
    the citizen message a reply answers. Enqueues post.published."""
    post = _lock(post_id)
    if post is None or post.state != PostState.PUBLISHING:
        return post
    if post.publications.exclude(status=PublicationStatus.SENT).exists():
        return post
    now = timezone.now()
    post.state = PostState.PUBLISHED
    post.published_at = now
    audit_record(owner=post, verb="published", from_state=PostState.PUBLISHING, to_state=post.state,
                 data={"urls": list(post.publications.values_list("url", flat=True))})
    if post.in_reply_to_id:
        InboundMessage.objects.filter(id=post.in_reply_to_id, first_response_at__isnull=True).update(first_response_at=now)
        InboundMessage.objects.filter(id=post.in_reply_to_id).exclude(status=InboundStatus.DISMISSED).update(status=InboundStatus.REPLIED)
    outbox_emit(topic="post.published", organisation_id=post.organisation_id, post_id=post.id, payload={"post_id": post.id})
    save_post(post, fields=["published_at"])
    return post


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
        status=PublicationStatus.PENDING, next_attempt_at=None, attempts=0, claimed_at=None, claimed_by=""
    )
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
        raise NotFound("No such publication.")
    post = post_get_for_update(post_id=pub.post_id, user=by)
    ensure_channel_perm(user=by, post=post, codename=ChannelPerm.PUBLISH)
    if pub.status != PublicationStatus.UNKNOWN:
        raise InvalidTransition("Only a publication whose outcome is unknown can be resolved.", code="not_unknown")
    if sent:
        pub.status, pub.url, pub.external_id = PublicationStatus.SENT, url[:500], external_id[:300]
        pub.sent_at = timezone.now()
    else:
        pub.status = PublicationStatus.FAILED
    pub.save(update_fields=["status", "url", "external_id", "sent_at"])
    audit_record(owner=post, verb="publication_resolved", actor=by, from_state=post.state, to_state=post.state,
                 data={"publication_id": pub.id, "language": pub.language, "sent": bool(sent), "url": pub.url})
    post.save(update_fields=["audit_seq", "audit_head"])
    return pub
