"""Translation: a translator writes a language's text during the translation step."""
from __future__ import annotations

from django.db import transaction

from ..constants import ChannelPerm, PostState, StepKind
from ..exceptions import InvalidInput, InvalidTransition, NotPermitted
from ..messages import Message
from ..models import Post
from .audit import audit_record
from .common import (
    current_step_of,
    ensure_channel_perm,
    ensure_state,
    ensure_version,
    is_team_member,
    post_get_for_update,
)
from .engine import (
    advance,
    ensure_content_allowed,
    invalidate_approvals,
    run_checks,
    save_post,
    snapshot_revision,
    write_texts,
)
from .grants import granted
from .posts import clean_texts


@transaction.atomic
def translation_provide(*, post_id: int, by, language: str, text: str, version: int | None = None) -> Post:
    """Write `language`'s text at the translation step. Voids approvals that covered the old
    text of that language (the post may go back to an earlier step). The step completes when
    every required language is present and a translator approves.

    Raises InvalidTransition (not at a translation step), NotPermitted, InvalidInput."""
    if language not in ("en", "fr"):
        raise InvalidInput(code="texts.unsupported_language", errors={"language": [Message("texts.unsupported_language")]})
    body = clean_texts({language: text})[language]
    post = post_get_for_update(post_id=post_id, user=by)
    ensure_version(post, version)
    ensure_state(post, allowed={PostState.IN_REVIEW}, action="translate")
    step = current_step_of(post)
    if step.kind != StepKind.TRANSLATION:
        raise InvalidTransition(code="not_translation_step")
    if by.id == post.author_id:
        raise NotPermitted(code="self_translation")
    if not granted(user=by, post=post, step=step, language=language, edit=True):  # outside bureau
        if not is_team_member(user=by, team=step.team):
            raise NotPermitted(code="not_on_team", params={"team": step.team.name})
        ensure_channel_perm(user=by, post=post, codename=ChannelPerm.TRANSLATE)
    changed = write_texts(post, new_texts={language: body}, by=by)
    if not changed:
        return post
    texts = post.texts_dict()
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
