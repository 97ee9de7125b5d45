"""Listening (what was said to or around a channel) and engagement (like/boost), issue 10."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..constants import EngagementAction, EngagementStatus


class ListeningStream(models.Model):
    """A saved hashtag (`#parks`) or search a channel listens to: community posts for the inbox."""

    channel = models.ForeignKey("workflows.Channel", on_delete=models.CASCADE, related_name="listening_streams")
    query = models.CharField(_("hashtag or search"), max_length=200)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["channel_id", "query"]
        constraints = [models.UniqueConstraint(fields=["channel", "query"], name="listening_stream_unique")]
        verbose_name = _("listening stream")

    def __str__(self) -> str:
        return f"{self.channel_id}:{self.query}"


class ListeningCursor(models.Model):
    """Where listening resumes, per channel and stream. The row without a stream is the
    channel's own (its mentions): it also carries the poll's lease (one worker at a time) and the
    channel's back-off after a rate limit."""

    channel = models.ForeignKey("workflows.Channel", on_delete=models.CASCADE, related_name="listening_cursors")
    stream = models.ForeignKey(ListeningStream, null=True, blank=True, on_delete=models.CASCADE, related_name="cursors")
    cursor = models.CharField(max_length=200, blank=True)
    backoff_until = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=0)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    leased_until = models.DateTimeField(null=True, blank=True)
    leased_by = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["channel_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["channel"], condition=Q(stream__isnull=True), name="listening_head_unique"),
            models.UniqueConstraint(fields=["channel", "stream"], condition=Q(stream__isnull=False),
                                    name="listening_cursor_unique"),
        ]
        indexes = [models.Index(fields=["last_polled_at"], condition=Q(stream__isnull=True), name="listening_due_idx")]

    def __str__(self) -> str:
        return f"{self.channel_id}:{self.stream_id or 'mentions'}@{self.cursor}"


class Engagement(models.Model):
    """A like or boost of a heard message, sent once through the outbox/Celery like a publication."""

    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, related_name="+")
    inbound = models.ForeignKey("workflows.InboundMessage", on_delete=models.PROTECT, related_name="engagements")
    channel = models.ForeignKey("workflows.Channel", on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=10, choices=EngagementAction.choices)
    status = models.CharField(max_length=10, choices=EngagementStatus.choices, default=EngagementStatus.PENDING)
    idempotency_key = models.CharField(max_length=100, unique=True)
    external_id = models.CharField(max_length=300, blank=True)
    url = models.URLField(max_length=500, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=200, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["inbound", "action"], name="engagement_unique_action")]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="engagement_due_idx")]

    def __str__(self) -> str:
        return f"{self.action} {self.inbound_id} {self.status}"
