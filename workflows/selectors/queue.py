"""The approver queue: what waits for the user's decision, in due order."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import connection
from django.db.models import (
    BigIntegerField,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    QuerySet,
    Value,
)
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from accounts.models import User

from ..constants import PostState, ReviewStatus, Verdict
from ..models import Decision, Post, PostReview
from ..permissions import organisation_q
from .channels import _org_filter
from .posts import posts_visible_light


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
