"""Media in the web pages without JavaScript (issue 22, docs/web.md "Media"): the compose form
uploads through services.media.medium_upload and creates the post with its media; a refused file
comes back with the error in the reader's language beside the file field and nothing stored;
remove and reorder are submit buttons; the post page and the queue show the media with the
alternative text in the reader's language, or say it is missing — never the other language's."""
from __future__ import annotations

import io
import re
from html import unescape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from workflows.models import Medium, Post, PostMedium
from workflows.services import posts as post_services
from workflows.services import reviews
from workflows.services.media import medium_upload

pytestmark = pytest.mark.django_db

EN_ALT = "A bar chart: passport wait times fell from 20 to 8 days this year."
FR_ALT = "Un graphique à barres : l'attente pour un passeport est passée de 20 à 8 jours cette année."


@pytest.fixture
def media_root(settings, tmp_path):
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    return root


def files_under(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def png(name: str = "chart.png", size=(320, 180)) -> SimpleUploadedFile:
    buf = io.BytesIO()
    Image.new("RGB", size, (30, 80, 160)).save(buf, "PNG")
    return SimpleUploadedFile(name, buf.getvalue(), content_type="image/png")


def login(demo, name: str, lang: str = "en") -> Client:
    client = Client()
    client.force_login(getattr(demo, name))
    client.cookies["django_language"] = lang
    return client


def compose_data(**extra):
    return {"kind": "post", "text_en": "Passport wait times are shorter this year.",
            "text_fr": "L'attente pour un passeport est plus courte cette année.",
            "channels": ["dpe-en", "dpe-fr"], "rules_acknowledged": "on", **extra}


def text_of(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def test_compose_without_javascript_uploads_and_creates_the_post_with_its_media(demo, media_root):
    client = login(demo, "dana")
    page = client.get("/posts/new/").content.decode()
    assert 'enctype="multipart/form-data"' in page
    assert re.search(r'<input type="file" name="media_upload"[^>]*accept="image/jpeg,image/png', page)
    # One step: the file and the texts for it (what the fieldset the script adds would send).
    response = client.post("/posts/new/", compose_data(
        media_upload=png(), media_new_alt_en=EN_ALT, media_new_alt_fr=FR_ALT, save="1"))
    assert response.status_code == 302, text_of(response.content.decode())[:2000]
    post = Post.objects.get(id=int(response["Location"].rstrip("/").rsplit("/", 1)[1]))
    (pm,) = PostMedium.objects.filter(post=post)
    assert (pm.alt_text_en, pm.alt_text_fr, pm.language) == (EN_ALT, FR_ALT, "")
    assert pm.medium.original_name == "chart.png" and pm.medium.content_type == "image/png"
    assert files_under(media_root)  # stored through Django's storage


def test_attach_then_describe_then_save_keeps_the_stored_medium(demo, media_root):
    """"Attach the file" stores it and brings the form back with its fieldset (texts kept); the
    second post names it by id and writes its alternative texts."""
    client = login(demo, "dana")
    response = client.post("/posts/new/", compose_data(media_upload=png(), media_attach="1"))
    assert response.status_code == 200
    page = response.content.decode()
    medium = Medium.objects.get(original_name="chart.png")
    assert f'name="media" value="{medium.id}"' in page
    assert f'id="media_{medium.id}_alt_en"' in page and f'id="media_{medium.id}_alt_fr"' in page
    assert "Passport wait times are shorter this year." in page  # the texts came back
    assert not Post.objects.filter(texts__body="Passport wait times are shorter this year.").exists()
    # The counters are tied to the fields they count.
    assert f'aria-describedby="media_{medium.id}_alt_en_hint media_{medium.id}_alt_en_count"' in page
    response = client.post("/posts/new/", compose_data(**{
        "media": [str(medium.id)], f"media_{medium.id}_alt_en": EN_ALT, f"media_{medium.id}_alt_fr": FR_ALT,
        f"media_{medium.id}_language": "", "save": "1"}))
    assert response.status_code == 302
    pm = PostMedium.objects.get(medium=medium)
    assert pm.alt_text_fr == FR_ALT


@pytest.mark.parametrize(("lang", "expected"), [
    ("en", "SVG images are not accepted"),
    ("fr", "Les images SVG ne sont pas acceptées"),
])
def test_a_refused_file_comes_back_in_the_readers_language_and_nothing_is_stored(demo, media_root, lang, expected):
    client = login(demo, "dana", lang)
    svg = SimpleUploadedFile("chart.png", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
                             content_type="image/png")
    before = (Medium.objects.count(), Post.objects.count(), files_under(media_root))
    response = client.post("/posts/new/", compose_data(media_upload=svg, submit="1"))
    assert response.status_code == 200
    page = response.content.decode()
    assert (Medium.objects.count(), Post.objects.count(), files_under(media_root)) == before
    # Beside the file field, tied to it, and in the error summary linking to it.
    error = re.search(r'<div class="error-message" id="id_media_upload_error">(.*?)</div>', page, re.S)
    assert error and expected in unescape(error.group(1))
    assert re.search(r'<input type="file" name="media_upload"[^>]*aria-describedby="id_media_upload_error', page)
    assert 'href="#id_media_upload"' in page
    assert 'id="error-summary"' in page
    # The texts typed are not lost.
    assert "L&#x27;attente pour un passeport est plus courte cette année." in page


def test_missing_french_alt_text_blocks_submit_on_the_field(demo, media_root):
    """The pre-screen's result lands on the French alternative text of that image, in the summary too."""
    client = login(demo, "dana", "fr")
    response = client.post("/posts/new/", compose_data(media_upload=png(), media_new_alt_en=EN_ALT, submit="1"))
    assert response.status_code == 200
    page = response.content.decode()
    medium = Medium.objects.get(original_name="chart.png")
    assert not PostMedium.objects.filter(medium=medium).exists()  # nothing was created
    error = re.search(rf'id="media_{medium.id}_alt_fr_error">(.*?)</div>', page, re.S)
    assert error and "L'image 1 n'a pas de texte de remplacement en français" in unescape(error.group(1))
    assert f'href="#media_{medium.id}_alt_fr"' in page
    assert f'aria-describedby="media_{medium.id}_alt_fr_hint media_{medium.id}_alt_fr_count media_{medium.id}_alt_fr_error"' in page


def test_remove_and_reorder_without_javascript(demo, media_root):
    client = login(demo, "dana")
    a = medium_upload(by=demo.dana, upload=png("a.png"))
    b = medium_upload(by=demo.dana, upload=png("b.png"))
    data = compose_data(media=[str(a.id), str(b.id)], **{f"media_{a.id}_alt_en": "First", f"media_{b.id}_alt_en": "Second"})
    page = client.post("/posts/new/", {**data, "media_down": str(a.id)}).content.decode()
    assert page.index(f'name="media" value="{b.id}"') < page.index(f'name="media" value="{a.id}"')
    assert re.search(rf'id="media_{a.id}_up"[^>]* autofocus', page)  # now last: the focus on its "Move up"
    assert "First" in page and "Second" in page
    page = client.post("/posts/new/", {**data, "media_remove": str(a.id)}).content.decode()
    assert f'name="media" value="{a.id}"' not in page and f'name="media" value="{b.id}"' in page
    assert Post.objects.filter(author=demo.dana, texts__body__startswith="Passport").count() == 0


def test_another_organisations_medium_is_not_attached(demo, media_root):
    theirs = medium_upload(by=demo.omar, upload=png("theirs.png"))
    page = login(demo, "dana").post("/posts/new/", compose_data(media=[str(theirs.id)], media_attach="1")).content.decode()
    assert f'value="{theirs.id}"' not in page


def test_live_checks_count_and_check_each_alt_text_beside_it(demo, media_root):
    medium = medium_upload(by=demo.dana, upload=png())
    client = login(demo, "dana", "fr")
    response = client.post("/checks/", compose_data(**{"media": [str(medium.id)], f"media_{medium.id}_alt_en": EN_ALT,
                                                      f"media_{medium.id}_alt_fr": ""}))
    page = response.content.decode()
    count = re.search(rf'<p class="counter[^"]*" id="media_{medium.id}_alt_en_count" hx-swap-oob="true">(.*?)</p>', page)
    assert count and f"{len(EN_ALT)} caractères sur 1\u00a0500" in unescape(count.group(1)).replace(" ", " ")
    checks = re.search(rf'id="media_{medium.id}_alt_fr_checks" hx-swap-oob="true">(.*?)</ul>', page, re.S)
    assert checks and "pas de texte de remplacement en français" in unescape(checks.group(1))
    # The reading level's score is shown with the other checks.
    assert re.search(r"niveau scolaire \d", unescape(page)) or "trop court pour en évaluer" in unescape(page)


def _official_with_image(demo, *, fr_alt: str):
    medium = medium_upload(by=demo.dana, upload=png())
    post = post_services.post_create(
        author=demo.dana, kind="post", channels=["dpe-en", "dpe-fr"], rules_acknowledged=True,
        texts={"en": "Passport wait times are shorter this year."},
        media=[{"medium": medium.id, "language": "", "alt_text": {"en": EN_ALT, "fr": fr_alt}}])
    post_services.post_submit(post_id=post.id, by=demo.dana)
    return post, medium


def test_tracker_and_queue_show_the_alt_text_in_french_or_say_it_is_missing(demo, media_root):
    post, medium = _official_with_image(demo, fr_alt="")
    client = login(demo, "rami", "fr")
    page = client.get(f"/posts/{post.id}/?lang=fr").content.decode()
    img = re.search(r'<img class="media-thumb" src="([^"]+)" alt="([^"]*)"', page)
    assert img and img.group(2) == "Aucune description en français"
    assert EN_ALT not in img.group(0)  # never the English one silently
    assert f'<span lang="en">{EN_ALT}</span>' in unescape(page).replace("&#x27;", "'")
    assert "Aucune description en français" in text_of(page)
    assert client.get(img.group(1)).status_code == 200  # the thumbnail is served to staff
    queue = client.get("/queue/?lang=fr").content.decode()
    row = re.search(rf'<tr[^>]*>(?:(?!</tr>).)*?/posts/{post.id}/(?:(?!</tr>).)*</tr>', queue, re.S)
    assert row and "1 image ou vidéo" in text_of(row.group(0)) and "Aucune description en français" in row.group(0)


def test_tracker_and_queue_use_the_french_alt_text_for_a_french_reader(demo, media_root):
    post, medium = _official_with_image(demo, fr_alt=FR_ALT)
    client = login(demo, "rami", "fr")
    page = unescape(client.get(f"/posts/{post.id}/?lang=fr").content.decode())
    assert re.search(r'<img class="media-thumb" src="[^"]+" alt="' + re.escape(FR_ALT) + '">', page)
    queue = unescape(client.get("/queue/?lang=fr").content.decode())
    assert re.search(r'<img src="[^"]+" alt="' + re.escape(FR_ALT) + '">', queue)
    english = unescape(login(demo, "rami", "en").get(f"/posts/{post.id}/").content.decode())
    assert re.search(r'<img class="media-thumb" src="[^"]+" alt="' + re.escape(EN_ALT) + '">', english)


def test_translation_step_asks_for_the_french_alt_text_beside_the_english(demo, media_root):
    post, medium = _official_with_image(demo, fr_alt="")
    reviews.post_approve(post_id=post.id, by=demo.rami)
    client = login(demo, "tess", "fr")
    page = unescape(client.get(f"/posts/{post.id}/").content.decode())
    pm = PostMedium.objects.get(post=post)
    assert f'<p lang="en" id="tmedia_{pm.position}_source">{EN_ALT}</p>' in page
    assert f'<textarea name="tmedia_{pm.position}_alt" id="tmedia_{pm.position}_alt" rows="3" lang="fr"' in page
    post.refresh_from_db()
    response = client.post(f"/posts/{post.id}/translate/", {
        "language": "fr", "text": "L'attente pour un passeport est plus courte cette année.",
        "version": post.version, f"tmedia_{pm.position}_alt": FR_ALT})
    assert response.status_code == 302, text_of(response.content.decode())[:1500]
    pm.refresh_from_db()
    assert pm.alt_text_fr == FR_ALT
