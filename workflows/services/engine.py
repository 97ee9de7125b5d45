"""The lane engine: guideline checks, revisions, approval binding and step advancement.

Called only from the other services, inside their transaction and under the post's row lock."""
from __future__ import annotations

from collections import defaultdict

from django.db import connection
from django.utils import timezone

from .. import guidelines
from ..constants import LaneKind, PostState, StepKind, Verdict
from ..exceptions import GuidelineViolation
from ..models import Decision, Lane, LaneStep, Post, PostRevision, PostText
from .audit import audit_record
from .common import ensure_transition, stable_name
from .outbox import outbox_emit
from .signatures import signature_reserve


def lane_rules(lane: Lane) -> list[guidelines.Rule]:
    return [
        guidelines.Rule(kind=r.kind, severity=r.severity, params=r.params)
        for r in lane.guidelines.all()
        if r.enabled
    ]


def lane_steps(lane: Lane) -> list[LaneStep]:
    """The lane's ordered steps, loaded once per lane instance (a transition reads them twice)."""
    cached = getattr(lane, "_parley_steps", None)
    if cached is None:
        cached = list(lane.steps.select_related("team").all())
        lane.__dict__["_parley_steps"] = cached
    return cached


def lane_has_translation_step(lane: Lane) -> bool:
    return any(s.kind == StepKind.TRANSLATION for s in lane_steps(lane))


def required_languages(post: Post) -> list[str]:
    langs = list(post.lane.required_languages or [])
    msg = post.in_reply_to if post.in_reply_to_id else None
    if post.lane.kind == LaneKind.CONVERSATION and msg is not None and msg.language and msg.language not in langs:
        langs.append(msg.language)
    return langs


def run_checks(
    post: Post, *, texts: dict[str, str], channels, lane: Lane | None = None
) -> list[guidelines.CheckResult]:
    lane = lane or post.lane
    reply_language = None
    msg = post.in_reply_to if post.in_reply_to_id else None
    if msg is not None and lane.kind == LaneKind.CONVERSATION:
        reply_language = msg.language or None
    infos = [
        guidelines.ChannelInfo(slug=c.slug, char_limit=c.char_limit - signature_reserve(post, c),
                               languages=tuple(c.languages))
        for c in channels
    ]
    langs = list(lane.required_languages or [])
    if reply_language and reply_language not in langs:
        langs.append(reply_language)
    return guidelines.evaluate(
        rules=lane_rules(lane),
        texts=texts,
        channels=infos,
        required_languages=langs,
        reply_language=reply_language,
        acknowledged=post.rules_acknowledged,
        translation_step=lane_has_translation_step(lane),
        is_reply=post.kind == "reply",
    )


def ensure_no_blocking(results: list[guidelines.CheckResult], *, code: str = "") -> None:
    """Raise GuidelineViolation (422) when any result blocks; the caller's transaction then
    rolls back, so nothing changes."""
    blocked = guidelines.blocking(results)
    if blocked:
        raise GuidelineViolation(violations=[r.as_data() for r in blocked], code=code)


def ensure_content_allowed(results: list[guidelines.CheckResult]) -> None:
    """Refuse a write of text that breaks a blocking content rule (guidelines.CONTENT_RULES)."""
    ensure_no_blocking([r for r in results if r.rule in guidelines.CONTENT_RULES])


def recheck_text(post: Post, *, texts: dict[str, str] | None = None, code: str = "") -> list[guidelines.CheckResult]:
    """Re-run the lane's rules on the post's exact current text (at every approval and before
    publishing): rules about the text only (the author's acknowledgement is not re-asked).
    Raises GuidelineViolation when one blocks; returns the results otherwise."""
    texts = post.texts_dict() if texts is None else texts
    results = run_checks(post, texts=texts, channels=list(post.channels.all()))
    ensure_no_blocking([r for r in results if r.rule not in guidelines.NOT_ABOUT_TEXT], code=code)
    return results


def snapshot_revision(post: Post, *, texts: dict[str, str], by) -> PostRevision:
    post.revision += 1
    return PostRevision.objects.create(post=post, number=post.revision, texts=texts, created_by=by)


def write_texts(post: Post, *, new_texts: dict[str, str], by) -> list[str]:
    """Create or update each language's text; return the languages whose body changed."""
    existing = {t.language: t for t in post.texts.all()}
    changed: list[str] = []
    now = timezone.now()
    for lang, body in new_texts.items():
        current = existing.get(lang)
        if current is None:
            PostText.objects.create(post=post, language=lang, body=body, updated_by=by, updated_at=now)
            changed.append(lang)
        elif current.body != body:
            current.body = body
            current.version += 1
            current.updated_by = by
            current.updated_at = now
            current.save(update_fields=["body", "version", "updated_by", "updated_at"])
            changed.append(lang)
    if hasattr(post, "_prefetched_objects_cache"):
        post._prefetched_objects_cache.pop("texts", None)
    return changed


def invalidate_approvals(post: Post, *, languages: list[str]) -> list[int]:
    """Approvals are bound to the text they saw: void every live one that covered `languages`."""
    if not languages:
        return []
    live = Decision.objects.filter(post=post, verdict=Verdict.APPROVE, invalidated_at__isnull=True)
    voided = [d.id for d in live if any(lang in d.text_versions for lang in languages)]
    if voided:
        Decision.objects.filter(id__in=voided).update(invalidated_at=timezone.now())
    return voided


