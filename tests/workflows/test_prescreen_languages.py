"""Issue 22's acceptance: "the pre-screen rules have tests in both languages". Every result code
of the six accessibility rules is produced here twice, once by an English text (or medium) and
once by a French one, and each result is read in both readers' languages: the English message
names the language in English, the French one in French, and they differ. test_prescreen.py
holds the rules' details; this table makes sure no finding is checked in one language only, and
fails when a rule gains a code the table does not cover."""
from __future__ import annotations

import re

import pytest
from django.utils import translation

from workflows import guidelines as g
from workflows import messages
from workflows.constants import RuleKind, Severity

from .test_prescreen import (
    EN_BLUESKY,
    EN_HARD,
    EN_MASTODON,
    EN_PLAIN,
    FR_HARD,
    FR_MASTODON,
    FR_PLAIN,
    VTT,
    VTT_FR,
    image,
    video,
)

FR_BLUESKY = g.ChannelInfo(slug="bsky-fr", char_limit=300, languages=("fr",), media=g.media_limits_for(adapter="bluesky"))
CHANNELS = {"en": EN_MASTODON, "fr": FR_MASTODON}
BLUESKY = {"en": EN_BLUESKY, "fr": FR_BLUESKY}
OTHER = {"en": "fr", "fr": "en"}
NAMES = {"en": {"en": "English", "fr": "French"}, "fr": {"en": "anglais", "fr": "français"}}

SHORT = {"en": "Our new office opens Monday.", "fr": "Notre nouveau bureau ouvre lundi."}
PLAIN = {"en": EN_PLAIN, "fr": FR_PLAIN}
HARD = {"en": EN_HARD, "fr": FR_HARD}
ALT = {"en": "A map of the new office in Moncton", "fr": "Une carte du nouveau bureau à Moncton"}
CAPTIONS = {"en": VTT, "fr": VTT_FR}
BIG_VTT = "WEBVTT\n\n" + "".join(f"00:00:{i % 60:02d}.000 --> 00:00:{i % 60:02d}.500\nLine {i}.\n\n" for i in range(900))
PREFIXED = {"en": "Photo of the new office in Moncton", "fr": "Photo de la nouvelle entrée du bureau"}
HASHTAGS = {"en": "Join us #opengovernment", "fr": "Joignez-vous à nous #gouvernementouvert"}
CAMEL = {"en": "Join us #OpenGovernment", "fr": "Joignez-vous à nous #GouvernementOuvert"}
EMOJI_MANY = {"en": "Well done 🎉 to all 🙌 our park 👏 volunteers 🌳.", "fr": "Bravo 🎉 à toutes 🙌 et à tous 👏 les bénévoles 🌳."}
EMOJI_IN = {"en": "We ❤️ our volunteers.", "fr": "Nous ❤️ nos bénévoles."}
EMOJI_RUN = {"en": "Happy Canada Day 🇨🇦🎉", "fr": "Bonne fête du Canada 🇨🇦🎉"}
EMOJI_OK = {"en": "Happy Canada Day! 🇨🇦", "fr": "Bonne fête du Canada! 🇨🇦"}
VAGUE = {"en": "Click here: https://www.canada.ca/en/services.html",
         "fr": "Cliquez ici : https://www.canada.ca/fr/services.html"}
DESCRIPTIVE = {"en": "Apply for the Canada Child Benefit at canada.ca/ccb",
               "fr": "Consultez le budget de 2024 sur canada.ca/fr/budget"}


def _case(kind, text=None, media=(), **kw):
    return {"kind": kind, "text": text or SHORT, "media": media, **kw}


