"""A real Celery worker (with beat) on the real Redis, publishing to a real HTTP server."""
from __future__ import annotations

import json

import pytest

from workflows.constants import PostState
from workflows.constants import PublicationStatus as PS
from workflows.models import OutboxEvent, Post, Publication, WebhookSubscription

from . import flows
from .conftest import SECRET, wait_for
from .platform import valid_signature

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]


def state_of(post_id: int) -> str:
    return Post.objects.get(id=post_id).state


def test_reply_reaches_the_endpoint_once_signed(webhook_channels, platform, demo, start_worker):
    WebhookSubscription.objects.create(organisation=demo.dana.organisation, url=f"{platform.url}/hooks",
                                       secret="integration-secret", events=["post.published"])
    worker = start_worker()
    post = flows.reply(demo)
    wait_for(lambda: platform.posts(), timeout=15, what="the publication to reach the endpoint")
    wait_for(lambda: state_of(post.id) == PostState.PUBLISHED, timeout=15, what="the post to be published")
    (req,) = platform.posts()
    assert valid_signature(SECRET, req["body"], req["headers"]["X-Parley-Signature"])
    assert json.loads(req["body"])["text"] == "Thank you for asking: the office opens at 9:00."
    # The integration hears about the publication, signed with its own secret; nothing else.
    (hook,) = wait_for(lambda: platform.posts("/hooks"), timeout=15, what="the webhook")
    assert hook["headers"]["X-Parley-Event"] == "post.published"
    assert valid_signature("integration-secret", hook["body"], hook["headers"]["X-Parley-Signature"])
    assert json.loads(hook["body"])["post_id"] == post.id
    # The author is told it is live (in her language), once.
    emails = wait_for(worker.emails, timeout=15, what="the author's email")
    assert len(emails) == 1 and f"Post #{post.id} published" in emails[0] and "dana@dpe.example" in emails[0]
    wait_for(lambda: not OutboxEvent.objects.filter(dispatched_at__isnull=True).exists(), timeout=15,
             what="the outbox to drain")
    assert len(platform.posts()) == 1 and len(platform.posts("/hooks")) == 1


def test_official_post_is_sent_once_per_language(webhook_channels, platform, demo, start_worker):
    worker = start_worker()
    post = flows.official(demo)
    wait_for(lambda: state_of(post.id) == PostState.PUBLISHED, timeout=20, what="the post to be published")
    bodies = sorted((json.loads(r["body"])["channel"], json.loads(r["body"])["language"], json.loads(r["body"])["text"])
                    for r in platform.posts())
    assert bodies == [("dpe-en", "en", "The office will be closed on Monday."),
                      ("dpe-fr", "fr", "Le bureau sera fermé lundi.")]
    # Each step's team was emailed in its members' language, with the previous comment.
    wait_for(lambda: not OutboxEvent.objects.filter(dispatched_at__isnull=True).exists(), timeout=15,
             what="the outbox to drain")
    emails = worker.emails()
    to_tess = [e for e in emails if "tess@dpe.example" in e]
    assert len(to_tess) == 1 and "Good to go." in to_tess[0] and "attend l'étape" in to_tess[0]
    assert any("rami@dpe.example" in e and '"Review"' in e for e in emails)


def test_server_errors_are_retried_then_published_once(webhook_channels, platform, demo, start_worker):
    start_worker()
    post = flows.reply(demo, text="We will publish the schedule on our website shortly.")
    key = f"parley-post-{post.id}-ch-{demo.channel('dpe-en').id}-en"
    platform.scripts[key] = [500, 500, 500]
    wait_for(lambda: state_of(post.id) == PostState.PUBLISHED, timeout=30, what="the post to be published")
    pub = Publication.objects.get(post=post)
    assert (pub.status, pub.attempts) == (PS.SENT, 4)
    assert platform.counts_by_key()[key] == 4 and list(platform.published) == [key]


def test_client_error_fails_the_post_with_the_error_visible(webhook_channels, platform, demo, start_worker):
    start_worker()
    platform.default_status = 400
    post = flows.reply(demo, text="Our offices reopen on Tuesday morning.")
    wait_for(lambda: state_of(post.id) == PostState.FAILED, timeout=20, what="the post to fail")
    pub = Publication.objects.get(post=post)
    assert pub.status == PS.FAILED and "HTTP 400" in pub.last_error and pub.attempts == 1
    assert len(platform.posts()) == 1
