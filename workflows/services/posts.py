"""Authoring: create, edit, submit, withdraw, and break-glass urgent publishing."""
from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from .. import guidelines
from ..constants import (
    EDITABLE_STATES,
    URGENT_FROM,
    ChannelPerm,
    LaneKind,
    PostKind,
    PostState,
    ReviewKind,
)
from ..exceptions import InvalidInput, NotFound, NotPermitted
from ..models import Channel, InboundMessage, Lane, Post, PostReview
from .audit import audit_record
from .common import (
    ensure_channel_perm,
    ensure_perm_on_channels,
    ensure_same_org,
    ensure_state,
    ensure_transition,
    ensure_version,
    post_get_for_update,
    stable_name,
)
from .engine import (
    advance,
    ensure_no_blocking,
    invalidate_approvals,
    mark_approved,
    run_checks,
    save_post,
    snapshot_revision,
    write_texts,
)
from .outbox import outbox_emit

LANGUAGES = ("en", "fr")
MAX_TEXT = 20_000
UNSET = object()


def clean_texts(texts, *, allow_empty: bool = False) -> dict[str, str]:
    if not isinstance(texts, dict):
        raise InvalidInput("texts must be an object of language → text.", errors={"texts": ["Expected an object such as {\"en\": \"...\"}."]})
    cleaned: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for lang, body in texts.items():
        if lang not in LANGUAGES:
            errors.setdefault(f"texts.{lang}", []).append("Unsupported language: use en or fr.")
            continue
        if not isinstance(body, str):
            errors.setdefault(f"texts.{lang}", []).append("Expected a string.")
            continue
        body = body.replace("\r\n", "\n").strip()
        if "\x00" in body:
            errors.setdefault(f"texts.{lang}", []).append("Text may not contain NUL characters.")
        elif len(body) > MAX_TEXT:
            errors.setdefault(f"texts.{lang}", []).append(f"At most {MAX_TEXT} characters.")
        elif not body and not allow_empty:
            errors.setdefault(f"texts.{lang}", []).append("This text may not be blank.")
        else:
            cleaned[lang] = body
    if errors:
        raise InvalidInput("Some texts are not valid.", errors=errors)
    return cleaned


def _clean_schedule(scheduled_at) -> datetime | None:
    if scheduled_at is None:
        return None
    if not isinstance(scheduled_at, datetime) or timezone.is_naive(scheduled_at):
        raise InvalidInput("scheduled_at must be a date-time with a time zone.", errors={"scheduled_at": ["Give an ISO 8601 time with an offset."]})
    if scheduled_at <= timezone.now():
        raise InvalidInput("scheduled_at must be in the future.", errors={"scheduled_at": ["Must be in the future."]})
    return scheduled_at


def _route_lane(*, organisation_id: int, kind: str, lane_slug: str | None) -> Lane:
    qs = Lane.objects.filter(organisation_id=organisation_id).prefetch_related("guidelines", "steps")
    if lane_slug:
        lane = qs.filter(slug=lane_slug).first()
        if lane is None:
            raise InvalidInput(f"No lane {lane_slug!r}.", errors={"lane": ["Unknown lane."]})
        if kind == PostKind.POST and lane.kind == LaneKind.CONVERSATION:
            raise InvalidInput("A post (not a reply) goes through an official lane.", errors={"lane": ["Posts cannot use a conversation lane."]})
        return lane
    wanted = LaneKind.CONVERSATION if kind == PostKind.REPLY else LaneKind.OFFICIAL
    lane = qs.filter(kind=wanted).order_by("id").first()
    if lane is None:
        raise InvalidInput(f"Your organisation has no {wanted} lane.", errors={"lane": ["No lane to route to."]})
    return lane


def _refresh_checks(post: Post, *, channels) -> list[guidelines.CheckResult]:
    results = run_checks(post, texts=post.texts_dict(), channels=channels)
    post.checks = [r.as_dict() for r in results]
    return results


