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
everywhere in the package."""
from __future__ import annotations

import csv
import hashlib
import html
import json
import logging
import os
import re
import secrets
import shutil
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import re2
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import User

from ... import limits
from ...constants import ExportState
from ...csvsafe import csv_cell
from ...exceptions import Gone, InvalidInput, NotFound, NotPermitted, WorkflowError
from ...messages import Message
from ...models import (
    AtipExport,
    AuditEvent,
    Channel,
    Decision,
    InboundMessage,
    Post,
    PostRevision,
    Publication,
)
from ...permissions import EXPORT_PERMISSION, may_export
from ..audit import audit_verify_report
from ..security_audit import security_record

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

KINDS = ("posts", "revisions", "decisions", "publications", "inbound", "audit")
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
}


# --- who may export what -----------------------------------------------------------------------

def _ensure_may_export(user: User) -> None:
    if not may_export(user):
        raise NotPermitted(code="atip.not_permitted")


def _invalid(field: str, code: str, params: dict | None = None) -> InvalidInput:
    return InvalidInput(code="atip.invalid", errors={field: [Message(code, params or {})]})


# --- redaction ---------------------------------------------------------------------------------

def _re2(pattern: str) -> Any:
    options = re2.Options()
    options.log_errors = False
    return re2.compile(pattern, options=options)


def patterns_clean(patterns: Any) -> list[str]:
    """The redaction patterns, checked: a list of at most MAX_PATTERNS strings of at most
    PATTERN_MAX characters, each valid RE2 syntax and not matching empty text. Raises
    InvalidInput (field `redact_patterns`) naming the first bad one."""
    if patterns in (None, ""):
        return []
    if isinstance(patterns, str):
        patterns = patterns.splitlines()
    if not isinstance(patterns, list | tuple) or not all(isinstance(p, str) for p in patterns):
        raise _invalid("redact_patterns", "text.not_string")
    cleaned = [p.strip() for p in patterns if p.strip()]
    if len(cleaned) > MAX_PATTERNS:
        raise _invalid("redact_patterns", "atip.too_many_patterns", {"limit": MAX_PATTERNS})
    for p in cleaned:
        if len(p) > PATTERN_MAX or "\x00" in p:
            raise _invalid("redact_patterns", "atip.pattern_too_long", {"limit": PATTERN_MAX})
        try:
            compiled = _re2(p)
        except re2.error as exc:
            raise _invalid("redact_patterns", pattern_error_code(exc), {"pattern": p[:60]}) from None
        if compiled.search("") is not None:
            raise _invalid("redact_patterns", "atip.pattern_matches_empty", {"pattern": p[:60]})
    return cleaned


#: RE2's error text (English, internal: "b'missing ]: [unclosed'") → a message code the reader
#: gets in their language. The first prefix that matches wins; anything else is the general code.
PATTERN_ERRORS = (
    (("missing ]", "missing )", "unexpected )"), "atip.pattern_unclosed"),
    (("invalid perl operator", "invalid named capture group"), "atip.pattern_unsupported"),
    (("invalid escape sequence: \\1", "invalid escape sequence: \\2", "invalid escape sequence: \\3",
      "invalid escape sequence: \\4", "invalid escape sequence: \\5", "invalid escape sequence: \\6",
      "invalid escape sequence: \\7", "invalid escape sequence: \\8", "invalid escape sequence: \\9"),
     "atip.pattern_unsupported"),
    (("invalid escape sequence", "trailing \\"), "atip.pattern_escape"),
    (("bad repetition operator", "invalid repetition size", "no argument for repetition operator",
      "missing argument to repetition operator"), "atip.pattern_repetition"),
    (("invalid character class",), "atip.pattern_class"),
)


def pattern_error_code(exc: Exception) -> str:
    """The message code for RE2's refusal of a pattern (see PATTERN_ERRORS)."""
    arg = exc.args[0] if exc.args else ""
    text = arg.decode("utf-8", "replace") if isinstance(arg, bytes) else str(arg)
    for prefixes, code in PATTERN_ERRORS:
        if text.startswith(prefixes):
            return code
    return "atip.pattern_invalid"


