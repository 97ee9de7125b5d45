"""Access-to-information (ATIP) exports (docs/atip.md).

Someone with the `workflows.export_records` permission asks for everything Parley holds about a
scope — one organisation (theirs or one under it), some of its channels, a date range, or one
post or one citizen message — and gets a ZIP: `export.json` (everything, nested per post and per
citizen message), one CSV per kind, and `summary.html` (self-contained, in the reader's
language). Every text version in each language, every decision with its comment, every
publication with the platform's id and URL, and each record's audit chain with the result of
verifying it (workflows.services.audit) are in it.

`atip_export_request` records the request (audited in the organisation's security chain) and
enqueues the build after commit; `atip_export_build` (the Celery task's body, idempotent) writes
the package under EXPORT_ROOT with progress; `atip_export_download` hands out the file until it
expires (each download audited); `atip_exports_sweep` (beat) deletes expired files and restarts
lost builds. Citizens' names, handles and free-text patterns (RE2: linear time) can be redacted
everywhere in the package.

A package by topic (issue 23): common (limits, who may export, where files go), redaction, jobs (the
request and its hand-off to the workers), scope (what an export covers), records (the rows read and
verified), package (the CSV, JSON, HTML and ZIP written), build (the task's body), download
(download and expiry) and media (each post's media files and their texts, issue 22). Callers import from `workflows.services.atip`; a test that replaces a
function patches the submodule that looks it up."""
from __future__ import annotations

from .build import (
    atip_export_build,
)
from .common import (
    CHUNK,
    CSV_COLUMNS,
    KINDS,
    LITERAL_MIN,
    MAX_PATTERNS,
    PATTERN_MAX,
    PERMISSION,
    REDACTED,
    export_root,
    log,
)
from .download import (
    atip_export_download,
    atip_exports_sweep,
    export_file,
)
from .jobs import (
    atip_export_request,
    atip_register_enqueue,
)
from .records import (
    EVENT_FIELDS,
)
from .redaction import (
    NAME_PARTICLES,
    PATTERN_ERRORS,
    SYSTEM_KEYS,
    TITLES,
    Redactor,
    name_parts,
    pattern_error_code,
    patterns_clean,
    redaction_scope,
)
from .scope import (
    inbound_in_scope,
    posts_in_scope,
)

__all__ = [
    "CHUNK",
    "CSV_COLUMNS",
    "EVENT_FIELDS",
    "KINDS",
    "LITERAL_MIN",
    "MAX_PATTERNS",
    "NAME_PARTICLES",
    "PATTERN_ERRORS",
    "PATTERN_MAX",
    "PERMISSION",
    "REDACTED",
    "Redactor",
    "SYSTEM_KEYS",
    "TITLES",
    "atip_export_build",
    "atip_export_download",
    "atip_export_request",
    "atip_exports_sweep",
    "atip_register_enqueue",
    "export_file",
    "export_root",
    "inbound_in_scope",
    "log",
    "name_parts",
    "pattern_error_code",
    "patterns_clean",
    "posts_in_scope",
    "redaction_scope",
]
