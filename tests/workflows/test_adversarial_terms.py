"""Issue 20, item 2: sensitive and forbidden terms hold against inflection and disguise.

Nothing here is a list of examples: each class is a GENERATOR (itertools.product of terms ×
inflections × disguises × languages × sentence frames), and every generated attempt must be
caught. The disguises are written here by code-point arithmetic and hand tables, not taken from
the tables the code under test builds. `attempts()` is also what the closing note of the issue
counts (run this module as a script: `python -m tests.workflows.test_adversarial_terms`)."""
from __future__ import annotations

import itertools
import unicodedata
from collections.abc import Callable, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workflows import guidelines as g
from workflows.constants import EscalationKind, RuleKind

#: The demo's lists (workflows/demo.py), per language.
SENSITIVE = {"en": ["minister", "election", "lawsuit"], "fr": ["ministre", "élection", "poursuite"]}
FORBIDDEN = {"en": ["stupid", "idiot", "damn"], "fr": ["stupide", "idiot", "merde"]}
FRAMES = {"en": ["We will ask the {w} today.", "{w}", "About the {w}: more soon."],
          "fr": ["Nous écrirons au {w} demain.", "{w}", "Au sujet du {w} : plus tard."]}

#: Inflections and derived forms, per language: what a reader takes for the same word.
INFLECTIONS = {"en": ["", "s", "'s", "ial", "ship", "ing", "ed"], "fr": ["", "s", "e", "es", "aux"]}
#: Derived forms (a longer word) count for terms of at least this many letters only
#: (guidelines.DERIVED_MIN: "con" must not flag "contact").
DERIVATIONS, DERIVED_MIN = {"ial", "ship"}, 5


def _inflect(term: str, suffix: str, lang: str) -> str | None:
    if suffix in DERIVATIONS and len(term) < DERIVED_MIN:
        return None
    if lang == "fr" and suffix == "aux" and not term.endswith("al"):
        return None
    if lang == "fr" and suffix in ("e", "es") and term.endswith("e"):
        suffix = suffix[1:] or ""
        if not suffix:
            return None
    return term + suffix


