"""Issue 20 item 6 through the API: one person on two teams cannot pass two steps in one burst.

Before issue 20, two `POST …/approve/` without If-Match by someone on the Managers and the
Translators teams passed Review and Translation: the second click landed on whatever step was
current. Now the lane refuses a second step by the same person (security.one_step_per_person,
403), and an approve that names its step (`step`: its order or English name) is a 409
(security.step_moved) once the post has left it; nothing is recorded either way."""
from __future__ import annotations

import pytest

from accounts.models import Team
from tests.workflows import factories as f
from workflows.models import Decision, Post

from .conftest import assert_problem

pytestmark = pytest.mark.django_db


def _burst(demo, client_for, body):
    Team.objects.get(organisation=demo.rami.organisation, slug="translators").group.user_set.add(demo.rami)
    post = f.at_review(demo, texts={"en": f.EN, "fr": f.FR})
    api = client_for("rami")
    first = api.post(f"/api/v1/posts/{post.id}/approve/", body, format="json")
    assert first.status_code == 200, first.content
    before = (Post.objects.get(id=post.id).version, Decision.objects.filter(post=post).count())
    second = api.post(f"/api/v1/posts/{post.id}/approve/", body, format="json")
    assert (Post.objects.get(id=post.id).version, Decision.objects.filter(post=post).count()) == before
    assert Post.objects.get(id=post.id).current_step.kind == "translation"
    return second


def test_a_burst_by_one_person_on_two_teams_passes_one_step(demo, client_for):
    problem = assert_problem(_burst(demo, client_for, {}), 403)
    assert problem["code"] == "security.one_step_per_person"


@pytest.mark.parametrize("step", [1, "1", "Review"])
def test_an_approve_naming_the_step_it_saw_is_a_conflict_once_the_post_left_it(demo, client_for, step):
    lane = demo.lane("official")
    lane.distinct_step_approvers = False
    lane.save()
    problem = assert_problem(_burst(demo, client_for, {"step": step}), 409)
    assert problem["code"] == "security.step_moved" and "Translation" in problem["detail"]


def test_naming_the_current_step_approves_it(demo, client_for):
    post = f.at_review(demo)
    r = client_for("rami").post(f"/api/v1/posts/{post.id}/approve/", {"step": "Review", "comment": "ok"}, format="json")
    assert r.status_code == 200 and r.json()["current_step"]["kind"] == "translation"
    bad = client_for("tess").post(f"/api/v1/posts/{post.id}/approve/", {"step": ""}, format="json")
    assert_problem(bad, 400, field="step")
