"""`/api/v1/media/`: upload an image or a video (multipart), read what was stored, and fetch its
file and thumbnail through a permission check (docs/media.md, docs/api.md "Media").

The upload is checked and made safe by workflows.services.media (type read from the content,
caps, damaged and polyglot files refused with 422, metadata stripped). Files are never served
from a public or guessable address: only these views read them from storage, for the uploader
and the staff of the medium's organisation (404 for everyone else)."""
from __future__ import annotations

from typing import Any

from django.http import FileResponse, HttpResponse, HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, viewsets
from rest_framework import status as http
from rest_framework.decorators import action
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle

from config.client_ip import client_ip

from .. import selectors
from ..exceptions import InvalidInput, NotFound
from ..messages import Message
from ..services import media as media_services
from .errors import PROBLEM_CONTENT_TYPE
from .language import ReaderLanguageMixin
from .serializers import MAX_ID, DateTime, ProblemSerializer, StrictSerializer, parse

#: File name extensions by stored type, for the download's name.
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp", "video/mp4": "mp4"}


class MediumLinksSerializer(serializers.Serializer):
    self = serializers.CharField()
    file = serializers.CharField(help_text="The stored file (staff of the organisation only).")
    thumbnail = serializers.CharField(allow_null=True, help_text="A JPEG preview; null for a video.")


class MediumSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField(help_text="image or video.")
    content_type = serializers.CharField(help_text="Read from the file's content: image/jpeg, image/png, "
                                                   "image/gif, image/webp or video/mp4.")
    original_name = serializers.CharField(help_text="The uploaded file's name (shown only; never used to store it).")
    size = serializers.IntegerField(help_text="Bytes stored (after metadata was stripped).")
    sha256 = serializers.CharField(help_text="SHA-256 of the stored bytes, hex.")
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    duration = serializers.FloatField(allow_null=True, help_text="Seconds, for a video.")
    uploaded_by = serializers.CharField(source="uploaded_by.username")
    created_at = DateTime()
    links = serializers.SerializerMethodField()

    @extend_schema_field(MediumLinksSerializer)
    def get_links(self, obj: Any) -> dict[str, str | None]:
        base = f"/api/v1/media/{obj.id}/"
        return {"self": base, "file": f"{base}file/", "thumbnail": f"{base}thumbnail/" if obj.thumbnail else None}


class MediumUploadSerializer(StrictSerializer):
    file = serializers.FileField(
        allow_empty_file=True, use_url=False,
        help_text="The image (JPEG, PNG, GIF, WebP) or video (MP4). Its type is read from its content, "
                  "never its name or Content-Type.")


class IgnoreClientContentNegotiation(BaseContentNegotiation):
    """A file is what it is: its type does not depend on the client's Accept header (DRF's
    documented custom negotiation). Errors are still problem details (JSON)."""

    def select_parser(self, request: Any, parsers: Any) -> Any:
        return parsers[0]

    def select_renderer(self, request: Any, renderers: Any, format_suffix: Any = None) -> Any:
        return (renderers[0], renderers[0].media_type)


class MediaUploadThrottle(ScopedRateThrottle):
    """Uploads per user per hour (API_THROTTLE_MEDIA_UPLOAD), beside the fair-use rate."""

    scope_attr = "media_throttle_scope"

    def get_ident(self, request: Any) -> str:
        return client_ip(request)


PROBLEM = {"413": "The request body is over MEDIA_UPLOAD_MAX_REQUEST_BYTES (the largest file cap plus "
                  "its framing): nothing was read.",
           "422": "The file is refused (code media.upload.*: its type, size, pixels, frames, duration, or a "
                  "damaged or polyglot file). Nothing was stored."}


