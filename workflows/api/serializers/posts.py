"""Shapes of the API's requests and responses. Validation of shapes only: every domain rule
(who may do what, which transitions, guideline checks) lives in workflows.services."""
from __future__ import annotations

import re
from datetime import UTC, datetime

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ... import formats, limits
from ...constants import (
    Action,
    DismissReason,
    EngagementAction,
    EngagementStatus,
    InboundKind,
    InboundSource,
    InboundStatus,
    LaneKind,
    PostKind,
    PostState,
    PublicationStatus,
    ReviewKind,
    ReviewStatus,
    ReviewVerdict,
    Severity,
    StepKind,
    Verdict,
    Visibility,
)
from ...exceptions import TextTooLong
from ...messages import Message, render_stored
from ...selectors import post_due_at
from ...services.actions import REPLY, inbound_actions, post_actions
from ...services.common import stable_name

MAX_ID = 2**63 - 1
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


class DateTime(serializers.DateTimeField):
    """ISO 8601, always rendered in UTC ("...Z"): local offsets of old dates (e.g. -05:17:32,
    local mean time) are not valid RFC 3339. Input must carry an offset."""

    def __init__(self, **kwargs):
        kwargs.setdefault("default_timezone", UTC)
        super().__init__(**kwargs)

    def to_internal_value(self, value):
        result = super().to_internal_value(value)
        if isinstance(value, str) and not _HAS_OFFSET.search(value):
            raise serializers.ValidationError(_("Give an offset (e.g. Z or -05:00)."))
        return result



@extend_schema_field(OpenApiTypes.STR)
class SlugField(serializers.SlugRelatedField):
    """A related object shown by its slug (read only)."""

    def __init__(self, **kwargs):
        super().__init__(read_only=True, slug_field="slug", **kwargs)
_HAS_OFFSET = re.compile(r"(Z|z|[+-]\d\d:?\d\d)$")
LANGUAGE_CHOICES = [("en", "English"), ("fr", "French")]


class StrictSerializer(serializers.Serializer):
    """Rejects fields it does not know (a typo must not be silently ignored) and bodies that
    are not JSON objects."""

    def to_internal_value(self, data):
        if hasattr(data, "keys"):
            unknown = sorted(str(k) for k in data.keys() if k not in self.fields)
            if unknown:
                raise serializers.ValidationError({k: [_("Unknown field.")] for k in unknown})
        return super().to_internal_value(data)


class CappedText(serializers.CharField):
    """Text with a hard cap from workflows.limits. Over it → 422 problem `text_too_long`
    (code `text.too_long`), raised before any other validation looks at the text."""

    def __init__(self, *, limit: int, **kwargs):
        self.limit = limit
        kwargs.setdefault("help_text", f"At most {limit} characters.")
        super().__init__(**kwargs)

    def run_validation(self, data=serializers.empty):
        if isinstance(data, str) and len(data) > self.limit:
            # A DictField's child has no name of its own: the error goes on the dict ("texts").
            name = self.field_name or getattr(self.parent, "field_name", "") or "text"
            params = {"length": len(data), "limit": self.limit}
            raise TextTooLong(params=params, errors={name: [Message("text.too_long", params)]})
        return super().run_validation(data)


def parse(serializer_class, data, **kwargs) -> dict:
    """Validate `data` with `serializer_class`; raise ValidationError (→ 400) on bad shape."""
    if data is None:
        data = {}
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# --- problem details (documented on every operation)

class ProblemSerializer(serializers.Serializer):
    type = serializers.CharField(help_text="A URI identifying the kind of problem.")
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    # A declared field named like Serializer.errors / .data / Field.source: DRF allows it (the
    # field wins in the document), the stubs do not.
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Messages per field ('texts.fr', 'comment', 'non_field_errors'...).",
    )


class CheckSerializer(serializers.Serializer):
    rule = serializers.CharField()
    severity = serializers.ChoiceField(choices=Severity.choices)
    ok = serializers.BooleanField()
    code = serializers.CharField(default="", help_text="Stable code of the result (docs/api.md, “Message codes”).")
    params = serializers.DictField(default=dict, help_text="The code's parameters (language codes, numbers, lists).")
    message = serializers.SerializerMethodField(help_text="The result in the reader's language.")
    language = serializers.CharField(allow_blank=True)
    field = serializers.CharField(allow_blank=True, required=False)

    def get_message(self, item) -> str:
        return render_stored(item)


