"""Bluesky through the atproto SDK. Bluesky has no idempotency key and no way to find a post by
one, so an ambiguous outcome is left for a person (status `unknown`), never resent.

adapter_config: {"base_url": "https://bsky.social/xrpc" (optional), "handle": "dpe.bsky.social",
"password_env": "ENV_VAR_WITH_APP_PASSWORD"}."""
from __future__ import annotations

from .base import Adapter, AmbiguousError, PermanentError, Result, TransientError


def post_url(handle: str, uri: str) -> str:
    """at://did/app.bsky.feed.post/<rkey> → https://bsky.app/profile/<handle>/post/<rkey>."""
    rkey = uri.rsplit("/", 1)[-1]
    return f"https://bsky.app/profile/{handle}/post/{rkey}"


class BlueskyAdapter(Adapter):
    name = "bluesky"
    can_lookup = False

    def client(self):
        from atproto import Client

        handle = self.config.get("handle") or self.channel.handle.lstrip("@")
        client = Client(base_url=self.config.get("base_url") or None)
        try:
            client.login(handle, self.secret("password_env"), fetch_bsky_profile=False)
        except Exception as exc:  # noqa: BLE001 - login sends nothing: always safe to retry
            if _is_client_error(exc):
                raise PermanentError(f"login refused: {exc.__class__.__name__}") from exc
            raise TransientError(f"login failed: {exc.__class__.__name__}") from exc
        return client, handle

    def send(self, publication) -> Result:
        client, handle = self.client()
        try:
            resp = client.send_post(text=publication.body, profile_identify=handle, langs=[publication.language])
        except Exception as exc:  # noqa: BLE001 - the SDK wraps httpx errors in its own types
            if _is_client_error(exc):
                raise PermanentError(f"refused: {exc.__class__.__name__}: {exc}") from exc
            if _is_server_error(exc):
                raise TransientError(f"server error: {exc.__class__.__name__}") from exc
            raise AmbiguousError(f"outcome unknown: {exc.__class__.__name__}") from exc
        return Result(external_id=resp.uri, url=post_url(handle, resp.uri))


def _status(exc) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


def _is_client_error(exc) -> bool:
    status = _status(exc)
    return status is not None and 400 <= status < 500 and status not in (408, 429)


def _is_server_error(exc) -> bool:
    status = _status(exc)
    return status is not None and (status >= 500 or status in (408, 429))
