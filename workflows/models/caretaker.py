"""Caretaker (election) periods: a time window in which an organisation — and every
organisation under it — communicates under stricter rules."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class CaretakerPeriod(models.Model):
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="caretaker_periods",
        help_text=_("Applies to this organisation and every organisation under it."),
    )
    name_en = models.CharField(_("name (English)"), max_length=200)
    name_fr = models.CharField(_("name (French)"), max_length=200)
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    official_lane_only = models.BooleanField(
        _("every post and reply goes through approval"), default=True,
        help_text=_("Conversation-lane replies are routed to the review lane like escalations."),
    )
    reply_topics = models.JSONField(
        _("topics that need approval"), default=list, blank=True,
        help_text=_("Conversation replies mentioning one of these terms are routed to the review lane."),
    )
    review_lane = models.ForeignKey(
        "workflows.Lane", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("review lane"),
        help_text=_("Where routed and held posts go (default: the organisation's official lane). "
                    "A lane with one review step means one approval."),
    )
    paused_channels = models.ManyToManyField(
        "workflows.Channel", blank=True, related_name="+", verbose_name=_("channels paused for broadcasts"),
    )
    banner_en = models.CharField(_("banner (English)"), max_length=500, blank=True)
    banner_fr = models.CharField(_("banner (French)"), max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["starts_at", "id"]
        verbose_name = _("caretaker period")
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="caretaker_ends_after_start"),
        ]
        indexes = [models.Index(fields=["organisation", "ends_at"])]

    def __str__(self) -> str:
        return self.name_en

    @property
    def name(self) -> str:
        return self.name_fr if (get_language() or "en").startswith("fr") else self.name_en

    @property
    def banner(self) -> str:
        fr = (get_language() or "en").startswith("fr")
        return (self.banner_fr if fr else self.banner_en) or self.name

    def is_active(self, at=None) -> bool:
        at = at or timezone.now()
        return self.cancelled_at is None and self.starts_at <= at < self.ends_at
