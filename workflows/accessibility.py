"""What the accessibility pre-screen reads in a text (issue 22, docs/media.md): pure functions.

The guideline rules (workflows.guidelines: alt_text, captions, reading_level, hashtags, emoji,
link_text) turn these findings into results; nothing here knows about rules, severities or
messages, and nothing touches the database.

* Reading level: textstat, per language, with no global state (one `textstatistics` instance per
  language, its language set once; `textstat.set_lang` would change every thread's language).
  English: the Flesch–Kincaid grade. French: Kandel and Moles' adaptation of Flesch's reading
  ease (textstat's `flesch_reading_ease` with `fr`), turned into a school grade with Flesch's own
  table (`grade_from_ease`).
* Emoji: the `emoji` package's list, keeping only what shows as a picture (see `emoji_found`).
* Captions: webvtt-py, strict.

Texts reach here capped (workflows.limits); every pattern is linear (no nested repetition).
"""
from __future__ import annotations

import io
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from . import links as linkx
from .canonical import skeleton

# --- reading level --------------------------------------------------------------------------

#: Flesch's table (R. Flesch, 1948; the one textstat's documentation gives): reading ease → the
#: school grade whose readers find it easy. A score inside a band maps linearly onto the band's
#: grades, from the band's first grade at its top edge: 90–100 is grade 5, 80–90 grade 6, 70–80
#: grade 7, 60–70 grades 8 and 9, 50–60 grades 10 to 12, 30–50 college (13 to 16), below 30 a
#: college graduate (17 and more).
EASE_TO_GRADE: tuple[tuple[float, float], ...] = (
    (100.0, 5.0), (90.0, 6.0), (80.0, 7.0), (70.0, 8.0), (60.0, 10.0), (50.0, 13.0), (30.0, 17.0), (0.0, 18.0),
)

GRADE_MAX = 18.0
#: Formula names, as stored in a result's params.
FORMULAS = {"en": "flesch_kincaid", "fr": "kandel_moles"}

_MENTION_RE = re.compile(r"(?<![\w@])@[\w.\-]+(?:@[\w\-]+(?:\.[\w\-]+)+)?")
_HASHTAG_RE = re.compile(r"(?<![\w&#/])#(\w+)")
_TAG_TOKEN_RE = re.compile(r"#\w+")
_SPLIT_KEEP_RE = re.compile(r"(\s+)")
_CAMEL_RE = re.compile(r"(?<=[a-zà-ÿ])(?=[A-ZÀ-Þ])|(?<=[A-Za-zÀ-ÿ])(?=\d)|(?<=\d)(?=[A-Za-zÀ-ÿ])")
_SPACES_RE = re.compile(r"[ \t\r\f\v]+")
_BREAKS_RE = re.compile(r" ?\n[\s]*")
_ENDED_BREAK_RE = re.compile(r"(?<=[.!?:;…])\n")


@lru_cache(maxsize=4)
def _reader(language: str) -> Any:
    """A textstat reader for one language, made once; its language is never changed afterwards,
    so threads share it safely (textstat.set_lang would change the module-wide instance's)."""
    from textstat.textstat import textstatistics

    reader = textstatistics()
    reader.set_lang({"en": "en_US", "fr": "fr"}[language])
    return reader


@lru_cache(maxsize=1)
def _english_hyphenator() -> Any:
    from pyphen import Pyphen

    return Pyphen(lang="en_US")


@lru_cache(maxsize=8192)
def _english_syllables(word: str) -> int:
    """Syllables of an English word as textstat counts a word its pronouncing dictionary lacks
    (Pyphen's en_US hyphenation points plus one). textstat 0.7 looks English words up in NLTK's
    copy of the CMU dictionary and downloads it at run time when it is missing; Parley never
    downloads at run time, so every English word is counted this way (docs/media.md)."""
    return len(_english_hyphenator().positions(word)) + 1


