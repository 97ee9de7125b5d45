"""Every read that needs permissions or prefetching. Lists are scoped to what the user may see
(the user's organisation) and declare their related loads, so a list's query count does not grow
with its length.

A package by topic (issue 23): channels and lanes, posts, the inbox, the approver queue, the home
page, metrics, webhooks, the organisation tree, caretaker periods and access-to-information exports.
Callers import from `workflows.selectors`; the names below are its public surface."""
from __future__ import annotations

from .atip import (
    atip_channels_exportable,
    atip_export_get_visible,
    atip_exports_visible,
    atip_organisations_exportable,
)
from .caretakers import (
    caretaker_period_current,
    caretaker_period_get_visible,
    caretaker_periods_visible,
    posts_held_by_caretaker,
)
from .channels import (
    channels_draftable,
    channels_of_own_organisation,
    channels_visible,
    lane_step_counts,
    lanes_visible,
    personal_channels_of,
    step_display_names,
)
from .home import (
    HomeSummary,
    home_for,
)
from .inbox import (
    INBOX_OPEN,
    engagements_by_action,
    holding_replies_for,
    inbound_get_visible,
    inbound_last_event,
    inbox_counts_by_channel,
    inbox_filtered,
    inbox_overdue_before,
    inbox_visible,
    replies_to,
)
from .media import medium_get_visible
from .media_pages import (
    media_of_organisation,
    post_attachments,
    prefetch_post_media,
)
from .metrics import (
    MetricsPage,
    conversation_voices,
    engagement_get,
    metrics_compute,
    metrics_page,
)
from .organisations import (
    ORG_INHERIT_DEPTH,
    ORG_MAX_DEPTH,
    inherited_from_q,
    organisation_descendants,
    organisation_lineage,
)
from .posts import (
    post_detail_of,
    post_due_at,
    post_get_visible,
    post_get_visible_light,
    post_history,
    post_open_retrospective,
    post_open_reviews,
    post_review_ids,
    post_revisions,
    post_texts,
    post_voided_decision_ids,
    posts_publishing_problems,
    posts_visible,
    posts_visible_light,
)
from .queue import (
    QueueItem,
    QueueList,
    queue_for,
)
from .webhooks import (
    webhook_get_visible,
    webhooks_visible,
)

__all__ = [
    "media_of_organisation",
    "post_attachments",
    "prefetch_post_media",
    "HomeSummary",
    "INBOX_OPEN",
    "MetricsPage",
    "ORG_INHERIT_DEPTH",
    "ORG_MAX_DEPTH",
    "QueueItem",
    "QueueList",
    "atip_channels_exportable",
    "atip_export_get_visible",
    "atip_exports_visible",
    "atip_organisations_exportable",
    "caretaker_period_current",
    "caretaker_period_get_visible",
    "caretaker_periods_visible",
    "channels_draftable",
    "channels_of_own_organisation",
    "channels_visible",
    "conversation_voices",
    "engagement_get",
    "engagements_by_action",
    "holding_replies_for",
    "home_for",
    "inbound_get_visible",
    "inbound_last_event",
    "inbox_counts_by_channel",
    "inbox_filtered",
    "inbox_overdue_before",
    "inbox_visible",
    "inherited_from_q",
    "lane_step_counts",
    "lanes_visible",
    "medium_get_visible",
    "metrics_compute",
    "metrics_page",
    "organisation_descendants",
    "organisation_lineage",
    "personal_channels_of",
    "post_detail_of",
    "post_due_at",
    "post_get_visible",
    "post_get_visible_light",
    "post_history",
    "post_open_retrospective",
    "post_open_reviews",
    "post_review_ids",
    "post_revisions",
    "post_texts",
    "post_voided_decision_ids",
    "posts_held_by_caretaker",
    "posts_publishing_problems",
    "posts_visible",
    "posts_visible_light",
    "queue_for",
    "replies_to",
    "step_display_names",
    "webhook_get_visible",
    "webhooks_visible",
]
