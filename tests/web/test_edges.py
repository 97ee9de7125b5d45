"""The smaller holes: open redirects through `next`, the anonymous API throttle, HTML-escaped
plain-text e-mail, and error pages whatever DEBUG says (each test fails on the old code)."""
from __future__ import annotations

import uuid

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

EVIL = ["https://evil.example/", "//evil.example/", "/\\evil.example/", "\\\\evil.example",
        "https:evil.example", "javascript:alert(1)", " //evil.example"]


def _is_local(location: str) -> bool:
    from django.utils.http import url_has_allowed_host_and_scheme

    return url_has_allowed_host_and_scheme(location, allowed_hosts={"testserver"}) and not location.startswith("//")


@pytest.fixture
def dana(demo):
    client = Client()
    client.force_login(demo.dana)
    return client


@pytest.mark.parametrize("target", EVIL)
def test_inbox_claim_never_redirects_off_site(demo, dana, citizen_message, target):
    msg = citizen_message(external_id=f"m-{uuid.uuid4()}")
    r = dana.post(reverse("web-inbound-claim", args=[msg.id]), {"next": target})
    assert r.status_code == 302
    assert r["Location"] == reverse("web-inbound", args=[msg.id]), r["Location"]


def test_inbox_claim_keeps_a_local_next(demo, dana, citizen_message):
    msg = citizen_message()
    r = dana.post(reverse("web-inbound-claim", args=[msg.id]), {"next": "/inbox/?status=new"})
    assert r["Location"] == "/inbox/?status=new"


@pytest.mark.parametrize("target", EVIL)
def test_language_login_and_logout_never_redirect_off_site(demo, dana, target):
    r = dana.post(reverse("web-language"), {"language": "fr", "next": target})
    assert r.status_code == 302 and _is_local(r["Location"]), r["Location"]

    demo.dana.set_password("a-long-demo-password-1")
    demo.dana.save()
    anon = Client()
    r = anon.post(reverse("login") + "?next=" + target,
                  {"username": "dana", "password": "a-long-demo-password-1", "next": target})
    assert r.status_code == 302 and _is_local(r["Location"]), r["Location"]
    # already signed in: LoginView redirects at once
    r = anon.get(reverse("login"), {"next": target})
    assert r.status_code == 302 and _is_local(r["Location"]), r["Location"]
    r = anon.post(reverse("logout"), {"next": target})
    assert r.status_code == 302 and _is_local(r["Location"]), r["Location"]


# --- the anonymous throttle ----------------------------------------------------------------

@pytest.fixture
def fresh_throttle(monkeypatch):
    from django.core.cache.backends.locmem import LocMemCache
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(SimpleRateThrottle, "cache", LocMemCache(f"throttle-{uuid.uuid4()}", {}))


@pytest.mark.parametrize("credentials", [None, "Token not-a-real-token", "Basic ZGFuYTpwYXNz"])
def test_unauthenticated_and_bad_credentials_are_throttled(demo, settings, fresh_throttle, credentials):
    from rest_framework.settings import api_settings
    from rest_framework.throttling import AnonRateThrottle

    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "anon": "5/minute"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    api_settings.reload()
    AnonRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
    try:
        client = APIClient()
        if credentials:
            client.credentials(HTTP_AUTHORIZATION=credentials)
        codes = [client.get("/api/v1/posts/").status_code for _ in range(8)]
        assert codes[:5] == [401] * 5 or codes[:5] == [403] * 5, codes
        assert codes[5:] == [429] * 3, codes
        r = client.get("/api/v1/posts/")
        assert r["Content-Type"].startswith("application/problem+json")
        assert r.json()["type"] == "urn:parley:problem:throttled"
        assert int(r["Retry-After"]) > 0
        # a valid token from the same address is not affected
        from accounts.services import token_issue

        ok = APIClient()
        ok.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(user=demo.dana)[1]}")
        assert ok.get("/api/v1/posts/").status_code == 200
    finally:
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK}
        api_settings.reload()
        AnonRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES


# --- plain-text e-mail ---------------------------------------------------------------------

def test_plain_text_email_is_not_html_escaped(demo):
    from workflows.services.notifications import _render

    text = "Le bureau ouvre aujourd'hui à 9 h & ferme à « 17 h » <sans rendez-vous>."
    demo.rami.preferred_language = "fr"
    msg = _render("rejected", recipient=demo.rami, context={
        "post": type("P", (), {"id": 42})(), "comment_by": "Cora O'Brien", "texts": [("fr", text)],
        "comment": "Pas aujourd'hui, merci.",
    })
    assert text in msg.body, msg.body
    assert "Cora O'Brien" in msg.body and "Pas aujourd'hui, merci." in msg.body
    assert "&#x27;" not in msg.body and "&amp;" not in msg.body and "&lt;" not in msg.body
    assert "aujourd&" not in msg.subject


def test_notification_email_end_to_end_keeps_apostrophes(demo):
    from tests.celery.test_delivery import drain
    from workflows.services.posts import post_create, post_submit
    from workflows.services.reviews import post_request_changes

    post = post_create(author=demo.dana, channels=["dpe-en", "dpe-fr"], kind="post",
                       texts={"en": "New hours at the passport office."}, rules_acknowledged=True)
    post_submit(post_id=post.id, by=demo.dana)
    post_request_changes(post_id=post.id, by=demo.rami, comment="Ajoutez l'adresse d'aujourd'hui.")
    drain()
    (to_dana,) = [m for m in mail.outbox if m.to == ["dana@dpe.example"]]
    assert "Ajoutez l'adresse d'aujourd'hui." in to_dana.body, to_dana.body


# --- error pages ---------------------------------------------------------------------------

def test_html_routes_get_a_413_page_and_api_a_413_problem(demo, dana, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    r = dana.post(reverse("web-compose"), {"text_en": "x" * 5000})
    assert r.status_code == 413
    assert "text/html" in r["Content-Type"] and b"too large" in r.content
    api = APIClient()
    r = api.post("/api/v1/posts/", {"texts": {"en": "x" * 5000}}, format="json")
    assert r.status_code == 413 and r["Content-Type"].startswith("application/problem+json")
    assert r.json()["type"] == "urn:parley:problem:too_large"


def test_api_500_with_debug_on_is_problem_details(demo, settings, monkeypatch):
    from workflows.api import views as api_views

    settings.DEBUG = True

    def boom(*args, **kwargs):
        raise RuntimeError("DATABASE_URL=postgres://secret@db/parley")

    monkeypatch.setattr(api_views.PostViewSet, "list", boom)
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(demo.dana)
    r = client.get("/api/v1/posts/")
    assert r.status_code == 500
    assert r["Content-Type"].startswith("application/problem+json")
    assert b"DATABASE_URL" not in r.content and b"Traceback" not in r.content


def test_api_404_with_debug_on_is_problem_details(settings):
    settings.DEBUG = True
    r = Client().get("/api/v1/no-such-thing/")
    assert r.status_code == 404
    assert r["Content-Type"].startswith("application/problem+json")


def test_413_page_in_french(demo, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client = Client()
    client.cookies["django_language"] = "fr"
    r = client.post(reverse("login"), {"username": "x" * 5000})
    assert r.status_code == 413
    assert "trop volumineux" in r.content.decode()
