"""The pre-screen rules are pure functions over text."""
from __future__ import annotations

import pytest

from workflows import guidelines as g
from workflows.constants import EscalationKind, RuleKind, Severity

EN_CHAN = g.ChannelInfo(slug="en", char_limit=50, languages=("en",))
FR_CHAN = g.ChannelInfo(slug="fr", char_limit=80, languages=("fr",))


def run(kind, texts, params=None, **kw):
    kw.setdefault("channels", [EN_CHAN, FR_CHAN])
    kw.setdefault("required_languages", ["en", "fr"])
    return g.evaluate(rules=[g.Rule(kind=kind, params=params)], texts=texts, **kw)


def failed(results):
    return [r for r in results if not r.ok]


def test_length_uses_each_languages_channel_limit():
    results = run(RuleKind.LENGTH, {"en": "x" * 51, "fr": "x" * 51})
    assert [r.language for r in failed(results)] == ["en"]
    assert "limit is 50" in failed(results)[0].message


@pytest.mark.parametrize(("text", "bad"), [
    ("Write to jane.doe@example.com", True),
    ("Call 613-555-0199 today", True),
    ("Call (613) 555 0199 today", True),
    ("My SIN is 046 454 286", True),
    ("My SIN is 046-454-286", True),
    ("Send it to K1A 0B1", True),
    ("The office opens at 9:00 on 2026-12-01", False),
    ("We had 12 345 visitors", False),
])
def test_personal_data(text, bad):
    results = run(RuleKind.PERSONAL_DATA, {"en": text}, {"postal_codes": True})
    assert bool(failed(results)) is bad


def test_postal_codes_only_when_the_rule_says_so():
    assert not failed(run(RuleKind.PERSONAL_DATA, {"en": "Our office: K1A 0B1"}, {}))


def test_forbidden_terms_per_language_whole_words_and_their_forms():
    params = {"terms": {"en": ["stupid"], "fr": ["merde"]}}
    assert failed(run(RuleKind.FORBIDDEN_TERMS, {"en": "That was Stupid."}, params))
    # Issue 20: derived and inflected forms match; "=word" asks for the exact word only.
    assert failed(run(RuleKind.FORBIDDEN_TERMS, {"en": "stupidity is a word"}, params))
    assert not failed(run(RuleKind.FORBIDDEN_TERMS, {"en": "stupidity is a word"}, {"terms": ["=stupid"]}))
    assert not failed(run(RuleKind.FORBIDDEN_TERMS, {"en": "a stupa is a shrine"}, params))
    assert failed(run(RuleKind.FORBIDDEN_TERMS, {"fr": "Quelle merde."}, params))
    assert not failed(run(RuleKind.FORBIDDEN_TERMS, {"en": "Quelle merde."}, params))  # the French list only


@pytest.mark.parametrize(("text", "ok"), [
    ("See https://www.canada.ca/en/services.html", True),
    ("See https://canada.ca", True),
    ("See www.dpe.example/page", True),
    ("See https://evil.example/canada.ca", False),
    ("See https://canada.ca.evil.example/", False),
    ("No links at all", True),
])
def test_link_domains(text, ok):
    results = run(RuleKind.LINK_DOMAINS, {"en": text}, {"allowed": ["canada.ca", "dpe.example"]})
    assert (not failed(results)) is ok


def test_languages_present_blocks_unless_a_translation_step_will_provide():
    blocking = run(RuleKind.LANGUAGES_PRESENT, {"en": "Hello"})
    assert g.blocking(blocking)
    warned = run(RuleKind.LANGUAGES_PRESENT, {"en": "Hello"}, translation_step=True)
    assert failed(warned)
    assert not g.blocking(warned)


def test_languages_present_needs_a_channel_per_language_for_posts_not_replies():
    only_en = [EN_CHAN]
    assert g.blocking(run(RuleKind.LANGUAGES_PRESENT, {"en": "Hi", "fr": "Salut"}, channels=only_en))
    assert not g.blocking(run(RuleKind.LANGUAGES_PRESENT, {"en": "Hi", "fr": "Salut"}, channels=only_en, is_reply=True))


def test_reply_language_detects_the_language_written():
    kw = {"required_languages": ["fr"], "reply_language": "fr"}
    assert not failed(run(RuleKind.REPLY_LANGUAGE, {"fr": "Merci de votre message, le bureau est ouvert."}, **kw))
    wrong = failed(run(RuleKind.REPLY_LANGUAGE, {"fr": "Thanks for your message, the office is open."}, **kw))
    assert "reads as English" in wrong[0].message
    assert failed(run(RuleKind.REPLY_LANGUAGE, {"en": "Thanks for your message."}, **kw))


def test_an_empty_reply_is_not_flagged_for_its_language():
    """Issue 21: an empty reply box said "The citizen wrote in French: write the reply in French"."""
    kw = {"required_languages": ["fr"], "reply_language": "fr"}
    assert not failed(run(RuleKind.REPLY_LANGUAGE, {"fr": ""}, **kw))
    assert not failed(run(RuleKind.REPLY_LANGUAGE, {"fr": "   ", "en": ""}, **kw))
    assert failed(run(RuleKind.REPLY_LANGUAGE, {"fr": "", "en": "Thanks."}, **kw))  # written, in English only


def test_four_rules_acknowledgement():
    assert failed(run(RuleKind.FOUR_RULES, {"en": "x"}))
    assert not failed(run(RuleKind.FOUR_RULES, {"en": "x"}, acknowledged=True))


def test_warn_severity_does_not_block():
    results = g.evaluate(rules=[g.Rule(kind=RuleKind.FORBIDDEN_TERMS, severity=Severity.WARN, params={"terms": ["meh"]})],
                         texts={"en": "meh"}, channels=[EN_CHAN], required_languages=["en"])
    assert failed(results)
    assert not g.blocking(results)


@pytest.mark.parametrize(("text", "lang"), [
    ("Thank you for reaching out about your passport application.", "en"),
    ("Merci d'avoir communiqué avec nous au sujet de votre demande de passeport.", "fr"),
    ("ok", None),
])
def test_detect_language(text, lang):
    assert g.detect_language(text) == lang


@pytest.mark.parametrize(("rule", "text", "matched"), [
    (g.Rule(kind=EscalationKind.TERMS, params={"terms": {"en": ["minister"], "fr": ["ministre"]}}), {"en": "The Minister said"}, True),
    (g.Rule(kind=EscalationKind.TERMS, params={"terms": {"en": ["minister"]}}), {"en": "administer"}, False),
    (g.Rule(kind=EscalationKind.REGEX, params={"pattern": r"lawsuits?"}), {"en": "about the lawsuit"}, True),
    (g.Rule(kind=EscalationKind.REGEX, params={"pattern": "("}), {"en": "broken pattern"}, False),
    (g.Rule(kind=EscalationKind.LINK_DOMAIN, params={"domains": ["policy.gc.ca"]}), {"en": "see https://policy.gc.ca/x"}, True),
    (g.Rule(kind=EscalationKind.LENGTH_OVER, params={"length": 10}), {"en": "x" * 11}, True),
    (g.Rule(kind=EscalationKind.LENGTH_OVER, params={"length": 10}), {"en": "x" * 10}, False),
])
def test_escalation_rules(rule, text, matched):
    reason = g.escalation_reason(rules=[rule], texts=text, reasons=["Because"])
    assert (reason is not None) is matched
    if matched:
        assert reason.startswith("Because: ")
