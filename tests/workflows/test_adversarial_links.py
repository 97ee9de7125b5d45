"""Issue 20, item 3: links and personal data hold against other spellings.

GENERATORS, not example lists: link forms × hosts × frames, address spellings (local part × "at"
spellings × domains × "dot" spellings × top-level domains), and numbers (phone and SIN) ×
digit spellings (words in English and French, O for 0, l for 1, mixed) × separators. Every
attempt must be refused; ordinary texts must not be. One extractor decides for the rule and for
the Bluesky facets: every facet the adapter would publish is a link the rule checked.
Run as a script for the closing note's counts: `python -m tests.workflows.test_adversarial_links`."""
from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import pytest

from workflows import guidelines as g
from workflows import links
from workflows.channels.bluesky import facets_for
from workflows.constants import RuleKind

ALLOWED = ["canada.ca", "gc.ca", "dpe.example"]
#: Hosts a link may not point to, including ones built to look like an allowed one.
HOSTS = ["evil.example", "evil.com", "canada.ca.evil.com", "canada-ca.info", "gc.ca.example.net"]
#: Every way to write a link to `h` that some platform, browser or reader follows.
LINK_FORMS: dict[str, Callable[[str], str]] = {
    "https": lambda h: f"https://{h}/x",
    "http_upper": lambda h: f"HTTP://{h.upper()}",
    "bare_path": lambda h: f"{h}/x",
    "bare": lambda h: h,
    "bare_port": lambda h: f"{h}:8443/x",
    "www": lambda h: f"www.{h}",
    "scheme_relative": lambda h: f"//{h}/x",
    "backslashes_relative": lambda h: f"\\\\{h}\\x",
    "one_slash": lambda h: f"https:/{h}",
    "backslash_scheme": lambda h: f"https:\\\\{h}\\x",
    "backslash_at": lambda h: f"https://{h}\\@canada.ca/",
    "userinfo_allowed": lambda h: f"https://canada.ca@{h}/",
    "userinfo_password": lambda h: f"https://canada.ca:pw@{h}/x",
    "userinfo_encoded_slash": lambda h: f"https://canada.ca%2F@{h}",
    "trailing_dot": lambda h: f"https://{h}./x",
    "hxxps": lambda h: f"hxxps://{h}/x",
    "hxxp": lambda h: f"hXXp://{h}",
    "h_stars_ps": lambda h: f"h**ps://{h}",
    "defanged_dots": lambda h: h.replace(".", "[.]") + "/x",
    "defanged_parens": lambda h: h.replace(".", "(.)"),
    "defanged_dot_word": lambda h: h.replace(".", "[dot]"),
    "defanged_colon": lambda h: f"https[:]//{h}",
    "ftp": lambda h: f"ftp://{h}/file",
    "ws": lambda h: f"wss://{h}/socket",
    "made_up_scheme": lambda h: f"web+evil://{h}",
    "fullwidth_scheme": lambda h: f"ｈｔｔｐｓ://{h}",
    "zero_width_in_scheme": lambda h: f"ht\u200btps://{h}",
    "mailto": lambda h: f"mailto:info@{h}",
}
#: Links that name no host at all: never allowed.
HOSTLESS = ["javascript:alert(1)", "JaVaScRiPt:alert(document.cookie)", "data:text/html,<b>hi</b>",
            "data:image/svg+xml;base64,PHN2Zz4=", "vbscript:msgbox(1)", "file:///etc/passwd", "blob:https://x/1"]
FRAMES = ["See {l} now.", "({l})", "Details: {l}.", "«{l}»", "{l}"]


def link_attempts() -> Iterator[tuple[str, str]]:
    for (how, form), host, frame in itertools.product(LINK_FORMS.items(), HOSTS, FRAMES):
        yield how, frame.format(l=form(host))
    for link, frame in itertools.product(HOSTLESS, FRAMES):
        yield "hostless", frame.format(l=link)


def link_refused(text: str) -> bool:
    rule = g.Rule(kind=RuleKind.LINK_DOMAINS, params={"allowed": ALLOWED})
    results = g.evaluate(rules=[rule], texts={"en": text}, channels=[], required_languages=["en"])
    return bool(g.blocking(results))


