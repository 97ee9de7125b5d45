"""The queue rows and post summaries, rendered by their Django templates again (issue 23: the
rows had been HTML in Python f-strings, with a frozen copy of the template kept to compare): every
kind of queue item, with and without a review, due time, step and second language, texts and names
that need escaping, selectable or not, in English and in French."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.template.loader import get_template
from django.utils import timezone, translation

from tests.workflows import factories
from workflows import selectors
from workflows.models import PostReview
from workflows.selectors import QueueItem

pytestmark = pytest.mark.django_db

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
def test_queue_rows(demo, language, selectable):
    items = _items(demo)
    totals = selectors.lane_step_counts(lane_ids=[i.post.lane_id for i in items])
    context = {"items": items, "selectable": selectable, "step_totals": totals}
    with translation.override(language):
        got = get_template("web/partials/queue_table.html").render(context)
    assert got.count("<tr class=") == len(items)
    # Escaped text and names, overdue rows, review links, a second language on demand.
    assert "&lt;b&gt;" in got and "dana&lt;&amp;&quot;&gt;" in got and "<b>" not in got
    assert got.count('class="overdue"') == sum(i.overdue for i in items)
    assert "#review-4242" in got and "<details" in got
    assert (got.count('type="checkbox"') == sum(i.kind in ("review", "sign_off") for i in items)) if selectable \
        else 'type="checkbox"' not in got
    assert {"en": "Overdue", "fr": "En retard"}[language] in got


@pytest.mark.parametrize("language", ["en", "fr"])
def test_post_summary(demo, language):
    items = _items(demo)
    with translation.override(language):
        html = get_template("web/partials/post_summary.html").render({"post": items[1].post})
    assert html.startswith('<a href="/posts/')
    assert "Fish &amp; chips &lt;b&gt;" in html or "Poisson &amp; frites" in html
    assert "<details" in html and 'class="snippet"' in html
