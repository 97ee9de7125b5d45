"""Issue 21, item 3: a reply whose publishing failed says so — never a green "Reply sent."
beside "Reply 21 Failed". Embedded mode, as under `make run`: publishing runs when the reply's
transaction commits, inside the request; the platform (a real HTTP server) refuses it."""
from __future__ import annotations

import threading
from html import unescape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import Client
from django.urls import reverse

from workflows.constants import PostState
from workflows.models import Channel, Post

pytestmark = pytest.mark.django_db(transaction=True)


class Refuses(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(403)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"error": "token revoked"}')

    def log_message(self, *args):
        pass


@pytest.fixture
def refusing_english_channel(seeded, embedded):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Refuses)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Channel.objects.filter(slug="dpe-en").update(
        adapter="webhook", adapter_config={"url": f"http://127.0.0.1:{server.server_port}/publish"})
    yield
    server.shutdown()
    server.server_close()


def test_a_reply_that_failed_is_never_reported_as_sent(seeded, refusing_english_channel):
    from workflows.services.inbound import inbound_ingest

    msg, _ = inbound_ingest(by=seeded.dana, channel="dpe-en", external_id="fail-1", author="@citizen",
                            text="When does the passport office open on Monday?")
    client = Client()
    client.force_login(seeded.dana)
    response = client.post(reverse("web-inbound", args=[msg.id]), {
        "text": "Thanks for asking: the office opens at 9:00 on Monday.", "rules_acknowledged": "on"}, follow=True)
    reply = Post.objects.filter(in_reply_to=msg).get()
    assert reply.state == PostState.FAILED
    html = unescape(response.content.decode())
    assert "Reply sent." not in html and "message--success" not in html
    assert 'class="message message--error"' in html and "Your reply was not published" in html
