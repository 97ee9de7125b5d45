"""The Bluesky adapter against the real reference AT Protocol stack (PLC + PDS + AppView).

Every count here is made by listing the account's records on the PDS (`listRecords`): a
duplicate would show, whatever the adapter believes."""
from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import pytest
from django.test import override_settings

from tests.atproto.conftest import wait_for, xrpc_get, xrpc_post
from workflows.channels import bluesky
from workflows.channels.base import (
    AmbiguousError,
    AuthError,
    NotSentError,
    OutboundMessage,
    PermanentError,
    ThreadRef,
)


def message(body: str, *, key: str | None = None, reply_to: ThreadRef | None = None, language: str = "en"):
    return OutboundMessage(idempotency_key=key or f"pub-{uuid.uuid4()}", body=body, language=language,
                           created_at=datetime.now(UTC), reply_to=reply_to)


def records(stack, did: str, collection: str = bluesky.POST) -> list[dict]:
    return xrpc_get(stack, "com.atproto.repo.listRecords", repo=did, collection=collection, limit=100)["records"]


def citizen_post(stack, citizen, text: str, facets: list | None = None) -> dict:
    record = {"$type": bluesky.POST, "text": text, "createdAt": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
              "langs": ["fr"]}
    if facets:
        record["facets"] = facets
    return xrpc_post(stack, "com.atproto.repo.createRecord", citizen,
                     {"repo": citizen.did, "collection": bluesky.POST, "record": record})


def mention_of(text: str, handle: str, did: str) -> list[dict]:
    start = len(text[: text.index("@" + handle)].encode())
    return [{"index": {"byteStart": start, "byteEnd": start + len(("@" + handle).encode())},
             "features": [{"$type": "app.bsky.richtext.facet#mention", "did": did}]}]


def test_tid_is_valid_deterministic_and_distinct():
    when = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    a = bluesky.tid_for("pub-1", when)
    assert a == bluesky.tid_for("pub-1", when)
    assert a != bluesky.tid_for("pub-2", when)
    assert len(a) == 13 and a[0] in "234567abcdefghij" and set(a) <= set(bluesky._S32)


def test_graphemes_not_code_points():
    assert bluesky.graphemes("e\u0301") == 1          # e + combining accent
    assert bluesky.graphemes("👍🏽") == 1              # emoji + skin tone: two code points
    assert bluesky.graphemes("👨‍👩‍👧") == 1             # a ZWJ family: five code points


def test_publish_is_idempotent_by_record_key(atproto_stack, bsky_channel):
    adapter, account = bsky_channel.adapter, bsky_channel.account
    msg = message("The passport office opens at 9:00 on Monday. https://example.gc.ca/passeport")
    first = adapter.send(msg)
    again = adapter.send(msg)  # a replay: same record key, same content → 200, same URI
    assert again.external_id == first.external_id
    assert first.external_id.endswith("/" + bluesky.tid_for(msg.idempotency_key, msg.created_at))
    posts = records(atproto_stack, account.did)
    assert len(posts) == 1  # duplicates seen: 0
    value = posts[0]["value"]
    assert value["createdAt"] == bluesky._iso(msg.created_at) and value["langs"] == ["en"]
    link = value["facets"][0]
    text_bytes = value["text"].encode()
    assert text_bytes[link["index"]["byteStart"]:link["index"]["byteEnd"]] == b"https://example.gc.ca/passeport"
    # Different content under the same key is refused, never a second post or an overwrite.
    with pytest.raises(PermanentError, match="different content"):
        adapter.send(OutboundMessage(**{**msg.__dict__, "body": "something else"}))
    assert len(records(atproto_stack, account.did)) == 1
    assert adapter.lookup(msg, msg.created_at).external_id == first.external_id
    assert adapter.lookup(message("never sent"), msg.created_at) is None


def test_session_is_reused_not_recreated(atproto_stack, bsky_channel, monkeypatch):
    from atproto import Client

    adapter = bsky_channel.adapter
    logins = []
    original = Client._get_and_set_session
    monkeypatch.setattr(Client, "_get_and_set_session", lambda self, *a, **k: logins.append(1) or original(self, *a, **k))
    for i in range(3):
        adapter.send(message(f"update {i}"))
    bluesky.forget_sessions()  # a new worker process: the session comes from the shared cache
    bluesky.BlueskyAdapter(bsky_channel.channel).send(message("from another process"))
    assert len(logins) == 1
    assert len(records(atproto_stack, bsky_channel.account.did)) == 4


