"""Me, channels and lanes."""
from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ...constants import LaneKind, Severity, StepKind
from .base import EnglishName, StrictSerializer, display_name_field


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    organisation = serializers.CharField(allow_null=True)
    language = serializers.CharField(allow_blank=True, help_text=(
        "The language you chose (en or fr); blank when you never chose one, and Accept-Language decides."))
    permissions = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    signature_en = serializers.CharField(allow_blank=True, help_text="How you sign replies in English.")
    signature_fr = serializers.CharField(allow_blank=True, help_text="How you sign replies in French.")


class SignatureSerializer(StrictSerializer):
    signature_en = serializers.CharField(max_length=100, required=False, allow_blank=True)
    signature_fr = serializers.CharField(max_length=100, required=False, allow_blank=True)


class ChannelSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.CharField()
    name = EnglishName(source="*", allow_blank=True)
    name_en = serializers.CharField(allow_blank=True, allow_null=True)
    name_fr = serializers.CharField(allow_blank=True, allow_null=True)
    name_display = display_name_field()
    platform = serializers.CharField()
    handle = serializers.CharField()
    languages = serializers.ListField(child=serializers.CharField())
    char_limit = serializers.IntegerField()
    usable = serializers.SerializerMethodField(
        help_text="Whether the channel can publish now (switched on, its configuration valid for its adapter). "
                  "A post to an unusable channel is refused at draft and submit (422, code channel.unusable).")
    unusable_reason = serializers.SerializerMethodField(
        help_text="Why not, as a message code (channel.unusable_inactive, channel.unusable_config); null when usable.")

    def _usability(self, obj):
        return self.context["usability"][obj.id]

    def get_usable(self, obj) -> bool:
        return self._usability(obj).usable

    def get_unusable_reason(self, obj) -> str | None:
        return self._usability(obj).reason or None


class AccountSerializer(serializers.Serializer):
    handle = serializers.CharField()
    display_name = serializers.CharField(allow_blank=True)
    url = serializers.CharField(allow_blank=True)


class LimitsSerializer(serializers.Serializer):
    max_length = serializers.IntegerField()
    unit = serializers.CharField()
    url_length = serializers.IntegerField(allow_null=True)
    assumed = serializers.BooleanField(help_text="The platform did not tell its limits: these are its documented "
                                                 "defaults (asked again later).")


class NoteSerializer(serializers.Serializer):
    code = serializers.CharField()
    params = serializers.DictField()
    message = serializers.CharField(help_text="The note in the caller's language.")


class ChannelTestSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    account = AccountSerializer(required=False)
    limits = LimitsSerializer(required=False, allow_null=True)
    notes = NoteSerializer(many=True, required=False)
    kind = serializers.CharField(required=False, help_text="credentials | config | unreachable | rate_limited | "
                                                           "platform_error | refused | error")
    message = serializers.CharField(required=False)
    detail = serializers.CharField(required=False)


class LaneStepSerializer(serializers.Serializer):
    order = serializers.IntegerField()
    name = EnglishName(source="*")
    name_en = serializers.CharField(allow_blank=True, allow_null=True)
    name_fr = serializers.CharField(allow_blank=True, allow_null=True)
    name_display = display_name_field()
    kind = serializers.ChoiceField(choices=StepKind.choices)
    team = serializers.CharField(source="team.slug")
    team_display = display_name_field("team.name")
    quorum = serializers.IntegerField()
    sla_seconds = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.INT)
    def get_sla_seconds(self, step) -> int:
        return int(step.sla.total_seconds())


class GuidelineSerializer(serializers.Serializer):
    kind = serializers.CharField()
    severity = serializers.ChoiceField(choices=Severity.choices)
    params = serializers.JSONField()


class LaneSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.CharField()
    name = EnglishName(source="*")
    name_en = serializers.CharField(allow_blank=True, allow_null=True)
    name_fr = serializers.CharField(allow_blank=True, allow_null=True)
    name_display = display_name_field()
    kind = serializers.ChoiceField(choices=LaneKind.choices)
    required_languages = serializers.ListField(child=serializers.CharField())
    allow_urgent = serializers.BooleanField()
    steps = LaneStepSerializer(many=True, source="steps.all")
    guidelines = serializers.SerializerMethodField()

    @extend_schema_field(GuidelineSerializer(many=True))
    def get_guidelines(self, lane) -> list[dict]:
        return [
            {"kind": g.kind, "severity": g.severity, "params": g.params}
            for g in lane.guidelines.all()
            if g.enabled
        ]
