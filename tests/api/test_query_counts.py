"""Every list endpoint runs the same number of queries for 1 and for 50 objects."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from workflows.constants import LaneKind, RuleKind, StepKind
from workflows.models import Channel, GuidelineRule, Lane, LaneStep, WebhookSubscription

pytestmark = pytest.mark.django_db


def _add_posts(flow, demo, n, start):
    for _ in range(n):
        flow.at_translation()  # a decision on each, so decisions are listed too


def _add_queue(flow, demo, n, start):
    for i in range(n):
        flow.in_review(texts={"en": f"Queued post {start + i}."})


def _add_inbound(flow, demo, n, start):
    for i in range(n):
        flow.inbound(external_id=f"m-{start + i}")


def _add_channels(flow, demo, n, start):
    for i in range(n):
        Channel.objects.create(organisation=demo.dana.organisation, slug=f"extra-{start + i}",
                               platform="mastodon", handle=f"@extra{start + i}")


def _add_lanes(flow, demo, n, start):
    team = demo.lane("official").steps.first().team
    for i in range(n):
        lane = Lane.objects.create(organisation=demo.dana.organisation, slug=f"lane-{start + i}",
                                   name="Extra", kind=LaneKind.OFFICIAL)
        LaneStep.objects.create(lane=lane, order=1, name="review", kind=StepKind.REVIEW, team=team,
                                sla=timedelta(hours=1))
        GuidelineRule.objects.create(lane=lane, kind=RuleKind.LENGTH)


def _add_webhooks(flow, demo, n, start):
    for i in range(n):
        WebhookSubscription.objects.create(organisation=demo.dana.organisation, created_by=demo.admin,
                                           url=f"https://hooks.example/{start + i}", secret="x" * 20)


_history_post = {}


def _add_history(flow, demo, n, start):
    from workflows.services.posts import post_edit

    if "post" not in _history_post or start == 0:
        _history_post["post"] = flow.draft()  # "created": one event
        n -= 1
    for i in range(n):
        post_edit(post_id=_history_post["post"].id, by=demo.dana, texts={"en": f"Edit {start + i}."})


CASES = {
    "posts": ("dana", "/api/v1/posts/", _add_posts),
    "queue": ("rami", "/api/v1/queue/", _add_queue),
    "inbound": ("dana", "/api/v1/inbound/", _add_inbound),
    "channels": ("dana", "/api/v1/channels/", _add_channels),
    "lanes": ("dana", "/api/v1/lanes/", _add_lanes),
    "webhooks": ("admin", "/api/v1/webhooks/", _add_webhooks),
    "history": ("dana", "/api/v1/posts/{post}/history/", _add_history),
}


def _count(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(ctx.captured_queries), response.json()["count"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_list_query_count_does_not_grow(client_for, flow, demo, name):
    username, url, add = CASES[name]
    client = client_for(username)
    _history_post.clear()
    add(flow, demo, 1, 0)
    url = url.format(post=_history_post["post"].id) if "{post}" in url else url
    client.get(url)  # warm up: the token's last-used stamp is written once a minute
    one, n1 = _count(client, url)
    add(flow, demo, 49, 1)
    fifty, n50 = _count(client, url)
    assert n50 - n1 == 49, (n1, n50)
    assert one == fifty, f"{name}: {one} queries for {n1} objects, {fifty} for {n50}"
