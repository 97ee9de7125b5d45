"""GET /prometheus: refused unless configured; a bearer token and/or allowed networks; the gauges
and counters operations need."""
from __future__ import annotations

import pytest
from django.test import Client

from tests.workflows import factories

pytestmark = pytest.mark.django_db


def test_disabled_unless_a_token_or_a_network_is_set(settings):
    settings.PROMETHEUS_TOKEN = ""
    settings.PROMETHEUS_ALLOWED_NETWORKS = []
    assert Client().get("/prometheus").status_code == 404


def test_bearer_token_refused_then_accepted(settings, demo):
    settings.PROMETHEUS_TOKEN = "scrape-secret-123"
    settings.PROMETHEUS_ALLOWED_NETWORKS = []
    client = Client()
    refused = client.get("/prometheus")
    assert refused.status_code == 401 and refused["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/prometheus", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/prometheus", HTTP_AUTHORIZATION="Token scrape-secret-123").status_code == 401
    factories.at_review(demo)
    factories.published(demo)
    client.get("/healthz")  # one observed request
    ok = client.get("/prometheus", HTTP_AUTHORIZATION="Bearer scrape-secret-123")
    assert ok.status_code == 200 and ok["Content-Type"].startswith("text/plain")
    text = ok.content.decode()
    for name in ("parley_outbox_lag_seconds", "parley_outbox_pending", "parley_posts{state=\"in_review\"} 1.0",
                 "parley_publications{platform=\"mastodon\",status=\"sent\"}",
                 "parley_reply_first_response_seconds_count", 'parley_http_request_duration_seconds_bucket{le="0.005",'
                 'method="GET",route="healthz",status="200"}', "parley_celery_queue_length{queue=\"publish\"}"):
        assert name in text, name


def test_allowed_networks_refuse_other_addresses(settings):
    settings.PROMETHEUS_TOKEN = ""
    settings.PROMETHEUS_ALLOWED_NETWORKS = ["10.1.0.0/16"]
    client = Client()
    assert client.get("/prometheus", REMOTE_ADDR="192.168.4.4").status_code == 403
    assert client.get("/prometheus", REMOTE_ADDR="10.1.2.3").status_code == 200
    settings.PROMETHEUS_TOKEN = "t0ken"
    assert client.get("/prometheus", REMOTE_ADDR="10.1.2.3").status_code == 401  # both must hold
    assert client.get("/prometheus", REMOTE_ADDR="10.1.2.3", HTTP_AUTHORIZATION="Bearer t0ken").status_code == 200
    assert client.get("/prometheus", REMOTE_ADDR="192.168.4.4", HTTP_AUTHORIZATION="Bearer t0ken").status_code == 403


def test_task_metrics_reuse_one_broker_connection(settings):
    """Celery task metrics (task_postrun) cost a pipelined round trip on a kept connection, not a
    new TCP connection per task (issue 14: the reply path's worker time)."""
    import redis

    from config import prometheus

    settings.CELERY_BROKER_URL = settings.REDIS_URL
    server = redis.Redis.from_url(settings.REDIS_URL)
    prometheus.task_finished(task_id="warm-up", task=None, state="SUCCESS")
    before = server.info("stats")["total_connections_received"]
    for i in range(20):
        prometheus.task_started(task_id=f"t{i}")
        prometheus.task_finished(task_id=f"t{i}", task=None, state="SUCCESS")
    assert server.info("stats")["total_connections_received"] - before <= 1  # at most the check's own
