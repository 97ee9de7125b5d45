"""The API's display fields (issue 21): raw ISO 8601 for machines, and the same moment in words
in the reader's language beside it."""
from __future__ import annotations

import re

import pytest

from tests.workflows import factories as f

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("lang", "shape"), [
    ("en", r"^[A-Z][a-z]+\.? \d{1,2}, 20\d\d, \d{1,2}(:\d\d)? (a\.m\.|p\.m\.|noon|midnight) E[SD]T$"),
    ("fr", r"^\d{1,2}(er)? [a-zéû]+\.? 20\d\d, \d{1,2} h \d\d HA?N?E$"),
])
def test_posts_and_messages_carry_their_times_in_words(client_for, demo, lang, shape):
    post = f.official_draft(demo)
    demo.dana.preferred_language = lang  # the reader's language (issue 21 item 2 makes Accept-Language count too)
    demo.dana.save(update_fields=["preferred_language"])
    client = client_for("dana")
    body = client.get(f"/api/v1/posts/{post.id}/", HTTP_ACCEPT_LANGUAGE=lang).json()
    assert body["created_at"].endswith("Z")  # machines keep ISO 8601
    assert re.match(shape, body["created_at_display"]), body["created_at_display"]
    assert body["scheduled_at_display"] is None
