"""Redaction: citizens' names and handles as literals, and free-text patterns (RE2, linear time)."""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import re2

from ...models import AtipExport
from .common import LITERAL_MIN, MAX_PATTERNS, PATTERN_MAX, REDACTED, _invalid
from .media import SYSTEM_KEYS as MEDIA_SYSTEM_KEYS

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
                         "status", "kind", "language", "lane", "verdict", "idempotency_key"}) | MEDIA_SYSTEM_KEYS


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