# --- me, channels, lanes

class EnglishName(serializers.CharField):
    """`name`: the English name, unchanged by the reader's language (what integrations match on)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "The English name; see name_display for the reader's language.")
        super().__init__(**kwargs)

    def get_attribute(self, instance):
        return stable_name(super().get_attribute(instance))


@extend_schema_field({"type": "string", "nullable": True})
class DateTimeDisplay(serializers.Field):
    """`*_at_display`: the moment as the reader writes it ("Dec. 7, 2026, 10:40 a.m. EST" /
    "7 déc. 2026, 10 h 40 HNE"), beside the raw ISO 8601 field machines read (issue 21)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("read_only", True)
        kwargs.setdefault("help_text", "The same moment in words, in the reader's language; null when unset.")
        super().__init__(**kwargs)

    def to_representation(self, value):
        return formats.datetime(value, with_zone=True) if value else None


@extend_schema_field({"type": "string"})
class WeekDisplay(serializers.Field):
    """`week_display`: "week of Dec. 7, 2026" / "semaine du 7 déc. 2026" beside "2026-W50"."""

    def __init__(self, **kwargs):
        kwargs.setdefault("read_only", True)
        kwargs.setdefault("help_text", "The week in words, in the reader's language.")
        super().__init__(**kwargs)

    def to_representation(self, value):
        return formats.week(value)


def display_name_field(source: str = "name", **kwargs):
    """`*_display`: the name in the reader's language (Accept-Language, or the user's choice)."""
    kwargs.setdefault("help_text", "The name in the reader's language (English or French).")
    return serializers.CharField(source=source, allow_blank=True, **kwargs)

class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    organisation = serializers.CharField(allow_null=True)
    language = serializers.CharField(allow_blank=True, help_text=(
        "The language you chose (en or fr); blank when you never chose one, and Accept-Language decides."))
    permissions = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    signature_en = serializers.CharField(allow_blank=True, help_text="How you sign replies in English.")
    signature_fr = serializers.CharField(allow_blank=True, help_text="How you sign replies in French.")


class SignatureSerializer(StrictSerializer):
    signature_en = serializers.CharField(max_length=100, required=False, allow_blank=True)
    signature_fr = serializers.CharField(max_length=100, required=False, allow_blank=True)


class ChannelSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.CharField()
    name = EnglishName(source="*", allow_blank=True)
    name_en = serializers.CharField(allow_blank=True, allow_null=True)
    name_fr = serializers.CharField(allow_blank=True, allow_null=True)
    name_display = display_name_field()
    platform = serializers.CharField()
    handle = serializers.CharField()
    languages = serializers.ListField(child=serializers.CharField())
    char_limit = serializers.IntegerField()
    usable = serializers.SerializerMethodField(
        help_text="Whether the channel can publish now (switched on, its configuration valid for its adapter). "
                  "A post to an unusable channel is refused at draft and submit (422, code channel.unusable).")
    unusable_reason = serializers.SerializerMethodField(
        help_text="Why not, as a message code (channel.unusable_inactive, channel.unusable_config); null when usable.")

    def _usability(self, obj):
        return self.context["usability"][obj.id]

    def get_usable(self, obj) -> bool:
        return self._usability(obj).usable

    def get_unusable_reason(self, obj) -> str | None:
        return self._usability(obj).reason or None


class AccountSerializer(serializers.Serializer):
    handle = serializers.CharField()
    display_name = serializers.CharField(allow_blank=True)
    url = serializers.CharField(allow_blank=True)


class LimitsSerializer(serializers.Serializer):
    max_length = serializers.IntegerField()
    unit = serializers.CharField()
    url_length = serializers.IntegerField(allow_null=True)
    assumed = serializers.BooleanField(help_text="The platform did not tell its limits: these are its documented "
                                                 "defaults (asked again later).")


class NoteSerializer(serializers.Serializer):
    code = serializers.CharField()
    params = serializers.DictField()
    message = serializers.CharField(help_text="The note in the caller's language.")


class ChannelTestSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    account = AccountSerializer(required=False)
    limits = LimitsSerializer(required=False, allow_null=True)
    notes = NoteSerializer(many=True, required=False)
    kind = serializers.CharField(required=False, help_text="credentials | config | unreachable | rate_limited | "
                                                           "platform_error | refused | error")
    message = serializers.CharField(required=False)
    detail = serializers.CharField(required=False)


