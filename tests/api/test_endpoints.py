"""me, channels, lanes, queue, inbound, metrics, webhooks, schema and docs."""
from __future__ import annotations

import pytest
from guardian.shortcuts import assign_perm
from rest_framework.test import APIClient

from workflows.models import InboundMessage, WebhookSubscription

from .conftest import assert_problem

pytestmark = pytest.mark.django_db


def test_me(client_for):
    body = client_for("dana").get("/api/v1/me/").json()
    assert body["username"] == "dana" and body["organisation"] == "dpe"
    assert body["permissions"]["dpe-en"] == ["draft_channel"]
    assert "other-en" not in body["permissions"]


def test_channels_are_scoped_to_the_organisation(client_for):
    dpe = client_for("dana").get("/api/v1/channels/").json()
    assert [c["slug"] for c in dpe["results"]] == ["dpe-en", "dpe-fr"]
    assert set(dpe["results"][0]) >= {"id", "slug", "platform", "handle", "languages"}
    other = client_for("omar").get("/api/v1/channels/").json()
    assert [c["slug"] for c in other["results"]] == ["other-en", "other-fr"]


def test_lanes_with_steps_and_guidelines(client_for):
    lanes = {lane["slug"]: lane for lane in client_for("dana").get("/api/v1/lanes/").json()["results"]}
    assert lanes["conversation"]["kind"] == "conversation" and lanes["conversation"]["steps"] == []
    official = lanes["official"]
    assert official["required_languages"] == ["en", "fr"]
    assert [(s["order"], s["name"], s["team"]) for s in official["steps"]] == [
        (1, "Review", "managers"), (2, "Translation", "translators"), (3, "Sign-off", "communications")]
    assert official["steps"][0]["sla_seconds"] == 4 * 3600
    assert {g["kind"] for g in official["guidelines"]} >= {"length", "four_rules"}


def test_queue_lists_what_waits_for_the_caller_with_due_at(client_for, flow):
    post = flow.in_review()
    rami = client_for("rami").get("/api/v1/queue/").json()
    assert rami["count"] == 1
    item = rami["results"][0]
    assert item["post"]["id"] == post.id and item["kind"] == "review" and item["step"] == "Review"
    assert item["due_at"] is not None and item["overdue"] is False
    assert client_for("tess").get("/api/v1/queue/").json()["count"] == 0
    assert client_for("dana").get("/api/v1/queue/").json()["count"] == 0  # never one's own post
    assert client_for("omar").get("/api/v1/queue/").json()["count"] == 0


def test_queue_is_most_overdue_first(client_for, flow):
    from workflows.models import Post

    late = flow.in_review(texts={"en": "Older post."})
    fresh = flow.in_review(texts={"en": "Newer post."})
    # Age the first post's step through the clock, not its state.
    import datetime as dt

    from django.utils import timezone
    Post.objects.filter(id=late.id).update(step_entered_at=timezone.now() - dt.timedelta(hours=10))
    items = client_for("rami").get("/api/v1/queue/").json()["results"]
    assert [i["post"]["id"] for i in items] == [late.id, fresh.id]
    assert items[0]["overdue"] is True and items[1]["overdue"] is False


INBOUND = {"channel": "dpe-en", "external_id": "toot-1", "author": "@citizen",
           "text": "Is the passport office open on Saturday?", "url": "https://social.example/@citizen/1"}


def test_inbound_ingest_is_201_then_200_for_the_same_message(client_for):
    dana = client_for("dana")
    first = dana.post("/api/v1/inbound/", INBOUND, format="json")
    assert first.status_code == 201, first.content
    assert first.json()["language"] == "en" and first.json()["status"] == "new"
    again = dana.post("/api/v1/inbound/", {**INBOUND, "text": "edited"}, format="json")
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert InboundMessage.objects.filter(external_id="toot-1").count() == 1


