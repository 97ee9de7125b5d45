"""Posts endpoints: happy paths, ETag / If-Match, conflicts and guideline violations."""
from __future__ import annotations

import pytest

from workflows.constants import PostState
from workflows.models import Post

from .conftest import assert_problem

pytestmark = pytest.mark.django_db

FIELDS = {"id", "state", "lane", "kind", "channels", "author", "texts", "current_step", "due_at",
          "checks", "decisions", "publications", "version", "scheduled_at", "escalation_reason",
          "urgent", "created_at", "updated_at"}


def _create(client, **extra):
    body = {"channels": ["dpe-en", "dpe-fr"], "kind": "post", "lane": "official",
            "texts": {"en": "Offices reopen Monday."}, "rules_acknowledged": True, **extra}
    return client.post("/api/v1/posts/", body, format="json")


def test_create_returns_201_with_every_field_an_etag_and_a_location(client_for):
    response = _create(client_for("dana"))
    assert response.status_code == 201, response.content
    body = response.json()
    assert FIELDS <= set(body)
    assert body["state"] == "draft" and body["author"] == "dana" and body["lane"] == "official"
    assert body["channels"] == ["dpe-en", "dpe-fr"]
    assert body["texts"] == {"en": "Offices reopen Monday."}
    assert response["ETag"] == f'W/"{body["version"]}"'
    assert response["Location"] == f"/api/v1/posts/{body['id']}/"
    assert Post.objects.get(id=body["id"]).author.username == "dana"


def test_a_reply_without_lane_is_routed_to_the_conversation_lane(client_for):
    response = client_for("dana").post("/api/v1/posts/", {
        "channels": ["dpe-en"], "kind": "reply", "texts": {"en": "We are on it."}, "rules_acknowledged": True,
    }, format="json")
    assert response.status_code == 201
    assert response.json()["lane"] == "conversation"


def test_retrieve_has_etag_and_other_org_is_404(client_for, flow):
    post = flow.draft()
    response = client_for("rami").get(f"/api/v1/posts/{post.id}/")
    assert response.status_code == 200
    assert response["ETag"] == 'W/"1"'
    assert response.json()["current_step"] is None
    assert_problem(client_for("omar").get(f"/api/v1/posts/{post.id}/"), 404)


def test_list_filters_and_ordering(client_for, flow):
    a = flow.draft()
    b = flow.in_review(texts={"en": "Second post."})
    flow.draft("omar", texts={"en": "Other agency."})
    client = client_for("dana")
    ids = [p["id"] for p in client.get("/api/v1/posts/").json()["results"]]
    assert set(ids) == {a.id, b.id}
    assert [p["id"] for p in client.get("/api/v1/posts/?state=in_review").json()["results"]] == [b.id]
    assert client.get("/api/v1/posts/?author=rami").json()["count"] == 0
    assert client.get("/api/v1/posts/?author=dana&lane=official&kind=post&channel=dpe-fr").json()["count"] == 2
    assert [p["id"] for p in client.get("/api/v1/posts/?ordering=id").json()["results"]] == [a.id, b.id]
    assert [p["id"] for p in client.get("/api/v1/posts/?ordering=-id").json()["results"]] == [b.id, a.id]
    page = client.get("/api/v1/posts/?page_size=1&ordering=id").json()
    assert set(page) == {"count", "next", "previous", "results"}
    assert page["count"] == 2 and [p["id"] for p in page["results"]] == [a.id]
    assert page["previous"] is None and "page=2" in page["next"]
    second = client.get(page["next"].replace("http://testserver", "")).json()
    assert [p["id"] for p in second["results"]] == [b.id] and second["next"] is None


def test_patch_edits_texts_and_bumps_the_etag(client_for, flow):
    post = flow.draft()
    client = client_for("dana")
    response = client.patch(f"/api/v1/posts/{post.id}/", {"texts": {"en": "Now on Tuesday."}},
                            format="json", HTTP_IF_MATCH='W/"1"')
    assert response.status_code == 200, response.content
    assert response.json()["texts"]["en"] == "Now on Tuesday."
    assert response["ETag"] == 'W/"2"'


def test_patch_with_a_stale_if_match_is_409_and_changes_nothing(client_for, flow):
    post = flow.draft()
    client = client_for("dana")
    client.patch(f"/api/v1/posts/{post.id}/", {"texts": {"en": "First edit."}}, format="json")
    response = client.patch(f"/api/v1/posts/{post.id}/", {"texts": {"en": "Lost update."}},
                            format="json", HTTP_IF_MATCH='W/"1"')
    body = assert_problem(response, 409)
    assert body["type"].endswith("stale_version")
    assert Post.objects.get(id=post.id).texts.get(language="en").body == "First edit."


