"""Shared pieces of every transition: locking, visibility, the transition table, permissions."""
from __future__ import annotations

from typing import Any

from django.db.models import BooleanField, Exists, ExpressionWrapper, QuerySet, Value

from accounts.models import Team, User

from ..compiled import Compiled, set_prefetched
from ..constants import ACTION_FROM, ALLOWED_TRANSITIONS, Action, PostState
from ..exceptions import Conflict, InvalidTransition, NotFound, NotPermitted
from ..models import Channel, LaneStep, Post
from ..permissions import perm_q, sees_organisation


def ensure_same_org(*, user: User, organisation_id: int) -> None:
    """Another organisation's objects do not exist for `user` (404, never 403); the rule is
    workflows.permissions.sees_organisation."""
    if not sees_organisation(user, organisation_id):
        raise NotFound(code="not_found.post")


def post_lock_queryset(post_id: int, *, annotate: dict[str, Any] | None = None) -> QuerySet[Post]:
    """The post's row lock (SELECT ... FOR UPDATE of the post only) with what every transition
    reads with it: its lane and current step (and the step's team). `annotate`: more to read in
    the same statement (subqueries about the post)."""
    return (
        Post.objects.select_for_update(of=("self",))
        .select_related("lane", "current_step", "current_step__team")
        .annotate(**(annotate or {}))
        .filter(pk=post_id)
    )


def post_get_for_update(*, post_id: int, user: User, annotate: dict[str, Any] | None = None) -> Post:
    """Lock the post row (SELECT ... FOR UPDATE) and re-read its state under the lock.
    `annotate`: more to read in the same statement (subqueries about the post)."""
    return ensure_locked_visible(post_lock_queryset(post_id, annotate=annotate).first(), user=user)


def ensure_locked_visible(post: Post | None, *, user: User) -> Post:
    """The locked post, when it exists for `user` (NotFound otherwise: no such post, or another
    organisation's)."""
    if post is None:
        raise NotFound(code="not_found.post")
    ensure_same_org(user=user, organisation_id=post.organisation_id)
    return post


def current_step_of(post: Post) -> LaneStep:
    """The step a post in review waits on (a post in review always has one)."""
    if post.current_step is None:
        raise InvalidTransition(code="no_current_step")
    return post.current_step


def ensure_transition(post: Post, *, to: PostState) -> None:
    if to not in ALLOWED_TRANSITIONS[PostState(post.state)]:
        raise InvalidTransition(code="invalid_transition", params={"from_state": post.state, "to_state": to})


def ensure_action_state(post: Post, action: Action) -> None:
    """The post's state allows `action` (constants.ACTION_FROM, beside the transition table)."""
    if post.state not in ACTION_FROM[action]:
        raise InvalidTransition(code="invalid_state", params={"action": str(action), "state": post.state})


def ensure_version(post: Post, version: int | None) -> None:
    """`version` is what the caller last saw (ETag / If-Match); a stale one is a conflict."""
    if version is not None and int(version) != post.version:
        raise Conflict(code="stale_version", params={"given": int(version), "current": post.version})


def ensure_channel_perm(*, user: User, post: Post, codename: str, team: Team | None = None) -> list[int]:
    """`user` must hold `codename` on every channel the post targets, and be on `team` when
    one is given — answered in one query, which also (re)loads the post's channels (left on the
    post for the guideline checks that follow). Returns the post's channel ids."""
    return _channel_perm_prefetching(user=user, post=post, codename=codename, team=team)


def _channels_with_flags(post_id: int, user_id: int, group_id: int, *, codename: str, superuser: bool,
                         team: bool) -> QuerySet[Channel]:
    """The post's channels, each with `parley_allowed` (the user holds `codename` on it:
    permissions.perm_q) and, with `team`, `parley_on_team` (the user is in the team's group)."""
    user = User(id=user_id)
    # The permission filter as a column of the channel row (not an EXISTS re-reading the channel):
    # the same rule, and a plan PostgreSQL makes in a fraction of the time.
    allowed = ExpressionWrapper(perm_q(user=user, codename=codename), output_field=BooleanField())
    qs = Channel.objects.filter(posts=post_id).annotate(parley_allowed=Value(True) if superuser else allowed)
    if team:
        membership = User.groups.through.objects.filter(user_id=user_id, group_id=group_id)
        qs = qs.annotate(parley_on_team=Exists(membership))
    return qs


#: Compiled once per process (compiled.py): the query stays _channels_with_flags, only its SQL is kept.
_CHANNELS_WITH_FLAGS: Compiled[Channel] = Compiled(_channels_with_flags, arity=3)


def _channel_perm_prefetching(*, user: User, post: Post, codename: str, team: Team | None) -> list[int]:
    """ensure_channel_perm when the post's channels are not loaded yet: the same one query
    loads them too (left on the post for the guideline checks that follow)."""
    shape = {"codename": codename, "superuser": bool(user.is_superuser), "team": team is not None}
    channels = _CHANNELS_WITH_FLAGS.run(post.id, user.id, team.group_id if team is not None else 0,
                                        key=tuple(shape.items()), using=post._state.db or "default", **shape)
    set_prefetched(post, "channels", channels)
    if team is not None and channels and not getattr(channels[0], "parley_on_team", False):
        raise NotPermitted(code="not_on_team", params={"team": team.name})
    if not channels or not all(getattr(c, "parley_allowed", False) for c in channels):
        raise NotPermitted(code="channel_permission", params={"permission": codename})
    return [c.id for c in channels]


def ensure_perm_on_channels(*, user: User, channel_ids: list[int], codename: str) -> None:
    if user.is_superuser:
        return
    ids = set(channel_ids)
    n = Channel.objects.filter(id__in=ids).filter(perm_q(user=user, codename=codename)).count()
    if n != len(ids):
        raise NotPermitted(code="channel_permission", params={"permission": codename})


def is_team_member(*, user: User, team: Any) -> bool:
    if team is None:
        return False
    return user.groups.filter(id=team.group_id).exists()


def stable_name(obj: Any) -> str:
    """The English name of a bilingual object (lane, step, team, channel), whatever language is
    active: what the audit trail records, so a record does not depend on who acted in which
    language. The reader's language is chosen when it is shown."""
    if obj is None:
        return ""
    return getattr(obj, "name_en", None) or getattr(obj, "name_fr", None) or getattr(obj, "name", "") or ""
