"""The `actions` field: what the caller may do now, from the actions' own checks."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_a_post_in_review_lists_what_each_caller_may_do(client_for, flow):
    post = flow.in_review()
    assert client_for("rami").get(f"/api/v1/posts/{post.id}/").json()["actions"] == [
        "approve", "request_changes", "reject"]
    assert client_for("dana").get(f"/api/v1/posts/{post.id}/").json()["actions"] == ["withdraw"]
    assert client_for("tess").get(f"/api/v1/posts/{post.id}/").json()["actions"] == []


def test_the_answer_of_an_action_lists_what_is_possible_next(client_for, flow):
    post = flow.draft()
    dana = client_for("dana")
    assert set(dana.get(f"/api/v1/posts/{post.id}/").json()["actions"]) == {"edit", "submit", "withdraw"}
    body = dana.post(f"/api/v1/posts/{post.id}/submit/", {}, format="json").json()
    assert body["state"] == "in_review" and body["actions"] == ["withdraw"]


def test_listed_actions_succeed(client_for, flow):
    """What `actions` lists, the caller can do (the same check runs under the row lock)."""
    post = flow.in_review()
    rami = client_for("rami")
    assert "approve" in rami.get(f"/api/v1/posts/{post.id}/").json()["actions"]
    after = rami.post(f"/api/v1/posts/{post.id}/approve/", {}, format="json")
    assert after.status_code == 200
    assert "approve" not in after.json()["actions"]  # the next step is not Rami's


def test_lists_leave_actions_out(client_for, flow):
    flow.in_review()
    rows = client_for("rami").get("/api/v1/posts/").json()["results"]
    assert rows and all("actions" not in row for row in rows)


def test_a_citizen_message_lists_claim_reply_dismiss(client_for, flow):
    msg = flow.inbound()
    body = client_for("dana").post(f"/api/v1/inbound/{msg.id}/claim/", {}, format="json").json()
    assert body["actions"] == ["claim", "reply", "dismiss"]
    body = client_for("uma").post(f"/api/v1/inbound/{msg.id}/dismiss/", {"reason": "spam"}, format="json").json()
    assert body["status"] == "dismissed" and body["actions"] == ["reply"]


def test_the_schema_documents_actions():
    from rest_framework.test import APIClient

    doc = APIClient().get("/api/schema/?format=json").json()
    detail = doc["components"]["schemas"]["PostDetail"]["properties"]["actions"]
    assert detail["type"] == "array"
    items = detail["items"]
    if "$ref" in items:
        items = doc["components"]["schemas"][items["$ref"].rsplit("/", 1)[1]]
    assert "approve" in items["enum"]
    assert "actions" in doc["components"]["schemas"]["InboundDetail"]["properties"]