#: Fields that hold system values, never a citizen's words (timestamps, hashes, states): left
#: alone, so a broad pattern cannot corrupt the audit evidence or the dates.
SYSTEM_KEYS = frozenset({"hash", "prev_hash", "key_id", "chain", "verb", "from_state", "to_state", "state",
                         "status", "kind", "language", "lane", "verdict", "idempotency_key"})


#: Titles that may stand before a name; redacted with it ("M. Tremblay" → "[REDACTED]").
TITLES = ("m", "mme", "mmes", "mlle", "mlles", "me", "dr", "dre", "pr", "mr", "mrs", "ms", "mx", "miss",
          "madame", "monsieur", "mademoiselle", "docteur", "docteure", "maitre", "professeur", "prof")  # folded
#: Name particles and words that are no one's name on their own: never redacted alone (they are
#: when they are part of the full name, which is redacted as written).
NAME_PARTICLES = frozenset({
    "de", "du", "des", "la", "le", "les", "d", "l", "van", "von", "der", "den", "da", "di", "del", "della", "dos",
    "das", "st", "ste", "saint", "sainte", "mc", "mac", "bin", "ben", "al", "el", "y", "e", "of", "the", "and",
    "et", "jr", "sr", "ii", "iii", *TITLES,
})
_HYPHENS = "\u2010\u2011\u2012\u2013\u2014-"  # the ASCII hyphen last: literal in a class
_SPLIT_RE = re.compile(r"[\s" + _HYPHENS + r"]+")


def _fold(ch: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c)).lower()


@lru_cache(maxsize=1)
def _fold_table() -> dict[int, str]:
    """Latin letter (any case, precomposed with marks) → its lowercase base letter, one code point
    for one: a text and its folded copy have the same length, so a match in the copy is a span
    of the original."""
    table: dict[int, str] = {}
    for cp in range(0x41, 0x10000):
        ch = chr(cp)
        base = _fold(ch) if cp < 0x1F00 else ""
        if len(base) == 1 and base.isascii() and base.isalpha():
            table[cp] = base
        elif len(ch.lower()) == 1 and ch.lower() != ch:
            table[cp] = ch.lower()  # other scripts' capitals (Cyrillic, Greek…): lower case
    return table


def _fold_text(text: str) -> str:
    return text.translate(_fold_table())


#: A word of folded text: letters and digits, with the combining accents of a decomposed letter.
_NAME_TOKEN_RE = re.compile(r"(?:[^\W_]|[\u0300-\u036f])+")
#: What may stand between a title and a name, and between two parts of one name.
_TITLE_GAP_RE = re.compile(r"\.?\s*")
_NAME_GAP = frozenset(" \t\n'’" + _HYPHENS)


_NO_MARKS = dict.fromkeys(range(0x300, 0x370))


def _token_key(token: str) -> str:
    return token.translate(_NO_MARKS)


def _name_tokens(name: str) -> tuple[str, ...]:
    return tuple(_token_key(t) for t in _NAME_TOKEN_RE.findall(_fold_text(name)))


def name_parts(author: str) -> list[str]:
    """Each part of a citizen's name that is redacted on its own: the given names, each part of
    a hyphenated name and the hyphenated name itself, the family name; not particles ("de",
    "van"), titles or single letters (initials)."""
    author = author.strip()
    if not author or author.startswith("@"):
        return []
    parts: set[str] = set()
    for word in author.split():
        word = word.strip(".,;:()[]\"")
        pieces = [p for p in _SPLIT_RE.split(word) if p]
        candidates = [word, *pieces] if len(pieces) > 1 else pieces
        for piece in candidates:
            letters = sum(1 for c in piece if c.isalpha())
            if letters >= LITERAL_MIN and _fold(piece) not in NAME_PARTICLES:
                parts.add(piece)
    return sorted(parts, key=lambda p: (-len(p), p))


