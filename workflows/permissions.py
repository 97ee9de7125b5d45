"""Who sees which organisation, and object-permission checks on channels (django-guardian's
direct FK tables), in one query. Selectors and services both ask here: one definition each."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Q, QuerySet

from accounts.models import User

from .constants import ChannelPerm
from .exceptions import NotPermitted
from .models import Channel, ChannelGroupObjectPermission, ChannelUserObjectPermission

# --- access-to-information exports ----------------------------------------------------------
#: The model permission that lets a person export records (given to a team's group or a person).
EXPORT_PERMISSION = "workflows.export_records"


def may_export(user: Any) -> bool:
    """Whether `user` may request access-to-information exports at all (which organisations:
    selectors.atip_organisations_exportable)."""
    return bool(user and user.is_authenticated and (user.is_superuser or user.has_perm(EXPORT_PERMISSION)))


# --- organisation visibility -----------------------------------------------------------------
# One rule, used by every list (selectors) and every lock (services/common.ensure_same_org):
# a superuser *outside* any organisation (the platform's operator) sees every organisation;
# everyone else, a superuser who belongs to an organisation included, sees their own only.
# Chosen because it is what the documentation promises ("another organisation's objects do not
# exist for you", "channels of your organisation": docs/api.md, docs/web.md) and what every
# list already did; only the write path used to let an organisation's superuser reach into
# another organisation, which a list would then not show.


def sees_every_organisation(user: Any) -> bool:
    return bool(user.is_superuser) and getattr(user, "organisation_id", None) is None


def organisation_q(user: Any, *, field: str = "organisation_id") -> Q:
    """A filter on `field` (an organisation id): what `user` may see."""
    if sees_every_organisation(user):
        return Q()
    return Q(**{field: getattr(user, "organisation_id", None)})


def sees_organisation(user: Any, organisation_id: int | None) -> bool:
    """May `user` see an object of `organisation_id`? (Otherwise it does not exist for them.)"""
    if sees_every_organisation(user):
        return True
    own = getattr(user, "organisation_id", None)
    return own is not None and own == organisation_id


def perm_q(*, user: User, codename: str) -> Q:
    """A filter on Channel: `user` holds `codename` on it, directly or through a group."""
    user_perm = ChannelUserObjectPermission.objects.filter(
        user_id=user.id, permission__codename=codename
    ).values("content_object_id")
    groups = User.groups.through.objects.filter(user_id=user.id).values("group_id")
    group_perm = ChannelGroupObjectPermission.objects.filter(
        group_id__in=groups, permission__codename=codename
    ).values("content_object_id")
    return Q(id__in=user_perm) | Q(id__in=group_perm)


def channels_with_perm(*, user: User, codename: str, channel_ids: Iterable[int] | None = None) -> QuerySet[Channel]:
    """Channels on which `user` holds `codename`, directly or through one of their groups."""
    qs = Channel.objects.all()
    if channel_ids is not None:
        qs = qs.filter(id__in=list(channel_ids))
    if user.is_superuser:
        return qs
    return qs.filter(perm_q(user=user, codename=codename))


def has_perm_on_all(*, user: User, codename: str, channel_ids: Iterable[int]) -> bool:
    """True when `user` holds `codename` on every one of `channel_ids` (one SQL query)."""
    ids = set(channel_ids)
    if not ids:
        return False
    if user.is_superuser:
        return True
    return channels_with_perm(user=user, codename=codename, channel_ids=ids).count() == len(ids)


def perms_by_channel(*, user: User, channel_ids: Iterable[int]) -> dict[int, set[str]]:
    """{channel_id: {codename, ...}} for `user` (two queries whatever the number of channels)."""
    ids = list(channel_ids)
    result: dict[int, set[str]] = {cid: set() for cid in ids}
    if user.is_superuser:
        return {cid: set(ChannelPerm.ALL) for cid in ids}
    for cid, code in ChannelUserObjectPermission.objects.filter(
        user_id=user.id, content_object_id__in=ids
    ).values_list("content_object_id", "permission__codename"):
        result[cid].add(code)
    for cid, code in ChannelGroupObjectPermission.objects.filter(
        group__user=user.id, content_object_id__in=ids
    ).values_list("content_object_id", "permission__codename"):
        result[cid].add(code)
    return result


def ensure_can_manage_webhooks(*, user: User) -> None:
    """Raises NotPermitted unless `user` holds manage_channel on a channel of their
    organisation, or is a superuser."""
    if user.is_superuser:
        return
    if user.organisation_id is None or not channels_with_perm(
        user=user, codename=ChannelPerm.MANAGE
    ).filter(organisation_id=user.organisation_id).exists():
        raise NotPermitted(
            "Managing webhooks needs the 'manage' permission on a channel of your organisation.",
            code="manage_webhooks",
        )
