"""Caretaker (election) periods: stricter rules for a time window, inherited by every
organisation under the one that defines it.

Applied twice: at submit (`caretaker_route`: replies go through approval, broadcasts to paused
channels are refused) and again at publish (`caretaker_hold_period`: a post approved before the
period that would publish inside it — or a broadcast to a paused channel — is held for review).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import User

from .. import guidelines
from ..constants import EscalationKind, LaneKind, PostKind, PostState
from ..exceptions import GuidelineViolation, InvalidInput, NotFound, NotPermitted
from ..messages import Message
from ..models import AuditEvent, CaretakerPeriod, Channel, Lane, Post
from ..permissions import sees_organisation
from ..selectors import inherited_from_q, organisation_descendants
from .audit import audit_record
from .engine import advance, invalidate_approvals
from .outbox import outbox_emit
from .policy import policy_record_change

#: Posts that a new period may catch: approved and waiting to publish.
WAITING = (PostState.APPROVED, PostState.SCHEDULED)
MAX_TOPICS = 100
MAX_TEXT = 500

CODE_OFFICIAL_ONLY = "caretaker.official_only"
CODE_TOPIC = "caretaker.topic"
CODE_CHANNEL_PAUSED = "caretaker.channel_paused"
CODE_HELD = "caretaker.held"

def _period_name(period: CaretakerPeriod) -> dict[str, str]:
    """A bilingual parameter: rendered in the reader's language (workflows.messages)."""
    return {"en": period.name_en, "fr": period.name_fr}


def periods_active(*, organisation_id: int, at: datetime | None = None) -> list[CaretakerPeriod]:
    """The periods in force for an organisation at `at` (its own and its ancestors')."""
    at = at or timezone.now()
    return list(
        CaretakerPeriod.objects.filter(
            inherited_from_q(organisation_id), cancelled_at__isnull=True, starts_at__lte=at, ends_at__gt=at,
        ).select_related("review_lane").prefetch_related("paused_channels")
    )


def _review_lane(period: CaretakerPeriod, organisation_id: int) -> Lane | None:
    if period.review_lane_id:
        return period.review_lane
    return Lane.objects.filter(organisation_id=organisation_id, kind=LaneKind.OFFICIAL).order_by("id").first()


def _paused_for(periods: list[CaretakerPeriod], channel_ids: set[int]) -> tuple[CaretakerPeriod | None, list[dict]]:
    """The first period pausing one of the channels, and those channels by their names in both
    languages (a refusal names "DPE (English)", never the slug "dpe-en": issue 21)."""
    for period in periods:
        paused = sorted((c for c in period.paused_channels.all() if c.id in channel_ids), key=lambda c: c.slug)
        if paused:
            names = [(getattr(c, "name_en", "") or c.name or c.slug, getattr(c, "name_fr", "")) for c in paused]
            return period, [{"en": en, "fr": fr or en} for en, fr in names]
    return None, []


def caretaker_route(post: Post, *, by: User, texts: dict[str, str], channel_ids: set[int],
                    periods: list[CaretakerPeriod] | None = None, pending: list[AuditEvent] | None = None) -> None:
    """At submit, under the post's lock: refuse a broadcast to a paused channel
    (GuidelineViolation, nothing changes); route a conversation reply to the period's review
    lane when the period says every reply, or one about a listed topic, needs approval.
    `periods`: the organisation's periods_active now, when the caller already has them."""
    if periods is None:
        periods = periods_active(organisation_id=post.organisation_id)
    if not periods:
        return
    if post.kind == PostKind.POST:
        period, paused = _paused_for(periods, channel_ids)
        if period is not None:
            params = {"period": _period_name(period), "channels": paused}
            raise GuidelineViolation(
                code=CODE_CHANNEL_PAUSED, params=params,
                violations=[{"rule": CODE_CHANNEL_PAUSED, "code": CODE_CHANNEL_PAUSED, "severity": "block",
                             "ok": False, "params": params, "language": "", "field": "channels"}],
            )
    if post.lane.kind != LaneKind.CONVERSATION:
        return
    for period in periods:
        code, params = "", {"period": _period_name(period)}
        if period.official_lane_only:
            code = CODE_OFFICIAL_ONLY
        elif period.reply_topics:
            hits = [t for t in period.reply_topics if guidelines.escalation_for(
                rules=[guidelines.Rule(kind=EscalationKind.TERMS, params={"terms": [t]})], texts=texts)]
            if hits:
                code, params = CODE_TOPIC, {**params, "terms": hits}
        if not code:
            continue
        target = _review_lane(period, post.organisation_id)
        if target is None or target.id == post.lane_id:
            continue
        from_lane = post.lane.slug
        post.lane = Lane.objects.prefetch_related("guidelines", "steps").get(id=target.id)
        post.escalation = {"code": code, "params": params}
        post.escalation_reason = ""
        audit_record(owner=post, verb="escalated", actor=by, from_state=post.state, to_state=post.state,
                     data={"from_lane": from_lane, "to_lane": post.lane.slug, "escalation": post.escalation,
                           "code": code, "params": params, "caretaker_period_id": period.id},
                     pending=pending)
        outbox_emit(topic="post.escalated", organisation_id=post.organisation_id, post_id=post.id,
                    payload={"post_id": post.id, "escalation": post.escalation, "code": code})
        return


