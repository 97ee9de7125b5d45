"""Every workflow action's rule, defined once: who may do it now (and if not, why).

Each action's rule is one object (Wagtail's `check()`, Zulip's `check_*`):

* `ensure(user, obj)` raises the refusal (a WorkflowError carrying a catalogue code). The
  service calls it under the row lock, so it judges the state it is about to change.
* `check(user, obj)` asks the same rule without raising: `None` (allowed now) or a `Refusal`
  with the code. The post page's buttons, the API's `actions` field and the tests ask it.
* doing it is the service's (the transaction, the row lock, `ensure`, the change); the edges run
  it through `workflows/actions.py`, which pairs each rule with its service (`execute`).

`obj` is a Post for the post actions and `invite`, a Publication for `resolve`, a PostReview for
`complete_review`, an InboundMessage for `claim`, `reply`, `dismiss` and `engage`, the list of
target Channels for `create`, the Channel for `ingest`, a ReplyDelivery (its message loaded) for
`callback_done`, an OutsideInvitation for `revoke_invitation` and (its post loaded, under the
lock; `user` the link's stand-in account) for `outside_decide`. A new action: add its
name to constants.Action (and its source states to constants.ACTION_FROM when it changes a
post's state), a class here with `ensure`, call `ensure` from its service under the lock, and
pair the two in workflows/actions.py.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, NoReturn

from accounts.models import User

from ..constants import (
    STEP_PERMISSION,
    Action,
    ChannelPerm,
    InboundMedium,
    InboundStatus,
    PostState,
    PublicationStatus,
    ReplyDeliveryStatus,
    ReviewStatus,
    StepKind,
)
from ..exceptions import (
    Conflict,
    Gone,
    GuidelineViolation,
    InvalidTransition,
    NotPermitted,
    WorkflowError,
)
from ..models import (
    Channel,
    InboundMessage,
    LaneStep,
    OutsideInvitation,
    Post,
    PostReview,
    PostText,
    Publication,
    ReplyDelivery,
)
from ..permissions import CallerPerms, caller_perms
from .channels import ensure_channels_usable
from .common import (
    current_step_of,
    ensure_action_state,
    ensure_channel_perm,
    ensure_perm_on_channels,
    is_team_member,
)
from .engine import LiveApprovals, live_approvers
from .four_eyes import Revisions, ensure_may_approve
from .grants import granted
from .lanes import missing_languages
from .signatures import ensure_may_use_channels


@dataclass(frozen=True)
class Refusal:
    """Why an action is refused now: a catalogue code (workflows.messages), its parameters and
    the kind of error the action raises with it (its HTTP status)."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)
    error: type[WorkflowError] = WorkflowError

    def raise_(self) -> NoReturn:
        raise self.error(code=self.code, params=self.params)


class WorkflowAction:
    """One action's rule: `ensure` (raises the refusal), `check` (the rule as an answer). Its
    service asks `ensure` under the row lock; workflows/actions.py pairs it with that service
    (`execute`) for the edges."""

    name: ClassVar[Action]
    service: ClassVar[str]

    def ensure(self, user: User, obj: Any, *, perms: CallerPerms | None = None) -> Any:
        """Raise the refusal. `perms`: what `user` holds on the post's channels, when already read
        (permissions.caller_perms): then no permission query is made."""
        raise NotImplementedError

    def check(self, user: User, obj: Any, *, perms: CallerPerms | None = None) -> Refusal | None:
        try:
            self.ensure(user, obj, perms=perms)
        except WorkflowError as exc:
            return Refusal(code=exc.code, params=exc.params, error=type(exc))
        return None

    def allowed(self, user: User, obj: Any, *, perms: CallerPerms | None = None) -> bool:
        return self.check(user, obj, perms=perms) is None



def _channel_ids(post: Post) -> list[int]:
    return [c.id for c in post.channels.all()]


def ensure_can_review(*, user: User, post: Post, perms: CallerPerms | None = None) -> LaneStep:
    """On the current step's team, not the author, holding the step's permission on every
    channel (one query, none with `perms`). Returns the step."""
    step = current_step_of(post)
    if user.id == post.author_id:
        raise NotPermitted(code="self_approval")
    if granted(user=user, post=post, step=step):
        return step  # an outside invitation for this step stands in for team and permission (grants.py)
    ensure_channel_perm(user=user, post=post, codename=STEP_PERMISSION[StepKind(step.kind)], team=step.team,
                        perms=perms)
    return step


# --- authoring ----------------------------------------------------------------------------

