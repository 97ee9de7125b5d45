"""One canonical text for matching guideline and escalation rules.

A rule must see what a reader sees, not the code points an author typed: "mi\u200bnister",
"mi\u00adnister", "mіnister" (Cyrillic і) and "ｍｉｎｉｓｔｅｒ" all read "minister". Two forms:

``clean(text)``
    NFKC (fullwidth and compatibility forms become their plain letters), default-ignorable code
    points removed (zero-width characters, soft hyphen, bidi controls, variation selectors, tag
    characters…), casefolded, decimal digits of every script made ASCII. Links are found and
    their hosts compared with the allow-list in this form: a host written with a look-alike
    letter is a different host, so it is not folded into an allowed one.

``skeleton(text)``
    ``clean`` then combining marks dropped (é → e, so an accent cannot hide a term either) and
    every non-ASCII letter that is confusable with a Latin letter or digit folded to it
    (Cyrillic а → a, Greek ο → o, …). Terms (forbidden and escalation), personal data and
    escalation patterns are matched in this form, against terms that went through the same
    function.

The confusable data comes from the ``confusable_homoglyphs`` package (Unicode's confusables.txt
as JSON, maintained on PyPI, pure Python: it installs everywhere ICU may not). Only characters
outside ASCII are folded, so digits and ASCII letters keep their meaning (a phone number stays a
phone number). Every step is a table lookup per character: linear in the text's length.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

#: Unicode's Default_Ignorable_Code_Point property (DerivedCoreProperties.txt, Unicode 15.1),
#: as inclusive ranges. Python's unicodedata does not expose the property.
DEFAULT_IGNORABLE_RANGES: tuple[tuple[int, int], ...] = (
    (0x00AD, 0x00AD),  # soft hyphen
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x061C, 0x061C),  # Arabic letter mark (bidi)
    (0x115F, 0x1160),  # Hangul fillers
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),  # Mongolian free variation selectors, vowel separator
    (0x200B, 0x200F),  # zero width space, ZWNJ, ZWJ, LRM, RLM
    (0x202A, 0x202E),  # bidi embeddings and overrides
    (0x2060, 0x206F),  # word joiner, invisible operators, bidi isolates
    (0x3164, 0x3164),  # Hangul filler
    (0xFE00, 0xFE0F),  # variation selectors
    (0xFEFF, 0xFEFF),  # zero width no-break space (BOM)
    (0xFFA0, 0xFFA0),  # halfwidth Hangul filler
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),  # shorthand format controls
    (0x1D173, 0x1D17A),  # musical symbol format controls
    (0xE0000, 0xE0FFF),  # tags, variation selectors supplement
)

_IGNORABLE_RE = re.compile("[" + "".join(f"\\U{lo:08x}-\\U{hi:08x}" for lo, hi in DEFAULT_IGNORABLE_RANGES) + "]")
#: a decimal digit (Unicode Nd) that is not ASCII
_OTHER_DIGIT_RE = re.compile(r"(?![0-9])\d")


def is_default_ignorable(ch: str) -> bool:
    return _IGNORABLE_RE.fullmatch(ch) is not None


def _strip_ignorable(text: str) -> str:
    return text if text.isascii() else _IGNORABLE_RE.sub("", text)


def _ascii_candidates(homoglyphs: list[dict]) -> list[str]:
    out = []
    for h in homoglyphs:
        c = h.get("c", "")
        if len(c) == 1 and c.isascii() and c.isprintable() and not c.isspace():
            out.append(c)
    # Letters before digits before punctuation: "о" is an o, not a 0.
    return sorted(out, key=lambda c: (not c.isalpha(), not c.isdigit()))


def _pick(homoglyphs: list[dict], *, capital: bool) -> str | None:
    found = _ascii_candidates(homoglyphs)
    if not found:
        return None
    # A capital that looks like "l" looks like a capital I (confusables.txt maps I to l too).
    return "i" if capital and found[0] in "lI" else found[0].lower()


@lru_cache(maxsize=1)
def _fold_tables() -> tuple[dict[int, str], dict[int, str]]:
    """(capitals, others): non-ASCII character → the lowercase ASCII character it reads as.

    Capitals are folded before casefolding (Greek Ν reads N, though its small form ν reads v),
    the other characters after it."""
    from confusable_homoglyphs.confusables import confusables_data

    capitals: dict[int, str] = {}
    others: dict[int, str] = {}
    for ch, homoglyphs in confusables_data.items():
        if len(ch) != 1 or ch.isascii():
            continue
        if unicodedata.category(ch) == "Lu":
            picked = _pick(homoglyphs, capital=True)
            if picked:
                capitals[ord(ch)] = picked
            continue
        picked = _pick(homoglyphs, capital=False)
        if picked is None:
            upper = ch.upper()
            if len(upper) == 1 and upper != ch:
                picked = _pick(confusables_data.get(upper, []), capital=True)
        if picked:
            others[ord(ch)] = picked
    return capitals, others


#: Letter-like symbols named after a Latin letter that NFKC leaves alone or turns into more than
#: a letter: enclosed (circled, squared, negative, parenthesized: "🅼", "⒨"), regional indicators
#: ("🇲"), small capitals ("ᴍ"), letters with hooks, strokes, tails ("ɱ", "ʂ"), dotless and script
#: forms. Derived from the character names in Python's own Unicode database, so it follows the
#: Unicode version Python ships.
_LETTER_NAME_RE = re.compile(
    r"^(?:(?:NEGATIVE )?(?:CIRCLED|SQUARED|PARENTHESIZED) )?LATIN (?:SMALL |CAPITAL )?LETTER "
    r"(?:SMALL CAPITAL |DOTLESS |SCRIPT |BARRED )?([A-Z])(?: WITH .+| BAR)?$")
_LIGATURES = {"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae", "ĳ": "ij", "Ĳ": "ij"}


@lru_cache(maxsize=1)
def _letter_tables() -> tuple[dict[int, str], dict[int, str]]:
    """(before NFKC, after it): non-ASCII letter-like symbol → the ASCII letter(s) it reads as.
    The first holds what NFKC would turn into more than a letter ("⒨" → "(m)") or leave alone
    (enclosed, regional indicators); the second every other named letter form (hooks, small
    capitals…), used where the confusables data has no answer."""
    early: dict[int, str] = {}
    late: dict[int, str] = {ord(k): v for k, v in _LIGATURES.items()}
    for cp in range(0x80, 0x20000):
        name = unicodedata.name(chr(cp), "")
        if name.startswith("REGIONAL INDICATOR SYMBOL LETTER "):
            early[cp] = name[-1].lower()
            continue
        m = _LETTER_NAME_RE.match(name)
        if not m:
            continue
        if name.startswith(("CIRCLED", "SQUARED", "NEGATIVE", "PARENTHESIZED")):
            early[cp] = m.group(1).lower()
        else:
            late[cp] = m.group(1).lower()
    return early, late


def _drop_marks(text: str) -> str:
    """Combining marks removed: accents (Mn) and enclosing marks (Me: "m\u20dd" is an m in a
    circle). `unicodedata.combining` alone misses the enclosing ones (combining class 0)."""
    return "".join(ch for ch in unicodedata.normalize("NFD", text) if unicodedata.category(ch) not in ("Mn", "Me"))


def _base(text: str) -> str:
    text = text or ""
    if text.isascii():
        return text
    return _strip_ignorable(unicodedata.normalize("NFKC", _strip_ignorable(text)))


def _ascii_digits(text: str) -> str:
    if text.isascii():
        return text
    return _OTHER_DIGIT_RE.sub(lambda m: str(unicodedata.decimal(m.group())), text)


def clean(text: str) -> str:
    """NFKC, default-ignorables removed, casefolded, ASCII digits. See the module docstring."""
    return _ascii_digits(unicodedata.normalize("NFKC", _base(text).casefold()))


def skeleton(text: str) -> str:
    """``clean`` plus marks dropped and confusables folded to Latin. See the module docstring."""
    text = text or ""
    if text.isascii():
        return text.casefold()
    capitals, others = _fold_tables()
    early, late = _letter_tables()
    text = _base(_strip_ignorable(text).translate(early))
    text = _drop_marks(_ascii_digits(text))
    text = _drop_marks(unicodedata.normalize("NFKC", text.translate(capitals).casefold()))
    return text.translate(others).translate(late)


# --- what a reader sees that the code points do not say ------------------------------------------

_RLO, _PDF = "\u202e", "\u202c"


def visual_order(text: str) -> str:
    """`text` with each right-to-left override segment (U+202E up to its U+202C, the end of the
    line or of the text) reversed, as a reader sees it: "\u202eretsinim\u202c" reads
    "minister". Text without an override comes back unchanged. Linear: one pass."""
    if _RLO not in text:
        return text
    out, i = [], 0
    while True:
        j = text.find(_RLO, i)
        if j < 0:
            out.append(text[i:])
            return "".join(out)
        out.append(text[i:j])
        ends = [k for k in (text.find(_PDF, j + 1), text.find("\n", j + 1)) if k >= 0]
        end = min(ends) if ends else len(text)
        out.append(text[j + 1:end][::-1])
        i = end + 1 if end < len(text) and text[end] == _PDF else end


#: Digits and symbols written for letters ("m1n1st3r", "$tupid", "st@ff"). Applied only inside a
#: token that also has a letter, so numbers ("613-555-0199", "2026") keep their meaning.
LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})
#: Separators between single letters that still read as one word ("m.i.n.i.s.t.e.r",
#: "m i n i s t e r", "m-i-n-i-s-t-e-r"): at most three of them between two letters.
SPACED_SEPARATORS = frozenset(" .-_*·•/|,~+")
_WORD_RE = re.compile(r"\w+")
_LEET_TOKEN_RE = re.compile(r"[\w@$]+")


def word_tokens(text: str) -> list[str]:
    """The words of an already canonical text."""
    return _WORD_RE.findall(text)


def disguised_tokens(text: str) -> list[str]:
    """The words of an already canonical text once single letters spelled apart are joined and
    digits/symbols written for letters are read as letters. Linear: one pass over the tokens."""
    out: list[str] = []
    run: list[str] = []
    prev_end = -1

    def flush() -> None:
        if len(run) >= 3:
            out.append("".join(run))
        else:
            out.extend(run)
        run.clear()

    for m in _LEET_TOKEN_RE.finditer(text):
        tok = m.group()
        gap = text[prev_end:m.start()] if prev_end >= 0 and m.start() - prev_end <= 3 else ""
        if len(tok) == 1 and run and gap and all(c in SPACED_SEPARATORS for c in gap):
            run.append(tok)
        else:
            flush()
            if len(tok) == 1:
                run.append(tok)
            else:
                out.append(tok)
        prev_end = m.end()
    flush()
    result = []
    for tok in out:
        forms = [tok, tok[1:]] if tok[:1] == "@" else [tok]  # "@m1n1ster" may be a mention
        for form in forms:
            if any(c.isalpha() for c in form) and any(c in "013457@$" for c in form):
                form = form.translate(LEET)
            result.extend(word_tokens(form))
    return result
