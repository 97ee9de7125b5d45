"""Two people act on the same version of a post at the same time: one wins, the other gets a
409 and nothing half-written (the services lock the row; If-Match names the version)."""
from __future__ import annotations

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts.services import token_issue
from workflows.models import Post


@pytest.mark.postgresql("threads racing for a row lock; SQLite locks the whole database")
@pytest.mark.django_db(transaction=True)
def test_concurrent_actions_on_the_same_version_one_wins(demo):
    from workflows.services.posts import post_create, post_submit

    post = post_create(author=demo.dana, channels=["dpe-en", "dpe-fr"], kind="post", lane="official",
                       texts={"en": "Offices reopen Monday."}, rules_acknowledged=True)
    post = post_submit(post_id=post.id, by=demo.dana)
    etag = f'W/"{post.version}"'
    keys = {u: token_issue(user=getattr(demo, u))[1] for u in ("rami", "dana")}
    calls = {"rami": ("approve", {"comment": "Fine."}), "dana": ("withdraw", {})}
    barrier = threading.Barrier(2)
    results = {}

    def act(user):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {keys[user]}")
        action, body = calls[user]
        barrier.wait()
        try:
            r = client.post(f"/api/v1/posts/{post.id}/{action}/", body, format="json", HTTP_IF_MATCH=etag)
            results[user] = r.status_code
        finally:
            connection.close()

    threads = [threading.Thread(target=act, args=(u,)) for u in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results.values()) == [200, 409], results
    final = Post.objects.get(id=post.id)
    assert final.version == post.version + 1
    if results["rami"] == 200:
        assert final.current_step.kind == "translation" and final.state == "in_review"
    else:
        assert final.state == "withdrawn" and final.decisions.count() == 0
