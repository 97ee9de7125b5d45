"""Issue 21, item 5: after a form error the address bar keeps the action URL (/posts/5/approve/);
reopening it must never give a blank 405 (the browser's English page) or a 500. Every web route
is GET as a signed-in person, with real ids: the class, not the one URL that was seen."""
from __future__ import annotations

import re
from html import unescape

import pytest
from django.urls import URLPattern, reverse

from tests.web.helpers import signed_in as _client
from tests.workflows import factories as f
from workflows.web import urls as web_urls
from workflows.web.views import ACTIONS

pytestmark = pytest.mark.django_db


def _routes(ids: dict[str, object]) -> list[str]:
    """Every web URL with real values for its arguments (each action of the post page)."""
    found = []
    for pattern in web_urls.urlpatterns:
        if not isinstance(pattern, URLPattern) or not pattern.name:
            continue
        names = list(pattern.pattern.converters)
        if "action" in names:
            for action in ACTIONS:
                found.append(reverse(pattern.name, kwargs={**{n: ids[n] for n in names if n != "action"},
                                                           "action": action}))
            continue
        found.append(reverse(pattern.name, kwargs={n: ids[n] for n in names}))
    return found


def test_every_web_route_answers_get_without_405_or_500(demo, citizen_message):
    post = f.at_review(demo)
    msg = citizen_message(external_id="no-405")
    ids = {"post_id": post.id, "inbound_id": msg.id, "export_id": 1, "period_id": 1, "invitation_id": 1, "delivery_id": 1,
           "token": "not-a-token"}
    routes = _routes(ids)
    assert any("/approve/" in r for r in routes) and any("/claim/" in r for r in routes)
    for who in ("rami", "dana", "cora"):
        client = _client(getattr(demo, who))
        for url in routes:
            response = client.get(url)
            assert response.status_code not in (405, 500), (who, url, response.status_code)


def test_reopening_the_action_url_after_a_form_error_goes_back_to_the_post(demo):
    """rami refuses without saying why (a form error); the address bar now shows the action's
    URL. Reloading it (a GET) shows the post again, in French for a French reader."""
    post = f.at_review(demo)
    rami = _client(demo.rami, "fr")
    action_url = reverse("web-post-action", args=[post.id, "request-changes"])
    failed = rami.post(action_url, {"version": post.version, "comment": ""})
    assert failed.status_code == 400
    reopened = rami.get(action_url, follow=True)
    assert reopened.status_code == 200
    assert reopened.redirect_chain[-1][0] == reverse("web-post", args=[post.id])
    html = unescape(reopened.content.decode())
    assert re.search(r'<html lang="fr">', html) and f"Publication {post.id}" in html


def test_signing_out_by_address_goes_home_instead_of_405(demo):
    client = _client(demo.dana)
    response = client.get(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200  # a GET signs no one out
