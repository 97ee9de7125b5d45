"""Metrics: first-response times, weekly volumes, step durations, the people who speak."""
from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import (
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
)
from django.db.models.functions import TruncWeek
from django.utils import timezone

from accounts.models import User

from ..constants import EngagementStatus, InboundStatus, PostKind, PostState
from ..models import AuditEvent, Channel, Engagement, InboundMessage, Post
from ..permissions import organisation_q
from .channels import channels_visible, step_display_names


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


def metrics_compute(*, user: User, since: datetime | None = None, until: datetime | None = None,
                    channel: str | None = None, channels: list[Channel] | None = None) -> dict:
    """Per channel over [since, until): first-response time (median, p90 seconds), replies vs
    broadcasts, median seconds in each step, urgent bypass rate; plus weekly series."""
    until = until or timezone.now()
    since = since or until - timedelta(days=30)
    if channels is None:
        channels = list(channels_visible(user=user).filter(**({"slug": channel} if channel else {})))
    chan_ids = [c.id for c in channels]
    # Everything is counted in SQL, grouped by channel (and kind, urgency, week): the cost does
    # not grow with the number of posts in the window (issue 14). Only first-response times come
    # back one by one, because the API returns them.
    inbound_qs = InboundMessage.objects.filter(channel_id__in=chan_ids, received_at__gte=since, received_at__lt=until)
    inbound_counts: dict[int, dict[str, int]] = defaultdict(lambda: {"all": 0, "open": 0})
    for cid, status, n in inbound_qs.order_by().values_list("channel_id", "status").annotate(n=Count("id")):
        inbound_counts[cid]["all"] += n
        if status in (InboundStatus.NEW, InboundStatus.CLAIMED):
            inbound_counts[cid]["open"] += n
    frts: dict[int, list[float]] = defaultdict(list)
    for cid, secs in (
        inbound_qs.filter(first_response_at__isnull=False).order_by()
        .annotate(frt=ExpressionWrapper(F("first_response_at") - F("received_at"), output_field=DurationField()))
        .values_list("channel_id", "frt")
    ):
        frts[cid].append(secs.total_seconds())
    # Published posts of the organisation in the window (index post_org_published_idx), then
    # their channels: never a scan of every post-channel row.
    org_posts = Post.objects.filter(state=PostState.PUBLISHED, published_at__gte=since, published_at__lt=until)
    org_posts = org_posts.filter(organisation_q(user))
    links: QuerySet = Post.channels.through.objects.filter(channel_id__in=chan_ids, post__in=org_posts.values("id"))
    # Grouped from the posts' side (one pass over the window's posts by post_org_published_idx,
    # hashed against their channel rows) rather than one post lookup per channel row.
    grouped: list[tuple] = list(
        org_posts.filter(channels__in=chan_ids).order_by()
        .annotate(week=TruncWeek("published_at", tzinfo=timezone.get_current_timezone()))
        .values_list("channels", "kind", "urgent", "week").annotate(n=Count("id"))
    )
    step_durations = _step_durations_by_channel(links)
    engaged = _engagement_counts(chan_ids, since, until)
    result = []
    for chan in channels:
        frt = frts.get(chan.id, [])
        mine = [g for g in grouped if g[0] == chan.id]
        replies = sum(g[4] for g in mine if g[1] == PostKind.REPLY)
        broadcasts = sum(g[4] for g in mine if g[1] == PostKind.POST)
        urgent = sum(g[4] for g in mine if g[2])
        total = sum(g[4] for g in mine)
        weekly: dict[str, dict[str, int]] = defaultdict(lambda: {"replies": 0, "broadcasts": 0})
        for _cid, kind, _urgent, week, n in mine:
            if week is None:
                continue
            weekly[_week(week)]["replies" if kind == PostKind.REPLY else "broadcasts"] += n
        steps = step_durations.get(chan.id, {})
        result.append({
            "channel": chan.slug,
            "inbound": inbound_counts[chan.id]["all"],
            "unanswered": inbound_counts[chan.id]["open"],
            "first_response_seconds": {"count": len(frt), "median": _percentile(frt, 0.5), "p90": _percentile(frt, 0.9),
                                       "values": sorted(round(v, 1) for v in frt)},
            "replies": replies,
            "broadcasts": broadcasts,
            "engagements": {"like": engaged.get((chan.id, "like"), 0), "boost": engaged.get((chan.id, "boost"), 0)},
            "reply_ratio": round(replies / (replies + broadcasts), 3) if replies + broadcasts else None,
            "step_median_seconds": {name: round(statistics.median(v), 1) for name, v in sorted(steps.items())},
            "urgent": urgent,
            "urgent_bypass_rate": round(urgent / total, 3) if total else None,
            "weekly": [{"week": w, **counts} for w, counts in sorted(weekly.items())],
        })
    return {"since": since, "until": until, "channels": result}


