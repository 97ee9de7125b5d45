"""Every read that needs permissions or prefetching. Lists are scoped to what the user may see
(the user's organisation) and declare their related loads, so a list's query count does not grow
with its length."""
from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import (
    BigIntegerField,
    Count,
    DateTimeField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
    prefetch_related_objects,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, Coalesce, TruncWeek
from django.utils import timezone

from accounts.models import Organisation, User

from ..constants import (
    ChannelPerm,
    EngagementStatus,
    InboundStatus,
    LaneKind,
    PostKind,
    PostState,
    PublicationStatus,
    ReviewKind,
    ReviewStatus,
    Verdict,
)
from ..exceptions import NotFound
from ..models import (
    AuditEvent,
    CaretakerPeriod,
    Channel,
    Decision,
    Engagement,
    HoldingReply,
    InboundMessage,
    Lane,
    LaneStep,
    Post,
    PostReview,
    PostRevision,
    PostText,
    Publication,
    WebhookSubscription,
)
from ..permissions import (
    channels_with_perm,
    ensure_can_manage_webhooks,
    organisation_q,
    sees_every_organisation,
)


def _org_filter(user: User) -> Q:
    return organisation_q(user)


def channels_visible(*, user: User) -> QuerySet[Channel]:
    return Channel.objects.filter(_org_filter(user)).order_by("slug")


def lanes_visible(*, user: User) -> QuerySet[Lane]:
    return (
        Lane.objects.filter(_org_filter(user))
        .select_related("organisation")
        .prefetch_related("steps__team", "guidelines")
        .order_by("slug")
    )


#: A post's texts as a transition reads them under its row lock (engine.load_texts) and as its
#: detail shows them: one definition.
def post_texts() -> Prefetch:
    return Prefetch("texts", queryset=PostText.objects.order_by("language"))


def _post_related() -> list[str | Prefetch]:
    """What a post's list row or detail shows beside the post: one definition."""
    return [
        "channels",
        post_texts(),
        Prefetch("decisions", queryset=Decision.objects.select_related("reviewer", "step").order_by("created_at", "id")),
        Prefetch("publications", queryset=Publication.objects.select_related("channel").order_by("channel_id", "language")),
    ]


def posts_visible(*, user: User) -> QuerySet[Post]:
    """Posts of the user's organisation with everything a list or detail shows, prefetched."""
    return (
        Post.objects.filter(_org_filter(user))
        .select_related("lane", "author", "current_step", "current_step__team", "in_reply_to")
        .prefetch_related(*_post_related())
        .order_by("-created_at", "-id")
    )


def posts_visible_light(*, user: User) -> QuerySet[Post]:
    """posts_visible without decisions and publications: what a queue row shows."""
    return (
        Post.objects.filter(_org_filter(user))
        .select_related("lane", "author", "current_step", "current_step__team")
        # A queue row names its channels (handle on the page, slug in the API): not their
        # configuration (JSON decoded per row otherwise).
        .prefetch_related(Prefetch("channels", queryset=Channel.objects.only("id", "slug", "handle")),
                          post_texts())
        .order_by("-created_at", "-id")
    )


def post_get_visible(*, post_id: int, user: User) -> Post:
    """One post the user may see, with what posts_visible loads (texts, channels, decisions with
    their reviewers and steps, publications with their channels); NotFound otherwise."""
    post = posts_visible(user=user).filter(id=post_id).prefetch_related(_open_reviews()).first()
    if post is None:
        raise NotFound(code="not_found.post")
    return post


def _open_reviews(*, none: bool = False) -> Prefetch:
    """A post's open reviews (what the `actions` field asks: services.actions.reviews_to_complete),
    as `post.open_reviews`."""
    qs = PostReview.objects.none() if none else PostReview.objects.filter(status=ReviewStatus.OPEN)
    return Prefetch("reviews", queryset=qs.select_related("team").order_by("created_at", "id"), to_attr="open_reviews")


def post_detail_of(post: Post) -> Post:
    """`post` as a service returned it (read under its row lock, in the request that changed it),
    with what its detail shows loaded as post_get_visible loads it: only what is not loaded yet
    is read (the texts and channels the transition read are kept). Publications and open reviews
    are not read when the lock found none (engine.post_lock_for_transition with `shown`: a
    transition that creates neither)."""
    related: list[str | Prefetch] = []
    for item in _post_related():
        if isinstance(item, Prefetch) and item.prefetch_to == "publications" and not getattr(
                post, "has_publications", True):
            item = Prefetch("publications", queryset=Publication.objects.none())
        related.append(item)
    related.append(_open_reviews(none=not getattr(post, "has_open_reviews", True)))
    prefetch_related_objects([post], *related)
    return post


def post_history(*, post_id: int, user: User) -> QuerySet[AuditEvent]:
    post_get_visible_light(post_id=post_id, user=user)
    return AuditEvent.objects.filter(post_id=post_id).select_related("actor").order_by("seq")


def post_get_visible_light(*, post_id: int, user: User) -> Post:
    post = Post.objects.filter(_org_filter(user), id=post_id).first()
    if post is None:
        raise NotFound(code="not_found.post")
    return post


def post_due_at(post: Post) -> datetime | None:
    if post.state == PostState.IN_REVIEW and post.current_step is not None and post.step_entered_at:
        return post.step_entered_at + post.current_step.sla
    return None


def inbox_visible(*, user: User) -> QuerySet[InboundMessage]:
    return (
        InboundMessage.objects.filter(_org_filter(user))
        .select_related("channel", "assignee")
        .order_by("-received_at", "-id")
    )


def inbound_get_visible(*, inbound_id: int, user: User) -> InboundMessage:
    msg = inbox_visible(user=user).filter(id=inbound_id).first()
    if msg is None:
        raise NotFound(code="not_found.message")
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


_FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)
#: Columns a queue row never shows (the page, home and the API): not fetched, and their JSON not
#: decoded 50 times a page (issue 14, round 4).
_QUEUE_ROW_UNUSED = ("checks", "escalation", "escalation_reason", "urgent_reason", "audit_head",
                     "lane__required_languages")