class LaneStepSerializer(serializers.Serializer):
    order = serializers.IntegerField()
    name = EnglishName(source="*")
    name_en = serializers.CharField(allow_blank=True, allow_null=True)
    name_fr = serializers.CharField(allow_blank=True, allow_null=True)
    name_display = display_name_field()
    kind = serializers.ChoiceField(choices=StepKind.choices)
    team = serializers.CharField(source="team.slug")
    team_display = display_name_field("team.name")
    quorum = serializers.IntegerField()
    sla_seconds = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.INT)
    def get_sla_seconds(self, step) -> int:
        return int(step.sla.total_seconds())


class GuidelineSerializer(serializers.Serializer):
    kind = serializers.CharField()
    severity = serializers.ChoiceField(choices=Severity.choices)
    params = serializers.JSONField()


class LaneSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.CharField()
    name = EnglishName(source="*")
    name_en = serializers.CharField(allow_blank=True, allow_null=True)
    name_fr = serializers.CharField(allow_blank=True, allow_null=True)
    name_display = display_name_field()
    kind = serializers.ChoiceField(choices=LaneKind.choices)
    required_languages = serializers.ListField(child=serializers.CharField())
    allow_urgent = serializers.BooleanField()
    steps = LaneStepSerializer(many=True, source="steps.all")
    guidelines = serializers.SerializerMethodField()

    @extend_schema_field(GuidelineSerializer(many=True))
    def get_guidelines(self, lane) -> list[dict]:
        return [
            {"kind": g.kind, "severity": g.severity, "params": g.params}
            for g in lane.guidelines.all()
            if g.enabled
        ]


# --- posts

class CurrentStepSerializer(serializers.Serializer):
    order = serializers.IntegerField()
    name = EnglishName(source="*")
    name_display = display_name_field()
    kind = serializers.ChoiceField(choices=StepKind.choices)
    team = serializers.CharField(source="team.slug")
    team_display = display_name_field("team.name")


class DecisionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    step = EnglishName()
    step_display = display_name_field("step.name")
    step_order = serializers.IntegerField(source="step.order")
    reviewer = serializers.CharField(source="reviewer.username")
    verdict = serializers.ChoiceField(choices=Verdict.choices)
    comment = serializers.CharField(allow_blank=True)
    revision = serializers.IntegerField()
    created_at = DateTime()
    invalidated_at = DateTime(allow_null=True)


class PublicationSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="For POST /api/v1/publications/{id}/resolve/.")
    channel = serializers.CharField(source="channel.slug")
    channel_display = display_name_field("channel.name")
    language = serializers.CharField()
    status = serializers.ChoiceField(choices=PublicationStatus.choices)
    url = serializers.CharField(allow_blank=True, source="link", help_text="http(s) only; empty otherwise.")
    external_id = serializers.CharField(allow_blank=True)
    attempts = serializers.IntegerField()
    last_error = serializers.CharField(allow_blank=True)


class PostSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    state = serializers.ChoiceField(choices=PostState.choices)
    lane = serializers.CharField(source="lane.slug")
    kind = serializers.ChoiceField(choices=PostKind.choices)
    channels = SlugField(many=True)
    author = serializers.CharField(source="author.username")
    in_reply_to = serializers.IntegerField(source="in_reply_to_id", allow_null=True)
    texts = serializers.DictField(child=serializers.CharField(), source="texts_dict")
    current_step = CurrentStepSerializer(allow_null=True)
    due_at = serializers.SerializerMethodField()
    checks = CheckSerializer(many=True)
    decisions = DecisionSerializer(many=True, source="decisions.all")
    publications = PublicationSerializer(many=True, source="publications.all")
    version = serializers.IntegerField()
    scheduled_at = DateTime(allow_null=True)
    escalation_reason = serializers.CharField(
        source="escalation_display", help_text="Why the reply moved to the official lane, in the reader's language.")
    escalation = serializers.DictField(help_text="The escalation as {code, params}; {} when not escalated.")
    urgent = serializers.BooleanField()
    partly_published = serializers.BooleanField(
        help_text="Loud flag: some languages are live and another failed for good (the lane holds them).")
    rules_acknowledged = serializers.BooleanField()
    content_warning = serializers.CharField(
        allow_blank=True, help_text="A reply's content warning (Mastodon's spoiler_text); \"\" when none.")
    created_at = DateTime()
    updated_at = DateTime()
    scheduled_at_display = DateTimeDisplay(source="scheduled_at", allow_null=True)
    created_at_display = DateTimeDisplay(source="created_at")

    @extend_schema_field(DateTime(allow_null=True))
    def get_due_at(self, post):
        due = post_due_at(post)
        return DateTime().to_representation(due) if due else None