def test_every_link_form_to_a_foreign_host_is_refused():
    tried = list(link_attempts())
    missed = [(how, text) for how, text in tried if not link_refused(text)]
    assert len(tried) > 700
    assert missed == [], f"{len(missed)} of {len(tried)} got through, e.g. {missed[:5]}"


@pytest.mark.parametrize("text", [
    "See https://www.canada.ca/en/services.html", "canada.ca/fr", "www.canada.ca", "//www.gc.ca/x",
    "https://x.gc.ca/a?b=evil.com", "https://canada.ca.", "HTTPS://CANADA.CA/X", "Write to info@canada.ca.",
    "See e.g. the file report.pdf, node.js, i.e. U.S.A. at 10:30/11:00, C:\\Users.",
    "Version 3.5.1 ships on 2026-12-07.", "mailto:info@canada.ca", "Thanks @jean.bsky.social and @marie.ca!",
])
def test_allowed_and_ordinary_texts_pass(text):
    assert not link_refused(text)


def test_what_bluesky_would_link_is_what_the_rule_checked():
    """One extractor: every facet the adapter would publish, for every generated text, points at
    a host the rule refused or allowed by name, and is a web link (never javascript:, data:,
    hxxps:)."""
    rule = g.Rule(kind=RuleKind.LINK_DOMAINS, params={"allowed": ALLOWED})
    unchecked = []
    for _how, text in link_attempts():
        [result] = g.evaluate(rules=[rule], texts={"en": text}, channels=[], required_languages=["en"])
        refused = set(result.params.get("links", []))
        for facet in facets_for(text, lambda handle: None):
            uri = facet["features"][0]["uri"]
            start, end = facet["index"]["byteStart"], facet["index"]["byteEnd"]
            written = text.encode()[start:end].decode()
            if not uri.startswith(("https://", "http://")) or not (
                    written in refused or g.host_in(links.host_of(uri), ALLOWED)):
                unchecked.append((text, uri))
    assert unchecked == []


def test_facets_link_bare_domains_as_https_and_never_other_schemes():
    text = "Voir canada.ca/fr, https://gc.ca/x et javascript:alert(1) ou hxxps://evil.com."
    uris = [f["features"][0]["uri"] for f in facets_for(text, lambda h: None)]
    assert uris == ["https://canada.ca/fr", "https://gc.ca/x"]


def test_hosts_are_read_as_a_browser_reads_them():
    assert links.host_of("https://evil.example\\@canada.ca/") == "evil.example"
    assert links.host_of("https://canada.ca@evil.example/") == "evil.example"
    assert links.host_of("https://canada.ca%2F@evil.example") == "evil.example"
    assert links.host_of("HTTPS://Canada.CA.:443/x") == "canada.ca"
    assert links.host_of("https:\\\\evil.example\\x") == "evil.example"


# --- personal data -------------------------------------------------------------------------------

LOCALS = ["jean", "jean.tremblay", "j_t+1"]
ATS = ["@", " @ ", " at ", " AT ", " [at] ", "(at)", " {at} ", " <at> ", " arobase ", " [arobase] ", " (@) "]
DOMAINS = ["example", "courriel.example", "gmail"]
DOTS = [".", " dot ", " DOT ", " [dot] ", "(dot)", " point ", " (point) ", " [.] ", "{.}"]
TLDS = ["com", "ca", "org", "fr", "qc.ca"]


def email_attempts() -> Iterator[tuple[str, str]]:
    for local, at, domain, dot, tld in itertools.product(LOCALS, ATS, DOMAINS, DOTS, TLDS):
        yield f"{at.strip() or '@'}|{dot.strip() or '.'}", f"Écrivez à {local}{at}{domain.replace('.', dot)}{dot}{tld} merci"


