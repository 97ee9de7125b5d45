"""Publishing transitions: start (one Publication per channel and language), published, failed,
retry. Sending itself (claiming a Publication, calling the adapter) lives in delivery.py."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User

from ..constants import (
    ACTION_TO,
    Action,
    InboundMedium,
    InboundStatus,
    PartialFailurePolicy,
    PostState,
    PublicationStatus,
    ReplyDeliveryStatus,
)
from ..exceptions import GuidelineViolation, Unpublishable
from ..messages import Message
from ..models import Channel, InboundMessage, Lane, Post, Publication, ReplyDelivery
from ..outbound import link_url
from ..topics import Topic
from . import actions
from .audit import audit_record
from .caretaker import caretaker_hold, caretaker_hold_period, periods_active
from .common import ensure_version, post_get_for_update
from .engine import TransitionContext, recheck_text, save_post, transition, transition_many
from .lanes import PublishPlan, plan_publications, reply_language, required_languages
from .media import Attachment, media_by_post
from .outbox import outbox_emit
from .signatures import signed_body, speaks_as_person


def idempotency_key(*, post_id: int, channel_id: int, language: str) -> str:
    return f"parley-post-{post_id}-ch-{channel_id}-{language}"


def ensure_publishable(post: Post, *, channels: list[Channel], texts: Iterable[str]) -> PublishPlan:
    """Refuse (422 Unpublishable, a code) at create, edit, translation and submit what would
    otherwise be accepted and then publish nothing: a post whose languages (those it has and
    those its lane requires) no channel takes (`reply.nothing_to_publish`), a reply with a
    language other than the citizen's (`reply.extra_language`: it would never go out). A post
    with a language none of its channels speaks is the lane's `languages_present` rule's
    concern. Returns the plan."""
    have = set(texts)
    plan = plan_publications(post, channels=channels, languages=have | set(required_languages(post)))
    if post.in_reply_to_id and plan.dropped:
        citizen = reply_language(post) or ""
        extra = [lang for lang in plan.dropped if lang in have] or plan.dropped
        params = {"language": citizen, "languages": extra}
        raise Unpublishable(code="reply.extra_language", params=params,
                            errors={f"texts.{extra[0]}": [Message("reply.extra_language", params)]})
    if not plan.targets and not plan.offline:
        params = {"languages": sorted(have) or list(plan.dropped)}
        raise Unpublishable(code="reply.nothing_to_publish", params=params,
                            errors={"channels": [Message("reply.nothing_to_publish", params)]})
    return plan


@dataclass
class Started:
    """What _start begins: the unsaved publications, or the reply's offline delivery."""

    publications: list[Publication]
    delivery: ReplyDelivery | None = None

    def audit_data(self) -> dict:
        data: dict = {"publications": len(self.publications)}
        if self.delivery is not None:
            data["delivery"] = {"id": self.delivery.id, "medium": self.delivery.medium}
        return data


def _lock(post_id: int) -> Post | None:
    return (
        Post.objects.select_for_update(of=("self",))
        .select_related("lane", "author")
        .filter(id=post_id)
        .first()
    )


@transaction.atomic
def post_publish_start(*, post_id: int, now: datetime | None = None) -> list[int]:
    """approved (or scheduled and due) → publishing. Creates one Publication per (channel,
    language the channel speaks and the post has text in); returns their ids. Idempotent: a post
    already publishing returns its pending publications; any other state returns []."""
    posts_publish_start(post_ids=[post_id], now=now)
    return list(Publication.objects.filter(post_id=post_id, post__state=PostState.PUBLISHING,
                                           status=PublicationStatus.PENDING).values_list("id", flat=True))