@transaction.atomic
def post_create(
    *,
    author,
    channels: list[str] | None = None,
    kind: str,
    texts: dict,
    lane: str | None = None,
    in_reply_to: int | None = None,
    scheduled_at: datetime | None = None,
    rules_acknowledged: bool = False,
) -> Post:
    """Create a draft. Guideline checks run and are stored on the post (they block on submit).

    Raises InvalidInput (bad texts, channels, lane), NotPermitted (no draft permission)."""
    if kind not in PostKind.values:
        raise InvalidInput("kind must be reply or post.", errors={"kind": ["Use reply or post."]})
    if author.organisation_id is None:
        raise NotPermitted("You belong to no organisation.")
    org_id = author.organisation_id
    cleaned = clean_texts(texts)
    if not cleaned:
        raise InvalidInput("Write at least one text.", errors={"texts": ["At least one language."]})
    inbound = None
    if in_reply_to is not None:
        if kind != PostKind.REPLY:
            raise InvalidInput("Only a reply answers a citizen message.", errors={"in_reply_to": ["Use kind reply."]})
        inbound = InboundMessage.objects.filter(id=in_reply_to, organisation_id=org_id).select_related("channel").first()
        if inbound is None:
            raise InvalidInput("No such citizen message.", errors={"in_reply_to": ["Unknown message."]})
    slugs = list(channels or [])
    if not slugs and inbound is not None:
        slugs = [inbound.channel.slug]
    if not slugs:
        raise InvalidInput("Choose at least one channel.", errors={"channels": ["At least one channel."]})
    if not all(isinstance(s, str) for s in slugs):
        raise InvalidInput("Channels are given by slug.", errors={"channels": ["Expected a list of slugs."]})
    chans = list(Channel.objects.filter(slug__in=slugs, organisation_id=org_id, is_active=True))
    if len(chans) != len(set(slugs)):
        known = {c.slug for c in chans}
        raise InvalidInput("Unknown channels.", errors={"channels": [f"Unknown channel: {s}" for s in slugs if s not in known]})
    ensure_perm_on_channels(user=author, channel_ids=[c.id for c in chans], codename=ChannelPerm.DRAFT)
    chosen_lane = _route_lane(organisation_id=org_id, kind=kind, lane_slug=lane)
    post = Post.objects.create(
        organisation_id=org_id,
        lane=chosen_lane,
        kind=kind,
        in_reply_to=inbound,
        author=author,
        scheduled_at=_clean_schedule(scheduled_at),
        rules_acknowledged=bool(rules_acknowledged),
    )
    post.channels.set(chans)
    write_texts(post, new_texts=cleaned, by=author)
    snapshot_revision(post, texts=cleaned, by=author)
    results = run_checks(post, texts=cleaned, channels=chans)
    post.checks = [r.as_dict() for r in results]
    audit_record(
        owner=post, verb="created", actor=author, to_state=post.state,
        data={"lane": chosen_lane.slug, "channels": sorted(c.slug for c in chans), "languages": sorted(cleaned)},
    )
    if inbound is not None and inbound.status == "new":
        InboundMessage.objects.filter(id=inbound.id, status="new").update(
            status="claimed", assignee=author, claimed_at=timezone.now()
        )
    post.save(update_fields=["revision", "checks", "audit_seq", "audit_head"])
    outbox_emit(topic="post.created", organisation_id=org_id, post_id=post.id, payload={"post_id": post.id})
    return post


