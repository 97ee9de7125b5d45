"""The pre-screen: guideline and escalation rules as pure functions over text.

Nothing here touches the database; services pass in the rules and the texts."""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from urllib.parse import urlsplit

from .constants import EscalationKind, RuleKind, Severity

EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
PHONE_RE = re.compile(r"(?<![\d-])(?:\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}(?![\d-])")
SIN_RE = re.compile(r"(?<![\d-])\d{3}[\s-]?\d{3}[\s-]?\d{3}(?![\d-])")
POSTAL_RE = re.compile(
    r"\b[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z][ -]?\d[ABCEGHJ-NPRSTV-Z]\d\b", re.IGNORECASE
)
URL_RE = re.compile(r"(?:https?://|www\.)[^\s<>()\"']+", re.IGNORECASE)

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
    rule: str
    severity: str
    ok: bool
    message: str
    language: str = ""
    field: str = "texts"

    def as_dict(self) -> dict:
        return asdict(self)


@lru_cache(maxsize=1)
def _detector():
    from lingua import Language, LanguageDetectorBuilder

    return (
        LanguageDetectorBuilder.from_languages(Language.ENGLISH, Language.FRENCH)
        .with_minimum_relative_distance(0.05)
        .build()
    )


def detect_language(text: str) -> str | None:
    """'en' or 'fr' for the text's language, or None when it is too short or ambiguous."""
    text = URL_RE.sub(" ", text or "").strip()
    if len(text) < 3:
        return None
    from lingua import Language

    found = _detector().detect_language_of(text)
    return {Language.ENGLISH: "en", Language.FRENCH: "fr"}.get(found)


def find_links(text: str) -> list[str]:
    return URL_RE.findall(text or "")


def link_host(url: str) -> str:
    if not url.lower().startswith(("http://", "https://")):
        url = "http://" + url
    try:
        return (urlsplit(url).hostname or "").lower().rstrip(".")
    except ValueError:
        return ""


def host_in(host: str, domains: Iterable[str]) -> bool:
    for domain in domains:
        d = domain.lower().strip().lstrip(".")
        if d and (host == d or host.endswith("." + d)):
            return True
    return False


def _terms_for(params: dict, language: str) -> list[str]:
    terms = params.get("terms", [])
    if isinstance(terms, dict):
        return list(terms.get(language, [])) + list(terms.get("*", []))
    return list(terms)


def _contains_term(text: str, term: str) -> bool:
    return re.search(r"(?<!\w)" + re.escape(term) + r"(?!\w)", text, re.IGNORECASE) is not None


