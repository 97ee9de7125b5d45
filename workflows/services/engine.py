"""The lane engine: guideline checks, revisions, approval binding and step advancement.

Called only from the other services, inside their transaction and under the post's row lock."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Prefetch, QuerySet, prefetch_related_objects
from django.utils import timezone

from accounts.models import User

from .. import guidelines
from ..channels import adapter_class
from ..channels.base import Limits
from ..constants import PostState, ReviewStatus, StepKind, Verdict
from ..exceptions import GuidelineViolation
from ..models import (
    AuditEvent,
    Channel,
    Decision,
    GuidelineRule,
    Lane,
    LaneStep,
    OutboxEvent,
    OutsideInvitation,
    Post,
    PostMedium,
    PostReview,
    PostRevision,
    PostText,
    Publication,
)
from ..permissions import CallerPerms
from ..selectors import post_texts
from .audit import audit_record
from .common import (
    ensure_locked_visible,
    ensure_transition,
    post_get_for_update,
    post_lock_queryset,
    stable_name,
)
from .four_eyes import Revisions, counted_languages
from .lanes import channel_languages, missing_languages, reply_language, required_languages
from .media import Attachment, guideline_media, media_rows_json, post_media, snapshots
from .outbox import outbox_event, outbox_written
from .signatures import signature_reserve


@dataclass
class TransitionContext:
    """What the steps of one transition compute for each other, passed explicitly from call to
    call (never left on a model instance). Made under the post's row lock
    (post_lock_for_transition) and handed to the checks and the engine:

    * `rules`: the lane's enabled guideline rules, read with the lock (PostgreSQL);
    * `revisions`: the post's text revisions (four eyes by contribution), read with the lock;
    * `perms`: what the acting user holds on the post's channels (permissions.caller_perms),
      read once by the first permission check and asked again by the later ones (and by the
      API's `actions` field in the response);
    * `media`: the post's media (services.media.Attachment), read with the lock;
    * `audit`, `outbox`: the events recorded so far, when the service writes them together at
      its end (write_pending: one INSERT each); None writes each event at once."""

    rules: list[guidelines.Rule] | None = None
    revisions: Revisions | None = None
    perms: CallerPerms | None = None
    media: list[Attachment] | None = None
    audit: list[AuditEvent] | None = None
    outbox: list[OutboxEvent] | None = None

    def collect(self) -> TransitionContext:
        """Collect the audit and outbox events from now on (write_pending writes them)."""
        self.audit = [] if self.audit is None else self.audit
        self.outbox = [] if self.outbox is None else self.outbox
        return self


def lane_rules(lane: Lane, *, ctx: TransitionContext | None = None) -> list[guidelines.Rule]:
    """The lane's enabled guideline rules (read with the post's row lock when `ctx` has them)."""
    if ctx is not None and ctx.rules is not None:
        return ctx.rules
    return [
        guidelines.Rule(kind=r.kind, severity=r.severity, params=r.params)
        for r in lane.guidelines.all()
        if r.enabled
    ]


def _lock_for_transition(post_id: int, *, revisions: bool, shown: bool) -> QuerySet[Post]:
    """post_lock_queryset, also reading the lane's enabled guideline rules, the post's media
    (with the number of its last revision: services.media) and, with `revisions`, the post's
    text revisions (PostgreSQL: arrays of JSON objects); with `shown`,
    what the post's detail shows and the transition does not change (its author, the message
    it answers, whether it has publications or open reviews: selectors.post_detail_of)."""
    from django.contrib.postgres.expressions import ArraySubquery
    from django.db.models import Exists, OuterRef, Subquery
    from django.db.models.functions import JSONObject

    extra: dict[str, Any] = {"lane_rules": ArraySubquery(
        GuidelineRule.objects.filter(lane=OuterRef("lane_id"), enabled=True).order_by("id").values(
            json=JSONObject(kind="kind", severity="severity", params="params")))}
    # rewrite(False): modeltranslation's queryset would add the translated columns to the subquery.
    extra["media_rows"] = ArraySubquery(PostMedium.objects.rewrite(False).filter(post=OuterRef("pk"))
                                        .order_by("position", "id").values(json=JSONObject(**media_rows_json())))
    extra["media_revision"] = Subquery(
        PostRevision.objects.filter(post=OuterRef("pk")).order_by("-number").values("number")[:1])
    if revisions:
        extra["text_revisions"] = ArraySubquery(
            PostRevision.objects.filter(post=OuterRef("pk")).order_by("number").values(
                json=JSONObject(number="number", texts="texts", by="created_by_id", media="media")))
    if shown:
        extra["has_publications"] = Exists(Publication.objects.filter(post=OuterRef("pk")))
        extra["has_open_reviews"] = Exists(PostReview.objects.filter(post=OuterRef("pk"), status=ReviewStatus.OPEN))
        return post_lock_queryset(post_id, annotate=extra).select_related("author", "in_reply_to")
    return post_lock_queryset(post_id, annotate=extra)


def post_lock_for_transition(*, post_id: int, user: User, revisions: bool = False,
                             shown: bool = False) -> tuple[Post, TransitionContext]:
    """post_get_for_update, also reading in the same statement (PostgreSQL) the lane's enabled
    guideline rules (for the checks) and, with `revisions`, the text revisions (four eyes by
    contribution); both travel in the returned TransitionContext. `shown`: for a transition
    that creates no publication and opens no review (approve), what the response's detail
    needs besides (_lock_for_transition)."""
    ctx = TransitionContext()
    # A vendor fork: ArraySubquery is PostgreSQL's; elsewhere the rules and revisions are read
    # when first needed (one query each), the same rows.
    if connection.vendor != "postgresql":
        return post_get_for_update(post_id=post_id, user=user), ctx
    post = ensure_locked_visible(_lock_for_transition(post_id, revisions=revisions, shown=shown).first(), user=user)
    ctx.rules = [guidelines.Rule(kind=r["kind"], severity=r["severity"], params=r["params"])
                 for r in getattr(post, "lane_rules", None) or ()]  # the lock's annotations
    rows = getattr(post, "text_revisions", None) if revisions else None
    # The subqueries read the snapshot taken before the statement waited for the lock: a revision
    # committed meanwhile (by the transaction that held the lock) is not among them, though the
    # post row (read after the wait) counts it. Then four eyes reads them again (four_eyes.py).
    if rows is not None and (rows[-1]["number"] if rows else 0) == post.revision:
        ctx.revisions = [(r["texts"], r["by"], r["media"] or []) for r in rows]
    # Every change of the media snapshots a revision: the same test tells the media are current.
    if getattr(post, "media_revision", None) == post.revision:
        ctx.media = [Attachment.from_row(r) for r in getattr(post, "media_rows", None) or ()]
    return post, ctx


def load_texts(post: Post) -> list[PostText]:
    """The post's texts (prefetch_related, as posts_visible loads them), read now under the
    caller's row lock unless already loaded: the guideline re-check and the decision share them."""
    prefetch_related_objects([post], post_texts())
    return list(post.texts.all())


