"""Posts: the list and detail shapes, and every action's input."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ... import limits
from ...constants import PostKind, PostState, PublicationStatus, StepKind, Verdict
from ...selectors import post_due_at
from ...services.actions import post_actions
from ..media_fields import PostMediumSerializer, media_input_field, translation_media_field
from .base import (
    MAX_ID,
    CappedText,
    CheckSerializer,
    DateTime,
    DateTimeDisplay,
    EnglishName,
    SlugField,
    StrictSerializer,
    _actions_field,
    display_name_field,
)

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


class PostDetailSerializer(PostSerializer):
    """One post, with what the caller may do now (lists leave `actions` out: it is asked per post)."""

    actions = serializers.SerializerMethodField()
    media = PostMediumSerializer(many=True, source="media_list", help_text="The post's media, in order.")

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
    media = media_input_field()


class PostEditSerializer(StrictSerializer):
    texts = serializers.DictField(child=CappedText(limit=limits.TEXT_MAX, allow_blank=True, trim_whitespace=False),
                                  required=False)
    scheduled_at = DateTime(required=False, allow_null=True)
    rules_acknowledged = serializers.BooleanField(required=False)
    media = media_input_field()


class TranslationSerializer(StrictSerializer):
    text = CappedText(limit=limits.TEXT_MAX, trim_whitespace=False)
    media = translation_media_field()


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