class Edit(WorkflowAction):
    """Change texts or schedule: draft or changes requested; the author, or anyone with the
    draft permission on every channel."""

    name = Action.EDIT

    def ensure(self, user: User, obj: Post, *, perms: CallerPerms | None = None) -> None:
        ensure_action_state(obj, self.name)
        if user.id != obj.author_id:
            ensure_perm_on_channels(user=user, channel_ids=_channel_ids(obj), codename=ChannelPerm.DRAFT, perms=perms)


class Submit(Edit):
    """Send into the lane: the same people and states as editing."""

    name = Action.SUBMIT


class Withdraw(WorkflowAction):
    """Take the post back before publishing: its author, or a channel manager."""

    name = Action.WITHDRAW

    def ensure(self, user: User, obj: Post, *, perms: CallerPerms | None = None) -> None:
        ensure_action_state(obj, self.name)
        if user.id != obj.author_id:
            ensure_channel_perm(user=user, post=obj, codename=ChannelPerm.MANAGE, perms=perms)


class PublishUrgent(WorkflowAction):
    """Break glass: the lane allows it and the user may publish urgently on every channel."""

    name = Action.PUBLISH_URGENT

    def ensure(self, user: User, obj: Post, *, perms: CallerPerms | None = None) -> None:
        ensure_action_state(obj, self.name)
        if obj.urgent:
            # Already broken once and not yet publishing (the relay has not picked it up): a
            # second break-glass would open a second retrospective for the same act.
            raise InvalidTransition(code="invalid_state", params={"action": str(self.name), "state": obj.state})
        if not obj.lane.allow_urgent:
            raise NotPermitted(code="urgent_not_allowed")
        ensure_channel_perm(user=user, post=obj, codename=ChannelPerm.PUBLISH_URGENT, perms=perms)


# --- reviewing ----------------------------------------------------------------------------

class Approve(WorkflowAction):
    """Approve the current step: may review it (team, permission, not the author), four eyes by
    contribution, every required language present at a translation step, not approved already
    by this user. `ensure` returns the languages the approval counts for (under an outside
    link, only the link's: four_eyes.approval_scope)."""

    name = Action.APPROVE

    def ensure(self, user: User, obj: Post, *, perms: CallerPerms | None = None,
               texts: list[PostText] | None = None, approvers: LiveApprovals | None = None,
               revisions: Revisions | None = None) -> list[str]:
        ensure_action_state(obj, self.name)
        step = ensure_can_review(user=user, post=obj, perms=perms)
        texts = list(obj.texts.all()) if texts is None else texts
        covered = ensure_may_approve(post=obj, user=user, step=step, texts=texts, revisions=revisions)
        if step.kind == StepKind.TRANSLATION:
            missing = missing_languages(obj, (t.language for t in texts))
            if missing:
                raise GuidelineViolation(
                    code="translation.missing", params={"languages": missing},
                    violations=[{"rule": "languages_present", "severity": "block", "ok": False,
                                 "code": "languages_present.missing", "params": {"languages": [m]},
                                 "language": m, "field": f"texts.{m}"} for m in missing],
                )
        approvers = live_approvers(obj) if approvers is None else approvers
        if user.id in approvers.reviewers.get(step.id, ()):
            raise Conflict(code="already_approved")
        if obj.lane.distinct_step_approvers and any(
                user.id in ids for step_id, ids in approvers.reviewers.items() if step_id != step.id):
            # Someone on two teams approves one step only: otherwise one person's two clicks pass
            # Review and Translation and the post meets one pair of eyes (issue 20).
            raise NotPermitted(code="security.one_step_per_person")
        return covered


class RequestChanges(WorkflowAction):
    """Send back to the author: may review the current step."""

    name = Action.REQUEST_CHANGES

    def ensure(self, user: User, obj: Post, *, perms: CallerPerms | None = None) -> None:
        ensure_action_state(obj, self.name)
        ensure_can_review(user=user, post=obj, perms=perms)


class Reject(RequestChanges):
    """Refuse for good: may review the current step."""

    name = Action.REJECT


class Translate(WorkflowAction):
    """Write a language at a translation step: on its team, not the author, the translate
    permission on every channel."""

    name = Action.TRANSLATE

    def ensure(self, user: User, obj: Post, *, perms: CallerPerms | None = None) -> None:
        ensure_action_state(obj, self.name)
        step = current_step_of(obj)
        if step.kind != StepKind.TRANSLATION:
            raise InvalidTransition(code="not_translation_step")
        if user.id == obj.author_id:
            raise NotPermitted(code="self_translation")
        if granted(user=user, post=obj, step=step, edit=True):
            return  # an outside bureau's invitation (grants.py; its languages checked by outside_review)
        if not is_team_member(user=user, team=step.team, perms=perms):
            raise NotPermitted(code="not_on_team", params={"team": step.team.name})
        ensure_channel_perm(user=user, post=obj, codename=ChannelPerm.TRANSLATE, perms=perms)


