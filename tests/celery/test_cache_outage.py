"""Issue 19 §7: the API never answers 500 because Redis is down. DRF's throttles read and write
Django's cache on Redis; the cache fails open (config/cache.py), so reads and writes go on while
Redis is stopped, and throttling resumes when it is back. Before: every request answered 500."""
from __future__ import annotations

import logging

import pytest
import redis
from django.conf import settings as dj_settings
from django.core.cache import cache
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def cache_on_private_redis(settings, private_redis, monkeypatch):
    """The application's cache, exactly as configured, on a Redis this test may stop; the
    throttles count there again (tests/conftest.py gives them a private in-memory cache)."""
    from rest_framework.throttling import SimpleRateThrottle

    settings.CACHES = {"default": {**dj_settings.CACHES["default"], "LOCATION": private_redis.url}}
    monkeypatch.setattr(SimpleRateThrottle, "cache", cache)
    assert cache.set("probe", 1) is None and cache.get("probe") == 1
    yield private_redis
    cache.close()


def test_api_reads_and_writes_go_on_while_redis_is_down(demo, cache_on_private_redis, caplog):
    from accounts.services import token_issue

    dana = APIClient()
    _token, key = token_issue(user=demo.dana)
    dana.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert dana.get("/api/v1/me/").status_code == 200
    assert any(k.startswith(b":1:throttle_user_") for k in redis.Redis.from_url(cache_on_private_redis.url).keys())

    cache_on_private_redis.stop()
    caplog.set_level(logging.WARNING, logger="parley.cache")
    for path in ("/api/v1/me/", "/api/v1/posts/", "/api/v1/channels/", "/api/v1/inbound/", "/api/v1/queue/"):
        answer = dana.get(path)
        assert answer.status_code == 200, (path, answer.status_code, answer.content[:300])
    created = dana.post("/api/v1/posts/", {"kind": "reply", "channels": ["dpe-en"], "rules_acknowledged": True,
                                           "texts": {"en": "Thank you, the form is online now."}}, format="json")
    assert created.status_code == 201, created.content
    submitted = dana.post(f"/api/v1/posts/{created.json()['id']}/submit/", {}, format="json")
    assert submitted.status_code == 200, submitted.content
    assert APIClient().get("/api/v1/posts/").status_code == 401  # anonymous: refused, not a 500
    assert any("failing open" in r.getMessage() for r in caplog.records), [r.getMessage() for r in caplog.records]

    cache_on_private_redis.start()  # back: the cache (and throttling) work again
    assert dana.get("/api/v1/me/").status_code == 200
    cache.set("probe", 2)
    assert cache.get("probe") == 2
