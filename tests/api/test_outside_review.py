"""`/api/v1/posts/{id}/invitations/` and `/api/v1/invitations/{id}/`: invite someone from
outside, list, read, revoke; the link never appears in a response; bad input changes nothing."""
from __future__ import annotations

import re

import pytest
from django.core import mail

from workflows.exceptions import Gone
from workflows.models import AuditEvent, OutsideInvitation
from workflows.services import outside_review

from .conftest import assert_problem

pytestmark = pytest.mark.django_db


def test_invite_list_read_and_revoke(client_for, flow, django_capture_on_commit_callbacks):
    post = flow.in_review("dana")
    rami = client_for("rami")
    with django_capture_on_commit_callbacks(execute=True):
        r = rami.post(f"/api/v1/posts/{post.id}/invitations/",
                      {"email": "Legal@Firm.example", "languages": ["en"], "hours": 24}, format="json")
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["email"] == "legal@firm.example" and body["status"] == "open" and body["languages"] == ["en"]
    assert body["step"]["kind"] == "review" and body["created_by"] == "rami"
    assert r["Location"] == f"/api/v1/invitations/{body['id']}/"
    (msg,) = mail.outbox
    token = re.search(r"/o/([A-Za-z0-9_-]{43})/", msg.body).group(1)
    assert msg.body.count(f"http://testserver/o/{token}/") == 2  # the request's address, in both languages
    assert token not in r.content.decode()
    listed = client_for("dana").get(f"/api/v1/posts/{post.id}/invitations/").json()
    assert [i["id"] for i in listed["results"]] == [body["id"]]
    assert token not in str(listed)
    assert client_for("tess").get(f"/api/v1/invitations/{body['id']}/").json()["email"] == "legal@firm.example"
    r = client_for("cora").post(f"/api/v1/invitations/{body['id']}/revoke/")
    assert r.status_code == 200 and r.json()["status"] == "revoked"
    assert AuditEvent.objects.filter(post=post, verb="outside_revoked").exists()
    assert_problem(client_for("cora").post(f"/api/v1/invitations/{body['id']}/revoke/"), 409)
    with pytest.raises(Gone):
        outside_review.invitation_resolve(token=token)


@pytest.mark.parametrize(("body", "field"), [
    ({"email": "nobody", "languages": ["en"]}, "email"),
    ({"email": "x@y.example", "languages": ["de"]}, "languages"),
    ({"email": "x@y.example", "languages": []}, "languages"),
    ({"email": "x@y.example", "languages": ["en"], "hours": 100000}, "hours"),
    ({"email": "x@y.example", "languages": ["en"], "can_edit": True}, "can_edit"),
    ({"email": "x@y.example", "languages": ["en"], "token": "mine"}, "token"),
    ({"email": "a" * 300 + "@y.example", "languages": ["en"]}, "email"),
])
def test_bad_input_is_a_clear_400_and_changes_nothing(client_for, flow, body, field):
    post = flow.in_review("dana")
    r = client_for("rami").post(f"/api/v1/posts/{post.id}/invitations/", body, format="json")
    assert_problem(r, 400, field=field)
    assert not OutsideInvitation.objects.exists()


def test_refusals_speak_the_readers_language(client_for, flow):
    post = flow.in_review("dana")
    r = client_for("dana").post(f"/api/v1/posts/{post.id}/invitations/?lang=fr",
                                {"email": "x@y.example", "languages": ["en"]}, format="json")
    body = assert_problem(r, 403)
    assert body["code"] == "outside.not_permitted"
    assert "extérieur" in body["detail"]
    r = client_for("rami").post(f"/api/v1/posts/{post.id}/invitations/",
                                {"email": "dana@dpe.example", "languages": ["en"]}, format="json")
    assert assert_problem(r, 403)["code"] == "outside.has_account"
    assert not OutsideInvitation.objects.exists()