class CompleteReview(WorkflowAction):
    """Close a spot-check or retrospective review (obj: the PostReview, its post loaded): open,
    not the author nor whoever it excludes, on its team (or with the review permission when it
    has no team)."""

    name = Action.COMPLETE_REVIEW

    def ensure(self, user: User, obj: PostReview, *, perms: CallerPerms | None = None) -> None:
        post = obj.post
        if obj.status != ReviewStatus.OPEN:
            raise Conflict(code="review_done")
        if user.id in (obj.excluded_users or []) or user.id == post.author_id:
            raise NotPermitted(code="self_review")
        if obj.team_id is not None:
            if not is_team_member(user=user, team=obj.team, perms=perms):
                raise NotPermitted(code="not_review_team")
        else:
            ensure_channel_perm(user=user, post=post, codename=ChannelPerm.REVIEW, perms=perms)


# --- publishing ---------------------------------------------------------------------------

class Retry(WorkflowAction):
    """Send a failed post again: its author, anyone with the publish permission on every
    channel, and — for a post published urgently — anyone who may publish urgently there."""

    name = Action.RETRY

    def ensure(self, user: User, obj: Post, *, perms: CallerPerms | None = None) -> None:
        ensure_action_state(obj, self.name)
        self._ensure_may(user, obj, perms=perms)
        # A failure that cannot pass until someone fixes a channel is not offered again: the
        # post page says what to change instead (issue 21).
        ensure_channels_usable(obj.channels.all())

    def _ensure_may(self, user: User, obj: Post, *, perms: CallerPerms | None = None) -> None:
        if user.id == obj.author_id:
            return
        perms = perms if perms is not None else caller_perms(user=user, post=obj)
        try:
            ensure_channel_perm(user=user, post=obj, codename=ChannelPerm.PUBLISH, perms=perms)
        except NotPermitted:
            if not obj.urgent:
                raise
            ensure_channel_perm(user=user, post=obj, codename=ChannelPerm.PUBLISH_URGENT, perms=perms)


class Resolve(WorkflowAction):
    """Settle a publication whose outcome is unknown (obj: the Publication, its post loaded):
    the publish permission on the post's channels."""

    name = Action.RESOLVE

    def ensure(self, user: User, obj: Publication, *, perms: CallerPerms | None = None) -> None:
        ensure_channel_perm(user=user, post=obj.post, codename=ChannelPerm.PUBLISH, perms=perms)
        if obj.status != PublicationStatus.UNKNOWN:
            raise InvalidTransition(code="not_unknown")


class Retract(WorkflowAction):
    """Delete what a post published: the publish permission on every channel, something live."""

    name = Action.RETRACT

    def ensure(self, user: User, obj: Post, *, perms: CallerPerms | None = None) -> None:
        ensure_channel_perm(user=user, post=obj, codename=ChannelPerm.PUBLISH, perms=perms)
        ensure_action_state(obj, self.name)
        if not any(p.status == PublicationStatus.SENT for p in obj.publications.all()):
            raise InvalidTransition(code="retract.nothing_live")


# --- the conversation inbox ---------------------------------------------------------------

class Claim(WorkflowAction):
    """Take a citizen message: the draft permission on its channel; new, or already yours."""

    name = Action.CLAIM

    def ensure(self, user: User, obj: InboundMessage, *, perms: CallerPerms | None = None) -> None:
        ensure_perm_on_channels(user=user, channel_ids=[obj.channel_id], codename=ChannelPerm.DRAFT)
        if obj.status == InboundStatus.CLAIMED and obj.assignee_id == user.id:
            return
        if obj.status != InboundStatus.NEW:
            raise Conflict(code="inbound_taken", params={"status": obj.status})


class Dismiss(WorkflowAction):
    """Close a citizen message without a reply: the draft permission on its channel; not
    replied to nor dismissed already."""

    name = Action.DISMISS

    def ensure(self, user: User, obj: InboundMessage, *, perms: CallerPerms | None = None) -> None:
        ensure_perm_on_channels(user=user, channel_ids=[obj.channel_id], codename=ChannelPerm.DRAFT)
        if obj.status in (InboundStatus.REPLIED, InboundStatus.DISMISSED):
            raise Conflict(code="inbound_closed", params={"status": obj.status})


