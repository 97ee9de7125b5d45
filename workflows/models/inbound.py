from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..constants import InboundKind, InboundSource, InboundStatus, Visibility


class InboundMessage(models.Model):
    """What a citizen wrote: the conversation inbox."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="inbound_messages"
    )
    channel = models.ForeignKey("workflows.Channel", on_delete=models.PROTECT, related_name="inbound")
    external_id = models.CharField(max_length=300)
    author = models.CharField(max_length=300)
    #: The citizen's handle on the platform (no leading "@"), mentioned in a reply.
    author_handle = models.CharField(max_length=300, blank=True)
    body = models.TextField()
    #: The citizen's content warning (Mastodon's `spoiler_text`), shown before the text and
    #: carried onto the reply; "" when none.
    content_warning = models.CharField(max_length=500, blank=True, default="", db_default="")
    kind = models.CharField(max_length=10, choices=InboundKind.choices, default=InboundKind.MENTION)
    source = models.CharField(max_length=10, choices=InboundSource.choices, default=InboundSource.API)
    #: The widest visibility a reply may use (a direct message is answered directly).
    visibility = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC)
    #: The platform references needed to answer in the thread: the fields of channels.ThreadRef
    #: (external_id; uri, cid, root_uri, root_cid).
    thread = models.JSONField(default=dict, blank=True)
    language = models.CharField(max_length=2, blank=True)
    url = models.URLField(max_length=500, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(
        max_length=10, choices=InboundStatus.choices, default=InboundStatus.NEW, db_index=True
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    audit_seq = models.PositiveIntegerField(default=0)
    audit_head = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            # The inbox, newest first, at 100k messages (issue 14).
            models.Index(fields=["organisation", "-received_at", "-id"], name="inbound_org_received_idx"),
            models.Index(fields=["organisation", "status", "-received_at", "-id"], name="inbound_org_status_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_id"], name="inbound_unique_external_id"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel_id}:{self.external_id}"

    @property
    def first_response_seconds(self) -> float | None:
        if self.first_response_at is None:
            return None
        return (self.first_response_at - self.received_at).total_seconds()


class HoldingReply(models.Model):
    """A pre-approved bilingual reply staff can start from."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="holding_replies"
    )
    name = models.CharField(_("name"), max_length=200)
    body_en = models.TextField(_("English text"))
    body_fr = models.TextField(_("French text"))

    class Meta:
        ordering = ["organisation_id", "name"]
        verbose_name_plural = _("holding replies")

    def __str__(self) -> str:
        return self.name
