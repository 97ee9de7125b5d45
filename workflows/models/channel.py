from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase


def default_languages() -> list[str]:
    return ["en"]


class Channel(models.Model):
    """One social account. A post targets channels; each receives the text of its language(s)."""

    class Adapter(models.TextChoices):
        LOG = "log", _("Log (demo)")
        WEBHOOK = "webhook", _("Webhook")
        MASTODON = "mastodon", _("Mastodon")
        BLUESKY = "bluesky", _("Bluesky")

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="channels"
    )
    slug = models.SlugField(_("slug"), unique=True)
    name = models.CharField(_("name"), max_length=200, blank=True)
    platform = models.CharField(_("platform"), max_length=50)
    handle = models.CharField(_("handle"), max_length=200)
    languages = models.JSONField(_("languages"), default=default_languages)
    adapter = models.CharField(max_length=20, choices=Adapter.choices, default=Adapter.LOG)
    #: Non-secret adapter settings (URL, instance...). Secrets are named here by environment
    #: variable (e.g. {"secret_env": "PARLEY_WEBHOOK_SECRET_GC"}), never stored or shown.
    adapter_config = models.JSONField(default=dict, blank=True)
    char_limit = models.PositiveIntegerField(_("character limit"), default=500)
    #: Learnt from the platform with its limit (workflows/services/channels.py): the server also
    #: counts code points, URLs in full (Takahē), so drafts are measured by the stricter count.
    counts_code_points = models.BooleanField(_("the server counts every character of a link"), default=False)
    is_active = models.BooleanField(default=True)
    #: A person's own account: only they post on it, under the organisation's conversation
    #: guidelines ("organisations don't tweet, people do").
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="personal_channels",
        verbose_name=_("personal account of"),
    )
    #: Replies on this organisation channel end with the author's signature in their language.
    sign_replies = models.BooleanField(_("sign replies with the author's signature"), default=False)

    class Meta:
        ordering = ["organisation_id", "slug"]
        permissions = [
            ("draft_channel", "Can draft posts for this channel"),
            ("review_channel", "Can review posts for this channel"),
            ("translate_channel", "Can translate posts for this channel"),
            ("publish_channel", "Can publish (sign off) posts to this channel"),
            ("publish_urgent_channel", "Can publish urgently (break glass) to this channel"),
            ("manage_channel", "Can manage this channel"),
        ]

    def __str__(self) -> str:
        return f"{self.platform}:{self.handle}"

    def clean(self) -> None:
        """The adapter's config schema (workflows/channels/config.py): unknown keys, secret
        names without the PARLEY_SECRET_ prefix and refused URLs are errors, each naming its key."""
        from django.core.exceptions import ValidationError

        from ..channels import validate_config

        errors = validate_config(self.adapter, self.adapter_config)
        if errors:
            raise ValidationError({"adapter_config": [f"{key}: {msg}" for key, msg in sorted(errors.items())]})


class ChannelUserObjectPermission(UserObjectPermissionBase):
    """Direct foreign-key permission table (guardian's performance guide)."""

    content_object = models.ForeignKey(Channel, on_delete=models.CASCADE)

    class Meta(UserObjectPermissionBase.Meta):
        abstract = False


class ChannelGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Channel, on_delete=models.CASCADE)

    class Meta(GroupObjectPermissionBase.Meta):
        abstract = False
