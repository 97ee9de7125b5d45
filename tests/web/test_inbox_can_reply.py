"""The inbox page offers the reply form exactly when the reply action's check allows it (issue 23:
it used to decide from the message's status, a second copy of the rule that disagreed with it)."""
from __future__ import annotations

import pytest
from django.test import Client

from workflows.actions import REPLY
from workflows.services import inbound

pytestmark = pytest.mark.django_db


def _message(demo, external_id):
    msg, _ = inbound.inbound_ingest(by=demo.dana, channel="dpe-en", external_id=external_id, author="@citizen",
                                    text="When does the office reopen?", language="en")
    return msg


@pytest.mark.parametrize("role", ["dana", "rami", "tess", "cora", "uma", "admin"])
@pytest.mark.parametrize("status", ["new", "dismissed"])
def test_the_reply_form_shows_when_the_reply_check_allows(demo, role, status):
    msg = _message(demo, f"can-reply-{role}-{status}")
    if status == "dismissed":
        inbound.inbound_dismiss(inbound_id=msg.id, by=demo.dana, reason="spam")
    msg.refresh_from_db()
    user = getattr(demo, role)
    client = Client()
    client.force_login(user)
    page = client.get(f"/inbox/{msg.id}/")
    if page.status_code == 404:
        return  # not of this user's organisation: nothing to offer
    shown = 'id="reply-h"' in page.content.decode()
    assert shown == REPLY.allowed(user, msg), (role, status)


def test_someone_without_the_draft_permission_is_not_offered_the_form(demo):
    """The rule's refusal is what the page follows: a person in the organisation without the
    draft permission on the channel sees no reply form."""
    msg = _message(demo, "can-reply-no-perm")
    refused = [r for r in ("rami", "tess", "cora", "uma") if not REPLY.allowed(getattr(demo, r), msg)]
    assert refused, "the demo has someone without the draft permission"
    client = Client()
    client.force_login(getattr(demo, refused[0]))
    assert 'id="reply-h"' not in client.get(f"/inbox/{msg.id}/").content.decode()
