"""`Idempotency-Key` on POST: a retried request returns the first response instead of acting twice.

The key is claimed (a row in IdempotencyRecord, unique per user and key) in its own committed
transaction *before* the action runs, so two concurrent requests with the same key cannot both
act: the second one hits the unique constraint and answers 409 while the first is in flight, or
replays the first's response once it is stored. Only successful (2xx) responses are kept, for
24 hours; after an error the key is released so the client may fix the request and retry.
A key reused with a different method, path or body is a 422.
"""
from __future__ import annotations

import functools
import hashlib
import json

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from ..exceptions import Conflict, InvalidInput, WorkflowError
from ..messages import Message
from ..models import IdempotencyRecord
from ..services.idempotency import TTL

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
_KEPT_HEADERS = ("ETag", "Location")


class KeyReused(WorkflowError):
    status = 422
    title = "Idempotency key reused"


def _request_hash(request) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(b"\0")
    digest.update(request.path.encode("utf-8", "replace"))
    digest.update(b"\0")
    digest.update(request.body if request.body else b"")
    return digest.hexdigest()


def _clean_key(raw: str) -> str:
    key = raw.strip()
    if not key or len(key) > 200 or not key.isprintable() or not key.isascii():
        raise InvalidInput(code="idempotency_key.invalid", errors={HEADER: [Message("idempotency_key.invalid")]})
    return key


def _replay(record: IdempotencyRecord) -> Response:
    headers = dict(record.response_headers or {})
    headers[REPLAYED_HEADER] = "true"
    return Response(record.response_body, status=record.status_code, headers=headers)


def _claim(*, user, key: str, request, request_hash: str) -> IdempotencyRecord | Response:
    """Insert the record for (user, key), or return the response to replay."""
    for _attempt in range(2):
        try:
            with transaction.atomic():
                return IdempotencyRecord.objects.create(
                    user=user, key=key, method=request.method, path=request.path[:500],
                    request_hash=request_hash,
                )
        except IntegrityError:
            existing = IdempotencyRecord.objects.filter(user=user, key=key).first()
            if existing is None:
                continue  # released meanwhile: try again
            if existing.created_at < timezone.now() - TTL:
                IdempotencyRecord.objects.filter(id=existing.id).delete()
                continue
            if existing.request_hash != request_hash:
                raise KeyReused(
                    "This Idempotency-Key was used for a different request.",
                    errors={HEADER: ["Already used with another method, path or body."]},
                    code="idempotency_key_reused",
                ) from None
            if existing.status_code is None:
                raise Conflict(
                    "A request with this Idempotency-Key is still in progress; retry shortly.",
                    code="idempotency_in_progress",
                ) from None
            return _replay(existing)
    raise Conflict("Could not claim the Idempotency-Key; retry.", code="idempotency_in_progress")


def idempotent(handler):
    """Decorate a DRF view's POST handler (after authentication has run)."""

    @functools.wraps(handler)
    def wrapper(self, request, *args, **kwargs):
        raw = request.headers.get(HEADER)
        if raw is None or not request.user.is_authenticated:
            return handler(self, request, *args, **kwargs)
        key = _clean_key(raw)
        claimed = _claim(user=request.user, key=key, request=request, request_hash=_request_hash(request))
        if isinstance(claimed, Response):
            return claimed
        try:
            response = handler(self, request, *args, **kwargs)
        except BaseException:
            IdempotencyRecord.objects.filter(id=claimed.id).delete()
            raise
        if 200 <= response.status_code < 300:
            body = json.loads(JSONRenderer().render(response.data) or b"null")
            IdempotencyRecord.objects.filter(id=claimed.id).update(
                status_code=response.status_code,
                response_body=body,
                response_headers={h: response[h] for h in _KEPT_HEADERS if response.has_header(h)},
            )
        else:
            IdempotencyRecord.objects.filter(id=claimed.id).delete()
        return response

    return wrapper
