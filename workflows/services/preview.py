"""Read-only previews for the web UI: guideline checks as you type, and which actions a viewer
may try on a post. Nothing here writes; the real services stay the judge of every action."""
from __future__ import annotations

from dataclasses import dataclass, field

from .. import guidelines
from ..constants import (
    ALLOWED_TRANSITIONS,
    EDITABLE_STATES,
    STEP_PERMISSION,
    URGENT_FROM,
    ChannelPerm,
    LaneKind,
    PostKind,
    PostState,
    PublicationStatus,
    StepKind,
    Verdict,
)
from ..limits import TEXT_MAX
from ..models import Channel, InboundMessage, Lane, Post
from ..permissions import has_perm_on_all
from .common import is_team_member
from .four_eyes import approval_scope


@dataclass
class Preview:
    results: list[guidelines.CheckResult]
    #: {language: (characters, limit or None)}
    lengths: dict[str, tuple[int, int | None]]
    escalation: guidelines.Escalation | None = None
    lane: Lane | None = None

    @property
    def blocking(self) -> list[guidelines.CheckResult]:
        return guidelines.blocking(self.results)


def preview_checks(
    *,
    user,
    kind: str,
    texts: dict[str, str],
    channels: list[str] | None = None,
    in_reply_to: int | None = None,
    lane: str | None = None,
    rules_acknowledged: bool = False,
) -> Preview:
    """Run the lane's guideline checks (and escalation rules) on unsaved text, as post_create and
    post_submit would. Pure: writes nothing. Unknown channels or messages are ignored."""
    from .engine import run_checks

    org_id: int = getattr(user, "organisation_id", None) or 0
    texts = {k: (v or "").replace("\r\n", "\n").strip() for k, v in texts.items() if k in ("en", "fr")}
    inbound = None
    if in_reply_to:
        inbound = (
            InboundMessage.objects.filter(id=in_reply_to, organisation_id=org_id)
            .select_related("channel").first()
        )
    slugs = list(channels or [])
    if not slugs and inbound is not None:
        slugs = [inbound.channel.slug]
    chans = list(Channel.objects.filter(slug__in=slugs, organisation_id=org_id, is_active=True))
    wanted = LaneKind.CONVERSATION if kind == PostKind.REPLY else LaneKind.OFFICIAL
    lanes = Lane.objects.filter(organisation_id=org_id).prefetch_related("guidelines", "steps", "escalations")
    chosen = (lanes.filter(slug=lane).first() if lane else None) or lanes.filter(kind=wanted).order_by("id").first()
    lengths: dict[str, tuple[int, int | None]] = {}
    for lang, body in texts.items():
        limits = [c.char_limit for c in chans if lang in c.languages]
        lengths[lang] = (len(body), min(limits) if limits else None)
    if chosen is None or any(n > TEXT_MAX for n, _limit in lengths.values()):
        # Over the hard cap no rule runs: the submit will be refused with text_too_long anyway.
        return Preview(results=[], lengths=lengths)
    escalation = None
    if chosen.kind == LaneKind.CONVERSATION:
        rules = [e for e in chosen.escalations.all() if e.enabled]
        escalation = guidelines.escalation_for(
            rules=[guidelines.Rule(kind=e.kind, params=e.params) for e in rules],
            texts=texts, reasons=[e.reason for e in rules],
        )
    draft = Post(lane=chosen, kind=kind, in_reply_to=inbound, rules_acknowledged=bool(rules_acknowledged))
    results = run_checks(draft, texts={k: v for k, v in texts.items() if v}, channels=chans, lane=chosen)
    return Preview(results=results, lengths=lengths, escalation=escalation, lane=chosen)


@dataclass
class Actions:
    """What the viewer may try. A hint for which buttons to show, never a permission check."""

    edit: bool = False
    submit: bool = False
    review: bool = False
    approve: bool = False
    translate: bool = False
    withdraw: bool = False
    urgent: bool = False
    retry: bool = False
    #: settle publications whose outcome is unknown (publication_resolve); shown by the publications
    resolve: bool = False
    missing_languages: list[str] = field(default_factory=list)
    #: why approving is refused (a code of workflows.messages), "" when it is not
    approve_refusal: str = ""

    @property
    def any(self) -> bool:
        return any((self.edit, self.submit, self.review, self.translate, self.withdraw, self.urgent, self.retry))


def post_actions_for(*, post: Post, user) -> Actions:
    """Mirror of the services' preconditions (state, authorship, team, channel permissions) to
    decide which forms to show. The service still decides when the form is posted."""
    from .engine import required_languages

    acts = Actions()
    state = post.state
    channel_ids = [c.id for c in post.channels.all()]
    is_author = user.id == post.author_id

    def perm(codename: str) -> bool:
        return has_perm_on_all(user=user, codename=codename, channel_ids=channel_ids)

    if state in EDITABLE_STATES:
        acts.edit = acts.submit = is_author or perm(ChannelPerm.DRAFT)
    step = post.current_step
    if state == PostState.IN_REVIEW and step is not None and not is_author and is_team_member(user=user, team=step.team):
        if perm(STEP_PERMISSION[StepKind(step.kind)]):
            already = any(
                d.step_id == step.id and d.reviewer_id == user.id and d.verdict == Verdict.APPROVE
                and d.invalidated_at is None for d in post.decisions.all()
            )
            acts.review = True
            if step.kind == StepKind.TRANSLATION:
                acts.translate = True
                have = {t.language for t in post.texts.all()}
                acts.missing_languages = [lang for lang in required_languages(post) if lang not in have]
            # Four eyes by contribution: the very rule post_approve applies (four_eyes.py).
            scope = approval_scope(post=post, user=user, step=step)
            acts.approve_refusal = scope.refusal
            # Completing a translation step needs every required language first.
            acts.approve = not already and not acts.missing_languages and scope.allowed
    if PostState.WITHDRAWN in ALLOWED_TRANSITIONS[PostState(state)]:
        acts.withdraw = is_author or perm(ChannelPerm.MANAGE)
    if state in URGENT_FROM and post.lane.allow_urgent:
        acts.urgent = perm(ChannelPerm.PUBLISH_URGENT)
    if state == PostState.FAILED:
        acts.retry = is_author or perm(ChannelPerm.PUBLISH) or (post.urgent and perm(ChannelPerm.PUBLISH_URGENT))
    if any(p.status == PublicationStatus.UNKNOWN for p in post.publications.all()):
        acts.resolve = perm(ChannelPerm.PUBLISH)
    return acts
