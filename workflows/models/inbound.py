from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..constants import (
    InboundKind,
    InboundMedium,
    InboundSource,
    InboundStatus,
    ReplyDeliveryStatus,
    Visibility,
)


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
    #: A message logged by staff (source=manual): how it reached them, the way a reply goes back.
    medium = models.CharField(max_length=10, choices=InboundMedium.choices, blank=True, default="", db_default="")
    #: A message logged by staff: the phone number or e-mail address to answer (personal data,
    #: shown only on the message's own page to people who may reply: `sender` masks it).
    contact = models.CharField(max_length=300, blank=True, default="", db_default="")
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
    def sender(self) -> str:
        """Who wrote, as lists, rows, the queue, metrics and notifications show it. A caller's or
        correspondent's name, number and address are personal data: a message logged from a
        phone call or an e-mail shows "Caller (phone)" / "Correspondent (e-mail)" instead."""
        if self.source == InboundSource.MANUAL:
            return str(_("Correspondent (e-mail)") if self.medium == InboundMedium.EMAIL else _("Caller (phone)"))
        return self.author

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


class ReplyDelivery(models.Model):
    """How a reply to a message received by phone or e-mail reaches the citizen: an e-mail sent
    through the outbox, or a call-back a person makes and marks done. Never a platform."""

    post = models.OneToOneField("workflows.Post", on_delete=models.PROTECT, related_name="reply_delivery")
    inbound = models.ForeignKey(InboundMessage, on_delete=models.PROTECT, related_name="reply_deliveries")
    medium = models.CharField(max_length=10, choices=InboundMedium.choices)
    #: The address or number (personal data, copied from the message when the reply was approved).
    to = models.CharField(max_length=300, blank=True)
    language = models.CharField(max_length=2)
    body = models.TextField()
    status = models.CharField(max_length=10, choices=ReplyDeliveryStatus.choices, default=ReplyDeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["medium", "status"], name="reply_delivery_open_idx")]

    def __str__(self) -> str:
        return f"{self.medium}:{self.post_id}"
