"""Template helpers for the web UI (issue 11)."""
from __future__ import annotations

from django import template
from django.utils.translation import pgettext_lazy

from .. import formats

register = template.Library()

#: A post's or a reply's state, agreeing with the noun: French "publication" and "réponse" are
#: feminine ("Réponse 2 Publiée", not "Publié").
STATE_LABELS = {
    "draft": pgettext_lazy("state of a post or reply", "Draft"),
    "in_review": pgettext_lazy("state of a post or reply", "In review"),
    "changes_requested": pgettext_lazy("state of a post or reply", "Changes requested"),
    "approved": pgettext_lazy("state of a post or reply", "Approved"),
    "scheduled": pgettext_lazy("state of a post or reply", "Scheduled"),
    "publishing": pgettext_lazy("state of a post or reply", "Publishing"),
    "published": pgettext_lazy("state of a post or reply", "Published"),
    "rejected": pgettext_lazy("state of a post or reply", "Rejected"),
    "withdrawn": pgettext_lazy("state of a post or reply", "Withdrawn"),
    "failed": pgettext_lazy("state of a post or reply", "Failed"),
    "retracted": pgettext_lazy("state of a post or reply", "Retracted"),
}


@register.filter
def state_label(state: str) -> str:
    return STATE_LABELS.get(str(state), state)


@register.filter
def get_item(mapping, key):
    """dict lookup in a template: {{ totals|get_item:lane_id }}."""
    try:
        return mapping.get(key, "")
    except AttributeError:
        return ""


@register.filter
def texts_for(post, language: str) -> dict:
    """The post's text in the reader's language first (else its first), and the others, to show
    on demand. Uses the prefetched texts."""
    texts = list(post.texts.all())
    if not texts:
        return {"main": None, "others": []}
    main = next((t for t in texts if t.language == language), texts[0])
    return {"main": main, "others": [t for t in texts if t.id != main.id]}


@register.filter
def duration(seconds) -> str:
    """Seconds as a person reads them, in the reader's language: "45 s", "12 min", "2 h 49 min"."""
    return formats.duration(seconds)


@register.filter
def percent(ratio) -> str:
    """0.333 → "33%" (French: "33 %")."""
    return formats.percent(ratio)


@register.filter
def failure_reason(error: str) -> str:
    """A failed publication's reason in the reader's language (see web/publishing_truth.py)."""
    from ..web.publishing_truth import failure_reason as reason

    return reason(error)


# --- list rows, rendered in Python (issue 14) ----------------------------------------------
