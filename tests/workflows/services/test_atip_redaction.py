"""Issue 20, item 5: ATIP redaction takes each part of a citizen's name, with or without a title,
whatever the case and accents, in every file of the export; a bad pattern is a clear bilingual
error, never RE2's internal text.

The name test is a GENERATOR: citizens × each part of their name × titles × spellings (as
written, upper, lower, without accents, decomposed accents) × sentence frames, run through the
exporter's Redactor; one end-to-end export checks that every file of the ZIP gets the same.
`counts()` gives the closing note's numbers (call it after `django.setup()`)."""
from __future__ import annotations

import itertools
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterator

import pytest
from django.utils import translation

from tests.workflows import factories as f
from workflows.exceptions import InvalidInput
from workflows.models import AtipExport
from workflows.services import atip
from workflows.services.inbound import inbound_ingest

CITIZENS = ["Jean-Marc Tremblay", "Élise Bélanger", "Marie-Ève O'Neil", "Zoë van der Berg", "Renée Côté-Lévesque"]
#: The parts a reader would recognise alone (written here, not computed by the code under test).
PARTS = {
    "Jean-Marc Tremblay": ["Jean-Marc", "Jean", "Marc", "Tremblay"],
    "Élise Bélanger": ["Élise", "Bélanger"],
    "Marie-Ève O'Neil": ["Marie-Ève", "Marie", "Ève", "O'Neil"],
    "Zoë van der Berg": ["Zoë", "Berg"],
    "Renée Côté-Lévesque": ["Renée", "Côté-Lévesque", "Côté", "Lévesque"],
}
TITLES = ["", "M. ", "M ", "Mme ", "Mlle ", "Me ", "Dr ", "Dr. ", "Dre ", "Mr ", "Mr. ", "Mrs ", "Ms. ", "Miss ",
          "Madame ", "Monsieur "]


