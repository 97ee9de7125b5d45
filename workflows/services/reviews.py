"""Reviewing: approve, request changes, reject; and reviews after the fact."""
from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import User

from .. import limits
from ..constants import ACTION_TO, PostState, ReviewKind, ReviewStatus, ReviewVerdict, Verdict
from ..exceptions import Conflict, InvalidInput, NotFound, TextTooLong
from ..messages import Message
from ..models import Decision, Post, PostReview, PostText
from ..permissions import caller_perms
from . import actions
from .actions import ensure_can_review as ensure_can_review  # the rule lives in actions.py
from .audit import audit_record
from .common import (
    current_step_of,
    ensure_same_org,
    ensure_version,
    post_get_for_update,
    stable_name,
)
from .engine import (
    LiveApprovals,
    advance,
    load_texts,
    post_lock_for_transition,
    recheck_text,
    save_post,
    steps_and_live_approvers,
    transition,
)
from .outbox import outbox_emit


def _decide(post: Post, *, by: User, verdict: str, comment: str, texts: list[PostText],
            languages: list[str] | None = None) -> Decision:
    """Record the decision, bound to every text version it saw (editing any of them voids it),
    with the languages an approval counts for. The caller holds the post's row lock, so no
    other transaction can decide on this post meanwhile; the partial unique constraint is the
    database's backstop."""
    decision = Decision(
        post=post, step=current_step_of(post), revision=post.revision,
        text_versions={t.language: t.version for t in texts}, languages=languages,
        reviewer=by, verdict=verdict, comment=comment,
    )
    decision.save(force_insert=True)
    return decision


def _clean_comment(comment: object, *, required: bool) -> str:
    if comment is None:
        comment = ""
    if not isinstance(comment, str):
        raise InvalidInput(code="text.not_string", errors={"comment": [Message("text.not_string")]})
    comment = comment.strip()
    if required and not comment:
        raise InvalidInput(code="comment.required", errors={"comment": [Message("field.required")]})
    if len(comment) > limits.COMMENT_MAX:
        params = {"length": len(comment), "limit": limits.COMMENT_MAX}
        raise TextTooLong(params=params, errors={"comment": [Message("text.too_long", params)]})
    return comment


@transaction.atomic
def post_approve(*, post_id: int, by: User, comment: str = "", version: int | None = None,
                 at_step: int | str | None = None) -> Post:
    """Record `by`'s approval of the current step, for the languages it counts for; when the
    step is met (its quorum, and every language approved by someone it counts for) the post
    enters the next unmet step or becomes approved. Raises NotPermitted, InvalidTransition / Conflict
    (not in review, stale version, already approved), GuidelineViolation (translation step with
    a required language missing), Conflict `security.step_moved` when `at_step` (the step the caller
    means: its order, or its English name) is given and is not the current one. Enqueues
    post.step_entered or post.approved."""
    comment = _clean_comment(comment, required=False)
    post, ctx = post_lock_for_transition(post_id=post_id, user=by, revisions=True, shown=True)
    ensure_version(post, version)
    ensure_named_step(post, at_step)
    texts = load_texts(post)  # read once: the sign-off check and the decision share them
    languages = {t.language for t in texts}
    # One query for the lane's steps and who approved each (PostgreSQL).
    approvers = steps_and_live_approvers(post) if post.state == PostState.IN_REVIEW else LiveApprovals()
    ctx.perms = caller_perms(user=by, post=post)  # read once: the checks and the response's actions
    covered = actions.APPROVE.ensure(by, post, perms=ctx.perms, texts=texts, approvers=approvers,
                                     revisions=ctx.revisions)
    step = current_step_of(post)
    # Approval is bound to the exact text it saw: the guidelines run again on that text.
    post.checks = [r.as_data() for r in recheck_text(post, texts={t.language: t.body for t in texts},
                                                     channels=ctx.perms.channels, ctx=ctx)]
    decision = _decide(post, by=by, verdict=Verdict.APPROVE, comment=comment, texts=texts, languages=covered)
    approvers.add(step_id=step.id, reviewer_id=by.id, text_versions=decision.text_versions, languages=covered)
    ctx.collect()  # the audit and outbox events of this approval: one INSERT each, with the post
    audit_record(owner=post, verb="approved", actor=by, from_state=post.state, to_state=post.state,
                 data={"step_id": step.id, "step": stable_name(step), "decision_id": decision.id, "comment": comment,
                       "languages": covered}, pending=ctx.audit)
    advance(post, by=by, languages=languages, approvers=approvers, ctx=ctx)
    save_post(post, ctx=ctx)
    return post


def ensure_named_step(post: Post, step: int | str | None) -> None:
    """An approve that names its step acts on that step only: a second click meant for the step
    the post just left is refused (409), not applied to whatever step is current now."""
    if step is None:
        return
    current = current_step_of(post) if post.state == PostState.IN_REVIEW else None
    if current is None or not (current.order == step if isinstance(step, int) else stable_name(current) == step):
        raise Conflict(code="security.step_moved", params={"step": stable_name(current) if current else ""})


