"""Who is acting, for audit events recorded by hooks that do not see the caller (model signals):
the web middleware sets the request, services and commands set the actor explicitly.

It lives in accounts, below the workflow, so that accounts' own services (token_issue,
token_revoke) set it without importing the workflow; workflows.services.audit reads it."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

from .models import User


@dataclass
class _Context:
    actor: Any = None
    request: Any = None
    via: str = ""


_context: ContextVar[_Context | None] = ContextVar("parley_audit_context", default=None)


@contextmanager
def audit_context(*, actor: User | None = None, request: HttpRequest | None = None, via: str = "") -> Iterator[None]:
    """Who is acting, for events recorded by hooks that do not see the caller (model signals):
    the web middleware sets the request, services and commands set the actor explicitly."""
    outer = _context.get()
    if actor is None and request is None and outer is not None:
        # Nothing new about who: keep the enclosing request's (or caller's) actor.
        actor, request = outer.actor, outer.request
    token = _context.set(_Context(
        actor=actor, request=request if actor is None else None,
        via=via or (outer.via if outer else ""),
    ))
    try:
        yield
    finally:
        _context.reset(token)


def current_actor() -> Any:
    ctx = _context.get()
    if ctx is None:
        return None
    if ctx.actor is not None:
        return ctx.actor
    user = getattr(ctx.request, "user", None) if ctx.request is not None else None
    return user if getattr(user, "is_authenticated", False) else None


def current_via() -> str:
    ctx = _context.get()
    return ctx.via if ctx else ""


