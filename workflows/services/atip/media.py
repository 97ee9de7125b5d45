"""The media of an access-to-information export (issue 22, docs/atip.md "Media").

Each post's record holds its media (`media`: position, the medium's facts, its alternative text
and captions in each language, its focal point, and `file`, where the file is in the ZIP), each
revision its media snapshot (PostRevision.media), `csv/media.csv` one row per medium, the summary
a table per post; the files themselves are copied into the package as
`media/<post>/<position>-<medium id>.<ext>` — the stored file, already stripped of its metadata
when it was uploaded. Texts are redacted like every other text of the export; the pictures and
videos are not (a person checks them before the package goes out: docs/atip.md).

Called by the rest of the package: `media_records` when the records of a round of posts are read
(records), `media_copy` when they are written (build), `media_zip` when the package is assembled
(package)."""
from __future__ import annotations

import html
import shutil
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from django.core.files.storage import default_storage
from django.db.models import F
from django.utils.translation import gettext as _

from ...models import PostMedium
from ..media import LANGUAGES

#: The package's folder of media files.
FOLDER = "media"
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp", "video/mp4": "mp4"}
CSV_COLUMNS = ["post", "position", "medium", "language", "kind", "content_type", "file", "size", "sha256", "width",
               "height", "duration", "original_name", "alt_text_en", "alt_text_fr", "captions_en", "captions_fr",
               "focus"]
#: Keys of a media record that hold system values: never redacted (redaction.SYSTEM_KEYS).
SYSTEM_KEYS = frozenset({"file", "content_type", "sha256"})


def zip_name(*, post_id: int, position: int, medium_id: int, content_type: str) -> str:
    """Where a post's medium is in the package."""
    return f"{FOLDER}/{post_id}/{position}-{medium_id}.{EXTENSIONS.get(content_type, 'bin')}"


def _rows(ids: Iterable[int]) -> Iterable[dict[str, Any]]:
    # rewrite(False): the explicit _en/_fr columns, as stored (modeltranslation rewrites nothing).
    return PostMedium.objects.rewrite(False).filter(post_id__in=list(ids)).order_by("post_id", "position").values(
        "post_id", "position", "medium_id", "language", "alt_text_en", "alt_text_fr", "captions_en", "captions_fr",
        "focus_x", "focus_y", kind=F("medium__kind"), content_type=F("medium__content_type"),
        size=F("medium__size"), sha256=F("medium__sha256"), width=F("medium__width"), height=F("medium__height"),
        duration=F("medium__duration"), original_name=F("medium__original_name"), stored=F("medium__file"))


def media_records(ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """{post id: its media as the export shows them}, in one query whatever the number of posts."""
    out: dict[int, list[dict[str, Any]]] = {}
    for r in _rows(ids):
        out.setdefault(r["post_id"], []).append({
            "position": r["position"], "medium": r["medium_id"], "language": r["language"], "kind": r["kind"],
            "content_type": r["content_type"],
            "file": zip_name(post_id=r["post_id"], position=r["position"], medium_id=r["medium_id"],
                             content_type=r["content_type"]),
            "size": r["size"], "sha256": r["sha256"], "width": r["width"], "height": r["height"],
            "duration": r["duration"], "original_name": r["original_name"],
            "alt_text": {lang: r[f"alt_text_{lang}"] or "" for lang in LANGUAGES},
            "captions": {lang: r[f"captions_{lang}"] or "" for lang in LANGUAGES},
            "focus": [r["focus_x"], r["focus_y"]],
        })
    return out


def media_copy(ids: list[int], work: Path) -> list[str]:
    """Copy the files of the posts `ids` into `work` (streamed from Django's storage: the
    filesystem or the bucket), where `zip_name` says. Returns the names written."""
    written = []
    for r in _rows(ids):
        name = zip_name(post_id=r["post_id"], position=r["position"], medium_id=r["medium_id"],
                        content_type=r["content_type"])
        target = work / name
        target.parent.mkdir(parents=True, exist_ok=True)
        with default_storage.open(r["stored"], "rb") as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        written.append(name)
    return written


def media_zip(zf: zipfile.ZipFile, work: Path, names: Iterable[str]) -> None:
    """Add the copied files to the package (stored: pictures and videos are compressed already)."""
    for name in names:
        zf.write(work / name, name, compress_type=zipfile.ZIP_STORED)


def csv_rows(post_id: int, media: Iterable[Mapping[str, Any]]) -> Iterable[dict[str, Any]]:
    """csv/media.csv's rows of one post's (redacted) record."""
    for m in media:
        yield {**m, "post": post_id, "focus": f"{m['focus'][0]},{m['focus'][1]}",
               **{f"alt_text_{lang}": m["alt_text"].get(lang, "") for lang in LANGUAGES},
               **{f"captions_{lang}": m["captions"].get(lang, "") for lang in LANGUAGES}}


def labels() -> dict[str, str]:
    """The summary's words for media, in the active language (translated once per export)."""
    words = {"media": _("Media"), "media_file": _("File"), "alt_text": _("Alternative text"),
             "captions": _("Captions"), "both_languages": _("Both languages")}
    return {k: str(v) for k, v in words.items()}


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def html_section(post: Mapping[str, Any], t: Mapping[str, str]) -> str:
    """The summary's table of one post's media: the file (a link into the package), its
    language, its alternative text and captions per language."""
    media = post.get("media") or []
    if not media:
        return ""
    rows = []
    for m in media:
        texts = "".join(f'<p lang="{lang}"><b>{_e(lang)}</b> {_e(m["alt_text"].get(lang, ""))}</p>'
                        for lang in LANGUAGES if m["alt_text"].get(lang))
        captions = "".join(f'<pre lang="{lang}">{_e(m["captions"].get(lang, ""))}</pre>'
                           for lang in LANGUAGES if m["captions"].get(lang))
        rows.append(f'<tr><td>{_e(m["position"])}</td><td><a href="{_e(m["file"])}">{_e(m["file"])}</a></td>'
                    f'<td>{_e(m["language"] or t["both_languages"])}</td><td>{texts}</td><td>{captions}</td></tr>')
    head = "".join(f'<th scope="col">{_e(h)}</th>' for h in ("#", t["media_file"], t["language"], t["alt_text"],
                                                              t["captions"]))
    return (f'<h3>{_e(t["media"])}</h3><table><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


__all__ = ["CSV_COLUMNS", "FOLDER", "SYSTEM_KEYS", "csv_rows", "html_section", "labels", "media_copy", "media_records",
           "media_zip", "zip_name"]
