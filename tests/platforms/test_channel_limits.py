"""Channel limits come from the platform (issue 10 §6): the channel's char_limit, which the
guideline checks measure drafts against, is set from the server's real limit at every preflight,
at test connection, and at an admin save when the server is reachable — not a hand-set default."""
from __future__ import annotations

import pytest

from tests.celery import flows
from workflows.models import AuditEvent, Channel
from workflows.services.channels import channel_limits_refresh
from workflows.services.delivery import post_deliver

pytestmark = pytest.mark.django_db


def test_preflight_sets_char_limit_from_the_instance(demo, masto, masto_channels):
    masto.max_characters = 420
    chan = demo.channel("dpe-en")
    assert chan.char_limit == 500  # the hand-set default
    assert post_deliver(post_id=flows.reply(demo).id) == "published"
    assert Channel.objects.get(slug="dpe-en").char_limit == 420
    # The change is in the organisation's security chain, like every change to a channel.
    event = AuditEvent.objects.filter(chain=f"security:{chan.organisation_id}", verb="channel.changed").last()
    assert event is not None and event.data["target"]["slug"] == "dpe-en"
    assert event.data["before"] == {"char_limit": 500} and event.data["after"] == {"char_limit": 420}


def test_refresh_asks_the_server_and_leaves_the_channel_alone_when_unreachable(demo, masto, masto_channels):
    masto.max_characters = 1000
    chan = demo.channel("dpe-en")
    assert channel_limits_refresh(channel_id=chan.id) is True
    assert Channel.objects.get(id=chan.id).char_limit == 1000
    assert channel_limits_refresh(channel_id=chan.id) is False  # nothing to change
    Channel.objects.filter(id=chan.id).update(adapter_config={**masto_channels, "api_base_url": "http://127.0.0.1:9"})
    assert channel_limits_refresh(channel_id=chan.id) is False  # unreachable: unchanged, no error
    assert Channel.objects.get(id=chan.id).char_limit == 1000


def test_admin_save_records_the_servers_limit(admin_client, demo, masto, masto_channels,
                                              django_capture_on_commit_callbacks):
    import json

    from .conftest import TOKEN_ENV

    masto.max_characters = 640
    channel = demo.channel("dpe-en")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"/admin/workflows/channel/{channel.id}/change/", {
            "organisation": channel.organisation_id, "slug": channel.slug, "name_en": channel.name_en,
            "name_fr": channel.name_fr, "platform": channel.platform, "handle": channel.handle,
            "languages": json.dumps(channel.languages), "adapter": "mastodon",
            "adapter_config": json.dumps({"api_base_url": masto.url, "token_env": TOKEN_ENV}),
            "char_limit": 500, "is_active": "on",
        })
    assert response.status_code == 302, response.content[:2000]
    assert Channel.objects.get(id=channel.id).char_limit == 640  # the server's, not the form's 500