class QueueList:
    """What waits for a user, as one SQL query ordered and paginated in the database: a UNION of
    posts waiting on a step of one of the user's teams and open reviews after the fact, each row
    (kind, post id, due, review id). Slicing runs LIMIT/OFFSET and then loads only that page's
    posts (a fixed number of queries, whatever the page's length); `count()` is a COUNT(*).
    Django's Paginator and DRF's pagination take it like a queryset."""

    ordered = True

    def __init__(self, rows: QuerySet | None, *, user: User) -> None:
        self.rows = rows
        self.user = user

    def count(self) -> int:
        return self.rows.count() if self.rows is not None else 0

    def __len__(self) -> int:
        return self.count()

    def __bool__(self) -> bool:
        return self.rows is not None and self.rows.exists()

    def __iter__(self) -> Iterator[QueueItem]:
        return iter(self[0:self.count()])

    def __getitem__(self, key: int | slice) -> Any:  # QueueItem for an index, a list for a slice
        if isinstance(key, int):
            items = self[key:key + 1]
            if not items:
                raise IndexError(key)
            return items[0]
        if self.rows is None:
            return []
        return self._hydrate(list(self.rows[key]))

    def _hydrate(self, rows: list[tuple]) -> list[QueueItem]:
        if not rows:
            return []
        posts = {p.id: p for p in posts_visible_light(user=self.user).filter(id__in={r[1] for r in rows})
                 .defer(*_QUEUE_ROW_UNUSED)}
        review_ids = {r[3] for r in rows if r[3] is not None}
        # Always one query, even with no review on the page: the count never depends on the mix.
        # A row names its review by id only.
        reviews = {r.id: r for r in PostReview.objects.filter(id__in=review_ids).only("id")}
        items = []
        for kind, post_id, due, review_id, _created, _id in rows:
            post = posts.get(post_id)
            if post is None:  # gone between the two queries
                continue
            review = reviews.get(review_id) if review_id is not None else None
            items.append(QueueItem(kind=kind, post=post, due_at=None if due == _FAR_FUTURE else due, review=review))
        return items


