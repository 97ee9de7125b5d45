"""Say the truth about publishing (issue 11): what is live, what failed and why, per language,
in the reader's language. Built from the post's publications (already prefetched)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from ..constants import PostState, PublicationStatus
from ..formats import language, typography

PS = PublicationStatus


def failure_reason(error: str) -> str:
    """A publication's technical error (English, from the adapter) as a reason a person reads,
    in the active language. The technical text is shown beside it, marked as English."""
    text = (error or "").lower()
    attempts = re.search(r"gave up after (\d+) attempts", text)
    if re.search(r"\b(401|403)\b|auth|credential|token|forbidden", text):
        reason = _("the platform refused the channel's credentials")
    elif re.search(r"\b429\b|rate", text):
        reason = _("the platform limits how often we may post; it will accept it later")
    elif re.search(r"timeout|timed out|connection|unreachable|resolve|refused", text):
        reason = _("the platform could not be reached")
    elif re.search(r"no url|not configured|misconfigured|unknown adapter", text):
        reason = _("the channel is not set up to publish")
    elif re.search(r"\b5\d\d\b", text):
        reason = _("the platform had an error")
    else:
        reason = _("the platform did not accept it")
    if attempts:
        reason = _("%(reason)s (gave up after %(n)s attempts)") % {"reason": reason, "n": attempts.group(1)}
    return reason


def _technical(error: str) -> str:
    """The adapter's error without Parley's internal stage names ("preflight: "): the detail a
    person may pass on to whoever fixes the channel."""
    return re.sub(r"^(preflight: )+", "", error or "")


LIVE = {"en": lambda: _("English is live"), "fr": lambda: _("French is live")}
FAILED = {"en": lambda r: _("English failed: %(reason)s") % {"reason": r},
          "fr": lambda r: _("French failed: %(reason)s") % {"reason": r}}
PENDING = {"en": lambda: _("English is being published"), "fr": lambda: _("French is being published")}
UNKNOWN = {"en": lambda: _("English: outcome unknown, check the channel"),
           "fr": lambda: _("French: outcome unknown, check the channel")}


@dataclass
class PublishingTruth:
    """level: success (every language live), error (something failed), warning (unknown), info."""

    level: str
    sentence: str
    details: list[str] = field(default_factory=list)  # the technical errors (English)
    failed: bool = False

    def __str__(self) -> str:
        return self.sentence


def publishing_truth(post) -> PublishingTruth | None:
    """One sentence saying exactly what is live, per language, or None before publishing."""
    pubs = list(post.publications.all())
    if not pubs or post.state in (PostState.DRAFT, PostState.IN_REVIEW, PostState.CHANGES_REQUESTED):
        return None
    by_lang: dict[str, list] = {}
    for p in pubs:
        by_lang.setdefault(p.language, []).append(p)
    parts, details = [], []
    any_failed = any_unknown = any_pending = False
    for lang in sorted(by_lang, key=lambda code: (code != "en", code)):
        items = by_lang[lang]
        statuses = {p.status for p in items}
        failed = [p for p in items if p.status == PS.FAILED]
        if failed:
            any_failed = True
            reasons = sorted({failure_reason(p.last_error) for p in failed})
            parts.append(FAILED.get(lang, FAILED["en"])("; ".join(reasons)))
            details += [f"{p.channel.name or p.channel.handle} ({language(p.language, in_sentence=True)}): "
                        f"{_technical(p.last_error)}" for p in failed if p.last_error]
        elif PS.UNKNOWN in statuses:
            any_unknown = True
            parts.append(UNKNOWN.get(lang, UNKNOWN["en"])())
        elif statuses == {PS.SENT}:
            parts.append(LIVE.get(lang, LIVE["en"])())
        else:
            any_pending = True
            parts.append(PENDING.get(lang, PENDING["en"])())
    sentence = "; ".join(parts) + "."
    sentence = typography(sentence[0].upper() + sentence[1:])  # French: "en ligne ; le français…"
    if any_failed:
        level = "error"
    elif any_unknown:
        level = "warning"
    elif any_pending:
        level = "info"
    else:
        level = "success"
    return PublishingTruth(level=level, sentence=sentence, details=details, failed=any_failed)
