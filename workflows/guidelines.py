"""The pre-screen: guideline and escalation rules as pure functions over text.

Nothing here touches the database; services pass in the rules and the texts.

* Each rule kind is one function in a registry (`RULES`, `ESCALATIONS`: kind → function); a
  function sees a `Context` holding each language's raw text and its canonical forms
  (workflows.canonical) and returns results. Adding a kind = one function + one registry line.
* Results are codes with parameters (`CheckResult.code`, `.params`); the words live in
  workflows.messages and are rendered in the reader's language when read.
* Every pattern runs on RE2 (`google-re2`), whose automaton matches in time linear in the text
  whatever the pattern, including the escalation patterns an administrator types. Term
  matching is plain substring search with a word-boundary check. Texts are capped
  (workflows.limits) before they get here.
* Media are plain data too (`MediaInfo`: kind, language, alt text and captions per language, the
  uploaded file's name). The accessibility pre-screen (alt_text, captions, reading_level,
  hashtags, emoji, link_text; docs/media.md) reads them and the texts through
  workflows.accessibility.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import re2

from . import accessibility as a11y
from . import links as linkx
from . import messages
from .canonical import clean, disguised_tokens, skeleton, visual_order, word_tokens
from .constants import EscalationKind, RuleKind, Severity


def _re2(pattern: str) -> Any:
    options = re2.Options()
    options.log_errors = False
    return re2.compile(pattern, options=options)


# Personal data, matched on the skeleton (lowercase, look-alikes folded, ASCII digits). RE2 has
# no look-behind: a boundary is a non-digit/non-hyphen character or the start of the text.
EMAIL_RE = _re2(r"[\pL\pN._%+-]+@[\pL\pN-]+(?:\.[\pL\pN-]+)*\.\pL{2,}")
PHONE_RE = _re2(r"(?:^|[^\d-])(?:\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}(?:$|[^\d-])")
SIN_RE = _re2(r"(?:^|[^\d-])\d{3}[\s-]?\d{3}[\s-]?\d{3}(?:$|[^\d-])")
#: An address with "at"/"dot" spelled out or bracketed ("jean at example dot com", "jean [at]
#: example [dot] ca", "jean arobase exemple point ca"): at least one spelled separator, and the
#: last label a top-level domain (checked after the match), so "look at this dot" is not one.
#: A bare "@" or "." counts only written tight, or "@" with spaces on both sides: "Thanks
#: @jean.bsky.social" is a mention and "at noon. Com…" a sentence, not addresses.
_AT = r"(?:@|\s+@\s+|\s*[\[({<]\s*(?:at|arobase|a|@)\s*[\])}>]\s*|\s+(?:at|arobase)\s+)"
_DOT = r"(?:\.|\s*[\[({<]\s*(?:dot|point|pt|\.)\s*[\])}>]\s*|\s+(?:dot|point)\s+)"
EMAIL_SPELLED_RE = _re2(r"[\pL\pN._%+-]+" + _AT + r"[\pL\pN-]+(?:" + _DOT + r"[\pL\pN-]+)*" + _DOT + r"(\pL{2,})")
#: Number words read as digits (English and French), and letters written for digits in a number
#: ("613-555-O199": O for 0, l/I for 1).
NUMBER_WORDS = {
    "zero": "0", "oh": "0", "o": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
    "seven": "7", "eight": "8", "nine": "9", "un": "1", "une": "1", "deux": "2", "trois": "3", "quatre": "4",
    "cinq": "5", "sept": "7", "huit": "8", "neuf": "9",
}
#: Python's `re` for this one-class pattern (no backtracking possible): RE2's Python binding
#: costs microseconds per match, and a text may hold thousands of tokens.
_NUMBER_TOKEN_RE = re.compile(r"[^\W_]+")
_DIGIT_LOOKALIKES = str.maketrans({"o": "0", "l": "1", "i": "1"})
POSTAL_RE = _re2(r"(?:^|[^\pL\pN_])[abceghj-nprstvxy]\d[abceghj-nprstv-z][ -]?\d[abceghj-nprstv-z]\d(?:$|[^\pL\pN_])")
# Links: workflows.links (one extractor for the rule, the Bluesky facets and the preview), on the
# raw and the clean text (no look-alike folding: a look-alike host is another host).

LANGUAGE_NAMES = {"en": "English", "fr": "French"}


@dataclass(frozen=True)
class MediaLimits:
    """What a platform accepts with a medium: the longest alternative text of an image and of a
    video (None: no limit), counted in `alt_unit` ("chars": code points; "graphemes"), and the
    largest captions file in bytes (None: no limit); how many images and videos one post takes
    (None: no limit) and whether images and a video may go together (`mixed`): the count is
    checked when media are attached (services.media.ensure_media_fit)."""

    alt_image: int | None = None
    alt_video: int | None = None
    alt_unit: str = "chars"
    captions_bytes: int | None = None
    images: int | None = None
    videos: int | None = None
    mixed: bool = True

    def alt_limit(self, kind: str) -> int | None:
        return self.alt_video if kind == "video" else self.alt_image

    def alt_length(self, text: str) -> int:
        return a11y.graphemes(text) if self.alt_unit == "graphemes" else len(text)


#: The platforms' documented limits (docs/media.md). Mastodon: a media description has at most
#: 1,500 characters (MediaAttachment::MAX_DESCRIPTION_LENGTH, images and video alike). Bluesky:
#: the `app.bsky.embed.images` lexicon sets no length on `alt`, the Bluesky app takes at most
#: 2,000 graphemes; `app.bsky.embed.video` sets `alt` to 1,000 graphemes and a caption file
#: (`text/vtt` blob) to 20,000 bytes. Counts: Mastodon takes at most 4 attachments and a video
#: alone (its PostStatusService refuses "images_and_video"); Bluesky's `app.bsky.embed.images`
#: holds at most 4 images, `app.bsky.embed.video` one video, and a post has one embed.
PLATFORM_MEDIA_LIMITS: dict[str, MediaLimits] = {
    "mastodon": MediaLimits(alt_image=1500, alt_video=1500, alt_unit="chars", images=4, videos=1, mixed=False),
    "bluesky": MediaLimits(alt_image=2000, alt_video=1000, alt_unit="graphemes", captions_bytes=20000,
                           images=4, videos=1, mixed=False),
}


def media_limits_for(*, adapter: str, platform: str = "") -> MediaLimits | None:
    """The media limits of a channel: its adapter's platform, else (the log and webhook adapters,
    which send nowhere in particular) the platform the channel says it is on, else none."""
    for name in (adapter, platform):
        limits = PLATFORM_MEDIA_LIMITS.get((name or "").strip().lower())
        if limits is not None:
            return limits
    return None


@dataclass(frozen=True)
class ChannelInfo:
    slug: str
    char_limit: int
    languages: tuple[str, ...]
    #: The platform's length of a text (its adapter's `text_length`: Mastodon counts a URL as
    #: 23, Bluesky counts graphemes); code points when not given.
    count: Callable[[str], int] = len
    #: What the platform accepts with a medium (media_limits_for); None: no limits known.
    media: MediaLimits | None = None


@dataclass(frozen=True)
class MediaInfo:
    """One medium attached to the post, as the rules see it (plain data, from a PostMedium row).

    * `kind`: "image" (JPEG, PNG, GIF, WebP) or "video";
    * `language`: "" when the medium goes with every language of the post, else "en" or "fr"
      (it is part of that language's post only);
    * `alt`: language → alternative text (PostMedium.alt_text_en / alt_text_fr; a missing or
      blank entry is no alternative text);
    * `captions`: language → WebVTT text (PostMedium.captions_en / captions_fr);
    * `filename`: the name the uploaded file had (Medium.original_name), to tell an alternative
      text that is only the file's name.

    Results about a medium name it by its 1-based place in `Context.media` (`number`) and point
    at `media.<index>.alt_text_<lang>` / `media.<index>.captions_<lang>` (0-based index)."""

    kind: str
    language: str = ""
    alt: Mapping[str, str] = field(default_factory=dict)
    captions: Mapping[str, str] = field(default_factory=dict)
    filename: str = ""

    def languages_for(self, post_languages: Sequence[str]) -> list[str]:
        """The languages this medium is part of."""
        return [self.language] if self.language else list(post_languages)


@dataclass(frozen=True)
class Rule:
    kind: str
    severity: str = Severity.BLOCK
    params: dict | None = None


@dataclass
class CheckResult:
    """One rule's verdict on one language (or on the whole post). `code` and `params` are the
    stable part (stored, sent by the API); `message` is rendered in the active language."""

    rule: str
    severity: str
    ok: bool
    code: str
    params: dict[str, Any] = field(default_factory=dict)
    language: str = ""
    field: str = "texts"

    @property
    def message(self) -> str:
        return messages.render(self.code, self.params)

    def as_data(self) -> dict:
        """What is stored on the post: no words, only code and parameters."""
        return {"rule": self.rule, "severity": self.severity, "ok": self.ok, "code": self.code,
                "params": dict(self.params), "language": self.language, "field": self.field}

    def as_dict(self) -> dict:
        """`as_data` plus the message in the active language (what a reader gets)."""
        return {**self.as_data(), "message": self.message}


@dataclass(frozen=True)
class Escalation:
    """Why a conversation reply goes to the official lane: a code, its parameters, and the
    reason the administrator gave the rule (free text, shown as given)."""

    code: str
    params: dict[str, Any]

    @property
    def message(self) -> str:
        return messages.render(self.code, self.params)

    def as_data(self) -> dict:
        return {"code": self.code, "params": dict(self.params)}


@dataclass(frozen=True)
class Canonical:
    raw: str
    #: links and their hosts are read here (workflows.canonical.clean)
    clean: str
    #: personal data and escalation patterns are matched here (workflows.canonical.skeleton)
    skeleton: str
    #: terms are matched here: the skeleton with "l" and "i" merged, because a vertical stroke
    #: (Cyrillic Ӏ/ӏ, Greek Ι, …) reads as either, depending on the letters around it
    words: str
    #: the words a reader may see, each a list of skeleton words: as typed, and in the order a
    #: right-to-left override shows them with letters spelled apart joined and digits/symbols
    #: read as letters (workflows.canonical.disguised_tokens); terms are matched in each
    token_views: tuple[tuple[str, ...], ...] = ()


def word_form(text: str) -> str:
    return skeleton(text).replace("l", "i")


def canonical(text: str) -> Canonical:
    text = text or ""
    sk = skeleton(text)
    visual = visual_order(text)
    vsk = sk if visual == text else skeleton(visual)
    views = [tuple(word_tokens(sk))]
    if visual != text:
        views.append(tuple(word_tokens(vsk)))
    disguised = tuple(disguised_tokens(vsk))
    if disguised not in views:
        views.append(disguised)
    return Canonical(raw=text, clean=clean(text), skeleton=sk, words=sk.replace("l", "i"), token_views=tuple(views))


@dataclass(frozen=True)
class Context:
    """Everything a rule may look at. Pure data: rules never query anything."""

    texts: dict[str, Canonical]
    channels: Sequence[ChannelInfo] = ()
    required_languages: Sequence[str] = ()
    reply_language: str | None = None
    acknowledged: bool = False
    translation_step: bool = False
    is_reply: bool = False
    media: tuple[MediaInfo, ...] = ()


# --- shared matchers ----------------------------------------------------------------------

@lru_cache(maxsize=1)
def _detector() -> Any:
    from lingua import Language, LanguageDetectorBuilder

    return (
        LanguageDetectorBuilder.from_languages(Language.ENGLISH, Language.FRENCH)
        .with_minimum_relative_distance(0.05)
        .build()
    )


def detect_language(text: str) -> str | None:
    """'en' or 'fr' for the text's language, or None when it is too short or ambiguous."""
    text = linkx.without_links(clean(text or "")).strip()
    if len(text) < 3:
        return None
    from lingua import Language

    found = _detector().detect_language_of(text)
    return {Language.ENGLISH: "en", Language.FRENCH: "fr"}.get(found)


def find_links(text: str) -> list[str]:
    """Links in `text`'s clean form (NFKC, no invisible characters, casefolded), as written."""
    return [link.text for link in linkx.find_links(clean(text or ""))]


def link_host(url: str) -> str:
    """The host a browser connects to for `url` (workflows.links.host_of)."""
    return linkx.host_of(url)


def link_allowed(link: linkx.Link, allowed: Iterable[str]) -> bool:
    """A web link (http, https or no scheme) to an allowed domain; `mailto:` to an allowed
    domain. Every other scheme (ftp, data, javascript, file…) is never allowed."""
    if not (link.web or link.scheme == "mailto"):
        return False
    return bool(link.host) and host_in(link.host, allowed)


def text_links(text: Canonical) -> list[linkx.Link]:
    """What the link rules check in `text` (workflows.links.links_to_check)."""
    return linkx.links_to_check(text.raw, text.clean)


def host_in(host: str, domains: Iterable[str]) -> bool:
    for domain in domains:
        d = clean(domain).strip().lstrip(".")
        if d and (host == d or host.endswith("." + d)):
            return True
    return False


def _terms_for(params: dict, language: str) -> list[str]:
    terms = params.get("terms", [])
    if isinstance(terms, dict):
        return list(terms.get(language, [])) + list(terms.get("*", []))
    return list(terms)


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def contains_term(haystack: str, term: str) -> bool:
    """`term` (already canonical) occurs in `haystack` (canonical) as a whole word. Linear:
    str.find per occurrence, the boundary check looks at one character each side."""
    if not term:
        return False
    start = 0
    while True:
        i = haystack.find(term, start)
        if i < 0:
            return False
        j = i + len(term)
        before_ok = i == 0 or not _is_word(haystack[i - 1]) or not _is_word(term[0])
        after_ok = j == len(haystack) or not _is_word(haystack[j]) or not _is_word(term[-1])
        if before_ok and after_ok:
            return True
        start = i + 1


#: Snowball stemmers by language (a text in another language is stemmed in both).
STEM_LANGUAGES = {"en": "english", "fr": "french"}
#: A longer word that starts with a whole term of at least this many letters is a derived form
#: of it ("ministerial", "electioneering", "scandaleux"); shorter terms ("con", "cul", "damn")
#: match only their inflections, or "culture" and "contact" would be flagged.
DERIVED_MIN = 5
#: Longest word stemmed (the longest words of English and French have fewer than 40 letters).
STEM_MAX = 64
#: A term list entry starting with this asks for the exact word: no inflection, no derived form.
EXACT_PREFIX = "="


@lru_cache(maxsize=4)
def _stemmer(language: str) -> Any:
    import snowballstemmer

    return snowballstemmer.stemmer(STEM_LANGUAGES[language])


@lru_cache(maxsize=65536)
def _stem(language: str, word: str) -> str:
    """Snowball stem of a skeleton word, with l and i merged afterwards (see Canonical.words).
    A "word" longer than STEM_MAX characters is no word of either language: kept as it is
    (stemming a 20,000-letter run would cost time for nothing)."""
    if len(word) > STEM_MAX:
        return word.replace("l", "i")
    return _stemmer(language).stemWord(word).replace("l", "i")


def _stem_languages(language: str) -> tuple[str, ...]:
    return (language,) if language in STEM_LANGUAGES else tuple(STEM_LANGUAGES)


@dataclass(frozen=True)
class _Term:
    given: str
    words: tuple[str, ...]  # skeleton words, l and i merged
    exact: bool
    stems: tuple[tuple[str, ...], ...]  # per language, the stem of each word


def _term(given: str, languages: tuple[str, ...]) -> _Term | None:
    raw = given.strip()
    exact = raw.startswith(EXACT_PREFIX)
    raw = raw[len(EXACT_PREFIX):].strip() if exact else raw
    sk = skeleton(raw)
    words = tuple(w.replace("l", "i") for w in word_tokens(sk))
    if not words:
        return None
    stems = tuple(tuple(_stem(lang, w) for w in word_tokens(sk)) for lang in languages)
    return _Term(given=given, words=words, exact=exact, stems=stems)


def _word_matches(token: str, token_stems: tuple[str, ...], term: _Term, i: int, last: bool) -> bool:
    word = term.words[i]
    if token == word:
        return True
    if term.exact:
        return False
    if any(token_stems[k] == term.stems[k][i] for k in range(len(token_stems))):
        return True
    return last and len(word) >= DERIVED_MIN and token.startswith(word)


def _in_view(tokens: tuple[str, ...], stems: list[tuple[str, ...]], term: _Term) -> bool:
    n = len(term.words)
    for start in range(len(tokens) - n + 1):
        if all(_word_matches(tokens[start + i], stems[start + i], term, i, i == n - 1) for i in range(n)):
            return True
    return False


@dataclass
class _View:
    """One token view of a text, indexed for single-word terms: its distinct words and, per
    stemming language, their distinct stems (each distinct word stemmed once)."""

    tokens: tuple[str, ...]  # l and i merged
    skeleton_tokens: tuple[str, ...]
    words: frozenset[str]
    stems: tuple[frozenset[str], ...]

    @classmethod
    def of(cls, tokens: tuple[str, ...], languages: tuple[str, ...]) -> _View:
        distinct = set(tokens)
        return cls(tokens=tuple(t.replace("l", "i") for t in tokens), skeleton_tokens=tokens,
                   words=frozenset(t.replace("l", "i") for t in distinct),
                   stems=tuple(frozenset(_stem(lang, t) for t in distinct) for lang in languages))

    def has(self, term: _Term, languages: tuple[str, ...]) -> bool:
        if len(term.words) > 1:
            stems = [tuple(_stem(lang, t) for lang in languages) for t in self.skeleton_tokens]
            return _in_view(self.tokens, stems, term)
        word = term.words[0]
        if word in self.words:
            return True
        if term.exact:
            return False
        if any(term.stems[k][0] in self.stems[k] for k in range(len(languages))):
            return True
        return len(word) >= DERIVED_MIN and any(t.startswith(word) for t in self.words)


def terms_found(text: Canonical, terms: Iterable[str], language: str = "") -> list[str]:
    """The terms `text` uses, in the order given. A term matches a word of any of the text's
    views (Canonical.token_views) when the word is the term, has the same Snowball stem in the
    text's language ("elections", "élections" for "election"; "ministers" for "minister"), or
    starts with a term of at least DERIVED_MIN letters ("ministerial"). A term of several words
    matches consecutive words (inflection or derivation on the last). "=word" asks for the
    exact word. A term with other characters ("f***", "#tag") is matched as written, as a
    whole word. Linear in the text: each word is stemmed once (cached), each term compared."""
    languages = _stem_languages(language)
    found: list[str] = []
    prepared = []
    for given in terms:
        form = word_form(given.strip().removeprefix(EXACT_PREFIX)).strip()
        if form and not form.replace(" ", "").replace("-", "").replace("'", "").isalnum():
            if contains_term(text.words, form):
                found.append(given)
            continue
        term = _term(given, languages)
        if term is not None:
            prepared.append(term)
    if not prepared:
        return [g.strip().removeprefix(EXACT_PREFIX).strip() for g in found]
    views = [_View.of(tokens, languages) for tokens in text.token_views]
    hits = {t.given for t in prepared if any(view.has(t, languages) for view in views)}
    # Reported as the list has them, without the exact-word mark.
    return [g.strip().removeprefix(EXACT_PREFIX).strip() for g in terms if g in hits or g in found]


#: Kinds of personal data, in the order they are reported.
PERSONAL_DATA_KINDS = ("email", "phone", "sin", "postal_code")


def _spelled_email(s: str) -> bool:
    return any(linkx.is_tld(m.group(1)) for m in EMAIL_SPELLED_RE.finditer(s))


def spelled_numbers(s: str) -> list[str]:
    """The digit strings of `s` (a skeleton) written partly in words or with letters for digits:
    runs of number tokens ("six one three…", "six un trois…", "613-555-O199"), each token a
    number word, digits, or digits with O/l/I for 0/1, separated by at most three spaces or
    punctuation marks. Only runs that needed such a reading are returned (plain digits are the
    plain patterns' business). Linear: one pass over the tokens."""
    runs: list[str] = []
    digits: list[str] = []
    read = False
    prev_end = -1
    for m in _NUMBER_TOKEN_RE.finditer(s):
        tok = m.group()
        if tok in NUMBER_WORDS:
            value, spelled = NUMBER_WORDS[tok], True
        elif tok.isdigit():
            value, spelled = tok, False
        else:
            value, spelled = "", False
        gap = s[prev_end:m.start()] if prev_end >= 0 else ""
        joined = bool(digits) and len(gap) <= 3 and not any(c.isalnum() for c in gap)
        if not value and tok.translate(_DIGIT_LOOKALIKES).isdigit() and (joined or any(c.isdigit() for c in tok)):
            # "O199", "l0l", or "OOOO" right after other digits ("555-OOOO")
            value, spelled = tok.translate(_DIGIT_LOOKALIKES), True
        if value and (joined or not digits):
            digits.append(value)
            read = read or spelled
        else:
            if read:
                runs.append("".join(digits))
            digits, read = ([value], spelled) if value else ([], False)
        prev_end = m.end()
    if read:
        runs.append("".join(digits))
    return runs


def personal_data_found(text: Canonical, *, postal_codes: bool) -> list[str]:
    s = text.skeleton
    found = []
    if EMAIL_RE.search(s) or _spelled_email(s):
        found.append("email")
    spelled = spelled_numbers(s)
    phone = PHONE_RE.search(s) is not None or any(PHONE_RE.search(run) for run in spelled)
    if phone:
        found.append("phone")
    if not phone and (SIN_RE.search(EMAIL_RE.sub(" ", s)) or any(SIN_RE.search(run) for run in spelled)):
        found.append("sin")
    if postal_codes and POSTAL_RE.search(s):
        found.append("postal_code")
    return found


def _texts_field(lang: str) -> str:
    return f"texts.{lang}"


# --- guideline rules: one function per kind -----------------------------------------------

RuleFn = Callable[[Rule, Context], list[CheckResult]]


def check_length(rule: Rule, ctx: Context) -> list[CheckResult]:
    """The raw text as each target channel's platform counts it, against that channel's limit
    (the rule's own `max`, if any, in code points); the worst excess is reported."""
    params = rule.params or {}
    out = []
    for lang, text in ctx.texts.items():
        measured = [(c.count(text.raw), c.char_limit) for c in ctx.channels if lang in c.languages]
        if params.get("max"):
            measured.append((len(text.raw), int(params["max"])))
        n, limit = max(measured, key=lambda m: m[0] - m[1]) if measured else (len(text.raw), None)
        if limit is not None and n > limit:
            out.append(CheckResult(rule.kind, rule.severity, False, "length.over",
                                   {"language": lang, "length": n, "limit": limit}, lang, _texts_field(lang)))
        else:
            out.append(CheckResult(rule.kind, rule.severity, True, "length.ok", {"language": lang}, lang,
                                   _texts_field(lang)))
    return out


def check_personal_data(rule: Rule, ctx: Context) -> list[CheckResult]:
    postal = bool((rule.params or {}).get("postal_codes"))
    out = []
    for lang, text in ctx.texts.items():
        found = personal_data_found(text, postal_codes=postal)
        for kind in found:
            out.append(CheckResult(rule.kind, rule.severity, False, f"personal_data.{kind}", {"language": lang},
                                   lang, _texts_field(lang)))
        if not found:
            out.append(CheckResult(rule.kind, rule.severity, True, "personal_data.ok", {"language": lang}, lang,
                                   _texts_field(lang)))
    return out


def check_forbidden_terms(rule: Rule, ctx: Context) -> list[CheckResult]:
    params = rule.params or {}
    out = []
    for lang, text in ctx.texts.items():
        hits = terms_found(text, _terms_for(params, lang), lang)
        if hits:
            out.append(CheckResult(rule.kind, rule.severity, False, "forbidden_terms.found",
                                   {"language": lang, "terms": hits}, lang, _texts_field(lang)))
        else:
            out.append(CheckResult(rule.kind, rule.severity, True, "forbidden_terms.ok", {"language": lang}, lang,
                                   _texts_field(lang)))
    return out


def check_link_domains(rule: Rule, ctx: Context) -> list[CheckResult]:
    allowed = (rule.params or {}).get("allowed", [])
    out = []
    for lang, text in ctx.texts.items():
        bad = [link.text for link in text_links(text) if not link_allowed(link, allowed)]
        if bad:
            out.append(CheckResult(rule.kind, rule.severity, False, "link_domains.not_allowed",
                                   {"language": lang, "links": bad}, lang, _texts_field(lang)))
        else:
            out.append(CheckResult(rule.kind, rule.severity, True, "link_domains.ok", {"language": lang}, lang,
                                   _texts_field(lang)))
    return out


def check_languages_present(rule: Rule, ctx: Context) -> list[CheckResult]:
    params = rule.params or {}
    out = []
    missing = [lang for lang in ctx.required_languages if not ctx.texts.get(lang, canonical("")).raw.strip()]
    if missing and ctx.translation_step:
        # A translation step will supply them: a warning until then, not a block.
        out.append(CheckResult(rule.kind, Severity.WARN, False, "languages_present.missing_until_translation",
                               {"languages": missing}, "", "texts"))
    elif missing:
        out.append(CheckResult(rule.kind, rule.severity, False, "languages_present.missing",
                               {"languages": missing}, "", "texts"))
    else:
        out.append(CheckResult(rule.kind, rule.severity, True, "languages_present.ok", {}, "", "texts"))
    covered = {lang for c in ctx.channels for lang in c.languages}
    uncovered = [lang for lang in ctx.required_languages if lang not in covered]
    # A reply is published where the citizen wrote; a post must reach every language.
    if ctx.channels and uncovered and not ctx.is_reply and params.get("channels", True):
        out.append(CheckResult(rule.kind, rule.severity, False, "languages_present.no_channel",
                               {"languages": uncovered}, "", "channels"))
    return out


def check_reply_language(rule: Rule, ctx: Context) -> list[CheckResult]:
    lang = ctx.reply_language
    if not lang:
        return []
    body = ctx.texts.get(lang, canonical("")).raw
    where = _texts_field(lang)
    if not any(t.raw.strip() for t in ctx.texts.values()):
        return []  # nothing written yet: no language to judge (issue 21: an empty box read as "wrong language")
    if not body.strip():
        return [CheckResult(rule.kind, rule.severity, False, "reply_language.missing", {"language": lang}, lang, where)]
    detected = detect_language(body)
    if detected and detected != lang:
        return [CheckResult(rule.kind, rule.severity, False, "reply_language.mismatch",
                            {"language": lang, "detected": detected}, lang, where)]
    return [CheckResult(rule.kind, rule.severity, True, "reply_language.ok", {"language": lang}, lang, where)]


def check_four_rules(rule: Rule, ctx: Context) -> list[CheckResult]:
    code = "four_rules.ok" if ctx.acknowledged else "four_rules.missing"
    return [CheckResult(rule.kind, rule.severity, ctx.acknowledged, code, {}, "", "rules_acknowledged")]


# --- accessibility pre-screen (issue 22, docs/media.md) ------------------------------------

def post_languages(ctx: Context) -> list[str]:
    """The post's languages: the required ones, those written, and a reply's language."""
    langs: list[str] = []
    for lang in [*ctx.required_languages, *(k for k, t in ctx.texts.items() if t.raw.strip()),
                 *([ctx.reply_language] if ctx.reply_language else [])]:
        if lang not in langs:
            langs.append(lang)
    return langs


def _awaiting_translation(ctx: Context, lang: str) -> bool:
    """`lang`'s text is not written yet and the lane's translation step will write it (with the
    media's texts in that language): as languages_present, a warning until then."""
    return ctx.translation_step and not ctx.texts.get(lang, canonical("")).raw.strip()


def _media_field(index: int, what: str, lang: str) -> str:
    return f"media.{index}.{what}_{lang}"


def _advice(rule: Rule) -> str:
    """Findings that are advice (wording, language detected): a warning at most."""
    return Severity.WARN if rule.severity == Severity.BLOCK else rule.severity


def _worst(ctx: Context, lang: str, measure: Callable[[MediaLimits], tuple[int, int | None]],
           ) -> tuple[int, int, str] | None:
    """The worst excess over the limits of the channels that publish `lang`: (length, limit,
    channel slug), or None when every channel takes it."""
    worst = None
    for channel in ctx.channels:
        if lang not in channel.languages or channel.media is None:
            continue
        n, limit = measure(channel.media)
        if limit is not None and n > limit and (worst is None or n - limit > worst[0] - worst[1]):
            worst = (n, limit, channel.slug)
    return worst


def check_alt_text(rule: Rule, ctx: Context) -> list[CheckResult]:
    """Every image (GIF included), in each language it is part of, has alternative text
    (`alt_text.missing`; `alt_text.missing_until_translation`, a warning, while the translation
    step has that language's text to write), within each target platform's limit
    (`alt_text.too_long`), not a file name (`alt_text.file_name`); and, as advice (a warning
    at most), written in its language (`alt_text.wrong_language`, judged from
    `params.detect_min_words` words, 3 by default) and not opening with "Image of…"/"Photo
    de…" (`alt_text.redundant_prefix`). A video's alternative text is optional; when written,
    it must fit the platform's limit."""
    params = rule.params or {}
    min_words = int(params.get("detect_min_words", 3))
    langs = post_languages(ctx)
    out: list[CheckResult] = []
    for index, medium in enumerate(ctx.media):
        number = index + 1
        for lang in medium.languages_for(langs):
            where = _media_field(index, "alt_text", lang)
            base = {"language": lang, "number": number}
            alt = (medium.alt.get(lang) or "").strip()
            if medium.kind != "image" and not alt:
                continue
            if not alt:
                if _awaiting_translation(ctx, lang):
                    out.append(CheckResult(rule.kind, Severity.WARN, False, "alt_text.missing_until_translation",
                                           base, lang, where))
                else:
                    out.append(CheckResult(rule.kind, rule.severity, False, "alt_text.missing", base, lang, where))
                continue
            found = []
            over = _worst(ctx, lang, lambda m: (m.alt_length(alt), m.alt_limit(medium.kind)))  # noqa: B023
            if over:
                found.append(CheckResult(rule.kind, rule.severity, False, "alt_text.too_long",
                                         {**base, "length": over[0], "limit": over[1], "channel": over[2]},
                                         lang, where))
            if medium.kind == "image":
                if a11y.is_file_name(alt, medium.filename):
                    found.append(CheckResult(rule.kind, rule.severity, False, "alt_text.file_name", base, lang,
                                             where))
                else:
                    prefix = a11y.redundant_prefix(alt)
                    if prefix:
                        found.append(CheckResult(rule.kind, _advice(rule), False, "alt_text.redundant_prefix",
                                                 {**base, "prefix": prefix}, lang, where))
                    detected = detect_language(alt) if a11y.letter_words(alt) >= min_words else None
                    if detected and detected != lang:
                        found.append(CheckResult(rule.kind, _advice(rule), False, "alt_text.wrong_language",
                                                 {**base, "detected": detected}, lang, where))
            out.extend(found or [CheckResult(rule.kind, rule.severity, True, "alt_text.ok", base, lang, where)])
    return out


def check_captions(rule: Rule, ctx: Context) -> list[CheckResult]:
    """Every video, in each language it is part of, has captions (`captions.missing`;
    `captions.missing_until_translation` while the translation step has that language to
    write) that parse as WebVTT (`captions.invalid`), with at least one cue with text
    (`captions.empty`), every cue ending after it starts (`captions.timing`), and within the
    target platforms' size for a captions file (`captions.too_large`)."""
    langs = post_languages(ctx)
    out: list[CheckResult] = []
    for index, medium in enumerate(ctx.media):
        if medium.kind != "video":
            continue
        number = index + 1
        for lang in medium.languages_for(langs):
            where = _media_field(index, "captions", lang)
            base = {"language": lang, "number": number}
            vtt = medium.captions.get(lang) or ""
            if not vtt.strip():
                if _awaiting_translation(ctx, lang):
                    out.append(CheckResult(rule.kind, Severity.WARN, False, "captions.missing_until_translation",
                                           base, lang, where))
                else:
                    out.append(CheckResult(rule.kind, rule.severity, False, "captions.missing", base, lang, where))
                continue
            parsed = a11y.check_webvtt(vtt)
            if parsed.outcome == "invalid":
                out.append(CheckResult(rule.kind, rule.severity, False, "captions.invalid", base, lang, where))
                continue
            if parsed.outcome == "empty":
                out.append(CheckResult(rule.kind, rule.severity, False, "captions.empty", base, lang, where))
                continue
            found = []
            if parsed.outcome == "timing":
                found.append(CheckResult(rule.kind, rule.severity, False, "captions.timing",
                                         {**base, "cue": parsed.bad_cue}, lang, where))
            size = len(vtt.encode("utf-8"))
            over = _worst(ctx, lang, lambda m: (size, m.captions_bytes))  # noqa: B023
            if over:
                found.append(CheckResult(rule.kind, rule.severity, False, "captions.too_large",
                                         {**base, "size": over[0], "limit": over[1], "channel": over[2]},
                                         lang, where))
            out.extend(found or [CheckResult(rule.kind, rule.severity, True, "captions.ok",
                                             {**base, "cues": parsed.cues}, lang, where)])
    return out


#: Reading level defaults: at most grade 8 (Quebec's Secondary 2), scored from 30 words.
READING_MAX_GRADE = 8
READING_MIN_WORDS = 30


def check_reading_level(rule: Rule, ctx: Context) -> list[CheckResult]:
    """Each language's text scored with textstat (workflows.accessibility.readability: English
    Flesch–Kincaid grade, French Kandel–Moles reading ease as a grade). Above
    `params.max_grade` (8) → `reading_level.too_hard`; the grade is in the params of the
    passing result too (`reading_level.ok`), so the page shows it. A text of fewer than
    `params.min_words` words (30) is not scored (`reading_level.too_short`, passing): one long
    word would swing its grade by several years. With `params.alt_text` (on by default), an
    image's alternative text of at least `min_words` words is scored too
    (`reading_level.alt_too_hard`; a shorter one gives no result)."""
    params = rule.params or {}
    max_grade = float(params.get("max_grade", READING_MAX_GRADE))
    min_words = int(params.get("min_words", READING_MIN_WORDS))
    shown_max = int(max_grade) if max_grade == int(max_grade) else max_grade
    out: list[CheckResult] = []
    for lang, text in ctx.texts.items():
        if not text.raw.strip():
            continue
        where = _texts_field(lang)
        score = a11y.readability(text.raw, lang)
        if score.words < min_words:
            out.append(CheckResult(rule.kind, rule.severity, True, "reading_level.too_short",
                                   {"language": lang, "words": score.words, "min_words": min_words}, lang, where))
            continue
        data = {"language": lang, "grade": score.grade, "max": shown_max, "formula": score.formula,
                "words": score.words}
        if score.ease is not None:
            data["ease"] = score.ease
        bad = a11y.grade_exceeds(score.grade, max_grade)
        out.append(CheckResult(rule.kind, rule.severity, not bad,
                               "reading_level.too_hard" if bad else "reading_level.ok", data, lang, where))
    if params.get("alt_text", True):
        langs = post_languages(ctx)
        for index, medium in enumerate(ctx.media):
            for lang in medium.languages_for(langs):
                alt = (medium.alt.get(lang) or "").strip()
                if not alt:
                    continue
                score = a11y.readability(alt, lang)
                if score.words >= min_words and a11y.grade_exceeds(score.grade, max_grade):
                    out.append(CheckResult(rule.kind, rule.severity, False, "reading_level.alt_too_hard",
                                           {"language": lang, "number": index + 1, "grade": score.grade,
                                            "max": shown_max, "formula": score.formula},
                                           lang, _media_field(index, "alt_text", lang)))
    return out


#: A hashtag whose letters are all one case is flagged from this many letters on (a run longer
#: than any common short word: #budget and #Canada pass, #mentalhealth does not).
HASHTAG_MAX_LETTERS = 10


def check_hashtags(rule: Rule, ctx: Context) -> list[CheckResult]:
    """Hashtags of several words capitalize each word (#OpenGovernment), so screen readers read
    the words and everyone sees them (workflows.accessibility.not_camel_case: a run of more
    than `params.max_letters` (10) letters all in one case is flagged; `params.allowed` lists
    tags accepted as written, without "#", whatever their case)."""
    params = rule.params or {}
    max_letters = int(params.get("max_letters", HASHTAG_MAX_LETTERS))
    allowed = {str(t).lstrip("#").casefold() for t in params.get("allowed", []) or []}
    out = []
    for lang, text in ctx.texts.items():
        if not text.raw.strip():
            continue
        bad: list[str] = []
        for tag in a11y.hashtags(text.raw):
            if tag.casefold() not in allowed and a11y.not_camel_case(tag, max_letters=max_letters):
                if "#" + tag not in bad:
                    bad.append("#" + tag)
        if bad:
            out.append(CheckResult(rule.kind, rule.severity, False, "hashtags.not_camel_case",
                                   {"language": lang, "tags": bad}, lang, _texts_field(lang)))
        else:
            out.append(CheckResult(rule.kind, rule.severity, True, "hashtags.ok", {"language": lang}, lang,
                                   _texts_field(lang)))
    return out


EMOJI_MAX = 3


def check_emoji(rule: Rule, ctx: Context) -> list[CheckResult]:
    """Emoji used sparingly: more than `params.max` (3) in a text → `emoji.too_many`; an emoji
    followed by words in its sentence (in place of a word, or mid-sentence: screen readers read
    its name there) → `emoji.in_text` (off with `params.position: false`); emoji one after
    another → `emoji.consecutive` (off with `params.consecutive: false`)."""
    params = rule.params or {}
    limit = int(params.get("max", EMOJI_MAX))
    out = []
    for lang, text in ctx.texts.items():
        if not text.raw.strip():
            continue
        use = a11y.emoji_use(text.raw)
        where = _texts_field(lang)
        found = []
        if use.count > limit:
            found.append(CheckResult(rule.kind, rule.severity, False, "emoji.too_many",
                                     {"language": lang, "count": use.count, "max": limit}, lang, where))
        if use.in_text and params.get("position", True):
            found.append(CheckResult(rule.kind, rule.severity, False, "emoji.in_text",
                                     {"language": lang, "emoji": list(use.in_text)}, lang, where))
        if use.consecutive and params.get("consecutive", True):
            found.append(CheckResult(rule.kind, rule.severity, False, "emoji.consecutive",
                                     {"language": lang, "emoji": list(use.consecutive)}, lang, where))
        out.extend(found or [CheckResult(rule.kind, rule.severity, True, "emoji.ok",
                                         {"language": lang, "count": use.count}, lang, where)])
    return out


def check_link_text(rule: Rule, ctx: Context) -> list[CheckResult]:
    """Words right before a link say where it goes: "click here", "read more", "cliquez ici",
    "en savoir plus"… (workflows.accessibility.VAGUE_LINK_PHRASES, both languages, or the
    rule's `params.phrases`: a list, or per language {"en": [...], "fr": [...], "*": [...]})
    → `link_text.not_descriptive`."""
    params = rule.params or {}
    out = []
    for lang, text in ctx.texts.items():
        if not text.raw.strip():
            continue
        phrases = _terms_for({"terms": params["phrases"]}, lang) if "phrases" in params else None
        vague = a11y.vague_link_text(text.raw, phrases)
        if vague:
            out.append(CheckResult(rule.kind, rule.severity, False, "link_text.not_descriptive",
                                   {"language": lang, "phrases": vague}, lang, _texts_field(lang)))
        else:
            out.append(CheckResult(rule.kind, rule.severity, True, "link_text.ok", {"language": lang}, lang,
                                   _texts_field(lang)))
    return out


RULES: dict[str, RuleFn] = {
    RuleKind.LENGTH: check_length,
    RuleKind.PERSONAL_DATA: check_personal_data,
    RuleKind.FORBIDDEN_TERMS: check_forbidden_terms,
    RuleKind.LINK_DOMAINS: check_link_domains,
    RuleKind.LANGUAGES_PRESENT: check_languages_present,
    RuleKind.REPLY_LANGUAGE: check_reply_language,
    RuleKind.FOUR_RULES: check_four_rules,
    RuleKind.ALT_TEXT: check_alt_text,
    RuleKind.CAPTIONS: check_captions,
    RuleKind.READING_LEVEL: check_reading_level,
    RuleKind.HASHTAGS: check_hashtags,
    RuleKind.EMOJI: check_emoji,
    RuleKind.LINK_TEXT: check_link_text,
}

#: Rules about the author's acknowledgement, not about the text (not re-run at approval).
NOT_ABOUT_TEXT = frozenset({RuleKind.FOUR_RULES})
#: Rules about what a text says: enforced on every write of a text (create, edit, translate),
#: whereas completeness rules (languages present, reply language, acknowledgement, alt text and
#: captions: the translation step writes the French ones) wait for submit. The accessibility
#: advice (reading level, hashtags, emoji, link text) is not among them either: shown on every
#: write, enforced at submit and at each approval when a lane makes it blocking, so a draft can
#: always be saved.
CONTENT_RULES = frozenset({RuleKind.LENGTH, RuleKind.PERSONAL_DATA, RuleKind.FORBIDDEN_TERMS, RuleKind.LINK_DOMAINS})


def evaluate(
    *,
    rules: Sequence[Rule],
    texts: dict[str, str],
    channels: Sequence[ChannelInfo],
    required_languages: Sequence[str],
    reply_language: str | None = None,
    acknowledged: bool = False,
    translation_step: bool = False,
    is_reply: bool = False,
    media: Sequence[MediaInfo] = (),
) -> list[CheckResult]:
    """Run every rule over every language's text (and the post's media). Order follows `rules`.

    `texts`: language → text as written. `channels`: the target channels (their languages,
    length count and media limits). `required_languages`: what the lane requires.
    `reply_language`: a reply's language (the citizen's). `translation_step`: the lane has one
    (a missing language, and its media's alt text and captions, is a warning until then).
    `media`: the post's media in order (MediaInfo, plain data: kind, language, alt text and
    captions per language, the uploaded file's name)."""
    ctx = Context(
        texts={lang: canonical(body) for lang, body in texts.items()},
        channels=tuple(channels), required_languages=tuple(required_languages),
        reply_language=reply_language, acknowledged=acknowledged,
        translation_step=translation_step, is_reply=is_reply, media=tuple(media),
    )
    results: list[CheckResult] = []
    for rule in rules:
        fn = RULES.get(rule.kind)
        if fn is not None:
            results.extend(fn(rule, ctx))
    return results


#: The settings (`params`) each accessibility rule takes: name → ("int"|"number", min, max),
#: ("bool",) or ("words",) (a list of words, or language → list). Other kinds keep theirs.
PARAM_SPECS: dict[str, dict[str, tuple]] = {
    RuleKind.ALT_TEXT: {"detect_min_words": ("int", 1, 50)},
    RuleKind.CAPTIONS: {},
    RuleKind.READING_LEVEL: {"max_grade": ("number", 1, 18), "min_words": ("int", 1, 1000), "alt_text": ("bool",)},
    RuleKind.HASHTAGS: {"max_letters": ("int", 1, 100), "allowed": ("words",)},
    RuleKind.EMOJI: {"max": ("int", 0, 100), "position": ("bool",), "consecutive": ("bool",)},
    RuleKind.LINK_TEXT: {"phrases": ("words",)},
}
#: A list of words in a rule's settings: at most this many, each at most WORD_MAX characters.
WORDS_MAX, WORD_MAX = 500, 200


def _words_ok(value: Any) -> bool:
    lists = list(value.values()) if isinstance(value, dict) else [value]
    if isinstance(value, dict) and not set(value) <= {"en", "fr", "*"}:
        return False
    return all(isinstance(v, list) and len(v) <= WORDS_MAX
               and all(isinstance(w, str) and 0 < len(w) <= WORD_MAX for w in v) for v in lists)


def params_problems(kind: str, params: Any) -> list[tuple[str, dict[str, Any]]]:
    """What is wrong with a lane rule's settings, as (code, params) pairs (empty: fine). Every
    kind's settings are an object; an accessibility rule's are checked against PARAM_SPECS."""
    if params in (None, ""):
        return []
    if not isinstance(params, dict):
        return [("rule_params.not_object", {})]
    spec = PARAM_SPECS.get(kind)
    if spec is None:
        return []
    problems: list[tuple[str, dict[str, Any]]] = []
    for key, value in params.items():
        want = spec.get(key)
        if want is None:
            problems.append(("rule_params.unknown", {"key": key}))
        elif want[0] in ("int", "number"):
            numeric = isinstance(value, int) or (want[0] == "number" and isinstance(value, float))
            if isinstance(value, bool) or not numeric or not want[1] <= value <= want[2]:
                problems.append(("rule_params.not_number", {"key": key, "min": want[1], "max": want[2]}))
        elif want[0] == "bool" and not isinstance(value, bool):
            problems.append(("rule_params.not_boolean", {"key": key}))
        elif want[0] == "words" and not _words_ok(value):
            problems.append(("rule_params.not_list", {"key": key}))
    return problems


def blocking(results: Iterable[CheckResult]) -> list[CheckResult]:
    return [r for r in results if not r.ok and r.severity == Severity.BLOCK]


# --- escalation rules: one function per kind ----------------------------------------------

EscalationFn = Callable[[dict, str, Canonical], "tuple[str, dict] | None"]


def escalate_terms(params: dict, lang: str, text: Canonical) -> tuple[str, dict] | None:
    hits = terms_found(text, _terms_for(params, lang), lang)
    return ("escalation.terms", {"terms": hits}) if hits else None


def compile_pattern(pattern: str) -> Any:
    """An administrator's escalation pattern, compiled by RE2 (linear time, no back-references
    or look-around), case-insensitive. None when RE2 refuses it."""
    try:
        return _re2("(?i)" + pattern)
    except re2.error:
        return None


@lru_cache(maxsize=256)
def _pattern(pattern: str) -> Any:
    return compile_pattern(pattern)


def escalate_regex(params: dict, lang: str, text: Canonical) -> tuple[str, dict] | None:
    pattern = params.get("pattern", "")
    compiled = _pattern(pattern) if pattern else None
    if compiled is None:
        return None
    m = compiled.search(text.skeleton) or compiled.search(text.clean)
    return ("escalation.regex", {"match": m.group(0)[:200]}) if m else None


def escalate_link_domain(params: dict, lang: str, text: Canonical) -> tuple[str, dict] | None:
    domains = params.get("domains", [])
    # Either form may name a listed domain: the clean host, or its look-alike-folded skeleton.
    hosts = [link.text for link in text_links(text)
             if host_in(link.host, domains) or host_in(skeleton(link.host), [skeleton(d) for d in domains])]
    return ("escalation.link_domain", {"links": hosts}) if hosts else None


def escalate_length_over(params: dict, lang: str, text: Canonical) -> tuple[str, dict] | None:
    limit = int(params.get("length", 0) or 0)
    n = len(text.raw)
    return ("escalation.length_over", {"length": n, "limit": limit}) if limit and n > limit else None


ESCALATIONS: dict[str, EscalationFn] = {
    EscalationKind.TERMS: escalate_terms,
    EscalationKind.REGEX: escalate_regex,
    EscalationKind.LINK_DOMAIN: escalate_link_domain,
    EscalationKind.LENGTH_OVER: escalate_length_over,
}


def escalation_for(*, rules: Sequence[Rule], texts: dict[str, str], reasons: Sequence[str] = (),
                   reasons_fr: Sequence[str] = ()) -> Escalation | None:
    """The first matching escalation rule's code and parameters, or None. `reasons[i]` is the
    reason an administrator gave rule i (free text, carried in the parameters as `reason`), and
    `reasons_fr[i]` its French (carried as `reason_fr` when given; messages.render picks the
    reader's)."""
    canon = {lang: canonical(body) for lang, body in texts.items()}
    for i, rule in enumerate(rules):
        fn = ESCALATIONS.get(rule.kind)
        if fn is None:
            continue
        for lang, text in canon.items():
            hit = fn(rule.params or {}, lang, text)
            if hit:
                code, params = hit
                given = reasons[i] if i < len(reasons) and reasons[i] else ""
                extra = {"reason_fr": reasons_fr[i]} if i < len(reasons_fr) and reasons_fr[i] else {}
                return Escalation(code=code, params={**params, "language": lang, "reason": given, **extra})
    return None


def escalation_reason(*, rules: Sequence[Rule], texts: dict[str, str], reasons: Sequence[str] = ()) -> str | None:
    """The escalation rendered in the active language (see escalation_for), or None."""
    found = escalation_for(rules=rules, texts=texts, reasons=reasons)
    return found.message if found else None