@transaction.atomic
def post_edit(
    *,
    post_id: int,
    by,
    texts: dict | None = None,
    scheduled_at=UNSET,
    rules_acknowledged: bool | None = None,
    version: int | None = None,
) -> Post:
    """Edit texts / schedule while draft or changes requested. Editing a language voids every
    approval that covered it. Raises InvalidTransition, Conflict (stale), NotPermitted."""
    post = post_get_for_update(post_id=post_id, user=by)
    ensure_version(post, version)
    ensure_state(post, allowed=EDITABLE_STATES, action="edit")
    channel_objs = list(post.channels.all())
    if by.id != post.author_id:
        ensure_perm_on_channels(user=by, channel_ids=[c.id for c in channel_objs], codename=ChannelPerm.DRAFT)
    changed: list[str] = []
    fields = []
    if texts is not None:
        cleaned = clean_texts(texts)
        changed = write_texts(post, new_texts=cleaned, by=by)
    if scheduled_at is not UNSET:
        post.scheduled_at = _clean_schedule(scheduled_at)
        fields.append("scheduled_at")
    if rules_acknowledged is not None:
        post.rules_acknowledged = bool(rules_acknowledged)
        fields.append("rules_acknowledged")
    if not changed and not fields:
        return post
    voided: list[int] = []
    if changed:
        snapshot_revision(post, texts=post.texts_dict(), by=by)
        voided = invalidate_approvals(post, languages=changed)
    _refresh_checks(post, channels=channel_objs)
    audit_record(
        owner=post, verb="edited", actor=by, from_state=post.state, to_state=post.state,
        data={"languages": changed, "fields": fields, "voided_decisions": voided},
    )
    save_post(post, fields=fields)
    return post


@transaction.atomic
def post_submit(*, post_id: int, by, version: int | None = None, rules_acknowledged: bool | None = None) -> Post:
    """Send the post into its lane. A conversation draft matching an escalation rule moves to the
    official lane first. No blocking step → approved at once (ready to publish).

    Raises GuidelineViolation (422, nothing changes), InvalidTransition, Conflict, NotPermitted.
    Enqueues (outbox) post.step_entered or post.approved."""
    post = post_get_for_update(post_id=post_id, user=by)
    ensure_version(post, version)
    ensure_state(post, allowed=EDITABLE_STATES, action="submit")
    channel_objs = list(post.channels.all())
    if by.id != post.author_id:
        ensure_perm_on_channels(user=by, channel_ids=[c.id for c in channel_objs], codename=ChannelPerm.DRAFT)
    if rules_acknowledged is not None:
        post.rules_acknowledged = bool(rules_acknowledged)
    texts = post.texts_dict()
    fields = ["rules_acknowledged", "lane", "escalation_reason", "submitted_at"]
    if post.lane.kind == LaneKind.CONVERSATION:
        rules = [e for e in post.lane.escalations.all() if e.enabled]
        reason = guidelines.escalation_reason(
            rules=[guidelines.Rule(kind=e.kind, params=e.params) for e in rules],
            texts=texts,
            reasons=[e.reason for e in rules],
        )
        if reason:
            target = post.lane.escalate_to or Lane.objects.filter(
                organisation_id=post.organisation_id, kind=LaneKind.OFFICIAL
            ).order_by("id").first()
            if target is not None:
                from_lane = post.lane.slug
                post.lane = Lane.objects.prefetch_related("guidelines", "steps").get(id=target.id)
                post.escalation_reason = reason
                audit_record(
                    owner=post, verb="escalated", actor=by, from_state=post.state, to_state=post.state,
                    data={"from_lane": from_lane, "to_lane": post.lane.slug, "reason": reason},
                )
                outbox_emit(topic="post.escalated", organisation_id=post.organisation_id, post_id=post.id,
                            payload={"post_id": post.id, "reason": reason})
    results = run_checks(post, texts=texts, channels=channel_objs)
    post.checks = [r.as_dict() for r in results]
    ensure_no_blocking(results)
    from_state = post.state
    post.submitted_at = timezone.now()
    audit_record(owner=post, verb="submitted", actor=by, from_state=from_state, to_state=from_state,
                 data={"lane": post.lane.slug})
    advance(post, by=by, languages=set(texts))
    save_post(post, fields=fields)
    return post


