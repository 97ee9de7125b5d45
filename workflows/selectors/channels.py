"""Channels and lanes the user may see, and what they may draft on."""
from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count, Q, QuerySet

from accounts.models import User

from ..constants import ChannelPerm
from ..models import Channel, Lane, LaneStep
from ..permissions import channels_with_perm, organisation_q


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
