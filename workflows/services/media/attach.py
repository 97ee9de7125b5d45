"""Media on posts and replies: attaching, editing and translating them (issue 22, docs/media.md
"Media on posts").

For every rule that holds for a post's text, a language's media are part of that language's text
(workflows/models/media.py). So a change to a language's media — a medium added, removed,
reordered or replaced, its alternative text, captions or focus changed in that language; a medium
shared by both languages changes both — is an edit of that language: its PostText's `version` and
`updated_by` move as a text edit moves them (`media_write`, `media_translate`), the approvals that
covered it are voided by the same call (engine.invalidate_approvals), the revision snapshots the
media (PostRevision.media, `Attachment.snapshot`), four eyes reads who changed them from those
snapshots (four_eyes.contributors, `language_view`), and the audit event says what changed
(`media_changes`: which media, which languages; the texts themselves are not in the audit trail,
as a text edit's words are not).

Plain data travels between the steps: `Attachment` (one medium on the post, with what the checks
and the snapshot need), read from the rows of `media_rows` — one query, or no query at all inside
a transition: the post's lock reads them in the same statement (engine.post_lock_for_transition)."""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import webvtt
from django.db.models import F, QuerySet, prefetch_related_objects
from django.utils import timezone

from accounts.models import User

from ... import guidelines, limits
from ...exceptions import InvalidInput, TextTooLong, Unpublishable
from ...messages import Message
from ...models import Channel, Medium, Post, PostMedium
from ...models.media import MediaKind
from ...selectors import post_texts
from ..lanes import channel_languages, required_languages

LANGUAGES = ("en", "fr")
#: What a request may say about one medium on the post.
ATTACH_KEYS = frozenset({"medium", "language", "alt_text", "captions", "focus"})
#: What the translation step may say about one medium (found by its position).
TRANSLATE_KEYS = frozenset({"position", "alt_text", "captions"})

#: A PostMedium's own columns and its medium's, as one row: what `media_rows` reads (a
#: `.values()` query, or a JSON object in the post lock's array: engine._lock_for_transition).
OWN_FIELDS = ("medium_id", "position", "language", "alt_text_en", "alt_text_fr", "captions_en", "captions_fr",
              "focus_x", "focus_y")
MEDIUM_FIELDS = {"kind": "medium__kind", "content_type": "medium__content_type",
                 "filename": "medium__original_name", "width": "medium__width", "height": "medium__height",
                 "duration": "medium__duration"}


@dataclass(frozen=True)
class Attachment:
    """One medium on a post, as plain data: its place, its languages, its texts per language
    (both keys always present), its focal point, and what the checks read of the medium."""

    medium: int
    position: int
    language: str = ""
    alt_text: Mapping[str, str] = field(default_factory=lambda: dict.fromkeys(LANGUAGES, ""))
    captions: Mapping[str, str] = field(default_factory=lambda: dict.fromkeys(LANGUAGES, ""))
    focus: tuple[float, float] = (0.0, 0.0)
    kind: str = ""
    content_type: str = ""
    filename: str = ""
    width: int | None = None
    height: int | None = None
    duration: float | None = None

    def shown_in(self, language: str) -> bool:
        """Part of `language`'s post: shared by both languages, or that language's own."""
        return not self.language or self.language == language

    def snapshot(self) -> dict[str, Any]:
        """What a revision records (PostRevision.media)."""
        return {"medium": self.medium, "position": self.position, "language": self.language,
                "alt_text": {lang: self.alt_text.get(lang, "") for lang in LANGUAGES},
                "captions": {lang: self.captions.get(lang, "") for lang in LANGUAGES},
                "focus": [self.focus[0], self.focus[1]]}

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Attachment:
        return cls(
            medium=row["medium_id"], position=row["position"], language=row["language"] or "",
            alt_text={lang: row.get(f"alt_text_{lang}") or "" for lang in LANGUAGES},
            captions={lang: row.get(f"captions_{lang}") or "" for lang in LANGUAGES},
            focus=(float(row["focus_x"] or 0.0), float(row["focus_y"] or 0.0)),
            kind=row.get("kind") or "", content_type=row.get("content_type") or "",
            filename=row.get("filename") or "", width=row.get("width"), height=row.get("height"),
            duration=row.get("duration"),
        )


