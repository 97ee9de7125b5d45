"""The Mastodon adapter against the local Mastodon-API server (a real HTTP server on 127.0.0.1).

Each of these failed on the old adapter: it never sent in_reply_to_id, mentioned nobody,
published a reply to a direct message publicly, had no lookup/limits/verify/listening/engage,
and reported a wrong token as a plain refusal."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from workflows.channels import get_adapter
from workflows.channels.base import (
    AmbiguousError,
    AuthError,
    NotSentError,
    OutboundMessage,
    PermanentError,
    RateLimited,
    ThreadRef,
    TransientError,
)
from workflows.channels.mastodon import html_to_text, narrowest, weighted_length

pytestmark = pytest.mark.django_db


def _adapter(demo, slug="dpe-en"):
    return get_adapter(demo.channel(slug))


def _msg(key="", body="Thank you: the office opens at 9:00.", reply_to=None, visibility="public", language="en"):
    return OutboundMessage(idempotency_key=key or f"k-{uuid.uuid4()}", body=body, language=language,
                           created_at=datetime.now(UTC), reply_to=reply_to, visibility=visibility)


def _ref(status, handle="alice"):
    return ThreadRef(external_id=status["id"], author_handle=handle, visibility=status["visibility"])


def test_send_is_a_real_reply_with_mention_and_language(demo, masto, masto_channels):
    question = masto.post_as("alice", "@dpe when does the office open?")
    result = _adapter(demo).send(_msg(reply_to=_ref(question)))
    (reply,) = masto.statuses_of("dpe")
    assert reply["id"] == result.external_id
    assert reply["in_reply_to_id"] == question["id"]
    assert reply["text"].startswith("@alice ")
    assert [m["acct"] for m in reply["mentions"]] == ["alice"]
    assert reply["language"] == "en" and reply["visibility"] == "public"
    # Alice is notified: the answer is in her thread.
    assert any(n["status_id"] == reply["id"] for n in masto.notifications if n["recipient"] == masto.account_by_name("alice")["id"])


def test_no_second_mention_when_the_text_already_mentions(demo, masto, masto_channels):
    question = masto.post_as("alice", "@dpe hello")
    _adapter(demo).send(_msg(body="Hello @alice, we open at 9.", reply_to=_ref(question)))
    (reply,) = masto.statuses_of("dpe")
    assert reply["text"] == "Hello @alice, we open at 9."


@pytest.mark.parametrize(("citizen", "channel_cfg", "expected"), [
    ("direct", "public", "direct"), ("private", "public", "private"), ("unlisted", "public", "unlisted"),
    ("public", "unlisted", "unlisted"), ("public", "public", "public"), ("direct", "unlisted", "direct"),
])
def test_visibility_never_wider_than_the_citizens(demo, masto, masto_channels, citizen, channel_cfg, expected):
    channel = demo.channel("dpe-en")
    channel.adapter_config = {**masto_channels, "visibility": channel_cfg}
    channel.save(update_fields=["adapter_config"])
    question = masto.post_as("alice", "@dpe a question", visibility=citizen)
    get_adapter(channel).send(_msg(reply_to=_ref(question), visibility=citizen))
    (reply,) = masto.statuses_of("dpe")
    assert reply["visibility"] == expected


def test_narrowest_order():
    assert narrowest("public", "direct", "unlisted") == "direct"
    assert narrowest("public", "", "bogus") == "public"
    assert narrowest("unlisted", "private") == "private"


def test_lookup_finds_the_status_by_target_and_text_and_answers_none_when_absent(demo, masto, masto_channels):
    adapter = _adapter(demo)
    question = masto.post_as("alice", "@dpe is the link https://example.org/a/very/long/path/indeed right?")
    msg = _msg(body="Yes: https://example.org/a/very/long/path/indeed is right & current.", reply_to=_ref(question))
    since = datetime.now(UTC) - timedelta(seconds=5)
    assert adapter.lookup(msg, since) is None  # the server answered: not there
    sent = adapter.send(msg)
    # Many other statuses after it: lookup pages back to find it.
    for i in range(45):
        masto.post_as("dpe", f"Unrelated announcement {i}")
    found = adapter.lookup(msg, since)
    assert found is not None and found.external_id == sent.external_id
    # Same text, another reply target: not a match.
    other = masto.post_as("alice", "@dpe another question")
    assert adapter.lookup(_msg(key="k-other", body=msg.body, reply_to=_ref(other)), since) is None


def test_lookup_does_not_say_absent_while_an_attempt_may_still_run(demo, masto, masto_channels, settings):
    settings.MASTODON_INFLIGHT_SECONDS = 30
    adapter = _adapter(demo)
    with pytest.raises(TransientError, match="may still be running"):
        adapter.lookup(_msg(key="fresh"), datetime.now(UTC))
    assert adapter.lookup(_msg(key="old"), datetime.now(UTC) - timedelta(seconds=31)) is None


def test_lookup_raises_when_the_server_cannot_be_asked(demo, masto, masto_channels):
    masto.rate_limited = 1
    with pytest.raises(TransientError):
        _adapter(demo).lookup(_msg(), datetime.now(UTC) - timedelta(hours=1))


def test_limits_from_the_instance_and_preflight_counts_urls_as_23(demo, masto, masto_channels):
    masto.max_characters = 100
    adapter = _adapter(demo)
    limits = adapter.limits()
    assert (limits.max_length, limits.url_length) == (100, 23)
    url = "https://example.org/" + "x" * 200
    adapter.preflight([_msg(body=f"Read this: {url} " + "y" * 50)])  # 11 + 23 + 1 + 50 = 85
    with pytest.raises(PermanentError, match="100"):
        adapter.preflight([_msg(body="z" * 101)])
    assert weighted_length(f"see {url}") == 4 + 23
    assert weighted_length("@alice@social.example hi") == len("@alice hi")


def test_preflight_and_verify_say_when_the_token_is_wrong(demo, masto, masto_channels, monkeypatch):
    adapter = _adapter(demo)
    account = adapter.verify()
    assert account.handle == "@dpe@127.0.0.1" and account.display_name == "Department of Public Examples"
    monkeypatch.setenv("PARLEY_SECRET_TEST_MASTODON_TOKEN", "wrong")
    with pytest.raises(AuthError, match="token"):
        _adapter(demo).preflight([_msg()])
    with pytest.raises(AuthError):
        _adapter(demo).send(_msg())
    assert masto.statuses_of("dpe") == []


def test_invalid_visibility_in_config_is_not_sent(demo, masto, masto_channels):
    channel = demo.channel("dpe-en")
    channel.adapter_config = {**masto_channels, "visibility": "everyone"}
    with pytest.raises(NotSentError):
        get_adapter(channel).send(_msg())
    assert not [r for r in masto.requests if r["path"] == "/api/v1/statuses"]


def test_rate_limit_carries_retry_after(demo, masto, masto_channels):
    masto.rate_limited, masto.retry_after = 1, 42
    with pytest.raises(RateLimited) as info:
        _adapter(demo).send(_msg())
    assert info.value.retry_after == pytest.approx(42, abs=1)


def test_connection_refused_is_not_sent_and_late_answer_is_ambiguous(demo, masto, masto_channels, settings):
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    channel = demo.channel("dpe-en")
    channel.adapter_config = {**masto_channels, "api_base_url": f"http://127.0.0.1:{port}"}
    with pytest.raises(NotSentError):
        get_adapter(channel).send(_msg())
    settings.PUBLISH_HTTP_TIMEOUT = 0.5
    masto.answer_delay = 1.5
    with pytest.raises(AmbiguousError):
        _adapter(demo).send(_msg())
    assert len(masto.statuses_of("dpe")) == 1  # it did land


@pytest.mark.parametrize(("status", "error"), [(500, AmbiguousError), (502, AmbiguousError), (503, TransientError),
                                              (422, PermanentError)])
def test_server_errors_on_send(demo, masto, masto_channels, status, error, monkeypatch):
    from tests.platforms import mastodon_server as ms

    def refuse(*args, **kwargs):
        raise ms.ApiError(status, "nope")

    monkeypatch.setattr(masto, "_post_status", refuse)
    with pytest.raises(error):
        _adapter(demo).send(_msg())


def test_retract_deletes_and_is_idempotent(demo, masto, masto_channels):
    adapter = _adapter(demo)
    sent = adapter.send(_msg())
    adapter.retract(sent.external_id)
    adapter.retract(sent.external_id)
    assert masto.statuses_of("dpe") == []


def test_engage_like_and_boost_are_idempotent(demo, masto, masto_channels):
    adapter = _adapter(demo)
    post = masto.post_as("alice", "Loving the new #parks plan")
    target = _ref(post)
    assert not adapter.engaged("like", target)
    adapter.engage("like", target, "e-1")
    adapter.engage("like", target, "e-1")
    adapter.engage("boost", target, "e-2")
    adapter.engage("boost", target, "e-2")
    gov = masto.account_by_name("dpe")["id"]
    assert masto.favourites == {(gov, post["id"])}
    assert list(masto.reblogs) == [(gov, post["id"])]
    assert adapter.engaged("like", target) and adapter.engaged("boost", target)


def test_fetch_mentions_pages_forward_from_the_cursor(demo, masto, masto_channels):
    adapter = _adapter(demo)
    first = masto.post_as("alice", "@dpe bonjour, quand ouvrez-vous ?", language="fr")
    page = adapter.fetch_mentions("")
    assert [i.external_id for i in page.items] == [first["id"]]
    item = page.items[0]
    assert (item.kind, item.author_handle, item.language, item.visibility) == ("mention", "alice", "fr", "public")
    assert item.text == "@dpe bonjour, quand ouvrez-vous ?"
    assert item.thread.external_id == first["id"] and item.url.endswith(first["id"])
    assert abs((item.created_at - first["created_at"]).total_seconds()) < 0.01
    assert adapter.fetch_mentions(page.cursor).items == []
    ours = adapter.send(_msg(reply_to=_ref(first)))
    later = [masto.post_as("alice", f"@dpe question {i}") for i in range(45)]
    dm = masto.post_as("alice", "@dpe my file number is 123", visibility="direct", language=None)
    reply = masto.post_as("alice", "@dpe thanks!", in_reply_to_id=ours.external_id)
    page2 = adapter.fetch_mentions(page.cursor)
    assert [i.external_id for i in page2.items] == [s["id"] for s in later] + [dm["id"], reply["id"]]
    kinds = {i.external_id: i.kind for i in page2.items}
    assert kinds[dm["id"]] == "direct" and kinds[reply["id"]] == "reply"
    assert next(i for i in page2.items if i.external_id == dm["id"]).visibility == "direct"


def test_fetch_stream_hashtag_and_search(demo, masto, masto_channels):
    adapter = _adapter(demo)
    a = masto.post_as("alice", "The #Parks plan is great")
    masto.post_as("alice", "private #parks note", visibility="private")
    masto.post_as("dpe", "Our #parks plan")  # our own: not community
    page = adapter.fetch_stream("#parks", "")
    assert [(i.external_id, i.kind) for i in page.items] == [(a["id"], "community")]
    b = masto.post_as("alice", "More about #parks")
    assert [i.external_id for i in adapter.fetch_stream("#parks", page.cursor).items] == [b["id"]]
    found = adapter.fetch_stream("plan is great", "")
    assert [i.external_id for i in found.items] == [a["id"]]


def test_html_to_text():
    assert html_to_text('<p>Hi <a href="x">@<span>dpe</span></a> &amp; you</p><p>two<br />lines</p>') == \
        "Hi @dpe & you\ntwo\nlines"


def test_client_and_session_are_reused(demo, masto, masto_channels):
    a, b = _adapter(demo), _adapter(demo)
    assert a.client() is b.client()
    assert a.client().api.session is b.client().api.session
    a.send(_msg(key="r1"))
    b.send(_msg(key="r2", body="Another one"))
    ports = {r["headers"].get("Host") for r in masto.requests}
    assert len(ports) == 1
