"""Citizen messages: the inbox shapes, ingesting one, engaging with one."""
from __future__ import annotations

from rest_framework import serializers

from ... import limits
from ...constants import (
    EngagementAction,
    EngagementStatus,
    InboundKind,
    InboundSource,
    InboundStatus,
    Visibility,
)
from ...services.actions import REPLY, inbound_actions
from .base import (
    LANGUAGE_CHOICES,
    CappedText,
    DateTime,
    DateTimeDisplay,
    StrictSerializer,
    _actions_field,
)

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
