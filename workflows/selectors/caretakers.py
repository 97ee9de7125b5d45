"""Caretaker periods: who holds an organisation's channels, and which posts they hold."""
from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User

from ..exceptions import NotFound
from ..models import CaretakerPeriod, Post
from ..permissions import sees_every_organisation
from .organisations import inherited_from_q, organisation_lineage
from .posts import posts_visible

# --- caretaker periods ---------------------------------------------------------------------

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