def test_inbound_ingest_validation(client_for):
    dana = client_for("dana")
    assert_problem(dana.post("/api/v1/inbound/", {**INBOUND, "language": "de"}, format="json"), 400, field="language")
    assert_problem(dana.post("/api/v1/inbound/", {**INBOUND, "url": "not a url"}, format="json"), 400, field="url")
    assert_problem(dana.post("/api/v1/inbound/", {**INBOUND, "channel": "other-en"}, format="json"), 400, field="channel")
    assert_problem(client_for("rami").post("/api/v1/inbound/", INBOUND, format="json"), 403)


def test_inbox_filters_and_claim(client_for, flow):
    a = flow.inbound(external_id="a")
    b = flow.inbound(external_id="b", channel="dpe-fr", text="Le bureau est-il ouvert?")
    flow.inbound(channel="other-en", by="omar")
    dana, uma = client_for("dana"), client_for("uma")
    assert {m["id"] for m in dana.get("/api/v1/inbound/").json()["results"]} == {a.id, b.id}
    assert [m["id"] for m in dana.get("/api/v1/inbound/?channel=dpe-fr").json()["results"]] == [b.id]
    claimed = dana.post(f"/api/v1/inbound/{a.id}/claim/", {}, format="json")
    assert claimed.status_code == 200 and claimed.json()["assignee"] == "dana"
    assert [m["id"] for m in dana.get("/api/v1/inbound/?assignee=me").json()["results"]] == [a.id]
    assert [m["id"] for m in dana.get("/api/v1/inbound/?assignee=dana&status=claimed").json()["results"]] == [a.id]
    assert [m["id"] for m in dana.get("/api/v1/inbound/?assignee=none").json()["results"]] == [b.id]
    assert dana.post(f"/api/v1/inbound/{a.id}/claim/", {}, format="json").status_code == 200  # mine already
    assert_problem(uma.post(f"/api/v1/inbound/{a.id}/claim/", {}, format="json"), 409)
    assert_problem(client_for("omar").post(f"/api/v1/inbound/{a.id}/claim/", {}, format="json"), 404)
    assert_problem(dana.get("/api/v1/inbound/?status=lost"), 400)


def test_metrics(client_for):
    body = client_for("dana").get("/api/v1/metrics/?since=2026-01-01T00:00:00Z&until=2026-02-01T00:00:00Z").json()
    assert {c["channel"] for c in body["channels"]} == {"dpe-en", "dpe-fr"}
    assert set(body["channels"][0]) >= {"first_response_seconds", "replies", "broadcasts", "step_median_seconds"}
    one = client_for("dana").get("/api/v1/metrics/?channel=dpe-fr").json()
    assert [c["channel"] for c in one["channels"]] == ["dpe-fr"]


def test_metrics_report_the_outbox_lag(client_for, flow):
    """The relay's state now, the same whatever the period or channel asked for."""
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    from workflows.models import OutboxEvent
    from workflows.services import relay

    start = timezone.now()
    dana = client_for("dana")
    with time_machine.travel(start, tick=False):
        assert dana.get("/api/v1/metrics/").json()["outbox"] == {"lag_seconds": 0.0, "pending": 0}
        flow.draft()
    pending = OutboxEvent.objects.filter(dispatched_at__isnull=True).count()
    assert pending >= 1
    with time_machine.travel(start + timedelta(seconds=90), tick=False):
        assert dana.get("/api/v1/metrics/?channel=dpe-fr").json()["outbox"] == {"lag_seconds": 90.0, "pending": pending}
        assert client_for("omar").get("/api/v1/metrics/").json()["outbox"] == {"lag_seconds": 90.0, "pending": pending}
        # Relayed (leased to a task): nothing is waiting any more.
        assert relay.relay_outbox(enqueue=lambda event_id, topic: None) == pending
        assert dana.get("/api/v1/metrics/").json()["outbox"] == {"lag_seconds": 0.0, "pending": 0}