@pytest.mark.parametrize("header", ['"1"', "1", 'W/"1"', "*"])
def test_if_match_accepts_our_etag_forms(client_for, flow, header):
    post = flow.draft()
    response = client_for("dana").post(f"/api/v1/posts/{post.id}/submit/", {}, format="json", HTTP_IF_MATCH=header)
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("header", ["garbage", 'W/"abc"', '"1", "2"', 'W/"' + "9" * 40 + '"'])
def test_malformed_if_match_is_400(client_for, flow, header):
    post = flow.draft()
    response = client_for("dana").post(f"/api/v1/posts/{post.id}/submit/", {}, format="json", HTTP_IF_MATCH=header)
    assert_problem(response, 400, field="If-Match")
    assert Post.objects.get(id=post.id).state == PostState.DRAFT


def test_patch_after_submit_is_409(client_for, flow):
    post = flow.in_review()
    response = client_for("dana").patch(f"/api/v1/posts/{post.id}/", {"texts": {"en": "x"}}, format="json")
    assert_problem(response, 409)


def test_full_official_flow_through_the_api(client_for):
    dana, rami, tess, cora = (client_for(u) for u in ("dana", "rami", "tess", "cora"))
    post = _create(dana).json()
    pid = post["id"]
    r = dana.post(f"/api/v1/posts/{pid}/submit/", {}, format="json", HTTP_IF_MATCH='W/"1"')
    assert r.json()["current_step"] == {"order": 1, "name": "Review", "name_display": "Review", "kind": "review",
                                         "team": "managers", "team_display": "Managers"}
    assert r.json()["due_at"] is not None
    r = rami.post(f"/api/v1/posts/{pid}/approve/", {"comment": "Good."}, format="json", HTTP_IF_MATCH=r["ETag"])
    assert r.status_code == 200 and r.json()["current_step"]["kind"] == "translation"
    r = tess.put(f"/api/v1/posts/{pid}/translations/fr/", {"text": "Réouverture lundi."}, format="json")
    assert r.status_code == 200 and r.json()["texts"]["fr"] == "Réouverture lundi."
    r = tess.post(f"/api/v1/posts/{pid}/approve/", {}, format="json")
    assert r.json()["current_step"]["kind"] == "sign_off"
    r = cora.post(f"/api/v1/posts/{pid}/approve/", {}, format="json")
    assert r.status_code == 200 and r.json()["state"] in ("approved", "publishing", "published")
    verdicts = [(d["reviewer"], d["verdict"]) for d in r.json()["decisions"]]
    assert verdicts == [("rami", "approve"), ("tess", "approve"), ("cora", "approve")]
    history = dana.get(f"/api/v1/posts/{pid}/history/").json()
    verbs = [e["verb"] for e in history["results"]]
    assert verbs[0] == "created" and "submitted" in verbs and "translated" in verbs
    assert [e["seq"] for e in history["results"]] == sorted(e["seq"] for e in history["results"])


def test_approving_a_post_that_left_review_is_409(client_for, flow):
    post = flow.in_review()
    client_for("dana").post(f"/api/v1/posts/{post.id}/withdraw/", {}, format="json")
    body = assert_problem(client_for("rami").post(f"/api/v1/posts/{post.id}/approve/", {}, format="json"), 409)
    assert body["type"].endswith("invalid_transition")


def test_request_changes_and_reject_need_a_comment(client_for, flow):
    post = flow.in_review()
    rami = client_for("rami")
    assert_problem(rami.post(f"/api/v1/posts/{post.id}/request-changes/", {}, format="json"), 400, field="comment")
    assert_problem(rami.post(f"/api/v1/posts/{post.id}/reject/", {"comment": ""}, format="json"), 400, field="comment")
    r = rami.post(f"/api/v1/posts/{post.id}/request-changes/", {"comment": "Shorter."}, format="json")
    assert r.status_code == 200 and r.json()["state"] == "changes_requested"
    assert_problem(rami.post(f"/api/v1/posts/{post.id}/reject/", {"comment": "No."}, format="json"), 409)


def test_reject_is_final(client_for, flow):
    post = flow.in_review()
    r = client_for("rami").post(f"/api/v1/posts/{post.id}/reject/", {"comment": "Off brand."}, format="json")
    assert r.json()["state"] == "rejected"
    assert_problem(client_for("dana").post(f"/api/v1/posts/{post.id}/submit/", {}, format="json"), 409)


def test_withdraw_then_withdraw_again_is_409(client_for, flow):
    post = flow.in_review()
    dana = client_for("dana")
    assert dana.post(f"/api/v1/posts/{post.id}/withdraw/", {"comment": "Not needed."}, format="json").json()["state"] == "withdrawn"
    assert_problem(dana.post(f"/api/v1/posts/{post.id}/withdraw/", {}, format="json"), 409)


def test_translation_outside_a_translation_step_is_409(client_for, flow):
    post = flow.in_review()
    response = client_for("tess").put(f"/api/v1/posts/{post.id}/translations/fr/", {"text": "Bonjour"}, format="json")
    assert_problem(response, 409)


def test_translation_into_an_unsupported_language_is_400(client_for, flow):
    post = flow.at_translation()
    response = client_for("tess").put(f"/api/v1/posts/{post.id}/translations/de/", {"text": "Hallo"}, format="json")
    assert_problem(response, 400)


