"""The HTTP approve request, what a client pays (authentication, the service, the response with
its `actions` field): at most 12 SQL statements (issue 23; 21 before, 22 when the token's
use was stamped in the same request). The response is the post as the approval left it: the
same body a GET of the post answers."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

LIMIT = 12


def _approve(client, post_id):
    return client.post(f"/api/v1/posts/{post_id}/approve/", {}, format="json")


@pytest.mark.postgresql("statement pins are PostgreSQL's (row locks, array subqueries); SQLite takes no row lock and reads permissions in more statements")
def test_http_approve_runs_at_most_twelve_statements(client_for, flow, django_assert_max_num_queries):
    post = flow.in_review()
    rami = client_for("rami")
    rami.get("/api/v1/me/")  # the token's use is stamped at most every few minutes (not in the pin)
    with django_assert_max_num_queries(LIMIT):
        response = _approve(rami, post.id)
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("step", ["review", "translation", "sign_off"])
def test_the_approve_response_is_the_post_as_a_get_shows_it(client_for, flow, demo, step):
    from tests.workflows import factories
    from workflows.services import translations

    post = flow.in_review()
    approvers = {"review": "rami", "translation": "tess", "sign_off": "cora"}
    for name in ("review", "translation", "sign_off"):
        if name == "translation":
            translations.translation_provide(post_id=post.id, by=demo.tess, language="fr", text=factories.FR)
        client = client_for(approvers[name])
        response = _approve(client, post.id)
        assert response.status_code == 200, response.content
        if name == step:
            fresh = client.get(f"/api/v1/posts/{post.id}/")
            assert response.json() == fresh.json()
            assert response["ETag"] == fresh["ETag"]
            return


def test_the_approve_response_lists_open_reviews_and_publications(client_for, flow, demo):
    """A post with an open review (written directly: no service opens one on a post in review):
    the approval's response reads it because the lock found it, as a GET does."""
    from workflows.models import PostReview

    post = flow.in_review()
    PostReview.objects.create(post_id=post.id, kind="spot_check", team=None, excluded_users=[post.author_id])
    rami = client_for("rami")
    response = _approve(rami, post.id)
    assert response.status_code == 200, response.content
    assert "complete_review" in response.json()["actions"]
    assert response.json() == rami.get(f"/api/v1/posts/{post.id}/").json()