class Reply(WorkflowAction):
    """Answer a citizen message: a member of its organisation with the draft permission on its
    channel."""

    name = Action.REPLY

    def ensure(self, user: User, obj: InboundMessage, *, perms: CallerPerms | None = None) -> None:
        if getattr(user, "organisation_id", None) != obj.organisation_id:
            raise NotPermitted(code="organisation.none")
        ensure_perm_on_channels(user=user, channel_ids=[obj.channel_id], codename=ChannelPerm.DRAFT)


class Engage(WorkflowAction):
    """Like or boost a heard message: the draft permission on its channel (the conversation
    lane's); what the platform allows (dismissed, unsupported, not public) is the service's
    input check."""

    name = Action.ENGAGE

    def ensure(self, user: User, obj: InboundMessage, *, perms: CallerPerms | None = None) -> None:
        ensure_perm_on_channels(user=user, channel_ids=[obj.channel_id], codename=ChannelPerm.DRAFT)


class CallbackDone(WorkflowAction):
    """Record a call-back made (obj: the ReplyDelivery, its message loaded): whoever may reply to
    the message; a phone delivery still waiting."""

    name = Action.CALLBACK_DONE

    def ensure(self, user: User, obj: ReplyDelivery, *, perms: CallerPerms | None = None) -> None:
        REPLY.ensure(user, obj.inbound)
        if obj.medium != InboundMedium.PHONE or obj.status != ReplyDeliveryStatus.PENDING:
            raise Conflict(code="reply.callback_closed")


# --- starting: a draft, a citizen message -------------------------------------------------

class Create(WorkflowAction):
    """Start a draft (obj: the target channels, of the author's organisation): the draft
    permission on every one, and a personal channel only by its owner."""

    name = Action.CREATE

    def ensure(self, user: User, obj: list[Channel], *, perms: CallerPerms | None = None) -> None:
        ensure_perm_on_channels(user=user, channel_ids=[c.id for c in obj], codename=ChannelPerm.DRAFT, perms=perms)
        ensure_may_use_channels(author=user, channels=obj)


class Ingest(WorkflowAction):
    """Store a citizen message on a channel (obj: the Channel, of an organisation the caller
    sees): the draft permission on it (whoever answers there)."""

    name = Action.INGEST

    def ensure(self, user: User, obj: Channel, *, perms: CallerPerms | None = None) -> None:
        ensure_perm_on_channels(user=user, channel_ids=[obj.id], codename=ChannelPerm.DRAFT)


# --- people from outside (services/outside_review.py) -------------------------------------

#: Who may send and revoke outside links (a model permission: it is the organisation's call).
INVITE_PERMISSION = "workflows.add_outsideinvitation"


def may_invite(user: User) -> bool:
    """The person may invite people from outside at all (the post page's invite form asks it)."""
    return bool(getattr(user, "is_authenticated", False)) and user.has_perm(INVITE_PERMISSION)


def text_versions(post: Post) -> dict[str, int]:
    """The version of each of the post's texts (what a link is bound to)."""
    return {t.language: t.version for t in PostText.objects.filter(post_id=post.id).only("language", "version")}


def invitation_refusal(inv: OutsideInvitation, post: Post, *, now: datetime | None = None) -> str:
    """Why this link may not be used now (a code), or "" when it may: used, expired or revoked;
    or the post left the step it was bound to, or a text changed since."""
    status = inv.status(now)
    if status != "open":
        return f"outside.link_{status}"
    if (post.state != PostState.IN_REVIEW or post.current_step_id != inv.step_id
            or post.step_entered_at != inv.bound_step_entered_at
            or text_versions(post) != inv.bound_text_versions):
        return "outside.link_stale"
    return ""


class Invite(WorkflowAction):
    """Send an outside link for the post's current step: the invite permission; in review."""

    name = Action.INVITE

    def ensure(self, user: User, obj: Post, *, perms: CallerPerms | None = None) -> None:
        if not may_invite(user):
            raise NotPermitted(code="outside.not_permitted")
        ensure_action_state(obj, self.name)


class RevokeInvitation(WorkflowAction):
    """Kill a link (obj: the OutsideInvitation): the invite permission; neither used nor
    revoked already."""

    name = Action.REVOKE_INVITATION

    def ensure(self, user: User, obj: OutsideInvitation, *, perms: CallerPerms | None = None) -> None:
        if not may_invite(user):
            raise NotPermitted(code="outside.not_permitted")
        if obj.used_at is not None or obj.revoked_at is not None:
            raise Conflict(code="outside.closed")


