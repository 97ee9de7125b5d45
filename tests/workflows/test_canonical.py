"""One canonical text for matching: invisible characters, look-alikes and fullwidth forms never
turn a blocked or escalated text into an allowed one (hypothesis property tests)."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workflows import guidelines as g
from workflows.canonical import clean, is_default_ignorable, skeleton
from workflows.constants import EscalationKind, RuleKind, Severity

#: Invisible or formatting characters an author may slip inside a word.
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u200e", "\u200f", "\u202a",
             "\u202c", "\u202e", "\u2066", "\u2069", "\ufe0f", "\ufe00", "\u180e", "\u034f", "\U000e0041"]
#: Latin letter → look-alikes from other scripts (Cyrillic, Greek), written out by hand here (not
#: taken from the library the code uses).
LOOKALIKES = {
    "a": ["а", "α"], "c": ["с"], "e": ["е"], "i": ["і", "ι"], "o": ["о", "ο"], "p": ["р", "ρ"],
    "s": ["ѕ"], "x": ["х"], "y": ["у"], "n": ["ո"], "d": ["ԁ"], "j": ["ј"], "l": ["ӏ"],
    "m": ["м"], "t": ["т"], "r": ["г"], "u": ["υ"], "v": ["ν"],
}


def fullwidth(ch: str) -> str:
    return chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch


@st.composite
def disguised(draw, text: str) -> str:
    """`text` with invisible characters inserted, letters swapped for look-alikes, fullwidth
    forms and capitals, each at random positions."""
    out = []
    for ch in text:
        how = draw(st.sampled_from(["keep", "keep", "lookalike", "fullwidth", "upper"]))
        if how == "lookalike" and ch.lower() in LOOKALIKES:
            ch = draw(st.sampled_from(LOOKALIKES[ch.lower()]))
        elif how == "fullwidth":
            ch = fullwidth(ch)
        elif how == "upper":
            ch = ch.upper()
        out.append(ch)
        if draw(st.booleans()):
            out.append(draw(st.sampled_from(INVISIBLE)))
    return "".join(out)


RULES = [
    g.Rule(kind=RuleKind.PERSONAL_DATA, params={"postal_codes": True}),
    g.Rule(kind=RuleKind.FORBIDDEN_TERMS, params={"terms": {"en": ["stupid", "idiot"], "fr": ["stupide", "merde"]}}),
    g.Rule(kind=RuleKind.LINK_DOMAINS, params={"allowed": ["canada.ca", "gc.ca"]}),
]
ESCALATIONS = [g.Rule(kind=EscalationKind.TERMS, params={"terms": {"en": ["minister", "lawsuit"], "fr": ["ministre"]}})]

BLOCKED = {
    "That was stupid of us.": "forbidden_terms.found",
    "Write to jane.doe@example.com today": "personal_data.email",
    "Call 613-555-0199 now": "personal_data.phone",
    "My SIN is 046 454 286": "personal_data.sin",
    "Send it to K1A 0B1": "personal_data.postal_code",
    "See https://evil.example/page": "link_domains.not_allowed",
}
ESCALATED = ["We will ask the minister.", "A lawsuit was filed.", "Le ministre répondra."]


def blocking_codes(text: str, lang: str = "en") -> set[str]:
    results = g.evaluate(rules=RULES, texts={lang: text}, channels=[], required_languages=[lang])
    return {r.code for r in g.blocking(results)}


def escalates(text: str, lang: str = "en") -> bool:
    return g.escalation_for(rules=ESCALATIONS, texts={lang: text}) is not None


@pytest.mark.parametrize(("text", "code"), list(BLOCKED.items()))
def test_the_plain_texts_are_blocked(text, code):
    assert code in blocking_codes(text)


FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(data=st.data(), item=st.sampled_from(sorted(BLOCKED.items())))
def test_disguising_a_blocked_text_never_makes_it_allowed(data, item):
    text, code = item
    # Links: a look-alike letter in a host makes it another host (still not allowed), so any
    # disguise keeps the block; the scheme is left readable (a platform links only real URLs).
    if code == "link_domains.not_allowed":
        prefix, rest = text.split("https://")
        disguised_text = prefix + "https://" + data.draw(disguised(rest))
    else:
        disguised_text = data.draw(disguised(text))
    assert code in blocking_codes(disguised_text), disguised_text


@FAST
@given(data=st.data(), text=st.sampled_from(ESCALATED))
def test_disguising_an_escalated_text_never_stops_the_escalation(data, text):
    lang = "fr" if "ministre" in text else "en"
    assert escalates(data.draw(disguised(text)), lang)


@FAST
@given(text=st.text(max_size=200))
def test_canonical_forms_are_idempotent_and_have_no_invisible_characters(text):
    assert clean(clean(text)) == clean(text)
    assert skeleton(skeleton(text)) == skeleton(text)
    assert not any(is_default_ignorable(ch) for ch in skeleton(text))


@pytest.mark.parametrize("text", [
    "mi\u200bnister", "mi\u00adnister", "mіnister", "ｍｉｎｉｓｔｅｒ", "MINISTER", "ΜΙΝΙSTER", "m\u0301inister",
    "mi\u202enister", "minis\ufe0fter",
])
def test_minister_in_every_disguise(text):
    assert skeleton(text) == "minister"
    assert escalates(f"We will ask the {text}.")


def test_a_look_alike_host_is_not_an_allowed_host():
    # "cаnada.ca" with a Cyrillic а is someone else's domain: never folded into canada.ca.
    assert "link_domains.not_allowed" in blocking_codes("See https://cаnada.ca/page")
    assert not blocking_codes("See https://canada.ca/page and https://www.gc.ca")


def test_accents_and_french_text_are_kept_for_reading():
    assert clean("Élection à l'œil") == "élection à l'œil"
    assert skeleton("Élection") == "election"
    assert escalates("Une poursuite sur l'élection", "fr") is False  # not in this test's list
    assert g.Rule(kind=RuleKind.LENGTH).severity == Severity.BLOCK
