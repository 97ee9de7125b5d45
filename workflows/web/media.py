"""Media in the web pages (issue 22, docs/web.md "Media"): the compose and edit forms' media
fieldsets, and how the post page, the translation step and the queue show a post's media.

A form carries its media as plain fields, so it works without JavaScript and the browser's
script only moves nodes: `media` (one hidden input per attached medium, in order: its id) and,
per medium id N, `media_N_language` ("", "en", "fr"), `media_N_alt_en`, `media_N_alt_fr`,
`media_N_captions_en`, `media_N_captions_fr` (a video's WebVTT, typed or given as a `.vtt`
file in `media_N_captions_file_<lang>`) and `media_N_focus` ("x,y", kept as it was). The file
input `media_upload` attaches a new file: the view stores it through
`services.media.medium_upload` (which reads its type from its content and may refuse it), then
the post is created or edited with the media list (`media=[{"medium", "language", "alt_text",
"captions", "focus"}]`): the services are the judge of every rule. Buttons named
`media_remove` / `media_up` / `media_down` (value: a medium id) act on the list and bring the
form back without saving anything, so removing and reordering work without JavaScript too.

Nothing here decides anything: it parses, loads what the reader may see, and shapes for the
templates."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from .. import formats, limits, selectors
from ..services.media import Attachment

LANGS = ("en", "fr")
#: The longest alternative text and captions a form accepts (the services' caps).
ALT_MAX = limits.ALT_TEXT_MAX
CAPTIONS_MAX = limits.CAPTIONS_MAX
#: At most this many media in the form (the channels' own counts, stricter, are the services').
MEDIA_MAX = limits.MEDIA_PER_POST_MAX
#: What the file input offers (the server reads the type from the content whatever this says).
ACCEPT = "image/jpeg,image/png,image/gif,image/webp,video/mp4,.jpg,.jpeg,.png,.gif,.webp,.mp4"


def medium_url(medium: Any, *, thumbnail: bool = False) -> str:
    """The address of a medium's file (or its thumbnail), "" when there is none: the API's
    permission-checked views (the uploader and the organisation's staff; session sign-in works),
    never a public URL."""
    if thumbnail and not medium.thumbnail:
        return ""
    return reverse("api-medium-thumbnail" if thumbnail else "api-medium-file", kwargs={"pk": medium.pk})


def kind_label(medium: Any) -> str:
    return _("Video") if medium.kind == "video" else _("Image")


def size_label(medium: Any) -> str:
    """"1.2 MB, 1200 × 675 pixels" / "0.8 MB, 42 seconds", in the reader's number format."""
    parts = [_("%(size)s MB") % {"size": formats.number(medium.size / 1_000_000, 1)}]
    if medium.width and medium.height:
        parts.append(_("%(width)s × %(height)s pixels") % {"width": medium.width, "height": medium.height})
    if medium.duration:
        parts.append(_("%(seconds)s seconds") % {"seconds": formats.number(medium.duration, 0)})
    return ", ".join(parts)


class ShowsMedium:
    """What a template shows of `self.medium`: its links, kind and size, in the reader's words."""

    medium: Any

    @property
    def is_video(self) -> bool:
        return self.medium.kind == "video"

    @property
    def thumb_url(self) -> str:
        return medium_url(self.medium, thumbnail=True) or ("" if self.is_video else medium_url(self.medium))

    @property
    def file_url(self) -> str:
        return medium_url(self.medium)

    @property
    def kind_label(self) -> str:
        return kind_label(self.medium)

    @property
    def size_label(self) -> str:
        return size_label(self.medium)


@dataclass
class Entry(ShowsMedium):
    """One medium in a compose or edit form, as the template shows it."""

    medium: Any  # a workflows.models.Medium (read through selectors)
    language: str = ""
    alt: dict[str, str] = field(default_factory=lambda: {"en": "", "fr": ""})
    captions: dict[str, str] = field(default_factory=lambda: {"en": "", "fr": ""})
    focus: tuple[float, float] = (0.0, 0.0)
    #: field name ("alt_en", "captions_fr", "language") → messages, in the reader's language
    errors: dict[str, list[str]] = field(default_factory=dict)
    #: the live counters (characters, the channels' limit or None) per language: from the preview
    alt_counts: dict[str, tuple[int, int | None]] = field(default_factory=dict)
    #: guideline results about this medium's texts, per language (display form)
    checks: dict[str, list[dict]] = field(default_factory=dict)
    #: 1-based place, as the pre-screen's messages name it ("Image 2")
    number: int = 0
    #: which of its buttons gets the focus when the form comes back after a move ("up"...)
    autofocus: str = ""

    @property
    def key(self) -> int:
        return self.medium.pk

    @property
    def focus_value(self) -> str:
        return f"{self.focus[0]:g},{self.focus[1]:g}"

    def languages(self) -> list[tuple[str, str, str, str, list[str], list[str], tuple[int, int | None] | None,
                                      list[dict]]]:
        """Per language: (code, name, alt text, captions, alt errors, captions errors, counter,
        checks) — what one column of the fieldset shows."""
        return [(lang, formats.language(lang), self.alt.get(lang, ""), self.captions.get(lang, ""),
                 self.errors.get(f"alt_{lang}", []), self.errors.get(f"captions_{lang}", []),
                 self.alt_counts.get(lang), self.checks.get(lang, [])) for lang in LANGS]

    def for_service(self) -> dict[str, Any]:
        """The shape services.posts takes (`media=[...]`): only the languages it is part of."""
        langs = [self.language] if self.language else list(LANGS)
        return {"medium": self.medium.pk, "language": self.language,
                "alt_text": {lang: self.alt.get(lang, "").strip() for lang in langs},
                "captions": {lang: self.captions.get(lang, "").strip() for lang in langs} if self.is_video else {},
                "focus": list(self.focus)}

    def info(self, position: int = 0) -> Attachment:
        """The pre-screen's view of it (services.media.Attachment, as the post services read it)."""
        langs = [self.language] if self.language else list(LANGS)
        return Attachment(
            medium=self.medium.pk, position=position or self.number, language=self.language,
            alt_text={lang: self.alt.get(lang, "") if lang in langs else "" for lang in LANGS},
            captions={lang: self.captions.get(lang, "") if lang in langs and self.is_video else "" for lang in LANGS},
            focus=self.focus, kind=self.medium.kind, content_type=self.medium.content_type,
            filename=self.medium.original_name, width=self.medium.width, height=self.medium.height,
            duration=self.medium.duration)


def _focus(raw: str) -> tuple[float, float]:
    try:
        x, y = (float(v) for v in raw.split(",", 1))
    except ValueError:
        return (0.0, 0.0)
    return (max(-1.0, min(1.0, x)), max(-1.0, min(1.0, y)))


def _read_captions_file(upload, entry: Entry, lang: str) -> str | None:
    """A `.vtt` file's text (UTF-8), or None with an error on the entry."""
    if upload.size > CAPTIONS_MAX:
        entry.errors.setdefault(f"captions_{lang}", []).append(
            _("The captions file is too large: at most %(limit)s characters.") % {"limit": formats.number(CAPTIONS_MAX)})
        return None
    try:
        return upload.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        entry.errors.setdefault(f"captions_{lang}", []).append(
            _("The captions file is not text in UTF-8: save it as WebVTT (UTF-8) and choose it again."))
        return None


def parse_entries(data, files, *, user) -> list[Entry]:
    """The media the form lists, in order, with what was typed for each (unknown ids dropped)."""
    ids: list[int] = []
    for raw in data.getlist("media")[: MEDIA_MAX * 2]:
        if raw.isdigit() and len(raw) < 19 and int(raw) not in ids:
            ids.append(int(raw))
    found = selectors.media_of_organisation(user=user, ids=ids)
    entries = []
    for pk in ids:
        medium = found.get(pk)
        if medium is None:
            continue
        entry = Entry(medium=medium, language=data.get(f"media_{pk}_language", "")
                      if data.get(f"media_{pk}_language", "") in ("", *LANGS) else "",
                      focus=_focus(data.get(f"media_{pk}_focus", "")))
        for lang in LANGS:
            entry.alt[lang] = data.get(f"media_{pk}_alt_{lang}", "")
            entry.captions[lang] = data.get(f"media_{pk}_captions_{lang}", "")
            if len(entry.alt[lang]) > ALT_MAX:
                entry.errors.setdefault(f"alt_{lang}", []).append(
                    _("At most %(limit)s characters.") % {"limit": formats.number(ALT_MAX)})
            if len(entry.captions[lang]) > CAPTIONS_MAX:
                entry.errors.setdefault(f"captions_{lang}", []).append(
                    _("At most %(limit)s characters.") % {"limit": formats.number(CAPTIONS_MAX)})
            upload = files.get(f"media_{pk}_captions_file_{lang}") if files is not None else None
            if upload is not None and medium.kind == "video":
                text = _read_captions_file(upload, entry, lang)
                if text is not None:
                    entry.captions[lang] = text
        entries.append(entry)
    number(entries)
    return entries


@dataclass
class Pending:
    """The fieldset of a file chosen but not stored yet: a `<template>` the browser's script
    fills in (preview from an object URL, the file's name); its fields are `media_new_*`."""

    number: int = 0
    key: str = "new"
    language: str = ""
    is_video: bool = False
    thumb_url: str = ""
    errors: dict = field(default_factory=dict)
    alt_counts: dict = field(default_factory=dict)
    checks: dict = field(default_factory=dict)

    def languages(self) -> list[tuple[str, str, str, str, list, list, Any, list]]:
        return [(lang, formats.language(lang), "", "", [], [], self.alt_counts.get(lang), self.checks.get(lang, []))
                for lang in LANGS]


def context(form) -> dict[str, Any]:
    """What the media fieldsets of a compose or edit form need in the template's context."""
    entries = getattr(form, "media_entries", [])
    return {"media_entries": entries, "media_pending": Pending(number=len(entries) + 1),
            "media_error_links": error_links(entries)}


def number(entries: list[Entry]) -> list[Entry]:
    for i, entry in enumerate(entries, start=1):
        entry.number = i
    return entries


def entry_errors(entries: list[Entry]) -> bool:
    return any(e.errors for e in entries)


def attach_upload(request, form, entries: list[Entry]) -> bool:
    """Store the form's new file, if one was chosen (services.media.medium_upload reads its type
    from its content, strips its metadata, or refuses it), and add it to `entries` with what was
    typed in its `media_new_*` fields. False, with the refusal in the reader's language on the
    file field, when it was not stored."""
    from ..exceptions import WorkflowError
    from ..services.media import medium_upload

    upload = request.FILES.get("media_upload")
    if upload is None:
        return True
    if len(entries) >= MEDIA_MAX:
        form.add_error("media_upload", _("A post has at most %(limit)s images or videos: remove one to attach "
                                         "another.") % {"limit": MEDIA_MAX})
        return False
    try:
        medium = medium_upload(by=request.user, upload=upload)
    except WorkflowError as exc:
        form.add_error("media_upload", exc.message)
        return False
    data = request.POST
    language = data.get("media_new_language", "")
    entry = Entry(medium=medium, language=language if language in LANGS else "")
    for lang in LANGS:
        entry.alt[lang] = data.get(f"media_new_alt_{lang}", "")[:ALT_MAX]
        entry.captions[lang] = data.get(f"media_new_captions_{lang}", "")[:CAPTIONS_MAX]
    entries.append(entry)
    number(entries)
    return True


def pending_info(data, position: int) -> Attachment:
    """The not-yet-stored file's texts as the pre-screen sees them (live checks only): its kind
    is what the browser said (`media_new_kind`); the server reads the real one on upload."""
    kind = "video" if data.get("media_new_kind") == "video" else "image"
    language = data.get("media_new_language", "")
    language = language if language in LANGS else ""
    langs = [language] if language else list(LANGS)
    return Attachment(
        medium=0, position=position, language=language, kind=kind,
        alt_text={lang: data.get(f"media_new_alt_{lang}", "")[:ALT_MAX] if lang in langs else "" for lang in LANGS},
        captions={lang: data.get(f"media_new_captions_{lang}", "")[:CAPTIONS_MAX]
                  if lang in langs and kind == "video" else "" for lang in LANGS},
        filename=data.get("media_new_name", "")[:255])


def rearrange(data, entries: list[Entry], form) -> tuple[list[Entry], bool]:
    """Apply a remove / move-up / move-down button (pressed without JavaScript: the script does
    the same in the page). Returns the list and whether such a button was pressed; the control
    to focus when the form comes back gets `autofocus` (the same button, or the next one)."""
    for action in ("media_remove", "media_up", "media_down"):
        raw = data.get(action, "")
        if not raw.isdigit():
            continue
        index = next((i for i, e in enumerate(entries) if e.key == int(raw)), None)
        if index is not None and action == "media_remove":
            entries.pop(index)
            index = min(index, len(entries) - 1)
            if entries:
                entries[index].autofocus = "remove"
        elif index is not None:
            other = index - 1 if action == "media_up" else index + 1
            if 0 <= other < len(entries):
                entries[index], entries[other] = entries[other], entries[index]
                index = other
            moved = entries[index]
            # The button pressed, unless the medium is now at that end of the list (no such button).
            if len(entries) == 1:
                moved.autofocus = "remove"
            elif action == "media_up":
                moved.autofocus = "up" if index > 0 else "down"
            else:
                moved.autofocus = "down" if index < len(entries) - 1 else "up"
        if not entries or index is None:
            form.fields["media_upload"].widget.attrs["autofocus"] = True
        return number(entries), True
    return entries, False


def entries_from_post(post) -> list[Entry]:
    """The compose form's media for an edit: the post's attachments as they are."""
    out = []
    for pm in _attachments(post):
        out.append(Entry(medium=pm.medium, language=pm.language,
                         alt={lang: getattr(pm, f"alt_text_{lang}", "") or "" for lang in LANGS},
                         captions={lang: getattr(pm, f"captions_{lang}", "") or "" for lang in LANGS},
                         focus=(pm.focus_x, pm.focus_y)))
    return number(out)


def _attachments(post) -> list:
    return selectors.post_attachments(post)


def place_errors(entries: list[Entry], errors: dict) -> list[str]:
    """Put a service's `media.<index>.<field>` errors on their entries; return the keys placed."""
    placed = []
    for key, msgs in (errors or {}).items():
        parts = str(key).split(".")
        if len(parts) < 2 or parts[0] != "media" or not parts[1].isdigit():
            continue
        index = int(parts[1])
        if index >= len(entries):
            continue
        name = parts[2] if len(parts) > 2 else "medium"
        name = {"alt_text_en": "alt_en", "alt_text_fr": "alt_fr", "captions_en": "captions_en",
                "captions_fr": "captions_fr", "language": "language"}.get(name, "medium")
        entries[index].errors.setdefault(name, []).extend(str(m) for m in msgs)
        placed.append(key)
    return placed


def error_links(entries: list[Entry]) -> list[tuple[str, str]]:
    """(element id, "label: message") for the error summary, in the page's order."""
    out: list[tuple[str, str]] = []
    for e in entries:
        for name, msgs in e.errors.items():
            target = f"media_{e.key}_{name}" if name != "medium" else f"media-{e.key}"
            label = _medium_field_label(e, name)
            out.extend((target, f"{label}: {m}") for m in msgs)
    return out


def _medium_field_label(e: Entry, name: str) -> str:
    what = (_("Video %(n)s") if e.is_video else _("Image %(n)s")) % {"n": e.number}
    labels = {"alt_en": _("English alternative text"), "alt_fr": _("French alternative text"),
              "captions_en": _("English captions"), "captions_fr": _("French captions"),
              "language": _("Which post shows it")}
    return f"{what}, {labels[name]}" if name in labels else what


def attach_preview(entries: list[Entry], preview) -> None:
    """Give each entry its live counters and the pre-screen's results about its texts."""
    from ..messages import display_results

    counts = getattr(preview, "alt_lengths", {}) or {}
    for index, entry in enumerate(entries):
        entry.alt_counts = dict(counts.get(index, {}))
        entry.checks = {lang: [] for lang in LANGS}
    for r in display_results(getattr(preview, "results", [])):
        parts = str(r.get("field") or "").split(".")
        if len(parts) == 3 and parts[0] == "media" and parts[1].isdigit() and int(parts[1]) < len(entries):
            lang = parts[2].rsplit("_", 1)[-1]
            if lang in LANGS:
                entries[int(parts[1])].checks[lang].append(r)


# --- showing a post's media (post page, translation step, queue) ---------------------------

@dataclass
class Shown(ShowsMedium):
    """One attachment as a reader sees it, in the reader's language."""

    number: int
    medium: Any  # a workflows.models.Medium (read through selectors)
    language: str
    #: the alternative text in the reader's language, or for a medium of the other language's post
    #: only, in that language (`alt_lang` says which); "" when there is none
    alt: str
    alt_lang: str
    alt_missing: bool
    #: alt text per language (the tracker shows both to approvers)
    alts: dict[str, str]
    captions: dict[str, bool]


    def per_language(self) -> list[tuple[str, str, str, bool]]:
        """(code, name, alt text, has captions) for each language it is part of."""
        langs = [self.language] if self.language else list(LANGS)
        return [(lang, formats.language(lang), self.alts.get(lang, ""), self.captions.get(lang, False))
                for lang in langs]


def shown_media(post, reader_language: str) -> list[Shown]:
    """The post's media for a page in `reader_language`: never the other language's text in its
    place (a missing description is said to be missing)."""
    lang = reader_language if reader_language in LANGS else "en"
    out = []
    for i, pm in enumerate(_attachments(post), start=1):
        alts = {code: (getattr(pm, f"alt_text_{code}", "") or "").strip() for code in LANGS}
        caps = {code: bool((getattr(pm, f"captions_{code}", "") or "").strip()) for code in LANGS}
        # A medium of one language's post only is described in that language (said, and marked
        # with its `lang`); a shared one in the reader's language, or said to be missing.
        alt_lang = pm.language if pm.language in LANGS else lang
        out.append(Shown(number=i, medium=pm.medium, language=pm.language, alt=alts[alt_lang], alt_lang=alt_lang,
                         alt_missing=not alts[alt_lang], alts=alts, captions=caps))
    return out


# --- the translation step ------------------------------------------------------------------

@dataclass
class ToTranslate:
    """One medium the translator describes in `language`, beside the other language's text."""

    shown: Shown
    position: int
    language: str
    #: the other language's alternative text and captions (what is translated)
    source_lang: str
    source_alt: str
    source_captions: str
    alt: str
    captions: str

    @property
    def key(self) -> int:
        return self.position


def _translatable(post, language: str) -> list:
    """The attachments part of `language`'s post: shared ones and that language's own."""
    return [pm for pm in _attachments(post) if pm.language in ("", language)]


def translation_media(post, *, language: str, data=None) -> list[ToTranslate]:
    """What the translation form shows for each medium: the source texts and the fields for
    `language` (what was typed when the form comes back, else what is stored)."""
    language = language if language in LANGS else "fr"
    source = "en" if language == "fr" else "fr"
    shown = {s.medium.pk: s for s in shown_media(post, language)}
    out = []
    for pm in _translatable(post, language):
        pos = pm.position
        alt = getattr(pm, f"alt_text_{language}", "") or ""
        captions = getattr(pm, f"captions_{language}", "") or ""
        if data is not None and f"tmedia_{pos}_alt" in data:
            alt = data.get(f"tmedia_{pos}_alt", "")
            captions = data.get(f"tmedia_{pos}_captions", "")
        out.append(ToTranslate(shown=shown[pm.medium_id], position=pos, language=language, source_lang=source,
                               source_alt=getattr(pm, f"alt_text_{source}", "") or "",
                               source_captions=getattr(pm, f"captions_{source}", "") or "", alt=alt,
                               captions=captions))
    return out


def translation_texts(post, data) -> list[dict[str, Any]]:
    """The translation form's media texts, as the translation step takes them
    (`media=[{"position", "alt_text", "captions"}]`); [] when the form had none."""
    language = data.get("language", "fr")
    out = []
    for pm in _translatable(post, language if language in LANGS else "fr"):
        pos = pm.position
        if f"tmedia_{pos}_alt" not in data:
            continue
        item: dict[str, Any] = {"position": pos, "alt_text": data.get(f"tmedia_{pos}_alt", "")[:ALT_MAX].strip()}
        if pm.medium.kind == "video":
            item["captions"] = data.get(f"tmedia_{pos}_captions", "")[:CAPTIONS_MAX].strip()
        out.append(item)
    return out
