"""The queue rows and post summaries rendered in Python (issue 14, round 4) give the very HTML
the round-3 templates gave (kept in tests/web/round3_templates/ as the reference): every kind of
queue item, with and without a review, due time, step and second language, texts and names that
need escaping, selectable or not, in English and in French."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.template import engines
from django.template.loader import get_template
from django.utils import timezone, translation

from tests.workflows import factories
from workflows import selectors
from workflows.models import PostReview
from workflows.selectors import QueueItem

pytestmark = pytest.mark.django_db

REFERENCE = Path(__file__).parent / "round3_templates"


def _reference_table() -> str:
    """The round-3 queue table with its per-row include inlined (the include now renders the new
    tag, so the reference carries the old partial itself)."""
    table = (REFERENCE / "queue_table.html").read_text()
    summary = (REFERENCE / "post_summary.html").read_text().replace("{% load i18n parley_ui %}", "")
    include = '{% include "web/partials/post_summary.html" with post=item.post %}'
    assert include in table
    return table.replace(include, "{% with post=item.post %}" + summary + "{% endwith %}")


def _items(demo) -> list[QueueItem]:
    tricky = {"en": 'Fish & chips <b>"today"</b>, it\'s ' + "long " * 40,
              "fr": "Poisson & frites <i>aujourd'hui</i> « vite » " + "long " * 60}
    ids = [
        factories.at_review(demo).id,
        factories.at_review(demo, texts=tricky).id,
        factories.at_translation(demo).id,
        factories.at_sign_off(demo).id,
        factories.reply_draft(demo, text="Short <reply> & thanks").id,
    ]
    demo.dana.username = 'dana<&">'  # an author's name is escaped (not saved)
    posts = {p.id: p for p in selectors.posts_visible_light(user=demo.rami).filter(id__in=ids)}
    for p in posts.values():
        p.author = demo.dana
    now = timezone.now()
    review = PostReview(id=4242)
    return [
        QueueItem(kind="review", post=posts[ids[0]], due_at=now - timedelta(hours=3)),
        QueueItem(kind="review", post=posts[ids[1]], due_at=now + timedelta(days=2)),
        QueueItem(kind="translation", post=posts[ids[2]], due_at=None),
        QueueItem(kind="sign_off", post=posts[ids[3]], due_at=now - timedelta(minutes=1)),
        QueueItem(kind="spot_check", post=posts[ids[4]], due_at=now + timedelta(hours=5), review=review),
        QueueItem(kind="retrospective", post=posts[ids[0]], due_at=None, review=review),
        QueueItem(kind="review", post=posts[ids[1]], due_at=None, review=review),
    ]


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("selectable", [True, False])
def test_queue_rows_render_the_round3_html(demo, language, selectable):
    items = _items(demo)
    totals = selectors.lane_step_counts(lane_ids=[i.post.lane_id for i in items])
    context = {"items": items, "selectable": selectable, "step_totals": totals}
    with translation.override(language):
        expected = engines["django"].from_string(_reference_table()).render(context)
        got = get_template("web/partials/queue_table.html").render(context)
    assert got == expected
    # The cases the reference exercises: escaping, overdue rows, review links, a second language.
    assert "&lt;b&gt;" in got and 'class="overdue"' in got and "#review-4242" in got and "<details" in got


@pytest.mark.parametrize("language", ["en", "fr"])
def test_post_summary_renders_the_round3_html(demo, language):
    items = _items(demo)
    reference = engines["django"].from_string((REFERENCE / "post_summary.html").read_text())
    with translation.override(language):
        for item in items:
            context = {"post": item.post}
            assert get_template("web/partials/post_summary.html").render(context) == reference.render(context)
