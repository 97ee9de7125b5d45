"""Issue 19: what a second real Mastodon-API server (Takahē) showed, on the local server behaving
like it (tests/platforms/mastodon_server.py, `takahe = True` by default).

- §1 the instance document is routed only without a trailing slash (Mastodon.py adds one), and a
  server may have none at all: missing optional metadata never stops a send;
- §5 one length per platform: Mastodon counts a URL as 23 and `@user@domain` as `@user`,
  Bluesky counts graphemes; the guideline, the live counter and the preflight agree;
- §6 preflight asks the server: a token revoked after this process cached the account is
  caught before anything of a bilingual post goes out.
Each failed on the code before issue 19 (see the report)."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from guardian.shortcuts import assign_perm
from rest_framework.test import APIClient

from tests.celery import flows
from workflows.channels import get_adapter
from workflows.channels.base import OutboundMessage
from workflows.channels.bluesky import BlueskyAdapter
from workflows.channels.mastodon import MastodonAdapter
from workflows.constants import PublicationStatus as PS
from workflows.exceptions import GuidelineViolation
from workflows.models import Channel, Publication
from workflows.services.delivery import post_deliver
from workflows.services.posts import post_create

from .conftest import GOV_TOKEN

pytestmark = pytest.mark.django_db


def _msg(body="Thank you: the office opens at 9:00.", language="en"):
    return OutboundMessage(idempotency_key=f"k-{uuid.uuid4()}", body=body, language=language,
                           created_at=datetime.now(UTC))


# --- §1 the instance document -------------------------------------------------------------------

def test_the_local_server_routes_the_instance_only_without_a_trailing_slash(masto):
    import requests

    assert requests.get(f"{masto.url}/api/v2/instance", timeout=5).status_code == 200
    assert requests.get(f"{masto.url}/api/v2/instance/", timeout=5).status_code == 404  # as Takahē


def test_limits_are_read_from_the_instance_without_a_trailing_slash(demo, masto, masto_channels):
    masto.max_characters = 640
    limits = get_adapter(demo.channel("dpe-en")).limits()
    assert (limits.max_length, limits.url_length, limits.assumed) == (640, 23, False)
    assert post_deliver(post_id=flows.reply(demo).id) == "published"
    assert Channel.objects.get(slug="dpe-en").char_limit == 640


def test_no_instance_document_publishes_with_the_documented_defaults(demo, masto, masto_channels, monkeypatch):
    from workflows.channels import mastodon

    masto.instance_available = False
    demo.channel("dpe-en").__class__.objects.filter(slug="dpe-en").update(char_limit=480)
    limits = get_adapter(demo.channel("dpe-en")).limits()
    assert (limits.max_length, limits.url_length, limits.assumed) == (500, 23, True)
    post = flows.reply(demo)
    assert post_deliver(post_id=post.id) == "published"
    assert len(masto.statuses_of("dpe")) == 1
    # An assumed limit is never recorded as the channel's: the last one the server told stays.
    assert Channel.objects.get(slug="dpe-en").char_limit == 480
    # Asked again later: the fallback is not kept for the process's lifetime.
    masto.instance_available, masto.max_characters = True, 700
    monkeypatch.setattr(mastodon, "INSTANCE_FALLBACK_TTL", 0.0)
    limits = get_adapter(demo.channel("dpe-en")).limits()
    assert (limits.max_length, limits.assumed) == (700, False)


@pytest.mark.parametrize(("lang", "words"), [("en", "documented defaults"), ("fr", "valeurs par défaut")])
def test_test_connection_says_the_limits_were_assumed(demo, masto, masto_channels, lang, words):
    masto.instance_available = False
    channel = demo.channel("dpe-en")
    demo.cora.__class__.objects.filter(id=demo.cora.id).update(preferred_language=lang)
    demo.cora.refresh_from_db()
    assign_perm("manage_channel", demo.cora, channel)
    cora = APIClient()
    cora.force_authenticate(demo.cora)
    answer = cora.post(f"/api/v1/channels/{channel.id}/test/", {}, format="json", HTTP_ACCEPT_LANGUAGE=lang).json()
    assert answer["ok"] is True and answer["limits"]["assumed"] is True
    (note,) = answer["notes"]
    assert note["code"] == "platform.limits_assumed" and note["params"] == {"limit": 500, "url_length": 23}
    assert words in note["message"] and "500" in note["message"]
    masto.instance_available = True
    from workflows.channels import mastodon

    mastodon.INSTANCE_FALLBACK_TTL, old = 0.0, mastodon.INSTANCE_FALLBACK_TTL
    try:
        answer = cora.post(f"/api/v1/channels/{channel.id}/test/", {}, format="json").json()
    finally:
        mastodon.INSTANCE_FALLBACK_TTL = old
    assert answer["notes"] == [] and answer["limits"]["assumed"] is False


# --- §5 one length per platform ------------------------------------------------------------------

URL = "https://www.canada.ca/en/services/benefits/" + "a" * 120  # 163 code points, 23 on Mastodon


def _mastodon_text(target: int) -> str:
    """A text of `target` characters as Mastodon counts them and far more code points."""
    body = f"Details: {URL} {URL} {URL} {URL} thanks. "
    body += "x" * (target - MastodonAdapter.text_length(body))
    return body


def test_mastodon_counts_urls_as_23_and_remote_mentions_by_their_username():
    text = _mastodon_text(500)
    assert len(text) > 600 and MastodonAdapter.text_length(text) == 500
    assert MastodonAdapter.text_length("@alice@social.example hi") == len("@alice hi")
    assert MastodonAdapter.text_length("👩‍👩‍👧 e\u0301") == 3  # a family, a space, an e with its accent


def test_bluesky_counts_graphemes():
    text = "e\u0301" * 12 + "a" * 288  # 300 graphemes, 312 code points (the text)
    assert BlueskyAdapter.text_length(text) == 300 and len(text) == 312
    assert BlueskyAdapter.text_length("🇨🇦👩‍👩‍👧") == 2


def _draft(demo, channel: str, text: str):
    lang = "fr" if channel.endswith("-fr") else "en"
    return post_create(author=demo.dana, channels=[channel], kind="post", texts={lang: text},
                       rules_acknowledged=True)


def _length_result(post):
    return next(c for c in post.checks if c["code"].startswith("length."))


def _refused_length(demo, channel: str, text: str) -> dict:
    with pytest.raises(GuidelineViolation) as refused:
        _draft(demo, channel, text)
    return next(v for v in refused.value.violations if v["code"].startswith("length."))


def test_the_guideline_counts_as_mastodon_does(demo, masto, masto_channels):
    ok = _draft(demo, "dpe-en", _mastodon_text(500))
    assert _length_result(ok)["code"] == "length.ok"
    result = _refused_length(demo, "dpe-en", _mastodon_text(501))
    assert result["code"] == "length.over" and result["params"] == {"language": "en", "length": 501, "limit": 500}


def test_the_guideline_counts_as_bluesky_does(demo):
    Channel.objects.filter(slug="dpe-en").update(adapter="bluesky", char_limit=300,
                                                 adapter_config={"handle": "dpe.test",
                                                                 "password_env": "PARLEY_SECRET_BSKY_QUIRKS"})
    text = "e\u0301" * 12 + "a" * 288
    assert len(text) == 312
    assert _length_result(_draft(demo, "dpe-en", text))["code"] == "length.ok"
    result = _refused_length(demo, "dpe-en", text + "b")
    assert result["code"] == "length.over" and result["params"] == {"language": "en", "length": 301, "limit": 300}


def test_the_live_counter_counts_as_the_platform_does(client, demo, masto, masto_channels):
    client.force_login(demo.dana)
    text = _mastodon_text(500)
    page = client.post("/checks/", {"channels": ["dpe-en"], "kind": "post", "text_en": text}).content.decode()
    assert "500 of 500" in page, page[:2000]
    page = client.post("/checks/", {"channels": ["dpe-en"], "kind": "post", "text_en": text + "y"}).content.decode()
    assert "501 of 500" in page


def test_preflight_accepts_500_by_mastodons_rule_and_refuses_501(demo, masto, masto_channels):
    adapter = get_adapter(demo.channel("dpe-en"))
    adapter.preflight([_msg(_mastodon_text(500))])
    with pytest.raises(Exception, match="501"):
        adapter.preflight([_msg(_mastodon_text(501))])
    # The server agrees: the 500 publishes.
    assert len(adapter.send(_msg(_mastodon_text(500))).external_id) > 0


# --- §6 preflight asks the server ------------------------------------------------------------------

@pytest.mark.parametrize("takahe", [True, False], ids=["takahe-like", "mastodon-like"])
def test_a_token_revoked_after_a_warm_publish_fails_the_bilingual_post_in_preflight(demo, masto, masto_channels,
                                                                                      takahe):
    masto.takahe = takahe
    # Both channels publish once: this process now knows their account (a warm worker).
    assert post_deliver(post_id=flows.official(demo, en="First notice.", fr="Premier avis.").id) == "published"
    before = len(masto.statuses_of("dpe"))
    masto.revoke(GOV_TOKEN)  # the department revoked the token on the server
    post = flows.official(demo)
    assert post_deliver(post_id=post.id) == "failed"
    assert len(masto.statuses_of("dpe")) == before  # nothing went out: not English, not French
    pubs = list(Publication.objects.filter(post=post))
    assert {p.status for p in pubs} == {PS.FAILED} and len(pubs) == 2
    assert all(p.last_error.startswith("preflight:") and p.attempts == 0 for p in pubs)
