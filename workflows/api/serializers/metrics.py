"""Metrics: the query and the figures."""
from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework import serializers

from .base import EARLIEST, LATEST, DateTime, StrictSerializer, WeekDisplay

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
