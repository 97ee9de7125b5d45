"""The web approve (the post page's Approve button): the statements of the POST before its
redirect, session and user included. 14 before issue 23; pinned lower."""
from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

pytestmark = pytest.mark.django_db

LIMIT = 13


def test_web_approve_statements(demo):
    from tests.workflows import factories

    post = factories.at_review(demo)
    client = Client()
    client.force_login(demo.rami)
    with CaptureQueriesContext(connection) as ctx:
        response = client.post(f"/posts/{post.id}/approve/", {"comment": ""})
    assert response.status_code == 302, response.content[:500]
    sql = [q["sql"][:120] for q in ctx.captured_queries]
    assert len(sql) <= LIMIT, "\n".join(sql)
    post.refresh_from_db()
    assert post.current_step.kind == "translation"
