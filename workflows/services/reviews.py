"""Reviewing: approve, request changes, reject; and reviews after the fact."""
from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.db.models import prefetch_related_objects
from django.utils import timezone

from ..constants import (
    STEP_PERMISSION,
    ChannelPerm,
    PostState,
    ReviewKind,
    ReviewStatus,
    StepKind,
    Verdict,
)
from ..exceptions import Conflict, GuidelineViolation, InvalidInput, NotFound, NotPermitted
from ..models import Decision, Post, PostReview
from .audit import audit_defer, audit_flush, audit_record
from .common import (
    current_step_of,
    ensure_channel_perm,
    ensure_same_org,
    ensure_state,
    ensure_transition,
    ensure_version,
    is_team_member,
    post_get_for_update,
)
from .engine import advance, required_languages, save_post, steps_and_live_approvers
from .outbox import outbox_emit


def ensure_can_review(*, user, post: Post) -> None:
    """On the current step's team, not the author, holding the step's permission on every
    channel; at sign-off, not the writer of any of the texts being signed off."""
    step = current_step_of(post)
    if user.id == post.author_id:
        raise NotPermitted("Authors never approve their own posts.", code="self_approval")
    ensure_channel_perm(user=user, post=post, codename=STEP_PERMISSION[StepKind(step.kind)], team=step.team)
    if step.kind == StepKind.SIGN_OFF and any(t.updated_by_id == user.id for t in post.texts.all()):
        raise NotPermitted("You wrote one of these texts: someone else signs it off.", code="own_translation")


def _decide(post: Post, *, by, verdict: str, comment: str, texts) -> Decision:
    """Record the decision. The caller holds the post's row lock, so no other transaction can
    decide on this post meanwhile; the partial unique constraint is the database's backstop."""
    return Decision.objects.create(
        post=post, step=current_step_of(post), revision=post.revision,
        text_versions={t.language: t.version for t in texts},
        reviewer=by, verdict=verdict, comment=comment,
    )


def _clean_comment(comment, *, required: bool) -> str:
    if comment is None:
        comment = ""
    if not isinstance(comment, str):
        raise InvalidInput("comment must be text.", errors={"comment": ["Expected a string."]})
    comment = comment.strip()
    if required and not comment:
        raise InvalidInput("Say what should change.", errors={"comment": ["This field is required."]})
    if len(comment) > 5000:
        raise InvalidInput("Comment too long.", errors={"comment": ["At most 5000 characters."]})
    return comment


@transaction.atomic
def post_approve(*, post_id: int, by, comment: str = "", version: int | None = None) -> Post:
    """Record `by`'s approval of the current step; when its quorum is met the post enters the
    next unmet step or becomes approved. Raises NotPermitted, InvalidTransition / Conflict
    (not in review, stale version, already approved), GuidelineViolation (translation step with
    a required language missing). Enqueues post.step_entered or post.approved."""
    comment = _clean_comment(comment, required=False)
    post = post_get_for_update(post_id=post_id, user=by)
    ensure_version(post, version)
    ensure_state(post, allowed={PostState.IN_REVIEW}, action="approve")
    prefetch_related_objects([post], "texts")  # read once: the sign-off check and the decision share them
    ensure_can_review(user=by, post=post)
    texts = list(post.texts.all())
    languages = {t.language for t in texts}
    step = current_step_of(post)
    if step.kind == StepKind.TRANSLATION:
        missing = [lang for lang in required_languages(post) if lang not in languages]
        if missing:
            raise GuidelineViolation(
                "Provide every translation before completing the step.",
                violations=[{"rule": "languages_present", "severity": "block", "ok": False,
                             "message": f"Missing text in: {', '.join(missing)}.", "language": m,
                             "field": f"texts.{m}"} for m in missing],
            )
    # One query for the lane's steps and who approved each (PostgreSQL); the audit events of
    # this approval are written in one INSERT: approve stays within 10 statements (issue 14).
    approvers = steps_and_live_approvers(post)
    if by.id in approvers.get(step.id, ()):
        raise Conflict("You already approved this step.", code="already_approved")
    decision = _decide(post, by=by, verdict=Verdict.APPROVE, comment=comment, texts=texts)
    approvers.setdefault(step.id, set()).add(by.id)
    audit_defer(post)
    audit_record(owner=post, verb="approved", actor=by, from_state=post.state, to_state=post.state,
                 data={"step_id": step.id, "step": step.name, "decision_id": decision.id, "comment": comment})
    advance(post, by=by, languages=languages, approvers=approvers)
    audit_flush(post)
    save_post(post)
    return post


