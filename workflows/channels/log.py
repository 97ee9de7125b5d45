"""The demo adapter: appends one JSON line per publication to PUBLISH_LOG_PATH."""
from __future__ import annotations

import fcntl
import json
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from .base import Account, Adapter, OutboundMessage, Result


class LogAdapter(Adapter):
    name = "log"
    can_lookup = True

    @property
    def path(self) -> Path:
        return Path(self.config.get("path") or settings.PUBLISH_LOG_PATH)

    def _url(self, key: str) -> str:
        return f"https://example.invalid/{self.channel.slug}/{key}"

    def send(self, msg: OutboundMessage) -> Result:
        existing = self.lookup(msg, msg.created_at)
        if existing is not None:  # the "platform" deduplicates on the key, like Mastodon
            return existing
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({
            "idempotency_key": msg.idempotency_key, "channel": self.channel.slug,
            "handle": self.channel.handle, "language": msg.language,
            "text": msg.body, "at": timezone.now().isoformat(),
        }, ensure_ascii=False)
        with open(self.path, "a", encoding="utf-8") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            fh.write(line + "\n")
        return Result(external_id=msg.idempotency_key, url=self._url(msg.idempotency_key))

    def lookup(self, msg: OutboundMessage, since: datetime) -> Result | None:
        idempotency_key = msg.idempotency_key
        if not self.path.exists():
            return None
        with open(self.path, encoding="utf-8") as fh:
            for raw in fh:
                try:
                    row = json.loads(raw)
                except ValueError:
                    continue
                if row.get("idempotency_key") == idempotency_key:
                    return Result(external_id=idempotency_key, url=self._url(idempotency_key))
        return None

    def verify(self) -> Account:
        return Account(handle=self.channel.handle, display_name=self.channel.name)

    def retract(self, external_id: str) -> None:
        """Append a retraction line (the log is append-only, like the platforms' history)."""
        line = json.dumps({"retracted": external_id, "channel": self.channel.slug,
                           "at": timezone.now().isoformat()})
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            fh.write(line + "\n")
