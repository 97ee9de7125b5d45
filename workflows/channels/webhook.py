"""Publish by HTTP POST of a signed JSON document, through the outbound door (workflows.outbound).

adapter_config (schema in channels/config.py, every key in the README):
  url          (required) where each publication is POSTed;
  secret_env   name of a PARLEY_SECRET_* variable holding the HMAC key;
  lookup_url   GET lookup_url?idempotency_key=...&since=... answers 200 with the document, or 404
               when never received (without it an unclear outcome waits for a person);
  retract_url  DELETE retract_url/<external id> deletes a publication (2xx or 404: gone);
  info_url     GET answers {"account": {"handle", "display_name", "url"},
               "limits": {"max_length", "unit"}}: "test connection" and the platform's limits.
Headers: Idempotency-Key, X-Parley-Signature: sha256=<HMAC-SHA256 of the body with the secret>.
A post with media carries `media`: [{url (signed, expiring: GET it within MEDIA_SIGNED_URL_TTL),
kind, content_type, alt, captions, width, height, duration, focus, size}], in order, the texts in
the message's language; the signature covers them like the rest of the body.
The endpoint answers 2xx with {"id": "...", "url": "..."}.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import requests
from django.conf import settings
from django.utils import timezone

from .. import outbound
from .base import (
    Account,
    Adapter,
    AuthError,
    ConfigError,
    Limits,
    MediaItem,
    MediaRefused,
    OutboundMessage,
    PermanentError,
    RateLimited,
    Result,
    TransientError,
)


def media_document(item: MediaItem) -> dict[str, Any]:
    """One medium in the webhook's JSON: a signed link that expires (never the bytes), its type,
    and its texts in the message's language. Fixed per publication: replays are identical."""
    return {"url": item.url, "kind": item.kind, "content_type": item.content_type, "alt": item.alt,
            "captions": item.captions, "width": item.width, "height": item.height, "duration": item.duration,
            "focus": list(item.focus), "size": item.size}


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def retry_after(resp: requests.Response) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    raw = (resp.headers.get("Retry-After") or "").strip()
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(raw) - timezone.now()).total_seconds())
    except (TypeError, ValueError):
        return None


def classify_status(resp: requests.Response) -> Exception | None:
    """The error for a non-2xx answer, by status code."""
    if resp.status_code < 300:
        return None
    detail = f"HTTP {resp.status_code}: {resp.text[:300]}"
    if resp.status_code == 429:
        return RateLimited(detail, retry_after=retry_after(resp))
    if resp.status_code in (401, 403):
        return AuthError(detail)
    if resp.status_code >= 500 or resp.status_code == 408:
        return TransientError(detail)
    return PermanentError(detail)


class WebhookAdapter(Adapter):
    name = "webhook"

    @property
    def can_lookup(self) -> bool:  # type: ignore[override]
        return bool(self.config.get("lookup_url"))

    def _session(self) -> requests.Session:
        return outbound.requests_session(f"channel:{self.channel.pk}")

    def _request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        try:
            return self._session().request(method, url, timeout=settings.PUBLISH_HTTP_TIMEOUT, **kwargs)
        except requests.RequestException as exc:
            raise outbound.classify_requests_error(exc) from exc

    def body(self, msg: OutboundMessage) -> bytes:
        doc: dict[str, Any] = {
            "idempotency_key": msg.idempotency_key, "channel": self.channel.slug, "language": msg.language,
            "text": msg.body, "created_at": msg.created_at.isoformat(), "visibility": msg.visibility,
        }
        if msg.reply_to is not None:
            doc["reply_to"] = {k: v for k, v in msg.reply_to.__dict__.items() if v}
        if msg.media:  # only then: a document without media is as it always was
            doc["media"] = [media_document(m) for m in msg.media]
        return json.dumps(doc, ensure_ascii=False, sort_keys=True).encode()

    def check_media(self, msgs: list[OutboundMessage]) -> None:
        """The receiver fetches each medium from its signed link: without PUBLIC_URL there is no
        link to give (refused at preflight, nothing sent)."""
        for msg in msgs:
            for item in msg.media:
                if not item.url:
                    raise MediaRefused("publish.media.no_public_url", {"platform": "Webhook", "language": msg.language},
                                       "the webhook receives links to the media, and the site's public address "
                                       "(PUBLIC_URL) is not set")

    def send(self, msg: OutboundMessage) -> Result:
        url = self.config.get("url")
        if not url:
            raise ConfigError("This channel's webhook has no url.")
        body = self.body(msg)
        headers = {"Content-Type": "application/json", "Idempotency-Key": msg.idempotency_key}
        secret = self.secret()
        if secret:
            headers["X-Parley-Signature"] = sign(secret, body)
        resp = self._request("POST", url, data=body, headers=headers)
        error = classify_status(resp)
        if error is not None:
            raise error
        return _result(resp, msg.idempotency_key)

    def lookup(self, msg: OutboundMessage, since: datetime) -> Result | None:
        url = self.config.get("lookup_url")
        if not url:
            raise NotImplementedError("no lookup_url")
        try:
            resp = self._request("GET", url, params={"idempotency_key": msg.idempotency_key,
                                                     "since": since.isoformat()})
        except Exception as exc:  # noqa: BLE001 - any failure: the platform was not asked
            raise TransientError(f"lookup failed: {exc}") from exc
        if resp.status_code == 404:
            return None
        error = classify_status(resp)
        if error is not None:
            raise TransientError(f"lookup failed: {error}")
        return _result(resp, msg.idempotency_key)

    def _info(self) -> dict | None:
        url = self.config.get("info_url")
        if not url:
            return None
        resp = self._request("GET", url)
        error = classify_status(resp)
        if error is not None:
            raise error
        try:
            data = resp.json()
        except ValueError as exc:
            raise TransientError("info_url did not answer JSON") from exc
        return data if isinstance(data, dict) else {}

    def limits(self) -> Limits | None:
        info = self._info()
        raw = (info or {}).get("limits") or {}
        if not isinstance(raw, dict) or not isinstance(raw.get("max_length"), int):
            return None
        unit = str(raw["unit"]) if raw.get("unit") in ("chars", "graphemes") else "chars"
        return Limits(max_length=raw["max_length"], unit=unit)

    def preflight(self, msgs: list[OutboundMessage]) -> None:
        super().preflight(msgs)  # config, secret name, limits (and reachability via info_url)
        self.secret()  # the secret is set

    def verify(self) -> Account:
        self.secret()
        info = self._info()
        if info is None:
            raise ConfigError("This webhook channel has no info_url to test the connection with.")
        account = info.get("account") or {}
        if not isinstance(account, dict) or not account.get("handle"):
            raise PermanentError("info_url answered without an account handle")
        return Account(handle=str(account["handle"]), display_name=str(account.get("display_name") or ""),
                       url=str(account.get("url") or ""))

    def retract(self, external_id: str) -> None:
        base = self.config.get("retract_url")
        if not base:
            raise ConfigError("This webhook channel has no retract_url.")
        headers = {}
        secret = self.secret()
        if secret:
            headers["X-Parley-Signature"] = sign(secret, external_id.encode())
        resp = self._request("DELETE", f"{base.rstrip('/')}/{quote(external_id, safe='')}", headers=headers)
        if resp.status_code == 404:
            return  # already gone
        error = classify_status(resp)
        if error is not None:
            raise error


def _result(resp: requests.Response, key: str) -> Result:
    try:
        data = resp.json()
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    return Result(external_id=str(data.get("id") or key), url=str(data.get("url") or ""))