def prose(text: str) -> str:
    """What a reader reads as sentences: links, mentions, emoji and a closing run of hashtags
    removed; a hashtag inside a sentence read as its words (#OpenGovernment → Open Government);
    a line break ends a sentence."""
    import emoji

    text = linkx.without_links(text or "")
    text = _MENTION_RE.sub(" ", text)
    text = emoji.replace_emoji(text, replace=" ")
    text = _without_closing_tags(text)
    text = _HASHTAG_RE.sub(lambda m: _CAMEL_RE.sub(" ", m.group(1)).replace("_", " "), text)
    text = _BREAKS_RE.sub("\n", _SPACES_RE.sub(" ", text)).strip()
    return _ENDED_BREAK_RE.sub(" ", text).replace("\n", ". ")


def _without_closing_tags(text: str) -> str:
    """`text` without the run of hashtags that ends it (one pass from the end: linear)."""
    parts = _SPLIT_KEEP_RE.split(text.rstrip())  # words and the spaces between them
    while parts and (not parts[-1].strip() or _TAG_TOKEN_RE.fullmatch(parts[-1])):
        parts.pop()
    return "".join(parts)


def word_count(text: str, language: str) -> int:
    """Words in `text` (already `prose`) as textstat counts them."""
    return int(_reader(_lang(language)).lexicon_count(text)) if text.strip() else 0


def _lang(language: str) -> str:
    return "fr" if language == "fr" else "en"


def grade_from_ease(ease: float) -> float:
    """A Flesch reading ease (any language's adaptation on Flesch's scale) as a school grade
    (EASE_TO_GRADE); above 100, one grade less per 10 points (never below 0); below 0, GRADE_MAX."""
    top_ease, top_grade = EASE_TO_GRADE[0]
    if ease >= top_ease:
        return max(0.0, top_grade - (ease - top_ease) / 10.0)
    for (hi, g_hi), (lo, g_lo) in zip(EASE_TO_GRADE, EASE_TO_GRADE[1:], strict=False):
        if ease >= lo:
            return g_hi + (hi - ease) / (hi - lo) * (g_lo - g_hi)
    return EASE_TO_GRADE[-1][1]


@dataclass(frozen=True)
class Readability:
    words: int
    #: the school grade (US grades; Quebec's Secondary 2 is grade 8), one decimal, from 0 to
    #: GRADE_MAX (beyond a college graduate's, a grade says nothing more)
    grade: float
    formula: str
    #: French only: Kandel and Moles' reading ease the grade comes from
    ease: float | None = None


def readability(text: str, language: str) -> Readability:
    """The reading level of `text` in `language` ("en" or "fr"; anything else is read as English).

    English: Flesch–Kincaid grade, 0.39 × words per sentence + 11.8 × syllables per word − 15.59,
    with textstat's word and sentence counts. French: textstat's Flesch reading ease with `fr`
    (Kandel and Moles, 1958: 207 − 1.015 × words per sentence − 73.6 × syllables per word), then
    `grade_from_ease`."""
    lang = _lang(language)
    body = prose(text)
    reader = _reader(lang)
    words = word_count(body, lang)
    if not words:
        return Readability(words=0, grade=0.0, formula=FORMULAS[lang])
    if lang == "fr":
        ease = float(reader.flesch_reading_ease(body))
        return Readability(words=words, grade=round(grade_from_ease(ease), 1), formula=FORMULAS[lang],
                           ease=round(ease, 1))
    sentences = max(1, int(reader.sentence_count(body)))
    syllables = sum(_english_syllables(w) for w in reader.remove_punctuation(body).lower().split())
    grade = 0.39 * (words / sentences) + 11.8 * (syllables / words) - 15.59
    return Readability(words=words, grade=round(min(GRADE_MAX, max(0.0, grade)), 1), formula=FORMULAS[lang])


def grade_exceeds(grade: float, max_grade: float) -> bool:
    """A grade is above `max_grade` once it reaches the next school year: 8.9 is grade 8."""
    return math.floor(grade) > max_grade


# --- alternative text -----------------------------------------------------------------------

IMAGE_EXTENSIONS = ("jpg", "jpeg", "png", "gif", "webp", "heic", "heif", "tif", "tiff", "bmp", "svg", "avif",
                    "mp4", "mov", "m4v", "webm", "avi")
