"""Idempotency-Key on POST: a retry returns the first response; two concurrent requests with
the same key never both act."""
from __future__ import annotations

import hashlib
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient

from accounts.services import token_issue
from workflows.models import IdempotencyRecord, InboundMessage, Post

from .conftest import assert_problem

BODY = {"channels": ["dpe-en"], "kind": "reply", "texts": {"en": "Thanks, we are on it."},
        "rules_acknowledged": True}


@pytest.mark.django_db
def test_a_retried_create_returns_the_first_response_and_creates_once(client_for):
    client = client_for("dana")
    first = client.post("/api/v1/posts/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    second = client.post("/api/v1/posts/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second["Idempotent-Replayed"] == "true"
    assert second["ETag"] == first["ETag"]
    assert Post.objects.filter(author__username="dana").count() == 1


@pytest.mark.django_db
def test_a_retried_action_does_not_act_twice(client_for, flow):
    post = flow.in_review()
    rami = client_for("rami")
    first = rami.post(f"/api/v1/posts/{post.id}/approve/", {}, format="json", HTTP_IDEMPOTENCY_KEY="approve-1")
    again = rami.post(f"/api/v1/posts/{post.id}/approve/", {}, format="json", HTTP_IDEMPOTENCY_KEY="approve-1")
    assert first.status_code == again.status_code == 200
    assert again.json()["version"] == first.json()["version"]
    assert post.decisions.count() == 1


@pytest.mark.django_db
def test_same_key_with_a_different_body_is_422(client_for):
    client = client_for("dana")
    client.post("/api/v1/posts/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    other = {**BODY, "texts": {"en": "Something else."}}
    body = assert_problem(client.post("/api/v1/posts/", other, format="json", HTTP_IDEMPOTENCY_KEY="k-2"), 422)
    assert body["type"].endswith("idempotency_key_reused")
    assert Post.objects.count() == 1


@pytest.mark.django_db
def test_keys_are_per_user(client_for):
    a = client_for("dana").post("/api/v1/posts/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    b = client_for("uma").post("/api/v1/posts/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    assert a.status_code == b.status_code == 201
    assert a.json()["id"] != b.json()["id"]


@pytest.mark.django_db
def test_an_error_is_not_stored_so_the_fixed_request_can_use_the_key(client_for):
    client = client_for("dana")
    bad = client.post("/api/v1/posts/", {**BODY, "kind": "tweet"}, format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    assert_problem(bad, 400)
    assert not IdempotencyRecord.objects.filter(key="k-3").exists()
    assert client.post("/api/v1/posts/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-3").status_code == 201


@pytest.mark.django_db
def test_records_expire_after_24_hours(client_for):
    client = client_for("dana")
    client.post("/api/v1/posts/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-4")
    IdempotencyRecord.objects.filter(key="k-4").update(created_at=timezone.now() - timedelta(hours=25))
    again = client.post("/api/v1/posts/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-4")
    assert again.status_code == 201 and not again.has_header("Idempotent-Replayed")
    assert Post.objects.count() == 2


@pytest.mark.django_db
def test_an_in_flight_key_is_409(client_for, demo):
    same = hashlib.sha256(b"POST\0/api/v1/posts/\0" + JSONRenderer().render(BODY)).hexdigest()
    IdempotencyRecord.objects.create(user=demo.dana, key="k-5", method="POST", path="/api/v1/posts/",
                                     request_hash=same)
    response = client_for("dana").post("/api/v1/posts/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-5")
    body = assert_problem(response, 409)
    assert body["type"].endswith("idempotency_in_progress")
    assert Post.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", " ", "x" * 201, "ключ"])
def test_bad_keys_are_400(client_for, key):
    response = client_for("dana").post("/api/v1/posts/", BODY, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert_problem(response, 400)


@pytest.mark.postgresql("threads racing for a unique key; SQLite locks the whole database")
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_the_same_key_act_once(demo):
    """Eight threads send the same ingest with the same key at once: one message, every
    response either the first one (201 / replayed) or a 409 'in progress'."""
    _, key = token_issue(user=demo.dana)
    barrier = threading.Barrier(8)
    results = []

    def worker():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        body = {"channel": "dpe-en", "external_id": "race-1", "author": "@c", "text": "Open today?"}
        barrier.wait()
        try:
            r = client.post("/api/v1/inbound/", body, format="json", HTTP_IDEMPOTENCY_KEY="race")
            results.append((r.status_code, r.get("Idempotent-Replayed")))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = [s for s, _ in results]
    assert len(statuses) == 8
    assert statuses.count(201) >= 1
    fresh = [s for s, replayed in results if s == 201 and replayed is None]
    assert len(fresh) == 1, results
    assert set(statuses) <= {201, 409}, results
    assert InboundMessage.objects.filter(external_id="race-1").count() == 1
    assert IdempotencyRecord.objects.filter(key="race").count() == 1
