"""Say the truth about publishing (issue 11): what is live, what failed and why, per language,
in the reader's language. Built from the post's publications (already prefetched).

Issue 21: a publication refused before anything was sent (preflight) says "not sent" with its
own channel's reason, never "the platform refused it"; one held back because another channel of
the post could not publish names that channel ("held: <slug>", written by services/delivery.py)
and is not blamed for its error; each kind of failure says what to change; a retracted post
says so."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from ..constants import PostState, PublicationStatus
from ..formats import language, typography
from ..messages import known
from ..messages import render as words_for

PS = PublicationStatus

PREFLIGHT = "preflight: "
HELD = "held: "

#: Kinds of failure (what a person can change about each: HINTS).
CONFIG, CREDENTIALS, TOO_LONG, UNREACHABLE, RATE, PLATFORM, REFUSED, HELD_BACK, MEDIA = (
    "config", "credentials", "too_long", "unreachable", "rate", "platform", "refused", "held", "media")
#: Failures that cannot pass by retrying as they are: someone must change something first.
PERMANENT = frozenset({CONFIG, CREDENTIALS, TOO_LONG, REFUSED, HELD_BACK, MEDIA})
#: A media refusal (issue 22, channels/base.py MediaRefused): its code and parameters (data).
MEDIA_CODE_RE = re.compile(r"(publish\.media\.[a-z_]+)(?: (\{.*?\}))?: ")


def media_reason(error: str) -> str:
    """A media refusal in the reader's language, from its code and parameters (never from the
    English detail after them)."""
    match = MEDIA_CODE_RE.search(error or "")
    params: dict = {}
    if match and match.group(2):
        try:
            params = json.loads(match.group(2))
        except ValueError:
            params = {}
    code = match.group(1) if match else ""
    if code and known(code) and (params or code.endswith("no_public_url")):
        return words_for(code, params)
    return words_for("publish.media.generic")


def failure_kind(error: str) -> str:
    """The kind of a publication's technical error (English, from the adapter or the preflight)."""
    text = (error or "").lower()
    if text.startswith(HELD):
        return HELD_BACK
    if "publish.media." in text:
        return MEDIA
    if text.startswith(PREFLIGHT) and (re.match(r"preflight: [a-z_]+: ", text)
                                       or re.search(r"environment variable .* not set|must name an environment", text)):
        # The configuration's own refusal ("<key>: <what is wrong>", channels/config.py), or a
        # secret whose variable is not set.
        return CONFIG
    if re.search(r"\b(401|403)\b|auth|credential|token|forbidden", text):
        return CREDENTIALS
    if re.search(r"too long for", text):
        return TOO_LONG
    if re.search(r"\b429\b|rate", text):
        return RATE
    if re.search(r"timeout|timed out|connection|unreachable|resolve|refused to connect", text):
        return UNREACHABLE
    if re.search(r"no url|not configured|misconfigured|unknown adapter", text):
        return CONFIG
    if re.search(r"\b5\d\d\b", text):
        return PLATFORM
    return REFUSED


def was_sent(error: str) -> bool:
    """False when the failure happened before anything reached the platform."""
    return not (error or "").startswith((PREFLIGHT, HELD))


def _held_by(error: str, names: dict[str, str] | None) -> str:
    slugs = [s.strip() for s in (error or "")[len(HELD):].split(",") if s.strip()]
    return ", ".join((names or {}).get(s, s) for s in slugs)


def failure_reason(error: str, names: dict[str, str] | None = None) -> str:
    """A publication's technical error as a reason a person reads, in the active language.
    `names`: channel slug -> display name, to name the channel that held this one back."""
    kind = failure_kind(error)
    attempts = re.search(r"gave up after (\d+) attempts", (error or "").lower())
    if kind == HELD_BACK:
        return _("not sent: held back because %(channels)s cannot publish (both languages or neither)") % {
            "channels": _held_by(error, names)}
    reason = {
        CREDENTIALS: lambda: _("the platform refused the channel's credentials"),
        TOO_LONG: lambda: _("the text is longer than the platform allows"),
        RATE: lambda: _("the platform limits how often we may post; it will accept it later"),
        UNREACHABLE: lambda: _("the platform could not be reached"),
        CONFIG: lambda: _("the channel is not set up to publish"),
        PLATFORM: lambda: _("the platform had an error"),
        REFUSED: lambda: _("the platform did not accept it"),
        MEDIA: lambda: media_reason(error),
    }[kind]()
    if attempts:
        reason = _("%(reason)s (gave up after %(n)s attempts)") % {"reason": reason, "n": attempts.group(1)}
    if not was_sent(error):
        reason = _("not sent: %(reason)s") % {"reason": reason}
    return reason


