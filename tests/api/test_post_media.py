"""Media on posts through the API (issue 22): `media` on create, edit and translation; the
post's detail shows them; refusals are problem details in the reader's language; the OpenAPI
schema documents them; the detail's statements do not grow with the number of media."""
from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.workflows import factories as f
from workflows import limits
from workflows.models import PostMedium, PostText

from .conftest import assert_problem

pytestmark = pytest.mark.django_db

MEDIUM_FIELDS = {"id", "position", "language", "kind", "content_type", "width", "height", "duration", "alt_text",
                 "captions", "focus", "file_url", "thumbnail_url"}


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _create(client, media, headers=None):
    body = {"channels": ["dpe-en", "dpe-fr"], "kind": "post", "lane": "official",
            "texts": {"en": "Offices reopen Monday.", "fr": "Les bureaux rouvrent lundi."},
            "rules_acknowledged": True, "media": media}
    return client.post("/api/v1/posts/", body, format="json", **(headers or {}))


def test_a_post_is_created_with_media_and_its_detail_shows_them(client_for, demo):
    pic, fr_pic = f.medium(demo), f.medium(demo, name="fr.png")
    response = _create(client_for("dana"), [
        {"medium": pic.id, "alt_text": {"en": "A red square.", "fr": "Un carré rouge."}, "focus": [0.25, -0.5]},
        {"medium": fr_pic.id, "language": "fr", "alt_text": {"fr": "L’infographie."}},
    ])
    assert response.status_code == 201, response.content
    media = response.json()["media"]
    assert [set(m) for m in media] == [MEDIUM_FIELDS, MEDIUM_FIELDS]
    assert media[0] | {"file_url": "", "thumbnail_url": ""} == {
        "id": pic.id, "position": 0, "language": "", "kind": "image", "content_type": "image/png", "width": 4,
        "height": 3, "duration": None, "alt_text": {"en": "A red square.", "fr": "Un carré rouge."},
        "captions": {"en": "", "fr": ""}, "focus": [0.25, -0.5], "file_url": "", "thumbnail_url": ""}
    assert (media[1]["id"], media[1]["language"], media[1]["alt_text"]) == (
        fr_pic.id, "fr", {"en": "", "fr": "L’infographie."})
    detail = client_for("dana").get(f"/api/v1/posts/{response.json()['id']}/").json()
    assert detail["media"] == media
    # Lists stay cheap: the media are in the detail only.
    listed = client_for("dana").get("/api/v1/posts/").json()["results"][0]
    assert "media" not in listed