def caretaker_hold_period(post: Post, *, now: datetime,
                          periods: list[CaretakerPeriod] | None = None) -> CaretakerPeriod | None:
    """At publish: the period that holds this post, if any — it was approved before a period in
    force now, or it is a broadcast to a channel a period pauses. `periods`: the organisation's
    periods_active at `now`, when the caller already has them (a batch of posts)."""
    if periods is None:
        periods = periods_active(organisation_id=post.organisation_id, at=now)
    if not periods:
        return None
    if post.kind == PostKind.POST:
        period, _paused = _paused_for(periods, set(post.channels.values_list("id", flat=True)))
        if period is not None:
            return period
    for period in periods:
        if post.approved_at is None or post.approved_at < period.starts_at:
            return period
    return None


def caretaker_hold(post: Post, *, period: CaretakerPeriod, pending: list[AuditEvent] | None = None) -> None:
    """approved/scheduled → in_review (under the caller's lock): the approvals given before the
    period no longer count; the post waits in the period's review lane. The caller saves."""
    target = _review_lane(period, post.organisation_id)
    if target is not None and target.id != post.lane_id:
        post.lane = Lane.objects.prefetch_related("guidelines", "steps").get(id=target.id)
    texts = post.texts_dict()
    voided = invalidate_approvals(post, languages=sorted(texts))
    params = {"period": _period_name(period)}
    post.escalation = {"code": CODE_HELD, "params": params}
    post.escalation_reason = ""
    audit_record(owner=post, verb="held", from_state=post.state, to_state=post.state,
                 data={"code": CODE_HELD, "params": params, "caretaker_period_id": period.id,
                       "lane": post.lane.slug, "voided_decisions": voided}, pending=pending)
    outbox_emit(topic="post.held", organisation_id=post.organisation_id, post_id=post.id,
                payload={"post_id": post.id, "caretaker_period_id": period.id})
    advance(post, by=None, languages=set(texts))


def posts_caught_by(period: CaretakerPeriod) -> QuerySet[Post]:
    """Approved or scheduled posts (of the organisation and those under it) that would publish
    inside the period: listed for review when the period is created."""
    return Post.objects.filter(
        organisation_id__in=organisation_descendants(period.organisation_id), state__in=WAITING,
    ).filter(
        Q(scheduled_at__gte=period.starts_at, scheduled_at__lt=period.ends_at)
        | Q(scheduled_at__isnull=True, state=PostState.APPROVED, approved_at__lt=period.starts_at)
    ).order_by("scheduled_at", "id")


def _ensure_may_manage(by: User, organisation_id: int) -> None:
    """Another organisation's periods do not exist for `by` (404); then the permission (403)."""
    if not sees_organisation(by, organisation_id):
        raise NotFound(code="caretaker.not_found")
    if not by.has_perm("workflows.add_caretakerperiod"):
        raise NotPermitted(code="caretaker.not_permitted")


def _invalid(field: str, code: str, params: dict | None = None) -> InvalidInput:
    return InvalidInput(code="caretaker.invalid", errors={field: [Message(code, params or {})]})


def _clean_terms(terms: Any) -> list[str]:
    if terms in (None, ""):
        return []
    if isinstance(terms, str):
        terms = terms.replace("\n", ",").split(",")
    if not isinstance(terms, list | tuple) or not all(isinstance(t, str) for t in terms):
        raise _invalid("reply_topics", "caretaker.topics_not_list")
    cleaned = [t.strip()[:100] for t in terms if t.strip()]
    if len(cleaned) > MAX_TOPICS:
        raise _invalid("reply_topics", "caretaker.too_many_topics")
    return cleaned