def _strip_accents(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", word) if unicodedata.category(c) != "Mn")


def _per_letter(fn: Callable[[str], str]) -> Callable[[str], str]:
    def apply(word: str) -> str:
        return "".join(fn(c) if "a" <= c <= "z" else c for c in _strip_accents(word.lower()))
    return apply


#: Small capitals, written out (ᴀ ʙ ᴄ …): the letters Unicode has them for.
SMALL_CAPS = dict(zip("abcdefghijklmnoprstuvwyz", "ᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘʀꜱᴛᴜᴠᴡʏᴢ", strict=True))
#: Letters with hooks, tails, strokes (ɱ ɗ ƈ …), written out; other letters stay.
HOOKS = {"m": "ɱ", "n": "ɳ", "d": "ɗ", "c": "ƈ", "b": "ɓ", "s": "ʂ", "t": "ƭ", "r": "ɽ", "h": "ɦ", "k": "ƙ",
         "p": "ƥ", "z": "ȥ", "i": "ɨ", "o": "ɵ", "e": "ɇ", "l": "ɭ", "u": "ʉ", "y": "ƴ", "w": "ⱳ", "a": "ⱥ"}
LEET = {"o": "0", "i": "1", "e": "3", "a": "4", "s": "5", "t": "7"}
LEET_SYMBOLS = {"a": "@", "s": "$"}

DISGUISES: dict[str, Callable[[str], str]] = {
    "circled": _per_letter(lambda c: chr(0x24B6 + ord(c) - 97)),
    "circled_small": _per_letter(lambda c: chr(0x24D0 + ord(c) - 97)),
    "squared": _per_letter(lambda c: chr(0x1F130 + ord(c) - 97)),
    "negative_squared": _per_letter(lambda c: chr(0x1F170 + ord(c) - 97)),
    "negative_circled": _per_letter(lambda c: chr(0x1F150 + ord(c) - 97)),
    "parenthesized": _per_letter(lambda c: chr(0x249C + ord(c) - 97)),
    "regional_indicator": _per_letter(lambda c: chr(0x1F1E6 + ord(c) - 97)),
    "small_capitals": _per_letter(lambda c: SMALL_CAPS.get(c, c)),
    "hooks": _per_letter(lambda c: HOOKS.get(c, c)),
    "enclosing_circle": _per_letter(lambda c: c + "\u20dd"),
    "enclosing_square": _per_letter(lambda c: c + "\u20de"),
    "enclosing_keycap": _per_letter(lambda c: c + "\u20e3"),
    "rlo_reversed": lambda w: "\u202e" + w[::-1] + "\u202c",
    "rlo_reversed_to_end": lambda w: "\u202e" + w[::-1],
    "dotted": lambda w: ".".join(w),
    "spaced": lambda w: " ".join(w),
    "hyphenated": lambda w: "-".join(w),
    "double_spaced": lambda w: "  ".join(w),
    "leet_digits": _per_letter(lambda c: LEET.get(c, c)),
    "leet_symbols": _per_letter(lambda c: LEET_SYMBOLS.get(c, c)),
    "leet_dotted": lambda w: ".".join(_per_letter(lambda c: LEET.get(c, c))(w)),
    "upper_spaced": lambda w: " ".join(w.upper()),
}


def attempts(lists: dict[str, list[str]]) -> Iterator[tuple[str, str, str, str]]:
    """(language, text, term, how) for every term × inflection × disguise × frame."""
    for lang, terms in lists.items():
        for term, suffix, (how, disguise), frame in itertools.product(
                terms, INFLECTIONS[lang], [("plain", lambda w: w), *DISGUISES.items()], FRAMES[lang]):
            word = _inflect(term, suffix, lang)
            if word is None:
                continue
            yield lang, frame.format(w=disguise(word)), term, f"{how}+{suffix or '-'}"


def escalated(lang: str, text: str, lists: dict[str, list[str]]) -> bool:
    rule = g.Rule(kind=EscalationKind.TERMS, params={"terms": lists})
    return g.escalation_for(rules=[rule], texts={lang: text}) is not None


def forbidden(lang: str, text: str, lists: dict[str, list[str]]) -> bool:
    rule = g.Rule(kind=RuleKind.FORBIDDEN_TERMS, params={"terms": lists})
    results = g.evaluate(rules=[rule], texts={lang: text}, channels=[], required_languages=[lang])
    return bool(g.blocking(results))


def test_every_inflected_and_disguised_sensitive_term_escalates():
    tried = list(attempts(SENSITIVE))
    missed = [(lang, text, how) for lang, text, _term, how in tried if not escalated(lang, text, SENSITIVE)]
    assert len(tried) > 2000
    assert missed == [], f"{len(missed)} of {len(tried)} got through, e.g. {missed[:5]}"


def test_every_inflected_and_disguised_forbidden_term_is_blocked():
    tried = list(attempts(FORBIDDEN))
    missed = [(lang, text, how) for lang, text, _term, how in tried if not forbidden(lang, text, FORBIDDEN)]
    assert missed == [], f"{len(missed)} of {len(tried)} got through, e.g. {missed[:5]}"


PER_LETTER = ["plain", "circled", "squared", "negative_squared", "negative_circled", "regional_indicator",
              "small_capitals", "hooks", "enclosing_circle", "enclosing_keycap", "leet_digits", "leet_symbols"]
WRAPS = ["none", "dotted", "spaced", "hyphenated", "rlo_reversed"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), lang=st.sampled_from(["en", "fr"]))
def test_disguises_mixed_letter_by_letter_still_escalate(data, lang):
    """Disguises composed: each letter its own disguise, then the word spelled apart or reversed."""
    term = data.draw(st.sampled_from(SENSITIVE[lang]))
    word = _inflect(term, data.draw(st.sampled_from(INFLECTIONS[lang])), lang) or term
    letters = [DISGUISES[how](c) if how != "plain" else c
               for c, how in zip(_strip_accents(word), data.draw(st.lists(st.sampled_from(PER_LETTER),
                                                                          min_size=len(word), max_size=len(word))),
                                 strict=True)]
    wrap = data.draw(st.sampled_from(WRAPS))
    joined = {"none": "".join, "dotted": ".".join, "spaced": " ".join, "hyphenated": "-".join,
              "rlo_reversed": lambda ls: "\u202e" + "".join(reversed(ls)) + "\u202c"}[wrap](letters)
    text = data.draw(st.sampled_from(FRAMES[lang])).format(w=joined)
    assert escalated(lang, text, SENSITIVE), text