@transaction.atomic
def post_withdraw(*, post_id: int, by, version: int | None = None, comment: str = "") -> Post:
    """The author (or a channel manager) takes the post back before publishing → withdrawn."""
    post = post_get_for_update(post_id=post_id, user=by)
    ensure_version(post, version)
    ensure_transition(post, to=PostState.WITHDRAWN)
    if by.id != post.author_id:
        ensure_channel_perm(user=by, post=post, codename=ChannelPerm.MANAGE)
    from_state = post.state
    post.state = PostState.WITHDRAWN
    post.current_step = None
    audit_record(owner=post, verb="withdrawn", actor=by, from_state=from_state, to_state=post.state,
                 data={"comment": comment} if comment else {})
    outbox_emit(topic="post.withdrawn", organisation_id=post.organisation_id, post_id=post.id, payload={"post_id": post.id})
    save_post(post)
    return post


@transaction.atomic
def post_publish_urgent(*, post_id: int, by, reason: str, version: int | None = None) -> Post:
    """Break glass: skip the remaining steps and publish now. Needs the lane to allow it and the
    publish-urgent permission on every channel; still requires every required language and no
    blocking guideline. Opens a retrospective review by someone else; counted as a bypass."""
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if not reason:
        raise InvalidInput("Give the reason for urgent publishing.", errors={"reason": ["This field is required."]})
    post = post_get_for_update(post_id=post_id, user=by)
    ensure_version(post, version)
    ensure_state(post, allowed=URGENT_FROM, action="publish urgently")
    if not post.lane.allow_urgent:
        raise NotPermitted("This lane does not allow urgent publishing.", code="urgent_not_allowed")
    ensure_channel_perm(user=by, post=post, codename=ChannelPerm.PUBLISH_URGENT)
    texts = post.texts_dict()
    results = run_checks(post, texts=texts, channels=list(post.channels.all()))
    post.checks = [r.as_dict() for r in results]
    ensure_no_blocking([r for r in results if r.rule != "four_rules"])
    post.urgent = True
    post.urgent_reason = reason
    post.scheduled_at = None
    skipped = stable_name(post.current_step)
    mark_approved(post, by=by, languages=set(texts), verb="urgent_published",
                  data={"reason": reason, "skipped_step": skipped})
    PostReview.objects.create(
        post=post, kind=ReviewKind.RETROSPECTIVE, team=post.lane.retrospective_team,
        excluded_users=sorted({by.id, post.author_id}),
        due_at=timezone.now() + (post.lane.response_sla or timedelta(days=1)),
    )
    outbox_emit(topic="review.opened", organisation_id=post.organisation_id, post_id=post.id,
                payload={"post_id": post.id, "kind": ReviewKind.RETROSPECTIVE})
    save_post(post, fields=["urgent", "urgent_reason", "scheduled_at"])
    return post


@transaction.atomic
def post_create_and_submit(**create_kwargs) -> Post:
    """"Save and submit" in one transaction: post_create, then post_submit. Nothing is kept when
    either half fails (a blocking guideline leaves no draft behind)."""
    post = post_create(**create_kwargs)
    return post_submit(post_id=post.id, by=create_kwargs["author"], version=post.version)


@transaction.atomic
def post_edit_and_submit(*, post_id: int, by, version: int | None = None, **edit_kwargs) -> Post:
    """Edit then submit in one transaction (see post_edit and post_submit)."""
    post = post_edit(post_id=post_id, by=by, version=version, **edit_kwargs)
    return post_submit(post_id=post.id, by=by, version=post.version)


def reply_send(*, inbound_id: int, by, text: str, language: str, rules_acknowledged: bool) -> Post:
    """Answer a citizen message in one go. In a conversation lane with no blocking step the reply
    comes back approved (published right after commit); an escalated one comes back in review."""
    return post_create_and_submit(author=by, kind=PostKind.REPLY, in_reply_to=inbound_id,
                                  texts={language: text}, rules_acknowledged=rules_acknowledged)


def post_get(*, post_id: int, user) -> Post:
    post = Post.objects.filter(id=post_id).first()
    if post is None:
        raise NotFound("No such post.")
    ensure_same_org(user=user, organisation_id=post.organisation_id)
    return post