# --- reading -----------------------------------------------------------------------------------

def media_rows_queryset() -> QuerySet[PostMedium, dict[str, Any]]:
    """Every PostMedium as a row of OWN_FIELDS and MEDIUM_FIELDS, in position order (filter it)."""
    return PostMedium.objects.order_by("post_id", "position", "id").values(
        *OWN_FIELDS, **{k: F(v) for k, v in MEDIUM_FIELDS.items()})


def media_rows_json() -> dict[str, Any]:
    """The same row as JSONObject arguments (PostgreSQL: the lock's ArraySubquery)."""
    return {**{k: k for k in OWN_FIELDS}, **MEDIUM_FIELDS}


def post_media(post: Post) -> list[Attachment]:
    """The post's media, in order (one query; none for a post not saved yet)."""
    if post.pk is None:
        return []
    return [Attachment.from_row(r) for r in media_rows_queryset().filter(post_id=post.pk)]


def media_by_post(post_ids: Iterable[int]) -> dict[int, list[Attachment]]:
    """The media of many posts, in order, by post id: one query (a batch's guideline checks)."""
    found: dict[int, list[Attachment]] = {pid: [] for pid in post_ids}
    if found:
        rows = (PostMedium.objects.filter(post_id__in=list(found)).order_by("post_id", "position", "id")
                .values("post_id", *OWN_FIELDS, **{k: F(v) for k, v in MEDIUM_FIELDS.items()}))
        for row in rows:
            found[row["post_id"]].append(Attachment.from_row(row))
    return found


def snapshots(media: Iterable[Attachment]) -> list[dict[str, Any]]:
    return [a.snapshot() for a in media]


def language_view(snapshot: Iterable[Mapping[str, Any]] | None, language: str) -> tuple:
    """What `language`'s post shows of a media snapshot: its media in order, each with its focus
    and its texts in that language. Two snapshots with the same view for a language have the
    same media for it; four eyes and `changed_languages` compare these."""
    out = []
    for m in snapshot or ():
        if m.get("language") and m.get("language") != language:
            continue
        out.append((m.get("medium"), tuple(m.get("focus") or (0.0, 0.0)),
                    (m.get("alt_text") or {}).get(language, ""), (m.get("captions") or {}).get(language, "")))
    return tuple(out)


def changed_languages(old: list[dict], new: list[dict]) -> list[str]:
    """The languages whose media differ between two snapshots (a shared medium: both)."""
    return [lang for lang in LANGUAGES if language_view(old, lang) != language_view(new, lang)]


def media_changes(old: list[dict], new: list[dict]) -> list[dict[str, Any]]:
    """What changed, for the audit trail: per medium, `added`, `removed`, or the list of what
    changed (`position`, `language`, `focus`, `alt_text`, `captions`), with the languages it
    touches. No text body is recorded (as for a text edit)."""
    before = {m["medium"]: m for m in old}
    after = {m["medium"]: m for m in new}
    out: list[dict[str, Any]] = []
    for mid, m in after.items():
        was = before.get(mid)
        if was is None:
            out.append({"medium": mid, "change": ["added"], "languages": _langs_of(m)})
            continue
        what = [k for k in ("position", "language", "focus") if was.get(k) != m.get(k)]
        for key in ("alt_text", "captions"):
            langs = [lang for lang in LANGUAGES if (was.get(key) or {}).get(lang, "") != (m.get(key) or {}).get(lang, "")]
            if langs:
                what.append(f"{key}:{','.join(langs)}")
        if what:
            out.append({"medium": mid, "change": what, "languages": sorted(set(_langs_of(m)) | set(_langs_of(was)))})
    out += [{"medium": mid, "change": ["removed"], "languages": _langs_of(m)}
            for mid, m in before.items() if mid not in after]
    return out


