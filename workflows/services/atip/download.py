"""Handing out a finished export (each download audited) and sweeping expired ones."""
from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User

from ...constants import ExportState
from ...exceptions import Gone, NotFound
from ...models import AtipExport
from ..security_audit import security_record
from .common import export_root
from .records import _iso

# --- download, expiry --------------------------------------------------------------------------

def export_file(export: AtipExport) -> Path:
    return export_root() / export.file_path


@transaction.atomic
def atip_export_download(*, export_id: int, by: User) -> tuple[AtipExport, Path]:
    """The ZIP of a finished export, for its requester. Raises NotFound (someone else's export,
    or none), InvalidTransition-like Conflict when not ready (409), Gone (expired: 410). Each
    download is audited (`atip_export_downloaded`)."""
    from ...exceptions import Conflict
    from ...selectors import atip_exports_visible

    if not atip_exports_visible(user=by).filter(id=export_id).exists():
        raise NotFound(code="atip.not_found")
    export = AtipExport.objects.select_for_update().get(id=export_id)
    if export.is_expired():
        raise Gone(code="atip.expired")
    if export.state != ExportState.DONE or not export.file_path:
        raise Conflict(code="atip.not_ready")
    path = export_file(export)
    if not path.exists():
        raise Gone(code="atip.expired")
    export.downloads += 1
    export.save(update_fields=["downloads"])
    security_record(organisation_id=export.organisation_id, verb="atip_export_downloaded", actor=by,
                    target={"atip_export": export.id}, after={"sha256": export.sha256, "downloads": export.downloads})
    return export, path


def atip_exports_sweep(*, now: datetime | None = None) -> dict:
    """Beat: delete the files of expired exports (state `expired`, audited), and hand queued
    exports whose task was lost (broker down at request time) and builds whose worker died back
    to the workers. Returns {"expired": [...], "requeued": [...]}."""
    now = now or timezone.now()
    expired: list[int] = []
    for export_id in AtipExport.objects.filter(state=ExportState.DONE, expires_at__lte=now).values_list("id", flat=True):
        if _expire(export_id, now):
            expired.append(export_id)
    # Orphaned temporary folders of builds that died (older than the task limit).
    limit = now.timestamp() - settings.EXPORT_TASK_TIME_LIMIT - 60
    root = export_root()
    for entry in root.glob("atip-*-*"):
        if entry.is_dir() and entry.stat().st_mtime < limit:
            shutil.rmtree(entry, ignore_errors=True)
    lost = now - timedelta(seconds=60)
    stale = now - timedelta(seconds=settings.EXPORT_TASK_TIME_LIMIT + 60)
    requeue = list(AtipExport.objects.filter(
        Q(state=ExportState.QUEUED, created_at__lt=lost) | Q(state=ExportState.RUNNING, started_at__lt=stale),
    ).values_list("id", flat=True))
    return {"expired": expired, "requeued": requeue}


@transaction.atomic
def _expire(export_id: int, now: datetime) -> bool:
    export = AtipExport.objects.select_for_update().get(id=export_id)
    if export.state != ExportState.DONE or export.expires_at is None or export.expires_at > now:
        return False
    if export.file_path:
        export_file(export).unlink(missing_ok=True)
    export.state, export.deleted_at, export.file_path = ExportState.EXPIRED, now, ""
    export.save(update_fields=["state", "deleted_at", "file_path"])
    security_record(organisation_id=export.organisation_id, verb="atip_export_deleted", actor=None,
                    target={"atip_export": export.id}, after={"expired_at": _iso(export.expires_at)})
    return True