def _actions_field(what: str):  # noqa: ANN202 - a schema decorator
    return extend_schema_field(serializers.ListField(
        child=serializers.ChoiceField(choices=[a.value for a in Action]),
        help_text=f"What the caller may do now on this {what}: the names of the actions whose check passes "
        "(workflows/services/actions.py; the same check the action runs under the row lock)."))


class PostDetailSerializer(PostSerializer):
    """One post, with what the caller may do now (lists leave `actions` out: it is asked per post)."""

    actions = serializers.SerializerMethodField()

    @_actions_field("post")
    def get_actions(self, post) -> list[str]:
        user = self.context.get("user")
        return post_actions(user=user, post=post) if user is not None else []


class PostCreateSerializer(StrictSerializer):
    channels = serializers.ListField(
        child=serializers.CharField(max_length=50), required=False, max_length=20,
        help_text="Channel slugs. Optional for a reply to a citizen message (its channel).",
    )
    kind = serializers.ChoiceField(choices=PostKind.choices)
    lane = serializers.CharField(
        required=False, allow_null=True, max_length=50,
        help_text="Lane slug; omitted: replies go to the conversation lane, posts to the official lane.",
    )
    in_reply_to = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=MAX_ID)
    texts = serializers.DictField(child=CappedText(limit=limits.TEXT_MAX, allow_blank=True, trim_whitespace=False))
    scheduled_at = DateTime(required=False, allow_null=True)
    rules_acknowledged = serializers.BooleanField(
        required=False, default=False,
        help_text="The author ticks the four rules (required before submitting in the demo lanes).",
    )
    content_warning = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, max_length=limits.CONTENT_WARNING_MAX,
        help_text="A reply's content warning (Mastodon's spoiler_text). Omitted: the citizen's message's own "
                  "(carried over); \"\": none. Bluesky has no content warning: it is not sent there.",
    )


class PostEditSerializer(StrictSerializer):
    texts = serializers.DictField(child=CappedText(limit=limits.TEXT_MAX, allow_blank=True, trim_whitespace=False),
                                  required=False)
    scheduled_at = DateTime(required=False, allow_null=True)
    rules_acknowledged = serializers.BooleanField(required=False)


class TranslationSerializer(StrictSerializer):
    text = CappedText(limit=limits.TEXT_MAX, trim_whitespace=False)


class SubmitSerializer(StrictSerializer):
    rules_acknowledged = serializers.BooleanField(required=False)


class CommentSerializer(StrictSerializer):
    comment = CappedText(limit=limits.COMMENT_MAX, required=False, allow_blank=True, default="")


class ApproveSerializer(CommentSerializer):
    step = serializers.CharField(
        required=False, max_length=200,
        help_text="The step you approve: its `order` (as in `current_step.order`) or its English `name`. "
                  "When the post is no longer at that step: 409 `security.step_moved`, nothing recorded.")

    def validate_step(self, value: str) -> int | str:
        return int(value) if value.isdigit() else value


class RequiredCommentSerializer(StrictSerializer):
    comment = CappedText(limit=limits.COMMENT_MAX)


class UrgentSerializer(StrictSerializer):
    reason = CappedText(limit=limits.REASON_MAX)


class EmptySerializer(StrictSerializer):
    pass


class PublicationResolveSerializer(StrictSerializer):
    sent = serializers.BooleanField(
        help_text="true: it is on the platform (give its url); false: it is not (retrying the post sends it).",
    )
    url = serializers.URLField(required=False, allow_blank=True, max_length=500, default="",
                               help_text="Where it was published (only with sent: true).")
    external_id = serializers.CharField(required=False, allow_blank=True, max_length=300, default="",
                                        help_text="The platform's id for it (only with sent: true).")

    def validate(self, attrs):
        if not attrs["sent"]:
            given = {k: ["Only when sent is true."] for k in ("url", "external_id") if attrs.get(k)}
            if given:
                raise serializers.ValidationError(given)
        return attrs


