"""Show the guideline results in the reader's language.

workflows.guidelines writes its messages in English (they are data: stored on the post and sent
by the API). The web UI recognises each message's shape and renders it through gettext; a message
it does not recognise is shown as is, marked lang="en"."""
from __future__ import annotations

import re
from dataclasses import asdict, is_dataclass

from django.utils.translation import gettext as _
from django.utils.translation import pgettext


def _lang(name: str) -> str:
    return {"English": pgettext("language in a sentence", "English"),
            "French": pgettext("language in a sentence", "French")}.get(name, name)


def _langs(names: str) -> str:
    return ", ".join(_lang(n.strip()) for n in names.split(","))


def _found(items: str) -> str:
    names = {
        "an email address": _("an email address"),
        "a phone number": _("a phone number"),
        "a SIN-shaped number": _("a SIN-shaped number"),
        "a postal code": _("a postal code"),
    }
    return ", ".join(names.get(i.strip(), i.strip()) for i in items.split(","))


PATTERNS = [
    (r"The (\w+) text is (\d+) characters; the limit is (\d+)\.",
     lambda m: _("The %(lang)s text is %(n)s characters; the limit is %(limit)s.")
     % {"lang": _lang(m[1]), "n": m[2], "limit": m[3]}),
    (r"Length within the channel limit\.", lambda m: _("Length within the channel limit.")),
    (r"The (\w+) text seems to contain personal data: (.+)\.",
     lambda m: _("The %(lang)s text seems to contain personal data: %(found)s.")
     % {"lang": _lang(m[1]), "found": _found(m[2])}),
    (r"No personal data found\.", lambda m: _("No personal data found.")),
    (r"Forbidden terms in the (\w+) text: (.+)\.",
     lambda m: _("Forbidden terms in the %(lang)s text: %(terms)s.") % {"lang": _lang(m[1]), "terms": m[2]}),
    (r"No forbidden terms\.", lambda m: _("No forbidden terms.")),
    (r"Links to domains that are not allowed: (.+)\.",
     lambda m: _("Links to domains that are not allowed: %(links)s.") % {"links": m[1]}),
    (r"Links only to allowed domains\.", lambda m: _("Links only to allowed domains.")),
    (r"Missing text in: (.+?)\. The translation step will provide it\.",
     lambda m: _("Missing text in: %(langs)s. The translation step will provide it.") % {"langs": _langs(m[1])}),
    (r"Missing text in: (.+)\.", lambda m: _("Missing text in: %(langs)s.") % {"langs": _langs(m[1])}),
    (r"Every required language is present\.", lambda m: _("Every required language is present.")),
    (r"No target channel publishes in: (.+)\.",
     lambda m: _("No target channel publishes in: %(langs)s.") % {"langs": _langs(m[1])}),
    (r"The citizen wrote in (\w+): reply in \1\.",
     lambda m: _("The citizen wrote in %(lang)s: reply in %(lang)s.") % {"lang": _lang(m[1])}),
    (r"The citizen wrote in (\w+), but the reply reads as (\w+)\.",
     lambda m: _("The citizen wrote in %(lang)s, but the reply reads as %(other)s.")
     % {"lang": _lang(m[1]), "other": _lang(m[2])}),
    (r"Reply written in (\w+), the citizen's language\.",
     lambda m: _("Reply written in %(lang)s, the citizen's language.") % {"lang": _lang(m[1])}),
    (r"The author acknowledged the four rules\.", lambda m: _("The author acknowledged the four rules.")),
    (r"Acknowledge the four rules: .*",
     lambda m: _("Acknowledge the four rules: don't embarrass yourself, don't embarrass the government, "
                 "don't be untrue, don't be boring.")),
]
COMPILED = [(re.compile(p + r"\Z"), f) for p, f in PATTERNS]


def translate_message(message: str) -> tuple[str, str]:
    """(text, lang): the message in the active language, or the original with lang 'en'."""
    for regex, render in COMPILED:
        m = regex.match(message or "")
        if m:
            return render(m), ""
    return message, "en"


def display_checks(results) -> list[dict]:
    """Guideline results (CheckResult objects or their dicts) ready for a template."""
    out = []
    for r in results or []:
        d = asdict(r) if is_dataclass(r) else dict(r)
        d["text"], d["text_lang"] = translate_message(d.get("message", ""))
        out.append(d)
    return out
