"""Authoring: create, edit, submit, withdraw, and break-glass urgent publishing."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import prefetch_related_objects
from django.utils import timezone

from accounts.models import User

from .. import guidelines, limits
from ..constants import (
    ACTION_TO,
    Action,
    InboundStatus,
    PostKind,
    PostState,
    ReviewKind,
)
from ..exceptions import InvalidInput, NotFound, NotPermitted, TextTooLong, Unpublishable
from ..messages import Message
from ..models import Channel, InboundMessage, Post, PostReview
from . import actions
from .audit import audit_record
from .caretaker import caretaker_route, periods_active
from .channels import ensure_channels_usable
from .common import (
    ensure_same_org,
    ensure_version,
    post_get_for_update,
    stable_name,
)
from .engine import (
    TransitionContext,
    advance,
    ensure_content_allowed,
    ensure_no_blocking,
    invalidate_approvals,
    load_channels,
    load_texts,
    mark_approved,
    post_lock_for_transition,
    run_checks,
    save_post,
    snapshot_revision,
    transition,
    write_texts,
)
from .four_eyes import contributors
from .lanes import escalation_of, escalation_target, route_lane
from .media import media_changes, media_for_post, media_write, post_media, snapshots
from .outbox import outbox_emit
from .publishing import ensure_publishable, post_publish_begin

LANGUAGES = ("en", "fr")
UNSET = object()


def clean_texts(texts: Any, *, allow_empty: bool = False) -> dict[str, str]:
    """Language → text, CRLF → LF and trimmed. Raises TextTooLong (422) when a text is over
    limits.TEXT_MAX (checked first, before anything else looks at the text), InvalidInput
    for anything else that is wrong."""
    if not isinstance(texts, dict):
        raise InvalidInput(code="texts.not_object", errors={"texts": [Message("texts.not_object")]})
    too_long = {f"texts.{lang}": [Message("text.too_long", {"length": len(body), "limit": limits.TEXT_MAX})]
                for lang, body in texts.items() if isinstance(body, str) and len(body) > limits.TEXT_MAX}
    if too_long:
        longest = max(len(b) for b in texts.values() if isinstance(b, str))
        raise TextTooLong(params={"length": longest, "limit": limits.TEXT_MAX}, errors=too_long)
    cleaned: dict[str, str] = {}
    errors: dict[str, list[Message]] = {}
    for lang, body in texts.items():
        if lang not in LANGUAGES:
            errors.setdefault(f"texts.{lang}", []).append(Message("texts.unsupported_language"))
            continue
        if not isinstance(body, str):
            errors.setdefault(f"texts.{lang}", []).append(Message("text.not_string"))
            continue
        body = body.replace("\r\n", "\n").strip()
        if "\x00" in body:
            errors.setdefault(f"texts.{lang}", []).append(Message("text.nul"))
        elif not body and not allow_empty:
            errors.setdefault(f"texts.{lang}", []).append(Message("text.blank"))
        else:
            cleaned[lang] = body
    if errors:
        raise InvalidInput(code="texts.invalid", errors=errors)
    return cleaned


def _clean_schedule(scheduled_at: Any) -> datetime | None:
    if scheduled_at is None:
        return None
    if not isinstance(scheduled_at, datetime) or timezone.is_naive(scheduled_at):
        raise InvalidInput(code="schedule.invalid", errors={"scheduled_at": [Message("schedule.invalid")]})
    if scheduled_at <= timezone.now():
        raise InvalidInput(code="schedule.past", errors={"scheduled_at": [Message("schedule.past")]})
    return scheduled_at


def _refresh_checks(post: Post, *, channels: Any, media: Any = None) -> list[guidelines.CheckResult]:
    results = run_checks(post, texts=post.texts_dict(), channels=channels, media=media)
    post.checks = [r.as_data() for r in results]
    return results


def _author_and_texts(*, author: User, kind: str, texts: Any) -> tuple[int, dict[str, str]]:
    """A new post's kind, its author's organisation and its cleaned texts (at least one)."""
    if kind not in PostKind.values:
        raise InvalidInput(code="kind.invalid", errors={"kind": [Message("kind.invalid")]})
    if author.organisation_id is None:
        raise NotPermitted(code="organisation.none")
    cleaned = clean_texts(texts)
    if not cleaned:
        raise InvalidInput(code="texts.none", errors={"texts": [Message("texts.none")]})
    return author.organisation_id, cleaned


def _reply_target(*, kind: str, in_reply_to: int | None, organisation_id: int) -> InboundMessage | None:
    """The citizen message a reply answers (of the author's organisation), or None."""
    if in_reply_to is None:
        return None
    if kind != PostKind.REPLY:
        raise InvalidInput(code="in_reply_to.not_reply", errors={"in_reply_to": [Message("in_reply_to.not_reply")]})
    inbound = (InboundMessage.objects.filter(id=in_reply_to, organisation_id=organisation_id)
               .select_related("channel").first())
    if inbound is None:
        raise InvalidInput(code="in_reply_to.unknown", errors={"in_reply_to": [Message("in_reply_to.unknown")]})
    return inbound


def _target_channels(*, author: User, organisation_id: int, slugs: list[str],
                     inbound: InboundMessage | None) -> list[Channel]:
    """The active channels named (a reply defaults to its message's, and may name no other: it
    goes back where the question came from), each one the author may draft on and use. Raises
    InvalidInput, Unpublishable (another channel for a reply), NotPermitted."""
    org_id = organisation_id
    if not slugs and inbound is not None:
        slugs = [inbound.channel.slug]
    if inbound is not None and set(slugs) != {inbound.channel.slug}:
        params = {"channel": inbound.channel.handle}
        raise Unpublishable(code="reply.other_channel", params=params,
                            errors={"channels": [Message("reply.other_channel", params)]})
    if not slugs:
        raise InvalidInput(code="channels.none", errors={"channels": [Message("channels.none")]})
    if not all(isinstance(s, str) for s in slugs):
        raise InvalidInput(code="channels.not_slugs", errors={"channels": [Message("channels.not_slugs")]})
    chans = list(Channel.objects.filter(slug__in=slugs, organisation_id=org_id))
    if len(chans) != len(set(slugs)):
        known = {c.slug for c in chans}
        unknown = [s for s in slugs if s not in known]
        raise InvalidInput(code="channels.unknown", params={"channels": unknown},
                           errors={"channels": [Message("channels.unknown", {"channels": unknown})]})
    actions.CREATE.ensure(author, chans)
    ensure_channels_usable(chans)  # a channel that cannot publish is refused now, by its name
    return chans


def _claim_answered(inbound: InboundMessage | None, *, author: User) -> None:
    """Answering a new citizen message claims it for the author."""
    if inbound is not None and inbound.status == InboundStatus.NEW:
        InboundMessage.objects.filter(id=inbound.id, status=InboundStatus.NEW).update(
            status=InboundStatus.CLAIMED, assignee=author, claimed_at=timezone.now()
        )


@transaction.atomic
def post_create(
    *,
    author: User,
    channels: list[str] | None = None,
    kind: str,
    texts: dict,
    lane: str | None = None,
    in_reply_to: int | None = None,
    scheduled_at: datetime | None = None,
    rules_acknowledged: bool = False,
    content_warning: str | None = None,
    media: list | None = None,
) -> Post:
    """Create a draft. Guideline checks run and are stored on the post (they block on submit).
    A reply carries the citizen's content warning unless `content_warning` is given ("": none).
    `media`: the media to attach, in order (services.media.media_clean says what each says).

    Raises InvalidInput (bad texts, channels, lane, media), TextTooLong, Unpublishable (more
    media than a channel takes), NotPermitted (no draft permission), GuidelineViolation (the
    text breaks a blocking content rule: nothing is kept)."""
    org_id, cleaned = _author_and_texts(author=author, kind=kind, texts=texts)
    inbound = _reply_target(kind=kind, in_reply_to=in_reply_to, organisation_id=org_id)
    chans = _target_channels(author=author, organisation_id=org_id, slugs=list(channels or []), inbound=inbound)
    chosen_lane = route_lane(organisation_id=org_id, kind=kind, lane_slug=lane)
    if content_warning is None:
        content_warning = inbound.content_warning if inbound is not None else ""
    post = Post.objects.create(
        organisation_id=org_id, lane=chosen_lane, kind=kind, in_reply_to=inbound, author=author,
        scheduled_at=_clean_schedule(scheduled_at), rules_acknowledged=bool(rules_acknowledged),
        content_warning=" ".join(str(content_warning).split())[:limits.CONTENT_WARNING_MAX],
    )
    post.channels.set(chans)
    ensure_publishable(post, channels=chans, texts=cleaned)
    attached = media_for_post(post, raw=media, channels=chans, texts=cleaned) if media is not None else []
    write_texts(post, new_texts=cleaned, by=author)
    media_write(post, media=attached, current=[], by=author, already=cleaned)
    snapshot_revision(post, texts=cleaned, by=author, media=attached)
    results = run_checks(post, texts=cleaned, channels=chans, media=attached)
    ensure_content_allowed(results)
    post.checks = [r.as_data() for r in results]
    audit_record(
        owner=post, verb="created", actor=author, to_state=post.state,
        data={"lane": chosen_lane.slug, "channels": sorted(c.slug for c in chans), "languages": sorted(cleaned),
              **({"content_warning": post.content_warning} if post.content_warning else {}),
              **({"media": media_changes([], snapshots(attached))} if attached else {})},
    )
    _claim_answered(inbound, author=author)
    post.save(update_fields=["revision", "checks", "audit_seq", "audit_head"])
    outbox_emit(topic="post.created", organisation_id=org_id, post_id=post.id, payload={"post_id": post.id})
    return post


@transaction.atomic
def post_edit(
    *,
    post_id: int,
    by: User,
    texts: dict | None = None,
    scheduled_at: Any = UNSET,
    rules_acknowledged: bool | None = None,
    version: int | None = None,
    media: list | None = None,
) -> Post:
    """Edit texts / media / schedule while draft or changes requested. `media` replaces the
    post's media (None: unchanged; []: none). Editing a language — its text or its media —
    voids every approval that covered it. Raises InvalidTransition, Conflict (stale),
    NotPermitted, InvalidInput, TextTooLong, Unpublishable."""
    post = post_get_for_update(post_id=post_id, user=by)
    ensure_version(post, version)
    prefetch_related_objects([post], "channels")
    actions.EDIT.ensure(by, post)
    channel_objs = list(post.channels.all())
    changed: list[str] = []
    fields = []
    if texts is not None:
        cleaned = clean_texts(texts)
        changed = write_texts(post, new_texts=cleaned, by=by)
    current = now_media = None
    if media is not None:
        current = post_media(post)
        now_media = media_for_post(post, raw=media, channels=channel_objs, texts=post.texts_dict())
        # A language whose media changed is edited as if its text had (services.media).
        changed = sorted(set(changed) | set(media_write(post, media=now_media, current=current, by=by,
                                                         already=changed)))
    if scheduled_at is not UNSET:
        post.scheduled_at = _clean_schedule(scheduled_at)
        fields.append("scheduled_at")
    if rules_acknowledged is not None:
        post.rules_acknowledged = bool(rules_acknowledged)
        fields.append("rules_acknowledged")
    if not changed and not fields:
        return post
    voided: list[int] = []
    if now_media is None:
        now_media = post_media(post)
    if changed:
        ensure_publishable(post, channels=channel_objs, texts=post.texts_dict())
        snapshot_revision(post, texts=post.texts_dict(), by=by, media=now_media)
        voided = invalidate_approvals(post, languages=changed)
    ensure_content_allowed(_refresh_checks(post, channels=channel_objs, media=now_media))
    moved = media_changes(snapshots(current), snapshots(now_media)) if current is not None else []
    audit_record(
        owner=post, verb="edited", actor=by, from_state=post.state, to_state=post.state,
        data={"languages": changed, "fields": fields, "voided_decisions": voided,
              **({"media": moved} if moved else {})},
    )
    save_post(post, fields=fields)
    return post


def _escalate(post: Post, *, by: User, texts: dict[str, str], ctx: TransitionContext) -> None:
    """A conversation draft matching one of its lane's escalation rules moves to the lane's
    escalation target (lanes.escalation_of, lanes.escalation_target): audited, enqueued."""
    found = escalation_of(post.lane, texts=texts)
    if not found:
        return
    target = escalation_target(post.lane, organisation_id=post.organisation_id)
    if target is None:
        return
    reason = found.as_data()
    from_lane = post.lane.slug
    post.lane = target
    post.escalation = reason
    post.escalation_reason = ""
    audit_record(
        owner=post, verb="escalated", actor=by, from_state=post.state, to_state=post.state,
        data={"from_lane": from_lane, "to_lane": post.lane.slug, "escalation": reason}, pending=ctx.audit,
    )
    outbox_emit(topic="post.escalated", organisation_id=post.organisation_id, post_id=post.id,
                payload={"post_id": post.id, "escalation": reason})


@transaction.atomic
def post_submit(*, post_id: int, by: User, version: int | None = None, rules_acknowledged: bool | None = None) -> Post:
    """Send the post into its lane. A conversation draft matching an escalation rule moves to the
    official lane first. No blocking step → approved at once and, when due now, publishing (its
    publications written here).

    Raises GuidelineViolation (422, nothing changes), InvalidTransition, Conflict, NotPermitted.
    Enqueues (outbox) post.step_entered or post.approved."""
    post, ctx = post_lock_for_transition(post_id=post_id, user=by)
    ensure_version(post, version)
    channel_objs = load_channels(post)
    actions.SUBMIT.ensure(by, post)
    ensure_channels_usable(channel_objs)  # before the chain, not after it (issue 21)
    ctx.collect()  # submitted, routed, approved, publishing: one INSERT (written with the post)
    if rules_acknowledged is not None:
        post.rules_acknowledged = bool(rules_acknowledged)
    load_texts(post)
    texts = post.texts_dict()
    ensure_publishable(post, channels=channel_objs, texts=texts)
    fields = ["rules_acknowledged", "lane", "escalation", "escalation_reason", "submitted_at"]
    _escalate(post, by=by, texts=texts, ctx=ctx)
    periods = periods_active(organisation_id=post.organisation_id)
    caretaker_route(post, by=by, texts=texts, channel_ids={c.id for c in channel_objs}, periods=periods,
                    pending=ctx.audit)
    results = run_checks(post, texts=texts, channels=channel_objs, ctx=ctx)
    post.checks = [r.as_data() for r in results]
    ensure_no_blocking(results)
    from_state = post.state
    now = post.submitted_at = timezone.now()
    audit_record(owner=post, verb="submitted", actor=by, from_state=from_state, to_state=from_state,
                 data={"lane": post.lane.slug}, pending=ctx.audit)
    advance(post, by=by, languages=set(texts), ctx=ctx)
    if post.state == PostState.APPROVED and not (post.scheduled_at and post.scheduled_at > now):
        # Approved at once and due: publishing starts in this transaction (the text was just
        # checked), so the worker woken by `post.approved` only claims and sends (issue 14).
        post_publish_begin(post, channels=channel_objs, periods=periods, texts=texts, now=now, ctx=ctx)
        fields.append("spoken_as_person")
    save_post(post, fields=fields, ctx=ctx)
    return post


@transaction.atomic
def post_withdraw(*, post_id: int, by: User, version: int | None = None, comment: str = "") -> Post:
    """The author (or a channel manager) takes the post back before publishing → withdrawn."""
    post = post_get_for_update(post_id=post_id, user=by)
    ensure_version(post, version)
    actions.WITHDRAW.ensure(by, post)
    post.current_step = None
    transition(post, to=ACTION_TO[Action.WITHDRAW], by=by, verb="withdrawn", topic="post.withdrawn",
               data={"comment": comment} if comment else {})
    return post


@transaction.atomic
def post_publish_urgent(*, post_id: int, by: User, reason: str, version: int | None = None) -> Post:
    """Break glass: skip the remaining steps and publish now. Needs the lane to allow it and the
    publish-urgent permission on every channel; still requires every required language and no
    blocking guideline. Opens a retrospective review by someone else; counted as a bypass."""
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if not reason:
        raise InvalidInput(code="urgent.reason_required", errors={"reason": [Message("field.required")]})
    if len(reason) > limits.REASON_MAX:
        params = {"length": len(reason), "limit": limits.REASON_MAX}
        raise TextTooLong(params=params, errors={"reason": [Message("text.too_long", params)]})
    post = post_get_for_update(post_id=post_id, user=by)
    ensure_version(post, version)
    actions.PUBLISH_URGENT.ensure(by, post)
    texts = post.texts_dict()
    ensure_publishable(post, channels=list(post.channels.all()), texts=texts)
    results = run_checks(post, texts=texts, channels=list(post.channels.all()))
    post.checks = [r.as_data() for r in results]
    ensure_no_blocking([r for r in results if r.rule not in guidelines.NOT_ABOUT_TEXT])
    post.urgent = True
    post.urgent_reason = reason
    post.scheduled_at = None
    skipped = stable_name(post.current_step)
    mark_approved(post, by=by, languages=set(texts), verb="urgent_published",
                  data={"reason": reason, "skipped_step": skipped})
    PostReview.objects.create(
        post=post, kind=ReviewKind.RETROSPECTIVE, team=post.lane.retrospective_team,
        excluded_users=sorted({by.id, post.author_id}.union(*contributors(post).values())),
        due_at=timezone.now() + (post.lane.response_sla or timedelta(days=1)),
    )
    outbox_emit(topic="review.opened", organisation_id=post.organisation_id, post_id=post.id,
                payload={"post_id": post.id, "kind": ReviewKind.RETROSPECTIVE})
    save_post(post, fields=["urgent", "urgent_reason", "scheduled_at"])
    return post


@transaction.atomic
def post_create_and_submit(**create_kwargs: Any) -> Post:
    """"Save and submit" in one transaction: post_create, then post_submit. Nothing is kept when
    either half fails (a blocking guideline leaves no draft behind)."""
    post = post_create(**create_kwargs)
    return post_submit(post_id=post.id, by=create_kwargs["author"], version=post.version)


@transaction.atomic
def post_edit_and_submit(*, post_id: int, by: User, version: int | None = None, **edit_kwargs: Any) -> Post:
    """Edit then submit in one transaction (see post_edit and post_submit)."""
    post = post_edit(post_id=post_id, by=by, version=version, **edit_kwargs)
    return post_submit(post_id=post.id, by=by, version=post.version)


@transaction.atomic
def reply_send(*, inbound_id: int, by: User, text: str, language: str, rules_acknowledged: bool,
               content_warning: str | None = None, media: list | None = None) -> Post:
    """Answer a citizen message in one go (with `media`, as post_create takes them). In a
    conversation lane with no blocking step the reply comes back approved (published right after
    commit); an escalated one comes back in review. The message is locked and actions.REPLY
    asked first (NotFound, NotPermitted)."""
    msg = InboundMessage.objects.select_for_update().filter(id=inbound_id).first()
    if msg is None:
        raise NotFound(code="not_found.message")
    ensure_same_org(user=by, organisation_id=msg.organisation_id)
    actions.REPLY.ensure(by, msg)
    return post_create_and_submit(author=by, kind=PostKind.REPLY, in_reply_to=inbound_id,
                                  texts={language: text}, rules_acknowledged=rules_acknowledged,
                                  content_warning=content_warning, media=media)
