"""Media in an S3-compatible bucket (production's storage), against a real S3 API server on
127.0.0.1 that the suite starts (moto's server mode): the upload lands in the bucket as a
private object under a random name, the permission-checked view serves it to the organisation's
staff and 404s everyone else, and a refused upload leaves the bucket as it was."""
from __future__ import annotations

import io

import pytest
import requests
from django.core.files.storage import default_storage, storages
from PIL import Image
from rest_framework.test import APIClient

from accounts.services import token_issue
from tests.api.conftest import assert_problem
from workflows.models import Medium

from . import samples
from .conftest import bucket_keys

pytestmark = pytest.mark.django_db


def _client(user) -> APIClient:
    client = APIClient()
    _, key = token_issue(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def _upload(client: APIClient, name: str, data: bytes, content_type: str = "image/jpeg"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post("/api/v1/media/", {"file": SimpleUploadedFile(name, data, content_type=content_type)},
                       format="multipart")


def test_the_settings_switch_to_the_bucket(s3_bucket):
    """STORAGES changed → Django's setting_changed handler reset the cached default storage."""
    from storages.backends.s3 import S3Storage

    assert isinstance(storages["default"], S3Storage)
    assert default_storage.bucket_name == s3_bucket.bucket
    assert Medium._meta.get_field("file").storage.bucket_name == s3_bucket.bucket


def test_upload_lands_in_the_bucket_and_is_served_to_staff_only(s3_bucket, demo):
    assert bucket_keys(s3_bucket) == []
    r = _upload(_client(demo.dana), "IMG_0001.jpg", samples.gps_jpeg())
    assert r.status_code == 201, r.content
    medium = Medium.objects.get(id=r.json()["id"])
    keys = bucket_keys(s3_bucket)
    assert keys == sorted([medium.file.name, medium.thumbnail.name])
    assert all(k.startswith(f"media/{demo.dana.organisation_id}/") and "IMG_0001" not in k for k in keys)

    # The object in the bucket is the cleaned file: what the row says, no EXIF, private.
    obj = s3_bucket.get_object(Bucket=s3_bucket.bucket, Key=medium.file.name)
    stored = obj["Body"].read()
    assert len(stored) == medium.size and b"PhoneMaker" not in stored and b"Exif" not in stored
    assert obj["ContentType"] == "image/jpeg"
    grants = s3_bucket.get_object_acl(Bucket=s3_bucket.bucket, Key=medium.file.name)["Grants"]
    assert all("AllUsers" not in str(g.get("Grantee", {})) for g in grants), grants

    # Not readable without credentials: no public address.
    from django.conf import settings

    endpoint = settings.STORAGES["default"]["OPTIONS"]["endpoint_url"]
    assert requests.get(f"{endpoint}/{s3_bucket.bucket}/{medium.file.name}", timeout=5).status_code == 403

    # The organisation's staff get the bytes through the view; another organisation gets 404.
    for user in (demo.dana, demo.rami):
        got = _client(user).get(f"/api/v1/media/{medium.id}/file/")
        assert got.status_code == 200 and got["Content-Type"] == "image/jpeg"
        assert b"".join(got.streaming_content) == stored
    thumb = _client(demo.cora).get(f"/api/v1/media/{medium.id}/thumbnail/")
    assert Image.open(io.BytesIO(b"".join(thumb.streaming_content))).format == "JPEG"
    for link in ("", "file/", "thumbnail/"):
        assert_problem(_client(demo.omar).get(f"/api/v1/media/{medium.id}/{link}"), 404)


def test_refused_upload_leaves_the_bucket_empty(s3_bucket, demo):
    for data in (samples.image("JPEG") + samples.zip_bytes(), samples.truncated_jpeg(), samples.png_bomb()):
        assert_problem(_upload(_client(demo.dana), "x.jpg", data), 422)
    assert bucket_keys(s3_bucket) == []
    assert not Medium.objects.exists()


def test_a_video_in_the_bucket(s3_bucket, demo):
    r = _upload(_client(demo.dana), "clip.mp4", samples.mp4_with_tags(9), "video/mp4")
    assert r.status_code == 201, r.content
    medium = Medium.objects.get(id=r.json()["id"])
    assert bucket_keys(s3_bucket) == [medium.file.name] and medium.file.name.endswith(".mp4")
    got = _client(demo.tess).get(f"/api/v1/media/{medium.id}/file/")
    assert got["Content-Type"] == "video/mp4" and len(b"".join(got.streaming_content)) == medium.size


def test_a_failure_after_the_upload_deletes_the_objects(s3_bucket, demo, monkeypatch):
    from workflows.services.media import upload as media

    def broken(**kwargs):
        raise RuntimeError("the audit trail is down")

    monkeypatch.setattr(media, "audit_append", broken)
    with pytest.raises(RuntimeError):
        media.medium_upload(by=demo.dana, upload=io.BytesIO(samples.image("JPEG")), name="a.jpg")
    assert bucket_keys(s3_bucket) == []


def test_media_s3_bucket_switches_the_default_storage():
    """config/settings.py: the filesystem without MEDIA_S3_BUCKET, a private S3 bucket with it."""
    import json
    import os
    import subprocess
    import sys

    from django.conf import settings

    def storage(**env: str) -> dict:
        full = {k: v for k, v in os.environ.items() if not k.startswith("MEDIA_S3_")}
        full.update(DJANGO_SETTINGS_MODULE="config.settings", DEBUG="true", **env)
        code = "import json; from django.conf import settings; print(json.dumps(settings.STORAGES['default']))"
        proc = subprocess.run([sys.executable, "-c", code], cwd=settings.BASE_DIR, env=full, capture_output=True,
                              text=True, timeout=60, check=True)
        return json.loads(proc.stdout)

    assert storage() == {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    s3 = storage(MEDIA_S3_BUCKET="parley-media", MEDIA_S3_ENDPOINT_URL="https://objects.example.ca",
                 MEDIA_S3_REGION="ca-central-1", MEDIA_S3_ACCESS_KEY_ID="id", MEDIA_S3_SECRET_ACCESS_KEY="secret")
    assert s3["BACKEND"] == "storages.backends.s3.S3Storage"
    options = s3["OPTIONS"]
    assert {k: options[k] for k in ("bucket_name", "endpoint_url", "region_name", "access_key", "secret_key",
                                    "default_acl", "querystring_auth", "file_overwrite")} == {
        "bucket_name": "parley-media", "endpoint_url": "https://objects.example.ca", "region_name": "ca-central-1",
        "access_key": "id", "secret_key": "secret", "default_acl": "private", "querystring_auth": True,
        "file_overwrite": False}
    # Unset keys are left to django-storages and boto3 (AWS_* variables, an instance role).
    assert "access_key" not in storage(MEDIA_S3_BUCKET="parley-media")["OPTIONS"]
