"""`/api/v1/exports/`: access-to-information (ATIP) exports — request one, follow its progress,
download its ZIP until it expires (docs/atip.md)."""
from __future__ import annotations

from django.http import FileResponse
from django.utils.translation import get_language
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, viewsets
from rest_framework import status as http
from rest_framework.decorators import action
from rest_framework.response import Response

from .. import selectors
from ..messages import render_stored
from ..services import atip
from .idempotency import idempotent
from .language import ReaderLanguageMixin
from .serializers import DateTime, StrictSerializer, parse


class AtipExportSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    organisation = serializers.CharField(source="organisation.slug")
    requested_by = serializers.CharField(source="requested_by.username")
    language = serializers.CharField(help_text="The language of the HTML summary.")
    channels = serializers.SerializerMethodField()
    date_from = DateTime(allow_null=True)
    date_to = DateTime(allow_null=True)
    post = serializers.IntegerField(source="post_id", allow_null=True)
    inbound = serializers.IntegerField(source="inbound_id", allow_null=True)
    redact_names = serializers.BooleanField()
    redact_handles = serializers.BooleanField()
    redact_patterns = serializers.SerializerMethodField(help_text="How many patterns (never their text).")
    state = serializers.CharField(help_text="queued, running, done, failed or expired.")
    state_display = serializers.CharField(source="get_state_display")
    progress = serializers.IntegerField(help_text="0–100.")
    counts = serializers.DictField(child=serializers.IntegerField())
    audit_verified = serializers.BooleanField(source="chain_verified", allow_null=True)
    size_bytes = serializers.IntegerField()
    sha256 = serializers.CharField()
    error = serializers.SerializerMethodField()
    created_at = DateTime()
    finished_at = DateTime(allow_null=True)
    expires_at = DateTime(allow_null=True)
    download = serializers.SerializerMethodField(help_text="Where to download the ZIP while it is ready.")

    def get_channels(self, obj) -> list[str]:
        return sorted(c.slug for c in obj.channels.all())

    def get_redact_patterns(self, obj) -> int:
        return len(obj.redact_patterns or [])

    def get_error(self, obj) -> str:
        return render_stored(obj.error) if obj.error else ""

    def get_download(self, obj) -> str | None:
        if obj.state != "done" or obj.is_expired():
            return None
        return f"/api/v1/exports/{obj.id}/download/"


class AtipExportCreateSerializer(StrictSerializer):
    organisation = serializers.SlugField(required=False, help_text="Default: your organisation.")
    channels = serializers.ListField(child=serializers.SlugField(), max_length=200, required=False, default=list)
    date_from = DateTime(required=False, allow_null=True, default=None)
    date_to = DateTime(required=False, allow_null=True, default=None)
    post = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1)
    inbound = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1)
    redact_names = serializers.BooleanField(required=False, default=False)
    redact_handles = serializers.BooleanField(required=False, default=False)
    redact_patterns = serializers.ListField(
        child=serializers.CharField(max_length=1000, trim_whitespace=False), max_length=100, required=False,
        default=list, help_text=f"RE2 patterns; at most {atip.MAX_PATTERNS}, each at most {atip.PATTERN_MAX} characters.")
    language = serializers.ChoiceField(choices=["en", "fr"], required=False,
                                       help_text="Of the HTML summary. Default: your language.")


class AtipExportViewSet(ReaderLanguageMixin, viewsets.GenericViewSet):
    serializer_class = AtipExportSerializer
    filter_backends: list = []
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        return selectors.atip_exports_visible(user=self.request.user)

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(AtipExportSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        export = selectors.atip_export_get_visible(export_id=int(pk), user=request.user)
        return Response(AtipExportSerializer(export).data)

    @extend_schema(request=AtipExportCreateSerializer, responses={202: AtipExportSerializer},
                   summary="Request an access-to-information export (needs workflows.export_records).")
    @idempotent
    def create(self, request):
        data = parse(AtipExportCreateSerializer, request.data)
        org_slug = data.pop("organisation", None)
        org_id = None
        if org_slug:
            org = selectors.atip_organisations_exportable(user=request.user).filter(slug=org_slug).first()
            org_id = org.id if org else -1
        export = atip.atip_export_request(
            by=request.user, organisation_id=org_id, post_id=data.pop("post"), inbound_id=data.pop("inbound"),
            language=data.pop("language", "") or (get_language() or "")[:2], **data,
        )
        export = selectors.atip_export_get_visible(export_id=export.id, user=request.user)
        return Response(AtipExportSerializer(export).data, status=http.HTTP_202_ACCEPTED,
                        headers={"Location": f"/api/v1/exports/{export.id}/"})

    @extend_schema(responses={(200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY),
                              410: OpenApiResponse(description="The export expired.")},
                   summary="Download the export's ZIP (audited). 409 while it is being prepared, 410 once expired.")
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        export, path = atip.atip_export_download(export_id=int(pk), by=request.user)
        response = FileResponse(open(path, "rb"), as_attachment=True,  # noqa: SIM115 - closed by Django
                                filename=f"parley-atip-{export.id}.zip", content_type="application/zip")
        response["Cache-Control"] = "no-store"
        return response