@dataclass
class Redactor:
    """Replaces, in every string of a record (system fields and keys excepted): citizens' full
    names and handles (case-insensitive literals); each part of their names on its own as a
    whole word, ignoring case and accents, with a title before it (M., Mme, Dr, Mr, Ms…) taken
    too (`name_parts`, TITLES); and free-text patterns. Literals and patterns: one RE2 pass per
    string; names: one pass over the words of the string's folded copy (no case, no accents, same
    length: `_fold_text`), only when it holds a name word at all. Counts what it replaced."""

    regex: Any = None
    #: every folded word that starts a name part (a quick test before the word-by-word pass)
    names: frozenset[str] | None = None
    #: folded one-word name parts, and first word → the folded multi-word parts ("o", "neil")
    single: frozenset[str] = frozenset()
    multi: dict[str, tuple[tuple[str, ...], ...]] = field(default_factory=dict)
    replaced: int = 0

    @classmethod
    def build(cls, *, literals: Iterable[str], patterns: Iterable[str], names: Iterable[str] = ()) -> Redactor:
        words = sorted({w.strip() for w in literals if w and len(w.strip()) >= LITERAL_MIN}, key=len, reverse=True)
        parts = ["(?i:" + "|".join(re2.escape(w) for w in words) + ")"] if words else []
        parts += [f"(?:{p})" for p in patterns]
        single: set[str] = set()
        multi: dict[str, set[tuple[str, ...]]] = {}
        for name in names:
            toks = _name_tokens(name)
            if len(toks) == 1:
                single.add(toks[0])
            elif toks:
                multi.setdefault(toks[0], set()).add(toks)
        keys = frozenset(single | set(multi))
        return cls(regex=_re2("|".join(parts)) if parts else None, names=keys or None,
                   single=frozenset(single), multi={k: tuple(sorted(v, key=len, reverse=True)) for k, v in multi.items()})

    @property
    def active(self) -> bool:
        return self.regex is not None or self.names is not None

    def _name_spans(self, value: str) -> list[tuple[int, int]]:
        """Spans of `value` to redact: each name word or run of words (folded: no case, no
        accents; same length as `value`), a title just before it, neighbouring name words joined."""
        folded = _fold_text(value)
        # A quick yes/no before the word-by-word pass (most strings of an export name nobody).
        if self.names is None or self.names.isdisjoint(_NAME_TOKEN_RE.findall(folded.translate(_NO_MARKS))):
            return []
        tokens = [(m.start(), m.end(), _token_key(m.group())) for m in _NAME_TOKEN_RE.finditer(folded)]
        spans: list[tuple[int, int]] = []
        i = 0
        while i < len(tokens):
            start, end, key = tokens[i]
            width = 1 if key in self.single else 0
            for seq in self.multi.get(key, ()):
                n = len(seq)
                if n > width and i + n <= len(tokens) and all(
                        tokens[i + k][2] == seq[k] and set(folded[tokens[i + k - 1][1]:tokens[i + k][0]]) <= _NAME_GAP
                        for k in range(1, n)):
                    width = n
            if not width:
                i += 1
                continue
            end = tokens[i + width - 1][1]
            if i and tokens[i - 1][2] in TITLES and _TITLE_GAP_RE.fullmatch(folded[tokens[i - 1][1]:start]):
                start = tokens[i - 1][0]
            if spans and set(folded[spans[-1][1]:start]) <= _NAME_GAP:
                start = spans.pop()[0]  # "Jean Tremblay", "M. Tremblay": one marker
            spans.append((start, end))
            i += width
        return spans

    def _redact_names(self, value: str) -> str:
        spans = self._name_spans(value)
        if not spans:
            return value
        out, last = [], 0
        for start, end in spans:
            out += [value[last:start], REDACTED]
            last = end
        self.replaced += len(spans)
        return "".join(out) + value[last:]

    def text(self, value: str) -> str:
        if not value:
            return value
        if self.regex is not None:
            value, n = self.regex.subn(REDACTED, value)
            self.replaced += n
        if self.names is not None:
            # Twice: a match takes the character after a name as its boundary, so the next name
            # right after it ("Jean Marc Tremblay") is found on the second pass.
            value = self._redact_names(value)
        return value

    def __call__(self, value: Any) -> Any:
        if not self.active:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: v if (k in SYSTEM_KEYS or k.endswith("_at")) else self(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self(v) for v in value]
        return value


# --- request -----------------------------------------------------------------------------------

def _aware(value: Any, field: str) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, datetime):
        raise _invalid(field, "schedule.invalid")
    return timezone.make_aware(value) if timezone.is_naive(value) else value


