"""Channel adapters against a real HTTP server on 127.0.0.1 impersonating each platform."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from workflows.channels import (
    AmbiguousError,
    NotSentError,
    PermanentError,
    TransientError,
    get_adapter,
)
from workflows.models import Publication
from workflows.services.delivery import message_for, post_deliver

from . import flows

pytestmark = pytest.mark.django_db


class FakeApi:
    """Answers each (method, path) with a scripted (status, json); records every request."""

    def __init__(self, routes):
        self.routes = routes
        self.calls = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path.split("?")[0]
                api.calls.append({"method": self.command, "path": path, "headers": dict(self.headers), "body": body})
                status, doc = api.routes.get((self.command, path), (404, {"error": "no route"}))
                if callable(doc):
                    doc = doc(body)
                out = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            do_GET = do_POST = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


STATUS = {
    "id": "109", "uri": "https://social.example/users/dpe/statuses/109", "url": "https://social.example/@dpe/109",
    "created_at": "2026-01-01T00:00:00Z", "content": "<p>x</p>", "visibility": "public", "account": {"id": "1"},
}


def _channel(demo, adapter, config):
    channel = demo.channel("dpe-en")
    channel.adapter = adapter
    channel.adapter_config = config
    channel.save(update_fields=["adapter", "adapter_config"])
    return channel


@pytest.mark.parametrize(("status", "error"), [(503, TransientError), (429, TransientError), (422, PermanentError)])
def test_mastodon_errors_are_classified(demo, status, error):
    api = FakeApi({("POST", "/api/v1/statuses"): (status, {"error": "nope"})})
    try:
        post = flows.reply(demo)  # drafted while the channel could publish (issue 21: refused otherwise)
        channel = _channel(demo, "mastodon", {"api_base_url": api.url})
        from workflows.services.publishing import post_publish_start

        post_publish_start(post_id=post.id)
        with pytest.raises(error):
            get_adapter(channel).send(message_for(Publication.objects.get(post=post)))
    finally:
        api.close()


def test_webhook_adapter_needs_its_secret_and_never_leaks_it(demo, monkeypatch, platform):
    channel = _channel(demo, "webhook", {"url": f"{platform.url}/publish", "secret_env": "PARLEY_SECRET_MISSING"})
    monkeypatch.delenv("PARLEY_SECRET_MISSING", raising=False)
    post = flows.reply(demo)
    assert post_deliver(post_id=post.id) == "failed"  # preflight: nothing sent
    pub = Publication.objects.get(post=post)
    assert "PARLEY_SECRET_MISSING" in pub.last_error and platform.posts() == []
    monkeypatch.setenv("PARLEY_SECRET_MISSING", "very-secret-value")
    assert "very-secret-value" not in json.dumps(channel.adapter_config)


def test_webhook_connection_refused_is_transient_and_read_timeout_ambiguous(demo, settings):
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    channel = _channel(demo, "webhook", {"url": f"http://127.0.0.1:{port}/publish"})
    post = flows.reply(demo)
    from workflows.services.publishing import post_publish_start

    post_publish_start(post_id=post.id)
    pub = message_for(Publication.objects.get(post=post))
    with pytest.raises(NotSentError):  # by type: nothing left this machine
        get_adapter(channel).send(pub)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # accepts the connection, never answers
    settings.PUBLISH_HTTP_TIMEOUT = 0.5
    try:
        channel.adapter_config = {"url": f"http://127.0.0.1:{silent.getsockname()[1]}/publish"}
        with pytest.raises(AmbiguousError):
            get_adapter(channel).send(pub)
    finally:
        silent.close()


def test_log_adapter_writes_once_and_looks_up(demo, settings, tmp_path):
    settings.PUBLISH_LOG_PATH = str(tmp_path / "pub.log")
    channel = _channel(demo, "log", {})
    post = flows.reply(demo)
    assert post_deliver(post_id=post.id) == "published"
    pub = Publication.objects.get(post=post)
    adapter = get_adapter(channel)
    msg = message_for(pub)
    assert adapter.lookup(msg, since=pub.created_at).url == pub.url
    adapter.send(msg)  # a repeat is deduplicated on the key
    assert len((tmp_path / "pub.log").read_text().splitlines()) == 1