@transaction.atomic
def posts_publish_start(*, post_ids: list[int], now: datetime | None = None) -> list[int]:
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
    media = media_by_post(p.id for p in posts)  # the guideline checks' media, one query
    pubs: list[Publication] = []
    ready: list[Post] = []
    data: dict[int, dict] = {}
    for post in posts:
        post.lane = lanes.setdefault(post.lane_id, post.lane)  # lane_steps is read once per lane
        if post.organisation_id not in periods and post.state in (PostState.APPROVED, PostState.SCHEDULED):
            periods[post.organisation_id] = periods_active(organisation_id=post.organisation_id, at=now)
        started = _start(post, channels=list(post.channels.all()), now=now,
                         periods=periods.get(post.organisation_id, []), checked=False, media=media[post.id])
        if started is not None:
            pubs += started.publications
            data[post.id] = started.audit_data()
            ready.append(post)
    if pubs:
        Publication.objects.bulk_create(pubs, ignore_conflicts=True)
    transition_many(ready, to=PostState.PUBLISHING, verb="publishing",
                    data=lambda p: data[p.id], fields=["spoken_as_person"])
    return [p.id for p in ready]


def post_publish_begin(post: Post, *, channels: list[Channel], periods: list, texts: dict[str, str],
                       now: datetime | None = None, ctx: TransitionContext | None = None) -> bool:
    """approved → publishing inside the caller's transaction, under its row lock, for a post it
    has just approved after checking its exact text (a conversation reply approved at submit:
    DESIGN.md, `draft → approved → publishing` in one request). The same rules as
    posts_publish_start (_start); the publications are written now, the post saved by the
    caller (the transition is part of its state change). The outbox's `post.approved` then asks
    a worker only to claim and send. Returns True when the post started."""
    started = _start(post, channels=channels, now=now or timezone.now(), periods=periods, checked=True, texts=texts,
                     ctx=ctx)
    if started is None:
        return False
    Publication.objects.bulk_create(started.publications, ignore_conflicts=True)
    transition(post, to=PostState.PUBLISHING, verb="publishing", data=started.audit_data(), save=False, ctx=ctx)
    return True


def _start(post: Post, *, channels: list[Channel], now: datetime, periods: list, checked: bool,
           texts: dict[str, str] | None = None, ctx: TransitionContext | None = None,
           media: list[Attachment] | None = None) -> Started | None:
    """The one rule for approved (or due scheduled) → publishing, for a post under the caller's
    lock: a future schedule makes it `scheduled`, a caretaker period holds it, the guidelines
    run again on the exact text (unless the caller has just `checked` that text in the same
    transaction), then one unsaved Publication per planned (channel, language)
    (plan_publications) — or, for a reply to a message received by phone or e-mail, its e-mail
    or call-back (reply_delivery_open) and no publication. Returns what started,
    or None when the post does not start now (the caller saves any other change)."""
    if post.state == PostState.APPROVED and post.scheduled_at and post.scheduled_at > now:
        transition(post, to=PostState.SCHEDULED, verb="scheduled", data={"scheduled_at": post.scheduled_at.isoformat()},
                   ctx=ctx)
        return None
    if post.state not in (PostState.APPROVED, PostState.SCHEDULED):
        return None
    if post.state == PostState.SCHEDULED and post.scheduled_at and post.scheduled_at > now:
        return None
    period = caretaker_hold_period(post, now=now, periods=periods)
    if period is not None:
        caretaker_hold(post, period=period, pending=ctx.audit if ctx is not None else None)
        save_post(post, fields=["lane", "escalation", "escalation_reason"], ctx=ctx)
        return None
    if not checked and not _text_still_allowed(post, media=media):
        return None
    texts = post.texts_dict() if texts is None else texts
    plan = plan_publications(post, channels=channels, languages=texts)
    if plan.offline:
        citizen = reply_language(post)
        lang = citizen if citizen in texts else sorted(texts)[0]  # ensure_publishable refused any other
        delivery = reply_delivery_open(post=post, medium=plan.offline, language=lang, body=texts[lang])
        return Started(publications=[], delivery=delivery)
    post.spoken_as_person = speaks_as_person(post, channels)
    return Started(publications=_publications_of(post, plan, texts=texts))


