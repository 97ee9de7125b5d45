"""Shared pieces of every transition: locking, visibility, the transition table, permissions."""
from __future__ import annotations

from typing import Any

from django.db.models import Count, Exists, OuterRef, Prefetch, Value, prefetch_related_objects

from accounts.models import Team, User

from ..constants import ACTION_FROM, ALLOWED_TRANSITIONS, Action, PostState
from ..exceptions import Conflict, InvalidTransition, NotFound, NotPermitted
from ..models import Channel, LaneStep, Post
from ..permissions import perm_q, sees_organisation


def ensure_same_org(*, user: User, organisation_id: int) -> None:
    """Another organisation's objects do not exist for `user` (404, never 403); the rule is
    workflows.permissions.sees_organisation."""
    if not sees_organisation(user, organisation_id):
        raise NotFound(code="not_found.post")


def post_get_for_update(*, post_id: int, user: User, annotate: dict[str, Any] | None = None) -> Post:
    """Lock the post row (SELECT ... FOR UPDATE) and re-read its state under the lock.
    `annotate`: more to read in the same statement (subqueries about the post)."""
    post = (
        Post.objects.select_for_update(of=("self",))
        .select_related("lane", "current_step", "current_step__team")
        .annotate(**(annotate or {}))
        .filter(pk=post_id)
        .first()
    )
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
    one is given — answered in one query. Returns the post's channel ids."""
    if "channels" not in getattr(post, "_prefetched_objects_cache", {}):
        return _channel_perm_prefetching(user=user, post=post, codename=codename, team=team)
    qs = Channel.objects.filter(posts=post.id).annotate(
        allowed=Count("id", filter=perm_q(user=user, codename=codename))
        if not user.is_superuser
        else Count("id")
    )
    if team is not None:
        membership = User.groups.through.objects.filter(user_id=user.id, group_id=team.group_id)
        qs = qs.annotate(on_team=Exists(membership))
        rows3 = list(qs.values_list("id", "allowed", "on_team"))
        if rows3 and not rows3[0][2]:
            raise NotPermitted(code="not_on_team", params={"team": team.name})
        rows = [(cid, allowed) for cid, allowed, _ in rows3]
    else:
        rows = list(qs.values_list("id", "allowed"))
    if not rows or any(allowed == 0 for _, allowed in rows):
        raise NotPermitted(code="channel_permission", params={"permission": codename})
    return [cid for cid, _ in rows]


def _channel_perm_prefetching(*, user: User, post: Post, codename: str, team: Team | None) -> list[int]:
    """ensure_channel_perm when the post's channels are not loaded yet: the same one query
    loads them too (left on the post for the guideline checks that follow)."""
    allowed = Exists(Channel.objects.filter(pk=OuterRef("pk")).filter(perm_q(user=user, codename=codename)))
    qs = Channel.objects.annotate(parley_allowed=Value(True) if user.is_superuser else allowed)
    if team is not None:
        membership = User.groups.through.objects.filter(user_id=user.id, group_id=team.group_id)
        qs = qs.annotate(parley_on_team=Exists(membership))
    prefetch_related_objects([post], Prefetch("channels", queryset=qs))
    channels = list(post.channels.all())
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