def failure_hint(kind: str, channel: str) -> str:
    """What to change so that a retry can succeed, for one kind of failure on `channel`."""
    return {
        CONFIG: lambda: _("A channel manager must fix the configuration of %(channel)s; Retry is offered "
                          "again once it is fixed.") % {"channel": channel},
        CREDENTIALS: lambda: _("A channel manager must renew the credentials of %(channel)s (Test connection "
                               "tells when they work), then retry.") % {"channel": channel},
        TOO_LONG: lambda: _("The text is longer than %(channel)s allows: it cannot be sent as it is. "
                            "Write a shorter post.") % {"channel": channel},
        REFUSED: lambda: _("%(channel)s did not accept the text: check it against the platform's rules "
                           "before retrying.") % {"channel": channel},
        MEDIA: lambda: _("Change the post's media to what %(channel)s takes (or publish on another channel), "
                         "then retry.") % {"channel": channel},
        UNREACHABLE: lambda: _("This may pass on its own: retry in a few minutes."),
        RATE: lambda: _("This may pass on its own: retry in a few minutes."),
        PLATFORM: lambda: _("This may pass on its own: retry in a few minutes."),
    }.get(kind, lambda: "")()


def _technical(error: str) -> str:
    """The adapter's error without Parley's internal stage names ("preflight: "): the detail a
    person may pass on to whoever fixes the channel."""
    return re.sub(r"^(preflight: )+", "", error or "")


LIVE = {"en": lambda: _("English is live"), "fr": lambda: _("French is live")}
FAILED = {"en": lambda r: _("English failed: %(reason)s") % {"reason": r},
          "fr": lambda r: _("French failed: %(reason)s") % {"reason": r}}
PENDING = {"en": lambda: _("English is being published"), "fr": lambda: _("French is being published")}
PARENT_GONE = {"en": lambda: _("English held: the message it answers was deleted on the platform, nothing was published"),
        "fr": lambda: _("French held: the message it answers was deleted on the platform, nothing was published")}
UNKNOWN = {"en": lambda: _("English: outcome unknown, check the channel"),
           "fr": lambda: _("French: outcome unknown, check the channel")}
RETRACTED = {"en": lambda: _("English was retracted (deleted from the platform)"),
             "fr": lambda: _("French was retracted (deleted from the platform)")}


@dataclass
class PublishingTruth:
    """level: success (every language live), error (something failed), warning (unknown), info.
    `retracted`: the post was deleted from the platforms (its banner says so)."""

    level: str
    sentence: str
    details: list[str] = field(default_factory=list)  # the technical errors (English)
    failed: bool = False
    #: what to change so that publishing can succeed, one sentence per cause
    hints: list[str] = field(default_factory=list)
    #: every failure needs a change first: retrying as it is would fail again
    permanent: bool = False
    retracted: bool = False
    #: each failed publication's own reason, by publication id (the post page's table)
    reasons: dict[int, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.sentence


def publishing_truth(post) -> PublishingTruth | None:
    """One sentence saying exactly what is live, per language, or None before publishing."""
    pubs = list(post.publications.all())
    if not pubs or post.state in (PostState.DRAFT, PostState.IN_REVIEW, PostState.CHANGES_REQUESTED):
        return None
    names = {p.channel.slug: p.channel.name or p.channel.handle for p in pubs}
    by_lang: dict[str, list] = {}
    for p in pubs:
        by_lang.setdefault(p.language, []).append(p)
    parts, details, hints = [], [], []
    pub_reasons: dict[int, str] = {}
    kinds: set[str] = set()
    any_failed = any_unknown = any_pending = False
    for lang in sorted(by_lang, key=lambda code: (code != "en", code)):
        items = by_lang[lang]
        statuses = {p.status for p in items}
        failed = [p for p in items if p.status == PS.FAILED]
        if failed:
            any_failed = True
            for p in failed:
                pub_reasons[p.id] = failure_reason(p.last_error, names)
            reasons = sorted({pub_reasons[p.id] for p in failed})
            parts.append(FAILED.get(lang, FAILED["en"])("; ".join(reasons)))
            for p in failed:
                kind = failure_kind(p.last_error)
                kinds.add(kind)
                if kind != HELD_BACK and p.last_error:
                    details.append(f"{p.channel.name or p.channel.handle} ({language(p.language, in_sentence=True)}): "
                                   f"{_technical(p.last_error)}")
                hint = failure_hint(kind, names[p.channel.slug])
                if hint and hint not in hints:
                    hints.append(hint)
        elif PS.UNKNOWN in statuses:
            any_unknown = True
            parts.append(UNKNOWN.get(lang, UNKNOWN["en"])())
        elif PS.HELD in statuses:  # a person decides (retry checks again): a warning, not a failure
            any_unknown = True
            parts.append(PARENT_GONE.get(lang, PARENT_GONE["en"])())
        elif statuses == {PS.SENT}:
            parts.append(LIVE.get(lang, LIVE["en"])())
        elif statuses == {PS.RETRACTED}:
            parts.append(RETRACTED.get(lang, RETRACTED["en"])())
        else:
            any_pending = True
            parts.append(PENDING.get(lang, PENDING["en"])())
    sentence = "; ".join(parts) + "."
    sentence = typography(sentence[0].upper() + sentence[1:])  # French: "en ligne ; le français…"
    retracted = post.state == PostState.RETRACTED
    if any_failed:
        level = "error"
    elif any_unknown:
        level = "warning"
    elif any_pending:
        level = "info"
    elif retracted:
        level = "info"
    else:
        level = "success"
    return PublishingTruth(level=level, sentence=sentence, details=details, failed=any_failed, hints=hints,
                           permanent=bool(kinds) and kinds <= PERMANENT, retracted=retracted,
                           reasons=pub_reasons)
