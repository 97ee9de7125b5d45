"""Posts the user may see: lists, one post, its detail, history and revisions."""
from __future__ import annotations

from datetime import datetime

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, prefetch_related_objects

from accounts.models import User

from ..constants import PostState, PublicationStatus, ReviewKind, ReviewStatus
from ..exceptions import NotFound
from ..models import (
    AuditEvent,
    Channel,
    Decision,
    Post,
    PostMedium,
    PostReview,
    PostRevision,
    PostText,
    Publication,
)
from .channels import _org_filter


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
    their reviewers and steps, publications with their channels) and its media; NotFound
    otherwise. Whether it has media is read with the post: none, no query for them."""
    post = (posts_visible(user=user).filter(id=post_id).prefetch_related(_open_reviews())
            .annotate(has_media=Exists(PostMedium.objects.filter(post=OuterRef("pk")))).first())
    if post is None:
        raise NotFound(code="not_found.post")
    prefetch_related_objects([post], post_media(none=not post.has_media))
    return post


def _open_reviews(*, none: bool = False) -> Prefetch:
    """A post's open reviews (what the `actions` field asks: services.actions.reviews_to_complete),
    as `post.open_reviews`."""
    qs = PostReview.objects.none() if none else PostReview.objects.filter(status=ReviewStatus.OPEN)
    return Prefetch("reviews", queryset=qs.select_related("team").order_by("created_at", "id"), to_attr="open_reviews")


def post_media(*, none: bool = False) -> Prefetch:
    """A post's media with their files' facts, in order, as `post.media_list` (the detail's
    `media`; issue 22)."""
    qs = PostMedium.objects.none() if none else PostMedium.objects.select_related("medium")
    return Prefetch("media", queryset=qs.order_by("position", "id"), to_attr="media_list")


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
    # The lock read the media when current (engine.post_lock_for_transition): none, none to read.
    related.append(post_media(none=getattr(post, "media_rows", None) == [] and getattr(
        post, "media_revision", None) == post.revision))
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


def posts_publishing_problems(*, user: User) -> QuerySet[Post]:
    """Posts whose publishing failed or whose outcome is unknown (some language not live), newest
    first — for the home page of their author and of whoever may publish them."""
    bad = Publication.objects.filter(post=OuterRef("pk"), status__in=[PublicationStatus.FAILED, PublicationStatus.UNKNOWN])
    return posts_visible(user=user).filter(Q(state=PostState.FAILED) | Q(Exists(bad))).order_by("-updated_at", "-id")


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
