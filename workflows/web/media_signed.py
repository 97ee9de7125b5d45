"""The media links sent to webhook receivers (issue 22; docs/publishing.md, "Media").

`GET /m/<token>/`: the token is the credential (signed over the medium's id and the link's
expiry: services/publish_media.py), not a session. 403 when it is tampered with, malformed or
expired; 404 when the medium is gone; never a listing, never a guessable address. The file is
streamed from Django's storage with the type read at upload, `nosniff`, and no caching by shared
caches (the link expires; a proxy must not keep serving it)."""
from __future__ import annotations

from django.http import FileResponse, HttpResponse, HttpResponseBase
from django.views.decorators.http import require_safe

from ..services.publish_media import MediaGone, MediaLinkRefused, medium_for_token


def _refused(status: int, text: str) -> HttpResponse:
    response = HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "no-store"
    return response


@require_safe
def media_signed(request, token: str) -> HttpResponseBase:
    try:
        medium = medium_for_token(token)
    except MediaLinkRefused as exc:
        return _refused(403, str(exc))
    except MediaGone as exc:
        return _refused(404, str(exc))
    try:
        fh = medium.file.open("rb")
    except FileNotFoundError:
        return _refused(404, "this medium is gone")
    response = FileResponse(fh, content_type=medium.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=300"
    response["Content-Disposition"] = "inline"
    return response
