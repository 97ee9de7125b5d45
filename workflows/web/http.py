"""HTTP habits of the web UI that every view shares (issue 21).

`post_only`: an action URL (approve, claim, retract…) takes POST; a GET of it — the address bar
reloaded after a form error left the action URL there, a bookmark, a link followed by a
crawler — redirects to the page the action belongs to instead of a blank 405 in the browser's
language. Nothing is done on GET. tests/web/test_no_405.py GETs every such route."""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme


def back_to_next_or(name: str) -> Callable[..., str]:
    """The page to go back to: the `next` the link carried when it stays on this site, else `name`."""

    def target(request: HttpRequest, *args: Any, **kwargs: Any) -> str:
        nxt = request.GET.get("next") or ""
        if nxt and url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()},
                                                   require_https=request.is_secure()):
            return nxt
        return reverse(name)

    return target


def back_to(name: str, *arg_names: str) -> Callable[..., str]:
    """The named page, with the URL arguments named (e.g. back_to("web-post", "post_id"))."""

    def target(request: HttpRequest, *args: Any, **kwargs: Any) -> str:
        return reverse(name, args=[kwargs[a] for a in arg_names])

    return target


def post_only(back: Callable[..., str]) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Like require_POST, but GET and HEAD redirect (302) to `back(request, *args, **kwargs)`."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method in ("GET", "HEAD"):
                return redirect(back(request, *args, **kwargs))
            if request.method != "POST":
                return HttpResponseNotAllowed(["POST"])
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