def _no_accents(s: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", s) if not unicodedata.combining(c))


SPELLINGS: dict[str, Callable[[str], str]] = {
    "as_written": lambda s: s,
    "upper": str.upper,
    "lower": str.lower,
    "no_accents": _no_accents,
    "decomposed": lambda s: unicodedata.normalize("NFD", s),
    "hyphen_as_space": lambda s: s.replace("-", " "),
}
FRAMES = ["Bonjour {x}, merci de votre message.", "Hello {x}! We called back.", "({x})", "{x}: votre dossier.",
          "Réponse à {x} – suivi."]


def attempts() -> Iterator[tuple[str, str, str, str]]:
    """(citizen, part, how, text) for every citizen × part × title × spelling × frame."""
    for citizen in CITIZENS:
        for part, title, (how, spell), frame in itertools.product(PARTS[citizen], TITLES, SPELLINGS.items(), FRAMES):
            yield citizen, part, how, frame.format(x=title + spell(part))


def _words(text: str) -> set[str]:
    folded = _no_accents(unicodedata.normalize("NFC", text)).lower()
    return set(re.findall(r"[^\W_]+", folded))


def leaked(part: str, text: str) -> bool:
    """Whether a word of `part` (folded) is still a word of the redacted `text`."""
    return bool({w for w in _words(part) if len(w) >= 2} & _words(text))


def redactor_for(citizen: str) -> atip.Redactor:
    """The exporter's redactor for one citizen, as `_build` makes it."""
    try:
        return atip.Redactor.build(literals=[citizen], patterns=[], names=atip.name_parts(citizen))
    except (TypeError, AttributeError):  # the code before issue 20 (for the closing note's counts)
        return atip.Redactor.build(literals=[citizen], patterns=[])


def test_every_part_of_every_name_with_any_title_and_spelling_is_redacted():
    tried = list(attempts())
    redactors = {c: redactor_for(c) for c in CITIZENS}
    missed = [(part, text, out) for citizen, part, _how, text in tried
              if leaked(part, out := redactors[citizen].text(text))]
    assert len(tried) > 7_000
    assert missed == [], f"{len(missed)} of {len(tried)} got through, e.g. {missed[:5]}"


@pytest.mark.parametrize(("text", "expected"), [
    ("Bonjour Jean-Marc, M. Tremblay vous rappellera.", "Bonjour [REDACTED], [REDACTED] vous rappellera."),
    ("Jean Marc Tremblay", "[REDACTED]"),
    ("Marcel et Jeanne au marché.", "Marcel et Jeanne au marché."),  # other words that start alike stay
    ("Monsieur Tremblay-Gagnon", "[REDACTED]-Gagnon"),
])
def test_words_only_whole_and_titles_with_the_name(text, expected):
    assert redactor_for("Jean-Marc Tremblay").text(text) == expected


def test_particles_titles_and_initials_are_not_name_parts():
    assert atip.name_parts("Dr Marie de la Tour J.") == ["Marie", "Tour"]
    assert atip.name_parts("@handle") == []


def _thread(demo) -> None:
    inbound_ingest(by=demo.dana, channel="dpe-fr", external_id="atip-20", author="Jean-Marc Tremblay",
                   text="Bonjour, je m'appelle Jean-Marc Tremblay.", language="fr")
    # A staff reply that names the citizen only by parts: published, so it is in every file.
    f.published(demo, texts={"en": "Hello Jean-Marc, as promised to Mr. TREMBLAY: the office reopens Monday."})


def test_every_file_of_the_export_loses_every_name_part(demo, settings, tmp_path):
    settings.EXPORT_ROOT = tmp_path / "exports"
    _thread(demo)
    export = atip.atip_export_request(by=demo.cora, redact_names=True, language="fr")
    assert atip.atip_export_build(export_id=export.id) == "done"
    export = AtipExport.objects.get(id=export.id)
    zf = zipfile.ZipFile(atip.export_file(export))
    assert {"export.json", "summary.html", "csv/revisions.csv", "csv/publications.csv"} <= set(zf.namelist())
    for name in zf.namelist():
        body = zf.read(name).decode()
        for part in ("Jean-Marc", "Jean", "Marc", "Tremblay", "TREMBLAY", "Mr. [REDACTED]"):
            assert not re.search(rf"(?<![\w-]){re.escape(part)}(?![\w-])", body), (name, part)
    data = __import__("json").loads(zf.read("export.json"))
    assert data["manifest"]["redaction"]["what"] == ["names"]
    summary = zf.read("summary.html").decode()
    assert "chaque partie du nom" in summary  # the summary says what was redacted, in French


@pytest.mark.parametrize(("pattern", "code"), [
    ("[unclosed", "atip.pattern_unclosed"), ("(abc", "atip.pattern_unclosed"), ("abc)", "atip.pattern_unclosed"),
    (r"(a)\1", "atip.pattern_unsupported"), ("(?<=a)b", "atip.pattern_unsupported"),
    ("(?P<n>a)(?P=n)", "atip.pattern_unsupported"), (r"\q", "atip.pattern_escape"), ("x\\", "atip.pattern_escape"),
    ("a**", "atip.pattern_repetition"), ("a{2,1}", "atip.pattern_repetition"), ("*a", "atip.pattern_repetition"),
    ("[z-a]", "atip.pattern_class"),
])
def test_a_bad_pattern_is_a_bilingual_error_code_not_re2s_text(demo, pattern, code):
    with pytest.raises(InvalidInput) as exc:
        atip.atip_export_request(by=demo.cora, redact_patterns=[pattern])
    [error] = exc.value.errors["redact_patterns"]
    assert error.code == code
    assert set(error.params) == {"pattern"}
    words = {}
    for lang in ("en", "fr"):
        with translation.override(lang):
            words[lang] = str(error)
        assert "b'" not in words[lang] and "missing" not in words[lang] and pattern in words[lang]
    assert words["en"] != words["fr"]  # French words exist for it


def counts() -> dict[str, tuple[int, int]]:
    """{spelling: (attempts, got through)}: the closing note's numbers."""
    redactors = {c: redactor_for(c) for c in CITIZENS}
    out: dict[str, list[int]] = {}
    for citizen, part, how, text in attempts():
        row = out.setdefault(how, [0, 0])
        row[0] += 1
        row[1] += int(leaked(part, redactors[citizen].text(text)))
    return {k: (v[0], v[1]) for k, v in out.items()}
