"""What every part of an export shares: its limits and kinds, who may export, where the files go."""
from __future__ import annotations

import logging
from pathlib import Path

from django.conf import settings

from accounts.models import User

from ... import limits
from ...exceptions import InvalidInput, NotPermitted
from ...messages import Message
from ...permissions import EXPORT_PERMISSION, may_export
from .media import CSV_COLUMNS as MEDIA_COLUMNS

log = logging.getLogger("parley.atip")

PERMISSION = EXPORT_PERMISSION
#: Redaction patterns: how many, and how long each may be (RE2 compiles in time linear in it).
MAX_PATTERNS = limits.ATIP_PATTERNS_MAX
PATTERN_MAX = limits.ATIP_PATTERN_MAX
#: A citizen's name or handle shorter than this is not redacted as a literal (it would blank
#: every occurrence of one or two letters); use a pattern for those.
LITERAL_MIN = 2
REDACTED = "[REDACTED]"
#: Posts (or citizen messages) read, verified and written per round; progress moves per round.
CHUNK = 500

KINDS = ("posts", "revisions", "decisions", "publications", "inbound", "audit", "media")
CSV_COLUMNS: dict[str, list[str]] = {
    "posts": ["id", "kind", "state", "lane", "channels", "author", "in_reply_to", "created_at",
              "submitted_at", "approved_at", "published_at", "urgent", "audit_chain", "audit_verified"],
    "revisions": ["post", "number", "language", "text", "created_by", "created_at"],
    "decisions": ["post", "step", "revision", "reviewer", "verdict", "comment", "created_at", "invalidated_at"],
    "publications": ["post", "channel", "language", "status", "external_id", "url", "body", "sent_at",
                     "retracted_at"],
    "inbound": ["id", "channel", "external_id", "author", "author_handle", "kind", "language", "text", "url",
                "received_at", "status", "first_response_at", "audit_chain", "audit_verified"],
    "audit": ["chain", "seq", "post", "inbound", "actor", "verb", "from_state", "to_state", "revision",
              "data", "created_at", "prev_hash", "hash", "key_id"],
    "media": MEDIA_COLUMNS,
}


# --- who may export what -----------------------------------------------------------------------

def _ensure_may_export(user: User) -> None:
    if not may_export(user):
        raise NotPermitted(code="atip.not_permitted")


def _invalid(field: str, code: str, params: dict | None = None) -> InvalidInput:
    return InvalidInput(code="atip.invalid", errors={field: [Message(code, params or {})]})


def export_root() -> Path:
    root = Path(settings.EXPORT_ROOT)
    root.mkdir(parents=True, exist_ok=True)
    return root
