"""The French catalogue is complete, and guideline results read in French in the French UI."""
from __future__ import annotations

import re
import subprocess

from django.utils import translation

from workflows.messages import display_results

from .conftest import ROOT

PO = ROOT / "locale" / "fr" / "LC_MESSAGES" / "django.po"


def test_french_catalogue_is_fully_translated():
    result = subprocess.run(["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(PO)],
                            capture_output=True, text=True, check=True)
    stats = result.stderr.strip()
    translated = int(re.search(r"(\d+) translated messages?", stats).group(1))
    assert translated > 250
    assert "untranslated" not in stats, stats
    assert "fuzzy" not in stats, stats


def test_guideline_messages_are_shown_in_french():
    stored = [
        {"rule": "length", "severity": "block", "ok": False, "code": "length.over",
         "params": {"language": "en", "length": 612, "limit": 500}, "language": "en", "field": "texts.en"},
        {"rule": "reply_language", "severity": "block", "ok": False, "code": "reply_language.missing",
         "params": {"language": "fr"}, "language": "fr", "field": "texts.fr"},
        # A result stored before codes existed (English words only) is shown as is, marked English.
        {"rule": "length", "severity": "block", "ok": False, "message": "Something new.", "language": "en"},
    ]
    with translation.override("fr"):
        shown = [(d["text"], d["text_lang"]) for d in display_results(stored)]
    assert shown == [
        ("Le texte en anglais compte 612 caractères\u202f; la limite est de 500.", ""),
        ("Le citoyen a écrit en français\u00a0: rédigez la réponse en français.", ""),
        ("Something new.", "en"),
    ]