@transaction.atomic
def atip_export_request(
    *, by: User, organisation_id: int | None = None, channels: list[str] | None = None,
    date_from: datetime | None = None, date_to: datetime | None = None, post_id: int | None = None,
    inbound_id: int | None = None, redact_names: bool = False, redact_handles: bool = False,
    redact_patterns: list[str] | None = None, language: str = "",
) -> AtipExport:
    """Record an export request (state `queued`) and enqueue its build after commit. Audited
    (`atip_export_requested`, with the scope) in the organisation's security chain. Raises
    NotPermitted (no export permission), InvalidInput (an organisation the caller may not export
    from, unknown channels, a post or message of another organisation, bad dates or patterns)."""
    from ...selectors import atip_organisations_exportable

    _ensure_may_export(by)
    organisation_id = organisation_id or by.organisation_id
    if organisation_id is None or not atip_organisations_exportable(user=by).filter(id=organisation_id).exists():
        raise _invalid("organisation", "atip.organisation_unknown")
    slugs = list(dict.fromkeys(channels or []))
    if not all(isinstance(s, str) for s in slugs):
        raise _invalid("channels", "channels.not_slugs")
    chans = list(Channel.objects.filter(organisation_id=organisation_id, slug__in=slugs))
    if len(chans) != len(slugs):
        known = {c.slug for c in chans}
        raise _invalid("channels", "channels.unknown", {"channels": [s for s in slugs if s not in known]})
    date_from, date_to = _aware(date_from, "date_from"), _aware(date_to, "date_to")
    if date_from and date_to and date_to < date_from:
        raise _invalid("date_to", "atip.dates_order")
    if post_id is not None and not Post.objects.filter(id=post_id, organisation_id=organisation_id).exists():
        raise _invalid("post", "atip.post_unknown")
    if inbound_id is not None and not InboundMessage.objects.filter(
            id=inbound_id, organisation_id=organisation_id).exists():
        raise _invalid("inbound", "atip.inbound_unknown")
    patterns = patterns_clean(redact_patterns)
    language = language if language in ("en", "fr") else (by.preferred_language or "en")
    export = AtipExport.objects.create(
        organisation_id=organisation_id, requested_by=by, language=language, date_from=date_from,
        date_to=date_to, post_id=post_id, inbound_id=inbound_id, redact_names=bool(redact_names),
        redact_handles=bool(redact_handles), redact_patterns=patterns,
    )
    export.channels.set(chans)
    security_record(organisation_id=organisation_id, verb="atip_export_requested", actor=by,
                    target={"atip_export": export.id}, after=_scope(export, [c.slug for c in chans]))
    _enqueue_on_commit(export.id)
    return export


def _scope(export: AtipExport, channel_slugs: list[str]) -> dict:
    """What an export covers, for the audit trail and the manifest (never the patterns' text:
    a pattern may itself be personal data; only how many)."""
    return {
        "organisation": export.organisation_id, "channels": sorted(channel_slugs),
        "date_from": export.date_from.isoformat() if export.date_from else None,
        "date_to": export.date_to.isoformat() if export.date_to else None,
        "post": export.post_id, "inbound": export.inbound_id,
        "redact_names": export.redact_names, "redact_handles": export.redact_handles,
        "redact_patterns": len(export.redact_patterns or []),
    }


#: Hands one export's build to the workers: `tasks.enqueue_atip_export`, registered at app start
#: (WorkflowsConfig.ready()), so this module never imports the task layer (docs/architecture.md).
_enqueue_fn: Callable[[int], None] | None = None


def atip_register_enqueue(fn: Callable[[int], None] | None) -> None:
    global _enqueue_fn
    _enqueue_fn = fn


def _enqueue_on_commit(export_id: int) -> None:
    def send() -> None:
        if _enqueue_fn is None:
            log.warning("ATIP export %s: no enqueue function registered; the sweep will build it", export_id)
            return
        try:
            _enqueue_fn(export_id)
        except Exception:  # noqa: BLE001 - the broker is down: the beat sweep picks it up later
            log.warning("could not enqueue ATIP export %s; the sweep will retry", export_id, exc_info=True)

    transaction.on_commit(send)


# --- scope -------------------------------------------------------------------------------------