def steps_and_live_approvers(post: Post) -> dict[int, set[int]]:
    """live_approvers(post), loading the lane's steps (cached on the lane, as lane_steps does) in
    the same query on PostgreSQL: each step carries the array of its live approvers."""
    from django.db import connection

    lane = post.lane
    if connection.vendor != "postgresql" or "_parley_steps" in lane.__dict__:
        lane_steps(lane)
        return live_approvers(post)
    from django.contrib.postgres.expressions import ArraySubquery
    from django.db.models import OuterRef

    live = Decision.objects.filter(
        post=post.id, step=OuterRef("pk"), verdict=Verdict.APPROVE, invalidated_at__isnull=True
    ).values("reviewer_id")
    steps = list(lane.steps.select_related("team").annotate(live_approvers=ArraySubquery(live)).all())
    lane.__dict__["_parley_steps"] = steps
    result: dict[int, set[int]] = defaultdict(set)
    for step in steps:
        if step.live_approvers:
            result[step.id].update(step.live_approvers)
    return result


def live_approvers(post: Post) -> dict[int, set[int]]:
    """{step_id: {reviewer_id}} of approvals still bound to the current text."""
    result: dict[int, set[int]] = defaultdict(set)
    for step_id, reviewer_id in Decision.objects.filter(
        post=post, verdict=Verdict.APPROVE, invalidated_at__isnull=True
    ).values_list("step_id", "reviewer_id"):
        result[step_id].add(reviewer_id)
    return result


def first_unmet_step(post: Post, *, languages: set[str], approvers: dict[int, set[int]] | None = None) -> LaneStep | None:
    if approvers is None:
        approvers = live_approvers(post)
    required = set(required_languages(post))
    for step in lane_steps(post.lane):
        if len(approvers.get(step.id, ())) < step.quorum:
            return step
        if step.kind == StepKind.TRANSLATION and not required <= languages:
            return step
    return None


def advance(post: Post, *, by, languages: set[str], approvers: dict[int, set[int]] | None = None) -> None:
    """Put the post in the first step whose quorum is not met on the current text, or approve it.

    Writes audit events and outbox events; the caller saves the post."""
    step = first_unmet_step(post, languages=languages, approvers=approvers)
    now = timezone.now()
    if step is not None:
        if post.current_step_id == step.id and post.state == PostState.IN_REVIEW:
            return
        from_state = post.state
        ensure_transition(post, to=PostState.IN_REVIEW)
        post.state = PostState.IN_REVIEW
        post.current_step = step
        post.step_entered_at = now
        audit_record(
            owner=post, verb="step_entered", actor=by, from_state=from_state, to_state=post.state,
            data={"step_id": step.id, "step": stable_name(step), "kind": step.kind, "team_id": step.team_id},
        )
        outbox_emit(
            topic="post.step_entered", organisation_id=post.organisation_id, post_id=post.id,
            payload={"post_id": post.id, "step_id": step.id, "team_id": step.team_id},
        )
        return
    mark_approved(post, by=by, languages=languages)


def mark_approved(post: Post, *, by, languages: set[str], verb: str = "approved_all", data: dict | None = None) -> None:
    missing = [lang for lang in required_languages(post) if lang not in languages]
    if missing:
        raise GuidelineViolation(
            code="languages.missing_for_approval", params={"languages": missing},
            violations=[{"rule": "languages_present", "severity": "block", "ok": False,
                         "code": "languages_present.missing", "params": {"languages": missing},
                         "language": "", "field": "texts"}],
        )
    from_state = post.state
    ensure_transition(post, to=PostState.APPROVED)
    post.state = PostState.APPROVED
    post.current_step = None
    post.step_entered_at = None
    post.approved_at = timezone.now()
    audit_record(owner=post, verb=verb, actor=by, from_state=from_state, to_state=post.state, data=data or {})
    outbox_emit(
        topic="post.approved", organisation_id=post.organisation_id, post_id=post.id,
        payload={"post_id": post.id},
    )


SAVED_FIELDS = ["state", "current_step", "step_entered_at", "version", "updated_at", "revision",
                "audit_seq", "audit_head", "approved_at", "checks"]


def save_post(post: Post, *, fields: list[str] | None = None) -> None:
    post.version += 1
    post.updated_at = timezone.now()
    post.save(update_fields=sorted(set(SAVED_FIELDS + (fields or []))))


#: What a batched transition changes (save_posts): the state, the version and the audit chain's end.
_BATCH_FIELDS = ["state", "version", "updated_at", "audit_seq", "audit_head"]

_SAVE_POSTS_SQL = "UPDATE workflows_post AS p SET {sets} FROM (VALUES {rows}) AS v(id, {cols}) WHERE p.id = v.id"


def save_posts(posts: list[Post], *, fields: list[str] | None = None) -> None:
    """save_post for many posts, each under the caller's row lock and each moved by the same
    transition (state, audit chain, and `fields`), in one UPDATE … FROM (VALUES …) on
    PostgreSQL (Django's bulk_update builds a CASE per field and row: slower than the database)."""
    if len(posts) <= 1 or connection.vendor != "postgresql":
        for post in posts:
            save_post(post, fields=fields)
        return
    now = timezone.now()
    for post in posts:
        post.version += 1
        post.updated_at = now
    model_fields = [Post._meta.get_field(n) for n in sorted(set(_BATCH_FIELDS + (fields or [])))]
    cols = [str(f.column) for f in model_fields]  # type: ignore[union-attr]
    row = "(%s, " + ", ".join(f"%s::{f.db_type(connection)}" for f in model_fields) + ")"
    params: list = []
    for post in posts:
        params.append(post.pk)
        params += [f.get_db_prep_save(getattr(post, f.attname), connection) for f in model_fields]  # type: ignore[union-attr]
    sql = _SAVE_POSTS_SQL.format(sets=", ".join(f"{c} = v.{c}" for c in cols), rows=", ".join([row] * len(posts)),
                                 cols=", ".join(cols))
    with connection.cursor() as cur:
        cur.execute(sql, params)
