"""The post's history shows what changed in each language's media between two revisions, in
the reader's language (issue 22)."""
from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.workflows import factories as f
from workflows.services import posts

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.mark.parametrize(("lang", "words"), [
    ("en", ["Media — French", "alternative text", "Un carré rouge.", "Un carré vermillon.", "added", "media changed"]),
    ("fr", ["Médias — Français", "texte de remplacement", "Un carré rouge.", "Un carré vermillon.", "ajouté",
            "médias modifiés"]),
])
def test_the_history_shows_each_languages_media_changes(demo, lang, words):
    pic, fr_pic = f.medium(demo), f.medium(demo, name="fr.png")
    post = posts.post_create(author=demo.dana, channels=["dpe-en", "dpe-fr"], kind="post",
                             texts={"en": f.EN, "fr": f.FR}, rules_acknowledged=True,
                             media=[{"medium": pic.id, "alt_text": {"en": "A red square.", "fr": "Un carré rouge."}}])
    posts.post_edit(post_id=post.id, by=demo.dana, media=[
        {"medium": pic.id, "alt_text": {"en": "A red square.", "fr": "Un carré vermillon."}},
        {"medium": fr_pic.id, "language": "fr", "alt_text": {"fr": "L’infographie."}}])
    demo.dana.preferred_language = lang
    demo.dana.save(update_fields=["preferred_language"])
    client = Client()
    client.force_login(demo.dana)
    page = client.get(reverse("web-post", args=[post.id]) + "?from=1&to=2", HTTP_ACCEPT_LANGUAGE=lang).content.decode()
    section = page.split('class="side-by-side diff"')[-1]
    for word in words:
        assert word in page, word
    assert f"{'Medium' if lang == 'en' else 'Média'} {fr_pic.id}" in section
    # English did not change: no English media section.
    assert ("Media — English" if lang == "en" else "Médias — Anglais") not in page
