"""Outside approvers and translation bureaus: a person without an account acts on one step of
one post through a signed, single-use, time-limited link (workflows/services/outside_review.py)."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class OutsideInvitation(models.Model):
    """One link sent to one e-mail address. Only the SHA-256 of the link's random token is
    stored; the token itself travels once, in the e-mail. The link is bound to the step and the
    texts it was issued for: when the post leaves the step or a text changes, it is dead."""

    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, related_name="+")
    post = models.ForeignKey("workflows.Post", on_delete=models.PROTECT, related_name="outside_invitations")
    step = models.ForeignKey("workflows.LaneStep", on_delete=models.PROTECT, related_name="+")
    email = models.EmailField(_("e-mail address"), max_length=254)
    #: The inactive account that stands for this address in decisions, texts and the audit
    #: trail (it can never sign in): four eyes by contribution counts it like anyone else.
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    languages = models.JSONField(_("languages"), default=list)
    can_edit = models.BooleanField(_("may write the translation"), default=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    bound_step_entered_at = models.DateTimeField(null=True, blank=True, editable=False)
    bound_text_versions = models.JSONField(default=dict, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    used_at = models.DateTimeField(null=True, blank=True)
    verdict = models.CharField(max_length=20, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("outside invitation")
        indexes = [models.Index(fields=["post", "created_at"])]

    def __str__(self) -> str:
        return f"{self.email} → post {self.post_id}"

    def status(self, now=None) -> str:
        """`used`, `revoked`, `expired` or `open` (open says nothing of the post: see
        outside_review.invitation_refusal for the binding to step and texts)."""
        now = now or timezone.now()
        if self.used_at is not None:
            return "used"
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        return "open"
