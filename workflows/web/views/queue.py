"""The approver queue and its bulk approve."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from ... import actions, selectors
from ...exceptions import WorkflowError
from ..forms import QueueFilterForm
from ..http import back_to, post_only
from .common import _query_without_page, page, visible_channel_choices

# --- approver queue ------------------------------------------------------------------------

QUEUE_PAGE_SIZE = 50


@login_required
def queue(request):
    user = request.user
    form = QueueFilterForm(request.GET or None, channel_choices=visible_channel_choices(user))
    filters = {}
    if form.is_valid():
        filters = {"kind": form.cleaned_data["kind"], "channel": form.cleaned_data["channel"],
                   "sort": form.cleaned_data["sort"] or "due"}
    # Filtered, ordered and paginated in SQL: only this page's posts are loaded.
    paged = Paginator(selectors.queue_for(user=user, **filters), QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    items = paged.object_list
    # Each row shows its media (issue 22): one query for the page, whatever its length.
    selectors.prefetch_post_media(i.post for i in items)
    return page(request, "web/queue.html", {"form": form, "items": items, "page_obj": paged,
                                            "page_query": _query_without_page(request),
                                            "step_totals": selectors.lane_step_counts(lane_ids=[i.post.lane_id for i in items]),
                                            "results": request.session.pop("bulk_results", None)})


@login_required
@post_only(back_to("web-queue"))
def queue_approve(request):
    """Approve each selected post on its own; report each post's outcome."""
    results = []
    for raw in request.POST.getlist("post"):
        try:
            post_id = int(raw)
            version = int(request.POST.get(f"version_{post_id}") or 0) or None
        except ValueError:
            continue
        try:
            post = actions.APPROVE.execute(post_id=post_id, by=request.user, version=version)
        except WorkflowError as exc:
            results.append({"post": post_id, "ok": False, "message": exc.message})
        else:
            results.append({"post": post_id, "ok": True, "state": post.state})
    if not results:
        messages.error(request, _("Select at least one post to approve."))
    request.session["bulk_results"] = results
    return redirect("web-queue")
