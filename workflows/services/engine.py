"""The lane engine: guideline checks, revisions, approval binding and step advancement.

Called only from the other services, inside their transaction and under the post's row lock."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import QuerySet, prefetch_related_objects
from django.utils import timezone

from accounts.models import User

from .. import guidelines
from ..channels import adapter_class
from ..channels.base import Limits
from ..compiled import Compiled, update_row, write_together
from ..constants import PostState, StepKind, Verdict
from ..exceptions import GuidelineViolation
from ..models import (
    Channel,
    Decision,
    GuidelineRule,
    Lane,
    LaneStep,
    OutsideInvitation,
    Post,
    PostRevision,
    PostText,
)
from ..selectors import POST_CHANNELS, POST_TEXTS
from .audit import audit_defer, audit_flush_many, audit_record
from .common import (
    ensure_locked_visible,
    ensure_transition,
    post_get_for_update,
    post_lock_queryset,
    set_prefetched,
    stable_name,
)
from .four_eyes import counted_languages
from .lanes import channel_languages, missing_languages, reply_language, required_languages
from .outbox import outbox_emit, outbox_emit_many, outbox_event, outbox_written
from .signatures import signature_reserve


def lane_rules(lane: Lane) -> list[guidelines.Rule]:
    """The lane's enabled guideline rules (read with the post's row lock by approve: see
    reviews._lock_for_approval, which leaves them on the lane)."""
    cached = lane.__dict__.get("_parley_rules")
    if cached is not None:
        return [guidelines.Rule(kind=r["kind"], severity=r["severity"], params=r["params"]) for r in cached]
    return [
        guidelines.Rule(kind=r.kind, severity=r.severity, params=r.params)
        for r in lane.guidelines.all()
        if r.enabled
    ]


def _lock_for_transition(post_id: int, *, revisions: bool, decision_id: bool = False) -> QuerySet[Post]:
    """post_lock_queryset, also reading the lane's enabled guideline rules and, with
    `revisions`, the post's text revisions (PostgreSQL: arrays of JSON objects); with
    `decision_id`, the id the decision about to be recorded will have (the sequence's next)."""
    from django.contrib.postgres.expressions import ArraySubquery
    from django.db.models import OuterRef
    from django.db.models.expressions import RawSQL
    from django.db.models.functions import JSONObject

    extra: dict[str, Any] = {"parley_rules": ArraySubquery(
        GuidelineRule.objects.filter(lane=OuterRef("lane_id"), enabled=True).order_by("id").values(
            json=JSONObject(kind="kind", severity="severity", params="params")))}
    if revisions:
        extra["parley_revisions"] = ArraySubquery(
            PostRevision.objects.filter(post=OuterRef("pk")).order_by("number").values(
                json=JSONObject(number="number", texts="texts", by="created_by_id")))
    if decision_id:
        extra["parley_decision_id"] = RawSQL("nextval(pg_get_serial_sequence(%s, %s))", (Decision._meta.db_table, "id"))
    return post_lock_queryset(post_id, annotate=extra)


#: Compiled once per process (compiled.py): the query stays _lock_for_transition, only its SQL is kept.
_LOCK_FOR_TRANSITION: Compiled[Post] = Compiled(_lock_for_transition, arity=1)


def post_lock_for_transition(*, post_id: int, user: User, revisions: bool = False, decision_id: bool = False) -> Post:
    """post_get_for_update, also reading in the same statement (PostgreSQL) the lane's enabled
    guideline rules (for the checks) and, with `revisions`, the text revisions (four eyes by
    contribution): approve stays within 10 statements (issue 14). The statement's SQL is
    compiled once per process; every call reads the rows afresh under the lock."""
    if connection.vendor != "postgresql":
        return post_get_for_update(post_id=post_id, user=user)
    found = _LOCK_FOR_TRANSITION.run(post_id, key=(revisions, decision_id), revisions=revisions, decision_id=decision_id)
    post = ensure_locked_visible(found[0] if found else None, user=user)
    rows = post.__dict__["parley_revisions"] if revisions else None
    # The subqueries read the snapshot taken before the statement waited for the lock: a revision
    # committed meanwhile (by the transaction that held the lock) is not among them, though the
    # post row (read after the wait) counts it. Then four eyes reads them again (four_eyes.py).
    if rows is not None and (rows[-1]["number"] if rows else 0) == post.revision:
        post.__dict__["_parley_revisions"] = [(r["texts"], r["by"]) for r in rows]
    post.lane.__dict__["_parley_rules"] = post.__dict__["parley_rules"]
    return post


def load_texts(post: Post) -> list[PostText]:
    """The post's texts, read now (under the caller's row lock) and left on the post as
    prefetch_related("texts") would: the guideline re-check and the decision share them."""
    texts = POST_TEXTS.run(post.id, using=post._state.db or "default")
    for text in texts:
        PostText.post.field.set_cached_value(text, post)
    set_prefetched(post, "texts", texts)
    return texts


def load_channels(post: Post) -> list[Channel]:
    """The post's channels, read now and left on the post as prefetch_related("channels") would
    (the SQL compiled once per process: a reply's submit is the conversation lane's hot path)."""
    if connection.vendor != "postgresql":
        prefetch_related_objects([post], "channels")
        return list(post.channels.all())
    channels = POST_CHANNELS.run(post.id, using=post._state.db or "default")
    set_prefetched(post, "channels", channels)
    return channels


def _lane_steps(lane_id: int) -> QuerySet[LaneStep]:
    return LaneStep.objects.filter(lane=lane_id).select_related("team")


_LANE_STEPS: Compiled[LaneStep] = Compiled(_lane_steps, arity=1)


def lane_steps(lane: Lane) -> list[LaneStep]:
    """The lane's ordered steps, loaded once per lane instance (a transition reads them twice);
    on PostgreSQL through SQL compiled once per process, read afresh for each instance."""
    cached = getattr(lane, "_parley_steps", None)
    if cached is None:
        if connection.vendor == "postgresql":
            cached = _LANE_STEPS.run(lane.id, using=lane._state.db or "default")
            for step in cached:
                LaneStep.lane.field.set_cached_value(step, lane)
        else:
            cached = list(lane.steps.select_related("team").all())
        lane.__dict__["_parley_steps"] = cached
    return cached


def lane_has_translation_step(lane: Lane) -> bool:
    return any(s.kind == StepKind.TRANSLATION for s in lane_steps(lane))


def text_length_for(channel: Channel) -> Callable[[str], int]:
    """The one length function of a channel's platform (its adapter's `text_length`, with what
    the channel's server was found to count: `counts_code_points`), for the guideline and the
    live counter, as the preflight counts; code points for an unknown adapter."""
    cls = adapter_class(channel.adapter)
    if cls is None:
        return len
    limits = Limits(max_length=channel.char_limit, counts_code_points=channel.counts_code_points)
    return lambda text: cls.text_length(text, limits)


def run_checks(
    post: Post, *, texts: dict[str, str], channels: Any, lane: Lane | None = None
) -> list[guidelines.CheckResult]:
    lane = lane or post.lane
    channels = list(channels)
    speaks = channel_languages(post, channels)  # a reply: the citizen's language, on the message's channel
    infos = [
        guidelines.ChannelInfo(slug=c.slug, char_limit=c.char_limit - signature_reserve(post, c),
                               languages=speaks.get(c.id, ()), count=text_length_for(c))
        for c in channels
    ]
    return guidelines.evaluate(
        rules=lane_rules(lane),
        texts=texts,
        channels=infos,
        required_languages=required_languages(post, lane),
        reply_language=reply_language(post, lane),
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


def snapshot_revision(post: Post, *, texts: dict[str, str], by: User) -> PostRevision:
    post.revision += 1
    return PostRevision.objects.create(post=post, number=post.revision, texts=texts, created_by=by)


def write_texts(post: Post, *, new_texts: dict[str, str], by: User) -> list[str]:
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


@dataclass
class LiveApprovals:
    """The approvals still bound to the current text, per step: who gave them (`reviewers`,
    {step_id: {reviewer_id}}), the languages they saw and the languages they count for
    (four_eyes.counted_languages: an outsider's, only their link's)."""

    reviewers: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    seen: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))
    counted: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))

    #: (step_id, reviewer_id) → the languages that reviewer's approval counts for there.
    counted_by: dict[tuple[int, int], set[str]] = field(default_factory=dict)
    #: Which reviewers are outside stand-ins: read once, only for a lane that asks (awaiting_staff).
    outsiders: set[int] | None = None

    def add(self, *, step_id: int, reviewer_id: int, text_versions: dict[str, int], languages: list[str] | None) -> None:
        self.reviewers[step_id].add(reviewer_id)
        self.seen[step_id].update(text_versions)
        mine = counted_languages(languages=languages, text_versions=text_versions)
        self.counted[step_id].update(mine)
        self.counted_by.setdefault((step_id, reviewer_id), set()).update(mine)

    def awaiting_staff(self, step: LaneStep) -> bool:
        """Lane.outside_needs_staff_confirmation: an approval through an outside link is there,
        and no staff member's approval there counts for a language yet (at a review or sign-off
        step four eyes already refuses a staff member who wrote a text; at a translation step a
        translator's approval counts for none of the languages they wrote)."""
        if not step.lane.outside_needs_staff_confirmation:
            return False
        here = self.reviewers.get(step.id, set())
        if not here:
            return False
        if self.outsiders is None:
            everyone = set().union(*self.reviewers.values())
            self.outsiders = set(OutsideInvitation.objects.filter(actor_id__in=everyone)
                                 .values_list("actor_id", flat=True).distinct())
        if not here & self.outsiders:
            return False
        return not any(self.counted_by.get((step.id, r)) for r in here - self.outsiders)

    def waiting_for(self, step: LaneStep) -> list[str]:
        """The languages the approvers of a review or sign-off step saw that no approval there
        counts for yet (an outsider whose link covers English leaves French waiting). Never at
        a translation step: completing a translation is not four-eyes approval (four_eyes.py)."""
        if step.kind == StepKind.TRANSLATION:
            return []
        return sorted(self.seen.get(step.id, set()) - self.counted.get(step.id, set()))

    def met(self, step: LaneStep) -> bool:
        """Quorum reached, every language seen there approved by someone it counts for, and no
        outside approval waiting for a staff confirmation (awaiting_staff)."""
        return (len(self.reviewers.get(step.id, ())) >= step.quorum and not self.waiting_for(step)
                and not self.awaiting_staff(step))


