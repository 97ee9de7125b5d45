"""Guideline rules run in time linear in the text: 200,000 characters of the shapes that made the
old backtracking patterns quadratic are checked in a child process with a budget that the old
code overshoots by orders of magnitude (measured: 20,000 characters of the e-mail shape took
3.1 s and 40,000 took 13.9 s on the old patterns, so 200,000 would take about 5 minutes; now all
shapes together take well under a second). The assertion is on work done (the child finishes
within its timeout), not on the wall-clock time of this process."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import re2

from workflows import guidelines as g
from workflows.constants import EscalationKind, RuleKind

ROOT = Path(__file__).resolve().parents[2]
N = 200_000

#: Each shape makes at least one of the old patterns try every start position to the end.
SHAPES = {
    "email_local_run": "a" * N,                     # [A-Za-z0-9._%+-]+ without an @
    "email_dotted_run": "a." * (N // 2),            # the domain part's [A-Za-z0-9.-]+\.
    "email_many_ats": ("a" * 10 + "@") * (N // 11),
    "email_domain_run": "a@" + "a-" * (N // 2),
    "digits": "1" * N,                              # phone and SIN
    "digit_groups": "613 " * (N // 4),
    "url_prefixes": "http://" * (N // 7),
    "www_run": "www." * (N // 4),
    "mixed_symbols": "a.b-c_%+" * (N // 8),
    "confusables": "аеор\u200b" * (N // 5),         # Cyrillic look-alikes and zero-width spaces
    # Issue 20: the link extractor, spelled-out numbers and addresses, spaced-out letters.
    "bare_domains": "a.ca/" * (N // 5),
    "number_words": "one oh " * (N // 7),
    "spelled_at_dot": "a at b dot " * (N // 11),
    "spaced_letters": "m.1 " * (N // 4),
}

CHILD = r"""
import json, os, sys, time
sys.path.insert(0, %(root)r)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
import django
django.setup()
from workflows import guidelines as g
from workflows.constants import EscalationKind, RuleKind
shapes = json.loads(sys.stdin.read())
rules = [g.Rule(kind=k, params=p) for k, p in [
    (RuleKind.LENGTH, {}), (RuleKind.PERSONAL_DATA, {"postal_codes": True}),
    (RuleKind.FORBIDDEN_TERMS, {"terms": {"en": ["stupid", "idiot"], "fr": ["stupide"]}}),
    (RuleKind.LINK_DOMAINS, {"allowed": ["canada.ca"]})]]
escalations = [g.Rule(kind=EscalationKind.TERMS, params={"terms": ["minister"]}),
               g.Rule(kind=EscalationKind.REGEX, params={"pattern": r"(a+)+$"}),
               g.Rule(kind=EscalationKind.LINK_DOMAIN, params={"domains": ["example.org"]})]
def run(text):
    t = time.perf_counter()
    results = g.evaluate(rules=rules, texts={"en": text, "fr": text}, channels=[], required_languages=["en"])
    g.escalation_for(rules=escalations, texts={"en": text + "b"})
    return time.perf_counter() - t, sorted({str(r.rule) for r in results if not r.ok})
out = {}
for name, text in shapes.items():
    quarter, _ = run(text[: len(text) // 4])
    full, failed = run(text)
    _, planted = run(text + " jane.doe@example.com")  # found at the very end: the whole text is read
    out[name] = {"quarter": quarter, "full": full, "failed": failed, "planted": planted}
print(json.dumps(out))
"""


def test_200k_adversarial_characters_are_checked_in_linear_time():
    """Each shape is checked whole (a finding planted at its end is found; the shapes that carry
    a finding give it), in time linear in its length (4x the text costs about 4x, never the 16x
    of a quadratic pattern), within a budget the old patterns overshot by orders of magnitude."""
    child = CHILD % {"root": str(ROOT)}
    # 60 s for everything (14 shapes, 2 languages, 3 runs each, plus Django's start-up): the
    # old patterns needed about 300 s for ONE shape in ONE language.
    result = subprocess.run([sys.executable, "-c", child], input=json.dumps(SHAPES), capture_output=True,
                            text=True, timeout=60, check=True)
    runs = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(runs) == set(SHAPES)
    for name, run in runs.items():
        assert "personal_data" in run["planted"], (name, run)
        # Linear: 4x the characters, at most 8x the time (0.25 s of slack for a busy machine).
        assert run["full"] <= 8 * run["quarter"] + 0.25, (name, run)
        assert run["full"] < 10, (name, run)
    assert "personal_data" in runs["digit_groups"]["failed"]
    assert "link_domains" in runs["url_prefixes"]["failed"] and "link_domains" in runs["www_run"]["failed"]


def test_every_pattern_is_an_re2_automaton():
    """RE2 guarantees linear time whatever the input: no pattern may fall back to `re`."""
    from workflows import links

    for pattern in (g.EMAIL_RE, g.PHONE_RE, g.SIN_RE, g.POSTAL_RE, g.EMAIL_SPELLED_RE, links.SCHEME_RE,
                    links.OPAQUE_RE, links.RELATIVE_RE, links.WWW_RE, links.BARE_RE, links.DEFANG_DOT_RE):
        assert isinstance(pattern, re2._Regexp)
    assert isinstance(g.compile_pattern(r"https?://\S*/polic(y|ies)"), re2._Regexp)


def test_an_administrators_catastrophic_pattern_runs_linearly_and_a_refused_one_never_matches():
    # (a+)+$ on "aaaa…b" takes exponential time with backtracking; RE2 answers at once.
    rule = g.Rule(kind=EscalationKind.REGEX, params={"pattern": r"(a+)+$"})
    assert g.escalation_for(rules=[rule], texts={"en": "a" * 50_000 + "!"}) is None
    # Back-references and look-around cannot run in linear time: RE2 refuses them, the rule is inert.
    assert g.compile_pattern(r"(a)\1") is None
    assert g.escalation_for(rules=[g.Rule(kind=EscalationKind.REGEX, params={"pattern": r"(?<=a)b"})],
                            texts={"en": "ab"}) is None


def test_patterns_still_find_what_they_should():
    found = g.personal_data_found(g.canonical("Write to jane.doe@example.com or 613-555-0199"), postal_codes=True)
    assert found == ["email", "phone"]
    assert g.personal_data_found(g.canonical("SIN 046 454 286, K1A 0B1"), postal_codes=True) == ["sin", "postal_code"]
    assert g.find_links("See https://canada.ca/x and www.evil.example") == ["https://canada.ca/x", "www.evil.example"]


def test_one_function_per_rule_kind_in_a_registry():
    assert set(g.RULES) == set(RuleKind.values)
    assert set(g.ESCALATIONS) == set(EscalationKind.values)
    ctx = g.Context(texts={"en": g.canonical("Call 613-555-0199")}, required_languages=["en"])
    # Each rule function is pure over the context: the same input gives the same output.
    for kind, fn in g.RULES.items():
        rule = g.Rule(kind=kind, params={})
        assert [r.as_data() for r in fn(rule, ctx)] == [r.as_data() for r in fn(rule, ctx)]
    assert [r.code for r in g.check_personal_data(g.Rule(kind=RuleKind.PERSONAL_DATA), ctx)] == ["personal_data.phone"]


@pytest.mark.parametrize("text", ["x" * 10, "é" * 10])
def test_length_counts_published_characters(text):
    results = g.check_length(g.Rule(kind=RuleKind.LENGTH, params={"max": 9}), g.Context(texts={"en": g.canonical(text)}))
    assert results[0].code == "length.over" and results[0].params["length"] == 10
