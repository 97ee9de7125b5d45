"""States, kinds and the one table of allowed transitions (no FSM library)."""
from __future__ import annotations

from enum import StrEnum

from django.db import models
from django.utils.translation import gettext_lazy as _


class PostState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    IN_REVIEW = "in_review", _("In review")
    CHANGES_REQUESTED = "changes_requested", _("Changes requested")
    APPROVED = "approved", _("Approved")
    SCHEDULED = "scheduled", _("Scheduled")
    PUBLISHING = "publishing", _("Publishing")
    PUBLISHED = "published", _("Published")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    FAILED = "failed", _("Failed")
    RETRACTED = "retracted", _("Retracted")


S = PostState

#: Every transition a post may make. Services call `ensure_transition` before writing.
ALLOWED_TRANSITIONS: dict[PostState, frozenset[PostState]] = {
    S.DRAFT: frozenset({S.IN_REVIEW, S.APPROVED, S.SCHEDULED, S.WITHDRAWN}),
    S.IN_REVIEW: frozenset(
        {S.IN_REVIEW, S.APPROVED, S.SCHEDULED, S.CHANGES_REQUESTED, S.REJECTED, S.WITHDRAWN}
    ),
    S.CHANGES_REQUESTED: frozenset({S.IN_REVIEW, S.APPROVED, S.SCHEDULED, S.WITHDRAWN}),
    # approved/scheduled → in_review: held at publish by a caretaker period.
    S.APPROVED: frozenset({S.APPROVED, S.PUBLISHING, S.SCHEDULED, S.WITHDRAWN, S.IN_REVIEW}),
    # scheduled → approved: break-glass publishing of a scheduled post, now.
    S.SCHEDULED: frozenset({S.PUBLISHING, S.APPROVED, S.WITHDRAWN, S.IN_REVIEW}),
    S.PUBLISHING: frozenset({S.PUBLISHED, S.FAILED}),
    S.FAILED: frozenset({S.PUBLISHING, S.RETRACTED}),
    # published → retracted: a person deleted what was published (post_retract).
    S.PUBLISHED: frozenset({S.RETRACTED}),
    S.RETRACTED: frozenset(),
    S.REJECTED: frozenset(),
    S.WITHDRAWN: frozenset(),
}

#: States in which the author may edit texts and schedule.
EDITABLE_STATES = frozenset({S.DRAFT, S.CHANGES_REQUESTED})
#: States from which break-glass publishing may start.
URGENT_FROM = frozenset({S.DRAFT, S.IN_REVIEW, S.CHANGES_REQUESTED, S.APPROVED, S.SCHEDULED})


class Action(StrEnum):
    """Every workflow action a person takes (workflows/services/actions.py defines each once:
    its check and its execution). The API's `actions` field lists these names."""

    EDIT = "edit"
    SUBMIT = "submit"
    APPROVE = "approve"
    REQUEST_CHANGES = "request_changes"
    REJECT = "reject"
    TRANSLATE = "translate"
    WITHDRAW = "withdraw"
    PUBLISH_URGENT = "publish_urgent"
    RETRY = "retry"
    RESOLVE = "resolve"
    RETRACT = "retract"
    COMPLETE_REVIEW = "complete_review"
    CLAIM = "claim"
    REPLY = "reply"
    DISMISS = "dismiss"
    #: Give the current step to someone outside by signed link (services/outside_review.py).
    INVITE = "invite"
    #: Kill an outside link before it is used.
    REVOKE_INVITATION = "revoke_invitation"
    #: The outsider's decision through the link (the link's token stands for its actor).
    OUTSIDE_DECIDE = "outside_decide"
    #: Start a draft on channels (and, "save and submit", send it into its lane).
    CREATE = "create"
    #: Store a citizen message on a channel (the API's ingest, a phone or e-mail message logged).
    INGEST = "ingest"
    #: Like or boost a heard message on its platform.
    ENGAGE = "engage"
    #: Record that a person called the citizen back with the approved reply.
    CALLBACK_DONE = "callback_done"


A = Action