def _steps_with_live_approvals(post_id: int, lane_id: int) -> QuerySet[LaneStep]:
    """The lane's steps in order (with their teams), each with the array of the post's live
    approvals there (reviewer, text versions seen, languages counted)."""
    from django.contrib.postgres.expressions import ArraySubquery
    from django.db.models import OuterRef
    from django.db.models.functions import JSONObject

    live = Decision.objects.filter(
        post=post_id, step=OuterRef("pk"), verdict=Verdict.APPROVE, invalidated_at__isnull=True
    ).values(json=JSONObject(reviewer="reviewer_id", versions="text_versions", languages="languages"))
    return LaneStep.objects.filter(lane=lane_id).select_related("team").annotate(live_approvals=ArraySubquery(live))


#: Compiled once per process (compiled.py): the query stays _steps_with_live_approvals.
_STEPS_WITH_LIVE_APPROVALS: Compiled[LaneStep] = Compiled(_steps_with_live_approvals, arity=2)


def steps_and_live_approvers(post: Post) -> LiveApprovals:
    """live_approvers(post), loading the lane's steps (cached on the lane instance, as lane_steps
    does) in the same query on PostgreSQL: each step carries the array of its live approvals.
    Read afresh at every call (only the SQL text is compiled once per process)."""
    lane = post.lane
    if connection.vendor != "postgresql" or "_parley_steps" in lane.__dict__:
        if not lane_steps(lane):
            return LiveApprovals()  # a lane without steps (the conversation lane): nothing to read
        return live_approvers(post)
    steps = _STEPS_WITH_LIVE_APPROVALS.run(post.id, lane.id, using=post._state.db or "default")
    for step in steps:
        LaneStep.lane.field.set_cached_value(step, lane)
    lane.__dict__["_parley_steps"] = steps
    result = LiveApprovals()
    for step in steps:
        for a in getattr(step, "live_approvals", None) or ():
            result.add(step_id=step.id, reviewer_id=a["reviewer"], text_versions=a["versions"] or {},
                       languages=a["languages"])
    return result