@pytest.mark.parametrize("query", [
    "since=yesterday", "until=2026-13-01T00:00:00Z", "since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z",
    "channel=other-en", "channel=nope", "channel=%00", "bogus=1",
])
def test_metrics_bad_parameters_are_400(client_for, query):
    assert_problem(client_for("dana").get(f"/api/v1/metrics/?{query}"), 400)


def test_webhooks_crud_for_a_channel_manager(client_for, demo):
    assign_perm("workflows.manage_channel", demo.cora, demo.channel("dpe-en"))
    cora = client_for("cora")
    created = cora.post("/api/v1/webhooks/", {"url": "https://hooks.example/parley", "secret": "0123456789abcdef!",
                                              "events": ["post.published"]}, format="json")
    assert created.status_code == 201, created.content
    hook = created.json()
    assert "secret" not in hook and hook["events"] == ["post.published"] and hook["created_by"] == "cora"
    assert WebhookSubscription.objects.get(id=hook["id"]).secret == "0123456789abcdef!"
    assert cora.get("/api/v1/webhooks/").json()["count"] == 1
    patched = cora.patch(f"/api/v1/webhooks/{hook['id']}/", {"is_active": False, "secret": "another-secret-123"}, format="json")
    assert patched.status_code == 200 and patched.json()["is_active"] is False and "secret" not in patched.json()
    assert_problem(cora.post("/api/v1/webhooks/", {"url": "https://x.example", "secret": "short"}, format="json"), 400, field="secret")
    assert_problem(cora.post("/api/v1/webhooks/", {"url": "https://x.example", "secret": "0123456789abcdef",
                                                   "events": ["nope"]}, format="json"), 400)
    assert_problem(client_for("dana").get(f"/api/v1/webhooks/{hook['id']}/"), 403)
    assert_problem(client_for("omar").get(f"/api/v1/webhooks/{hook['id']}/"), 404)
    assert cora.delete(f"/api/v1/webhooks/{hook['id']}/").status_code == 204
    assert_problem(cora.get(f"/api/v1/webhooks/{hook['id']}/"), 404)


def test_superuser_manages_webhooks(client_for):
    """Create, list, read, change and delete a subscription, through the API; the secret is
    write-only."""
    admin = client_for("admin")
    created = admin.post("/api/v1/webhooks/", {"url": "https://hooks.example/a", "secret": "0123456789abcdef",
                                               "events": ["post.approved"]}, format="json")
    assert created.status_code == 201, created.content
    hook = created.json()
    assert hook["url"] == "https://hooks.example/a" and hook["events"] == ["post.approved"]
    assert "secret" not in hook
    url = f"/api/v1/webhooks/{hook['id']}/"
    assert hook["id"] in [h["id"] for h in admin.get("/api/v1/webhooks/").json()["results"]]
    changed = admin.patch(url, {"is_active": False, "events": ["post.published"]}, format="json")
    assert changed.status_code == 200, changed.content
    again = admin.get(url).json()
    assert again["is_active"] is False and again["events"] == ["post.published"] and "secret" not in again
    assert admin.delete(url).status_code == 204
    assert admin.get(url).status_code == 404
    assert hook["id"] not in [h["id"] for h in admin.get("/api/v1/webhooks/").json()["results"]]


def test_schema_and_offline_swagger_ui():
    client = APIClient()
    schema = client.get("/api/schema/?format=json")
    assert schema.status_code == 200
    doc = schema.json()
    assert "/api/v1/posts/{id}/approve/" in doc["paths"]
    approve = doc["paths"]["/api/v1/posts/{id}/approve/"]["post"]
    assert {"200", "400", "401", "403", "404", "409", "422"} <= set(approve["responses"])
    assert "application/problem+json" in approve["responses"]["409"]["content"]
    assert "ETag" in approve["responses"]["200"]["headers"]
    states = doc["components"]["schemas"]["PostStateEnum"]["enum"]
    assert states == ["draft", "in_review", "changes_requested", "approved", "scheduled", "publishing",
                      "published", "rejected", "withdrawn", "failed", "retracted"]
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content and b"cdn.jsdelivr" not in docs.content
