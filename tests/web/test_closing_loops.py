"""Closing the loops in the web UI (issue 11): complete a review after the fact from the post page
(reached from the queue) and close a citizen message without a reply from its page."""
from __future__ import annotations

import pytest
from django.urls import reverse

from tests.web.helpers import page_text as text
from tests.web.helpers import signed_in as _client
from workflows.constants import InboundStatus, ReviewKind, ReviewStatus
from workflows.models import AuditEvent, PostReview
from workflows.services import posts as post_services

pytestmark = pytest.mark.django_db


def _urgent(demo):
    post = post_services.post_create(author=demo.dana, kind="post", channels=["dpe-en", "dpe-fr"],
                                     texts={"en": "Road closed.", "fr": "Route fermée."}, rules_acknowledged=True)
    post_services.post_publish_urgent(post_id=post.id, by=demo.uma, reason="Public safety")
    return post, PostReview.objects.get(post=post, kind=ReviewKind.RETROSPECTIVE)


def test_retrospective_review_from_the_queue_to_done(demo):
    post, review = _urgent(demo)
    cora = _client(demo.cora, "fr")
    queue = text(cora.get(reverse("web-queue")))
    link = f'{reverse("web-post", args=[post.id])}#review-{review.id}'
    assert link in queue and "Faire l'examen" in queue
    page = text(cora.get(reverse("web-post", args=[post.id])))
    assert f'id="review-{review.id}"' in page and "Examiner cette publication urgente" in page
    # uma broke the glass and dana wrote it: neither is offered the form.
    for who in (demo.uma, demo.dana):
        assert f'id="review-{review.id}"' not in text(_client(who).get(reverse("web-post", args=[post.id])))
    url = reverse("web-post-action", args=[post.id, "complete-review"])
    refused = cora.post(url, {"review": review.id, "verdict": "follow_up", "comment": ""})
    assert refused.status_code == 400 and "Dites ce qui demande un suivi." in text(refused)
    done = cora.post(url, {"review": review.id, "verdict": "follow_up", "comment": "Motif trop mince."}, follow=True)
    assert "Examen terminé\u00a0: suivi nécessaire." in text(done)
    review.refresh_from_db()
    assert review.status == ReviewStatus.DONE and review.ok is False and review.reviewer_id == demo.cora.id
    assert AuditEvent.objects.filter(post=post, verb="retrospective_done", actor=demo.cora.id).exists()
    assert link not in text(cora.get(reverse("web-queue")))  # it left the queue
    assert _client(demo.uma).post(url, {"review": review.id, "verdict": "fine"}).status_code == 400


def test_close_a_message_without_a_reply(demo, citizen_message):
    msg = citizen_message()
    dana = _client(demo.dana, "fr")
    inbox = text(dana.get(reverse("web-inbox")))
    assert f'{reverse("web-inbound", args=[msg.id])}#dismiss' in inbox
    url = reverse("web-inbound-dismiss", args=[msg.id])
    refused = dana.post(url, {"reason": "", "comment": ""})
    assert refused.status_code == 400 and 'id="error-summary"' in text(refused)
    assert _client(demo.omar).post(url, {"reason": "spam"}).status_code == 404
    response = dana.post(url, {"reason": "handled_elsewhere", "comment": "Réglé au téléphone."}, follow=True)
    html = text(response)
    assert response.redirect_chain[-1][0] == reverse("web-inbox")
    assert "fermé sans réponse\u00a0: Réglé ailleurs." in html
    assert reverse("web-inbound", args=[msg.id]) not in html  # no longer in the open inbox
    msg.refresh_from_db()
    assert msg.status == InboundStatus.DISMISSED
    page = text(dana.get(reverse("web-inbound", args=[msg.id])))
    assert 'id="dismissal"' in page and "Réglé au téléphone." in page and 'id="dismiss"' not in page


def test_staff_log_a_message_received_by_phone(demo):
    dana = _client(demo.dana, "fr")
    assert reverse("web-inbound-log") in text(dana.get(reverse("web-inbox")))
    form = text(dana.get(reverse("web-inbound-log")))
    assert "Consigner un message reçu par téléphone ou par courriel" in form
    refused = dana.post(reverse("web-inbound-log"), {"medium": "phone", "author": "", "text": "", "channel": "dpe-fr"})
    assert refused.status_code == 400 and 'id="error-summary"' in text(refused)
    response = dana.post(reverse("web-inbound-log"), {
        "medium": "phone", "author": "M. Gagnon", "contact": "819-555-0142", "text": "Il demande les heures d'ouverture du bureau de Hull.",
        "language": "fr", "channel": "dpe-fr", "received_at": ""}, follow=True)
    html = text(response)
    assert "Message de M. Gagnon consigné dans la boîte de réception." in html
    assert "par dana, reçu par téléphone" in html
    from workflows.models import InboundMessage

    msg = InboundMessage.objects.get(author="M. Gagnon")
    assert (msg.source, msg.language, msg.status, msg.channel.slug) == ("manual", "fr", "new", "dpe-fr")
    assert AuditEvent.objects.filter(inbound=msg, verb="logged", data__medium="phone").exists()
    # rami may not draft: he cannot log messages either.
    assert _client(demo.rami).post(reverse("web-inbound-log"), {
        "medium": "email", "author": "x", "contact": "x@example.org", "text": "y", "channel": "dpe-en"}).status_code == 400
    assert not InboundMessage.objects.filter(author="x").exists()