def load_channels(post: Post) -> list[Channel]:
    """The post's channels (prefetch_related), read now unless already loaded."""
    prefetch_related_objects([post], "channels")
    return list(post.channels.all())


def lane_steps(lane: Lane) -> list[LaneStep]:
    """The lane's ordered steps with their teams (prefetch_related on the lane instance: read
    once per instance, as a transition asks twice)."""
    prefetch_related_objects([lane], Prefetch("steps", queryset=LaneStep.objects.select_related("team")))
    return list(lane.steps.all())


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
    post: Post, *, texts: dict[str, str], channels: Any, lane: Lane | None = None,
    ctx: TransitionContext | None = None, media: list[Attachment] | None = None,
) -> list[guidelines.CheckResult]:
    """The lane's guideline rules on `texts` and the post's media (`media`, else those the
    lock read: `ctx.media`, else read now)."""
    lane = lane or post.lane
    if media is None:
        media = ctx.media if ctx is not None and ctx.media is not None else post_media(post)
    channels = list(channels)
    speaks = channel_languages(post, channels)  # a reply: the citizen's language, on the message's channel
    infos = [
        guidelines.ChannelInfo(slug=c.slug, char_limit=c.char_limit - signature_reserve(post, c),
                               languages=speaks.get(c.id, ()), count=text_length_for(c),
                               media=guidelines.media_limits_for(adapter=c.adapter, platform=c.platform))
        for c in channels
    ]
    return guidelines.evaluate(
        rules=lane_rules(lane, ctx=ctx if lane is post.lane else None),
        texts=texts,
        channels=infos,
        required_languages=required_languages(post, lane),
        reply_language=reply_language(post, lane),
        acknowledged=post.rules_acknowledged,
        translation_step=lane_has_translation_step(lane),
        is_reply=post.kind == "reply",
        media=guideline_media(media),
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


def recheck_text(post: Post, *, texts: dict[str, str] | None = None, code: str = "",
                 channels: list[Channel] | None = None, ctx: TransitionContext | None = None,
                 media: list[Attachment] | None = None) -> list[guidelines.CheckResult]:
    """Re-run the lane's rules on the post's exact current text (at every approval and before
    publishing): rules about the text only (the author's acknowledgement is not re-asked).
    Raises GuidelineViolation when one blocks; returns the results otherwise."""
    texts = post.texts_dict() if texts is None else texts
    channels = list(post.channels.all()) if channels is None else channels
    results = run_checks(post, texts=texts, channels=channels, ctx=ctx, media=media)
    ensure_no_blocking([r for r in results if r.rule not in guidelines.NOT_ABOUT_TEXT], code=code)
    return results


def snapshot_revision(post: Post, *, texts: dict[str, str], by: User,
                      media: list[Attachment] | None = None) -> PostRevision:
    """The next revision: the texts and the media as they are now (`media`, else read now)."""
    post.revision += 1
    shot = snapshots(post_media(post) if media is None else media)
    return PostRevision.objects.create(post=post, number=post.revision, texts=texts, media=shot, created_by=by)


def write_texts(post: Post, *, new_texts: dict[str, str], by: User) -> list[str]:
    """Create or update each language's text; return the languages whose body changed."""
    existing = {t.language: t for t in load_texts(post)}
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
    # The texts loaded above are stale now: refresh_from_db drops them (no query); the next
    # post.texts.all() reads them again.
    post.refresh_from_db(fields=["texts"])
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


def steps_and_live_approvers(post: Post) -> LiveApprovals:
    """live_approvers(post), loading the lane's steps (as lane_steps does) in the same query on
    PostgreSQL: each step carries the array of its live approvals."""
    lane = post.lane
    if connection.vendor == "postgresql":  # ArraySubquery: elsewhere two queries, the same rows
        prefetch_related_objects([lane], Prefetch("steps", queryset=_steps_with_live_approvals(post.id, lane.id)))
    steps = lane_steps(lane)
    if not steps:
        return LiveApprovals()  # a lane without steps (the conversation lane): nothing to read
    if not hasattr(steps[0], "live_approvals"):
        return live_approvers(post)  # the steps were loaded before, without their approvals
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


def advance(post: Post, *, by: User | None, languages: set[str], approvers: LiveApprovals | None = None,
            ctx: TransitionContext | None = None) -> None:
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
            post, to=PostState.IN_REVIEW, by=by, verb="step_entered", save=False, ctx=ctx,
            data={"step_id": step.id, "step": stable_name(step), "kind": step.kind, "team_id": step.team_id},
            topic="post.step_entered", payload={"post_id": post.id, "step_id": step.id, "team_id": step.team_id},
        )
        return
    mark_approved(post, by=by, languages=languages, ctx=ctx)


