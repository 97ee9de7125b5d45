"""Images and video (issue 22, docs/media.md): `upload` checks, makes safe and stores an upload;
`attach` puts media on posts, where a language's media are part of that language's text. Callers
import from here."""
from .attach import (
    ATTACH_KEYS,
    LANGUAGES,
    TRANSLATE_KEYS,
    Attachment,
    changed_languages,
    ensure_media_fit,
    guideline_media,
    language_view,
    languages_of_post,
    media_by_post,
    media_changes,
    media_clean,
    media_diff,
    media_for_post,
    media_rows_json,
    media_rows_queryset,
    media_translate,
    media_write,
    post_media,
    revisions_media_diff,
    snapshots,
    touch_languages,
    translation_media_clean,
)
from .upload import ensure_may_upload, media_chain, medium_upload

__all__ = [
    "ATTACH_KEYS", "LANGUAGES", "TRANSLATE_KEYS", "Attachment", "changed_languages", "ensure_may_upload",
    "ensure_media_fit", "guideline_media", "language_view", "languages_of_post", "media_by_post", "media_chain", "media_changes",
    "media_clean", "media_diff", "media_for_post", "media_rows_json", "media_rows_queryset", "media_translate",
    "media_write", "medium_upload", "post_media", "revisions_media_diff", "snapshots", "touch_languages",
    "translation_media_clean",
]