def live_approvers(post: Post) -> LiveApprovals:
    """The approvals still bound to the current text (LiveApprovals)."""
    result = LiveApprovals()
    for step_id, reviewer_id, versions, languages in Decision.objects.filter(
        post=post, verdict=Verdict.APPROVE, invalidated_at__isnull=True
    ).values_list("step_id", "reviewer_id", "text_versions", "languages"):
        result.add(step_id=step_id, reviewer_id=reviewer_id, text_versions=versions or {}, languages=languages)
    return result


def first_unmet_step(post: Post, *, languages: set[str], approvers: LiveApprovals | None = None) -> LaneStep | None:
    if approvers is None:
        approvers = steps_and_live_approvers(post)
    missing = missing_languages(post, languages)
    for step in lane_steps(post.lane):
        if not approvers.met(step):
            return step
        if step.kind == StepKind.TRANSLATION and missing:
            return step
    return None


def advance(post: Post, *, by: User | None, languages: set[str], approvers: LiveApprovals | None = None) -> None:
    """Put the post in the first step not met on the current text (its quorum, and every language
    its approvers saw approved by someone it counts for: LiveApprovals.met), or approve it.

    Writes audit events and outbox events; the caller saves the post."""
    step = first_unmet_step(post, languages=languages, approvers=approvers)
    now = timezone.now()
    if step is not None:
        if post.current_step_id == step.id and post.state == PostState.IN_REVIEW:
            return
        post.current_step = step
        post.step_entered_at = now
        transition(
            post, to=PostState.IN_REVIEW, by=by, verb="step_entered", save=False,
            data={"step_id": step.id, "step": stable_name(step), "kind": step.kind, "team_id": step.team_id},
            topic="post.step_entered", payload={"post_id": post.id, "step_id": step.id, "team_id": step.team_id},
        )
        return
    mark_approved(post, by=by, languages=languages)


