"""/api/v1/caretaker-periods/: declare, list, end; refusals are problem details; French words."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.workflows import factories as f
from workflows.constants import PostState
from workflows.models import CaretakerPeriod, Post

from .conftest import assert_problem

pytestmark = pytest.mark.django_db


def _body(**kw):
    now = datetime.now(UTC)
    return {"name_en": "2027 general election", "name_fr": "Élections générales de 2027",
            "starts_at": (now - timedelta(hours=1)).isoformat(), "ends_at": (now + timedelta(days=30)).isoformat(),
            "banner_en": "Caretaker period", "banner_fr": "Période de transition", **kw}


def test_communications_declares_a_period_and_sees_the_posts_it_catches(client_for, demo):
    scheduled = f.scheduled(demo)
    r = client_for("cora").post("/api/v1/caretaker-periods/", _body(paused_channels=["dpe-fr"]), format="json")
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["posts_caught"] == [scheduled.id]
    assert body["paused_channels"] == ["dpe-fr"] and body["active"] is True
    assert r["Location"] == f"/api/v1/caretaker-periods/{body['id']}/"
    listed = client_for("dana").get("/api/v1/caretaker-periods/").json()
    assert [p["id"] for p in listed["results"]] == [body["id"]]
    assert client_for("omar").get("/api/v1/caretaker-periods/").json()["results"] == []
    assert_problem(client_for("omar").get(f"/api/v1/caretaker-periods/{body['id']}/"), 404)


def test_names_and_banner_follow_the_callers_language(client_for, demo):
    r = client_for("cora").post("/api/v1/caretaker-periods/", _body(), format="json")
    pid = r.json()["id"]
    en = client_for("cora").get(f"/api/v1/caretaker-periods/{pid}/").json()
    assert (en["name"], en["banner"]) == ("2027 general election", "Caretaker period")
    fr = client_for("cora").get(f"/api/v1/caretaker-periods/{pid}/?lang=fr").json()
    assert (fr["name"], fr["banner"]) == ("Élections générales de 2027", "Période de transition")
    demo.cora.preferred_language = "fr"
    demo.cora.save(update_fields=["preferred_language"])
    fr = client_for("cora").get(f"/api/v1/caretaker-periods/{pid}/").json()
    assert (fr["name"], fr["banner"]) == ("Élections générales de 2027", "Période de transition")


def test_a_reply_submitted_in_the_period_waits_for_approval(client_for, demo):
    assert client_for("cora").post("/api/v1/caretaker-periods/", _body(), format="json").status_code == 201
    r = client_for("dana").post("/api/v1/posts/", {
        "channels": ["dpe-en"], "kind": "reply", "texts": {"en": "The office opens at 9."},
    }, format="json")
    post_id = r.json()["id"]
    r = client_for("dana").post(f"/api/v1/posts/{post_id}/submit/", {"rules_acknowledged": True}, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["state"] == PostState.IN_REVIEW


def test_refusals_change_nothing(client_for):
    assert_problem(client_for("dana").post("/api/v1/caretaker-periods/", _body(), format="json"), 403)
    bad = _body(ends_at="2000-01-01T00:00:00Z")
    problem = assert_problem(client_for("cora").post("/api/v1/caretaker-periods/", bad, format="json"), 400, field="ends_at")
    assert problem["status"] == 400
    assert_problem(client_for("cora").post("/api/v1/caretaker-periods/", _body(paused_channels=["other-en"]), format="json"),
                   400, field="paused_channels")
    assert_problem(client_for("cora").post("/api/v1/caretaker-periods/", _body(surprise=1), format="json"), 400)
    assert not CaretakerPeriod.objects.exists()


def test_cancel_ends_the_period(client_for, demo):
    pid = client_for("cora").post("/api/v1/caretaker-periods/", _body(), format="json").json()["id"]
    assert_problem(client_for("dana").post(f"/api/v1/caretaker-periods/{pid}/cancel/"), 403)
    r = client_for("cora").post(f"/api/v1/caretaker-periods/{pid}/cancel/")
    assert r.status_code == 200 and r.json()["active"] is False
    draft = f.reply_draft(demo)
    from workflows.services import posts
    assert posts.post_submit(post_id=draft.id, by=demo.dana).state == PostState.PUBLISHING
    assert Post.objects.filter(id=draft.id, state=PostState.PUBLISHING).exists()


def test_me_sets_and_shows_the_signature_and_metrics_show_who_answers(client_for):
    r = client_for("dana").patch("/api/v1/me/", {"signature_en": "– Dana, Passport Program"}, format="json")
    assert r.status_code == 200 and r.json()["signature_en"] == "– Dana, Passport Program"
    assert_problem(client_for("dana").patch("/api/v1/me/", {"signature_fr": "x" * 101}, format="json"), 400, field="signature_fr")
    voices = client_for("cora").get("/api/v1/metrics/").json()["voices"]
    assert set(voices) == {"replies", "named_replies", "named_share", "people"}
