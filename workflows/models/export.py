"""Access-to-information (ATIP) exports: a package of everything Parley holds about a scope
(an organisation's channels over a date range, one post, or one citizen message)."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..constants import ExportState


class AtipExport(models.Model):
    """One requested export. Written only by workflows.services.atip; the ZIP lives under
    EXPORT_ROOT until `expires_at`, then the beat cleanup deletes it (the row stays)."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="atip_exports",
        verbose_name=_("organisation"),
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="atip_exports",
        verbose_name=_("requested by"),
    )
    #: The reader's language: the HTML summary is written in it.
    language = models.CharField(_("language"), max_length=2, default="en")
    channels = models.ManyToManyField("workflows.Channel", blank=True, related_name="+", verbose_name=_("channels"))
    date_from = models.DateTimeField(_("from"), null=True, blank=True)
    date_to = models.DateTimeField(_("to"), null=True, blank=True)
    post = models.ForeignKey("workflows.Post", null=True, blank=True, on_delete=models.PROTECT,
                             related_name="+", verbose_name=_("post"))
    inbound = models.ForeignKey("workflows.InboundMessage", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+", verbose_name=_("citizen message"))
    redact_names = models.BooleanField(_("redact citizens' names"), default=False)
    redact_handles = models.BooleanField(_("redact citizens' handles"), default=False)
    #: Free-text patterns (RE2 syntax) whose matches are replaced everywhere in the package.
    redact_patterns = models.JSONField(_("redaction patterns"), default=list, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=ExportState.choices,
                             default=ExportState.QUEUED, db_index=True)
    #: 0–100, moved forward while the package is built.
    progress = models.PositiveSmallIntegerField(_("progress"), default=0)
    total_posts = models.PositiveIntegerField(default=0)
    done_posts = models.PositiveIntegerField(default=0)
    #: {"posts": n, "revisions": n, ...} once done.
    counts = models.JSONField(default=dict, blank=True)
    #: True when every audit chain in the package verified when it was built.
    chain_verified = models.BooleanField(null=True, blank=True)
    #: Path of the ZIP relative to EXPORT_ROOT ("" before it is built and after it is deleted).
    file_path = models.CharField(max_length=300, blank=True)
    size_bytes = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    #: Catalogue code of the failure ({"code", "params"}).
    error = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    downloads = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("access-to-information export")
        permissions = [("export_records", "Can export records for access-to-information requests")]
        indexes = [
            models.Index(fields=["requested_by", "-created_at"], name="atip_requester_idx"),
            models.Index(fields=["state", "expires_at"], name="atip_state_expiry_idx"),
        ]

    def __str__(self) -> str:
        return f"ATIP export {self.id} ({self.state})"

    @property
    def finished(self) -> bool:
        return self.state in (ExportState.DONE, ExportState.FAILED, ExportState.EXPIRED)

    def is_expired(self, now=None) -> bool:
        now = now or timezone.now()
        return self.state == ExportState.EXPIRED or (self.expires_at is not None and self.expires_at <= now)
