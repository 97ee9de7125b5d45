"""Mastodon through Mastodon.py. Mastodon honours the Idempotency-Key header: a repeated
request with the same key within an hour returns the original status instead of a new one.

adapter_config: {"api_base_url": "https://social.example", "token_env": "ENV_VAR_WITH_TOKEN",
"visibility": "public"}."""
from __future__ import annotations

from django.conf import settings

from .base import Adapter, AmbiguousError, PermanentError, Result, TransientError

#: Mastodon keeps idempotency keys for one hour; a resend inside that window is deduplicated.
IDEMPOTENCY_WINDOW_SECONDS = 3600


class MastodonAdapter(Adapter):
    name = "mastodon"
    can_lookup = False
    dedupe_window = IDEMPOTENCY_WINDOW_SECONDS - 300

    def client(self):
        from mastodon import Mastodon

        base = self.config.get("api_base_url")
        if not base:
            raise PermanentError("This Mastodon channel has no api_base_url.")
        return Mastodon(
            access_token=self.secret("token_env") or None, api_base_url=base,
            request_timeout=settings.PUBLISH_HTTP_TIMEOUT, ratelimit_method="throw",
            version_check_mode="none", user_agent="Parley",
        )

    def send(self, publication) -> Result:
        import mastodon as m

        try:
            status = self.client().status_post(
                publication.body, language=publication.language,
                visibility=self.config.get("visibility") or None,
                idempotency_key=publication.idempotency_key,
            )
        except m.MastodonRatelimitError as exc:
            raise TransientError(f"rate limited: {exc}") from exc
        except m.MastodonServerError as exc:
            raise TransientError(f"server error: {exc}") from exc
        except m.MastodonNetworkError as exc:
            text = str(exc)
            if "NewConnectionError" in text or "Connection refused" in text or "ConnectTimeout" in text:
                raise TransientError(f"could not connect: {text[:200]}") from exc
            raise AmbiguousError(f"network error after sending: {text[:200]}") from exc
        except m.MastodonAPIError as exc:
            raise PermanentError(f"refused: {exc}") from exc
        return Result(external_id=str(status["id"]), url=str(status.get("url") or status.get("uri") or ""))