EN_DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
FR_DIGITS = ["zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf"]
DIGIT_SPELLINGS: dict[str, Callable[[int, int], str]] = {
    "o_for_zero": lambda d, i: "O" if d == 0 else str(d),
    "l_for_one": lambda d, i: "l" if d == 1 else str(d),
    "english_words": lambda d, i: EN_DIGITS[d],
    "french_words": lambda d, i: FR_DIGITS[d],
    "english_oh": lambda d, i: "oh" if d == 0 else EN_DIGITS[d],
    "mixed_en": lambda d, i: EN_DIGITS[d] if i % 2 else str(d),
    "mixed_fr": lambda d, i: FR_DIGITS[d] if i % 3 == 0 else str(d),
    "capital_words": lambda d, i: EN_DIGITS[d].upper(),
}
NUMBERS = {"phone": ["6135550199", "8195550123", "4165550000"], "sin": ["046454286", "130692544"]}
GROUPS = {"phone": (3, 3, 4), "sin": (3, 3, 3)}
SEPARATORS = [" ", ", ", "-", ". ", " - "]


def _spell(number: str, kind: str, spelling: Callable[[int, int], str], sep: str) -> str:
    digits = [spelling(int(c), i) for i, c in enumerate(number)]
    if all(len(d) == 1 for d in digits):  # letters for digits: keep the usual grouping
        out, i = [], 0
        for size in GROUPS[kind]:
            out.append("".join(digits[i:i + size]))
            i += size
        return "-".join(out)
    return sep.join(digits)


def number_attempts() -> Iterator[tuple[str, str, str]]:
    seen = set()
    for kind, numbers in NUMBERS.items():
        for number, (how, spelling), sep in itertools.product(numbers, DIGIT_SPELLINGS.items(), SEPARATORS):
            text = f"Call me: {_spell(number, kind, spelling, sep)} tonight"
            if text not in seen:
                seen.add(text)
                yield kind, how, text


def personal_data(text: str) -> set[str]:
    return set(g.personal_data_found(g.canonical(text), postal_codes=True))


def test_every_spelling_of_an_address_is_personal_data():
    tried = list(email_attempts())
    missed = [text for _how, text in tried if "email" not in personal_data(text)]
    assert len(tried) > 1000
    assert missed == [], f"{len(missed)} of {len(tried)} got through, e.g. {missed[:5]}"


def test_every_spelling_of_a_phone_or_insurance_number_is_personal_data():
    tried = list(number_attempts())
    missed = [(kind, text) for kind, _how, text in tried if kind not in personal_data(text)]
    assert missed == [], f"{len(missed)} of {len(tried)} got through, e.g. {missed[:5]}"


@pytest.mark.parametrize("text", [
    "Look at this dot.", "We meet at noon at the point of sale.", "Le point de vue du comité.",
    "One of the five ministers spoke at two.", "Open 9 to 5, seven days.", "Room 101, then 102.",
    "Between 2020 and 2026, one in six people.", "Version 1.0.1 of the O1 form.", "Un, deux, trois, soleil !",
    "See you at 10 o'clock.", "At home, dot the i's.", "Thanks @jean.bsky.social!", "Merci @marie.ca, à lundi.",
    "We meet at noon. Com­munity first.",
])
def test_ordinary_texts_are_not_personal_data(text):
    assert personal_data(text) == set()


def counts() -> dict[str, dict[str, tuple[int, int]]]:
    """{class: {form: (attempts, got through)}}: the closing note's numbers."""
    out: dict[str, dict[str, list[int]]] = {"links": {}, "email": {}, "numbers": {}}

    def add(cls: str, how: str, through: bool) -> None:
        row = out[cls].setdefault(how, [0, 0])
        row[0] += 1
        row[1] += int(through)

    for how, text in link_attempts():
        add("links", how, not link_refused(text))
    for how, text in email_attempts():
        add("email", how, "email" not in personal_data(text))
    for kind, how, text in number_attempts():
        add("numbers", f"{kind}:{how}", kind not in personal_data(text))
    return {cls: {k: (v[0], v[1]) for k, v in rows.items()} for cls, rows in out.items()}


if __name__ == "__main__":  # pragma: no cover - the closing note's numbers
    import json
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    django.setup()
    print(json.dumps(counts()))
