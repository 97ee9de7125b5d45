"""Lanes: which lane a post goes to (routing and escalation), which languages it needs, and
where its languages go (plan_publications).

The one home of these rules: post_create and post_submit, the preview as you type, the post
page and the translation step all ask here."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import QuerySet

from .. import guidelines
from ..constants import InboundMedium, InboundSource, LaneKind, PostKind
from ..exceptions import InvalidInput
from ..messages import Message
from ..models import Channel, EscalationRule, InboundMessage, Lane, Post


def reply_language(post: Post, lane: Lane | None = None) -> str | None:
    """The citizen's language a reply to their message answers in, whatever the lane (an
    escalated reply too: the Official Languages Act asks for an answer in the language of the
    inquiry), or None when the post answers no message or the message's language is unknown."""
    msg: InboundMessage | None = post.in_reply_to if post.in_reply_to_id else None
    if msg is not None:
        return msg.language or None
    return None


def required_languages(post: Post, lane: Lane | None = None) -> list[str]:
    """The languages a post must have: the lane's required languages, except for a reply to a
    citizen message in a known language, which needs that language and no other (it goes out
    only in the citizen's language: publishing.plan_publications)."""
    lane = lane or post.lane
    citizen = reply_language(post, lane)
    if citizen:
        return [citizen]
    return list(lane.required_languages or [])


def missing_languages(post: Post, have: Iterable[str]) -> list[str]:
    """The required languages not among `have`, in the lane's order."""
    present = set(have)
    return [lang for lang in required_languages(post) if lang not in present]

LANGUAGE_ORDER = ("en", "fr")


@dataclass(frozen=True)
class PublishPlan:
    """Where a post goes: `targets` [(channel, language)], one Publication each; `dropped`, the
    languages of the post that would not go out; `offline`, for a reply to a message received by
    phone or e-mail, the way it goes back instead of any platform (InboundMedium)."""

    targets: list[tuple[Channel, str]] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    offline: str = ""


def plan_publications(post: Post, *, channels: list[Channel], languages: Iterable[str]) -> PublishPlan:
    """The one rule for where a post's languages go (planning, the checks at create/edit/submit,
    and the start of publishing all ask here):
    - a reply to a message received by phone or e-mail goes back that way (e-mail or call-back),
      never to a platform;
    - a reply to a message heard on a platform goes back on the message's channel, whatever
      languages that channel broadcasts in, in the citizen's language only (every language of
      the reply when the citizen's is unknown);
    - anything else: each channel in each language it speaks that the post has."""
    langs = [lang for lang in LANGUAGE_ORDER if lang in set(languages)]
    inbound: InboundMessage | None = post.in_reply_to if post.in_reply_to_id else None
    if inbound is not None and post.kind == PostKind.REPLY:
        citizen = reply_language(post)
        dropped = [lang for lang in langs if citizen and lang != citizen]
        kept = [lang for lang in langs if lang not in dropped]
        if inbound.source == InboundSource.MANUAL:
            # By e-mail when it came by e-mail with an address; else a call-back (a phone message,
            # or an e-mail logged without an address before addresses were asked for).
            email = inbound.medium == InboundMedium.EMAIL and bool(inbound.contact)
            return PublishPlan(dropped=dropped, offline=InboundMedium.EMAIL if email else InboundMedium.PHONE)
        chan = next((c for c in channels if c.id == inbound.channel_id), None) or inbound.channel
        return PublishPlan(targets=[(chan, lang) for lang in kept], dropped=dropped)
    targets = [(c, lang) for c in channels for lang in c.languages if lang in langs]
    covered = {lang for _, lang in targets}
    return PublishPlan(targets=targets, dropped=[lang for lang in langs if lang not in covered])


def channel_languages(post: Post, channels: Iterable[Channel]) -> dict[int, tuple[str, ...]]:
    """{channel id: the languages of `post` it would publish} — what the length rule measures
    against each channel's limit (a French reply on the English account is French there)."""
    chans = list(channels)
    plan = plan_publications(post, channels=chans, languages=LANGUAGE_ORDER)
    out: dict[int, tuple[str, ...]] = {c.id: () for c in chans}
    for chan, lang in plan.targets:
        out[chan.id] = (*out.get(chan.id, ()), lang)
    return out


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


def lane_escalations(lane: Lane) -> list[EscalationRule]:
    """The lane's escalation rules: prefetched ones when the caller has them, else read now."""
    return list(lane.escalations.all())


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