_FILE_NAME_RE = re.compile(r"^[^\n]{0,200}\.(?:" + "|".join(IMAGE_EXTENSIONS) + r")$", re.I)
#: Camera, phone and screenshot names: IMG_1234, DSC01234, PXL_20240101_123456, Screenshot 2024-…
_CAMERA_NAME_RE = re.compile(
    r"^(?:img|dsc[nf]?|pxl|mvimg|vid|gopr|dji|photo|image|screenshot|screen shot|capture d'ecran|capture)"
    r"[\s_-]*\d[\d\s_.:-]*(?:(?:at|a)\s[\d\s.:h-]+)?$")

#: Openings that tell a screen-reader user what they already hear ("image"), in both languages,
#: as `skeleton` writes them (casefolded, accents dropped). Longest first.
REDUNDANT_PREFIXES: tuple[str, ...] = tuple(sorted({
    "image of", "an image of", "the image of", "picture of", "a picture of", "the picture of", "photo of",
    "a photo of", "the photo of", "photograph of", "a photograph of", "illustration of", "an illustration of",
    "image showing", "an image showing", "picture showing", "photo showing",
    "image de", "image d'", "une image de", "une image d'", "l'image de", "l'image d'", "photo de", "photo d'",
    "une photo de", "une photo d'", "la photo de", "la photo d'", "photographie de", "photographie d'",
    "une photographie de", "une photographie d'", "illustration de", "illustration d'", "une illustration de",
    "une illustration d'", "l'illustration de", "l'illustration d'", "image montrant", "photo montrant",
}, key=len, reverse=True))
_LABEL_PREFIX_RE = re.compile(r"^(image|photo|picture|photograph|photographie|illustration)\s*:")


def _norm(text: str) -> str:
    return " ".join(skeleton((text or "").replace("’", "'").replace("‘", "'")).split())


def is_file_name(alt: str, filename: str = "") -> bool:
    """The alternative text is a file name: the uploaded file's name (or that name without its
    extension), a name ending in an image or video extension, or a camera's or screenshot's
    numbered name (IMG_1234, DSC01234, PXL_20240101_123456)."""
    text = " ".join((alt or "").split())
    if not text:
        return False
    name = (filename or "").strip()
    if name:
        stem = name.rsplit(".", 1)[0] if "." in name else name
        if text.casefold() in {name.casefold(), stem.casefold()}:
            return True
    return bool(_FILE_NAME_RE.match(text) or _CAMERA_NAME_RE.match(_norm(text)))


def redundant_prefix(alt: str) -> str | None:
    """The opening ("Image of", "Photo de", "Illustration d'", "Photo:") the text starts with,
    as written, or None. Case, accents and curly apostrophes do not matter."""
    norm = _norm(alt)
    for prefix in REDUNDANT_PREFIXES:
        if norm.startswith(prefix) and (prefix.endswith("'") or len(norm) == len(prefix)
                                        or not norm[len(prefix)].isalnum()):
            return _as_written(alt, len(prefix.split()), elided=prefix.endswith("'"))
    m = _LABEL_PREFIX_RE.match(norm)
    if m:
        return _as_written(alt, 1, elided=False)
    return None


def _as_written(text: str, words: int, *, elided: bool) -> str:
    """The first `words` words of `text` as typed (the elided article's apostrophe kept)."""
    stripped = text.strip()
    parts = stripped.split()
    if elided:
        last = parts[words - 1]
        cut = max(last.find("'"), last.find("’"))
        return " ".join(parts[:words - 1] + [last[:cut + 1]])
    return " ".join(parts[:words]).rstrip(":").strip()


def letter_words(text: str) -> int:
    """Words with at least one letter (language detection is judged on those)."""
    return sum(1 for w in (text or "").split() if any(c.isalpha() for c in w))


def graphemes(text: str) -> int:
    """User-perceived characters (extended grapheme clusters), as Bluesky counts."""
    import regex

    return len(regex.findall(r"\X", text or ""))


# --- captions -------------------------------------------------------------------------------

