"""The home page."""
from __future__ import annotations

from django.contrib.auth.decorators import login_required

from ... import selectors
from ...services.preview import post_actions_for
from ..publishing_truth import publishing_truth
from .common import page

# --- home ----------------------------------------------------------------------------------

HOME_LIST_SIZE = 20


@login_required
def home(request):
    user = request.user
    summary = selectors.home_for(user=user, list_size=HOME_LIST_SIZE)
    problems = []
    for post in selectors.posts_publishing_problems(user=user)[:20]:
        acts = post_actions_for(post=post, user=user)
        if post.author_id == user.id or acts.retry or acts.resolve:
            problems.append((post, publishing_truth(post), acts))
    queue_items = list(selectors.queue_for(user=user)[:20])
    selectors.prefetch_post_media(i.post for i in queue_items)  # the queue table's thumbnails
    return page(request, "web/home.html", {
        "drafts": summary.drafts, "recent": summary.recent, "queue": queue_items,
        "step_totals": selectors.lane_step_counts(lane_ids=[i.post.lane_id for i in queue_items]),
        "inbox_new": summary.inbox_new, "inbox_claimed": summary.inbox_claimed,
        "inbox_mine": len(summary.claimed), "claimed": summary.claimed, "problems": problems,
    })