#: code → how to produce it in language L (dicts by language, or callables of L).
CASES = {
    "alt_text.ok": _case(RuleKind.ALT_TEXT, media=lambda L: [image({L: ALT[L]})]),
    "alt_text.missing": _case(RuleKind.ALT_TEXT, media=lambda L: [image({})]),
    "alt_text.missing_until_translation": _case(RuleKind.ALT_TEXT, media=lambda L: [image({OTHER[L]: ALT[OTHER[L]]})],
                                                written="other", translation_step=True),
    "alt_text.too_long": _case(RuleKind.ALT_TEXT, media=lambda L: [image({L: (ALT[L] + ". ") * 50})]),
    "alt_text.wrong_language": _case(RuleKind.ALT_TEXT, media=lambda L: [image({L: ALT[OTHER[L]]})]),
    "alt_text.file_name": _case(RuleKind.ALT_TEXT, media=lambda L: [image({L: "IMG_1234.jpg"})]),
    "alt_text.redundant_prefix": _case(RuleKind.ALT_TEXT, media=lambda L: [image({L: PREFIXED[L]})]),
    "captions.ok": _case(RuleKind.CAPTIONS, media=lambda L: [video({L: CAPTIONS[L]})]),
    "captions.missing": _case(RuleKind.CAPTIONS, media=lambda L: [video({})]),
    "captions.missing_until_translation": _case(RuleKind.CAPTIONS,
                                                media=lambda L: [video({OTHER[L]: CAPTIONS[OTHER[L]]})],
                                                written="other", translation_step=True),
    "captions.invalid": _case(RuleKind.CAPTIONS, media=lambda L: [video({L: "1\n00:00:00,000 --> 00:00:01,000\nSRT\n"})]),
    "captions.empty": _case(RuleKind.CAPTIONS, media=lambda L: [video({L: "WEBVTT\n"})]),
    "captions.timing": _case(RuleKind.CAPTIONS, media=lambda L: [video({L: "WEBVTT\n\n00:00:02.500 --> 00:00:02.100\nOui\n"})]),
    "captions.too_large": _case(RuleKind.CAPTIONS, media=lambda L: [video({L: BIG_VTT})], bluesky=True),
    "reading_level.ok": _case(RuleKind.READING_LEVEL, PLAIN),
    "reading_level.too_hard": _case(RuleKind.READING_LEVEL, HARD),
    "reading_level.too_short": _case(RuleKind.READING_LEVEL, SHORT),
    "reading_level.alt_too_hard": _case(RuleKind.READING_LEVEL, PLAIN, media=lambda L: [image({L: HARD[L]})]),
    "hashtags.ok": _case(RuleKind.HASHTAGS, CAMEL),
    "hashtags.not_camel_case": _case(RuleKind.HASHTAGS, HASHTAGS),
    "emoji.ok": _case(RuleKind.EMOJI, EMOJI_OK),
    "emoji.too_many": _case(RuleKind.EMOJI, EMOJI_MANY),
    "emoji.in_text": _case(RuleKind.EMOJI, EMOJI_IN),
    "emoji.consecutive": _case(RuleKind.EMOJI, EMOJI_RUN),
    "link_text.ok": _case(RuleKind.LINK_TEXT, DESCRIPTIVE),
    "link_text.not_descriptive": _case(RuleKind.LINK_TEXT, VAGUE),
}
PRESCREEN_RULES = ("alt_text", "captions", "reading_level", "hashtags", "emoji", "link_text")


def test_the_table_covers_every_prescreen_code():
    codes = {c for c in messages.CATALOGUE if c.split(".", 1)[0] in PRESCREEN_RULES}
    assert codes == set(CASES)


def _results(code: str, lang: str):
    case = CASES[code]
    media = case["media"](lang) if callable(case["media"]) else list(case["media"])
    written = OTHER[lang] if case.get("written") == "other" else lang
    required = ["en", "fr"] if case.get("translation_step") else [lang]
    channels = [BLUESKY[lang]] if case.get("bluesky") else [CHANNELS[c] for c in required]
    return g.evaluate(rules=[g.Rule(kind=case["kind"], severity=Severity.BLOCK)], texts={written: case["text"][written]},
                      channels=channels, required_languages=required, acknowledged=True, media=media,
                      translation_step=bool(case.get("translation_step")))


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize("code", sorted(CASES))
def test_each_finding_in_each_language_read_in_each_language(code, lang):
    results = _results(code, lang)
    found = [r for r in results if r.code == code and r.language in (lang, "")]
    assert found, [(r.code, r.language, r.params) for r in results]
    result = found[0]
    with translation.override("en"):
        english = result.message
    with translation.override("fr"):
        french = result.message
    assert english and french and english != french, (english, french)
    template = _english_template(code)
    if "%(language)s" in template:
        assert NAMES["en"][lang] in english, english
        assert NAMES["fr"][lang] in french, french
    # French typography: no bare space before a colon, semicolon or the like.
    assert not re.search(r" [:;!?]", french), french


def _english_template(code: str) -> str:
    with translation.override("en"):
        return str(messages.CATALOGUE[code])
