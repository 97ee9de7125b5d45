"""One formatting helper per kind, in the reader's language (issue 21): pages, e-mails, exports
and the API's `*_display` fields all call these, never a format string of their own.

English: "Dec. 7, 2026", "10:40 a.m.", "Dec. 7, 2026, 10:40 a.m.", "EST"; French: "7 déc. 2026",
"1er déc. 2026", "10 h 40", "7 déc. 2026, 10 h 40", "HNE". The patterns are Django's own
(`django.utils.formats` with the active language; the French ones in config/formats/fr/formats.py
through FORMAT_MODULE_PATH); this module adds only what Django's formats cannot say: the French
ordinal "1er", French time-zone abbreviations, a week as a date, durations, and the French spaces
before ":", ";", "!" and "?". Machine fields (ISO 8601 in the API, `datetime=` attributes) stay raw.
"""
from __future__ import annotations

import re
from datetime import date as date_type
from datetime import datetime as datetime_type
from datetime import timedelta
from typing import Any

from django.utils import formats, timezone
from django.utils.dateformat import format as dateformat
from django.utils.translation import get_language, pgettext
from django.utils.translation import gettext as _

#: French typography: a narrow no-break space (U+202F) before ";", "!" and "?", and a no-break
#: space (U+00A0) before ":" (Office québécois de la langue française; Termium's Writing Tips).
NNBSP = "\u202f"
NBSP = "\u00a0"

#: English abbreviations of North American zones -> the French ones (Termium: "HNE", "HAE"...).
ZONES_FR = {
    "EST": "HNE", "EDT": "HAE", "CST": "HNC", "CDT": "HAC", "MST": "HNR", "MDT": "HAR",
    "PST": "HNP", "PDT": "HAP", "AST": "HNA", "ADT": "HAA", "NST": "HNT", "NDT": "HAT",
    "UTC": "UTC", "GMT": "UTC",
}


def _french() -> bool:
    return (get_language() or "en").split("-")[0] == "fr"


def _parse(value: Any) -> Any:
    """An ISO 8601 string (a stored manifest, a JSON payload) as the date or datetime it names."""
    if isinstance(value, str):
        try:
            return datetime_type.fromisoformat(value) if "T" in value or " " in value else date_type.fromisoformat(value)
        except ValueError:
            return value
    return value


def _local(value: datetime_type) -> datetime_type:
    return timezone.localtime(value) if timezone.is_aware(value) else value


def _date_pattern(day: int) -> str:
    pattern = formats.get_format("DATE_FORMAT")
    if _french() and day == 1 and pattern.startswith("j"):
        return "j\\e\\r" + pattern[1:]  # "1er décembre": the ordinal for the first day only
    return pattern


def date(value: Any) -> str:
    """A day: "Dec. 7, 2026" / "7 déc. 2026", "1er déc. 2026"."""
    if value is None or value == "":
        return "—"
    value = _parse(value)
    if isinstance(value, str):
        return value
    if isinstance(value, datetime_type):
        value = _local(value)
    return dateformat(value, _date_pattern(value.day))


def time(value: Any) -> str:
    """A time of day: "10:40 a.m." / "10 h 40"."""
    if value is None or value == "":
        return "—"
    value = _parse(value)
    if isinstance(value, str):
        return value
    if isinstance(value, datetime_type):
        value = _local(value)
    return formats.time_format(value, "TIME_FORMAT")


def zone(value: datetime_type | None) -> str:
    """The time zone's abbreviation in the reader's language: "EST" / "HNE"."""
    if value is None or not isinstance(value, datetime_type) or not timezone.is_aware(value):
        return ""
    name = _local(value).tzname() or ""
    return ZONES_FR.get(name, name) if _french() else name


