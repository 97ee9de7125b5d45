"""Shared pieces of every transition: locking, visibility, the transition table, permissions."""
from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from accounts.models import Team, User

from ..constants import ACTION_FROM, ALLOWED_TRANSITIONS, Action, PostState
from ..exceptions import Conflict, InvalidTransition, NotFound, NotPermitted
from ..models import Channel, LaneStep, Post
from ..permissions import CallerPerms, caller_perms, perm_q, sees_organisation


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


def ensure_channel_perm(*, user: User, post: Post, codename: str, team: Team | None = None,
                        perms: CallerPerms | None = None) -> CallerPerms:
    """`user` must hold `codename` on every channel the post targets, and be on `team` when
    one is given. `perms`: what the caller holds, when already read for this post
    (permissions.caller_perms, one query, also loading the post's channels); read now otherwise.
    Returns it, for the checks that follow."""
    perms = perms if perms is not None else caller_perms(user=user, post=post)
    if team is not None and perms.channels and not perms.in_group(team.group_id):
        raise NotPermitted(code="not_on_team", params={"team": team.name})
    if not perms.has(codename):
        raise NotPermitted(code="channel_permission", params={"permission": codename})
    return perms


def ensure_perm_on_channels(*, user: User, channel_ids: list[int], codename: str,
                            perms: CallerPerms | None = None) -> None:
    """`user` holds `codename` on every one of `channel_ids` (one query; none when `perms`, what
    the caller holds on the post whose channels these are, is given)."""
    if perms is not None:
        if not perms.has(codename):
            raise NotPermitted(code="channel_permission", params={"permission": codename})
        return
    if user.is_superuser:
        return
    ids = set(channel_ids)
    n = Channel.objects.filter(id__in=ids).filter(perm_q(user=user, codename=codename)).count()
    if n != len(ids):
        raise NotPermitted(code="channel_permission", params={"permission": codename})


def is_team_member(*, user: User, team: Any, perms: CallerPerms | None = None) -> bool:
    """`user` is in `team`'s group (no query when `perms`, permissions.caller_perms, is given)."""
    if team is None:
        return False
    if perms is not None:
        return perms.in_group(team.group_id)
    return user.groups.filter(id=team.group_id).exists()


def stable_name(obj: Any) -> str:
    """The English name of a bilingual object (lane, step, team, channel), whatever language is
    active: what the audit trail records, so a record does not depend on who acted in which
    language. The reader's language is chosen when it is shown."""
    if obj is None:
        return ""
    return getattr(obj, "name_en", None) or getattr(obj, "name_fr", None) or getattr(obj, "name", "") or ""