def mark_approved(post: Post, *, by: User | None, languages: set[str], verb: str = "approved_all",
                  data: dict | None = None, ctx: TransitionContext | None = None) -> None:
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
    transition(post, to=PostState.APPROVED, by=by, verb=verb, data=data, topic="post.approved", save=False, ctx=ctx)


SAVED_FIELDS = ["state", "current_step", "step_entered_at", "version", "updated_at", "revision",
                "audit_seq", "audit_head", "approved_at", "checks"]


def save_post(post: Post, *, fields: list[str] | None = None, ctx: TransitionContext | None = None) -> None:
    """Write the audit and outbox events `ctx` collected (one INSERT each), then the post (one
    UPDATE of the transition's fields and `fields`). The caller holds the post's row lock."""
    if ctx is not None:
        write_pending(ctx)
    post.version += 1
    post.updated_at = timezone.now()
    post.save(update_fields=sorted(set(SAVED_FIELDS + (fields or []))))


def write_pending(ctx: TransitionContext) -> None:
    """Write the events `ctx` collected: the outbox events in one INSERT, the audit events in
    another; collecting again from empty lists."""
    outbox, audit = ctx.outbox or [], ctx.audit or []
    if outbox:
        OutboxEvent.objects.bulk_create(outbox)
        outbox_written()
    if audit:
        AuditEvent.objects.bulk_create(audit)
    if ctx.outbox is not None:
        ctx.outbox = []
    if ctx.audit is not None:
        ctx.audit = []


