"""Every read that needs permissions or prefetching. Lists are scoped to what the user may see
(the user's organisation) and declare their related loads, so a list's query count does not grow
with its length."""
from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import (
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
)
from django.utils import timezone

from .constants import InboundStatus, PostKind, PostState, ReviewStatus, StepKind, Verdict
from .exceptions import NotFound
from .models import (
    AuditEvent,
    Channel,
    Decision,
    InboundMessage,
    Lane,
    Post,
    PostReview,
    PostText,
    Publication,
)


def _org_filter(user) -> Q:
    if user.is_superuser and user.organisation_id is None:
        return Q()
    return Q(organisation_id=user.organisation_id)


def channels_visible(*, user) -> QuerySet[Channel]:
    return Channel.objects.filter(_org_filter(user)).order_by("slug")


def lanes_visible(*, user) -> QuerySet[Lane]:
    return (
        Lane.objects.filter(_org_filter(user))
        .select_related("organisation")
        .prefetch_related("steps__team", "guidelines")
        .order_by("slug")
    )


def posts_visible(*, user) -> QuerySet[Post]:
    """Posts of the user's organisation with everything a list or detail shows, prefetched."""
    return (
        Post.objects.filter(_org_filter(user))
        .select_related("lane", "author", "current_step", "current_step__team", "in_reply_to")
        .prefetch_related(
            "channels",
            Prefetch("texts", queryset=PostText.objects.order_by("language")),
            Prefetch("decisions", queryset=Decision.objects.select_related("reviewer", "step").order_by("created_at", "id")),
            Prefetch("publications", queryset=Publication.objects.select_related("channel").order_by("channel_id", "language")),
        )
        .order_by("-created_at", "-id")
    )


def post_get_visible(*, post_id: int, user) -> Post:
    post = posts_visible(user=user).filter(id=post_id).first()
    if post is None:
        raise NotFound("No such post.")
    return post


def post_history(*, post_id: int, user) -> QuerySet[AuditEvent]:
    post_get_visible_light(post_id=post_id, user=user)
    return AuditEvent.objects.filter(post_id=post_id).select_related("actor").order_by("seq")


def post_get_visible_light(*, post_id: int, user) -> Post:
    post = Post.objects.filter(_org_filter(user), id=post_id).first()
    if post is None:
        raise NotFound("No such post.")
    return post


def post_due_at(post: Post) -> datetime | None:
    if post.state == PostState.IN_REVIEW and post.current_step is not None and post.step_entered_at:
        return post.step_entered_at + post.current_step.sla
    return None


def inbox_visible(*, user) -> QuerySet[InboundMessage]:
    return (
        InboundMessage.objects.filter(_org_filter(user))
        .select_related("channel", "assignee")
        .order_by("-received_at", "-id")
    )


def inbound_get_visible(*, inbound_id: int, user) -> InboundMessage:
    msg = inbox_visible(user=user).filter(id=inbound_id).first()
    if msg is None:
        raise NotFound("No such message.")
    return msg


@dataclass
class QueueItem:
    kind: str  # review | translation | sign_off | spot_check | retrospective
    post: Post
    due_at: datetime | None
    review: PostReview | None = None

    @property
    def overdue(self) -> bool:
        return self.due_at is not None and self.due_at < timezone.now()


def queue_for(*, user) -> list[QueueItem]:
    """What waits for `user`, most overdue first: steps where they are on the team and have not
    yet decided (not their own posts), translations to provide, reviews after the fact."""
    group_ids = list(user.groups.values_list("id", flat=True))
    if not group_ids and not user.is_superuser:
        return []
    decided = Decision.objects.filter(
        post=OuterRef("pk"), step=OuterRef("current_step"), reviewer=user.id,
        verdict=Verdict.APPROVE, invalidated_at__isnull=True,
    )
    posts = (
        posts_visible(user=user)
        .filter(state=PostState.IN_REVIEW, current_step__team__group_id__in=group_ids)
        .exclude(author=user.id)
        .exclude(Exists(decided))
        .annotate(due=ExpressionWrapper(F("step_entered_at") + F("current_step__sla"), output_field=DateTimeField()))
    )
    items = [QueueItem(kind=p.current_step.kind if p.current_step else "", post=p, due_at=p.due) for p in posts]
    reviews = (
        PostReview.objects.filter(status=ReviewStatus.OPEN, post__organisation_id=user.organisation_id)
        .filter(Q(team__group_id__in=group_ids))
        .exclude(post__author=user.id)
        .select_related("post", "post__lane", "post__author")
        .prefetch_related("post__texts", "post__channels")
    )
    for review in reviews:
        if user.id in (review.excluded_users or []):
            continue
        items.append(QueueItem(kind=review.kind, post=review.post, due_at=review.due_at, review=review))
    far = timezone.now() + timedelta(days=36500)
    items.sort(key=lambda i: (i.due_at or far, i.post.id))
    return items


