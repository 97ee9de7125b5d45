"""The French catalogue is complete, and guideline results read in French in the French UI."""
from __future__ import annotations

import re
import subprocess

from django.utils import translation

from workflows.web.checks_i18n import translate_message

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
    with translation.override("fr"):
        text, lang = translate_message("The English text is 612 characters; the limit is 500.")
        assert (text, lang) == ("Le texte en anglais compte 612 caractères; la limite est de 500.", "")
        text, lang = translate_message("The citizen wrote in French: reply in French.")
        assert text == "Le citoyen a écrit en français : répondez en français."
        # A message of a shape we do not know is shown as is, marked as English.
        assert translate_message("Something new.") == ("Something new.", "en")