def mark_approved(post: Post, *, by: User | None, languages: set[str], verb: str = "approved_all", data: dict | None = None) -> None:
    missing = missing_languages(post, languages)
    if missing:
        raise GuidelineViolation(
            code="languages.missing_for_approval", params={"languages": missing},
            violations=[{"rule": "languages_present", "severity": "block", "ok": False,
                         "code": "languages_present.missing", "params": {"languages": missing},
                         "language": "", "field": "texts"}],
        )
    post.current_step = None
    post.step_entered_at = None
    post.approved_at = timezone.now()
    transition(post, to=PostState.APPROVED, by=by, verb=verb, data=data, topic="post.approved", save=False)


SAVED_FIELDS = ["state", "current_step", "step_entered_at", "version", "updated_at", "revision",
                "audit_seq", "audit_head", "approved_at", "checks"]


def save_post(post: Post, *, fields: list[str] | None = None) -> None:
    post.version += 1
    post.updated_at = timezone.now()
    update_row(post, fields=sorted(set(SAVED_FIELDS + (fields or []))), using=post._state.db or "default")


def writes_defer(post: Post) -> None:
    """Collect the post's next audit events (audit_defer) and outbox events in memory:
    save_post_with writes them with the post row."""
    audit_defer(post)
    post.__dict__["_outbox_pending"] = []


def save_post_with(post: Post, *, new: list[Any]) -> None:
    """save_post, writing in the same statement (PostgreSQL; compiled.write_together) the new
    instances `new` (of one model), then the outbox and audit events deferred by writes_defer:
    one round trip for every write of a transition. The caller holds the post's row lock."""
    post.version += 1
    post.updated_at = timezone.now()
    outbox = post.__dict__.pop("_outbox_pending")
    audit = post.__dict__.pop("_audit_pending")
    write_together([new, outbox, audit], update=post, fields=sorted(SAVED_FIELDS), using=post._state.db or "default")
    if outbox:
        outbox_written()


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


def transition(
    post: Post,
    *,
    to: PostState,
    verb: str,
    by: User | None = None,
    data: dict[str, Any] | None = None,
    topic: str = "",
    payload: dict[str, Any] | None = None,
    fields: list[str] | None = None,
    save: bool = True,
    same_state_ok: bool = False,
) -> None:
    """The one way a post changes state: check the table (ALLOWED_TRANSITIONS), move, write the
    audit event and (when `topic`) the outbox event, and save the post with `fields`.

    `save=False` only inside the lane engine, whose callers save the post once at the end of
    the same service (the engine's steps are part of their transition). `same_state_ok`: an
    event that may leave the state as it is (a retraction that leaves languages live)."""
    from_state = post.state
    if not (same_state_ok and to == from_state):
        ensure_transition(post, to=to)
    post.state = to
    audit_record(owner=post, verb=verb, actor=by, from_state=from_state, to_state=to, data=data or {})
    if topic:
        body = payload if payload is not None else {"post_id": post.id}
        pending = post.__dict__.get("_outbox_pending")
        if pending is not None:  # writes_defer: written with the post (save_post_with)
            pending.append(outbox_event(topic=topic, organisation_id=post.organisation_id, post_id=post.id, payload=body))
        else:
            outbox_emit(topic=topic, organisation_id=post.organisation_id, post_id=post.id, payload=body)
    if save:
        save_post(post, fields=fields)


def transition_many(
    posts: list[Post],
    *,
    to: PostState,
    verb: str,
    data: Callable[[Post], dict[str, Any]] | None = None,
    topic: str = "",
    fields: list[str] | None = None,
) -> None:
    """`transition` for many posts moved the same way, each under the caller's row lock, in a
    fixed number of statements (the batched publishing path, issue 14): each post's table check
    and audit event on its own chain (all events in one INSERT), the outbox events in one
    INSERT, the posts in one UPDATE. Checks every post before moving any."""
    if not posts:
        return
    for post in posts:
        ensure_transition(post, to=to)
    for post in posts:
        from_state = post.state
        audit_defer(post)
        post.state = to
        audit_record(owner=post, verb=verb, from_state=from_state, to_state=to, data=data(post) if data else {})
    audit_flush_many(posts)
    if topic:
        outbox_emit_many([{"topic": topic, "organisation_id": p.organisation_id, "post_id": p.id,
                           "payload": {"post_id": p.id}} for p in posts])
    save_posts(posts, fields=fields)
