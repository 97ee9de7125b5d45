"""Images and video attached to posts and replies (issue 22, docs/media.md).

A `Medium` is one uploaded file, already made safe (its type read from its content, metadata
stripped by re-encoding, size/pixel/duration caps checked: workflows.media). It belongs to an
organisation and is served to staff only through a permission-checked view; its storage name is
random, never derived from the uploaded name.

A `PostMedium` attaches a medium to a post, in order, for both languages (`language == ""`) or
for one language only (a French version of an infographic). Its alternative text and, for a
video, its captions (WebVTT) exist per language (`alt_text_en`/`alt_text_fr`,
`captions_en`/`captions_fr`: django-modeltranslation, registered in workflows/translation.py
without fallback — a French reader must never be given the English description).

For every rule that holds for a post's text, a language's media are part of that language's text:
changing a medium, or its alt text or captions in a language, is an edit of that language (its
PostText version is bumped, the approvals that covered it are voided, four eyes counts the
editor, the revision snapshots it).
"""
from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class MediaKind(models.TextChoices):
    IMAGE = "image", _("Image")
    VIDEO = "video", _("Video")


def medium_upload_to(instance: Medium, filename: str) -> str:
    """A random storage name (never the uploader's): `media/<org>/<uuid>.<ext of the sniffed type>`."""
    ext = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp",
           "video/mp4": "mp4"}.get(instance.content_type, "bin")
    return f"media/{instance.organisation_id}/{uuid.uuid4().hex}.{ext}"


def thumbnail_upload_to(instance: Medium, filename: str) -> str:
    return f"media/{instance.organisation_id}/{uuid.uuid4().hex}.thumb.jpg"


class Medium(models.Model):
    """One uploaded image or video, safe to store and to show (workflows.media made it so)."""

    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, related_name="media")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10, choices=MediaKind.choices)
    #: Read from the content (never the name or the client's header).
    content_type = models.CharField(max_length=40)
    file = models.FileField(upload_to=medium_upload_to, max_length=200)
    #: A small JPEG preview (first frame is not extracted for video: None).
    thumbnail = models.FileField(upload_to=thumbnail_upload_to, max_length=200, null=True, blank=True)
    #: The name the uploader's file had, capped; only shown, and checked against alt text.
    original_name = models.CharField(max_length=255, blank=True)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    #: Seconds, for video.
    duration = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organisation", "-created_at"], name="medium_org_created_idx")]

    def __str__(self) -> str:
        return f"Medium {self.id} ({self.content_type})"


class PostMedium(models.Model):
    """A medium on a post, in order, for both languages or one; its texts per language."""

    post = models.ForeignKey("workflows.Post", on_delete=models.CASCADE, related_name="media")
    medium = models.ForeignKey(Medium, on_delete=models.PROTECT, related_name="attachments")
    position = models.PositiveSmallIntegerField(default=0)
    #: "" for both languages; "en" or "fr" for a medium shown in that language's post only.
    language = models.CharField(max_length=2, blank=True, default="")
    #: Alternative text (per language: alt_text_en / alt_text_fr, see workflows/translation.py).
    alt_text = models.TextField(blank=True, default="")
    #: A video's captions, WebVTT (per language: captions_en / captions_fr).
    captions = models.TextField(blank=True, default="")
    #: Mastodon's focal point, -1..1 on each axis (0, 0 is the centre).
    focus_x = models.FloatField(default=0.0)
    focus_y = models.FloatField(default=0.0)

    class Meta:
        ordering = ["post_id", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["post", "position"], name="postmedium_unique_position"),
        ]

    def __str__(self) -> str:
        return f"{self.post_id}#{self.position} {self.medium_id}"

    def languages_for(self, post_languages: list[str] | tuple[str, ...]) -> list[str]:
        """The languages this attachment is part of."""
        return [self.language] if self.language else list(post_languages)
