"""Template helpers for the web UI (issue 11)."""
from __future__ import annotations

from django import template
from django.template.base import render_value_in_context
from django.template.defaultfilters import date as date_filter
from django.template.defaultfilters import truncatechars
from django.urls import reverse
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import template_localtime
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext as _

from .. import formats
from ..web.names import person as person_name

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
# A page of 50 queue rows through the template engine (an include per row, ~45 variable
# lookups each) was a quarter of the queue page's time. The rows' markup is defined here, once:
# web/partials/post_summary.html is `{% post_summary post %}` and web/partials/queue_table.html
# calls `{% queue_rows %}`. Values are escaped and localised as the template engine does
# (render_value_in_context); translated words are not escaped (as {% translate %} leaves them).
# tests/web/test_list_rows.py renders the former templates beside these and compares the HTML.

def _post_link(post_id: int) -> str:
    return conditional_escape(reverse("web-post", args=[post_id]))


def post_summary_html(post, context) -> str:
    """A post's summary line: its link ("Reply 12" / "Post 12"), its text in the reader's
    language (else its first) cut to 90 characters, and the other languages' texts on demand."""
    pid = render_value_in_context(post.id, context)
    label = (_("Reply %(id)s") if post.kind == "reply" else _("Post %(id)s")) % {"id": pid}
    out = [f'<a href="{_post_link(post.id)}">{label}</a>\n']
    texts = texts_for(post, get_language())
    main = texts["main"]
    if main:
        out.append(f'<span class="snippet" lang="{render_value_in_context(main.language, context)}">'
                   f"{render_value_in_context(truncatechars(main.body, 90), context)}</span>")
        for t in texts["others"]:
            show = _("Show the French text") if t.language == "fr" else _("Show the English text")
            out.append(f'\n<details class="other-language"><summary>{show}<span class="sr-only"> '
                       f'{_("of post %(id)s") % {"id": pid}}</span></summary>'
                       f'<span lang="{render_value_in_context(t.language, context)}">'
                       f"{render_value_in_context(truncatechars(t.body, 200), context)}</span></details>")
    return "".join(out)


@register.simple_tag(takes_context=True)
def post_summary(context, post) -> SafeString:
    return mark_safe(post_summary_html(post, context))  # noqa: S308 - every value escaped above  # nosec B308, B703


def _queue_kind_labels() -> dict[str, str]:
    return {"review": _("Review"), "translation": _("Translation"), "sign_off": _("Sign-off"),
            "spot_check": _("Spot-check")}


@register.simple_tag(takes_context=True)
def queue_rows(context, items, selectable, step_totals) -> SafeString:
    """The queue table's rows (QueueItem): select box (reviews and sign-offs, when selectable),
    post summary and review link, what it waits for and the step, channels, author, due time."""
    v = render_value_in_context
    labels = {"select": _("Select"), "post": _("Post"), "waiting": _("Waiting for"), "channels": _("Channels"),
              "author": _("Author"), "due": _("Due")}
    kinds = _queue_kind_labels()
    retrospective, overdue_word = _("Retrospective"), _("Overdue")
    out = []
    for item in items:
        post = item.post
        pid = v(post.id, context)
        overdue = item.overdue
        row = [f'\n    <tr class="{"overdue" if overdue else ""}">\n      ']
        if selectable:
            row.append(f'<td data-label="{labels["select"]}">')
            if item.kind in ("review", "sign_off"):
                row.append(f'<input type="checkbox" name="post" value="{pid}" id="select-{pid}" aria-label="'
                           f'{_("Select post %(id)s") % {"id": pid}}"><input type="hidden" name="version_{pid}" '
                           f'value="{v(post.version, context)}">')
            row.append("</td>")
        row.append(f'\n      <td data-label="{labels["post"]}">{post_summary_html(post, context)}\n')
        if item.review:
            link = _('Complete the review<span class="sr-only"> of post %(id)s</span>') % {"id": pid}
            row.append(f' <a href="{_post_link(post.id)}#review-{v(item.review.id, context)}">{link}</a>')
        row.append(f'</td>\n      <td data-label="{labels["waiting"]}">{kinds.get(item.kind, retrospective)}')
        step = post.current_step
        if item.review is None and step:
            mini = _("Step %(n)s of %(total)s: %(step)s (%(team)s)") % {
                "n": v(step.order, context), "total": v(get_item(step_totals, post.lane_id), context),
                "step": v(step.name, context), "team": v(step.team.name, context)}
            row.append(f'<br><span class="tracker__mini">{mini}</span>')
        handles = ", ".join(v(c.handle, context) for c in post.channels.all())
        row.append(f'</td>\n      <td data-label="{labels["channels"]}">{handles}</td>\n      '
                   f'<td data-label="{labels["author"]}">{v(person_name(post.author), context)}</td>\n      '
                   f'<td data-label="{labels["due"]}">')
        if item.due_at:
            due = template_localtime(item.due_at, context.use_tz)
            row.append(f'<time datetime="{v(date_filter(due, "c"), context)}">{v(formats.datetime(due), context)}'
                       "</time>")
            if overdue:
                row.append(f' <strong class="overdue-flag">{overdue_word}</strong>')
        else:
            row.append("—")
        row.append("</td>\n    </tr>\n  ")
        out.append("".join(row))
    return mark_safe("".join(out))  # noqa: S308 - every value escaped by render_value_in_context  # nosec B308, B703