def media_diff(old: list[dict] | None, new: list[dict] | None) -> list[tuple[str, list[dict[str, Any]]]]:
    """What changed in each language's media between two snapshots, for the post's history:
    [(language, [{"medium", "what": added | removed | moved | alt_text | captions | focus,
    "old", "new"}])], languages without change left out."""
    out = []
    for lang in LANGUAGES:
        old_view, new_view = language_view(old, lang), language_view(new, lang)
        before = {row[0]: row for row in old_view}
        after = {row[0]: row for row in new_view}
        # Moved: its place among the media in both (an addition before it moves nothing).
        kept_before = [r[0] for r in old_view if r[0] in after]
        kept_after = [r[0] for r in new_view if r[0] in before]
        changes: list[dict[str, Any]] = []
        for mid, row in after.items():
            if mid not in before:
                changes.append({"medium": mid, "what": "added", "old": "", "new": row[2]})
                continue
            was = before[mid]
            if kept_before.index(mid) != kept_after.index(mid):
                changes.append({"medium": mid, "what": "moved", "old": kept_before.index(mid) + 1,
                                "new": kept_after.index(mid) + 1})
            for what, k in (("focus", 1), ("alt_text", 2), ("captions", 3)):
                if was[k] != row[k]:
                    changes.append({"medium": mid, "what": what, "old": was[k], "new": row[k]})
        changes += [{"medium": mid, "what": "removed", "old": row[2], "new": ""}
                    for mid, row in before.items() if mid not in after]
        if changes:
            out.append((lang, changes))
    return out


def revisions_media_diff(revisions: Iterable[Any], from_n: int, to_n: int) -> list[tuple[str, list[dict[str, Any]]]]:
    """media_diff between the revisions numbered `from_n` and `to_n` of `revisions` (PostRevision
    rows, as the post's history page reads them); [] when either is not there."""
    by_number = {r.number: r for r in revisions}
    if from_n not in by_number or to_n not in by_number:
        return []
    return media_diff(by_number[from_n].media, by_number[to_n].media)


def _langs_of(snapshot: Mapping[str, Any]) -> list[str]:
    return [snapshot["language"]] if snapshot.get("language") else list(LANGUAGES)


def guideline_media(media: Iterable[Attachment]) -> tuple[guidelines.MediaInfo, ...]:
    """The media as the pre-screen reads them (guidelines.MediaInfo: kind, language, alt text
    and captions per language, the uploaded file's name), in order: the one conversion."""
    return tuple(guidelines.MediaInfo(kind=a.kind, language=a.language, alt=dict(a.alt_text),
                                      captions=dict(a.captions), filename=a.filename) for a in media)


# --- checking what a request says ------------------------------------------------------------

def _invalid(errors: dict[str, list[Message]], code: str = "media.attach.invalid",
             params: dict[str, Any] | None = None) -> InvalidInput:
    return InvalidInput(code=code, params=params or {}, errors=errors)