def test_threaded_reply_with_facets_notifies_the_citizen(atproto_stack, bsky_channel, make_account):
    adapter, gov = bsky_channel.adapter, bsky_channel.account
    citizen = make_account("citizen")
    text = f"@{gov.handle} Quand le bureau ouvre-t-il ? ☕"
    root = citizen_post(atproto_stack, citizen, "Question sur les passeports 🇨🇦")
    parent = xrpc_post(atproto_stack, "com.atproto.repo.createRecord", citizen, {
        "repo": citizen.did, "collection": bluesky.POST, "record": {
            "$type": bluesky.POST, "text": text, "createdAt": bluesky._iso(datetime.now(UTC)),
            "facets": mention_of(text, gov.handle, gov.did),
            "reply": {"root": {"uri": root["uri"], "cid": root["cid"]}, "parent": {"uri": root["uri"], "cid": root["cid"]}},
        }})
    ref = ThreadRef(external_id=parent["uri"], uri=parent["uri"], cid=parent["cid"], root_uri=root["uri"],
                    root_cid=root["cid"], author_handle=citizen.handle, visibility="public")
    body = "Lundi à 9 h — détails : https://example.gc.ca/été?x=1 ✅"
    sent_at = time.monotonic()
    result = adapter.send(message(body, reply_to=ref, language="fr"))

    value = records(atproto_stack, gov.did)[0]["value"]
    assert value["reply"] == {"root": {"uri": root["uri"], "cid": root["cid"]},
                              "parent": {"uri": parent["uri"], "cid": parent["cid"]}}
    assert value["text"] == f"@{citizen.handle} {body}" and value["langs"] == ["fr"]
    raw = value["text"].encode("utf-8")
    by_kind = {f["features"][0]["$type"].rsplit("#", 1)[1]: f for f in value["facets"]}
    mention, link = by_kind["mention"], by_kind["link"]
    assert raw[mention["index"]["byteStart"]:mention["index"]["byteEnd"]] == f"@{citizen.handle}".encode()
    assert mention["features"][0]["did"] == citizen.did
    assert raw[link["index"]["byteStart"]:link["index"]["byteEnd"]].decode() == "https://example.gc.ca/été?x=1"
    # byte offsets differ from code-point offsets after "à" and "—": a code-point facet would be off
    assert link["index"]["byteStart"] != value["text"].index("https://")

    def reply_notified():
        notes = xrpc_get(atproto_stack, "app.bsky.notification.listNotifications", citizen)["notifications"]
        # The AppView notifies a reply that also mentions the citizen once, as "mention".
        return [n for n in notes if n["uri"] == result.external_id and n["reason"] in ("reply", "mention")]

    wait_for(reply_notified, what="the citizen's reply notification")

    def in_thread():
        thread = xrpc_get(atproto_stack, "app.bsky.feed.getPostThread", citizen, uri=parent["uri"])["thread"]
        return [r for r in thread.get("replies", []) if r["post"]["uri"] == result.external_id]

    wait_for(in_thread, what="the reply in the citizen's thread")
    print(f"\nsend → reply visible in the AppView thread: {(time.monotonic() - sent_at) * 1000:.0f} ms")


def test_listening_returns_mentions_with_thread_refs(atproto_stack, bsky_channel, make_account):
    adapter, gov = bsky_channel.adapter, bsky_channel.account
    citizen = make_account("listener")
    first = adapter.fetch_mentions("")
    assert first.items == []
    root = citizen_post(atproto_stack, citizen, "Les impôts, c'est quand ?")
    text = f"@{gov.handle} vous pouvez répondre ?"
    posted_at = time.monotonic()
    mention = xrpc_post(atproto_stack, "com.atproto.repo.createRecord", citizen, {
        "repo": citizen.did, "collection": bluesky.POST, "record": {
            "$type": bluesky.POST, "text": text, "createdAt": bluesky._iso(datetime.now(UTC)), "langs": ["fr"],
            "facets": mention_of(text, gov.handle, gov.did),
            "reply": {"root": {"uri": root["uri"], "cid": root["cid"]}, "parent": {"uri": root["uri"], "cid": root["cid"]}},
        }})
    page = wait_for(lambda: (p := adapter.fetch_mentions(first.cursor)).items and p, what="the mention")
    print(f"\ncitizen's mention → fetch_mentions sees it: {(time.monotonic() - posted_at) * 1000:.0f} ms")
    [item] = page.items
    assert item.external_id == mention["uri"] and item.kind in ("mention", "reply")
    assert item.author_handle == citizen.handle and item.language == "fr" and item.text == text
    assert item.thread.uri == mention["uri"] and item.thread.cid == mention["cid"]
    assert item.thread.root_uri == root["uri"] and item.thread.root_cid == root["cid"]
    assert item.url == f"https://bsky.app/profile/{citizen.handle}/post/{mention['uri'].rsplit('/', 1)[1]}"
    # The cursor moves on: nothing is returned twice.
    assert adapter.fetch_mentions(page.cursor).items == []
    # And an answer to it lands in that thread.
    sent = adapter.send(message("Le 30 avril.", reply_to=item.thread, language="fr"))
    assert records(atproto_stack, gov.did)[0]["value"]["reply"]["parent"]["uri"] == mention["uri"]
    assert sent.external_id