@dataclass(frozen=True)
class CaptionCheck:
    #: "ok", "invalid" (not WebVTT), "empty" (no cue with text) or "timing" (a cue ends before it starts)
    outcome: str
    cues: int = 0
    #: the first cue (1-based) whose end is not after its start
    bad_cue: int = 0


def check_webvtt(text: str) -> CaptionCheck:
    """Parse WebVTT strictly (webvtt-py): a malformed file or cue block is "invalid"; a file
    without any cue that has text is "empty"; a cue that does not end after it starts, "timing"."""
    import webvtt
    from webvtt.errors import MalformedCaptionError, MalformedFileError

    try:
        parsed = webvtt.from_buffer(io.StringIO(text.lstrip("\ufeff")), strict=True)
        cues = list(parsed.captions)
    except (MalformedFileError, MalformedCaptionError, ValueError, IndexError):
        return CaptionCheck("invalid")
    with_text = [c for c in cues if c.text.strip()]
    if not with_text:
        return CaptionCheck("empty")
    for i, cue in enumerate(cues, start=1):
        if not cue.start_time < cue.end_time:
            return CaptionCheck("timing", cues=len(with_text), bad_cue=i)
    return CaptionCheck("ok", cues=len(with_text))


# --- hashtags -------------------------------------------------------------------------------

def hashtags(text: str) -> list[str]:
    """The hashtags of `text` as written, without "#", outside links, in order."""
    return [m.group(1) for m in _HASHTAG_RE.finditer(linkx.without_links(text or ""))]


def not_camel_case(tag: str, *, max_letters: int) -> bool:
    """A hashtag that is probably several words run together with nothing to tell them apart:
    its letters all lowercase or all uppercase (a capital inside it, as in #OpenGovernment or
    #COVID19Vaccine, separates words; so does "_") and more than `max_letters` of them in one
    run. Parley has no dictionary to split "#opengov", so a short run passes (#budget, #Canada,
    #cdnpoli) and a long single word (#accessibility) is asked to be capitalized, which is
    harmless (#Accessibility passes)."""
    runs = [r for r in re.split(r"[_\d]+", tag) if r]
    for run in runs:
        letters = [c for c in run if c.isalpha()]
        if len(letters) <= max_letters:
            continue
        if all(c.islower() for c in letters) or all(c.isupper() for c in letters):
            return True
        if letters[0].isupper() and all(c.islower() for c in letters[1:]):
            continue  # Titlecase: one word as far as anyone can tell (#Accessibility)
    return False


# --- emoji ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class EmojiUse:
    count: int
    #: emoji followed by words in the same sentence (in place of a word, or mid-sentence)
    in_text: tuple[str, ...]
    #: runs of emoji with nothing but spaces between them, each run as written without spaces
    consecutive: tuple[str, ...]


_SENTENCE_END = ".!?…\n"


def emoji_found(text: str) -> list[tuple[int, int, str]]:
    """(start, end, emoji) for every emoji shown as a picture: a sequence (skin tone, flag,
    keycap, ZWJ family, a character with the emoji variation selector) or a character whose
    default presentation is emoji. ©, ®, ™, ↔ and ✔ written plain are text, not emoji."""
    import emoji
    import regex

    out = []
    for item in emoji.emoji_list(text or ""):
        e = item["emoji"]
        if len(e) > 1 or regex.fullmatch(r"\p{Emoji_Presentation}", e):
            out.append((item["match_start"], item["match_end"], e))
    return out


def _words_follow(after: str) -> bool:
    """Words follow in the same sentence (hashtags, mentions and links do not count)."""
    after = linkx.without_links(after)
    cut = min((i for i in (after.find(c) for c in _SENTENCE_END) if i >= 0), default=len(after))
    rest = _HASHTAG_RE.sub(" ", _MENTION_RE.sub(" ", after[:cut]))
    return any(c.isalnum() for c in rest)