def posts_in_scope(export: AtipExport) -> QuerySet[Post]:
    qs = Post.objects.filter(organisation_id=export.organisation_id)
    if export.post_id:
        return qs.filter(id=export.post_id)
    if export.inbound_id:
        return qs.filter(in_reply_to_id=export.inbound_id)
    chan_ids = list(export.channels.values_list("id", flat=True))
    if chan_ids:
        qs = qs.filter(Exists(Post.channels.through.objects.filter(post_id=OuterRef("pk"), channel_id__in=chan_ids)))
    if export.date_from:
        qs = qs.filter(created_at__gte=export.date_from)
    if export.date_to:
        qs = qs.filter(created_at__lte=export.date_to)
    return qs


def inbound_in_scope(export: AtipExport) -> QuerySet[InboundMessage]:
    qs = InboundMessage.objects.filter(organisation_id=export.organisation_id)
    if export.inbound_id:
        return qs.filter(id=export.inbound_id)
    if export.post_id:
        return qs.filter(id__in=Post.objects.filter(id=export.post_id).values("in_reply_to_id"))
    chan_ids = list(export.channels.values_list("id", flat=True))
    if chan_ids:
        qs = qs.filter(channel_id__in=chan_ids)
    if export.date_from:
        qs = qs.filter(received_at__gte=export.date_from)
    if export.date_to:
        qs = qs.filter(received_at__lte=export.date_to)
    return qs


def _citizen_words(export: AtipExport, posts: QuerySet[Post],
                   inbound: QuerySet[InboundMessage]) -> tuple[list[str], list[str]]:
    """(literals, name parts) to redact: the full names and handles of the citizens in scope and
    of those the posts answer, and each part of those names (`name_parts`)."""
    if not (export.redact_names or export.redact_handles):
        return [], []
    words: set[str] = set()
    parts: set[str] = set()
    rows = InboundMessage.objects.filter(
        Q(id__in=inbound.values("id")) | Q(id__in=posts.filter(in_reply_to__isnull=False).values("in_reply_to_id"))
    ).values_list("author", "author_handle")
    for author, handle in rows.iterator(chunk_size=2000):
        author, handle = (author or "").strip(), (handle or "").strip().lstrip("@")
        if export.redact_names and author:
            words.add(author)
            words.add(author.lstrip("@"))
            parts.update(name_parts(author))
        if export.redact_handles and handle:
            words.update({handle, "@" + handle})
        if export.redact_handles and author.startswith("@"):
            words.add(author.lstrip("@"))
    return sorted(words), sorted(parts)


# --- build -------------------------------------------------------------------------------------

def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _chunks(ids: list[int], size: int) -> Iterator[list[int]]:
    for i in range(0, len(ids), size):
        yield ids[i:i + size]


EVENT_FIELDS = ("chain", "seq", "post_id", "inbound_id", "actor__username", "verb", "from_state", "to_state",
                "revision", "data", "created_at", "prev_hash", "hash", "key_id")


def _plain(row: Mapping[str, Any]) -> dict:
    """A values() row as JSON-ready data: datetimes in ISO 8601, `x__y` and `x_id` names short."""
    out = {}
    for k, v in row.items():
        k = k.split("__", 1)[0] if k.endswith(("__username", "__slug", "__name")) else k
        if k in ("post_id", "inbound_id", "in_reply_to_id"):
            k = k[:-3]
        out[k] = v.isoformat() if isinstance(v, datetime) else v
    return out


def _events(field: str, ids: list[int]) -> dict[int, list[dict]]:
    """{owner id: [event, ...]} in chain order, as plain data (no model instances: 80,000 events
    of a 10,000-post export are read as rows)."""
    out: dict[int, list[dict]] = {}
    for row in AuditEvent.objects.filter(**{f"{field}__in": ids}).order_by("chain", "seq").values(*EVENT_FIELDS):
        ev = _plain(row)
        ev["actor"] = ev["actor"] or ""
        out.setdefault(row[field], []).append(ev)
    return out


def _verify(chains: list[str]) -> dict[str, list[dict]]:
    """{chain: [finding, ...]} for the given chains (an empty list: the chain verifies)."""
    report = audit_verify_report(chains=chains)
    out: dict[str, list[dict]] = {c: [] for c in chains}
    for f in report.findings:
        out.setdefault(f.chain, []).append({"kind": f.kind, "seq": f.seq, "detail": f.detail})
    return out


