"""Fixtures for the media tests: a private filesystem storage per test, an S3 API server on
127.0.0.1 (moto's server mode, started once per session), and helpers that list what a storage
holds — a refused upload must leave nothing there."""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from accounts.models import User
from workflows.models import AuditEvent, Medium


@pytest.fixture
def media_root(settings, tmp_path) -> Path:
    """The embedded default: FileSystemStorage under a MEDIA_ROOT of this test's own."""
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    return root


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


class Stored:
    """What exists after an upload: rows, audit events of the media chains, files."""

    def __init__(self, root: Path):
        self.root = root

    def snapshot(self) -> tuple[int, int, list[str]]:
        return (Medium.objects.count(), AuditEvent.objects.filter(chain__startswith="media:").count(),
                files_under(self.root))

    def nothing_new_since(self, before: tuple[int, int, list[str]]) -> None:
        assert self.snapshot() == before


@pytest.fixture
def stored(media_root) -> Stored:
    return Stored(media_root)


@pytest.fixture
def staff_without_channels(demo) -> User:
    """A member of dana's organisation who holds no channel permission at all."""
    return User.objects.create_user(username=f"nobody-{uuid.uuid4().hex[:6]}", password="x",  # noqa: S106
                                    organisation=demo.dana.organisation)


# --- an S3 API server on 127.0.0.1 ------------------------------------------------------------

@pytest.fixture(scope="session")
def s3_server():
    """moto's S3 API server (server mode: a real HTTP server on 127.0.0.1, any free port),
    started once for the session and stopped at its end."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


S3_KEYS = {"access_key": "parley-test", "secret_key": "parley-test-secret", "region_name": "ca-central-1"}


@pytest.fixture
def s3_bucket(settings, s3_server):
    """A fresh private bucket on the S3 server, and the default storage pointed at it the way
    config/settings.py does when MEDIA_S3_BUCKET is set. Django's `setting_changed` handler
    resets `storages` and `default_storage` when STORAGES changes (and back after the test)."""
    import boto3

    bucket = f"parley-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", endpoint_url=s3_server, aws_access_key_id=S3_KEYS["access_key"],
                          aws_secret_access_key=S3_KEYS["secret_key"], region_name=S3_KEYS["region_name"])
    client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": S3_KEYS["region_name"]})
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {**S3_KEYS, "endpoint_url": s3_server, "bucket_name": bucket, "signature_version": "s3v4",
                    "default_acl": "private", "querystring_auth": True, "file_overwrite": False,
                    "max_memory_size": 2_621_440},
    }}
    client.bucket = bucket
    return client


def bucket_keys(client) -> list[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=client.bucket)
    return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))
