"""Lanes: which lane a post goes to (routing and escalation) and which languages it needs.

The one home of these rules: post_create and post_submit, the preview as you type, the post
page and the translation step all ask here."""
from __future__ import annotations

from collections.abc import Iterable

from django.db import connection
from django.db.models import QuerySet

from .. import guidelines
from ..compiled import Compiled
from ..constants import LaneKind, PostKind
from ..exceptions import InvalidInput
from ..messages import Message
from ..models import EscalationRule, InboundMessage, Lane, Post


def reply_language(post: Post, lane: Lane | None = None) -> str | None:
    """The citizen's language a conversation reply must answer in, or None."""
    lane = lane or post.lane
    msg: InboundMessage | None = post.in_reply_to if post.in_reply_to_id else None
    if msg is not None and lane.kind == LaneKind.CONVERSATION:
        return msg.language or None
    return None


def required_languages(post: Post, lane: Lane | None = None) -> list[str]:
    """The lane's required languages, plus the citizen's language for a conversation reply."""
    lane = lane or post.lane
    langs = list(lane.required_languages or [])
    citizen = reply_language(post, lane)
    if citizen and citizen not in langs:
        langs.append(citizen)
    return langs


def missing_languages(post: Post, have: Iterable[str]) -> list[str]:
    """The required languages not among `have`, in the lane's order."""
    present = set(have)
    return [lang for lang in required_languages(post) if lang not in present]


def default_lane_kind(kind: str) -> LaneKind:
    """A reply goes to the conversation lane, anything else to the official one."""
    return LaneKind.CONVERSATION if kind == PostKind.REPLY else LaneKind.OFFICIAL


def _lanes(organisation_id: int) -> QuerySet[Lane]:
    return Lane.objects.filter(organisation_id=organisation_id).prefetch_related("guidelines", "steps", "escalations")


def route_lane(*, organisation_id: int, kind: str, lane_slug: str | None) -> Lane:
    """The lane a new post enters: the one named (refused when unknown, or a conversation lane
    for a post), else the organisation's first lane of the default kind. Raises InvalidInput."""
    qs = _lanes(organisation_id)
    if lane_slug:
        lane = qs.filter(slug=lane_slug).first()
        if lane is None:
            raise InvalidInput(code="lane.unknown", params={"lane": lane_slug},
                               errors={"lane": [Message("lane.unknown", {"lane": lane_slug})]})
        if kind == PostKind.POST and lane.kind == LaneKind.CONVERSATION:
            raise InvalidInput(code="lane.conversation_for_post", errors={"lane": [Message("lane.conversation_for_post")]})
        return lane
    lane = qs.filter(kind=default_lane_kind(kind)).order_by("id").first()
    if lane is None:
        raise InvalidInput(code="lane.none", errors={"lane": [Message("lane.none")]})
    return lane


def route_lane_or_none(*, organisation_id: int, kind: str, lane_slug: str | None) -> Lane | None:
    """route_lane for a preview: the lane named when it exists, else the default; never raises."""
    qs = _lanes(organisation_id)
    named = qs.filter(slug=lane_slug).first() if lane_slug else None
    return named or qs.filter(kind=default_lane_kind(kind)).order_by("id").first()


def _lane_escalations(lane_id: int) -> QuerySet[EscalationRule]:
    return EscalationRule.objects.filter(lane=lane_id)


_LANE_ESCALATIONS: Compiled[EscalationRule] = Compiled(_lane_escalations, arity=1)


def lane_escalations(lane: Lane) -> list[EscalationRule]:
    """The lane's escalation rules: prefetched ones when the caller has them, else read now (on
    PostgreSQL through SQL compiled once per process: a reply's submit reads them)."""
    prefetched = lane.__dict__.get("_prefetched_objects_cache", {}).get("escalations")
    if prefetched is not None or connection.vendor != "postgresql":
        return list(lane.escalations.all())
    return _LANE_ESCALATIONS.run(lane.id, using=lane._state.db or "default")


def escalation_of(lane: Lane, *, texts: dict[str, str]) -> guidelines.Escalation | None:
    """The conversation lane's first enabled escalation rule the texts match, or None."""
    if lane.kind != LaneKind.CONVERSATION:
        return None
    rules = [e for e in lane_escalations(lane) if e.enabled]
    return guidelines.escalation_for(
        rules=[guidelines.Rule(kind=e.kind, params=e.params) for e in rules],
        # reason_en / reason_fr: django-modeltranslation's columns (workflows/translation.py)
        texts=texts, reasons=[getattr(e, "reason_en", "") or getattr(e, "reason_fr", "") or "" for e in rules],
        reasons_fr=[getattr(e, "reason_fr", "") or "" for e in rules],
    )


def escalation_target(lane: Lane, *, organisation_id: int) -> Lane | None:
    """Where an escalated conversation post goes: the lane's own target, else the first official
    lane (with its rules and steps loaded)."""
    target = lane.escalate_to or Lane.objects.filter(
        organisation_id=organisation_id, kind=LaneKind.OFFICIAL
    ).order_by("id").first()
    if target is None:
        return None
    return Lane.objects.prefetch_related("guidelines", "steps").get(id=target.id)