class AuditEventSerializer(serializers.Serializer):
    seq = serializers.IntegerField()
    verb = serializers.CharField()
    actor = serializers.CharField(source="actor.username", allow_null=True, default=None)
    from_state = serializers.CharField(allow_blank=True)
    to_state = serializers.CharField(allow_blank=True)
    revision = serializers.IntegerField(allow_null=True)
    data = serializers.JSONField()  # type: ignore[assignment]
    created_at = DateTime()
    hash = serializers.CharField()
    prev_hash = serializers.CharField(allow_blank=True)


# --- queue

class QueuePostSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    state = serializers.ChoiceField(choices=PostState.choices)
    lane = serializers.CharField(source="lane.slug")
    kind = serializers.ChoiceField(choices=PostKind.choices)
    author = serializers.CharField(source="author.username")
    channels = SlugField(many=True)
    texts = serializers.DictField(child=serializers.CharField(), source="texts_dict")
    version = serializers.IntegerField()


QUEUE_KIND_CHOICES = [*StepKind.choices, ("spot_check", "Spot-check"), ("retrospective", "Retrospective")]


class QueueItemSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=QUEUE_KIND_CHOICES)
    post = QueuePostSerializer()
    step = serializers.SerializerMethodField()
    step_display = serializers.SerializerMethodField()
    review = serializers.IntegerField(source="review.id", allow_null=True, default=None)
    due_at = DateTime(allow_null=True)
    overdue = serializers.BooleanField()

    @extend_schema_field({"type": "string", "nullable": True})
    def get_step(self, item):
        if item.review is None and item.post.current_step_id:
            return stable_name(item.post.current_step)
        return None

    @extend_schema_field({"type": "string", "nullable": True})
    def get_step_display(self, item):
        """The step's name in the reader's language."""
        if item.review is None and item.post.current_step_id:
            return item.post.current_step.name
        return None


# --- inbound

class ThreadRefSerializer(StrictSerializer):
    """The platform references a reply needs (Mastodon: the status id; Bluesky: uri and cid of
    the parent and of the thread's root). Empty strings when unknown."""

    external_id = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")
    uri = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")
    cid = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
    root_uri = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")
    root_cid = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")

    def to_representation(self, instance):
        instance = instance or {}
        return {name: str(instance.get(name, "")) for name in self.fields}


class InboundSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    channel = serializers.CharField(source="channel.slug")
    external_id = serializers.CharField()
    #: A caller's or correspondent's name is personal data: "Caller (phone)" for a logged message
    #: (InboundMessage.sender); the detail's `caller` reveals it to people who may reply.
    author = serializers.CharField(source="sender")
    text = serializers.CharField(source="body")
    language = serializers.CharField(allow_blank=True)
    url = serializers.CharField(allow_blank=True)
    received_at = DateTime()
    received_at_display = DateTimeDisplay(source="received_at")
    status = serializers.ChoiceField(choices=InboundStatus.choices)
    assignee = serializers.CharField(source="assignee.username", allow_null=True, default=None)
    claimed_at = DateTime(allow_null=True)
    first_response_at = DateTime(allow_null=True)
    kind = serializers.ChoiceField(choices=InboundKind.choices)
    source = serializers.ChoiceField(choices=InboundSource.choices)  # type: ignore[assignment]
    #: How a logged message came (phone, email; blank for the others): the way a reply goes back.
    medium = serializers.CharField(allow_blank=True)
    visibility = serializers.ChoiceField(choices=Visibility.choices)
    author_handle = serializers.CharField(allow_blank=True)
    thread = ThreadRefSerializer()
    content_warning = serializers.CharField(allow_blank=True, help_text=(
        "The citizen's content warning (Mastodon's spoiler_text), shown before the text; \"\" when none. "
        "A reply carries it by default."))


class InboundDetailSerializer(InboundSerializer):
    """One citizen message, with what the caller may do now (claim, reply, dismiss)."""

    actions = serializers.SerializerMethodField()
    caller = serializers.SerializerMethodField(
        help_text="A message logged from a phone call or an e-mail: the person's name and the number or address "
        "to answer, for people who may reply (null otherwise, and for messages heard on a platform).")

    @_actions_field("message")
    def get_actions(self, msg) -> list[str]:
        user = self.context.get("user")
        return inbound_actions(user=user, msg=msg) if user is not None else []

    def get_caller(self, msg) -> dict | None:
        user = self.context.get("user")
        if msg.source != InboundSource.MANUAL or user is None or not REPLY.allowed(user, msg):
            return None
        return {"name": msg.author, "medium": msg.medium, "contact": msg.contact}


