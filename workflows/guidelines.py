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
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import re2

from . import messages
from .canonical import clean, skeleton
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
POSTAL_RE = _re2(r"(?:^|[^\pL\pN_])[abceghj-nprstvxy]\d[abceghj-nprstv-z][ -]?\d[abceghj-nprstv-z]\d(?:$|[^\pL\pN_])")
# Links, found on the clean text (no look-alike folding: a look-alike host is another host).
URL_RE = _re2(r"(?i)(?:https?://|www\.)[^\s<>()\"']+")

LANGUAGE_NAMES = {"en": "English", "fr": "French"}


@dataclass(frozen=True)
class ChannelInfo:
    slug: str
    char_limit: int
    languages: tuple[str, ...]


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


def word_form(text: str) -> str:
    return skeleton(text).replace("l", "i")


def canonical(text: str) -> Canonical:
    sk = skeleton(text or "")
    return Canonical(raw=text or "", clean=clean(text or ""), skeleton=sk, words=sk.replace("l", "i"))


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
    text = URL_RE.sub(" ", clean(text or "")).strip()
    if len(text) < 3:
        return None
    from lingua import Language

    found = _detector().detect_language_of(text)
    return {Language.ENGLISH: "en", Language.FRENCH: "fr"}.get(found)


def find_links(text: str) -> list[str]:
    """Links in `text`'s clean form (NFKC, no invisible characters, casefolded)."""
    return URL_RE.findall(clean(text or ""))


def link_host(url: str) -> str:
    if not url.lower().startswith(("http://", "https://")):
        url = "http://" + url
    try:
        return (urlsplit(url).hostname or "").lower().rstrip(".")
    except ValueError:
        return ""


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


def terms_found(text: Canonical, terms: Iterable[str]) -> list[str]:
    return [t for t in terms if contains_term(text.words, word_form(t).strip())]


#: Kinds of personal data, in the order they are reported.
PERSONAL_DATA_KINDS = ("email", "phone", "sin", "postal_code")


def personal_data_found(text: Canonical, *, postal_codes: bool) -> list[str]:
    s = text.skeleton
    found = []
    if EMAIL_RE.search(s):
        found.append("email")
    phone = PHONE_RE.search(s) is not None
    if phone:
        found.append("phone")
    if not phone and SIN_RE.search(EMAIL_RE.sub(" ", s)):
        found.append("sin")
    if postal_codes and POSTAL_RE.search(s):
        found.append("postal_code")
    return found


def _texts_field(lang: str) -> str:
    return f"texts.{lang}"


# --- guideline rules: one function per kind -----------------------------------------------

RuleFn = Callable[[Rule, Context], list[CheckResult]]


def check_length(rule: Rule, ctx: Context) -> list[CheckResult]:
    """Characters as published (the raw text), against each target channel's limit."""
    params = rule.params or {}
    out = []
    for lang, text in ctx.texts.items():
        limits = [c.char_limit for c in ctx.channels if lang in c.languages]
        if params.get("max"):
            limits.append(int(params["max"]))
        limit = min(limits) if limits else None
        n = len(text.raw)
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
        hits = terms_found(text, _terms_for(params, lang))
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
        bad = [u for u in URL_RE.findall(text.clean) if not host_in(link_host(u), allowed)]
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


RULES: dict[str, RuleFn] = {
    RuleKind.LENGTH: check_length,
    RuleKind.PERSONAL_DATA: check_personal_data,
    RuleKind.FORBIDDEN_TERMS: check_forbidden_terms,
    RuleKind.LINK_DOMAINS: check_link_domains,
    RuleKind.LANGUAGES_PRESENT: check_languages_present,
    RuleKind.REPLY_LANGUAGE: check_reply_language,
    RuleKind.FOUR_RULES: check_four_rules,
}

#: Rules about the author's acknowledgement, not about the text (not re-run at approval).
NOT_ABOUT_TEXT = frozenset({RuleKind.FOUR_RULES})
#: Rules about what a text says: enforced on every write of a text (create, edit, translate),
#: whereas completeness rules (languages present, reply language, acknowledgement) wait for
#: submit.
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
) -> list[CheckResult]:
    """Run every rule over every language's text. Order follows `rules`."""
    ctx = Context(
        texts={lang: canonical(body) for lang, body in texts.items()},
        channels=tuple(channels), required_languages=tuple(required_languages),
        reply_language=reply_language, acknowledged=acknowledged,
        translation_step=translation_step, is_reply=is_reply,
    )
    results: list[CheckResult] = []
    for rule in rules:
        fn = RULES.get(rule.kind)
        if fn is not None:
            results.extend(fn(rule, ctx))
    return results


def blocking(results: Iterable[CheckResult]) -> list[CheckResult]:
    return [r for r in results if not r.ok and r.severity == Severity.BLOCK]


# --- escalation rules: one function per kind ----------------------------------------------

EscalationFn = Callable[[dict, str, Canonical], "tuple[str, dict] | None"]


def escalate_terms(params: dict, lang: str, text: Canonical) -> tuple[str, dict] | None:
    hits = terms_found(text, _terms_for(params, lang))
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
    hosts = [u for u in URL_RE.findall(text.clean)
             if host_in(link_host(u), domains) or host_in(skeleton(link_host(u)), [skeleton(d) for d in domains])]
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


def escalation_for(*, rules: Sequence[Rule], texts: dict[str, str], reasons: Sequence[str] = ()) -> Escalation | None:
    """The first matching escalation rule's code and parameters, or None. `reasons[i]` is the
    reason an administrator gave rule i (free text, carried in the parameters as `reason`)."""
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
                return Escalation(code=code, params={**params, "language": lang, "reason": given})
    return None


def escalation_reason(*, rules: Sequence[Rule], texts: dict[str, str], reasons: Sequence[str] = ()) -> str | None:
    """The escalation rendered in the active language (see escalation_for), or None."""
    found = escalation_for(rules=rules, texts=texts, reasons=reasons)
    return found.message if found else None
