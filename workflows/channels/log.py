"""The demo adapter: appends one JSON line per publication to PUBLISH_LOG_PATH, or to the file its
`path` names inside PUBLICATION_LOG_DIR (channels/config.py publication_log_file)."""
from __future__ import annotations

import fcntl
import json
import os
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from .base import Account, Adapter, OutboundMessage, Result
from .config import publication_log_file


class LogAdapter(Adapter):
    name = "log"
    can_lookup = True

    @property
    def path(self) -> Path:
        """The channel's file inside PUBLICATION_LOG_DIR (checked again at every use: config.
        publication_log_file), or the operator's PUBLISH_LOG_PATH."""
        configured = self.config.get("path")
        if configured:
            return publication_log_file(configured)
        return Path(settings.PUBLISH_LOG_PATH)

    def _append(self, line: str) -> None:
        """Append one line; only the operator's own folder is ever created, and the file itself
        is never a symbolic link (O_NOFOLLOW)."""
        path = self.path
        if not self.config.get("path"):
            path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o640)
        with os.fdopen(fd, "a", encoding="utf-8") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            fh.write(line + "\n")

    def _url(self, key: str) -> str:
        return f"https://example.invalid/{self.channel.slug}/{key}"

    def send(self, msg: OutboundMessage) -> Result:
        existing = self.lookup(msg, msg.created_at)
        if existing is not None:  # the "platform" deduplicates on the key, like Mastodon
            return existing
        line = json.dumps({
            "idempotency_key": msg.idempotency_key, "channel": self.channel.slug,
            "handle": self.channel.handle, "language": msg.language,
            "text": msg.body, "at": timezone.now().isoformat(),
            **({"media": [{"key": m.key, "content_type": m.content_type, "alt": m.alt} for m in msg.media]}
               if msg.media else {}),
        }, ensure_ascii=False)
        self._append(line)
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
        self._append(line)