class InboundIngestSerializer(StrictSerializer):
    channel = serializers.CharField(max_length=50)
    external_id = serializers.CharField(max_length=300)
    author = serializers.CharField(max_length=300)
    text = CappedText(limit=limits.INBOUND_TEXT_MAX)
    url = serializers.URLField(required=False, allow_blank=True, max_length=500, default="")
    received_at = DateTime(required=False, allow_null=True)
    language = serializers.ChoiceField(
        choices=LANGUAGE_CHOICES, required=False, allow_null=True, allow_blank=True,
        help_text="Omitted: detected from the text.",
    )
    kind = serializers.ChoiceField(choices=InboundKind.choices, required=False, default=InboundKind.MENTION)
    source = serializers.ChoiceField(choices=InboundSource.choices, required=False,  # type: ignore[assignment]
                                     default=InboundSource.API,
                                     help_text="Who brought it in: api (default), manual or platform.")
    visibility = serializers.ChoiceField(
        choices=Visibility.choices, required=False, default=Visibility.PUBLIC,
        help_text="The visibility the citizen used: a reply is never wider (direct is answered direct).",
    )
    author_handle = serializers.CharField(required=False, allow_blank=True, max_length=300, default="",
                                          help_text="The citizen's handle, without '@': the reply mentions it.")
    thread = ThreadRefSerializer(required=False, help_text="References to answer in the citizen's thread.")
    content_warning = serializers.CharField(required=False, allow_blank=True, default="",
                                            max_length=limits.CONTENT_WARNING_MAX,
                                            help_text="The citizen's content warning (Mastodon's spoiler_text).")

    def validate_thread(self, value):
        return {k: v for k, v in (value or {}).items() if v}


class EngageSerializer(StrictSerializer):
    action = serializers.ChoiceField(choices=EngagementAction.choices)


class EngagementSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    inbound = serializers.IntegerField(source="inbound_id")
    channel = serializers.CharField(source="channel.slug")
    action = serializers.ChoiceField(choices=EngagementAction.choices)
    status = serializers.ChoiceField(choices=EngagementStatus.choices)
    external_id = serializers.CharField(allow_blank=True)
    url = serializers.CharField(allow_blank=True)
    attempts = serializers.IntegerField()
    last_error = serializers.CharField(allow_blank=True)
    created_at = DateTime()
    done_at = DateTime(allow_null=True)


# --- metrics

class MetricsQuerySerializer(StrictSerializer):
    since = DateTime(required=False)
    until = DateTime(required=False)
    channel = serializers.SlugField(required=False, max_length=50)

    def validate(self, attrs):
        since, until = attrs.get("since"), attrs.get("until")
        for name in ("since", "until"):
            if attrs.get(name) and not EARLIEST <= attrs[name] <= LATEST:
                raise serializers.ValidationError({name: [_("Between the years 2000 and 9000.")]})
        if since and until and since >= until:
            raise serializers.ValidationError({"since": [_("Must be before until.")]})
        return attrs


class FirstResponseSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    median = serializers.FloatField(allow_null=True)
    p90 = serializers.FloatField(allow_null=True)
    values = serializers.ListField(child=serializers.FloatField())


class WeekSerializer(serializers.Serializer):
    week = serializers.CharField()
    week_display = WeekDisplay(source="week")
    replies = serializers.IntegerField()
    broadcasts = serializers.IntegerField()


class EngagementCountSerializer(serializers.Serializer):
    like = serializers.IntegerField()
    boost = serializers.IntegerField()


class ChannelMetricsSerializer(serializers.Serializer):
    channel = serializers.CharField()
    inbound = serializers.IntegerField()
    unanswered = serializers.IntegerField()
    first_response_seconds = FirstResponseSerializer()
    replies = serializers.IntegerField()
    broadcasts = serializers.IntegerField()
    engagements = EngagementCountSerializer(help_text="Likes and boosts done on the platform in the period.")
    reply_ratio = serializers.FloatField(allow_null=True)
    step_median_seconds = serializers.DictField(child=serializers.FloatField())
    urgent = serializers.IntegerField()
    urgent_bypass_rate = serializers.FloatField(allow_null=True)
    weekly = WeekSerializer(many=True)