def _clean_text(value: Any, *, where: str, cap: int, code: str, language: str) -> str:
    """A text as a person wrote it: CRLF → LF, trimmed; over `cap` → TextTooLong (checked
    before anything else reads it); not text, or with NUL → InvalidInput."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _invalid({where: [Message("text.not_string")]})
    if len(value) > cap:
        params = {"length": len(value), "limit": cap, "language": language}
        raise TextTooLong(code=code, params=params, errors={where: [Message(code, params)]})
    value = value.replace("\r\n", "\n").strip()
    if "\x00" in value:
        raise _invalid({where: [Message("text.nul")]})
    return value


def _clean_captions(value: Any, *, where: str, language: str) -> str:
    """WebVTT captions (webvtt-py parses them; empty: none)."""
    text = _clean_text(value, where=where, cap=limits.CAPTIONS_MAX, code="media.attach.captions_too_long",
                       language=language)
    if text:
        try:
            webvtt.from_string(text)
        except Exception:  # noqa: BLE001 - any parser error is the same answer: not WebVTT
            raise _invalid({where: [Message("media.attach.captions_invalid", {"language": language})]},
                           code="media.attach.captions_invalid", params={"language": language}) from None
    return text


def _texts(raw: Any, *, where: str, key: str, only: str) -> dict[str, str]:
    """{"en": …, "fr": …} for `key` (alt_text or captions); a text for a language the medium is
    not shown in (`only`, its one language) is refused."""
    if raw is None:
        return dict.fromkeys(LANGUAGES, "")
    if not isinstance(raw, Mapping):
        raise _invalid({where: [Message("media.attach.texts_not_object")]})
    out = dict.fromkeys(LANGUAGES, "")
    for lang, value in raw.items():
        if lang not in LANGUAGES:
            raise _invalid({f"{where}.{lang}": [Message("texts.unsupported_language")]})
        if key == "captions":
            text = _clean_captions(value, where=f"{where}.{lang}", language=lang)
        else:
            text = _clean_text(value, where=f"{where}.{lang}", cap=limits.ALT_TEXT_MAX,
                               code="media.attach.alt_text_too_long", language=lang)
        if text and only and lang != only:
            params = {"language": only}
            raise _invalid({f"{where}.{lang}": [Message("media.attach.text_other_language", params)]},
                           code="media.attach.text_other_language", params=params)
        out[lang] = text
    return out


def _focus(raw: Any, *, where: str) -> tuple[float, float]:
    if raw is None:
        return (0.0, 0.0)
    ok = (isinstance(raw, list | tuple) and len(raw) == 2
          and all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and -1 <= v <= 1
                  for v in raw))
    if not ok:
        raise _invalid({where: [Message("media.attach.focus_invalid")]}, code="media.attach.focus_invalid")
    return (float(raw[0]), float(raw[1]))


def _ensure_list(raw: Any) -> None:
    """A list of at most MEDIA_PER_POST_MAX entries (the hard cap, whatever the channels)."""
    if not isinstance(raw, list | tuple):
        raise _invalid({"media": [Message("media.attach.not_list")]}, code="media.attach.not_list")
    if len(raw) > limits.MEDIA_PER_POST_MAX:
        params = {"count": len(raw), "limit": limits.MEDIA_PER_POST_MAX}
        raise _invalid({"media": [Message("media.attach.too_many", params)]}, code="media.attach.too_many",
                       params=params)


def media_clean(raw: Any, *, organisation_id: int, languages: Iterable[str]) -> list[Attachment]:
    """A request's `media` (a list of {"medium", "language", "alt_text", "captions", "focus"};
    order = position) as Attachments. The medium must be the organisation's (another's is
    refused as if it did not exist: `media.attach.unknown`); `language` one of `languages`
    (the post's) or "" for both; texts capped (TextTooLong), captions WebVTT and only on a
    video, the focus within -1..1. Raises InvalidInput, TextTooLong; reads one query."""
    _ensure_list(raw)
    allowed = set(languages)
    wanted: list[tuple[int, Mapping]] = []
    for i, item in enumerate(raw):
        where = f"media.{i}"
        if not isinstance(item, Mapping):
            raise _invalid({where: [Message("media.attach.invalid")]})
        unknown = sorted(str(k) for k in item if k not in ATTACH_KEYS)
        if unknown:
            raise _invalid({f"{where}.{k}": [Message("media.attach.unknown_field")] for k in unknown})
        mid = item.get("medium")
        if not isinstance(mid, int) or isinstance(mid, bool) or not 0 < mid < 2**63:
            raise _invalid({f"{where}.medium": [Message("media.attach.unknown")]}, code="media.attach.unknown")
        lang = item.get("language") or ""
        if lang not in ("", *LANGUAGES):
            raise _invalid({f"{where}.language": [Message("texts.unsupported_language")]})
        if lang and lang not in allowed:
            params: dict[str, Any] = {"language": lang}
            raise _invalid({f"{where}.language": [Message("media.attach.language_not_in_post", params)]},
                           code="media.attach.language_not_in_post", params=params)
        wanted.append((mid, item))
    ids = [mid for mid, _ in wanted]
    if len(set(ids)) != len(ids):
        dup = next(mid for mid in ids if ids.count(mid) > 1)
        raise _invalid({f"media.{ids.index(dup, ids.index(dup) + 1)}.medium": [Message("media.attach.duplicate")]},
                       code="media.attach.duplicate")
    found = {m.id: m for m in Medium.objects.filter(id__in=ids, organisation_id=organisation_id).only(
        "id", "kind", "content_type", "original_name", "width", "height", "duration")}
    out: list[Attachment] = []
    for i, (mid, item) in enumerate(wanted):
        where = f"media.{i}"
        medium = found.get(mid)
        if medium is None:  # not there, or another organisation's: the same answer
            raise _invalid({f"{where}.medium": [Message("media.attach.unknown")]}, code="media.attach.unknown")
        lang = item.get("language") or ""
        captions = _texts(item.get("captions"), where=f"{where}.captions", key="captions", only=lang)
        if any(captions.values()) and medium.kind != MediaKind.VIDEO:
            raise _invalid({f"{where}.captions": [Message("media.attach.captions_not_video")]},
                           code="media.attach.captions_not_video")
        out.append(Attachment(
            medium=mid, position=i, language=lang,
            alt_text=_texts(item.get("alt_text"), where=f"{where}.alt_text", key="alt_text", only=lang),
            captions=captions, focus=_focus(item.get("focus"), where=f"{where}.focus"),
            kind=medium.kind, content_type=medium.content_type, filename=medium.original_name,
            width=medium.width, height=medium.height, duration=medium.duration,
        ))
    return out


def ensure_media_fit(media: list[Attachment], *, channels: Iterable[Channel],
                     speaks: Mapping[int, Iterable[str]]) -> None:
    """Refuse (422 Unpublishable) media that a target channel's platform would refuse for a
    language it publishes (`speaks`: lanes.channel_languages): more images or videos than it
    takes on one post (`media.attach.too_many`), or images and a video together where it takes
    one or the other (`media.attach.mixed`). Limits: guidelines.PLATFORM_MEDIA_LIMITS, the one
    table of the platforms' media limits (a channel on no known platform: only the request's cap)."""
    for chan in channels:
        lim = guidelines.media_limits_for(adapter=chan.adapter, platform=chan.platform)
        if lim is None:
            continue
        for lang in speaks.get(chan.id, ()):
            shown = [a for a in media if a.shown_in(lang)]
            images = sum(1 for a in shown if a.kind != MediaKind.VIDEO)
            videos = len(shown) - images
            params: dict[str, Any] = {"channel": chan.handle, "language": lang}
            if images and videos and not lim.mixed:
                raise Unpublishable(code="media.attach.mixed", params=params,
                                    errors={"media": [Message("media.attach.mixed", params)]})
            for code, count, limit in (("media.attach.too_many_images", images, lim.images),
                                       ("media.attach.too_many_videos", videos, lim.videos)):
                if limit is not None and count > limit:
                    params.update(count=count, limit=limit)
                    raise Unpublishable(code=code, params=params, errors={"media": [Message(code, params)]})


def translation_media_clean(raw: Any, *, language: str, current: list[Attachment]) -> dict[int, dict[str, str]]:
    """The translation step's `media` ([{"position", "alt_text", "captions"}] for `language`)
    as {position: {"alt_text": …, "captions": …}} (only the keys given). The position must
    be a medium of the post shown in `language`; captions only on a video. Raises
    InvalidInput, TextTooLong."""
    _ensure_list(raw)
    by_position = {a.position: a for a in current}
    out: dict[int, dict[str, str]] = {}
    for i, item in enumerate(raw):
        where = f"media.{i}"
        if not isinstance(item, Mapping):
            raise _invalid({where: [Message("media.attach.invalid")]})
        unknown = sorted(str(k) for k in item if k not in TRANSLATE_KEYS)
        if unknown:
            raise _invalid({f"{where}.{k}": [Message("media.attach.unknown_field")] for k in unknown})
        pos = item.get("position")
        att = by_position.get(pos) if isinstance(pos, int) and not isinstance(pos, bool) else None
        if att is None or not att.shown_in(language) or att.position in out:
            params: dict[str, Any] = {"language": language}
            raise _invalid({f"{where}.position": [Message("media.attach.no_position", params)]},
                           code="media.attach.no_position", params=params)
        texts: dict[str, str] = {}
        if "alt_text" in item:
            texts["alt_text"] = _clean_text(item["alt_text"], where=f"{where}.alt_text", cap=limits.ALT_TEXT_MAX,
                                            code="media.attach.alt_text_too_long", language=language)
        if "captions" in item:
            texts["captions"] = _clean_captions(item["captions"], where=f"{where}.captions", language=language)
            if texts["captions"] and att.kind != MediaKind.VIDEO:
                raise _invalid({f"{where}.captions": [Message("media.attach.captions_not_video")]},
                               code="media.attach.captions_not_video")
        out[att.position] = texts
    return out


# --- writing (the caller holds the post's row lock) --------------------------------------------

def touch_languages(post: Post, *, languages: Iterable[str], by: User) -> list[str]:
    """A media change of `languages` is an edit of their texts: bump each existing PostText's
    version and writer, as engine.write_texts does for a new body. Returns the languages that
    had a text (a language without one has no approval to void and no version to move)."""
    wanted = set(languages)
    if not wanted:
        return []
    prefetch_related_objects([post], post_texts())
    now = timezone.now()
    touched = []
    for text in post.texts.all():
        if text.language in wanted:
            text.version += 1
            text.updated_by = by
            text.updated_at = now
            text.save(update_fields=["version", "updated_by", "updated_at"])
            touched.append(text.language)
    post.refresh_from_db(fields=["texts"])  # drops the prefetched texts (no query)
    return touched


def media_write(post: Post, *, media: list[Attachment], current: list[Attachment], by: User,
                already: Iterable[str] = ()) -> list[str]:
    """Replace the post's media with `media` (positions in order). Returns the languages whose
    media changed (language_view); their texts are touched (touch_languages), except those in
    `already` (their body changed in the same edit: one version step per edit)."""
    old, new = snapshots(current), snapshots(media)
    if old == new:
        return []
    changed = changed_languages(old, new)
    PostMedium.objects.filter(post=post).delete()
    PostMedium.objects.bulk_create([
        PostMedium(post=post, medium_id=a.medium, position=a.position, language=a.language,
                   alt_text_en=a.alt_text["en"], alt_text_fr=a.alt_text["fr"],
                   captions_en=a.captions["en"], captions_fr=a.captions["fr"],
                   focus_x=a.focus[0], focus_y=a.focus[1])
        for a in media
    ])
    touch_languages(post, languages=set(changed) - set(already), by=by)
    return changed


def media_translate(post: Post, *, language: str, texts: dict[int, dict[str, str]], current: list[Attachment],
                    by: User, already: Iterable[str] = ()) -> tuple[list[Attachment], list[int]]:
    """Write `language`'s alternative texts and captions given at the translation step
    (translation_media_clean). Returns the post's media as they are now and the positions that
    changed; when any did, `language` counts as edited (touched unless in `already`)."""
    changed: list[int] = []
    now_media: list[Attachment] = []
    for att in current:
        given = texts.get(att.position)
        if not given:
            now_media.append(att)
            continue
        alt = {**att.alt_text, language: given.get("alt_text", att.alt_text[language])}
        caps = {**att.captions, language: given.get("captions", att.captions[language])}
        if alt == dict(att.alt_text) and caps == dict(att.captions):
            now_media.append(att)
            continue
        PostMedium.objects.filter(post=post, position=att.position).update(
            **{f"alt_text_{language}": alt[language], f"captions_{language}": caps[language]})
        changed.append(att.position)
        now_media.append(replace(att, alt_text=alt, captions=caps))
    if changed and language not in set(already):
        touch_languages(post, languages=[language], by=by)
    return now_media, changed


def languages_of_post(post: Post, texts: Iterable[str]) -> list[str]:
    """The languages a medium may be given for: the post's texts and those its lane requires."""
    return sorted(set(texts) | set(required_languages(post)))


def media_for_post(post: Post, *, raw: Any, channels: list[Channel], texts: Iterable[str]) -> list[Attachment]:
    """media_clean for `post` (its organisation, its languages), then ensure_media_fit on its
    channels: what create and edit call."""
    media = media_clean(raw, organisation_id=post.organisation_id, languages=languages_of_post(post, texts))
    ensure_media_fit(media, channels=channels, speaks=channel_languages(post, channels))
    return media


__all__ = [
    "Attachment", "changed_languages", "ensure_media_fit", "media_diff", "revisions_media_diff", "guideline_media", "language_view", "media_changes",
    "media_clean", "media_for_post", "media_rows_json", "media_rows_queryset", "media_translate", "media_write",
    "post_media", "snapshots", "touch_languages", "translation_media_clean",
]
