"""Issue 19 §4 on the real AT Protocol stack: a reply whose parent the citizen deleted before it
was sent is held for a person (getRecord answers RecordNotFound at preflight): nothing is
published. Before, the reply was published, threaded to a post that no longer exists."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.atproto.conftest import xrpc_get, xrpc_post
from tests.celery import flows
from workflows.channels import bluesky
from workflows.constants import PublicationStatus as PS
from workflows.models import AuditEvent, InboundMessage, Publication
from workflows.services.delivery import post_deliver

pytestmark = pytest.mark.django_db


def test_a_reply_to_a_deleted_post_is_held(demo, atproto_stack, make_account, monkeypatch):
    gov, citizen = make_account("dpeheld"), make_account("voterheld")
    monkeypatch.setenv("PARLEY_SECRET_TEST_DPE_BSKY", gov.password)
    channel = demo.channel("dpe-en")
    channel.adapter, channel.handle = "bluesky", gov.handle
    channel.adapter_config = {"base_url": atproto_stack.pds, "handle": gov.handle,
                              "password_env": "PARLEY_SECRET_TEST_DPE_BSKY"}
    channel.save(update_fields=["adapter", "handle", "adapter_config"])
    bluesky.forget_sessions()
    asked = xrpc_post(atproto_stack, "com.atproto.repo.createRecord", citizen, {
        "repo": citizen.did, "collection": bluesky.POST, "record": {
            "$type": bluesky.POST, "text": f"@{gov.handle} a question I will delete",
            "createdAt": bluesky._iso(datetime.now(UTC)), "langs": ["en"]}})
    inbound = InboundMessage.objects.create(
        organisation=channel.organisation, channel=channel, external_id=asked["uri"], author=citizen.handle,
        author_handle=citizen.handle, body="a question I will delete", language="en", kind="mention",
        thread={"uri": asked["uri"], "cid": asked["cid"], "root_uri": asked["uri"], "root_cid": asked["cid"]})
    post = flows.reply(demo, text="Here is the answer.", in_reply_to=inbound.id)
    xrpc_post(atproto_stack, "com.atproto.repo.deleteRecord", citizen, {
        "repo": citizen.did, "collection": bluesky.POST, "rkey": asked["uri"].rsplit("/", 1)[-1]})

    assert post_deliver(post_id=post.id) == "failed"
    pub = Publication.objects.get(post=post)
    assert pub.status == PS.HELD and pub.attempts == 0, pub.last_error
    assert xrpc_get(atproto_stack, "com.atproto.repo.listRecords", repo=gov.did,
                    collection=bluesky.POST)["records"] == []  # nothing published
    assert AuditEvent.objects.filter(verb="held", data__code="platform.parent_deleted").exists()