def test_patch_replaces_the_media_and_moves_the_languages_it_touches(client_for, demo):
    pic, fr_pic = f.medium(demo), f.medium(demo, name="fr.png")
    client = client_for("dana")
    created = _create(client, [{"medium": pic.id, "alt_text": {"en": "A red square."}}])
    post_id, etag = created.json()["id"], created["ETag"]
    response = client.patch(f"/api/v1/posts/{post_id}/", {"media": [
        {"medium": pic.id, "alt_text": {"en": "A red square."}},
        {"medium": fr_pic.id, "language": "fr", "alt_text": {"fr": "Un carré rouge."}},
    ]}, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 200, response.content
    assert response["ETag"] != etag
    assert [m["id"] for m in response.json()["media"]] == [pic.id, fr_pic.id]
    assert dict(PostText.objects.filter(post_id=post_id).values_list("language", "version")) == {"en": 1, "fr": 2}
    # Omitted: unchanged. []: none.
    assert len(client.patch(f"/api/v1/posts/{post_id}/", {"rules_acknowledged": True}, format="json").json()["media"]) == 2
    assert client.patch(f"/api/v1/posts/{post_id}/", {"media": []}, format="json").json()["media"] == []


def test_the_translator_gives_the_french_alt_text(client_for, demo, flow):
    from workflows.services import posts, reviews

    pic = f.medium(demo)
    post = posts.post_create(author=demo.dana, channels=["dpe-en", "dpe-fr"], kind="post",
                             texts={"en": "Offices reopen Monday."}, rules_acknowledged=True,
                             media=[{"medium": pic.id, "alt_text": {"en": "A red square."}}])
    posts.post_submit(post_id=post.id, by=demo.dana)
    reviews.post_approve(post_id=post.id, by=demo.rami)
    response = client_for("tess").put(f"/api/v1/posts/{post.id}/translations/fr/", {
        "text": "Les bureaux rouvrent lundi.", "media": [{"position": 0, "alt_text": "Un carré rouge."}],
    }, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["media"][0]["alt_text"] == {"en": "A red square.", "fr": "Un carré rouge."}
    bad = client_for("tess").put(f"/api/v1/posts/{post.id}/translations/fr/", {
        "text": "Les bureaux rouvrent lundi.", "media": [{"position": 7, "alt_text": "?"}],
    }, format="json", HTTP_ACCEPT_LANGUAGE="fr")
    body = assert_problem(bad, 400, field="media.0.position")
    assert body["code"] == "media.attach.no_position"
    assert body["errors"]["media.0.position"] == ["Il n’y a pas de média à cette position dans la publication en français."]


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_another_organisations_medium_is_400_as_if_it_did_not_exist(client_for, demo, lang):
    theirs = f.medium(user=demo.omar)
    response = _create(client_for("dana"), [{"medium": theirs.id}], headers={"HTTP_ACCEPT_LANGUAGE": lang})
    body = assert_problem(response, 400, field="media.0.medium")
    assert body["code"] == "media.attach.unknown"
    assert body["errors"]["media.0.medium"] == [{"en": "There is no such medium.", "fr": "Ce média n’existe pas."}[lang]]
    missing = _create(client_for("dana"), [{"medium": 10**15}], headers={"HTTP_ACCEPT_LANGUAGE": lang}).json()
    assert (missing["code"], missing["errors"]) == (body["code"], body["errors"])
    assert not PostMedium.objects.exists()


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_alt_text_over_its_cap_is_422_text_too_long(client_for, demo, lang):
    pic = f.medium(demo)
    response = _create(client_for("dana"), [{"medium": pic.id, "alt_text": {"fr": "x" * (limits.ALT_TEXT_MAX + 1)}}],
                       headers={"HTTP_ACCEPT_LANGUAGE": lang})
    body = assert_problem(response, 422)
    assert body["type"] == "urn:parley:problem:text_too_long" and body["code"] == "media.attach.alt_text_too_long"
    assert body["params"] == {"length": limits.ALT_TEXT_MAX + 1, "limit": limits.ALT_TEXT_MAX}
    words = " ".join(m for ms in body["errors"].values() for m in ms)
    assert {"en": "This alternative text is 2001 characters long",
            "fr": "Ce texte de remplacement compte 2001 caractères"}[lang] in words


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_more_images_than_mastodon_takes_is_422(client_for, demo, lang):
    media = [{"medium": f.medium(demo, name=f"{i}.png").id} for i in range(5)]
    body = assert_problem(_create(client_for("dana"), media, headers={"HTTP_ACCEPT_LANGUAGE": lang}), 422,
                          field="media")
    assert body["code"] == "media.attach.too_many_images" and body["params"]["limit"] == 4
    assert {"en": "accepts at most 4 images on one post", "fr": "accepte au plus 4 images par publication"}[lang] in \
        body["errors"]["media"][0]


@pytest.mark.parametrize(("item", "field"), [
    ({"focus": [0, 2]}, "media.0.focus.1"),
    ({"language": "de"}, "media.0.language"),
    ({"alt_text": {"de": "x"}}, "media.0.alt_text.de"),
    ({"colour": "red"}, "media.0.colour"),
])
def test_bad_shapes_are_400_and_write_nothing(client_for, demo, item, field):
    pic = f.medium(demo)
    assert_problem(_create(client_for("dana"), [{"medium": pic.id, **item}]), 400, field=field)
    assert not PostMedium.objects.exists()


def test_more_entries_than_any_post_takes_are_refused_by_the_shape(client_for, demo):
    pic = f.medium(demo)
    assert_problem(_create(client_for("dana"), [{"medium": pic.id}] * (limits.MEDIA_PER_POST_MAX + 1)), 400,
                   field="media")


def test_the_schema_documents_media(client_for):
    schema = client_for("dana").get("/api/schema/?format=json").json()["components"]["schemas"]
    assert "media" in schema["PostCreateRequest"]["properties"]
    assert "media" in schema["PatchedPostEditRequest"]["properties"]
    assert "media" in schema["TranslationRequest"]["properties"]
    assert "media" in schema["PostDetail"]["properties"] and "media" not in schema["Post"]["properties"]
    assert set(schema["PostMedium"]["properties"]) == MEDIUM_FIELDS
    attach = schema["MediaAttachRequest"]["properties"]
    assert set(attach) == {"medium", "language", "alt_text", "captions", "focus"}


@pytest.mark.postgresql("statement pins are PostgreSQL's")
def test_the_detail_reads_the_media_in_one_statement_whatever_their_number(client_for, demo):
    from workflows.services import posts

    client = client_for("dana")
    counts = []
    for n in (1, 4):
        media = [{"medium": f.medium(demo, name=f"{n}-{i}.png").id} for i in range(n)]
        post = posts.post_create(author=demo.dana, channels=["dpe-en", "dpe-fr"], kind="post",
                                 texts={"en": "Offices reopen Monday."}, rules_acknowledged=True, media=media)
        client.get(f"/api/v1/posts/{post.id}/")
        with CaptureQueriesContext(connection) as ctx:
            assert len(client.get(f"/api/v1/posts/{post.id}/").json()["media"]) == n
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]
    # Without media, not even that one statement: whether there are any is read with the post.
    bare = posts.post_create(author=demo.dana, channels=["dpe-en", "dpe-fr"], kind="post",
                             texts={"en": "Offices reopen Monday."}, rules_acknowledged=True)
    client.get(f"/api/v1/posts/{bare.id}/")
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(f"/api/v1/posts/{bare.id}/").json()["media"] == []
    assert len(ctx.captured_queries) == counts[0] - 1


def test_the_approve_response_shows_the_media_as_a_get_does(client_for, demo):
    from workflows.services import posts

    pic = f.medium(demo)
    post = posts.post_create(author=demo.dana, channels=["dpe-en", "dpe-fr"], kind="post",
                             texts={"en": "Offices reopen Monday."}, rules_acknowledged=True,
                             media=[{"medium": pic.id, "alt_text": {"en": "A red square."}}])
    posts.post_submit(post_id=post.id, by=demo.dana)
    rami = client_for("rami")
    response = rami.post(f"/api/v1/posts/{post.id}/approve/", {}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["media"][0]["alt_text"]["en"] == "A red square."
    assert response.json() == rami.get(f"/api/v1/posts/{post.id}/").json()


def _serve(request, pk):  # a stand-in for the media API's permission-checked file view
    from django.http import HttpResponse

    return HttpResponse(b"")


def _urls_with_file_views():
    from django.urls import path

    from config import urls

    return [path("api/v1/media/<int:pk>/file/", _serve, name="api-medium-file"),
            path("api/v1/media/<int:pk>/thumbnail/", _serve, name="api-medium-thumbnail"), *urls.urlpatterns]


urlpatterns = _urls_with_file_views()


def test_the_file_urls_point_at_the_permission_checked_views(client_for, demo, settings):
    from django.core.files.base import ContentFile

    settings.ROOT_URLCONF = __name__
    pic, video = f.medium(demo), f.medium(demo, kind="video", name="clip.mp4")
    pic.thumbnail.save("t.jpg", ContentFile(f.png_bytes()), save=True)
    body = _create(client_for("dana"), [{"medium": pic.id, "language": "en", "alt_text": {"en": "A red square."}},
                                        {"medium": video.id, "language": "fr", "alt_text": {"fr": "Un extrait."}}]).json()
    assert [(m["file_url"], m["thumbnail_url"]) for m in body["media"]] == [
        (f"/api/v1/media/{pic.id}/file/", f"/api/v1/media/{pic.id}/thumbnail/"),
        (f"/api/v1/media/{video.id}/file/", ""),
    ]