def test_completing_translation_without_french_is_422(client_for, flow):
    post = flow.at_translation()
    body = assert_problem(client_for("tess").post(f"/api/v1/posts/{post.id}/approve/", {}, format="json"), 422)
    assert body["violations"] and body["violations"][0]["rule"] == "languages_present"


def test_publish_urgent(client_for, flow):
    post = flow.in_review(texts={"en": "Storm: offices closed.", "fr": "Tempête : bureaux fermés."})
    assert_problem(client_for("uma").post(f"/api/v1/posts/{post.id}/publish-urgent/", {}, format="json"), 400, field="reason")
    assert_problem(client_for("dana").post(f"/api/v1/posts/{post.id}/publish-urgent/", {"reason": "Storm"}, format="json"), 403)
    r = client_for("uma").post(f"/api/v1/posts/{post.id}/publish-urgent/", {"reason": "Storm"}, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["urgent"] is True and r.json()["state"] in ("approved", "publishing", "published")


def test_breaking_the_glass_twice_before_publishing_is_409_and_one_retrospective(client_for, flow):
    """A second urgent publish while the first has not reached the relay (still approved) was
    a 500 (a second retrospective review hit the unique constraint). Now: 409, nothing changes."""
    from workflows.constants import PostState, ReviewKind
    from workflows.models import Post, PostReview

    post = flow.in_review(texts={"en": "Storm: offices closed.", "fr": "Tempête : bureaux fermés."})
    assert client_for("uma").post(f"/api/v1/posts/{post.id}/publish-urgent/", {"reason": "Storm"},
                                  format="json").status_code == 200
    Post.objects.filter(id=post.id).update(state=PostState.APPROVED)  # as if the relay had not run yet
    version = Post.objects.get(id=post.id).version
    body = assert_problem(client_for("uma").post(f"/api/v1/posts/{post.id}/publish-urgent/", {"reason": "Again"},
                                                 format="json"), 409)
    assert body["code"] == "invalid_state"
    assert PostReview.objects.filter(post=post.id, kind=ReviewKind.RETROSPECTIVE).count() == 1
    assert Post.objects.get(id=post.id).version == version


def test_publish_urgent_missing_a_language_is_422(client_for, flow):
    post = flow.in_review()
    response = client_for("uma").post(f"/api/v1/posts/{post.id}/publish-urgent/", {"reason": "Storm"}, format="json")
    assert_problem(response, 422)


def test_retry_a_failed_post(client_for, flow):
    post = flow.failed()
    response = client_for("dana").post(f"/api/v1/posts/{post.id}/retry/", {}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["state"] in ("publishing", "published", "failed")
    assert {p["status"] for p in response.json()["publications"]} <= {"pending", "sending", "sent", "retrying", "failed"}
    assert_problem(client_for("dana").post(f"/api/v1/posts/{flow.draft().id}/retry/", {}, format="json"), 409)


def test_conversation_reply_submits_straight_to_approved(client_for):
    dana = client_for("dana")
    post = dana.post("/api/v1/posts/", {"channels": ["dpe-en"], "kind": "reply",
                                        "texts": {"en": "Yes, open until 5."}, "rules_acknowledged": True},
                     format="json").json()
    r = dana.post(f"/api/v1/posts/{post['id']}/submit/", {}, format="json")
    assert r.status_code == 200
    assert r.json()["state"] in ("approved", "publishing", "published")


def test_a_reply_to_a_citizen_message_takes_its_channel_and_claims_it(client_for, flow):
    msg = flow.inbound()
    dana = client_for("dana")
    r = dana.post("/api/v1/posts/", {"kind": "reply", "in_reply_to": msg.id,
                                     "texts": {"en": "Yes, until 5 pm."}, "rules_acknowledged": True}, format="json")
    assert r.status_code == 201, r.content
    assert r.json()["in_reply_to"] == msg.id and r.json()["channels"] == ["dpe-en"]
    assert dana.get("/api/v1/inbound/?assignee=me").json()["count"] == 1
    other = flow.inbound(channel="other-en", by="omar")
    r = dana.post("/api/v1/posts/", {"kind": "reply", "in_reply_to": other.id, "texts": {"en": "Hi"}}, format="json")
    assert_problem(r, 400, field="in_reply_to")


def test_patch_schedules_and_unschedules(client_for, flow):
    post = flow.draft()
    dana = client_for("dana")
    r = dana.patch(f"/api/v1/posts/{post.id}/", {"scheduled_at": "2099-01-01T14:00:00-05:00"}, format="json")
    assert r.status_code == 200 and r.json()["scheduled_at"] == "2099-01-01T19:00:00Z"
    r = dana.patch(f"/api/v1/posts/{post.id}/", {"scheduled_at": None}, format="json")
    assert r.status_code == 200 and r.json()["scheduled_at"] is None
    assert_problem(dana.patch(f"/api/v1/posts/{post.id}/", {"scheduled_at": "2020-01-01T00:00:00Z"}, format="json"),
                   400, field="scheduled_at")
    assert_problem(dana.patch(f"/api/v1/posts/{post.id}/", {"scheduled_at": "2099-01-01T14:00:00"}, format="json"),
                   400, field="scheduled_at")
