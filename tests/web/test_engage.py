"""The inbound page offers like/boost on channels that can engage (issue 10; minimal, G polishes)."""
from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.platforms.conftest import masto, masto_channels, mastodon_server  # noqa: F401 - fixtures
from workflows.models import Engagement, InboundMessage
from workflows.services.listening import channel_listen

pytestmark = pytest.mark.django_db


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def test_like_from_the_message_page(demo, masto, masto_channels, settings, django_capture_on_commit_callbacks):  # noqa: F811
    settings.CELERY_BROKER_URL = ""
    status = masto.post_as("alice", "@dpe thank you for the answer!")
    channel_listen(channel_id=demo.channel("dpe-en").id)
    msg = InboundMessage.objects.get(external_id=status["id"])
    dana = _client(demo.dana)
    page = dana.get(reverse("web-inbound", args=[msg.id])).content.decode()
    assert 'name="action" value="like"' in page and 'value="boost"' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = dana.post(reverse("web-inbound-engage", args=[msg.id]), {"action": "like"})
    assert response.status_code == 302
    assert Engagement.objects.get(inbound=msg).status == "done" and len(masto.favourites) == 1
    page = dana.get(reverse("web-inbound", args=[msg.id])).content.decode()
    assert 'value="like"' not in page and "Like: Done" in page
    assert _client(demo.omar).post(reverse("web-inbound-engage", args=[msg.id]), {"action": "boost"}).status_code == 404


def test_no_buttons_where_the_channel_cannot_engage(demo, citizen_message):
    msg = citizen_message()
    page = _client(demo.dana).get(reverse("web-inbound", args=[msg.id])).content.decode()
    assert 'name="action"' not in page
