"""Who sees which organisation, and object-permission checks on channels (django-guardian's
direct FK tables), in one query. Selectors and services both ask here: one definition each."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import (
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
    prefetch_related_objects,
)

from accounts.models import User

from .constants import ChannelPerm
from .exceptions import NotPermitted
from .models import Channel, ChannelGroupObjectPermission, ChannelUserObjectPermission, Post

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


# --- what one caller holds on one post's channels, read once ---------------------------------

#: The annotations a post's channels carry for caller_perms.
_USER_CODES = "caller_user_codes"
_GROUP_CODES = "caller_group_codes"
_GROUPS = "caller_groups"
_CALLER = "caller_id"


@dataclass(frozen=True)
class CallerPerms:
    """What one user holds on one post's channels, read in one query (caller_perms): the
    channels, the channel permissions held on every one of them, and the user's groups (a
    team is a group). A transition's checks ask it under the row lock; the API's `actions`
    field asks the same snapshot instead of one query per action."""

    channels: list[Channel]
    held: frozenset[str]
    groups: frozenset[int]

    def has(self, codename: str) -> bool:
        return bool(self.channels) and codename in self.held

    def in_group(self, group_id: int | None) -> bool:
        return group_id is not None and group_id in self.groups


def _channels_with_codes(user: User) -> QuerySet[Channel]:
    """Channels, each (on PostgreSQL) with the arrays of the channel permissions `user` holds on
    it directly and through a group, and of `user`'s group ids: three array columns, one query."""
    qs = Channel.objects.annotate(**{_CALLER: Value(user.id)})  # whose: another user's never reused
    # A vendor fork: ArraySubquery (array columns) is PostgreSQL's; elsewhere caller_perms asks
    # perms_by_channel (two more queries, the same answer).
    if connection.vendor != "postgresql":
        return qs
    from django.contrib.postgres.expressions import ArraySubquery

    groups = User.groups.through.objects.filter(user_id=user.id).values("group_id")
    return qs.annotate(**{
        _USER_CODES: ArraySubquery(ChannelUserObjectPermission.objects.filter(
            user_id=user.id, content_object_id=OuterRef("pk")).values("permission__codename")),
        _GROUP_CODES: ArraySubquery(ChannelGroupObjectPermission.objects.filter(
            group_id__in=groups, content_object_id=OuterRef("pk")).values("permission__codename")),
        _GROUPS: ArraySubquery(groups),
    })


def caller_perms(*, user: User, post: Post) -> CallerPerms:
    """What `user` holds on `post`'s channels (CallerPerms). On PostgreSQL one query, which also
    loads the post's channels (prefetch_related, as posts_visible does) when they are not loaded
    yet; channels loaded by an earlier caller_perms of the same post and user are reused.
    Elsewhere (SQLite, the trial database: no array columns) three queries, the same answer."""
    prefetch_related_objects([post], Prefetch("channels", queryset=_channels_with_codes(user)))
    channels = list(post.channels.all())
    if channels and getattr(channels[0], _CALLER, None) != user.id:
        # The post's channels were loaded without this user's permissions (e.g. by posts_visible).
        channels = list(_channels_with_codes(user).filter(posts=post.id))
    if user.is_superuser:
        codes: dict[int, set[str]] = {c.id: set(ChannelPerm.ALL) for c in channels}
    elif channels and hasattr(channels[0], _USER_CODES):
        codes = {c.id: set(getattr(c, _USER_CODES) or ()) | set(getattr(c, _GROUP_CODES) or ()) for c in channels}
    else:
        codes = perms_by_channel(user=user, channel_ids=[c.id for c in channels])
    held = frozenset(code for code in ChannelPerm.ALL if channels and all(code in codes[c.id] for c in channels))
    if channels and hasattr(channels[0], _GROUPS):
        groups = frozenset(getattr(channels[0], _GROUPS) or ())
    else:
        groups = frozenset(User.groups.through.objects.filter(user_id=user.id).values_list("group_id", flat=True))
    return CallerPerms(channels=channels, held=held, groups=groups)


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


# --- media (issue 22, docs/media.md) -------------------------------------------------------------

def _any_channel_perm_q(user: User) -> Q:
    """A filter on Channel: `user` holds some channel permission on it (directly or through a team)."""
    user_perm = ChannelUserObjectPermission.objects.filter(user_id=user.id).values("content_object_id")
    groups = User.groups.through.objects.filter(user_id=user.id).values("group_id")
    group_perm = ChannelGroupObjectPermission.objects.filter(group_id__in=groups).values("content_object_id")
    return Q(id__in=user_perm) | Q(id__in=group_perm)


def may_upload_media(user: Any) -> bool:
    """Whether `user` may upload images and videos: an active member of an organisation who may
    draft there (the draft permission on one of its channels, as creating a post needs)."""
    if not (user and user.is_authenticated and user.is_active) or user.organisation_id is None:
        return False
    return channels_with_perm(user=user, codename=ChannelPerm.DRAFT).filter(
        organisation_id=user.organisation_id).exists()


def may_see_media(*, user: Any, organisation_id: int) -> bool:
    """Whether `user` may see the media of `organisation_id`: its staff — they see the
    organisation and hold a permission (draft, review, translate, publish...) on one of its
    channels — and a superuser who sees it. Everyone else is told it does not exist."""
    if not (user and user.is_authenticated and user.is_active) or not sees_organisation(user, organisation_id):
        return False
    if user.is_superuser:
        return True
    return Channel.objects.filter(organisation_id=organisation_id).filter(_any_channel_perm_q(user)).exists()
