"""Webhook subscriptions."""
from __future__ import annotations

from rest_framework import serializers

from ... import limits
from .base import DateTime, StrictSerializer

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