def queue_for(*, user: User, kind: str = "", channel: str = "", sort: str = "due") -> QueueList:
    """What waits for `user`, most overdue first (or newest / oldest post first): steps where they
    are on the team and have not yet decided (not their own posts), translations to provide,
    reviews after the fact. Filtered, ordered and paginated in SQL (see QueueList)."""
    # The user's teams as a subquery, not a statement of their own (issue 14: one less per list).
    group_ids = user.groups.through.objects.filter(user_id=user.id).values("group_id")
    decided = Decision.objects.filter(
        post=OuterRef("pk"), step=OuterRef("current_step"), reviewer=user.id,
        verdict=Verdict.APPROVE, invalidated_at__isnull=True,
    )
    far = Value(_FAR_FUTURE, output_field=DateTimeField())
    steps = (
        Post.objects.filter(_org_filter(user), state=PostState.IN_REVIEW, current_step__team__group_id__in=group_ids)
        .exclude(author=user.id)
        .exclude(Exists(decided))
    )
    reviews = (
        PostReview.objects.filter(organisation_q(user, field="post__organisation_id"), status=ReviewStatus.OPEN,
                                  team__group_id__in=group_ids)
        .exclude(post__author=user.id)
    )
    if connection.vendor == "postgresql":
        reviews = reviews.exclude(excluded_users__contains=[user.id])
    else:  # SQLite has no JSON containment: ask json_each
        reviews = reviews.extra(where=[
            "NOT EXISTS (SELECT 1 FROM json_each(workflows_postreview.excluded_users) WHERE value = %s)"
        ], params=[user.id])
    if kind:
        steps = steps.filter(current_step__kind=kind)
        reviews = reviews.filter(kind=kind)
    if channel:
        steps = steps.filter(channels__slug=channel)
        reviews = reviews.filter(post__channels__slug=channel)
    step_rows = steps.annotate(
        q_kind=F("current_step__kind"), q_post=F("id"),
        q_due=Coalesce(ExpressionWrapper(F("step_entered_at") + F("current_step__sla"),
                                         output_field=DateTimeField()), far),
        q_review=Cast(Value(None), BigIntegerField()), q_created=F("created_at"), q_id=F("id"),
    ).order_by().values_list("q_kind", "q_post", "q_due", "q_review", "q_created", "q_id")
    review_rows = reviews.annotate(
        q_kind=F("kind"), q_post=F("post_id"), q_due=Coalesce(F("due_at"), far),
        q_review=F("id"), q_created=F("post__created_at"), q_id=F("post_id"),
    ).order_by().values_list("q_kind", "q_post", "q_due", "q_review", "q_created", "q_id")
    rows: QuerySet
    if kind in {"spot_check", "retrospective"}:
        rows = review_rows
    elif kind:
        rows = step_rows
    else:
        rows = step_rows.union(review_rows, all=True)
    if sort == "newest":
        rows = rows.order_by("-q_created", "-q_id", "q_review")
    elif sort == "oldest":
        rows = rows.order_by("q_created", "q_id", "q_review")
    else:
        rows = rows.order_by("q_due", "q_post", "q_review")
    return QueueList(rows, user=user)


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


def webhooks_visible(*, user: User) -> QuerySet:
    """The caller's organisation's webhook subscriptions; only for those who may manage them
    (raises NotPermitted otherwise)."""
    ensure_can_manage_webhooks(user=user)
    return (
        WebhookSubscription.objects.filter(_org_filter(user))
        .select_related("created_by")
        .order_by("id")
    )


def webhook_get_visible(*, webhook_id: int, user: User) -> WebhookSubscription:
    """One subscription of the caller's organisation: NotFound for another's, then NotPermitted."""
    hook = WebhookSubscription.objects.filter(_org_filter(user), id=webhook_id).select_related("created_by").first()
    if hook is None:
        raise NotFound(code="not_found.webhook")
    ensure_can_manage_webhooks(user=user)
    return hook


# --- caretaker periods ---------------------------------------------------------------------

#: Deepest organisation tree walked (a guard against a parent cycle entered in the admin).
ORG_MAX_DEPTH = 20


def organisation_lineage(organisation_id: int) -> list[int]:
    """The organisation and its ancestors (parents define periods their children inherit)."""
    ids: list[int] = []
    current: int | None = organisation_id
    while current is not None and current not in ids and len(ids) < ORG_MAX_DEPTH:
        ids.append(current)
        current = Organisation.objects.filter(id=current).values_list("parent_id", flat=True).first()
    return ids


