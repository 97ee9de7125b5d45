"""Template filters over workflows/formats.py, one per kind (a builtin: no {% load %} needed).

{{ moment|when }} "Dec. 7, 2026, 10:40 a.m." / "7 déc. 2026, 10 h 40"; {{ moment|when_zone }}
adds "EST" / "HNE"; {{ day|day }}; {{ moment|clock }}; {{ "2026-W50"|week }} "week of Dec. 7, 2026";
{{ n|num }}; {{ seconds|duration }}; {{ ratio|percent }}; {{ text|typography }} (French spaces);
{{ "fr"|language }} "French" / "français", {{ "fr"|language_label }}, {{ codes|languages }}."""
from __future__ import annotations

from typing import Any

from django import template

from .. import formats
from ..web.names import person as person_name

register = template.Library()


@register.filter
def when(value: Any) -> str:
    return formats.datetime(value)


@register.filter
def when_zone(value: Any) -> str:
    return formats.datetime(value, with_zone=True)


@register.filter
def day(value: Any) -> str:
    return formats.date(value)


@register.filter
def clock(value: Any) -> str:
    return formats.time(value)


@register.filter
def week(value: Any) -> str:
    return formats.week(value)


@register.filter
def num(value: Any, decimals: Any = None) -> str:
    return formats.number(value, None if decimals in (None, "") else int(decimals))


@register.filter
def language(value: Any) -> str:
    """In a sentence: "(French)" / "(français)"."""
    return formats.language(value, in_sentence=True)


@register.filter
def language_label(value: Any) -> str:
    """As a label or a table cell: "French" / "Français"."""
    return formats.language(value)


@register.filter
def languages(value: Any) -> str:
    return formats.languages(value)


@register.filter
def typography(value: Any) -> str:
    return formats.typography(str(value or ""))


@register.filter
def person(user: Any) -> str:
    return person_name(user)
