"""`/api/v1/exports/`: request → progress → download, in the embedded mode (the build runs
in-process after commit), with problem details for every refusal, in the caller's language."""
from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.workflows import factories as f
from workflows.models import AtipExport, AuditEvent

from .conftest import assert_problem

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _in_process(settings, tmp_path):
    settings.EXPORT_ROOT = tmp_path / "exports"
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the embedded mode: no worker, the task runs after commit
    return settings


def test_request_follow_and_download(client_for, demo, django_capture_on_commit_callbacks):
    post = f.published(demo)
    api = client_for("cora")
    with django_capture_on_commit_callbacks(execute=True):
        r = api.post("/api/v1/exports/", {"post": post.id, "redact_patterns": [r"AB-\\d+"]}, format="json")
    assert r.status_code == 202, r.content
    assert r["Location"] == f"/api/v1/exports/{r.json()['id']}/"
    assert r.json()["state"] == "queued" and r.json()["redact_patterns"] == 1
    body = api.get(r["Location"]).json()
    assert body["state"] == "done" and body["progress"] == 100 and body["audit_verified"] is True
    assert body["counts"]["posts"] == 1 and body["download"].endswith("/download/")
    listed = api.get("/api/v1/exports/").json()
    assert [e["id"] for e in listed["results"]] == [body["id"]]
    got = api.get(body["download"])
    assert got.status_code == 200 and got["Content-Type"] == "application/zip"
    assert got["Cache-Control"] == "no-store"
    data = b"".join(got.streaming_content)
    zf = zipfile.ZipFile(io.BytesIO(data))
    assert json.loads(zf.read("export.json"))["posts"][0]["audit"]["verified"] is True
    assert AuditEvent.objects.filter(verb="atip_export_downloaded", data__target__atip_export=body["id"]).count() == 1
    # Expired: 410 problem details with the code, in French for a French reader.
    AtipExport.objects.filter(id=body["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    problem = assert_problem(api.get(body["download"]), 410)
    assert problem["params"] == {} and problem["detail"].startswith("This export's download link has expired")
    demo.cora.preferred_language = "fr"
    demo.cora.save(update_fields=["preferred_language"])
    assert "a expiré" in assert_problem(api.get(body["download"]), 410)["detail"]


def test_not_ready_is_a_conflict(client_for, demo):
    api = client_for("cora")
    r = api.post("/api/v1/exports/", {}, format="json")  # on_commit not run: stays queued
    assert r.status_code == 202
    assert_problem(api.get(f"/api/v1/exports/{r.json()['id']}/download/"), 409)


@pytest.mark.parametrize(("body", "field"), [
    ({"redact_patterns": ["(unclosed"]}, "redact_patterns"),
    ({"redact_patterns": ["x" * 201]}, "redact_patterns"),
    ({"channels": ["other-en"]}, "channels"),
    ({"organisation": "other"}, "organisation"),
    ({"date_from": "2026-02-01T00:00:00Z", "date_to": "2026-01-01T00:00:00Z"}, "date_to"),
    ({"post": 999999999}, "post"),
    ({"surprise": 1}, "surprise"),
])
def test_bad_requests_are_400_and_record_nothing(client_for, demo, body, field):
    r = client_for("cora").post("/api/v1/exports/", body, format="json")
    assert_problem(r, 400, field=field)
    assert not AtipExport.objects.exists()


def test_without_the_permission_403_in_the_readers_language(client_for, demo):
    demo.dana.preferred_language = "fr"
    demo.dana.save(update_fields=["preferred_language"])
    problem = assert_problem(client_for("dana").post("/api/v1/exports/", {}, format="json"), 403)
    assert "Vous ne pouvez pas exporter" in problem["detail"]