def _close_with(post_id: int, *, by, comment, version, verdict: str, to: PostState, verb: str, topic: str) -> Post:
    comment = _clean_comment(comment, required=True)
    post = post_get_for_update(post_id=post_id, user=by)
    ensure_version(post, version)
    ensure_state(post, allowed={PostState.IN_REVIEW}, action=verb.replace("_", " "))
    ensure_can_review(user=by, post=post)
    ensure_transition(post, to=to)
    step = current_step_of(post)
    decision = _decide(post, by=by, verdict=verdict, comment=comment, texts=list(post.texts.all()))
    from_state = post.state
    post.state = to
    if to == PostState.REJECTED:
        post.current_step = None
    audit_record(owner=post, verb=verb, actor=by, from_state=from_state, to_state=to,
                 data={"step_id": step.id, "step": step.name, "decision_id": decision.id, "comment": comment})
    outbox_emit(topic=topic, organisation_id=post.organisation_id, post_id=post.id,
                payload={"post_id": post.id, "decision_id": decision.id})
    save_post(post)
    return post


@transaction.atomic
def post_request_changes(*, post_id: int, by, comment: str, version: int | None = None) -> Post:
    """Send the post back to its author (→ changes_requested). Comment required."""
    return _close_with(post_id, by=by, comment=comment, version=version, verdict=Verdict.REQUEST_CHANGES,
                       to=PostState.CHANGES_REQUESTED, verb="changes_requested", topic="post.changes_requested")


@transaction.atomic
def post_reject(*, post_id: int, by, comment: str, version: int | None = None) -> Post:
    """Refuse the post for good (→ rejected). Comment required."""
    return _close_with(post_id, by=by, comment=comment, version=version, verdict=Verdict.REJECT,
                       to=PostState.REJECTED, verb="rejected", topic="post.rejected")


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
def review_complete(*, review_id: int, by, ok: bool, comment: str = "") -> PostReview:
    """Close a spot-check or retrospective review. The reviewer is neither the author nor whoever
    broke the glass, and is on the review's team (or may review the post's channels)."""
    review = PostReview.objects.select_for_update().filter(id=review_id).first()
    if review is None:
        raise NotFound("No such review.")
    post = post_get_for_update(post_id=review.post_id, user=by)
    if review.status != ReviewStatus.OPEN:
        raise Conflict("This review is already done.", code="review_done")
    if by.id in review.excluded_users or by.id == post.author_id:
        raise NotPermitted("Someone else must do this review.", code="self_review")
    if review.team_id is not None:
        if not is_team_member(user=by, team=review.team):
            raise NotPermitted("Only the review's team does this review.", code="not_on_team")
    else:
        ensure_channel_perm(user=by, post=post, codename=ChannelPerm.REVIEW)
    comment = _clean_comment(comment, required=not ok)
    review.status = ReviewStatus.DONE
    review.reviewer = by
    review.ok = bool(ok)
    review.comment = comment
    review.completed_at = timezone.now()
    review.save(update_fields=["status", "reviewer", "ok", "comment", "completed_at"])
    audit_record(owner=post, verb=f"{review.kind}_done", actor=by,
                 data={"review_id": review.id, "ok": bool(ok), "comment": comment})
    if not ok:
        outbox_emit(topic="review.concern", organisation_id=post.organisation_id, post_id=post.id,
                    payload={"post_id": post.id, "review_id": review.id})
    post.save(update_fields=["audit_seq", "audit_head"])
    return review


def ensure_visible_review(*, review_id: int, user) -> PostReview:
    review = PostReview.objects.select_related("post").filter(id=review_id).first()
    if review is None:
        raise NotFound("No such review.")
    ensure_same_org(user=user, organisation_id=review.post.organisation_id)
    return review
