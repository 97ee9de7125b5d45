"""A step granted to someone outside the step's team, for the length of one call.

An outside invitation (services/outside_review.py) lets a person without an account act on
one step of one post, for some languages. The review and translation services keep their one
definition of each rule; where they ask "is this user on the step's team, with the step's
channel permission?", an active grant for exactly this user, post and step answers yes. Every
other rule (self-approval, four eyes by contribution, state, version, row lock, guidelines)
still applies to the outsider's decision, and an approval under a grant counts only for the
grant's languages (four_eyes.approval_scope)."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class StepGrant:
    user_id: int
    post_id: int
    step_id: int
    languages: tuple[str, ...]
    can_edit: bool


_grant: ContextVar[StepGrant | None] = ContextVar("parley_step_grant", default=None)


@contextmanager
def acting_under(grant: StepGrant) -> Iterator[None]:
    token = _grant.set(grant)
    try:
        yield
    finally:
        _grant.reset(token)


def _grant_for(*, user: Any, post: Any, step: Any) -> StepGrant | None:
    """The active grant when it is for exactly `user` at `step` of `post`."""
    g = _grant.get()
    if g is None or step is None or (g.user_id, g.post_id, g.step_id) != (user.id, post.id, step.id):
        return None
    return g


def granted(*, user: Any, post: Any, step: Any, language: str | None = None, edit: bool = False) -> bool:
    """Whether the active grant covers `user` acting at `step` of `post` (and, when given,
    writing `language`)."""
    g = _grant_for(user=user, post=post, step=step)
    if g is None:
        return False
    if language is not None and language not in g.languages:
        return False
    return g.can_edit or not edit


def granted_languages(*, user: Any, post: Any, step: Any) -> tuple[str, ...] | None:
    """The languages the active grant limits `user`'s decision at `step` of `post` to, or None
    when no grant applies (the user acts as themselves, for every language four eyes allows)."""
    g = _grant_for(user=user, post=post, step=step)
    return None if g is None else g.languages