class MediaViewSet(ReaderLanguageMixin, viewsets.GenericViewSet):
    """Upload, read, and fetch the file of an image or a video."""

    serializer_class = MediumSerializer
    filter_backends: list = []
    parser_classes = [MultiPartParser]
    lookup_value_regex = r"[0-9]+"
    media_throttle_scope = "media_upload"

    def get_throttles(self) -> list:
        throttles = list(super().get_throttles())
        if getattr(self, "action", None) == "create":
            throttles.append(MediaUploadThrottle())
        return throttles

    def get_content_negotiator(self) -> Any:
        if getattr(self, "action", None) in ("file", "thumbnail"):
            return IgnoreClientContentNegotiation()
        return super().get_content_negotiator()

    def _medium(self, request: Any, pk: Any) -> Any:
        medium_id = int(pk)
        if medium_id > MAX_ID:
            raise NotFound(code="not_found.medium")
        return selectors.medium_get_visible(medium_id=medium_id, user=request.user)

    @extend_schema(
        request={"multipart/form-data": MediumUploadSerializer},
        responses={201: MediumSerializer,
                   (413, PROBLEM_CONTENT_TYPE): OpenApiResponse(ProblemSerializer, description=PROBLEM["413"]),
                   (422, PROBLEM_CONTENT_TYPE): OpenApiResponse(ProblemSerializer, description=PROBLEM["422"])},
        summary="Upload an image or a video (multipart, field `file`); needs the draft permission on a "
                "channel of your organisation.",
    )
    def create(self, request: Any) -> Response:
        # Who may upload is asked before the body is parsed: a refused caller's file is never read.
        media_services.ensure_may_upload(user=request.user)
        parse(MediumUploadSerializer, request.data)  # shape only: one `file`, no other field
        uploads = request.FILES.getlist("file")
        if len(uploads) != 1:
            raise InvalidInput(code="media.upload.no_file", errors={"file": [Message("media.upload.no_file")]})
        medium = media_services.medium_upload(by=request.user, upload=uploads[0])
        location = f"/api/v1/media/{medium.id}/"
        return Response(MediumSerializer(medium).data, status=http.HTTP_201_CREATED, headers={"Location": location})

    @extend_schema(summary="An uploaded image or video (its uploader and its organisation's staff).")
    def retrieve(self, request: Any, pk: Any = None) -> Response:
        return Response(MediumSerializer(self._medium(request, pk)).data)

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiResponse(
        OpenApiTypes.BINARY, description="The stored bytes, with the Content-Type read from them.")},
        summary="The stored file (its uploader and its organisation's staff; 404 for anyone else).")
    @action(detail=True, methods=["get"])
    def file(self, request: Any, pk: Any = None) -> HttpResponseBase:
        return _serve(request, self._medium(request, pk), thumbnail=False)

    @extend_schema(responses={(200, "image/jpeg"): OpenApiResponse(OpenApiTypes.BINARY)},
                   summary="The JPEG thumbnail of an image (404 for a video).")
    @action(detail=True, methods=["get"])
    def thumbnail(self, request: Any, pk: Any = None) -> HttpResponseBase:
        return _serve(request, self._medium(request, pk), thumbnail=True)


def _serve(request: Any, medium: Any, *, thumbnail: bool) -> HttpResponseBase:
    """The file, streamed from storage, with headers that keep a browser from reading it as
    anything else or keeping it in a shared cache."""
    field = medium.thumbnail if thumbnail else medium.file
    if not field:
        raise NotFound(code="not_found.medium")
    etag = f'"{medium.sha256}{"-thumbnail" if thumbnail else ""}"'
    if etag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
        response: HttpResponseBase = HttpResponse(status=http.HTTP_304_NOT_MODIFIED)
    else:
        content_type = "image/jpeg" if thumbnail else medium.content_type
        ext = "jpg" if thumbnail else EXTENSIONS.get(medium.content_type, "bin")
        name = f"medium-{medium.id}{'-thumbnail' if thumbnail else ''}.{ext}"
        response = FileResponse(field.storage.open(field.name, "rb"), content_type=content_type,
                                as_attachment=False, filename=name)
        if not thumbnail:
            response["Content-Length"] = str(medium.size)
    response["ETag"] = etag
    response["Cache-Control"] = "private, no-cache"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response