def _personal_data(text: str, params: dict) -> list[str]:
    found = []
    if EMAIL_RE.search(text):
        found.append("an email address")
    if PHONE_RE.search(text):
        found.append("a phone number")
    if SIN_RE.search(EMAIL_RE.sub(" ", text)) and not PHONE_RE.search(text):
        found.append("a SIN-shaped number")
    if params.get("postal_codes") and POSTAL_RE.search(text):
        found.append("a postal code")
    return found


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
    results: list[CheckResult] = []
    for rule in rules:
        params = rule.params or {}
        sev = rule.severity
        kind = rule.kind
        if kind == RuleKind.LENGTH:
            for lang, body in texts.items():
                limits = [c.char_limit for c in channels if lang in c.languages]
                if params.get("max"):
                    limits.append(int(params["max"]))
                limit = min(limits) if limits else None
                if limit is not None and len(body) > limit:
                    results.append(CheckResult(kind, sev, False, f"The {LANGUAGE_NAMES.get(lang, lang)} text is {len(body)} characters; the limit is {limit}.", lang, f"texts.{lang}"))
                else:
                    results.append(CheckResult(kind, sev, True, "Length within the channel limit.", lang, f"texts.{lang}"))
        elif kind == RuleKind.PERSONAL_DATA:
            for lang, body in texts.items():
                found = _personal_data(body, params)
                if found:
                    results.append(CheckResult(kind, sev, False, f"The {LANGUAGE_NAMES.get(lang, lang)} text seems to contain personal data: {', '.join(found)}.", lang, f"texts.{lang}"))
                else:
                    results.append(CheckResult(kind, sev, True, "No personal data found.", lang, f"texts.{lang}"))
        elif kind == RuleKind.FORBIDDEN_TERMS:
            for lang, body in texts.items():
                hits = [t for t in _terms_for(params, lang) if _contains_term(body, t)]
                if hits:
                    results.append(CheckResult(kind, sev, False, f"Forbidden terms in the {LANGUAGE_NAMES.get(lang, lang)} text: {', '.join(hits)}.", lang, f"texts.{lang}"))
                else:
                    results.append(CheckResult(kind, sev, True, "No forbidden terms.", lang, f"texts.{lang}"))
        elif kind == RuleKind.LINK_DOMAINS:
            allowed = params.get("allowed", [])
            for lang, body in texts.items():
                bad = [u for u in find_links(body) if not host_in(link_host(u), allowed)]
                if bad:
                    results.append(CheckResult(kind, sev, False, f"Links to domains that are not allowed: {', '.join(bad)}.", lang, f"texts.{lang}"))
                else:
                    results.append(CheckResult(kind, sev, True, "Links only to allowed domains.", lang, f"texts.{lang}"))
        elif kind == RuleKind.LANGUAGES_PRESENT:
            missing = [lang for lang in required_languages if not texts.get(lang, "").strip()]
            if missing:
                names = ", ".join(LANGUAGE_NAMES.get(m, m) for m in missing)
                # A translation step will supply them: a warning until then, not a block.
                results.append(CheckResult(kind, Severity.WARN if translation_step else sev, False, f"Missing text in: {names}." + (" The translation step will provide it." if translation_step else ""), "", "texts"))
            else:
                results.append(CheckResult(kind, sev, True, "Every required language is present.", "", "texts"))
            covered = {lang for c in channels for lang in c.languages}
            uncovered = [lang for lang in required_languages if lang not in covered]
            # A reply is published where the citizen wrote; a post must reach every language.
            if channels and uncovered and not is_reply and params.get("channels", True):
                names = ", ".join(LANGUAGE_NAMES.get(m, m) for m in uncovered)
                results.append(CheckResult(kind, sev, False, f"No target channel publishes in: {names}.", "", "channels"))
        elif kind == RuleKind.REPLY_LANGUAGE:
            if reply_language:
                name = LANGUAGE_NAMES.get(reply_language, reply_language)
                body = texts.get(reply_language, "")
                detected = detect_language(body) if body else None
                if not body.strip():
                    results.append(CheckResult(kind, sev, False, f"The citizen wrote in {name}: reply in {name}.", reply_language, f"texts.{reply_language}"))
                elif detected and detected != reply_language:
                    results.append(CheckResult(kind, sev, False, f"The citizen wrote in {name}, but the reply reads as {LANGUAGE_NAMES.get(detected, detected)}.", reply_language, f"texts.{reply_language}"))
                else:
                    results.append(CheckResult(kind, sev, True, f"Reply written in {name}, the citizen's language.", reply_language, f"texts.{reply_language}"))
        elif kind == RuleKind.FOUR_RULES:
            if acknowledged:
                results.append(CheckResult(kind, sev, True, "The author acknowledged the four rules.", "", "rules_acknowledged"))
            else:
                results.append(CheckResult(kind, sev, False, "Acknowledge the four rules: don't embarrass yourself, don't embarrass the government, don't be untrue, don't be boring.", "", "rules_acknowledged"))
    return results


def blocking(results: Iterable[CheckResult]) -> list[CheckResult]:
    return [r for r in results if not r.ok and r.severity == Severity.BLOCK]


def escalation_reason(*, rules: Sequence[Rule], texts: dict[str, str], reasons: Sequence[str] = ()) -> str | None:
    """The reason the first matching escalation rule gives, or None. `reasons[i]` names rule i."""
    for i, rule in enumerate(rules):
        params = rule.params or {}
        given = reasons[i] if i < len(reasons) and reasons[i] else ""
        for lang, body in texts.items():
            matched = ""
            if rule.kind == EscalationKind.TERMS:
                hits = [t for t in _terms_for(params, lang) if _contains_term(body, t)]
                matched = f"mentions {', '.join(hits)}" if hits else ""
            elif rule.kind == EscalationKind.REGEX:
                pattern = params.get("pattern", "")
                try:
                    m = re.search(pattern, body, re.IGNORECASE) if pattern else None
                except re.error:
                    m = None
                matched = f"matches {m.group(0)!r}" if m else ""
            elif rule.kind == EscalationKind.LINK_DOMAIN:
                hosts = [u for u in find_links(body) if host_in(link_host(u), params.get("domains", []))]
                matched = f"links to {', '.join(hosts)}" if hosts else ""
            elif rule.kind == EscalationKind.LENGTH_OVER:
                limit = int(params.get("length", 0) or 0)
                matched = f"is {len(body)} characters, over {limit}" if limit and len(body) > limit else ""
            if matched:
                prefix = f"{given}: " if given else ""
                return f"{prefix}the {LANGUAGE_NAMES.get(lang, lang)} text {matched}."
    return None