def _post_records(ids: list[int]) -> list[dict]:
    """Every post of `ids` with its versions, decisions, publications and audit chain (verified),
    read as rows: one query per kind, whatever the number of posts."""
    by_post: dict[str, dict[int, list]] = {k: {} for k in ("channels", "revisions", "decisions", "publications")}
    for pid, slug in Post.channels.through.objects.filter(post_id__in=ids).values_list("post_id", "channel__slug"):
        by_post["channels"].setdefault(pid, []).append(slug)
    for rev in PostRevision.objects.filter(post_id__in=ids).order_by("post_id", "number").values(
            "post_id", "number", "texts", "created_by__username", "created_at"):
        by_post["revisions"].setdefault(rev["post_id"], []).append(_plain(rev))
    for dec in Decision.objects.filter(post_id__in=ids).order_by("post_id", "created_at", "id").values(
            "post_id", "step__name", "revision", "reviewer__username", "verdict", "comment", "created_at",
            "invalidated_at"):
        by_post["decisions"].setdefault(dec["post_id"], []).append(_plain(dec))
    for pub in Publication.objects.filter(post_id__in=ids).order_by("post_id", "channel_id", "language").values(
            "post_id", "channel__slug", "language", "status", "external_id", "url", "body", "sent_at", "retracted_at"):
        by_post["publications"].setdefault(pub["post_id"], []).append(_plain(pub))
    events = _events("post_id", ids)
    findings = _verify([f"post:{i}" for i in ids])
    out = []
    for row in Post.objects.filter(id__in=ids).order_by("id").values(
            "id", "kind", "state", "lane__slug", "author__username", "in_reply_to_id", "created_at", "submitted_at",
            "approved_at", "published_at", "urgent", "urgent_reason"):
        rec = _plain(row)
        pid, chain = row["id"], f"post:{row['id']}"
        for d in by_post["revisions"].get(pid, []) + by_post["decisions"].get(pid, []) + by_post["publications"].get(pid, []):
            d.pop("post", None)
        rec.update({
            "channels": sorted(by_post["channels"].get(pid, [])),
            "revisions": by_post["revisions"].get(pid, []),
            "decisions": by_post["decisions"].get(pid, []),
            "publications": by_post["publications"].get(pid, []),
            "audit": {"chain": chain, "verified": not findings.get(chain), "findings": findings.get(chain, []),
                      "events": events.get(pid, [])},
        })
        out.append(rec)
    return out


def _inbound_records(ids: list[int]) -> list[dict]:
    events = _events("inbound_id", ids)
    findings = _verify([f"inbound:{i}" for i in ids])
    out = []
    for row in InboundMessage.objects.filter(id__in=ids).order_by("id").values(
            "id", "channel__slug", "external_id", "author", "author_handle", "kind", "language", "body", "url",
            "received_at", "status", "first_response_at"):
        rec = _plain(row)
        rec["text"] = rec.pop("body")
        chain = f"inbound:{row['id']}"
        rec["audit"] = {"chain": chain, "verified": not findings.get(chain), "findings": findings.get(chain, []),
                        "events": events.get(row["id"], [])}
        out.append(rec)
    return out


#: Every cell through the one CSV rule (workflows/csvsafe.py: formulas in any width, behind
#: invisible characters, neutralised).
_csv_value = csv_cell


