from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from ..constants import EscalationKind, LaneKind, PartialFailurePolicy, RuleKind, Severity, StepKind


def default_required_languages() -> list[str]:
    return ["en", "fr"]


class Lane(models.Model):
    """A path to publication, defined as data: conversation (fast) or official (full)."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="lanes"
    )
    slug = models.SlugField(_("slug"))
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=LaneKind.choices)
    required_languages = models.JSONField(
        _("required languages"), default=default_required_languages, blank=True
    )
    response_sla = models.DurationField(
        _("first-response SLA"), default=timedelta(hours=1), null=True, blank=True
    )
    spot_check_rate = models.DecimalField(
        _("spot-check rate"),
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.100"),
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text=_("Share of published replies sampled for review afterwards (0 to 1)."),
    )
    allow_urgent = models.BooleanField(_("allow urgent publishing"), default=False)
    retrospective_team = models.ForeignKey(
        "accounts.Team",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Who reviews urgent publications and spot-checks afterwards."),
    )
    escalate_to = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Lane that escalated drafts move to (default: the organisation's official lane)."),
    )

    partial_failure_policy = models.CharField(
        _("when one language fails after another went out"),
        max_length=10,
        choices=PartialFailurePolicy.choices,
        default=PartialFailurePolicy.HOLD,
        help_text=_("Preflight stops most failures before anything is sent. Hold keeps the published "
                    "languages live, flags the post and alerts; retract deletes them."),
    )

    # Four eyes across steps and across links (issue 20; docs/security.md).
    distinct_step_approvers = models.BooleanField(
        _("a different person approves each step"), default=True,
        help_text=_("Nobody approves two steps of the same post (someone on two teams approves one of "
                    "them only)."),
    )
    outside_needs_staff_confirmation = models.BooleanField(
        _("outside decisions need a staff confirmation"), default=False,
        help_text=_("An approval through an outside link completes its step only once a staff member "
                    "who did not write the text has approved that step too."),
    )

    class Meta:
        ordering = ["organisation_id", "slug"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "slug"], name="lane_unique_slug"),
        ]

    def __str__(self) -> str:
        return f"{self.slug} ({self.get_kind_display()})"


class LaneStep(models.Model):
    lane = models.ForeignKey(Lane, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveSmallIntegerField(_("order"))
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=StepKind.choices)
    team = models.ForeignKey("accounts.Team", on_delete=models.PROTECT, related_name="steps")
    quorum = models.PositiveSmallIntegerField(
        _("quorum"), default=1, validators=[MinValueValidator(1)]
    )
    sla = models.DurationField(_("SLA"), default=timedelta(hours=4))
    escalation_team = models.ForeignKey(
        "accounts.Team",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Notified when the step is overdue."),
    )

    class Meta:
        ordering = ["lane_id", "order"]
        constraints = [
            models.UniqueConstraint(fields=["lane", "order"], name="lanestep_unique_order"),
        ]

    def __str__(self) -> str:
        return f"{self.lane.slug} #{self.order} {self.name}"


class GuidelineRule(models.Model):
    """A pre-screen check run on every save; `block` stops submission, `warn` is shown."""

    lane = models.ForeignKey(Lane, on_delete=models.CASCADE, related_name="guidelines")
    kind = models.CharField(max_length=30, choices=RuleKind.choices)
    params = models.JSONField(default=dict, blank=True)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.BLOCK)
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["lane_id", "id"]

    def __str__(self) -> str:
        return f"{self.lane.slug}: {self.kind} ({self.severity})"


class EscalationRule(models.Model):
    """A conversation-lane draft matching this rule moves to the official lane on submit."""

    lane = models.ForeignKey(Lane, on_delete=models.CASCADE, related_name="escalations")
    kind = models.CharField(max_length=20, choices=EscalationKind.choices)
    params = models.JSONField(default=dict, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["lane_id", "id"]

    def __str__(self) -> str:
        return f"{self.lane.slug}: {self.kind}"
