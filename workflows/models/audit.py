from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditEvent(models.Model):
    """Append-only, tamper-evident trail: each row carries the hash of the previous one in its
    chain (one chain per post, per inbound message, and per organisation for policy and
    security changes). The hash is an HMAC-SHA256 under the key named by `key_id` (docs/audit.md);
    rows written before keyed hashes have an empty `key_id` (plain SHA-256, sealed by a signed
    checkpoint). PostgreSQL refuses UPDATE and DELETE."""

    chain = models.CharField(max_length=40)
    seq = models.PositiveIntegerField()
    organisation = models.ForeignKey(
        "accounts.Organisation", null=True, on_delete=models.PROTECT, related_name="+"
    )
    post = models.ForeignKey(
        "workflows.Post", null=True, blank=True, on_delete=models.PROTECT, related_name="audit_events"
    )
    inbound = models.ForeignKey(
        "workflows.InboundMessage", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    verb = models.CharField(max_length=50)
    from_state = models.CharField(max_length=20, blank=True)
    to_state = models.CharField(max_length=20, blank=True)
    revision = models.PositiveIntegerField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64)
    #: Which HMAC key made `hash` (a fingerprint of the key, never the key); "" = legacy SHA-256.
    key_id = models.CharField(max_length=16, blank=True, default="")

    class Meta:
        ordering = ["chain", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["chain", "seq"], name="audit_unique_chain_seq"),
        ]
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self) -> str:
        return f"{self.chain}#{self.seq} {self.verb}"


class AuditChainHead(models.Model):
    """The anchor of a chain that has no owning row (an organisation's `policy:` and `security:`
    chains): the seq and hash of its last event, moved forward in the same transaction as the
    append. Post and inbound chains are anchored by their owner's `audit_seq` / `audit_head`."""

    chain = models.CharField(max_length=40, unique=True)
    organisation = models.ForeignKey(
        "accounts.Organisation", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    seq = models.PositiveIntegerField(default=0)
    head = models.CharField(max_length=64, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.chain} @ {self.seq}"


class AuditCheckpoint(models.Model):
    """A signed statement "chain X had N events ending in hash H at time T", written by the
    beat task `parley.audit_checkpoint` after verifying the events since the previous one.
    Deleting or rewriting events covered by a checkpoint is detected even when the anchors were
    changed too; append-only like the events."""

    chain = models.CharField(max_length=40)
    seq = models.PositiveIntegerField()
    head = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    key_id = models.CharField(max_length=16)
    signature = models.CharField(max_length=64)

    class Meta:
        ordering = ["chain", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["chain", "seq"], name="audit_checkpoint_unique_chain_seq"),
        ]
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self) -> str:
        return f"{self.chain} checkpoint @ {self.seq}"
