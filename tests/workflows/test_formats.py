"""One formatting helper per kind (issue 21, item 6): what English and French readers expect."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.template import engines
from django.utils import translation

from workflows import formats

UTC = ZoneInfo("UTC")
DEC7 = datetime(2026, 12, 7, 15, 40, tzinfo=UTC)  # 10:40 in Toronto (EST)
JUL1 = datetime(2026, 7, 1, 15, 40, tzinfo=UTC)  # 11:40 in Toronto (EDT)


@pytest.mark.parametrize(("lang", "expected"), [
    ("en", "Dec. 7, 2026, 10:40 a.m."),
    ("fr", "7 déc. 2026, 10 h 40"),
])
def test_datetime(settings, lang, expected):
    settings.TIME_ZONE = "America/Toronto"
    with translation.override(lang):
        assert formats.datetime(DEC7) == expected


@pytest.mark.parametrize(("lang", "winter", "summer"), [("en", "EST", "EDT"), ("fr", "HNE", "HAE")])
def test_zone_in_the_readers_language(settings, lang, winter, summer):
    settings.TIME_ZONE = "America/Toronto"
    with translation.override(lang):
        assert formats.datetime(DEC7, with_zone=True).endswith(f" {winter}")
        assert formats.datetime(JUL1, with_zone=True).endswith(f" {summer}")


def test_first_of_the_month_is_an_ordinal_in_french():
    with translation.override("fr"):
        assert formats.date(date(2026, 12, 1)) == "1er déc. 2026"
        assert formats.date(date(2026, 12, 2)) == "2 déc. 2026"
    with translation.override("en"):
        assert formats.date(date(2026, 12, 1)) == "Dec. 1, 2026"


@pytest.mark.parametrize(("lang", "expected"), [("en", "week of Dec. 7, 2026"), ("fr", "semaine du 7 déc. 2026")])
def test_week_is_a_date_not_a_code(lang, expected):
    with translation.override(lang):
        assert formats.week("2026-W50") == expected
        assert formats.week(date(2026, 12, 10)) == expected


def test_numbers_durations_percentages():
    with translation.override("fr"):
        assert formats.number(1234.5, 1) == "1\u00a0234,5"
        assert formats.percent(0.333) == "33\u00a0%"
        assert formats.duration(10200) == "2 h 50 min"
    with translation.override("en"):
        assert formats.number(1234.5, 1) == "1,234.5"
        assert formats.duration(45) == "45 s"


def test_iso_strings_from_a_manifest_are_read():
    with translation.override("en"):
        assert formats.datetime("2026-12-07T15:40:00+00:00").startswith("Dec. 7, 2026")
        assert formats.date("2026-12-01") == "Dec. 1, 2026"


def test_french_typography():
    with translation.override("fr"):
        assert formats.typography("Étape : oui; non! vraiment? https://x.ca/?a=1 10:40") == (
            "Étape\u00a0: oui\u202f; non\u202f! vraiment\u202f? https://x.ca/?a=1 10:40")
    with translation.override("en"):
        assert formats.typography("Step: yes; no! really?") == "Step: yes; no! really?"


def test_template_filters_are_builtins():
    """Every page and e-mail reaches the helpers without a {% load %}."""
    for name in ("django", "text"):
        tpl = engines[name].from_string("{{ d|when }} / {{ d|day }} / {{ w|week }}")
        with translation.override("fr"):
            out = tpl.render({"d": DEC7, "w": "2026-W50"})
        assert "déc. 2026" in out and "semaine du" in out and "2026-12" not in out

