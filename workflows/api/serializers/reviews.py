"""Closing the loops: reviews after the fact, dismissed messages (issue 11)."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ... import limits
from ...constants import DismissReason, ReviewKind, ReviewStatus, ReviewVerdict
from .base import CappedText, DateTime, StrictSerializer

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