class OutsideDecide(WorkflowAction):
    """Decide through a link (obj: the OutsideInvitation, `obj.post` the post read under its
    lock; `user` the link's stand-in account): the link is live for that post's step and texts.
    Everything else (four eyes, scope of languages, guidelines) the staff services check under
    the link's grant."""

    name = Action.OUTSIDE_DECIDE

    def ensure(self, user: User, obj: OutsideInvitation, *, perms: CallerPerms | None = None) -> None:
        if user.id != obj.actor_id:
            raise NotPermitted(code="outside.link_invalid")
        code = invitation_refusal(obj, obj.post)
        if code:
            raise Gone(code=code)


EDIT = Edit()
SUBMIT = Submit()
WITHDRAW = Withdraw()
PUBLISH_URGENT = PublishUrgent()
APPROVE = Approve()
REQUEST_CHANGES = RequestChanges()
REJECT = Reject()
TRANSLATE = Translate()
COMPLETE_REVIEW = CompleteReview()
RETRY = Retry()
RESOLVE = Resolve()
RETRACT = Retract()
CLAIM = Claim()
DISMISS = Dismiss()
REPLY = Reply()
ENGAGE = Engage()
CALLBACK_DONE = CallbackDone()
CREATE = Create()
INGEST = Ingest()
INVITE = Invite()
REVOKE_INVITATION = RevokeInvitation()
OUTSIDE_DECIDE = OutsideDecide()

#: Every action by name.
ACTIONS: dict[Action, WorkflowAction] = {a.name: a for a in (
    EDIT, SUBMIT, WITHDRAW, PUBLISH_URGENT, APPROVE, REQUEST_CHANGES, REJECT, TRANSLATE,
    COMPLETE_REVIEW, RETRY, RESOLVE, RETRACT, CLAIM, DISMISS, REPLY, ENGAGE, CALLBACK_DONE,
    CREATE, INGEST, INVITE, REVOKE_INVITATION, OUTSIDE_DECIDE,
)}
#: The actions whose object is the post itself, in the order the API lists them.
POST_ACTIONS: tuple[WorkflowAction, ...] = (
    EDIT, SUBMIT, APPROVE, REQUEST_CHANGES, REJECT, TRANSLATE, WITHDRAW, PUBLISH_URGENT, RETRY, RETRACT,
)
#: The actions on a citizen message.
INBOUND_ACTIONS: tuple[WorkflowAction, ...] = (CLAIM, REPLY, DISMISS)
#: The names an `actions` field may list (post_actions, inbound_actions): the API schema's enum.
LISTED: tuple[Action, ...] = tuple(a.name for a in (*POST_ACTIONS, RESOLVE, COMPLETE_REVIEW, *INBOUND_ACTIONS))


def post_actions(*, user: User, post: Post, perms: CallerPerms | None = None) -> list[str]:
    """What `user` may do now on `post` (the API's `actions` field): each post action whose
    check passes, plus `resolve` when a publication awaits a person and `complete_review`
    when an open review is theirs to complete. What `user` holds on the post's channels is
    read once (`perms`, or one query now), not once per action."""
    perms = perms if perms is not None else caller_perms(user=user, post=post)
    names = [str(a.name) for a in POST_ACTIONS if a.allowed(user, post, perms=perms)]
    if resolvable(user=user, post=post, perms=perms):
        names.append(str(Action.RESOLVE))
    if reviews_to_complete(user=user, post=post, perms=perms):
        names.append(str(Action.COMPLETE_REVIEW))
    return names


def resolvable(*, user: User, post: Post, perms: CallerPerms | None = None) -> list[Publication]:
    """The post's publications awaiting a person that `user` may resolve."""
    pubs = [p for p in post.publications.all() if p.status == PublicationStatus.UNKNOWN]
    for p in pubs:
        p.post = post
    return [p for p in pubs if RESOLVE.allowed(user, p, perms=perms)]


def reviews_to_complete(*, user: User, post: Post, perms: CallerPerms | None = None) -> list[PostReview]:
    """The post's open reviews `user` may complete (`post.open_reviews` when the selector loaded
    them: selectors.post_get_visible)."""
    loaded = getattr(post, "open_reviews", None)
    open_reviews = list(post.reviews.filter(status=ReviewStatus.OPEN).select_related("team")) if loaded is None \
        else list(loaded)
    for r in open_reviews:
        r.post = post
    return [r for r in open_reviews if COMPLETE_REVIEW.allowed(user, r, perms=perms)]


def inbound_actions(*, user: User, msg: InboundMessage) -> list[str]:
    """What `user` may do now on a citizen message (the API's `actions` field)."""
    return [str(a.name) for a in INBOUND_ACTIONS if a.allowed(user, msg)]


