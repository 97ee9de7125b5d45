"""Building an export (the Celery task's body): claim, read, redact, write, finish."""
from __future__ import annotations

import shutil
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation

from ...constants import ExportState
from ...exceptions import WorkflowError
from ...models import AtipExport
from ..security_audit import security_record
from .common import CHUNK, KINDS, REDACTED, export_root, log
from .jobs import _scope
from .media import media_copy
from .package import (
    _assemble_html,
    _assemble_json,
    _html_inbound,
    _html_posts,
    _labels,
    _sha256,
    _Writer,
    _zip,
)
from .records import _chunks, _inbound_records, _iso, _post_records
from .redaction import Redactor, redaction_scope
from .scope import _citizen_words, inbound_in_scope, posts_in_scope


def _claim(export_id: int, now: datetime) -> bool:
    """queued → running (or a running build older than the task's time limit: its worker died)."""
    stale = now - timedelta(seconds=settings.EXPORT_TASK_TIME_LIMIT + 60)
    return AtipExport.objects.filter(
        Q(state=ExportState.QUEUED) | Q(state=ExportState.RUNNING, started_at__lt=stale), id=export_id,
    ).update(state=ExportState.RUNNING, started_at=now, progress=0, done_posts=0) == 1


def _progress(export_id: int, done: int, total: int, posts: int) -> None:
    """Progress over every record (posts, then citizen messages); `done_posts` counts posts."""
    pct = 99 if total == 0 else min(99, int(done * 100 / total))
    AtipExport.objects.filter(id=export_id, state=ExportState.RUNNING).update(progress=pct, done_posts=min(done, posts))



def atip_export_build(*, export_id: int) -> str:
    """Build one export's ZIP (the task's body). Safe to run twice: only a queued export (or
    one whose build was lost) is claimed. Moves `progress` as it goes; ends `done` with the file,
    its size and `expires_at`, or `failed` with a code. Both outcomes are audited."""
    now = timezone.now()
    if not _claim(export_id, now):
        return "skipped"
    export = AtipExport.objects.select_related("organisation", "requested_by").get(id=export_id)
    work = Path(tempfile.mkdtemp(prefix=f"atip-{export_id}-", dir=export_root()))
    try:
        result = _build(export, work)
    except Exception as exc:  # noqa: BLE001 - recorded as `failed` (with a code), never left running
        log.exception("ATIP export %s failed", export_id)
        _finish_failed(export_id, exc)
        return "failed"
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return result


def _build(export: AtipExport, work: Path) -> str:
    posts = posts_in_scope(export)
    inbound = inbound_in_scope(export)
    literals, names = _citizen_words(export, posts, inbound)
    redact = Redactor.build(literals=literals, names=names, patterns=export.redact_patterns or [])
    post_ids = list(posts.order_by("id").values_list("id", flat=True))
    inbound_ids = list(inbound.order_by("id").values_list("id", flat=True))
    total = len(post_ids) + len(inbound_ids)
    AtipExport.objects.filter(id=export.id).update(total_posts=len(post_ids))
    writer = _Writer(work)
    verified, done, media_files = True, 0, []
    try:
        with translation.override(export.language):
            labels = _labels()
            for ids in _chunks(post_ids, CHUNK):
                records = [redact(r) for r in _post_records(ids)]
                for rec in records:
                    verified &= rec["audit"]["verified"]
                    writer.post(rec)
                writer.html.write(_html_posts(records, labels))
                media_files += media_copy(ids, work)
                done += len(ids)
                _progress(export.id, done, total, len(post_ids))
            for ids in _chunks(inbound_ids, CHUNK):
                records = [redact(r) for r in _inbound_records(ids)]
                for rec in records:
                    verified &= rec["audit"]["verified"]
                    writer.inbound(rec)
                writer.html.write(_html_inbound(records, labels))
                done += len(ids)
                _progress(export.id, done, total, len(post_ids))
    finally:
        writer.close()
    channel_slugs = sorted(export.channels.values_list("slug", flat=True))
    counts = dict(writer.counts)
    manifest = {
        "export": export.id, "organisation": {"id": export.organisation_id, "slug": export.organisation.slug,
                                              "name": export.organisation.name},
        "requested_by": export.requested_by.username, "requested_at": _iso(export.created_at),
        "generated_at": _iso(timezone.now()), "language": export.language,
        "scope": _scope(export, channel_slugs), "counts": counts,
        "audit_verification": {"verified": verified, "chains": len(post_ids) + len(inbound_ids),
                               "method": "HMAC-SHA256 hash chains, anchors and signed checkpoints (docs/audit.md)"},
        "redaction": {"applied": redact.active, "replacements": redact.replaced, "marker": REDACTED,
                      "what": redaction_scope(export)},
        "files": ["export.json", "summary.html", *[f"csv/{k}.csv" for k in KINDS], *media_files],
    }
    _assemble_json(work, manifest)
    with translation.override(export.language):
        _assemble_html(work, manifest, export)
    final = _zip(work, export, media_files)
    _finish_done(export.id, final, counts, verified, redact.replaced)
    return "done"


@transaction.atomic
def _finish_done(export_id: int, path: Path, counts: dict, verified: bool, replaced: int) -> None:
    export = AtipExport.objects.select_for_update().get(id=export_id)
    now = timezone.now()
    export.state, export.progress, export.done_posts = ExportState.DONE, 100, export.total_posts
    export.file_path, export.size_bytes, export.sha256 = path.name, path.stat().st_size, _sha256(path)
    export.counts, export.chain_verified, export.finished_at = counts, verified, now
    export.expires_at = now + timedelta(hours=settings.EXPORT_TTL_HOURS)
    export.save()
    security_record(organisation_id=export.organisation_id, verb="atip_export_built", actor=export.requested_by,
                    target={"atip_export": export.id},
                    after={"counts": counts, "audit_verified": verified, "redactions": replaced,
                           "size_bytes": export.size_bytes, "sha256": export.sha256,
                           "expires_at": export.expires_at.isoformat()})


@transaction.atomic
def _finish_failed(export_id: int, exc: Exception) -> None:
    export = AtipExport.objects.select_for_update().get(id=export_id)
    export.state, export.finished_at = ExportState.FAILED, timezone.now()
    code = exc.code if isinstance(exc, WorkflowError) else "atip.failed"
    export.error = {"code": "atip.failed", "params": {}, "cause": code if code != "atip.failed" else type(exc).__name__}
    export.save(update_fields=["state", "finished_at", "error"])
    security_record(organisation_id=export.organisation_id, verb="atip_export_failed", actor=export.requested_by,
                    target={"atip_export": export.id}, after={"error": export.error})
