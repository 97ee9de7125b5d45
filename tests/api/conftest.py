"""Fixtures for the API tests: token clients per demo user and posts reached through services."""
from __future__ import annotations

import uuid

import pytest
from rest_framework.test import APIClient

from accounts.services import token_issue

USERS = ("dana", "rami", "tess", "cora", "uma", "omar")
PROBLEM = "application/problem+json"


@pytest.fixture(autouse=True)
def _fresh_throttle_cache(monkeypatch):
    """Throttle counters normally live in the shared cache (Redis, which is also the broker):
    give every test its own empty in-memory counters instead of flushing Redis."""
    from django.core.cache.backends.locmem import LocMemCache
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(SimpleRateThrottle, "cache", LocMemCache(f"throttle-{uuid.uuid4()}", {}))


@pytest.fixture
def client_for(demo):
    """client_for("dana") -> an APIClient authenticated with a fresh token of dana's."""
    clients = {}

    def make(username: str | None) -> APIClient:
        if username not in clients:
            client = APIClient()
            if username is not None:
                _, key = token_issue(user=getattr(demo, username))
                client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
            clients[username] = client
        return clients[username]

    return make


def assert_problem(response, status: int, *, field: str | None = None) -> dict:
    """The response is problem details with `status` (and an error for `field`)."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith(PROBLEM), response["Content-Type"]
    body = response.json()
    assert set(body) >= {"type", "title", "status", "detail", "errors"}, body
    assert body["status"] == status
    assert isinstance(body["errors"], dict)
    assert body["type"].startswith("urn:parley:problem:")
    if field is not None:
        assert field in body["errors"], body
    return body


class Flow:
    """Reach post states through the real services (never by writing `state=`)."""

    def __init__(self, demo):
        self.demo = demo

    def draft(self, author="dana", *, lane="official", kind="post", channels=None, texts=None,
              acknowledged=True):
        from workflows.services.posts import post_create

        user = getattr(self.demo, author)
        if channels is None:
            channels = ["dpe-en", "dpe-fr"] if user.organisation.slug == "dpe" else ["other-en"]
        return post_create(
            author=user, channels=channels, kind=kind, lane=lane,
            texts=texts or {"en": "Our offices reopen on Monday at 9:00."},
            rules_acknowledged=acknowledged,
        )

    def in_review(self, author="dana", **kwargs):
        from workflows.services.posts import post_submit

        post = self.draft(author, **kwargs)
        return post_submit(post_id=post.id, by=getattr(self.demo, author))

    def at_translation(self):
        from workflows.services.reviews import post_approve

        post = self.in_review()
        return post_approve(post_id=post.id, by=self.demo.rami)

    def at_sign_off(self):
        from workflows.services.reviews import post_approve
        from workflows.services.translations import translation_provide

        post = self.at_translation()
        translation_provide(post_id=post.id, by=self.demo.tess, language="fr",
                            text="Nos bureaux rouvrent lundi à 9 h.")
        return post_approve(post_id=post.id, by=self.demo.tess)

    def approved(self):
        from workflows.services.reviews import post_approve

        post = self.at_sign_off()
        return post_approve(post_id=post.id, by=self.demo.cora)

    def changes_requested(self, author="dana"):
        from workflows.services.reviews import post_request_changes

        post = self.in_review(author)
        reviewer = self.demo.rami if author == "dana" else None
        if reviewer is None:
            raise ValueError("only dana's posts")
        return post_request_changes(post_id=post.id, by=reviewer, comment="Shorter, please.")

    def failed(self):
        """approved → publishing → failed, through the publishing services."""
        from workflows.services.publishing import post_mark_failed, post_publish_start

        post = self.approved()
        post_publish_start(post_id=post.id)
        return post_mark_failed(post_id=post.id, error="platform down")

    def unknown(self, which="own"):
        """A post whose publications' outcome is unknown, through the real delivery path: the
        webhook adapter with no lookup URL, whose request times out after it may have been sent
        (as tests/celery does). dpe: an official post (en + fr); other: omar's reply (en)."""
        from unittest import mock

        import requests

        from workflows.models import Channel, Publication
        from workflows.services import delivery
        from workflows.services.posts import post_submit

        if which == "own":
            post = self.approved()
        else:
            draft = self.other_draft()
            post = post_submit(post_id=draft.id, by=self.demo.omar)
        Channel.objects.filter(posts=post.id).update(
            adapter="webhook", adapter_config={"url": "http://127.0.0.1:9/publish"})
        with mock.patch.object(requests.Session, "request", side_effect=requests.ReadTimeout("answer lost")):
            state = delivery.post_deliver(post_id=post.id)
        assert state == "failed", state
        pubs = list(Publication.objects.filter(post=post.id).order_by("language"))
        assert pubs and all(p.status == "unknown" for p in pubs), [(p.status, p.last_error) for p in pubs]
        return pubs

    def other_draft(self):
        """omar's agency publishes only in English, so its official lane (en + fr) cannot be
        satisfied: its posts in these tests are conversation-lane replies."""
        return self.draft("omar", lane="conversation", kind="reply", texts={"en": "Other agency news."})

    def inbound(self, channel="dpe-en", external_id="m-1", by="dana", text="Is the office open today?"):
        from workflows.services.inbound import inbound_ingest

        msg, _ = inbound_ingest(by=getattr(self.demo, by), channel=channel, external_id=external_id,
                                author="@citizen", text=text, language="en")
        return msg


@pytest.fixture
def flow(demo):
    return Flow(demo)
