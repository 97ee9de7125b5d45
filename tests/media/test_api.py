"""`/api/v1/media/`: upload (multipart), read, and the permission-checked file views; refusals
as problem details in the reader's language; bodies over the upload limit are 413, never 500."""
from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from rest_framework.test import APIClient

from accounts.services import token_issue
from tests.api.conftest import assert_problem
from workflows.models import Medium

from . import samples

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(demo):
    def make(user, *, lang: str | None = None) -> APIClient:
        client = APIClient()
        _, key = token_issue(user=user)
        headers = {"HTTP_AUTHORIZATION": f"Token {key}"}
        if lang:
            headers["HTTP_ACCEPT_LANGUAGE"] = lang
        client.credentials(**headers)
        return client

    return make


def post_file(client: APIClient, name: str, data: bytes, content_type: str = "image/jpeg", **extra):
    return client.post("/api/v1/media/", {"file": SimpleUploadedFile(name, data, content_type=content_type), **extra},
                       format="multipart")


def test_upload_read_and_fetch(api, demo, stored):
    dana = api(demo.dana)
    r = post_file(dana, "chart.jpg", samples.image("PNG"))  # a PNG named .jpg: stored as what it is
    assert r.status_code == 201, r.content
    body = r.json()
    assert r["Location"] == f"/api/v1/media/{body['id']}/"
    assert {k: body[k] for k in ("kind", "content_type", "width", "height", "duration", "original_name")} == {
        "kind": "image", "content_type": "image/png", "width": 640, "height": 480, "duration": None,
        "original_name": "chart.jpg"}
    medium = Medium.objects.get(id=body["id"])
    assert body["size"] == medium.size and body["sha256"] == medium.sha256 and body["uploaded_by"] == "dana"
    assert body["links"] == {"self": f"/api/v1/media/{medium.id}/", "file": f"/api/v1/media/{medium.id}/file/",
                             "thumbnail": f"/api/v1/media/{medium.id}/thumbnail/"}
    assert dana.get(body["links"]["self"]).json() == body

    got = dana.get(body["links"]["file"], HTTP_ACCEPT="image/avif,image/webp,*/*;q=0.8")
    assert got.status_code == 200
    data = b"".join(got.streaming_content)
    assert len(data) == medium.size and Image.open(io.BytesIO(data)).format == "PNG"
    assert got["Content-Type"] == "image/png"
    assert got["X-Content-Type-Options"] == "nosniff"
    assert got["Cache-Control"] == "private, no-cache"
    assert got["Content-Disposition"] == f'inline; filename="medium-{medium.id}.png"'
    assert got["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert got["ETag"] == f'"{medium.sha256}"'
    assert dana.get(body["links"]["file"], HTTP_IF_NONE_MATCH=got["ETag"]).status_code == 304
    # A client asking for one image type only still gets the file (its type is its own).
    assert dana.get(body["links"]["file"], HTTP_ACCEPT="image/jpeg").status_code == 200

    thumb = dana.get(body["links"]["thumbnail"])
    assert thumb.status_code == 200 and thumb["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(b"".join(thumb.streaming_content))).size == (480, 360)


def test_video_has_no_thumbnail(api, demo, stored):
    dana = api(demo.dana)
    r = post_file(dana, "clip.mp4", samples.mp4_with_tags(7), "video/mp4")
    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["kind"], body["content_type"], body["duration"], body["links"]["thumbnail"]) == (
        "video", "video/mp4", 7.0, None)
    assert_problem(dana.get(f"/api/v1/media/{body['id']}/thumbnail/"), 404)
    got = dana.get(body["links"]["file"])
    assert got["Content-Type"] == "video/mp4" and b"Home video" not in b"".join(got.streaming_content)


def test_who_sees_a_medium(api, demo, stored, staff_without_channels):
    body = post_file(api(demo.dana), "photo.jpg", samples.image("JPEG")).json()
    for user in (demo.rami, demo.tess, demo.cora):  # the organisation's reviewers, translators...
        assert api(user).get(body["links"]["file"]).status_code == 200, user.username
    for user in (demo.omar, staff_without_channels):  # another organisation; staff with no channel
        client = api(user)
        for link in (body["links"]["self"], body["links"]["file"], body["links"]["thumbnail"]):
            problem = assert_problem(client.get(link), 404)
            assert (problem["code"], problem["detail"]) == ("not_found.medium", "There is no such image or video.")
    assert_problem(APIClient().get(body["links"]["file"]), 401)
    assert_problem(api(demo.dana).get("/api/v1/media/99999999999/file/"), 404)
    assert_problem(api(demo.dana).get("/api/v1/media/999999999999999999999999/"), 404)


def test_no_public_address_serves_the_files(api, demo, stored, client):
    """MEDIA_URL is not routed: the storage name (random anyway) gives nothing without the view."""
    medium = Medium.objects.get(id=post_file(api(demo.dana), "p.jpg", samples.image("JPEG")).json()["id"])
    client.force_login(demo.dana)
    for path in (f"/{medium.file.name}", f"/media/{medium.file.name}", f"/var/media/{medium.file.name}"):
        assert client.get(path).status_code == 404, path


def test_refusals_in_english_and_french(api, demo, stored):
    before = stored.snapshot()
    english = assert_problem(post_file(api(demo.dana), "drawing.svg", b"<svg xmlns='x'/>", "image/svg+xml"), 422)
    assert english["code"] == "media.upload.svg" and english["type"] == "urn:parley:problem:media_refused"
    assert english["title"] == "File refused"
    assert english["detail"].startswith("SVG images are not accepted")
    assert english["errors"] == {"file": [english["detail"]]}
    french = assert_problem(post_file(api(demo.dana, lang="fr"), "drawing.svg", b"<svg xmlns='x'/>"), 422)
    assert french["code"] == "media.upload.svg" and french["title"] == "Fichier refusé"
    assert french["detail"].startswith("Les images SVG ne sont pas acceptées")
    cases = {
        "media.upload.polyglot": (samples.gif_js_polyglot(), "Ce fichier GIF contient aussi d’autres données"),
        "media.upload.corrupted": (samples.truncated_jpeg(), "Le fichier JPEG est endommagé ou incomplet"),
        "media.upload.too_many_pixels": (samples.png_bomb(), "L’image compte plus de 40 mégapixels"),
        "media.upload.empty": (b"", "Le fichier est vide."),
        "media.upload.unsupported": (b"%PDF-1.4\n%%EOF", "Ce type de fichier (application/pdf) n’est pas accepté."),
        "media.upload.too_long": (samples.mp4(150), "La vidéo dure 150\u00a0secondes"),
    }
    for code, (data, words) in cases.items():
        problem = assert_problem(post_file(api(demo.dana, lang="fr"), "file.jpg", data), 422)
        assert problem["code"] == code, (code, problem)
        assert problem["detail"].startswith(words), (code, problem["detail"])
    stored.nothing_new_since(before)


def test_too_large_in_french_with_decimals(api, demo, stored, settings):
    settings.MEDIA_MAX_IMAGE_BYTES = 1536 * 1024  # 1.5 MB: "1,5 Mo" for a French reader
    big = samples.noisy("PNG", (1000, 1000))
    problem = assert_problem(post_file(api(demo.dana, lang="fr"), "big.png", big, "image/png"), 422)
    assert problem["code"] == "media.upload.too_large"
    assert "au plus 1,5\u00a0Mo" in problem["detail"], problem["detail"]


def test_request_over_the_upload_limit_is_413_before_reading(api, demo, stored, settings):
    settings.MEDIA_UPLOAD_MAX_REQUEST_BYTES = 512 * 1024
    before = stored.snapshot()
    r = post_file(api(demo.dana, lang="fr"), "big.png", samples.noisy("PNG", (600, 600)), "image/png")
    problem = assert_problem(r, 413)
    assert problem["type"] == "urn:parley:problem:too_large"
    assert problem["detail"] == "La requête dépasse la limite de 0,5\u00a0Mo."
    stored.nothing_new_since(before)
    # Elsewhere the API keeps its 1 MiB body limit.
    r = api(demo.dana).post("/api/v1/posts/", data=b"x" * (1024 * 1024 + 1), content_type="application/json")
    assert_problem(r, 413)


def test_upload_limit_is_larger_than_the_api_body_limit(api, demo, stored, settings):
    """A 1.5 MB image is over DATA_UPLOAD_MAX_MEMORY_SIZE (1 MiB) and still accepted here."""
    big = samples.noisy("JPEG", (1400, 1400))
    assert len(big) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    r = post_file(api(demo.dana), "big.jpg", big)
    assert r.status_code == 201, r.content[:300]


def test_bad_requests(api, demo, stored):
    dana = api(demo.dana)
    before = stored.snapshot()
    problem = assert_problem(dana.post("/api/v1/media/", {}, format="multipart"), 400)
    assert "file" in problem["errors"]
    problem = assert_problem(post_file(dana, "a.jpg", samples.image("JPEG"), caption="hello"), 400)
    assert "caption" in problem["errors"]
    two = [SimpleUploadedFile("a.jpg", samples.image("JPEG")), SimpleUploadedFile("b.jpg", samples.image("JPEG"))]
    problem = assert_problem(dana.post("/api/v1/media/", {"file": two}, format="multipart"), 400)
    assert problem["code"] == "media.upload.no_file"
    assert_problem(dana.post("/api/v1/media/", {"file": "text"}, format="json"), 415)
    assert_problem(dana.get("/api/v1/media/"), 405)
    stored.nothing_new_since(before)


def test_upload_permission(api, demo, stored, staff_without_channels):
    before = stored.snapshot()
    for user in (demo.rami, staff_without_channels):
        problem = assert_problem(post_file(api(user), "a.jpg", samples.image("JPEG")), 403)
        assert problem["code"] == "media.upload.not_permitted"
    french = assert_problem(post_file(api(demo.rami, lang="fr"), "a.jpg", samples.image("JPEG")), 403)
    assert french["detail"].startswith("Vous ne pouvez pas téléverser")
    assert_problem(post_file(APIClient(), "a.jpg", samples.image("JPEG")), 401)
    stored.nothing_new_since(before)


def test_upload_throttle(api, demo, stored, monkeypatch):
    from rest_framework.throttling import ScopedRateThrottle

    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES",
                        {**ScopedRateThrottle.THROTTLE_RATES, "media_upload": "2/hour"})
    dana = api(demo.dana)
    assert post_file(dana, "a.jpg", samples.image("JPEG")).status_code == 201
    assert post_file(dana, "a.jpg", samples.image("JPEG")).status_code == 201
    r = post_file(dana, "a.jpg", samples.image("JPEG"))
    assert_problem(r, 429)
    assert "Retry-After" in r
    assert dana.get(f"/api/v1/media/{Medium.objects.latest('id').id}/").status_code == 200  # reads are not
    assert post_file(api(demo.uma), "a.jpg", samples.image("JPEG")).status_code == 201  # per user


def test_schema_documents_the_multipart_upload(api, demo):
    schema = api(demo.dana).get("/api/schema/?format=json").json()
    post = schema["paths"]["/api/v1/media/"]["post"]
    assert "multipart/form-data" in post["requestBody"]["content"]
    assert {"201", "413", "422"} <= set(post["responses"])
    assert "/api/v1/media/{id}/file/" in schema["paths"]
