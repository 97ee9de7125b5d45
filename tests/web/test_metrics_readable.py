"""Metrics people can read (issue 11): durations in minutes and hours in the reader's language,
channel and step names rather than slugs and keys, and chart axes scaled to the data."""
from __future__ import annotations

from html import unescape

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from workflows.templatetags.parley_ui import duration, percent
from workflows.web.charts import bar_chart, nice_max

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("seconds", "en", "fr"), [
    (10131.6, "2 h 49 min", "2 h 49 min"), (45, "45 s", "45 s"), (90, "1.5 min", "1,5 min"),
    (1500, "25 min", "25 min"), (7200, "2 h", "2 h"), (None, "—", "—"),
])
def test_durations_read_in_each_language(seconds, en, fr):
    with translation.override("en"):
        assert duration(seconds) == en
    with translation.override("fr"):
        assert duration(seconds) == fr


def test_percent_in_each_language():
    with translation.override("en"):
        assert percent(0.333) == "33%"
    with translation.override("fr"):
        assert percent(0.333) == "33\u00a0%"


def test_axis_is_scaled_to_the_data():
    assert nice_max(0.1, whole=False) == pytest.approx(0.1)
    assert nice_max(0.13, whole=False) == pytest.approx(0.2)
    assert nice_max(3) == 4 and nice_max(9) == 12 and nice_max(0) == 4
    chart = bar_chart(title="t", unit="min", labels=["Review"], series={"Minutes": [0.1]})
    assert chart.groups[0].bars[0].height == 180  # the bar fills the axis, not 0.1/4 of it
    with translation.override("fr"):
        assert [label for _y, label in chart.ticks] == ["0", "0,025", "0,05", "0,075", "0,1"]


def test_metrics_page_shows_names_and_durations(demo, citizen_message):
    from workflows.services import posts

    msg = citizen_message(external_id="m-metrics")
    reply = posts.post_create(author=demo.dana, kind="reply", in_reply_to=msg.id, rules_acknowledged=True,
                              texts={"en": "Thank you, the office opens at 9:00 on Monday."})
    posts.post_submit(post_id=reply.id, by=demo.dana)
    client = Client()
    client.force_login(demo.cora)
    client.cookies["django_language"] = "fr"
    html = unescape(client.get(reverse("web-metrics")).content.decode())
    assert '<th scope="row">MEP (anglais)</th>' in html and '<th scope="row">dpe-en</th>' not in html
    assert "(seconds)" not in html and "(secondes)" not in html