@transaction.atomic
def caretaker_period_create(
    *, by: User, organisation_id: int | None = None, name_en: str, name_fr: str, starts_at: datetime, ends_at: datetime,
    official_lane_only: bool = True, reply_topics: Any = None, review_lane: str | None = None,
    paused_channels: list[str] | None = None, banner_en: str = "", banner_fr: str = "",
) -> tuple[CaretakerPeriod, list[int]]:
    """Define a period for an organisation (and those under it). Returns the period and the ids
    of the approved or scheduled posts it catches (listed for review; they are held when they
    come to publish). Audited in the organisation's policy chain. Raises InvalidInput,
    NotPermitted."""
    organisation_id = organisation_id or by.organisation_id
    if organisation_id is None:
        raise NotPermitted(code="organisation.none")
    _ensure_may_manage(by, organisation_id)
    errors: dict[str, list[Message]] = {}
    for field, value, limit in (("name_en", name_en, 200), ("name_fr", name_fr, 200),
                                ("banner_en", banner_en, MAX_TEXT), ("banner_fr", banner_fr, MAX_TEXT)):
        if not isinstance(value, str):
            errors[field] = [Message("text.not_string")]
        elif field.startswith("name") and not value.strip():
            errors[field] = [Message("field.required")]
        elif len(value) > limit:
            errors[field] = [Message("text.too_long", {"length": len(value), "limit": limit})]
    if not isinstance(starts_at, datetime) or not isinstance(ends_at, datetime) or timezone.is_naive(starts_at) or timezone.is_naive(ends_at):
        errors["starts_at"] = [Message("caretaker.needs_timezone")]
    elif ends_at <= starts_at:
        errors["ends_at"] = [Message("caretaker.ends_before_start")]
    if errors:
        raise InvalidInput(code="caretaker.invalid", errors=errors)
    lane = None
    if review_lane:
        lane = Lane.objects.filter(organisation_id=organisation_id, slug=review_lane).first()
        if lane is None:
            raise _invalid("review_lane", "lane.unknown", {"lane": review_lane})
    else:
        lane = Lane.objects.filter(organisation_id=organisation_id, kind=LaneKind.OFFICIAL).order_by("id").first()
    if lane is None or not lane.steps.exists():
        raise _invalid("review_lane", "caretaker.review_lane_without_steps")
    slugs = list(paused_channels or [])
    chans = list(Channel.objects.filter(organisation_id__in=organisation_descendants(organisation_id), slug__in=slugs))
    if len(chans) != len(set(slugs)):
        known = {c.slug for c in chans}
        raise _invalid("paused_channels", "channels.unknown", {"channels": [s for s in slugs if s not in known]})
    period = CaretakerPeriod.objects.create(
        organisation_id=organisation_id, name_en=name_en.strip(), name_fr=name_fr.strip(),
        starts_at=starts_at, ends_at=ends_at, official_lane_only=bool(official_lane_only),
        reply_topics=_clean_terms(reply_topics), review_lane=lane if review_lane else None,
        banner_en=banner_en.strip(), banner_fr=banner_fr.strip(), created_by=by,
    )
    period.paused_channels.set(chans)
    caught = list(posts_caught_by(period).values_list("id", flat=True))
    policy_record_change(obj=period, actor=by, action="created")
    outbox_emit(topic="caretaker.created", organisation_id=organisation_id, post_id=None,
                payload={"caretaker_period_id": period.id, "posts_caught": caught})
    return period, caught


@transaction.atomic
def caretaker_period_cancel(*, period_id: int, by: User) -> CaretakerPeriod:
    """End a period early (periods are never deleted: the trail keeps what applied when)."""
    period = CaretakerPeriod.objects.select_for_update().filter(id=period_id).first()
    if period is None:
        raise NotFound(code="caretaker.not_found")
    _ensure_may_manage(by, period.organisation_id)
    if period.cancelled_at is None:
        period.cancelled_at = timezone.now()
        period.save(update_fields=["cancelled_at"])
        policy_record_change(obj=period, actor=by, action="changed", changed_fields=["cancelled_at"])
    return period
