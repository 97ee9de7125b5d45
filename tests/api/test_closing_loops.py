"""Closing the loops (issue 11): complete a review after the fact, dismiss a citizen message,
through the API. Each is permission-checked, audited and leaves the queue / the open inbox."""
from __future__ import annotations

import pytest

from workflows.constants import ReviewKind
from workflows.models import AuditEvent, PostReview
from workflows.services import posts as post_services

from .conftest import assert_problem

pytestmark = pytest.mark.django_db


def _urgent(flow, demo):
    post = flow.in_review(texts={"en": "Road closed.", "fr": "Route fermée."})
    post_services.post_publish_urgent(post_id=post.id, by=demo.uma, reason="Public safety")
    return post, PostReview.objects.get(post=post, kind=ReviewKind.RETROSPECTIVE)


def test_complete_a_retrospective_review(client_for, flow, demo):
    post, review = _urgent(flow, demo)
    cora = client_for("cora")
    queue = cora.get("/api/v1/queue/").json()["results"]
    assert [(i["kind"], i["review"]) for i in queue] == [("retrospective", review.id)]
    url = f"/api/v1/reviews/{review.id}/complete/"
    assert_problem(client_for("uma").post(url, {"verdict": "fine"}, format="json"), 403)  # broke the glass
    assert_problem(client_for("dana").post(url, {"verdict": "fine"}, format="json"), 403)  # the author
    assert_problem(client_for("omar").post(url, {"verdict": "fine"}, format="json"), 404)  # another organisation
    assert_problem(cora.post(url, {"verdict": "follow_up", "comment": " "}, format="json"), 400, field="comment")
    assert_problem(cora.post(url, {"verdict": "meh"}, format="json"), 400, field="verdict")
    r = cora.post(url, {"verdict": "follow_up", "comment": "Reason was thin."}, format="json")
    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["status"], body["verdict"], body["comment"], body["reviewer"]) == ("done", "follow_up", "Reason was thin.", "cora")
    assert cora.get("/api/v1/queue/").json()["count"] == 0
    event = AuditEvent.objects.filter(post=post, verb="retrospective_done").get()
    assert event.actor_id == demo.cora.id and event.data["verdict"] == "follow_up"
    assert_problem(cora.post(url, {"verdict": "fine"}, format="json"), 409)


def test_dismiss_an_inbound_message(client_for, flow, demo):
    msg = flow.inbound()
    dana = client_for("dana")
    url = f"/api/v1/inbound/{msg.id}/dismiss/"
    assert_problem(dana.post(url, {"reason": "boring"}, format="json"), 400, field="reason")
    assert_problem(client_for("omar").post(url, {"reason": "spam"}, format="json"), 404)
    assert_problem(client_for("rami").post(url, {"reason": "spam"}, format="json"), 403)  # no draft permission
    r = dana.post(url, {"reason": "handled_elsewhere", "comment": "Answered by phone."}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "dismissed"
    assert dana.get("/api/v1/inbound/?status=new").json()["count"] == 0
    event = AuditEvent.objects.get(inbound_id=msg.id, verb="dismissed")
    assert event.data == {"reason": "handled_elsewhere", "comment": "Answered by phone."}
    assert_problem(dana.post(url, {"reason": "spam"}, format="json"), 409)


def test_both_routes_are_in_the_openapi_schema(client_for):
    schema = client_for("dana").get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert "post" in schema["paths"]["/api/v1/reviews/{id}/complete/"]
    assert "post" in schema["paths"]["/api/v1/inbound/{id}/dismiss/"]
