"""Media reads for the web pages (issue 22): the media a compose form names, a post's
attachments, and a list page's attachments in one query."""
from __future__ import annotations

from collections.abc import Iterable

from accounts.models import User

from ..models import Medium, Post, PostMedium


def media_of_organisation(*, user: User, ids: Iterable[int]) -> dict[int, Medium]:
    """The media of `user`'s organisation among `ids`, by id (another organisation's do not
    exist for them)."""
    ids = list(ids)
    org_id = getattr(user, "organisation_id", None)
    if not ids or not org_id:
        return {}
    return {m.pk: m for m in Medium.objects.filter(organisation_id=org_id, pk__in=ids)}


def post_attachments(post: Post) -> list[PostMedium]:
    """The post's media in order with their files' rows: the prefetched ones when a selector
    loaded them (post_get_visible, prefetch_post_media), else one query."""
    if hasattr(post, "media_list"):
        return list(post.media_list)
    return list(PostMedium.objects.filter(post_id=post.pk).select_related("medium").order_by("position", "id"))


def prefetch_post_media(posts: Iterable[Post]) -> None:
    """Load the media of a page of posts as `post.media_list`: one query, whatever the page's
    length."""
    from django.db.models import prefetch_related_objects

    from .posts import post_media

    prefetch_related_objects(list(posts), post_media())