def save_posts(posts: list[Post], *, fields: list[str] | None = None) -> None:
    """save_post for many posts, each under the caller's row lock: one bulk_update."""
    if len(posts) == 1:
        save_post(posts[0], fields=fields)
        return
    now = timezone.now()
    for post in posts:
        post.version += 1
        post.updated_at = now
    Post.objects.bulk_update(posts, sorted(set(SAVED_FIELDS + (fields or []))))


def transition(post: Post, *, to: PostState, verb: str, by: User | None = None,
               data: dict[str, Any] | None = None, topic: str = "", payload: dict[str, Any] | None = None,
               fields: list[str] | None = None, save: bool = True, same_state_ok: bool = False,
               ctx: TransitionContext | None = None) -> None:
    """The one way a post changes state: transition_many([post]) (see there)."""
    transition_many([post], to=to, verb=verb, by=by, data=data, topic=topic, payload=payload, fields=fields,
                    save=save, same_state_ok=same_state_ok, ctx=ctx)


def transition_many(
    posts: list[Post],
    *,
    to: PostState,
    verb: str,
    by: User | None = None,
    data: dict[str, Any] | Callable[[Post], dict[str, Any]] | None = None,
    topic: str = "",
    payload: dict[str, Any] | Callable[[Post], dict[str, Any]] | None = None,
    fields: list[str] | None = None,
    save: bool = True,
    same_state_ok: bool = False,
    ctx: TransitionContext | None = None,
) -> None:
    """The one way posts change state, each under the caller's row lock: check the table
    (ALLOWED_TRANSITIONS) for every post before moving any, move each, append its audit event
    to its own chain and (when `topic`, a workflows.topics.Topic) its outbox event, then save
    the posts with `fields`. A fixed number of statements whatever the number of posts: the
    audit events in one INSERT, the outbox events in one, the posts in one UPDATE.

    `data`, `payload`: a dict, or a function of the post. `save=False` only inside the lane
    engine, whose callers save the post once at the end of the same service. `same_state_ok`:
    an event that may leave the state as it is (a retraction that leaves languages live). `ctx`
    collecting (TransitionContext.collect): the events are written when the post is saved."""
    if not posts:
        return
    for post in posts:
        if not (same_state_ok and to == post.state):
            ensure_transition(post, to=to)
    if ctx is not None and ctx.audit is not None and ctx.outbox is not None:
        pending, collecting = ctx, True
    else:  # not collected by the caller: written below, before the posts
        pending, collecting = TransitionContext(audit=[], outbox=[]), False
    events: list[AuditEvent] = pending.audit if pending.audit is not None else []
    outbox: list[OutboxEvent] = pending.outbox if pending.outbox is not None else []
    for post in posts:
        from_state = post.state
        post.state = to
        audit_record(owner=post, verb=verb, actor=by, from_state=from_state, to_state=to,
                     data=(data(post) if callable(data) else data) or {}, pending=events)
        if topic:
            body = payload(post) if callable(payload) else payload
            outbox.append(outbox_event(topic=topic, organisation_id=post.organisation_id, post_id=post.id,
                                       payload=body if body is not None else {"post_id": post.id}))
    if not collecting:
        write_pending(pending)
    if save:
        if len(posts) == 1:
            save_post(posts[0], fields=fields, ctx=ctx)
        else:
            if ctx is not None:
                write_pending(ctx)
            save_posts(posts, fields=fields)
