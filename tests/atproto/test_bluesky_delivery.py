"""A reply through Parley's publication delivery, to a citizen's mention heard on the real stack."""
from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from tests.atproto.conftest import wait_for, xrpc_get, xrpc_post
from tests.celery import flows
from workflows.channels import bluesky
from workflows.models import Publication
from workflows.services.delivery import message_for, post_deliver

pytestmark = pytest.mark.django_db


def test_reply_through_delivery_lands_in_the_citizens_thread(demo, atproto_stack, make_account, monkeypatch):
    gov, citizen = make_account("dpe"), make_account("voter")
    monkeypatch.setenv("PARLEY_SECRET_TEST_DPE_BSKY", gov.password)
    channel = demo.channel("dpe-en")
    channel.adapter, channel.handle = "bluesky", gov.handle
    channel.adapter_config = {"base_url": atproto_stack.pds, "handle": gov.handle, "password_env": "PARLEY_SECRET_TEST_DPE_BSKY"}
    channel.save(update_fields=["adapter", "handle", "adapter_config"])
    bluesky.forget_sessions()

    # The citizen asks; listening hears it with the references needed to answer in place.
    text = f"@{gov.handle} when does the passport office open?"
    start = len(text[: text.index("@")].encode())
    asked = xrpc_post(atproto_stack, "com.atproto.repo.createRecord", citizen, {
        "repo": citizen.did, "collection": bluesky.POST, "record": {
            "$type": bluesky.POST, "text": text, "createdAt": bluesky._iso(datetime.now(UTC)), "langs": ["en"],
            "facets": [{"index": {"byteStart": start, "byteEnd": start + len(gov.handle) + 1},
                        "features": [{"$type": "app.bsky.richtext.facet#mention", "did": gov.did}]}]}})
    adapter = bluesky.BlueskyAdapter(channel)
    [item] = wait_for(lambda: adapter.fetch_mentions("").items, what="the mention")
    from workflows.models import InboundMessage

    inbound = InboundMessage.objects.create(
        organisation=channel.organisation, channel=channel, external_id=item.external_id, author=item.author,
        author_handle=item.author_handle, body=item.text, language="en", kind=item.kind, visibility=item.visibility, received_at=item.created_at,
        thread={"external_id": item.thread.external_id, "uri": item.thread.uri, "cid": item.thread.cid,
                "root_uri": item.thread.root_uri, "root_cid": item.thread.root_cid})

    post = flows.reply(demo, text="Monday at 9:00. Details: https://example.gc.ca/passport", in_reply_to=inbound.id)
    submitted = time.monotonic()
    assert post_deliver(post_id=post.id) == "published"
    pub = Publication.objects.get(post=post)
    channel.refresh_from_db()
    assert channel.char_limit == bluesky.MAX_GRAPHEMES  # from the platform at preflight, not the default 500
    assert pub.status == "sent" and pub.external_id.startswith(f"at://{gov.did}/app.bsky.feed.post/")
    msg = message_for(pub)
    assert pub.external_id.endswith("/" + bluesky.tid_for(msg.idempotency_key, msg.created_at))

    [record] = xrpc_get(atproto_stack, "com.atproto.repo.listRecords", repo=gov.did, collection=bluesky.POST)["records"]
    assert record["value"]["reply"]["parent"] == {"uri": asked["uri"], "cid": asked["cid"]}
    assert record["value"]["text"].startswith(f"@{citizen.handle} Monday at 9:00.")

    def visible():
        thread = xrpc_get(atproto_stack, "app.bsky.feed.getPostThread", citizen, uri=asked["uri"])["thread"]
        return [r for r in thread.get("replies", []) if r["post"]["uri"] == pub.external_id]

    wait_for(visible, what="the reply in the citizen's thread")
    print(f"\nsubmit (approved) → threaded reply visible in the AppView: {(time.monotonic() - submitted) * 1000:.0f} ms")
    # A replay of the same publication (a worker that died after sending) adds nothing.
    assert adapter.send(msg).external_id == pub.external_id
    assert len(xrpc_get(atproto_stack, "com.atproto.repo.listRecords", repo=gov.did,
                        collection=bluesky.POST)["records"]) == 1