class OutboxLagSerializer(serializers.Serializer):
    lag_seconds = serializers.FloatField(help_text="Age of the oldest event due and not yet relayed (0 when none).")
    pending = serializers.IntegerField(help_text="Events due and not yet relayed.")


class VoicePersonSerializer(serializers.Serializer):
    username = serializers.CharField()
    name = serializers.CharField()
    replies = serializers.IntegerField()
    named_replies = serializers.IntegerField(help_text="Of which under their own name (own account or signed).")


class VoicesSerializer(serializers.Serializer):
    replies = serializers.IntegerField(help_text="Published replies in the period.")
    named_replies = serializers.IntegerField()
    named_share = serializers.FloatField(allow_null=True, help_text="Share of replies that went out under a person's name.")
    people = VoicePersonSerializer(many=True, help_text="Replies per person, most first.")


class MetricsSerializer(serializers.Serializer):
    since = DateTime()
    until = DateTime()
    channels = ChannelMetricsSerializer(many=True)
    voices = VoicesSerializer(help_text="Who answers: replies per person and the share from named people.")
    outbox = OutboxLagSerializer(
        help_text="The outbox relay now, whatever the period or channel: the whole service's queue, as /readyz reports it.",
    )


# --- webhooks

class WebhookSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField()
    events = serializers.ListField(child=serializers.CharField())
    is_active = serializers.BooleanField()
    created_by = serializers.CharField(source="created_by.username", allow_null=True, default=None)
    created_at = DateTime()


def _topic_field(**kwargs):
    from ...services.webhook_subscriptions import TOPICS

    return serializers.ListField(
        child=serializers.ChoiceField(choices=[(t, t) for t in TOPICS]), max_length=len(TOPICS),
        help_text="Topics to deliver; empty means every topic.", **kwargs,
    )


class WebhookCreateSerializer(StrictSerializer):
    url = serializers.URLField(max_length=500)
    secret = serializers.CharField(min_length=limits.WEBHOOK_SECRET_MIN, max_length=limits.WEBHOOK_SECRET_MAX,
                                   write_only=True, help_text="Shared secret for the HMAC-SHA256 signature; never shown again.")
    events = _topic_field(required=False, default=list)
    is_active = serializers.BooleanField(required=False, default=True)


class WebhookUpdateSerializer(StrictSerializer):
    url = serializers.URLField(max_length=500, required=False)
    secret = serializers.CharField(min_length=limits.WEBHOOK_SECRET_MIN, max_length=limits.WEBHOOK_SECRET_MAX,
                                   write_only=True, required=False)
    events = _topic_field(required=False)
    is_active = serializers.BooleanField(required=False)


# --- closing the loops: reviews after the fact, dismissed messages (issue 11)

class ReviewSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    post = serializers.IntegerField(source="post_id")
    kind = serializers.ChoiceField(choices=ReviewKind.choices)
    status = serializers.ChoiceField(choices=ReviewStatus.choices)
    verdict = serializers.SerializerMethodField()
    comment = serializers.CharField(allow_blank=True)
    reviewer = serializers.CharField(source="reviewer.username", allow_null=True, default=None)
    due_at = DateTime(allow_null=True)
    completed_at = DateTime(allow_null=True)

    @extend_schema_field({"type": "string", "enum": ReviewVerdict.values, "nullable": True})
    def get_verdict(self, review):
        if review.ok is None:
            return None
        return ReviewVerdict.FINE if review.ok else ReviewVerdict.FOLLOW_UP


class ReviewCompleteSerializer(StrictSerializer):
    verdict = serializers.ChoiceField(choices=ReviewVerdict.choices,
                                      help_text="`fine`, or `follow_up` (then `comment` is required).")
    comment = CappedText(limit=limits.COMMENT_MAX, allow_blank=True, required=False, default="")


class InboundDismissSerializer(StrictSerializer):
    reason = serializers.ChoiceField(choices=DismissReason.choices)
    comment = serializers.CharField(allow_blank=True, required=False, default="", max_length=limits.DISMISS_COMMENT_MAX)
