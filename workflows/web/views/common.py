"""Helpers the pages share: language names, service errors on a form, safe redirects, rendering."""
from __future__ import annotations

from django.http import Http404
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from ... import formats, selectors
from ...exceptions import Conflict, NotFound, WorkflowError
from ..forms import SERVICE_FIELD

# --- helpers -------------------------------------------------------------------------------

def lang_name(code: str) -> str:
    return formats.language(code)


def lang_inline(code: str) -> str:
    return formats.language(code, in_sentence=True)


def service_error(form, exc: WorkflowError, *, elsewhere: list[str] | tuple[str, ...] = ()) -> None:
    """Put a service exception on the form: on the fields it names, else as a form error.
    `elsewhere`: error keys the caller showed itself (a medium's fields, issue 22)."""
    if isinstance(exc, Conflict) and exc.code == "stale_version":
        form.add_error(None, _("This post changed since you loaded it. Reload the page, check the "
                               "latest version and try again."))
        return
    placed = bool(elsewhere)
    for key, msgs in (exc.errors or {}).items():
        if key in elsewhere:
            continue
        name = SERVICE_FIELD.get(key)
        if name == "text_en" and "text_en" not in form.fields and "text" in form.fields:
            name = "text"
        if name == "text_fr" and "text_fr" not in form.fields and "text" in form.fields:
            name = "text"
        if name and name in form.fields:
            for m in msgs:
                form.add_error(name, str(m))
            placed = True
    if not placed:
        form.add_error(None, exc.message)


def describe_errors(form) -> None:
    """Link each invalid field to its error message (aria-describedby)."""
    if form is None or not form.is_bound:
        return
    for name in form.errors:
        if name in form.fields:
            widget = form.fields[name].widget
            auto_id = form[name].auto_id or f"id_{name}"
            ids = [f"{auto_id}_error"]
            if form.fields[name].help_text:
                ids.append(f"{auto_id}_helptext")
            widget.attrs["aria-describedby"] = " ".join(ids)


def safe_next(request, default: str) -> str:
    """The `next` the form sent if it stays on this site (no scheme-relative `//host`, no
    `/\\host`, no other host or scheme), else `default`: never an open redirect."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def page(request, template: str, context: dict, *, status: int = 200):
    for value in context.values():
        if hasattr(value, "errors") and hasattr(value, "fields"):
            describe_errors(value)
    return render(request, template, context, status=status)


def visible_post(request, post_id: int):
    try:
        return selectors.post_get_visible(post_id=post_id, user=request.user)
    except NotFound as exc:
        raise Http404(str(exc)) from exc


def draft_channel_choices(user) -> list[tuple[str, str]]:
    return [(c.slug, f"{c.name or c.handle} ({c.handle})") for c in selectors.channels_draftable(user=user)]


def visible_channel_choices(user) -> list[tuple[str, str]]:
    return [(c.slug, c.name or c.handle) for c in selectors.channels_visible(user=user)]


def _query_without_page(request) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()