def _publications_of(post: Post, plan: PublishPlan, *, texts: dict[str, str]) -> list[Publication]:
    """One Publication (unsaved) per planned (channel, language)."""
    return [
        Publication(
            post=post, channel=channel, language=lang,
            body=signed_body(post, channel, language=lang, text=texts[lang]),
            idempotency_key=idempotency_key(post_id=post.id, channel_id=channel.id, language=lang),
        )
        for channel, lang in plan.targets
    ]


def reply_delivery_open(*, post: Post, medium: str, language: str, body: str) -> ReplyDelivery:
    """In the caller's transaction, as the approved reply starts "publishing": the e-mail to
    send (outbox `reply.email`: a worker sends it, reply_email_send) or the call-back task to do
    (outbox `reply.callback`). Idempotent per post. The address or number is copied from the
    message; no event payload carries it."""
    existing = ReplyDelivery.objects.filter(post_id=post.id).first()
    if existing is not None:
        return existing
    msg = post.in_reply_to
    assert msg is not None, "only a reply to a logged message goes back by e-mail or call-back"
    delivery = ReplyDelivery.objects.create(post=post, inbound_id=msg.id, medium=medium, to=msg.contact,
                                            language=language, body=body)
    payload = {"post_id": post.id, "delivery_id": delivery.id, "medium": medium}
    if medium == InboundMedium.EMAIL:
        outbox_emit(topic=Topic.REPLY_EMAIL, organisation_id=post.organisation_id, post_id=post.id, payload=payload)
    else:
        outbox_emit(topic=Topic.REPLY_CALLBACK, organisation_id=post.organisation_id, post_id=post.id, payload=payload)
    return delivery


def reply_delivery_retry(*, post: Post) -> int:
    """In post_retry's transaction: a failed e-mail goes back to waiting and is queued again.
    Returns how many were reset (0 or 1)."""
    delivery = ReplyDelivery.objects.select_for_update().filter(post_id=post.id, status=ReplyDeliveryStatus.FAILED).first()
    if delivery is None:
        return 0
    delivery.status, delivery.last_error = ReplyDeliveryStatus.PENDING, ""
    delivery.save(update_fields=["status", "last_error"])
    outbox_emit(topic=Topic.REPLY_EMAIL, organisation_id=post.organisation_id, post_id=post.id,
                payload={"post_id": post.id, "delivery_id": delivery.id, "medium": delivery.medium})
    return 1


def delivered_offline(post_id: int) -> bool:
    """The post is a reply going back by e-mail or call-back (it has no publication to settle:
    inbound_manual settles it when the e-mail is sent or the call made)."""
    return ReplyDelivery.objects.filter(post_id=post_id).exists()


def _text_still_allowed(post: Post, *, media: list[Attachment] | None = None) -> bool:
    """The guidelines again, on the exact text about to be published (rules may have changed
    since approval). A blocking result refuses the transition: the post stays approved or
    scheduled, nothing is published, the results are stored on the post and the refusal is
    audited once (not again while the results stay the same)."""
    try:
        recheck_text(post, code="guideline_violation.publish", media=media)
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
        post.published_at = now
    answered = [p.in_reply_to_id for p in ready if p.in_reply_to_id]
    if answered:
        InboundMessage.objects.filter(id__in=answered, first_response_at__isnull=True).update(first_response_at=now)
        InboundMessage.objects.filter(id__in=answered).exclude(status=InboundStatus.DISMISSED).update(
            status=InboundStatus.REPLIED)
    transition_many(ready, to=PostState.PUBLISHED, verb="published", data=lambda p: {"urls": urls[p.id]},
                    topic="post.published", fields=["published_at"])
    return {p.id: p for p in posts}


@transaction.atomic
def post_mark_failed(*, post_id: int, error: str) -> Post | None:
    """publishing → failed after a publication gave up. The other publications' states stay
    visible; nothing unsent is sent until someone retries. Enqueues post.failed."""
    post = _lock(post_id)
    if post is None or post.state != PostState.PUBLISHING:
        return post
    transition(post, to=PostState.FAILED, verb="failed", data={"error": error[:2000]},
               topic="post.failed", payload={"post_id": post.id, "error": error[:500]})
    return post


