"""The approver queue."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ...constants import PostKind, PostState, StepKind
from ...services.common import stable_name
from .base import DateTime, SlugField

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
