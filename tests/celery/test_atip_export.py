"""An access-to-information export built by a real Celery worker on the real Redis: requested
through the service (the task is enqueued after commit), progress and the file seen from here."""
from __future__ import annotations

import json
import zipfile

import pytest

from tests.workflows import factories as f
from workflows.constants import ExportState
from workflows.models import AtipExport
from workflows.services import atip

from .conftest import wait_for

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]


def test_a_real_worker_builds_the_export_it_was_sent_after_commit(demo, start_worker, tmp_path, settings):
    root = tmp_path / "exports"
    settings.EXPORT_ROOT = root
    post = f.published(demo)
    start_worker(extra_env={"EXPORT_ROOT": str(root)})
    export = atip.atip_export_request(by=demo.cora, post_id=post.id, redact_patterns=[r"\d{3}-\d{4}"])
    done = wait_for(lambda: AtipExport.objects.filter(id=export.id, state=ExportState.DONE).first(), timeout=30,
                    what="the worker to build the export")
    assert done.progress == 100 and done.chain_verified is True
    path = atip.export_file(done)
    data = json.loads(zipfile.ZipFile(path).read("export.json"))
    assert data["posts"][0]["id"] == post.id and data["posts"][0]["audit"]["verified"] is True
