"""Images and video: an upload checked, made safe and stored (issue 22, docs/media.md).

`medium_upload` asks workflows.media.intake for a file safe to keep (type read from the content,
caps, damage and polyglot checks, metadata stripped, a thumbnail) and stores it through Django's
storage API — the filesystem in the embedded default, an S3-compatible bucket in production —
under a random name. A refused upload stores nothing: no row, no file."""
from __future__ import annotations

from typing import Any

from django.core.files import File
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models.fields.files import FieldFile

from accounts.models import User

from ...exceptions import NotPermitted
from ...media.intake import CleanMedium, clean_upload
from ...models import Medium
from ...permissions import may_upload_media
from ..audit import audit_append


def media_chain(organisation_id: int) -> str:
    """The audit chain of an organisation's uploads (docs/audit.md)."""
    return f"media:{organisation_id}"


def ensure_may_upload(*, user: User) -> None:
    """Raises NotPermitted (403, `media.upload.not_permitted`) unless `user` may upload media:
    an active member of an organisation holding the draft permission on one of its channels."""
    if not may_upload_media(user):
        raise NotPermitted(code="media.upload.not_permitted")


def medium_upload(*, by: User, upload: Any, name: str | None = None) -> Medium:
    """Check `upload` (a Django UploadedFile or a binary file), store it and its thumbnail, and
    record it: a new Medium of `by`'s organisation, audited `medium.uploaded` in its `media:`
    chain. Raises NotPermitted (403) before reading the file, MediaRefused (422, a
    `media.upload.*` code) when the file is refused; either way nothing is stored."""
    ensure_may_upload(user=by)
    with clean_upload(upload, name=name) as clean:
        return _store(by=by, clean=clean)


def _store(*, by: User, clean: CleanMedium) -> Medium:
    """The files first (the storage has no transaction), then the row and its audit event in one
    transaction; if anything fails the files just written are deleted again."""
    org_id = by.organisation_id
    if org_id is None:  # ensure_may_upload refused it already; said again for the type checker
        raise NotPermitted(code="media.upload.not_permitted")
    written: list[FieldFile] = []
    try:
        with transaction.atomic():
            medium = Medium(
                organisation_id=org_id, uploaded_by=by, kind=clean.kind,
                content_type=clean.content_type, original_name=clean.original_name, size=clean.size,
                sha256=clean.sha256, width=clean.width, height=clean.height, duration=clean.duration,
            )
            # The names come from the model's upload_to (random); the uploader's name is not used.
            medium.file.save("upload", File(clean.file), save=False)
            written.append(medium.file)
            if clean.thumbnail is not None:
                medium.thumbnail.save("thumbnail", ContentFile(clean.thumbnail), save=False)
                written.append(medium.thumbnail)
            medium.save()
            audit_append(
                chain=media_chain(org_id), organisation_id=org_id,
                verb="medium.uploaded", actor=by,
                data={"medium": medium.id, "kind": medium.kind, "content_type": medium.content_type,
                      "size": medium.size, "sha256": medium.sha256, "width": medium.width,
                      "height": medium.height, "duration": medium.duration,
                      "original_name": medium.original_name},
            )
    except BaseException:
        for field_file in written:
            if field_file.name:
                field_file.storage.delete(field_file.name)
        raise
    return medium
