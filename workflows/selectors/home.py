"""The home page's lists."""
from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, QuerySet

from accounts.models import User

from ..constants import InboundStatus, PostState
from ..models import InboundMessage, Post
from .inbox import inbox_visible
from .posts import posts_visible_light

# --- the web pages' reads (the views only shape what these return) -------------------------

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