#: The states each action on a post may start from: beside the table, the only other source.
#: (Publishing steps taken by the system — start, published, failed — are checked against
#: ALLOWED_TRANSITIONS alone.) A test checks every action's target is allowed from each of them.
ACTION_FROM: dict[Action, frozenset[PostState]] = {
    A.EDIT: EDITABLE_STATES,
    A.SUBMIT: EDITABLE_STATES,
    A.APPROVE: frozenset({S.IN_REVIEW}),
    A.REQUEST_CHANGES: frozenset({S.IN_REVIEW}),
    A.REJECT: frozenset({S.IN_REVIEW}),
    A.TRANSLATE: frozenset({S.IN_REVIEW}),
    A.WITHDRAW: frozenset(s for s, targets in ALLOWED_TRANSITIONS.items() if S.WITHDRAWN in targets),
    A.PUBLISH_URGENT: URGENT_FROM,
    A.RETRY: frozenset({S.FAILED}),
    A.RETRACT: frozenset({S.PUBLISHED, S.FAILED}),
    A.INVITE: frozenset({S.IN_REVIEW}),
}

#: Where each post action leads (when it changes the state by itself).
ACTION_TO: dict[Action, PostState] = {
    A.REQUEST_CHANGES: S.CHANGES_REQUESTED,
    A.REJECT: S.REJECTED,
    A.WITHDRAW: S.WITHDRAWN,
    A.PUBLISH_URGENT: S.APPROVED,
    A.RETRY: S.PUBLISHING,
}


class LaneKind(models.TextChoices):
    CONVERSATION = "conversation", _("Conversation (fast)")
    OFFICIAL = "official", _("Official (full)")


class StepKind(models.TextChoices):
    REVIEW = "review", _("Review")
    TRANSLATION = "translation", _("Translation")
    SIGN_OFF = "sign_off", _("Sign-off")


class PostKind(models.TextChoices):
    REPLY = "reply", _("Reply")
    POST = "post", _("Post")


class Verdict(models.TextChoices):
    APPROVE = "approve", _("Approve")
    REJECT = "reject", _("Reject")
    REQUEST_CHANGES = "request_changes", _("Request changes")


class Severity(models.TextChoices):
    BLOCK = "block", _("Block")
    WARN = "warn", _("Warn")


class RuleKind(models.TextChoices):
    LENGTH = "length", _("Length within each channel's limit")
    PERSONAL_DATA = "personal_data", _("No personal data")
    FORBIDDEN_TERMS = "forbidden_terms", _("No forbidden terms")
    LINK_DOMAINS = "link_domains", _("Links only to allowed domains")
    LANGUAGES_PRESENT = "languages_present", _("Every required language present")
    REPLY_LANGUAGE = "reply_language", _("Reply in the citizen's language")
    FOUR_RULES = "four_rules", _("Author acknowledges the four rules")
    # The accessibility pre-screen (issue 22, docs/media.md).
    ALT_TEXT = "alt_text", _("Every image described in each language")
    CAPTIONS = "captions", _("Every video captioned in each language")
    READING_LEVEL = "reading_level", _("Plain language (reading level)")
    HASHTAGS = "hashtags", _("Hashtags in CamelCase")
    EMOJI = "emoji", _("Emoji used sparingly")
    LINK_TEXT = "link_text", _("Descriptive link text")


class EscalationKind(models.TextChoices):
    TERMS = "terms", _("Contains a term")
    REGEX = "regex", _("Matches a pattern")
    LINK_DOMAIN = "link_domain", _("Links to a listed domain")
    LENGTH_OVER = "length_over", _("Longer than N characters")


class InboundStatus(models.TextChoices):
    NEW = "new", _("New")
    CLAIMED = "claimed", _("Claimed")
    REPLIED = "replied", _("Replied")
    DISMISSED = "dismissed", _("Dismissed")


class InboundKind(models.TextChoices):
    MENTION = "mention", _("Mention")
    DIRECT = "direct", _("Direct message")
    REPLY = "reply", _("Reply")
    QUOTE = "quote", _("Quote")
    COMMUNITY = "community", _("Community post")