def _close_with(post_id: int, *, by: User, comment: str, version: int | None, action: actions.WorkflowAction,
                verdict: str, verb: str, topic: str) -> Post:
    comment = _clean_comment(comment, required=True)
    post = post_get_for_update(post_id=post_id, user=by)
    ensure_version(post, version)
    action.ensure(by, post)
    to = ACTION_TO[action.name]
    step = current_step_of(post)
    decision = _decide(post, by=by, verdict=verdict, comment=comment, texts=list(post.texts.all()))
    if to == PostState.REJECTED:
        post.current_step = None
    transition(post, to=to, by=by, verb=verb, topic=topic,
               data={"step_id": step.id, "step": stable_name(step), "decision_id": decision.id, "comment": comment},
               payload={"post_id": post.id, "decision_id": decision.id})
    return post


@transaction.atomic
def post_request_changes(*, post_id: int, by: User, comment: str, version: int | None = None) -> Post:
    """Send the post back to its author (→ changes_requested). Comment required."""
    return _close_with(post_id, by=by, comment=comment, version=version, action=actions.REQUEST_CHANGES,
                       verdict=Verdict.REQUEST_CHANGES, verb="changes_requested", topic="post.changes_requested")


@transaction.atomic
def post_reject(*, post_id: int, by: User, comment: str, version: int | None = None) -> Post:
    """Refuse the post for good (→ rejected). Comment required."""
    return _close_with(post_id, by=by, comment=comment, version=version, action=actions.REJECT,
                       verdict=Verdict.REJECT, verb="rejected", topic="post.rejected")


@transaction.atomic
def review_open_spot_check(*, post_id: int) -> PostReview | None:
    """Sample a published conversation reply for review afterwards (never blocking)."""
    post = Post.objects.select_for_update().select_related("lane").filter(id=post_id).first()
    if post is None or post.state != PostState.PUBLISHED:
        return None
    review, created = PostReview.objects.get_or_create(
        post=post, kind=ReviewKind.SPOT_CHECK,
        defaults={"team": post.lane.retrospective_team, "excluded_users": [post.author_id],
                  "due_at": timezone.now() + timedelta(days=2)},
    )
    if created:
        audit_record(owner=post, verb="spot_check_opened", data={"review_id": review.id})
        outbox_emit(topic="review.opened", organisation_id=post.organisation_id, post_id=post.id,
                    payload={"post_id": post.id, "kind": ReviewKind.SPOT_CHECK, "review_id": review.id})
        post.save(update_fields=["audit_seq", "audit_head"])
    return review


@transaction.atomic
def review_complete(*, review_id: int, by: User, verdict: str, comment: str = "") -> PostReview:
    """Close a spot-check or retrospective review with a verdict: `fine`, or `follow_up` (a comment
    is then required). → done: it leaves every queue. Raises NotFound (no such review, or another
    organisation's), InvalidInput, NotPermitted and Conflict (see actions.COMPLETE_REVIEW). Audited as
    `<kind>_done`; `follow_up` enqueues review.concern for the author's side."""
    if verdict not in ReviewVerdict.values:
        raise InvalidInput(code="review.invalid_verdict", errors={"verdict": [Message("review.invalid_verdict")]})
    comment = _clean_comment(comment, required=verdict == ReviewVerdict.FOLLOW_UP)
    found = ensure_visible_review(review_id=review_id, user=by)
    # Lock the post first, then the review: the order review_open_spot_check takes them in.
    post = post_get_for_update(post_id=found.post_id, user=by)
    review = PostReview.objects.select_for_update(of=("self",)).select_related("team").get(id=found.id)
    review.post = post
    actions.COMPLETE_REVIEW.ensure(by, review)
    ok = verdict == ReviewVerdict.FINE
    review.status = ReviewStatus.DONE
    review.reviewer = by
    review.ok = ok
    review.comment = comment
    review.completed_at = timezone.now()
    review.save(update_fields=["status", "reviewer", "ok", "comment", "completed_at"])
    audit_record(owner=post, verb=f"{review.kind}_done", actor=by,
                 data={"review_id": review.id, "verdict": verdict, "ok": ok, "comment": comment})
    if not ok:
        outbox_emit(topic="review.concern", organisation_id=post.organisation_id, post_id=post.id,
                    payload={"post_id": post.id, "review_id": review.id})
    post.save(update_fields=["audit_seq", "audit_head"])
    return review


def ensure_visible_review(*, review_id: int, user: User) -> PostReview:
    review = PostReview.objects.select_related("post", "team").filter(id=review_id).first()
    if review is None:
        raise NotFound(code="not_found.review")
    ensure_same_org(user=user, organisation_id=review.post.organisation_id)
    return review
