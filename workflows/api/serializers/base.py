"""What every serializer builds on: strict input, capped text, bounded dates, problem details, the checks' shape, display fields."""
from __future__ import annotations

import re
from datetime import UTC, datetime

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ... import formats
from ...constants import Severity
from ...exceptions import TextTooLong
from ...messages import Message, render_stored
from ...services.actions import LISTED
from ...services.common import stable_name

MAX_ID = 2**63 - 1
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


class DateTime(serializers.DateTimeField):
    """ISO 8601, always rendered in UTC ("...Z"): local offsets of old dates (e.g. -05:17:32,
    local mean time) are not valid RFC 3339. Input must carry an offset."""

    def __init__(self, **kwargs):
        kwargs.setdefault("default_timezone", UTC)
        super().__init__(**kwargs)

    def to_internal_value(self, value):
        result = super().to_internal_value(value)
        if isinstance(value, str) and not _HAS_OFFSET.search(value):
            raise serializers.ValidationError(_("Give an offset (e.g. Z or -05:00)."))
        return result



@extend_schema_field(OpenApiTypes.STR)
class SlugField(serializers.SlugRelatedField):
    """A related object shown by its slug (read only)."""

    def __init__(self, **kwargs):
        super().__init__(read_only=True, slug_field="slug", **kwargs)
_HAS_OFFSET = re.compile(r"(Z|z|[+-]\d\d:?\d\d)$")
LANGUAGE_CHOICES = [("en", "English"), ("fr", "French")]


class StrictSerializer(serializers.Serializer):
    """Rejects fields it does not know (a typo must not be silently ignored) and bodies that
    are not JSON objects."""

    def to_internal_value(self, data):
        if hasattr(data, "keys"):
            unknown = sorted(str(k) for k in data.keys() if k not in self.fields)
            if unknown:
                raise serializers.ValidationError({k: [_("Unknown field.")] for k in unknown})
        return super().to_internal_value(data)


class CappedText(serializers.CharField):
    """Text with a hard cap from workflows.limits. Over it → 422 problem `text_too_long`
    (code `text.too_long`), raised before any other validation looks at the text."""

    def __init__(self, *, limit: int, **kwargs):
        self.limit = limit
        kwargs.setdefault("help_text", f"At most {limit} characters.")
        super().__init__(**kwargs)

    def run_validation(self, data=serializers.empty):
        if isinstance(data, str) and len(data) > self.limit:
            # A DictField's child has no name of its own: the error goes on the dict ("texts").
            name = self.field_name or getattr(self.parent, "field_name", "") or "text"
            params = {"length": len(data), "limit": self.limit}
            raise TextTooLong(params=params, errors={name: [Message("text.too_long", params)]})
        return super().run_validation(data)


def parse(serializer_class, data, **kwargs) -> dict:
    """Validate `data` with `serializer_class`; raise ValidationError (→ 400) on bad shape."""
    if data is None:
        data = {}
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# --- problem details (documented on every operation)


class ProblemSerializer(serializers.Serializer):
    type = serializers.CharField(help_text="A URI identifying the kind of problem.")
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    # A declared field named like Serializer.errors / .data / Field.source: DRF allows it (the
    # field wins in the document), the stubs do not.
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Messages per field ('texts.fr', 'comment', 'non_field_errors'...).",
    )


class CheckSerializer(serializers.Serializer):
    rule = serializers.CharField()
    severity = serializers.ChoiceField(choices=Severity.choices)
    ok = serializers.BooleanField()
    code = serializers.CharField(default="", help_text="Stable code of the result (docs/api.md, “Message codes”).")
    params = serializers.DictField(default=dict, help_text="The code's parameters (language codes, numbers, lists).")
    message = serializers.SerializerMethodField(help_text="The result in the reader's language.")
    language = serializers.CharField(allow_blank=True)
    field = serializers.CharField(allow_blank=True, required=False)

    def get_message(self, item) -> str:
        return render_stored(item)


# --- me, channels, lanes


class EnglishName(serializers.CharField):
    """`name`: the English name, unchanged by the reader's language (what integrations match on)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "The English name; see name_display for the reader's language.")
        super().__init__(**kwargs)

    def get_attribute(self, instance):
        return stable_name(super().get_attribute(instance))


@extend_schema_field({"type": "string", "nullable": True})
class DateTimeDisplay(serializers.Field):
    """`*_at_display`: the moment as the reader writes it ("Dec. 7, 2026, 10:40 a.m. EST" /
    "7 déc. 2026, 10 h 40 HNE"), beside the raw ISO 8601 field machines read (issue 21)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("read_only", True)
        kwargs.setdefault("help_text", "The same moment in words, in the reader's language; null when unset.")
        super().__init__(**kwargs)

    def to_representation(self, value):
        return formats.datetime(value, with_zone=True) if value else None


@extend_schema_field({"type": "string"})
class WeekDisplay(serializers.Field):
    """`week_display`: "week of Dec. 7, 2026" / "semaine du 7 déc. 2026" beside "2026-W50"."""

    def __init__(self, **kwargs):
        kwargs.setdefault("read_only", True)
        kwargs.setdefault("help_text", "The week in words, in the reader's language.")
        super().__init__(**kwargs)

    def to_representation(self, value):
        return formats.week(value)


def display_name_field(source: str = "name", **kwargs):
    """`*_display`: the name in the reader's language (Accept-Language, or the user's choice)."""
    kwargs.setdefault("help_text", "The name in the reader's language (English or French).")
    return serializers.CharField(source=source, allow_blank=True, **kwargs)


def _actions_field(what: str):  # noqa: ANN202 - a schema decorator
    return extend_schema_field(serializers.ListField(
        child=serializers.ChoiceField(choices=[a.value for a in LISTED]),
        help_text=f"What the caller may do now on this {what}: the names of the actions whose check passes "
        "(workflows/services/actions.py; the same check the action runs under the row lock)."))
