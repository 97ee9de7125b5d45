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
from .posts import clean_texts
from .publishing import ensure_publishable


@transaction.atomic
def translation_provide(*, post_id: int, by: User, language: str, text: str, version: int | None = None) -> Post:
    """Write `language`'s text at the translation step. Voids approvals that covered the old
    text of that language (the post may go back to an earlier step). The step completes when
    every required language is present and a translator approves.

    Raises InvalidTransition (not at a translation step), NotPermitted, InvalidInput."""
    if language not in ("en", "fr"):
        raise InvalidInput(code="texts.unsupported_language", errors={"language": [Message("texts.unsupported_language")]})
    body = clean_texts({language: text})[language]
    post = post_get_for_update(post_id=post_id, user=by)
    ensure_version(post, version)
    actions.TRANSLATE.ensure(by, post)
    changed = write_texts(post, new_texts={language: body}, by=by)
    if not changed:
        return post
    texts = post.texts_dict()
    ensure_publishable(post, channels=list(post.channels.all()), texts=texts)
    snapshot_revision(post, texts=texts, by=by)
    voided = invalidate_approvals(post, languages=changed)
    results = run_checks(post, texts=texts, channels=list(post.channels.all()))
    # The translator's words are held to the same rules as the author's: a blocking content
    # rule refuses the translation and the transaction rolls back (nothing is written).
    ensure_content_allowed(results)
    post.checks = [r.as_data() for r in results]
    audit_record(owner=post, verb="translated", actor=by, from_state=post.state, to_state=post.state,
                 data={"language": language, "voided_decisions": voided})
    advance(post, by=by, languages=set(texts))
    save_post(post)
    return post