#: Levels of parents a period is inherited through when read in one query.
ORG_INHERIT_DEPTH = 6


#: The organisation and its ancestors, up to ORG_INHERIT_DEPTH of them: a recursive walk up the
#: parent links inside the one statement that uses it.
_LINEAGE_SQL = (
    "WITH RECURSIVE parley_lineage(id, parent_id, depth) AS ("
    " SELECT id, parent_id, 1 FROM {table} WHERE id = %s"
    " UNION ALL SELECT o.id, o.parent_id, l.depth + 1 FROM {table} AS o"
    " JOIN parley_lineage AS l ON o.id = l.parent_id WHERE l.depth < %s"
    ") SELECT id FROM parley_lineage"
)


def inherited_from_q(organisation_id: int, *, field: str = "organisation") -> Q:
    """A filter for rows belonging to the organisation or one of its ancestors (up to
    ORG_INHERIT_DEPTH levels), in the same query: `field_id IN (a recursive walk up the parents)`
    (issue 14: it was a join per level with a DISTINCT, several ms to build and plan, on every
    reply's submit and every page's caretaker banner)."""
    sql = _LINEAGE_SQL.format(table=Organisation._meta.db_table)
    # The SQL is a constant (the table name from the model); the id and the depth are bound parameters.
    return Q(**{f"{field}_id__in": RawSQL(sql, (organisation_id, ORG_INHERIT_DEPTH))})  # noqa: S611  # nosec B611


def organisation_descendants(organisation_id: int) -> list[int]:
    """The organisation and every organisation under it."""
    ids = [organisation_id]
    frontier = [organisation_id]
    for _depth in range(ORG_MAX_DEPTH):
        frontier = list(Organisation.objects.filter(parent_id__in=frontier).exclude(id__in=ids).values_list("id", flat=True))
        if not frontier:
            break
        ids.extend(frontier)
    return ids


def caretaker_periods_visible(*, user: User) -> QuerySet:
    """The periods that apply to the caller's organisation (its own and its ancestors'), newest
    first; the platform's operator (a superuser outside any organisation) sees every one."""
    qs = CaretakerPeriod.objects.select_related("organisation", "review_lane").prefetch_related("paused_channels")
    if sees_every_organisation(user):
        return qs.order_by("-starts_at", "-id")
    if user.organisation_id is None:
        return qs.none()
    return qs.filter(organisation_id__in=organisation_lineage(user.organisation_id)).order_by("-starts_at", "-id")


def posts_held_by_caretaker(*, user: User, post_ids: Iterable[int]) -> list[Post]:
    """The visible posts among `post_ids` (those a new period just held), soonest due first."""
    return list(posts_visible(user=user).filter(id__in=list(post_ids)).order_by("scheduled_at", "id"))


def caretaker_period_get_visible(*, period_id: int, user: User) -> CaretakerPeriod:
    period = caretaker_periods_visible(user=user).filter(id=period_id).first()
    if period is None:
        raise NotFound(code="caretaker.not_found")
    return period


def caretaker_period_current(*, user: User) -> CaretakerPeriod | None:
    """The period in force now for the caller's organisation (for the banner), or None."""
    if user.organisation_id is None:
        return None
    now = timezone.now()
    return CaretakerPeriod.objects.filter(
        inherited_from_q(user.organisation_id), cancelled_at__isnull=True, starts_at__lte=now, ends_at__gt=now,
    ).order_by("starts_at", "id").first()


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
def inbound_last_event(*, inbound_id: int, verb: str) -> AuditEvent | None:
    """The latest audit event of this verb on a citizen message (e.g. why it was dismissed)."""
    return (AuditEvent.objects.filter(inbound_id=inbound_id, verb=verb).select_related("actor")
            .order_by("-seq").first())


def posts_publishing_problems(*, user: User) -> QuerySet[Post]:
    """Posts whose publishing failed or whose outcome is unknown (some language not live), newest
    first — for the home page of their author and of whoever may publish them."""
    bad = Publication.objects.filter(post=OuterRef("pk"), status__in=[PublicationStatus.FAILED, PublicationStatus.UNKNOWN])
    return posts_visible(user=user).filter(Q(state=PostState.FAILED) | Q(Exists(bad))).order_by("-updated_at", "-id")


