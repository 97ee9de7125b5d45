"""Words, not codes, and dates as people write them (issue 21, items 4 and 6): what each page of
the demo's morning shows a reader, in English and in French."""
from __future__ import annotations

import re
from html import unescape

import pytest
from django.core.management import call_command
from django.test import Client

from workflows.constants import PostState
from workflows.models import InboundMessage, Post
from workflows.services import posts as post_services
from workflows.services import reviews, translations

pytestmark = pytest.mark.django_db

ISO = re.compile(r"\b\d{4}-\d{2}-\d{2}\b|\b\d{4}-W\d{2}\b")


def _page(user, path, lang="en") -> str:
    client = Client()
    client.force_login(user)
    client.cookies["django_language"] = lang
    response = client.get(path)
    assert response.status_code == 200, path
    return unescape(response.content.decode())


def _visible(html: str) -> str:
    """The page without its tags and machine attributes (datetime="2026-12-07T…" stays raw)."""
    return re.sub(r"<[^>]+>", " ", html)


@pytest.fixture
def morning(demo):
    call_command("seed_demo")
    return demo


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_no_iso_date_on_the_mornings_pages(morning, lang):
    failed = Post.objects.filter(state=PostState.FAILED).first()
    msg = InboundMessage.objects.get(external_id="demo-morning-2")
    for user, path in ((morning.dana, "/"), (morning.dana, "/inbox/"), (morning.dana, f"/inbox/{msg.id}/"),
                       (morning.rami, "/queue/"), (morning.cora, f"/posts/{failed.id}/"), (morning.cora, "/metrics/")):
        text = _visible(_page(user, path, lang))
        assert not ISO.search(text), (path, ISO.search(text)[0])


def test_french_dates_and_weeks(morning):
    text = _visible(_page(morning.cora, "/metrics/", "fr"))
    assert "semaine du " in text
    text = _visible(_page(morning.dana, "/inbox/", "fr"))
    assert re.search(r"\d{1,2}(er)? [a-zéû]+\.? 20\d\d, \d{1,2} h \d\d", text), "7 déc. 2026, 10 h 40"
    text = _visible(_page(morning.dana, "/inbox/", "en"))
    assert re.search(r"[A-Z][a-z]+\.? \d{1,2}, 20\d\d, \d{1,2}(:\d\d)? (a|p)\.m\.", text), "Dec. 7, 2026, 10:40 a.m."


def test_the_tracker_says_which_language_each_approval_covers(demo):
    """tess wrote the French: her translation-step approval covers the English she translated
    from, and the tracker does not say she approved "French v1"."""
    post = post_services.post_create(author=demo.dana, kind="post", channels=["dpe-en", "dpe-fr"],
                                     texts={"en": "The office reopens on Monday."}, rules_acknowledged=True)
    post_services.post_submit(post_id=post.id, by=demo.dana)
    reviews.post_approve(post_id=post.id, by=demo.rami)
    translations.translation_provide(post_id=post.id, by=demo.tess, language="fr", text="Le bureau rouvre lundi.")
    reviews.post_approve(post_id=post.id, by=demo.tess)
    html = _page(demo.cora, f"/posts/{post.id}/")
    tracker = html[html.index('id="tracker"'):html.index("</section>", html.index('id="tracker"'))]
    assert "approved by tess on English v1<" in tracker


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_languages_are_named_and_failures_have_no_internal_words(morning, lang):
    failed = Post.objects.filter(state=PostState.FAILED).first()
    published = Post.objects.filter(state=PostState.PUBLISHED, kind="post").first()
    for post in (failed, published):
        text = _visible(_page(morning.cora, f"/posts/{post.id}/", lang))
        assert not re.search(r"\((en|fr)\)", text), re.search(r".{40}\((en|fr)\)", text)[0]
        assert "preflight" not in text
    text = _visible(_page(morning.cora, f"/posts/{published.id}/", lang))
    assert ("(French)" if lang == "en" else "(français)") in text