def emoji_use(text: str) -> EmojiUse:
    text = text or ""
    found = emoji_found(text)
    in_text = []
    for i, (_start, end, e) in enumerate(found):
        nxt = found[i + 1][0] if i + 1 < len(found) else len(text)
        # Only the text up to the next emoji: what follows that one is its own concern.
        if _words_follow(text[end:nxt]) and e not in in_text:
            in_text.append(e)
    runs: list[str] = []
    run = ""
    for i, (start, _end, e) in enumerate(found):
        joined = i > 0 and not text[found[i - 1][1]:start].strip()
        if joined:
            run += e
        else:
            if len(_split_run(run)) > 1:
                runs.append(run)
            run = e
    if len(_split_run(run)) > 1:
        runs.append(run)
    return EmojiUse(count=len(found), in_text=tuple(in_text), consecutive=tuple(runs))


def _split_run(run: str) -> list[str]:
    return [e for _s, _e, e in emoji_found(run)] if run else []


# --- link text ------------------------------------------------------------------------------

#: Link text that says nothing about where a link goes, in both languages (as `skeleton` writes
#: them). Flagged when the words right before a link end with one of them.
VAGUE_LINK_PHRASES: tuple[str, ...] = (
    "click here", "click", "here", "tap here", "go here", "this link", "link", "the link", "read more",
    "more", "learn more", "find out more", "see more", "more info", "more information", "more details",
    "details here", "info here",
    "cliquez ici", "cliquer ici", "appuyez ici", "ici", "ce lien", "le lien", "lien", "lire la suite",
    "la suite", "en savoir plus", "pour en savoir plus", "en lire plus", "plus d'info", "plus d'infos",
    "plus d'information", "plus d'informations", "plus de details", "details ici", "voir plus",
)
#: Phrases that are vague wherever they stand before a link ("Click here to apply: …").
VAGUE_ANYWHERE: tuple[str, ...] = ("click here", "tap here", "cliquez ici", "cliquer ici", "appuyez ici")
#: Words and signs that join a phrase to its link ("Read more at …", "En savoir plus sur …").
_JOINERS = {"at", "on", "via", "to", "in", "sur", "a", "au", "aux", "dans", "->", "=>"}


def _clause_before(text: str, *, start: int, end: int) -> str:
    """The words of text[start:end] after its last sentence end (`start`: the previous link's end)."""
    before = text[start:end]
    cut = max((before.rfind(c) for c in ".!?…\n"), default=-1)
    return before[cut + 1:]


_WORD_STRIP = ":;,()[]«»\"“”-–—→⇒➡>|"


def _tail_words(clause: str) -> list[tuple[str, str]]:
    """The clause's words, each (as `skeleton` writes it, as typed), emoji and the joining
    words at its end ("at", "sur"…) left out."""
    import emoji

    pairs = []
    for raw in emoji.replace_emoji(clause, " ").split():
        typed = raw.strip(_WORD_STRIP)
        norm = _norm(typed).strip(_WORD_STRIP)
        if norm:
            pairs.append((norm, typed))
    while pairs and pairs[-1][0] in _JOINERS:
        pairs.pop()
    return pairs


def vague_link_text(text: str, phrases: Iterable[str] | None = None) -> list[str]:
    """The vague phrases ("click here", "en savoir plus"…) that stand right before a link in
    `text`, in order, each once. `phrases` replaces VAGUE_LINK_PHRASES when given."""
    ends = sorted({_norm(p) for p in (VAGUE_LINK_PHRASES if phrases is None else phrases) if _norm(p)},
                  key=lambda p: len(p.split()), reverse=True)
    found: list[str] = []
    prev = 0
    for link in linkx.find_links(text or ""):
        pairs = _tail_words(_clause_before(text, start=prev, end=link.start))
        prev = link.end
        tail = " ".join(norm for norm, _typed in pairs)
        hit = next((p for p in ends if tail == p or tail.endswith(" " + p)), None)
        if hit is not None:
            typed = " ".join(t for _n, t in pairs[-len(hit.split()):])
        else:
            hit = next((p for p in VAGUE_ANYWHERE if f" {p} " in f" {tail} "), None)
            if hit is not None:
                norms = [n for n, _t in pairs]
                size = len(hit.split())
                at = next(i for i in range(len(norms)) if norms[i:i + size] == hit.split())
                typed = " ".join(t for _n, t in pairs[at:at + size])
        if hit is not None and typed not in found:
            found.append(typed)
    return found
