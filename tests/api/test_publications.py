"""POST /api/v1/publications/{id}/resolve/: a person settles a publication whose outcome is
unknown (the platform may or may not have it). Unknown outcomes are reached through the real
delivery path (Flow.unknown: a webhook whose answer is lost, no lookup URL)."""
from __future__ import annotations

import json

import pytest

from workflows.models import AuditEvent, Channel, Publication
from workflows.services import delivery

from .conftest import assert_problem

pytestmark = pytest.mark.django_db


def url(pub) -> str:
    return f"/api/v1/publications/{pub.id}/resolve/"


def test_resolve_both_ways_then_retry_sends_only_what_was_not_published(client_for, flow, demo, settings, tmp_path):
    en, fr = flow.unknown()
    cora = client_for("cora")
    post_id = en.post_id
    before = cora.get(f"/api/v1/posts/{post_id}/").json()
    assert before["state"] == "failed"
    assert {p["id"]: p["status"] for p in before["publications"]} == {en.id: "unknown", fr.id: "unknown"}

    sent = cora.post(url(en), {"sent": True, "url": "https://social.example/@DPE_en/1", "external_id": "ext-77"},
                     format="json")
    assert sent.status_code == 200, sent.content
    body = sent.json()
    assert body["id"] == post_id and body["state"] == "failed"  # retrying settles the post
    assert sent["ETag"] == f'W/"{body["version"]}"'
    mine = {p["id"]: p for p in body["publications"]}
    assert (mine[en.id]["status"], mine[en.id]["url"], mine[en.id]["external_id"]) == (
        "sent", "https://social.example/@DPE_en/1", "ext-77")
    assert mine[fr.id]["status"] == "unknown"

    not_sent = cora.post(url(fr), {"sent": False}, format="json")
    assert not_sent.status_code == 200, not_sent.content
    assert {p["id"]: p["status"] for p in not_sent.json()["publications"]} == {en.id: "sent", fr.id: "failed"}
    resolved = list(AuditEvent.objects.filter(post_id=post_id, verb="publication_resolved").order_by("seq")
                    .values_list("actor__username", "data"))
    assert [(who, d["publication_id"], d["sent"]) for who, d in resolved] == [
        ("cora", en.id, True), ("cora", fr.id, False)]

    # Retrying sends the French text only: the English one is on the platform already.
    retried = cora.post(f"/api/v1/posts/{post_id}/retry/", {}, format="json")
    assert retried.status_code == 200 and retried.json()["state"] == "publishing"
    settings.PUBLISH_LOG_PATH = str(tmp_path / "published.log")
    Channel.objects.filter(posts=post_id).update(adapter="log", adapter_config={})
    assert delivery.post_deliver(post_id=post_id) == "published"
    lines = [json.loads(line) for line in (tmp_path / "published.log").read_text().splitlines()]
    assert [(line["channel"], line["language"]) for line in lines] == [("dpe-fr", "fr")]


def test_resolve_needs_the_publish_permission(client_for, flow):
    en, _fr = flow.unknown()
    for name in ("dana", "rami", "tess", "uma"):  # the author too: publishing is not hers to settle
        body = assert_problem(client_for(name).post(url(en), {"sent": True}, format="json"), 403)
        assert body["type"] == "urn:parley:problem:channel_permission"
    en.refresh_from_db()
    assert en.status == "unknown"
    assert not AuditEvent.objects.filter(post_id=en.post_id, verb="publication_resolved").exists()


def test_another_organisations_publication_does_not_exist(client_for, flow):
    ours, _fr = flow.unknown()
    (theirs,) = flow.unknown("other")
    assert_problem(client_for("omar").post(url(ours), {"sent": True}, format="json"), 404)
    assert_problem(client_for("cora").post(url(theirs), {"sent": False}, format="json"), 404)
    assert_problem(client_for("cora").post("/api/v1/publications/999999999/resolve/", {"sent": True},
                                           format="json"), 404)
    assert_problem(client_for("cora").post("/api/v1/publications/99999999999999999999/resolve/", {"sent": True},
                                           format="json"), 404)
    assert {p.status for p in Publication.objects.filter(id__in=[ours.id, theirs.id])} == {"unknown"}
    # ...and omar settles his own agency's.
    assert client_for("omar").post(url(theirs), {"sent": False}, format="json").status_code == 200


def test_only_an_unknown_outcome_can_be_resolved(client_for, flow):
    en, _fr = flow.unknown()
    cora = client_for("cora")
    assert cora.post(url(en), {"sent": False}, format="json").status_code == 200
    body = assert_problem(cora.post(url(en), {"sent": True}, format="json"), 409)
    assert body["type"] == "urn:parley:problem:not_unknown"
    en.refresh_from_db()
    assert en.status == "failed"


def test_a_publication_that_was_sent_cannot_be_resolved(client_for, flow, settings, tmp_path):
    settings.PUBLISH_LOG_PATH = str(tmp_path / "published.log")
    post = flow.approved()
    assert delivery.post_deliver(post_id=post.id) == "published"
    pub = Publication.objects.filter(post=post.id).first()
    assert_problem(client_for("cora").post(url(pub), {"sent": False}, format="json"), 409)
    pub.refresh_from_db()
    assert pub.status == "sent"


@pytest.mark.parametrize(("body", "field"), [
    ({}, "sent"),
    ({"sent": "maybe"}, "sent"),
    ({"sent": True, "url": "not a url"}, "url"),
    ({"sent": True, "url": "https://social.example/" + "x" * 500}, "url"),
    ({"sent": False, "url": "https://social.example/1"}, "url"),
    ({"sent": False, "external_id": "ext-1"}, "external_id"),
    ({"sent": True, "status": "sent"}, "status"),
])
def test_malformed_bodies_are_400(client_for, flow, body, field):
    en, _fr = flow.unknown()
    assert_problem(client_for("cora").post(url(en), body, format="json"), 400, field=field)
    en.refresh_from_db()
    assert en.status == "unknown"


def test_idempotency_key_replays_instead_of_resolving_twice(client_for, flow):
    en, _fr = flow.unknown()
    cora = client_for("cora")
    key = {"HTTP_IDEMPOTENCY_KEY": "resolve-en-1"}
    first = cora.post(url(en), {"sent": True, "url": "https://social.example/1"}, format="json", **key)
    again = cora.post(url(en), {"sent": True, "url": "https://social.example/1"}, format="json", **key)
    assert first.status_code == again.status_code == 200
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert again["ETag"] == first["ETag"]
    assert AuditEvent.objects.filter(post_id=en.post_id, verb="publication_resolved").count() == 1
    other = cora.post(url(en), {"sent": False}, format="json", **key)
    assert_problem(other, 422)


def test_the_schema_documents_resolve():
    from rest_framework.test import APIClient

    doc = APIClient().get("/api/schema/?format=json").json()
    op = doc["paths"]["/api/v1/publications/{id}/resolve/"]["post"]
    assert {"200", "400", "401", "403", "404", "409"} <= set(op["responses"])
    assert op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/PostDetail")
    assert "ETag" in op["responses"]["200"]["headers"]
    assert any(p["name"] == "Idempotency-Key" for p in op["parameters"])
    request = doc["components"]["schemas"]["PublicationResolveRequest"]
    assert request["required"] == ["sent"] and set(request["properties"]) == {"sent", "url", "external_id"}
    assert "id" in doc["components"]["schemas"]["Publication"]["properties"]
