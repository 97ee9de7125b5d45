"""Publish by HTTP POST of a signed JSON document.

adapter_config: {"url": "...", "secret_env": "NAME_OF_ENV_VAR", "lookup_url": "... (optional)"}.
Headers: Idempotency-Key, X-Parley-Signature: sha256=<HMAC-SHA256 of the body with the secret>.
The endpoint answers 2xx with {"id": "...", "url": "..."}. With lookup_url, GET
lookup_url?idempotency_key=... answers 200 with the same document, or 404 when never received.
"""
from __future__ import annotations

import hashlib
import hmac
import json

import requests
from django.conf import settings

from .base import Adapter, AmbiguousError, PermanentError, Result, TransientError


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def classify_request_error(exc: requests.RequestException) -> Exception:
    """Was the request possibly processed? Connection refused / connect timeout: no."""
    if isinstance(exc, requests.ConnectTimeout):
        return TransientError(f"connect timeout: {exc.__class__.__name__}")
    if isinstance(exc, requests.ConnectionError):
        text = repr(exc)
        if "NewConnectionError" in text or "Connection refused" in text or "NameResolutionError" in text:
            return TransientError(f"could not connect: {exc.__class__.__name__}")
        return AmbiguousError(f"connection lost after sending: {exc.__class__.__name__}")
    if isinstance(exc, requests.Timeout):
        return AmbiguousError(f"timeout waiting for the answer: {exc.__class__.__name__}")
    return AmbiguousError(f"{exc.__class__.__name__}")


def classify_status(resp: requests.Response) -> Exception | None:
    if resp.status_code < 300:
        return None
    detail = resp.text[:300]
    if resp.status_code >= 500 or resp.status_code in (408, 429):
        return TransientError(f"HTTP {resp.status_code}: {detail}")
    return PermanentError(f"HTTP {resp.status_code}: {detail}")


class WebhookAdapter(Adapter):
    name = "webhook"

    @property
    def can_lookup(self) -> bool:  # type: ignore[override]
        return bool(self.config.get("lookup_url"))

    def send(self, publication) -> Result:
        url = self.config.get("url")
        if not url:
            raise PermanentError("This channel's webhook has no url.")
        body = json.dumps({
            "idempotency_key": publication.idempotency_key, "post_id": publication.post_id,
            "channel": self.channel.slug, "language": publication.language, "text": publication.body,
        }, ensure_ascii=False, sort_keys=True).encode()
        headers = {"Content-Type": "application/json", "Idempotency-Key": publication.idempotency_key,
                   "User-Agent": "Parley"}
        secret = self.secret()
        if secret:
            headers["X-Parley-Signature"] = sign(secret, body)
        try:
            resp = requests.post(url, data=body, headers=headers, timeout=settings.PUBLISH_HTTP_TIMEOUT)
        except requests.RequestException as exc:
            raise classify_request_error(exc) from exc
        error = classify_status(resp)
        if error is not None:
            raise error
        return _result(resp, publication.idempotency_key)

    def lookup(self, idempotency_key: str) -> Result | None:
        url = self.config.get("lookup_url")
        if not url:
            raise NotImplementedError("no lookup_url")
        try:
            resp = requests.get(url, params={"idempotency_key": idempotency_key},
                                timeout=settings.PUBLISH_HTTP_TIMEOUT)
        except requests.RequestException as exc:
            raise TransientError(f"lookup failed: {exc.__class__.__name__}") from exc
        if resp.status_code == 404:
            return None
        error = classify_status(resp)
        if error is not None:
            raise TransientError(f"lookup failed: {error}")
        return _result(resp, idempotency_key)


def _result(resp: requests.Response, key: str) -> Result:
    try:
        data = resp.json()
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    return Result(external_id=str(data.get("id") or key), url=str(data.get("url") or ""))