def _engagement_counts(chan_ids: list[int], since: datetime, until: datetime) -> dict[tuple[int, str], int]:
    """Likes and boosts done on the platform in [since, until), per (channel, action): one query."""
    rows = (Engagement.objects.filter(channel_id__in=chan_ids, status=EngagementStatus.DONE,
                                      done_at__gte=since, done_at__lt=until)
            .values_list("channel_id", "action").annotate(n=Count("id")).order_by())
    return {(cid, action): n for cid, action, n in rows}


def engagement_get(*, engagement_id: int) -> Engagement:
    return Engagement.objects.select_related("channel").get(id=engagement_id)


_STEP_END_VERBS = {"step_entered", "approved_all", "changes_requested", "rejected", "withdrawn", "urgent_published"}


def _step_durations_by_channel(links: QuerySet) -> dict[int, dict[str, list[float]]]:
    """{channel_id: {step name: [seconds, ...]}} for the posts behind `links` (post-channel rows),
    from their audit trails; the posts are selected by a subquery, never a list of ids."""
    out: dict[int, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    channels_of: dict[int, list[int]] = defaultdict(list)
    durations = _step_durations(links.values("post_id"))
    if not durations:
        return out
    for pid, cid in links.filter(post_id__in=list(durations)).values_list("post_id", "channel_id"):
        channels_of[pid].append(cid)
    for pid, rows in durations.items():
        for cid in channels_of.get(pid, []):
            for name, secs in rows:
                out[cid][name].append(secs)
    return out


def _step_durations(post_ids: Iterable[int] | QuerySet) -> dict[int, list[tuple[str, float]]]:
    """Seconds each post spent in each step, from its audit trail."""
    out: dict[int, list[tuple[str, float]]] = defaultdict(list)
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


# --- people speak as themselves ------------------------------------------------------------

def conversation_voices(*, user: User, since: datetime, until: datetime, channel: str | None = None) -> dict:
    """Published replies over [since, until) per person (most first), and the share that went
    out under a person's name (their own account, or signed): counted in SQL."""
    chans = channels_visible(user=user).filter(**({"slug": channel} if channel else {}))
    # One query: a post counts once however many visible channels it went to (EXISTS, no
    # DISTINCT over the joined rows), grouped by author; the totals are the sums of the groups.
    on_channel = Post.channels.through.objects.filter(post_id=OuterRef("pk"), channel_id__in=chans.values("id"))
    replies = Post.objects.filter(
        kind=PostKind.REPLY, state=PostState.PUBLISHED, published_at__gte=since, published_at__lt=until,
    ).filter(Exists(on_channel))
    groups = list(
        replies.values("author_id", "author__username", "author__first_name", "author__last_name")
        .annotate(replies=Count("id"), named=Count("id", filter=Q(spoken_as_person=True)))
        .order_by("-replies", "author__username")
    )
    total = sum(r["replies"] for r in groups)
    named = sum(r["named"] for r in groups)
    rows = groups[:100]
    return {
        "replies": total,
        "named_replies": named,
        "named_share": round(named / total, 3) if total else None,
        "people": [{
            "username": r["author__username"],
            "name": f"{r['author__first_name']} {r['author__last_name']}".strip() or r["author__username"],
            "replies": r["replies"], "named_replies": r["named"],
        } for r in rows],
    }


@dataclass
class MetricsPage:
    data: dict[str, Any]
    frt_values: list[float]
    weeks: list[str]
    weekly: dict[str, dict[str, int]]
    #: {step name in the reader's language: the slowest channel's median seconds}
    step_seconds: dict[str, float]


def metrics_page(*, user: User) -> MetricsPage:
    """metrics_compute, totalled for the page: first-response times of every channel, replies
    and broadcasts per week, and each step's median (the slowest channel's), named in the
    reader's language; each channel gets its display name (`channel_name`)."""
    visible = list(channels_visible(user=user))
    data = metrics_compute(user=user, channels=visible)
    chans = data["channels"]
    weeks = sorted({w["week"] for c in chans for w in c["weekly"]})
    weekly = {w: {"replies": 0, "broadcasts": 0} for w in weeks}
    for c in chans:
        for w in c["weekly"]:
            weekly[w["week"]]["replies"] += w["replies"]
            weekly[w["week"]]["broadcasts"] += w["broadcasts"]
    steps: dict[str, list[float]] = {}
    for c in chans:
        for name, secs in c["step_median_seconds"].items():
            steps.setdefault(name, []).append(secs)
    # The metrics key steps by their recorded (English) name and channels by slug: show names.
    step_names = step_display_names(user=user)
    channel_names = {c.slug: c.name or c.handle for c in visible}
    for c in chans:
        c["channel_name"] = channel_names.get(c["channel"], c["channel"])
    return MetricsPage(
        data=data,
        frt_values=[v for c in chans for v in c["first_response_seconds"]["values"]],
        weeks=weeks, weekly=weekly,
        step_seconds={step_names.get(name, name): max(v) for name, v in sorted(steps.items())},
    )