def lane_step_counts(*, lane_ids: Iterable[int]) -> dict[int, int]:
    """{lane_id: number of steps}, in one query (the queue's "step 2 of 3")."""
    return dict(LaneStep.objects.filter(lane_id__in=set(lane_ids)).order_by().values("lane_id")
                .annotate(n=Count("id")).values_list("lane_id", "n"))


def step_display_names(*, user: User) -> dict[str, str]:
    """{recorded step name (English, or an old key such as "sign_off"): the name in the active
    language} for the steps of the user's organisation's lanes."""
    names: dict[str, str] = {}
    for step in LaneStep.objects.filter(lane__in=lanes_visible(user=user).values("id")):
        for key in (getattr(step, "name_en", ""), getattr(step, "name_fr", ""), step.kind):
            if key:
                names.setdefault(key, step.name)
    return names


# --- the web pages' reads (the views only shape what these return) -------------------------

#: What "open" means in the inbox: not yet answered or closed.
INBOX_OPEN = (InboundStatus.NEW, InboundStatus.CLAIMED)
_NOT_SENT_YET = (PostState.DRAFT, PostState.CHANGES_REQUESTED)


@dataclass
class HomeSummary:
    drafts: QuerySet[Post]
    recent: QuerySet[Post]
    inbox_new: int
    inbox_claimed: int
    claimed: list[InboundMessage]


def home_for(*, user: User, list_size: int, recent_size: int = 10, claimed_size: int = 20) -> HomeSummary:
    """The home page's lists: the user's drafts and recent posts, the inbox counts and what they
    claimed. Every list is a LIMIT in SQL: the page costs the same whatever the user has."""
    posts = posts_visible_light(user=user).filter(author=user.id)  # a summary line: texts, no decisions
    counts = dict(inbox_visible(user=user).order_by().values_list("status").annotate(n=Count("id")))
    return HomeSummary(
        drafts=posts.filter(state__in=_NOT_SENT_YET)[:list_size],
        recent=posts.exclude(state__in=_NOT_SENT_YET)[:recent_size],
        inbox_new=counts.get(InboundStatus.NEW, 0),
        inbox_claimed=counts.get(InboundStatus.CLAIMED, 0),
        claimed=list(inbox_visible(user=user).filter(status=InboundStatus.CLAIMED, assignee=user.id)[:claimed_size]),
    )


def inbox_filtered(*, user: User, channel: str = "", status: str = "") -> QuerySet[InboundMessage]:
    """The inbox for one channel (slug; "" for all) and status ("all", one status, or "" for
    the open ones), newest first; the edge pages it."""
    qs = inbox_visible(user=user)
    if channel:
        qs = qs.filter(channel__slug=channel)
    if status == "all":
        return qs
    if status:
        return qs.filter(status=status)
    return qs.filter(status__in=INBOX_OPEN)


def inbox_overdue_before(*, user: User) -> datetime | None:
    """Open messages received before this moment are past the conversation lane's response
    time (the inbox flags them "Overdue"); None when the organisation sets no response time."""
    if user.organisation_id is None:
        return None
    sla = (Lane.objects.filter(organisation_id=user.organisation_id, kind=LaneKind.CONVERSATION)
           .exclude(response_sla=None).order_by("id").values_list("response_sla", flat=True).first())
    return timezone.now() - sla if sla else None


def inbox_counts_by_channel(*, user: User) -> list[tuple[str, list[int]]]:
    """[(channel handle, [count per status, in InboundStatus order])], by handle: one query."""
    counts: dict[str, dict[str, int]] = {}
    for handle, status, n in (inbox_visible(user=user).order_by()
                              .values_list("channel__handle", "status").annotate(n=Count("id"))):
        counts.setdefault(handle, {})[status] = n
    return [(handle, [counts[handle].get(st, 0) for st in InboundStatus.values]) for handle in sorted(counts)]


def engagements_by_action(*, inbound_id: int) -> dict[str, Engagement]:
    """{action: the engagement} already asked on one citizen message (like, boost)."""
    return {e.action: e for e in Engagement.objects.filter(inbound_id=inbound_id)}


