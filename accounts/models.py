"""Users, organisations, teams and integration tokens."""
from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth.models import AbstractUser, Group
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Language(models.TextChoices):
    EN = "en", _("English")
    FR = "fr", _("French")


class Organisation(models.Model):
    """A department, agency or mission; may sit under a parent organisation. Its name is
    bilingual (`name_en` / `name_fr`, accounts/translation.py)."""

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), unique=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("organisation")

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )
    #: The interface language this person CHOSE (the language toggle, the admin). Blank: never
    #: chosen, so the browser's (or the API client's) Accept-Language decides
    #: (`accounts.middleware.reader_language`).
    preferred_language = models.CharField(
        _("preferred language"), max_length=2, choices=Language.choices, default="", blank=True
    )
    #: How this person signs replies on organisation channels that sign (e.g. "– Dana,
    #: Passport Program"), in each official language.
    signature_en = models.CharField(_("signature in English"), max_length=100, blank=True)
    signature_fr = models.CharField(_("signature in French"), max_length=100, blank=True)

    def signature(self, language: str) -> str:
        return (self.signature_fr if language == "fr" else self.signature_en).strip()


class Team(models.Model):
    """A named group of users in an organisation that approval steps point at.

    Backed by a Django Group so django-guardian can grant object permissions to the whole team."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="teams")
    slug = models.SlugField(_("slug"))
    name = models.CharField(_("name"), max_length=200)
    group = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="team")

    class Meta:
        ordering = ["organisation_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "slug"], name="team_unique_slug"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.organisation.slug})"


def hash_token(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class ApiToken(models.Model):
    """An integration token. Only the SHA-256 of the key is stored; the key is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100, blank=True)
    prefix = models.CharField(max_length=12, editable=False, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API token")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user.username})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @classmethod
    def generate_key(cls) -> str:
        return "prl_" + secrets.token_urlsafe(32)