def datetime(value: Any, *, with_zone: bool = False) -> str:
    """A moment: "Dec. 7, 2026, 10:40 a.m." / "7 déc. 2026, 10 h 40" (and " EST" / " HNE")."""
    if value is None or value == "":
        return "—"
    value = _parse(value)
    if isinstance(value, str):
        return value
    value = _local(value)
    text = f"{date(value)}, {time(value)}"
    return f"{text} {zone(value)}" if with_zone and zone(value) else text


def week_start(value: Any) -> date_type | None:
    """The Monday of an ISO week ("2026-W50", or any day of it); None when it names none."""
    if isinstance(value, str):
        match = re.fullmatch(r"(\d{4})-W(\d{2})", value.strip())
        return date_type.fromisocalendar(int(match[1]), int(match[2]), 1) if match else None
    if isinstance(value, datetime_type):
        value = _local(value).date()
    return value - timedelta(days=value.weekday()) if isinstance(value, date_type) else None


def week(value: Any) -> str:
    """An ISO week ("2026-W50", or any day of it) as its Monday: "week of Dec. 7, 2026" /
    "semaine du 7 déc. 2026"."""
    if value is None or value == "":
        return "—"
    monday = week_start(value)
    if monday is None:
        return str(value)
    return _("week of %(date)s") % {"date": date(monday)}


def number(value: Any, decimals: int | None = None) -> str:
    """A number with the reader's separators: "1,234.5" / "1 234,5"."""
    if value is None or value == "":
        return "—"
    return formats.number_format(value, decimals, use_l10n=True, force_grouping=True)


def percent(ratio: Any) -> str:
    """0.333 → "33%" (French: "33 %")."""
    if ratio is None or ratio == "":
        return "—"
    return _("%(n)s%%") % {"n": number(round(float(ratio) * 100), 0)}


def duration(seconds: Any) -> str:
    """Seconds as a person reads them: "45 s", "12 min", "2 h 49 min" (French the same, with
    a decimal comma)."""
    if seconds is None or seconds == "":
        return "—"
    if isinstance(seconds, timedelta):
        seconds = seconds.total_seconds()
    seconds = float(seconds)
    if seconds < 60:
        return _("%(n)s s") % {"n": number(round(seconds), 0)}
    minutes = seconds / 60
    if minutes < 10:
        return _("%(n)s min") % {"n": number(round(minutes, 1), 1)}
    if minutes < 60:
        return _("%(n)s min") % {"n": number(round(minutes), 0)}
    hours, rest = divmod(round(minutes), 60)
    if rest == 0:
        return _("%(h)s h") % {"h": number(hours, 0)}
    return _("%(h)s h %(m)s min") % {"h": number(hours, 0), "m": rest}


def language(code: str, *, in_sentence: bool = False) -> str:
    """A language code as its name: "French" / "Français" (a label), "French" / "français" (in a
    sentence). Never "(fr)" or "Langue : fr" on a page."""
    if in_sentence:
        names = {"en": pgettext("language in a sentence", "English"), "fr": pgettext("language in a sentence", "French")}
    else:
        names = {"en": _("English"), "fr": _("French")}
    return names.get(str(code), str(code))


def languages(codes: Any, *, in_sentence: bool = True) -> str:
    """Several languages: "English, French" / "anglais, français"."""
    return ", ".join(language(c, in_sentence=in_sentence) for c in (codes or []))


_BEFORE_NNBSP = re.compile(r"[ \u00a0]?([;!?])(?=\s|$|[»)\"'])")
_BEFORE_NBSP = re.compile(r"(?<=\S)[ \u202f]?:(?=\s|$)")


def typography(text: str, language: str | None = None) -> str:
    """French spacing before ";", "!", "?" (narrow no-break space) and ":" (no-break space);
    English text is returned unchanged. For words Parley writes, not a citizen's text."""
    if (language or get_language() or "en").split("-")[0] != "fr":
        return text
    text = _BEFORE_NNBSP.sub(lambda m: NNBSP + m[1], text)
    return _BEFORE_NBSP.sub(NBSP + ":", text)