def holding_replies_for(*, organisation_id: int) -> list[HoldingReply]:
    """The organisation's prepared holding replies (the reply form offers them)."""
    return list(HoldingReply.objects.filter(organisation_id=organisation_id))


def replies_to(*, inbound_id: int, user: User) -> QuerySet[Post]:
    """The visible replies drafted to one citizen message."""
    return posts_visible(user=user).filter(in_reply_to=inbound_id)


def post_revisions(*, post: Post) -> list[PostRevision]:
    """The post's revisions, oldest first, with who made each."""
    return list(post.revisions.order_by("number").select_related("created_by"))


def post_open_reviews(*, post: Post) -> QuerySet[PostReview]:
    """Reviews after the fact still open on this post, with their team."""
    return post.reviews.filter(status=ReviewStatus.OPEN).select_related("team")


def post_review_ids(*, post: Post) -> list[int]:
    return list(post.reviews.values_list("id", flat=True))


def post_open_retrospective(*, post_id: int) -> PostReview | None:
    """The open retrospective review an urgent publication opened (with its team), if any."""
    return (PostReview.objects.filter(post_id=post_id, kind=ReviewKind.RETROSPECTIVE, status=ReviewStatus.OPEN)
            .select_related("team").order_by("-id").first())


def post_voided_decision_ids(*, post_id: int, user: User, after_seq: int) -> list[int]:
    """Ids of the approvals voided by the edits and translations recorded after `after_seq`."""
    voided: list[int] = []
    for data in (post_history(post_id=post_id, user=user)
                 .filter(seq__gt=after_seq, verb__in=["edited", "translated"]).values_list("data", flat=True)):
        voided += data.get("voided_decisions") or []
    return voided


def channels_draftable(*, user: User) -> QuerySet[Channel]:
    """Visible, open (is_active) channels on which `user` may draft, by slug."""
    ids = channels_visible(user=user).filter(is_active=True).values_list("id", flat=True)
    return channels_with_perm(user=user, codename=ChannelPerm.DRAFT, channel_ids=ids).order_by("slug")


def channels_of_own_organisation(*, user: User) -> QuerySet[Channel]:
    """The channels of the user's own organisation (what a caretaker period may pause)."""
    if user.organisation_id is None:
        return Channel.objects.none()
    return Channel.objects.filter(organisation_id=user.organisation_id).order_by("slug")


def personal_channels_of(*, user: User) -> list[Channel]:
    """The active channels that speak as this person."""
    return list(user.personal_channels.filter(is_active=True).order_by("slug"))


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


# --- access-to-information exports (issue 13) ---

def atip_channels_exportable(*, organisations: Iterable[Organisation]) -> QuerySet[Channel]:
    """The channels of `organisations` (what atip_organisations_exportable gave), in the order the
    export form lists them."""
    return (Channel.objects.filter(organisation__in=list(organisations)).select_related("organisation")
            .order_by("organisation__name", "slug"))


def atip_organisations_exportable(*, user: User) -> QuerySet[Any]:
    """Organisations `user` may export from: with the `workflows.export_records` permission
    (given to a team's group or to the person), their own organisation and every one under it;
    a superuser, any. Nobody else's."""
    from accounts.models import Organisation

    from ..permissions import may_export, sees_every_organisation

    if not may_export(user):
        return Organisation.objects.none()
    if sees_every_organisation(user):
        return Organisation.objects.order_by("name")
    if user.organisation_id is None:
        return Organisation.objects.none()
    return Organisation.objects.filter(id__in=organisation_descendants(user.organisation_id)).order_by("name")


def atip_exports_visible(*, user: User) -> QuerySet[Any]:
    """The exports the caller asked for, newest first. An export holds citizens' personal data:
    nobody else sees it or downloads it — not a colleague, not a superuser (docs/atip.md; issue
    20). The admin lists exports' metadata read-only, never their files."""
    from ..models import AtipExport

    qs = AtipExport.objects.select_related("organisation", "requested_by").prefetch_related("channels")
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    return qs.filter(requested_by_id=user.id).order_by("-created_at", "-id")


def atip_export_get_visible(*, export_id: int, user: User) -> Any:
    export = atip_exports_visible(user=user).filter(id=export_id).first()
    if export is None:
        raise NotFound(code="atip.not_found")
    return export