class InboundSource(models.TextChoices):
    PLATFORM = "platform", _("Heard on the platform")
    API = "api", _("Sent by an integration")
    MANUAL = "manual", _("Logged by staff")


class InboundMedium(models.TextChoices):
    """How a message logged by staff (source=manual) reached them: the way a reply goes back."""

    PHONE = "phone", _("Phone")
    EMAIL = "email", _("E-mail")


class ReplyDeliveryStatus(models.TextChoices):
    """The state of a reply going back by e-mail or by a call-back (never a platform)."""

    PENDING = "pending", _("Waiting")
    SENT = "sent", _("E-mailed")
    DONE = "done", _("Call made")
    FAILED = "failed", _("Could not be sent")


class Visibility(models.TextChoices):
    """Mastodon's words; platforms without them use `public`. Ordered widest first."""

    PUBLIC = "public", _("Public")
    UNLISTED = "unlisted", _("Unlisted")
    PRIVATE = "private", _("Followers only")
    DIRECT = "direct", _("Direct")


class PublicationStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    RETRYING = "retrying", _("Retrying")
    FAILED = "failed", _("Failed")
    UNKNOWN = "unknown", _("Outcome unknown: needs a person")
    #: Not sent, on purpose: what it answers is gone from the platform; a person decides.
    HELD = "held", _("Held: needs a person")
    RETRACTED = "retracted", _("Retracted (deleted from the platform)")


class PartialFailurePolicy(models.TextChoices):
    """What happens when one language of a post is live and another failed for good."""

    HOLD = "hold", _("Hold: leave the published languages live, flag the post and alert")
    RETRACT = "retract", _("Retract: delete the published languages (both languages or neither)")


class ReviewKind(models.TextChoices):
    SPOT_CHECK = "spot_check", _("Spot-check")
    RETROSPECTIVE = "retrospective", _("Retrospective (after urgent publishing)")


class ReviewStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")


class ChannelPerm:
    """Codenames of the per-object permissions on a channel (django-guardian)."""

    DRAFT = "draft_channel"
    REVIEW = "review_channel"
    TRANSLATE = "translate_channel"
    PUBLISH = "publish_channel"
    PUBLISH_URGENT = "publish_urgent_channel"
    MANAGE = "manage_channel"

    ALL = (DRAFT, REVIEW, TRANSLATE, PUBLISH, PUBLISH_URGENT, MANAGE)


#: Which channel permission each step kind requires.
STEP_PERMISSION = {
    StepKind.REVIEW: ChannelPerm.REVIEW,
    StepKind.TRANSLATION: ChannelPerm.TRANSLATE,
    StepKind.SIGN_OFF: ChannelPerm.PUBLISH,
}

FOUR_RULES = (
    _("Don't embarrass yourself."),
    _("Don't embarrass the government."),
    _("Don't be untrue."),
    _("Don't be boring."),
)


# --- Closing the loops (issue 11) ---------------------------------------------------------

class ReviewVerdict(models.TextChoices):
    """The outcome of a spot-check or a retrospective review."""

    FINE = "fine", _("Fine")
    FOLLOW_UP = "follow_up", _("Needs follow-up")


class DismissReason(models.TextChoices):
    """Why a citizen message was closed without a reply."""

    SPAM = "spam", _("Spam")
    NO_REPLY_NEEDED = "no_reply_needed", _("No reply needed")
    HANDLED_ELSEWHERE = "handled_elsewhere", _("Handled elsewhere")
class EngagementAction(models.TextChoices):
    """Taking part without words: Mastodon favourite/boost, Bluesky like/repost."""

    LIKE = "like", _("Like")
    BOOST = "boost", _("Boost")


class EngagementStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    DONE = "done", _("Done")
    RETRYING = "retrying", _("Retrying")
    FAILED = "failed", _("Failed")


# --- Access-to-information (ATIP) exports (issue 13) ------------------------------------------

class ExportState(models.TextChoices):
    """Where an access-to-information export is: queued → running → done | failed; a done
    export's file is deleted when it expires."""

    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Being prepared")
    DONE = "done", _("Ready")
    FAILED = "failed", _("Failed")
    EXPIRED = "expired", _("Expired")
