"""The API's shapes of media on posts (issue 22, docs/api.md "Media on posts"): what a client
sends to attach media (`media` on create and edit, on a translation) and what a post's detail
shows of them. Shapes only: which medium may go where, the platforms' counts and the languages
are checked by workflows.services.media."""
from __future__ import annotations

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .. import limits
from ..exceptions import TextTooLong
from ..messages import Message
from ..models.media import MediaKind

MAX_ID = 2**63 - 1
MAX_POSITION = 32_767


class StrictSerializer(serializers.Serializer):
    """Unknown fields are refused, as workflows.api.serializers.StrictSerializer refuses them
    (not imported: that module imports this one)."""

    def to_internal_value(self, data):
        if hasattr(data, "keys"):
            unknown = sorted(str(k) for k in data.keys() if k not in self.fields)
            if unknown:
                raise serializers.ValidationError({k: [_("Unknown field.")] for k in unknown})
        return super().to_internal_value(data)


class MediaText(serializers.CharField):
    """A medium's text in one language, with its hard cap (workflows.limits): over it → 422
    problem `text_too_long` with the code `code` (`media.attach.alt_text_too_long` or
    `media.attach.captions_too_long`), before anything else reads it."""

    def __init__(self, *, limit: int, code: str, **kwargs):
        self.limit, self.code = limit, code
        kwargs.setdefault("help_text", f"At most {limit} characters.")
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def run_validation(self, data=serializers.empty):
        if isinstance(data, str) and len(data) > self.limit:
            params = {"length": len(data), "limit": self.limit}
            where = f"{getattr(self.parent, 'field_name', '') or 'media'}.{self.field_name}"
            raise TextTooLong(code=self.code, params=params, errors={where: [Message(self.code, params)]})
        return super().run_validation(data)


class AltTexts(StrictSerializer):
    en = MediaText(limit=limits.ALT_TEXT_MAX, code="media.attach.alt_text_too_long")
    fr = MediaText(limit=limits.ALT_TEXT_MAX, code="media.attach.alt_text_too_long")


class Captions(StrictSerializer):
    en = MediaText(limit=limits.CAPTIONS_MAX, code="media.attach.captions_too_long",
                   help_text=f"WebVTT, at most {limits.CAPTIONS_MAX} characters. Video only.")
    fr = MediaText(limit=limits.CAPTIONS_MAX, code="media.attach.captions_too_long",
                   help_text=f"WebVTT, at most {limits.CAPTIONS_MAX} characters. Video only.")


def _focus_field(**kwargs) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.FloatField(min_value=-1.0, max_value=1.0), min_length=2, max_length=2,
        help_text="Mastodon's focal point [x, y], each -1..1 (0, 0: the centre).", **kwargs)


class MediaAttach(StrictSerializer):
    """One medium on the post; the list's order is the media's order."""

    medium = serializers.IntegerField(min_value=1, max_value=MAX_ID,
                                      help_text="The medium's id (POST /api/v1/media/ answers it).")
    language = serializers.ChoiceField(
        choices=[("en", "English only"), ("fr", "French only")], allow_blank=True, required=False, default="",
        help_text="\"\" (default): shown in both languages; \"en\" or \"fr\": only in that language's post.")
    alt_text = AltTexts(required=False, help_text="Alternative text per language.")
    captions = Captions(required=False, help_text="A video's captions per language (WebVTT).")
    focus = _focus_field(required=False)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if "focus" in value:
            value["focus"] = list(value["focus"])
        return value


def media_input_field(**kwargs) -> serializers.ListField:
    """`media` on create and edit: the post's media in order (edit: replaces them; [] removes
    them all; omitted: unchanged)."""
    return serializers.ListField(
        child=MediaAttach(), max_length=limits.MEDIA_PER_POST_MAX, required=False,
        help_text="The media in order (edit: replaces them all; [] removes them; omitted: unchanged). "
                  "At most 4 images or 1 video per post on Mastodon and Bluesky (422 media.attach.too_many, "
                  "media.attach.mixed).", **kwargs)


class MediaTranslate(StrictSerializer):
    """A medium's texts in the language being translated, by its position."""

    position = serializers.IntegerField(min_value=0, max_value=MAX_POSITION,
                                        help_text="The medium's `position` in the post's `media`.")
    alt_text = MediaText(limit=limits.ALT_TEXT_MAX, code="media.attach.alt_text_too_long")
    captions = MediaText(limit=limits.CAPTIONS_MAX, code="media.attach.captions_too_long",
                         help_text=f"WebVTT, at most {limits.CAPTIONS_MAX} characters. Video only.")


def translation_media_field() -> serializers.ListField:
    return serializers.ListField(
        child=MediaTranslate(), max_length=limits.MEDIA_PER_POST_MAX, required=False,
        help_text="The alternative text and captions of the post's media in this language.")


class LanguageTexts(serializers.Serializer):
    en = serializers.CharField(allow_blank=True)
    fr = serializers.CharField(allow_blank=True)


#: The permission-checked views that serve a medium's file and thumbnail, by URL name: the
#: media API's actions (`/api/v1/media/{id}/file/`, router basename `api-medium`), else views
#: named `media-file` / `media-thumbnail`.
FILE_URL_NAMES = ("api-medium-file", "media-file")
THUMBNAIL_URL_NAMES = ("api-medium-thumbnail", "media-thumbnail")


def _url(names: tuple[str, ...], pk: int) -> str:
    """The first of `names` that resolves, for the medium `pk`; "" while none is installed."""
    for name in names:
        try:
            return reverse(name, kwargs={"pk": pk})
        except NoReverseMatch:
            continue
    return ""


class PostMediumSerializer(serializers.Serializer):
    """One medium on a post (a PostMedium with its Medium, select_related)."""

    id = serializers.IntegerField(source="medium_id", help_text="The medium's id (as given in `medium`).")
    position = serializers.IntegerField()
    language = serializers.CharField(allow_blank=True, help_text="\"\": both languages; else the one it is for.")
    kind = serializers.ChoiceField(choices=MediaKind.choices, source="medium.kind")
    content_type = serializers.CharField(source="medium.content_type")
    width = serializers.IntegerField(source="medium.width", allow_null=True)
    height = serializers.IntegerField(source="medium.height", allow_null=True)
    duration = serializers.FloatField(source="medium.duration", allow_null=True, help_text="Seconds (video).")
    alt_text = serializers.SerializerMethodField()
    captions = serializers.SerializerMethodField()
    focus = serializers.SerializerMethodField()
    file_url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()

    @extend_schema_field(LanguageTexts)
    def get_alt_text(self, pm) -> dict:
        return {"en": pm.alt_text_en or "", "fr": pm.alt_text_fr or ""}

    @extend_schema_field(LanguageTexts)
    def get_captions(self, pm) -> dict:
        return {"en": pm.captions_en or "", "fr": pm.captions_fr or ""}

    @extend_schema_field(serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2))
    def get_focus(self, pm) -> list[float]:
        return [pm.focus_x, pm.focus_y]

    def get_file_url(self, pm) -> str:
        return _url(FILE_URL_NAMES, pm.medium_id)

    def get_thumbnail_url(self, pm) -> str:
        return _url(THUMBNAIL_URL_NAMES, pm.medium_id) if pm.medium.thumbnail else ""


__all__ = ["MediaAttach", "MediaTranslate", "PostMediumSerializer", "media_input_field", "translation_media_field"]
