from __future__ import annotations

from django.db import models
from django.utils import timezone

from ..constants import PublicationStatus


class Publication(models.Model):
    """One thing sent to a platform: the unit of exactly-once publishing."""

    post = models.ForeignKey("workflows.Post", on_delete=models.PROTECT, related_name="publications")
    channel = models.ForeignKey("workflows.Channel", on_delete=models.PROTECT, related_name="+")
    language = models.CharField(max_length=2)
    status = models.CharField(
        max_length=10, choices=PublicationStatus.choices, default=PublicationStatus.PENDING
    )
    #: Deterministic per (post, channel, language): platforms deduplicate on it.
    idempotency_key = models.CharField(max_length=100, unique=True)
    body = models.TextField(blank=True)
    external_id = models.CharField(max_length=300, blank=True)
    url = models.URLField(max_length=500, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=200, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    #: When the first attempt began (a platform's dedupe window runs from there).
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    #: Start of the earliest attempt whose outcome was unclear: before sending again, the
    #: platform is asked (lookup since then); never a blind resend.
    ambiguous_since = models.DateTimeField(null=True, blank=True)
    retracted_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["post_id", "channel_id", "language"]
        constraints = [
            models.UniqueConstraint(
                fields=["post", "channel", "language"], name="publication_unique_target"
            ),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.post_id}->{self.channel_id}/{self.language} {self.status}"

    @property
    def link(self) -> str:
        """The URL when it is http(s) — the only kind ever rendered as a link — and the
        publication was not retracted (a deleted status is not a place to send anyone)."""
        if self.status == PublicationStatus.RETRACTED:
            return ""
        url = (self.url or "").strip()
        return url if url.lower().startswith(("https://", "http://")) else ""