@pytest.mark.parametrize(("lang", "text"), [
    ("en", "Reply about the elections office."), ("fr", "Le bureau des élections ouvre."),
    ("en", "The ministers met."), ("en", "A ministerial statement."), ("fr", "Les ministres sont là."),
    ("en", "Two lawsuits were filed."), ("fr", "Des poursuites judiciaires."),
])
def test_the_issues_own_examples_escalate(lang, text):
    assert escalated(lang, text, SENSITIVE)


#: Ordinary words near the terms, and numbers that leetspeak must not turn into words.
ORDINARY = {
    "en": ["We administer the program.", "A minimal change.", "Selection of the committee.",
           "The electricity bill is due.", "Electronic forms are online.", "Call 613-555-0199 (our office).",
           "Open 7 days, 24/7, room 4A, form B-12, COVID-19, H1N1, version 3.5.1.",
           "The Ministry answered in 2026.", "Our damnation-free zone.", "Lawn suits are on sale.",
           "Stupa, idiom, idiolect, merger.", "I am at the front desk, plan B or C.", "Contact us, con artists beware."],
    "fr": ["Nous administrons le programme.", "Un changement minimal.", "La facture d'électricité arrive.",
           "Les formulaires électroniques sont en ligne.", "Appelez le 613-555-0199.",
           "Ouvert 7 jours, 24 h sur 24, salle 4A, 3e étage, 1er mars.", "La sélection du comité.",
           "Poursuivre nos efforts, la culture, le contact.", "Idiome, idéal, stupéfait, merveille."],
}


@pytest.mark.parametrize(("lang", "text"), [(lang, t) for lang, texts in ORDINARY.items() for t in texts])
def test_ordinary_texts_are_not_flagged(lang, text):
    assert not escalated(lang, text, SENSITIVE)
    assert not forbidden(lang, text, FORBIDDEN)


def test_an_exact_entry_matches_only_the_word_but_still_through_disguises():
    lists = {"en": ["=minister"]}
    assert not escalated("en", "The ministers met.", lists)
    assert escalated("en", "The m.i.n.i.s.t.e.r met.", lists)
    assert escalated("en", "The ᴍɪɴɪsᴛᴇʀ met.", lists)
    assert g.terms_found(g.canonical("The ᴍɪɴɪsᴛᴇʀ met."), ["=minister"], "en") == ["minister"]  # shown without "="


def test_derived_forms_start_at_the_documented_length():
    assert g.DERIVED_MIN == DERIVED_MIN


def test_a_short_term_matches_its_inflections_but_not_longer_words():
    lists = {"fr": ["con"], "en": ["damn"]}
    assert escalated("fr", "Quels cons.", lists)
    assert not escalated("fr", "Le contact et la consultation.", lists)
    assert escalated("en", "Damned storm.", lists)


def counts(lists: dict[str, list[str]], judge: Callable[[str, str, dict], bool]) -> dict[str, tuple[int, int]]:
    """{disguise class: (attempts, got through)}."""
    out: dict[str, list[int]] = {}
    for lang, text, _term, how in attempts(lists):
        cls = how.split("+")[0]
        row = out.setdefault(cls, [0, 0])
        row[0] += 1
        row[1] += 0 if judge(lang, text, lists) else 1
    return {k: (v[0], v[1]) for k, v in out.items()}


if __name__ == "__main__":  # pragma: no cover - the closing note's numbers
    import json
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    django.setup()
    print(json.dumps({"sensitive": counts(SENSITIVE, escalated), "forbidden": counts(FORBIDDEN, forbidden)}))
