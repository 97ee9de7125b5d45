"""Translation: a translator writes a language's text during the translation step."""
from __future__ import annotations

from django.db import transaction

from accounts.models import User

from ..exceptions import InvalidInput
from ..messages import Message
from ..models import Post
from . import actions
from .audit import audit_record
from .common import ensure_version, post_get_for_update
from .engine import (
    advance,
    ensure_content_allowed,
    invalidate_approvals,
    run_checks,
    save_post,
    snapshot_revision,
    write_texts,
)
from .media import media_changes, media_translate, post_media, snapshots, translation_media_clean
from .posts import clean_texts
from .publishing import ensure_publishable


@transaction.atomic
def translation_provide(*, post_id: int, by: User, language: str, text: str, version: int | None = None,
                        media: list | None = None) -> Post:
    """Write `language`'s text at the translation step, and its media's alternative texts and
    captions (`media`: [{"position", "alt_text", "captions"}], services.media): both are that
    language's translation. Voids approvals that covered the old text of that language (the
    post may go back to an earlier step). The step completes when every required language is
    present and a translator approves.

    Raises InvalidTransition (not at a translation step), NotPermitted, InvalidInput, TextTooLong."""
    if language not in ("en", "fr"):
        raise InvalidInput(code="texts.unsupported_language", errors={"language": [Message("texts.unsupported_language")]})
    body = clean_texts({language: text})[language]
    post = post_get_for_update(post_id=post_id, user=by)
    ensure_version(post, version)
    actions.TRANSLATE.ensure(by, post)
    current = post_media(post)
    given = translation_media_clean(media, language=language, current=current) if media is not None else {}
    changed = write_texts(post, new_texts={language: body}, by=by)
    now_media, positions = media_translate(post, language=language, texts=given, current=current, by=by,
                                           already=changed)
    if positions and language not in changed:
        changed = [*changed, language]
    if not changed:
        return post
    texts = post.texts_dict()
    ensure_publishable(post, channels=list(post.channels.all()), texts=texts)
    snapshot_revision(post, texts=texts, by=by, media=now_media)
    voided = invalidate_approvals(post, languages=changed)
    results = run_checks(post, texts=texts, channels=list(post.channels.all()), media=now_media)
    # The translator's words are held to the same rules as the author's: a blocking content
    # rule refuses the translation and the transaction rolls back (nothing is written).
    ensure_content_allowed(results)
    post.checks = [r.as_data() for r in results]
    audit_record(owner=post, verb="translated", actor=by, from_state=post.state, to_state=post.state,
                 data={"language": language, "voided_decisions": voided,
                       **({"media": media_changes(snapshots(current), snapshots(now_media))} if positions else {})})
    advance(post, by=by, languages=set(texts))
    save_post(post)
    return post
