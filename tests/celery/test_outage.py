"""Redis stopped: writes still succeed at once; when it returns, everything is delivered once."""
from __future__ import annotations

import time
from collections import Counter

import pytest
from rest_framework.test import APIClient

from workflows.constants import PostState, PublicationStatus
from workflows.models import OutboxEvent, Post, Publication, WebhookSubscription
from workflows.services.notifications import emails_for

from . import flows
from .conftest import wait_for

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]


def test_writes_succeed_while_redis_is_down_and_are_delivered_once_after(
    webhook_channels, platform, demo, start_worker, private_redis
):
    WebhookSubscription.objects.create(organisation=demo.dana.organisation, url=f"{platform.url}/hooks",
                                       secret="hook-secret")
    worker = start_worker(broker_url=private_redis.url, supervised=True)
    private_redis.stop()

    started = time.monotonic()
    posts = [flows.reply(demo, text=f"Thanks for writing: item {i} is answered on our site.") for i in range(3)]
    posts.append(flows.official(demo))
    api = APIClient()
    api.force_authenticate(demo.dana)
    created = api.post("/api/v1/posts/", {"kind": "reply", "channels": ["dpe-en"], "rules_acknowledged": True,
                                          "texts": {"en": "Thank you, the form is online now."}}, format="json")
    assert created.status_code == 201, created.content
    submitted = api.post(f"/api/v1/posts/{created.json()['id']}/submit/", {}, format="json")
    assert submitted.status_code == 200, submitted.content
    assert time.monotonic() - started < 10  # generous: nothing waited on the broker
    post_ids = [p.id for p in posts] + [created.json()["id"]]
    states = dict(Post.objects.filter(id__in=post_ids).values_list("id", "state"))
    # replies start publishing in their request, the official post waits approved: nothing sent yet
    assert states == {**{p.id: PostState.PUBLISHING for p in posts[:3]}, posts[3].id: PostState.APPROVED,
                      created.json()["id"]: PostState.PUBLISHING}
    assert not Publication.objects.filter(post_id__in=post_ids).exclude(status=PublicationStatus.PENDING).exists()

    time.sleep(1.5)  # the worker runs, but without a broker nothing moves
    assert platform.posts() == [] and platform.posts("/hooks") == []

    private_redis.start()
    wait_for(lambda: Post.objects.filter(id__in=post_ids, state=PostState.PUBLISHED).count() == len(post_ids),
             timeout=90, what=f"every post to be published after Redis returned\n{worker.log()}")
    wait_for(lambda: not OutboxEvent.objects.filter(dispatched_at__isnull=True).exists(), timeout=60,
             what="the outbox to drain")

    # Publications: one request per (post, channel, language), none lost, none twice.
    keys = set(Publication.objects.filter(post_id__in=post_ids).values_list("idempotency_key", flat=True))
    assert len(keys) == 6  # four replies + the official post in en and fr
    assert platform.counts_by_key() == Counter({k: 1 for k in keys})
    # Webhooks: every event once.
    deliveries = Counter(r["headers"]["X-Parley-Delivery"] for r in platform.posts("/hooks"))
    expected_hooks = OutboxEvent.objects.filter(topic="webhook.deliver").count()
    assert expected_hooks > len(post_ids) and len(deliveries) == expected_hooks
    assert set(deliveries.values()) == {1}
    assert not OutboxEvent.objects.exclude(last_error="").filter(topic="webhook.deliver", dispatched_at__isnull=True).exists()
    # Emails: exactly the ones the events call for.
    expected_emails = sum(len(emails_for(e)) for e in OutboxEvent.objects.exclude(topic="webhook.deliver"))
    assert expected_emails >= 8 and len(worker.emails()) == expected_emails