class _Writer:
    """The package's files, written as the records stream through (memory stays flat)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.counts = dict.fromkeys(KINDS, 0)
        self.files: dict[str, Any] = {}
        self.csv: dict[str, Any] = {}
        for kind in KINDS:
            fh = open(folder / f"{kind}.csv", "w", newline="", encoding="utf-8")  # noqa: SIM115
            self.files[kind] = fh
            self.csv[kind] = csv.writer(fh)
            self.csv[kind].writerow(CSV_COLUMNS[kind])
        self.json = {k: open(folder / f"{k}.jsonpart", "w", encoding="utf-8") for k in ("posts", "inbound")}  # noqa: SIM115
        self.html = open(folder / "summary.part", "w", encoding="utf-8")  # noqa: SIM115

    def row(self, kind: str, values: dict) -> None:
        self.csv[kind].writerow([_csv_value(values.get(c)) for c in CSV_COLUMNS[kind]])
        self.counts[kind] += 1

    def post(self, rec: dict) -> None:
        fh = self.json["posts"]
        fh.write(("," if self.counts["posts"] else "") + json.dumps(rec, ensure_ascii=False))
        self.row("posts", {**rec, "audit_chain": rec["audit"]["chain"], "audit_verified": rec["audit"]["verified"]})
        for r in rec["revisions"]:
            for lang, text in sorted((r["texts"] or {}).items()):
                self.row("revisions", {**r, "post": rec["id"], "language": lang, "text": text})
        for d in rec["decisions"]:
            self.row("decisions", {**d, "post": rec["id"]})
        for pub in rec["publications"]:
            self.row("publications", {**pub, "post": rec["id"]})
        for ev in rec["audit"]["events"]:
            self.row("audit", ev)

    def inbound(self, rec: dict) -> None:
        fh = self.json["inbound"]
        fh.write(("," if self.counts["inbound"] else "") + json.dumps(rec, ensure_ascii=False))
        self.row("inbound", {**rec, "audit_chain": rec["audit"]["chain"], "audit_verified": rec["audit"]["verified"]})
        for ev in rec["audit"]["events"]:
            self.row("audit", ev)

    def close(self) -> None:
        for fh in [*self.files.values(), *self.json.values(), self.html]:
            fh.close()


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


def export_root() -> Path:
    root = Path(settings.EXPORT_ROOT)
    root.mkdir(parents=True, exist_ok=True)
    return root


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
    verified, done = True, 0
    try:
        with translation.override(export.language):
            labels = _labels()
            for ids in _chunks(post_ids, CHUNK):
                records = [redact(r) for r in _post_records(ids)]
                for rec in records:
                    verified &= rec["audit"]["verified"]
                    writer.post(rec)
                writer.html.write(_html_posts(records, labels))
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
        "files": ["export.json", "summary.html", *[f"csv/{k}.csv" for k in KINDS]],
    }
    _assemble_json(work, manifest)
    with translation.override(export.language):
        _assemble_html(work, manifest, export)
    final = _zip(work, export)
    _finish_done(export.id, final, counts, verified, redact.replaced)
    return "done"


def redaction_scope(export: AtipExport) -> list[str]:
    """What an export redacts, as codes (the summary words them; docs/atip.md explains them):
    `names` (each citizen's full name, each part of it alone, with a title before it),
    `handles`, `patterns`."""
    out = []
    if export.redact_names:
        out.append("names")
    if export.redact_handles:
        out.append("handles")
    if export.redact_patterns:
        out.append("patterns")
    return out


def _labels() -> dict[str, str]:
    """The summary's words in the active language, translated once (not once per row)."""
    words = {
        "post": _("Post %(id)s"), "inbound": _("Citizen message %(id)s"), "state": _("State"), "lane": _("Lane"),
        "channels": _("Channels"), "author": _("Author"), "created": _("Created"), "citizen": _("Citizen message"),
        "ok": _("Audit chain verifies."), "bad": _("Audit chain does not verify."), "versions": _("Text versions"),
        "version": _("Version"), "language": _("Language"), "text": _("Text"), "by": _("By"),
        "decisions": _("Decisions"), "step": _("Step"), "reviewer": _("Reviewer"), "verdict": _("Verdict"),
        "comment": _("Comment"), "when": _("When"), "publications": _("Publications"), "channel": _("Channel"),
        "status": _("Status"), "platform_id": _("Platform id"), "address": _("Address"), "from": _("From"),
        "received": _("Received"),
    }
    return {k: str(v) for k, v in words.items()}


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _table(heads: list[str], rows: list[list[str]]) -> str:
    """A table; each cell of `rows` is already escaped HTML."""
    head = "".join(f'<th scope="col">{_e(h)}</th>' for h in heads)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _verdict(ok: bool, t: dict) -> str:
    return f'<p><span class="ok">{_e(t["ok"])}</span></p>' if ok else f'<p><span class="bad">{_e(t["bad"])}</span></p>'


def _html_posts(records: list[dict], t: dict) -> str:
    """The summary's section for each post (plain string building: 10,000 posts in seconds)."""
    parts = []
    for p in records:
        meta = [f'{_e(t["state"])}: {_e(p["state"])}', f'{_e(t["lane"])}: {_e(p["lane"])}',
                f'{_e(t["channels"])}: {_e(", ".join(p["channels"]))}', f'{_e(t["author"])}: {_e(p["author"])}',
                f'{_e(t["created"])}: {_e(p["created_at"])}']
        if p.get("in_reply_to"):
            meta.append(f'{_e(t["citizen"])}: {_e(p["in_reply_to"])}')
        versions = [[_e(r["number"]), _e(lang), f'<pre lang="{_e(lang)}">{_e(text)}</pre>',
                     f'{_e(r["created_by"])}, {_e(r["created_at"])}']
                    for r in p["revisions"] for lang, text in sorted((r["texts"] or {}).items())]
        html_parts = [f'<article aria-labelledby="post-{p["id"]}"><h2 id="post-{p["id"]}">{_e(t["post"] % {"id": p["id"]})}</h2>',
                      f"<p>{' · '.join(meta)}</p>", _verdict(p["audit"]["verified"], t),
                      f'<h3>{_e(t["versions"])}</h3>',
                      _table([t["version"], t["language"], t["text"], t["by"]], versions)]
        if p["decisions"]:
            html_parts += [f'<h3>{_e(t["decisions"])}</h3>', _table(
                [t["step"], t["reviewer"], t["verdict"], t["comment"], t["when"]],
                [[_e(d["step"]), _e(d["reviewer"]), _e(d["verdict"]), f'<pre>{_e(d["comment"])}</pre>', _e(d["created_at"])]
                 for d in p["decisions"]])]
        if p["publications"]:
            html_parts += [f'<h3>{_e(t["publications"])}</h3>', _table(
                [t["channel"], t["language"], t["status"], t["platform_id"], t["address"]],
                [[_e(x["channel"]), _e(x["language"]), _e(x["status"]), _e(x["external_id"]), _e(x["url"])]
                 for x in p["publications"]])]
        parts.append("".join(html_parts) + "</article>\n")
    return "".join(parts)


def _html_inbound(records: list[dict], t: dict) -> str:
    parts = []
    for m in records:
        who = _e(m["author"]) + (f' ({_e(m["author_handle"])})' if m.get("author_handle") else "")
        lang = f' lang="{_e(m["language"])}"' if m.get("language") else ""
        parts.append(
            f'<article aria-labelledby="inbound-{m["id"]}"><h2 id="inbound-{m["id"]}">{_e(t["inbound"] % {"id": m["id"]})}</h2>'
            f'<p>{_e(t["channel"])}: {_e(m["channel"])} · {_e(t["from"])}: {who} · {_e(t["received"])}: '
            f'{_e(m["received_at"])} · {_e(t["status"])}: {_e(m["status"])}</p>'
            f'{_verdict(m["audit"]["verified"], t)}<pre{lang}>{_e(m["text"])}</pre></article>\n')
    return "".join(parts)


def _assemble_json(work: Path, manifest: dict) -> None:
    with open(work / "export.json", "w", encoding="utf-8") as out:
        out.write('{"manifest":' + json.dumps(manifest, ensure_ascii=False) + ',"posts":[')
        with open(work / "posts.jsonpart", encoding="utf-8") as part:
            shutil.copyfileobj(part, out)
        out.write('],"inbound":[')
        with open(work / "inbound.jsonpart", encoding="utf-8") as part:
            shutil.copyfileobj(part, out)
        out.write("]}")


def _assemble_html(work: Path, manifest: dict, export: AtipExport) -> None:
    head, tail = render_to_string("atip/summary.html", {
        "m": manifest, "export": export, "BODY": "@@BODY@@",
    }).split("@@BODY@@", 1)
    with open(work / "summary.html", "w", encoding="utf-8") as out:
        out.write(head)
        with open(work / "summary.part", encoding="utf-8") as part:
            shutil.copyfileobj(part, out)
        out.write(tail)


def _zip(work: Path, export: AtipExport) -> Path:
    name = f"atip-{export.id}-{secrets.token_hex(8)}.zip"
    tmp = work / name
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        zf.write(work / "export.json", "export.json")
        zf.write(work / "summary.html", "summary.html")
        for kind in KINDS:
            zf.write(work / f"{kind}.csv", f"csv/{kind}.csv")
    final = export_root() / name
    os.replace(tmp, final)
    return final


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


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