def _percentile(values: list[float], pct: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    k = (len(values) - 1) * pct
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return round(values[lo] + (values[hi] - values[lo]) * (k - lo), 1)


def _week(dt: datetime) -> str:
    iso = timezone.localtime(dt).isocalendar()
    return f"{iso[0]}-W{iso[1]:02d}"


def metrics_compute(*, user, since: datetime | None = None, until: datetime | None = None,
                    channel: str | None = None) -> dict:
    """Per channel over [since, until): first-response time (median, p90 seconds), replies vs
    broadcasts, median seconds in each step, urgent bypass rate; plus weekly series."""
    until = until or timezone.now()
    since = since or until - timedelta(days=30)
    channels = list(channels_visible(user=user).filter(**({"slug": channel} if channel else {})))
    chan_ids = [c.id for c in channels]
    inbound = list(
        InboundMessage.objects.filter(channel_id__in=chan_ids, received_at__gte=since, received_at__lt=until)
        .values_list("channel_id", "received_at", "first_response_at", "status")
    )
    published = list(
        Post.objects.filter(channels__in=chan_ids, state=PostState.PUBLISHED, published_at__gte=since, published_at__lt=until)
        .values_list("id", "channels", "kind", "urgent", "published_at")
    )
    post_ids = {p[0] for p in published}
    step_durations = _step_durations(post_ids)
    engaged = _engagement_counts(chan_ids, since, until)
    result = []
    for chan in channels:
        frt = [(r[2] - r[1]).total_seconds() for r in inbound if r[0] == chan.id and r[2]]
        mine = [p for p in published if p[1] == chan.id]
        replies = sum(1 for p in mine if p[2] == PostKind.REPLY)
        broadcasts = sum(1 for p in mine if p[2] == PostKind.POST)
        urgent = sum(1 for p in mine if p[3])
        steps: dict[str, list[float]] = defaultdict(list)
        for pid in {p[0] for p in mine}:
            for name, secs in step_durations.get(pid, []):
                steps[name].append(secs)
        weekly: dict[str, dict[str, int]] = defaultdict(lambda: {"replies": 0, "broadcasts": 0})
        for p in mine:
            if p[4] is None:
                continue
            weekly[_week(p[4])]["replies" if p[2] == PostKind.REPLY else "broadcasts"] += 1
        result.append({
            "channel": chan.slug,
            "inbound": sum(1 for r in inbound if r[0] == chan.id),
            "unanswered": sum(1 for r in inbound if r[0] == chan.id and r[3] in (InboundStatus.NEW, InboundStatus.CLAIMED)),
            "first_response_seconds": {"count": len(frt), "median": _percentile(frt, 0.5), "p90": _percentile(frt, 0.9),
                                       "values": sorted(round(v, 1) for v in frt)},
            "replies": replies,
            "broadcasts": broadcasts,
            "engagements": {"like": engaged.get((chan.id, "like"), 0), "boost": engaged.get((chan.id, "boost"), 0)},
            "reply_ratio": round(replies / (replies + broadcasts), 3) if replies + broadcasts else None,
            "step_median_seconds": {name: round(statistics.median(v), 1) for name, v in sorted(steps.items())},
            "urgent": urgent,
            "urgent_bypass_rate": round(urgent / len(mine), 3) if mine else None,
            "weekly": [{"week": w, **counts} for w, counts in sorted(weekly.items())],
        })
    return {"since": since, "until": until, "channels": result}


def _engagement_counts(chan_ids: list[int], since: datetime, until: datetime) -> dict[tuple[int, str], int]:
    """Likes and boosts done on the platform in [since, until), per (channel, action): one query."""
    from django.db.models import Count

    from .constants import EngagementStatus
    from .models import Engagement

    rows = (Engagement.objects.filter(channel_id__in=chan_ids, status=EngagementStatus.DONE,
                                      done_at__gte=since, done_at__lt=until)
            .values_list("channel_id", "action").annotate(n=Count("id")).order_by())
    return {(cid, action): n for cid, action, n in rows}


def engagement_get(*, engagement_id: int):
    from .models import Engagement

    return Engagement.objects.select_related("channel").get(id=engagement_id)


_STEP_END_VERBS = {"step_entered", "approved_all", "changes_requested", "rejected", "withdrawn", "urgent_published"}


def _step_durations(post_ids: set[int]) -> dict[int, list[tuple[str, float]]]:
    """Seconds each post spent in each step, from its audit trail."""
    out: dict[int, list[tuple[str, float]]] = defaultdict(list)
    if not post_ids:
        return out
    current: dict[int, tuple[str, datetime]] = {}
    for pid, verb, data, at in (
        AuditEvent.objects.filter(post_id__in=post_ids, verb__in=_STEP_END_VERBS)
        .order_by("post_id", "seq").values_list("post_id", "verb", "data", "created_at")
    ):
        if pid in current:
            name, started = current.pop(pid)
            out[pid].append((name, (at - started).total_seconds()))
        if verb == "step_entered":
            current[pid] = (data.get("step", "?"), at)
    return out


STEP_KINDS = StepKind


def webhooks_visible(*, user) -> QuerySet:
    """The caller's organisation's webhook subscriptions; only for those who may manage them
    (raises NotPermitted otherwise)."""
    from .models import WebhookSubscription
    from .services.webhook_subscriptions import ensure_can_manage_webhooks

    ensure_can_manage_webhooks(user=user)
    return (
        WebhookSubscription.objects.filter(_org_filter(user))
        .select_related("created_by")
        .order_by("id")
    )


def webhook_get_visible(*, webhook_id: int, user):
    """One subscription of the caller's organisation: NotFound for another's, then NotPermitted."""
    from .models import WebhookSubscription
    from .services.webhook_subscriptions import ensure_can_manage_webhooks

    hook = WebhookSubscription.objects.filter(_org_filter(user), id=webhook_id).select_related("created_by").first()
    if hook is None:
        raise NotFound("No such webhook.")
    ensure_can_manage_webhooks(user=user)
    return hook
