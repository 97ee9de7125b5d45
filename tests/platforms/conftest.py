"""Fixtures for the platform tests: the local Mastodon-API server (tests/platforms/mastodon_server.py)
with a government account ("dpe") and a citizen ("alice"), and dpe-en/dpe-fr posting to it."""
from __future__ import annotations

import pytest

from .mastodon_server import MastodonServer

TOKEN_ENV = "PARLEY_SECRET_TEST_MASTODON_TOKEN"
GOV_TOKEN = "gov-token-dpe"
CITIZEN_TOKEN = "citizen-token-alice"


@pytest.fixture(scope="session")
def mastodon_server():
    server = MastodonServer().start()
    yield server
    server.stop()


@pytest.fixture
def masto(mastodon_server):
    mastodon_server.reset()
    mastodon_server.add_account("dpe", GOV_TOKEN, "Department of Public Examples")
    mastodon_server.add_account("alice", CITIZEN_TOKEN, "Alice Tremblay")
    yield mastodon_server
    mastodon_server.reset()


@pytest.fixture
def masto_channels(demo, masto, monkeypatch, settings):
    """dpe-en and dpe-fr post as @dpe on the local server (fresh clients: a short timeout)."""
    from workflows.channels import mastodon as adapter_module
    from workflows.models import Channel

    monkeypatch.setenv(TOKEN_ENV, GOV_TOKEN)
    settings.PUBLISH_HTTP_TIMEOUT = 2
    settings.MASTODON_INFLIGHT_SECONDS = 1.0
    adapter_module._local.__dict__.pop("clients", None)
    config = {"api_base_url": masto.url, "token_env": TOKEN_ENV, "visibility": "public"}
    Channel.objects.filter(slug__in=["dpe-en", "dpe-fr"]).update(adapter="mastodon", adapter_config=config)
    yield config
    adapter_module._local.__dict__.pop("clients", None)