def test_stream_search_brings_community_posts(atproto_stack, bsky_channel, make_account):
    adapter = bsky_channel.adapter
    citizen = make_account("talker")
    tag = f"parley{uuid.uuid4().hex[:8]}"
    post = citizen_post(atproto_stack, citizen, f"On parle de {tag} ici")
    page = wait_for(lambda: (p := adapter.fetch_stream(tag, "")).items and p, what="the search index")
    [item] = page.items
    assert item.kind == "community" and item.external_id == post["uri"] and item.thread.cid == post["cid"]
    assert adapter.fetch_stream(tag, page.cursor).items == []


def test_like_and_repost_exactly_once(atproto_stack, bsky_channel, make_account):
    adapter, gov = bsky_channel.adapter, bsky_channel.account
    citizen = make_account("liked")
    post = citizen_post(atproto_stack, citizen, "Merci pour l'info !")
    target = ThreadRef(uri=post["uri"], cid=post["cid"])
    for action, collection in (("like", bluesky.LIKE), ("boost", bluesky.REPOST)):
        key = f"engage-{uuid.uuid4()}"
        first = adapter.engage(action, target, key)
        time.sleep(0.002)  # a later attempt has another createdAt: still one record
        again = adapter.engage(action, target, key)
        assert again.external_id == first.external_id
        got = records(atproto_stack, gov.did, collection)
        assert len(got) == 1 and got[0]["value"]["subject"]["uri"] == post["uri"]  # duplicates: 0
    def counted():
        view = xrpc_get(atproto_stack, "app.bsky.feed.getPosts", citizen, uris=post["uri"])["posts"][0]
        return view.get("likeCount") == 1 and view.get("repostCount") == 1
    wait_for(counted, what="the like and repost counts")


@override_settings(PUBLISH_HTTP_TIMEOUT=3.0)
def test_unclear_outcome_then_lookup_and_no_second_record(atproto_stack, bsky_channel):
    adapter, gov = bsky_channel.adapter, bsky_channel.account
    adapter.query("com.atproto.server.getSession")  # a session first: the freeze must hit the send itself
    msg = message("Avis : fermeture exceptionnelle vendredi.", language="fr")
    atproto_stack.freeze()
    try:
        with pytest.raises(AmbiguousError):
            adapter.send(msg)
    finally:
        atproto_stack.thaw()
    # The PDS wakes up and processes the request it had already received.
    found = wait_for(lambda: adapter.lookup(msg, msg.created_at), what="the record after SIGCONT")
    again = adapter.send(msg)  # even a blind resend under the same key cannot make a second post
    assert again.external_id == found.external_id
    assert len(records(atproto_stack, gov.did)) == 1  # duplicates seen: 0


def test_preflight_refuses_309_graphemes_before_sending(atproto_stack, bsky_channel):
    adapter, gov = bsky_channel.adapter, bsky_channel.account
    text = "é" * 300 + "👍🏽" * 9      # 309 graphemes, 318 code points
    assert bluesky.graphemes(text) == 309
    with pytest.raises(PermanentError, match="309 graphemes"):
        adapter.preflight([message("ok"), message(text)])
    adapter.preflight([message("👍🏽" * 300)])  # 300 graphemes (600 code points) pass
    assert adapter.limits().max_length == 300 and adapter.limits().unit == "graphemes"
    assert records(atproto_stack, gov.did) == []


def test_wrong_password_is_an_auth_error(atproto_stack, bsky_channel, monkeypatch):
    monkeypatch.setenv(bsky_channel.channel.adapter_config["password_env"], "not-the-password")
    bluesky.forget_sessions()
    with pytest.raises(AuthError):
        bluesky.BlueskyAdapter(bsky_channel.channel).send(message("hello"))
    with pytest.raises(AuthError):
        bluesky.BlueskyAdapter(bsky_channel.channel).preflight([message("hello")])


def test_verify_says_who_the_channel_posts_as(atproto_stack, bsky_channel):
    account = bsky_channel.adapter.verify()
    assert account.handle == bsky_channel.account.handle
    assert account.url == f"https://bsky.app/profile/{bsky_channel.account.handle}"


def test_retract_deletes_the_post(atproto_stack, bsky_channel):
    adapter, gov = bsky_channel.adapter, bsky_channel.account
    msg = message("to be retracted")
    result = adapter.send(msg)
    adapter.retract(result.external_id)
    assert records(atproto_stack, gov.did) == []
    assert adapter.lookup(msg, msg.created_at) is None


def test_connection_refused_is_not_sent(atproto_stack, bsky_channel):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    channel = bsky_channel.channel
    channel.adapter_config = {**channel.adapter_config, "base_url": f"http://127.0.0.1:{port}"}
    bluesky.forget_sessions()
    with pytest.raises(NotSentError):
        bluesky.BlueskyAdapter(channel).send(message("nobody listens"))


def test_the_sdk_goes_through_the_outbound_door(atproto_stack, bsky_channel):
    from workflows.outbound import OutboundRefused

    bluesky.forget_sessions()
    with override_settings(OUTBOUND_ALLOW_HOSTS=[]):  # loopback is no longer allowed
        with pytest.raises(OutboundRefused):
            bluesky.BlueskyAdapter(bsky_channel.channel).send(message("must not leave"))
    assert records(atproto_stack, bsky_channel.account.did) == []