def _languages(pubs: Any) -> str:
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
    post.partly_published = bool(live)
    if live:
        outbox_emit(topic="post.partially_published", organisation_id=post.organisation_id, post_id=post.id,
                    payload={"post_id": post.id, "live_publications": live, "error": error[:500]})
    transition(post, to=PostState.FAILED, verb="failed", fields=["partly_published"],
               data={"error": error[:2000], "live_publications": live, "retracted_publications": retracted},
               topic="post.failed", payload={"post_id": post.id, "error": error[:500]})
    return post


def post_retract(*, post_id: int, by: User, version: int | None = None) -> Post:
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
        actions.RETRACT.ensure(by, post)
        pubs = list(post.publications.select_related("channel").filter(status=PublicationStatus.SENT))
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
        left = post.publications.filter(status=PublicationStatus.SENT).exists()
        if done:
            to = PostState.RETRACTED if post.state == PostState.PUBLISHED and not left else PostState(post.state)
            post.partly_published = to == PostState.FAILED and left
            # A failed post that keeps its state is not a transition the table lists: it stays.
            transition(post, to=to, by=by, verb="retracted", fields=["partly_published"], topic="post.retracted",
                       data={"publications": done, "problems": problems},
                       payload={"post_id": post.id, "publications": done}, same_state_ok=True)
    if problems:
        from ..exceptions import InvalidTransition

        raise InvalidTransition(code="retract.failed", params={"problems": problems})
    return post


@transaction.atomic
def post_retry(*, post_id: int, by: User, version: int | None = None) -> Post:
    """failed → publishing: failed publications go back to pending (sent ones are never resent;
    ones whose outcome is unknown stay for a person to reconcile). Needs publish permission or
    authorship. Enqueues post.publish."""
    post = post_get_for_update(post_id=post_id, user=by)
    ensure_version(post, version)
    actions.RETRY.ensure(by, post)
    # Held ones too: the person decided to try again (preflight checks the parent once more).
    reset = post.publications.filter(status__in=(PublicationStatus.FAILED, PublicationStatus.HELD)).update(
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
    reset += reply_delivery_retry(post=post)
    post.partly_published = False
    transition(post, to=ACTION_TO[Action.RETRY], by=by, verb="retried", data={"publications_reset": reset},
               topic="post.publish")
    return post


@transaction.atomic
def publication_resolve(*, publication_id: int, by: User, sent: bool, url: str = "", external_id: str = "") -> Publication:
    """A person settles a publication whose outcome was unknown, after checking the platform:
    unknown → sent (with its URL) or → failed (so that post_retry sends it). Needs the publish
    permission on the post's channels. Raises NotFound, NotPermitted, InvalidTransition."""
    from ..exceptions import NotFound

    pub = Publication.objects.select_for_update().filter(id=publication_id).first()
    if pub is None:
        raise NotFound(code="not_found.publication")
    post = post_get_for_update(post_id=pub.post_id, user=by)
    pub.post = post
    actions.RESOLVE.ensure(by, pub)
    if sent:
        pub.status, pub.url, pub.external_id = PublicationStatus.SENT, link_url(url), external_id[:300]
        pub.sent_at = timezone.now()
    else:
        # A person checked: it is not there. Retrying sends it without looking first.
        pub.status, pub.ambiguous_since = PublicationStatus.FAILED, None
    pub.save(update_fields=["status", "url", "external_id", "sent_at", "ambiguous_since"])
    audit_record(owner=post, verb="publication_resolved", actor=by, from_state=post.state, to_state=post.state,
                 data={"publication_id": pub.id, "language": pub.language, "sent": bool(sent), "url": pub.url})
    post.save(update_fields=["audit_seq", "audit_head"])
    return pub
