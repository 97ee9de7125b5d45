"""Say the truth about publishing (issue 11): with a French channel whose adapter fails (a real
HTTP server on 127.0.0.1 that refuses every post), an urgent publish is not reported as a success,
the post page and the home pages say exactly what is live, everyone who may publish can retry,
and a retry against the still-broken channel says it failed again."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.urls import reverse

from tests.web.helpers import page_text as text
from tests.web.helpers import signed_in as _client
from workflows.constants import PostState, PublicationStatus
from workflows.models import Channel, Post
from workflows.services import posts as post_services

# Transactional: in embedded mode publishing runs when the action's transaction commits, inside
# the request, as in `make run`.
pytestmark = pytest.mark.django_db(transaction=True)


class Refuses(BaseHTTPRequestHandler):
    """A platform that refuses every publication: 403, as with revoked credentials."""

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(403)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"error": "token revoked"}')

    def log_message(self, *args):
        pass


@pytest.fixture
def broken_french_channel(seeded, embedded):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Refuses)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Channel.objects.filter(slug="dpe-fr").update(
        adapter="webhook", adapter_config={"url": f"http://127.0.0.1:{server.server_port}/publish"})
    yield
    server.shutdown()
    server.server_close()


def test_urgent_publish_with_a_broken_french_channel_tells_the_truth(
        seeded, broken_french_channel):
    demo = seeded
    post = post_services.post_create(author=demo.dana, kind="post", channels=["dpe-en", "dpe-fr"],
                                     rules_acknowledged=True,
                                     texts={"en": "The office is closed today.", "fr": "Le bureau est fermé aujourd'hui."})
    post = post_services.post_submit(post_id=post.id, by=demo.dana)
    uma = _client(demo.uma)
    response = uma.post(reverse("web-post-action", args=[post.id, "urgent"]),
                        {"version": post.version, "reason": "Storm"}, follow=True)
    post = Post.objects.get(id=post.id)
    assert post.state == PostState.FAILED
    assert {p.language: p.status for p in post.publications.all()} == {"en": PublicationStatus.SENT,
                                                                      "fr": PublicationStatus.FAILED}
    html = text(response)
    assert "message--success" not in html and "Published urgently." not in html
    truth = "English is live; French failed: the platform refused the channel's credentials."
    assert 'class="message message--error"' in html and f"Published urgently, but not everywhere: {truth}" in html
    assert 'id="publishing-truth"' in html and truth in html
    # uma broke the glass and may retry; so may cora (publish permission) and dana (the author).
    assert "Retry failed publication" in html
    for who in (demo.cora, demo.dana):
        assert "Retry failed publication" in text(_client(who).get(reverse("web-post", args=[post.id])))
    assert "Retry failed publication" not in text(_client(demo.rami).get(reverse("web-post", args=[post.id])))
    # The home pages of the author and of whoever may publish say it too, in their language.
    fr_home = text(_client(demo.dana, "fr").get(reverse("home")))
    assert "Problèmes de publication" in fr_home
    assert ("L'anglais est en ligne\u202f; le français a échoué\u00a0: la plateforme a refusé les identifiants du compte."
            in fr_home)
    assert truth in text(_client(demo.cora).get(reverse("home")))
    assert "Publishing problems" not in text(_client(demo.tess).get(reverse("home")))
    # Retrying against the still-broken channel says it failed again, never "retried" in green.
    again = _client(demo.cora).post(reverse("web-post-action", args=[post.id, "retry"]),
                                    {"version": post.version}, follow=True)
    html = text(again)
    assert f"Publishing failed again: {truth}" in html and "message--success" not in html
    assert Post.objects.get(id=post.id).state == PostState.FAILED


def test_the_urgent_publisher_may_retry_through_the_service(seeded, broken_french_channel):
    demo = seeded
    from workflows.services.publishing import post_retry

    post = post_services.post_create(author=demo.dana, kind="post", channels=["dpe-en", "dpe-fr"],
                                     rules_acknowledged=True, texts={"en": "Closed.", "fr": "Fermé."})
    post = post_services.post_submit(post_id=post.id, by=demo.dana)
    post_services.post_publish_urgent(post_id=post.id, by=demo.uma, reason="Storm")
    post = Post.objects.get(id=post.id)
    assert post.state == PostState.FAILED
    assert post_retry(post_id=post.id, by=demo.uma).id == post.id
    assert Post.objects.get(id=post.id).state == PostState.FAILED  # published again, failed again
