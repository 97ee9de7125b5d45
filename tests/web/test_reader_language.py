"""Issue 21, item 2: a saved language counts only once a person chose it; until then the
browser's (or the API client's) Accept-Language decides, and `?lang=` always does."""
from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db

FRENCH_BROWSER = {"HTTP_ACCEPT_LANGUAGE": "fr-CA,fr;q=0.9,en;q=0.5"}


def html_lang(response) -> str:
    match = re.search(r'<html lang="([a-z]+)"', response.content.decode())
    assert match, response.content[:300]
    return match.group(1)


@pytest.fixture
def password_set(demo):
    for user in (demo.dana, demo.rami):
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
    return demo


def test_demo_people_never_chose_a_language(demo):
    assert demo.dana.preferred_language == ""


def test_first_sign_in_with_a_french_browser_gives_french_pages(password_set):
    """The login page is French, and so is every page after it (the profile was never chosen)."""
    browser = Client(**FRENCH_BROWSER)
    login = browser.get(reverse("login"))
    assert html_lang(login) == "fr"
    response = browser.post(reverse("login"), {"username": "dana", "password": PASSWORD}, follow=True)
    assert response.redirect_chain, response.content[:500]
    assert html_lang(response) == "fr"
    for name in ("home", "web-inbox", "web-compose", "web-queue"):
        page = browser.get(reverse(name))
        assert page.status_code == 200
        assert html_lang(page) == "fr", name
        assert "Nouvelle publication" in page.content.decode() or name != "web-compose"


def test_lang_parameter_overrides_the_browser(password_set):
    browser = Client(**FRENCH_BROWSER)
    browser.force_login(password_set.dana)
    assert html_lang(browser.get(reverse("home"), {"lang": "en"})) == "en"
    assert html_lang(browser.get(reverse("home"))) == "fr"


def test_a_choice_made_with_the_toggle_persists_over_the_browser(password_set):
    from accounts.models import User

    browser = Client(**FRENCH_BROWSER)
    browser.force_login(password_set.rami)
    browser.post(reverse("web-language"), {"language": "en", "next": "/"})
    assert User.objects.get(id=password_set.rami.id).preferred_language == "en"
    # Another browser (no toggle cookie), still French: the person's choice wins now.
    other = Client(**FRENCH_BROWSER)
    other.force_login(password_set.rami)
    assert html_lang(other.get(reverse("home"))) == "en"
    assert html_lang(other.get(reverse("home"), {"lang": "fr"})) == "fr"


def test_a_chosen_french_profile_wins_over_an_english_browser(demo):
    browser = Client(HTTP_ACCEPT_LANGUAGE="en")
    browser.force_login(demo.tess)  # tess chose French
    assert html_lang(browser.get(reverse("home"))) == "fr"


def test_integration_with_accept_language_fr_gets_french_problem_details(demo):
    """A token whose user never chose a language: the client's Accept-Language decides."""
    from rest_framework.test import APIClient

    from accounts.services import token_issue

    _token, key = token_issue(user=demo.dana)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    body = api.get("/api/v1/posts/999999999/", HTTP_ACCEPT_LANGUAGE="fr").json()
    assert (body["title"], body["detail"], body["code"]) == ("Introuvable", "Cette publication n'existe pas.",
                                                             "not_found.post")
    body = api.get("/api/v1/posts/999999999/", {"lang": "en"}, HTTP_ACCEPT_LANGUAGE="fr").json()
    assert body["title"] == "Not found"
    body = api.get("/api/v1/posts/999999999/", HTTP_ACCEPT_LANGUAGE="en").json()
    assert body["title"] == "Not found"
