"""Every length cap on text a person or an integration sends, in one place.

The API serializers, the web forms, the live-checks endpoint, the services and inbound ingest
all read these numbers; nothing else defines a text limit. A value over its cap is refused with
422 (problem type `text_too_long`, code `text.too_long`) before any guideline runs, so the cost
of checking a request is bounded by these numbers."""
from __future__ import annotations

#: One language's text of a post or reply (characters, after CRLF → LF and trimming).
TEXT_MAX = 20_000
#: A citizen message received by the inbox.
INBOUND_TEXT_MAX = 20_000
#: A content warning (Mastodon's `spoiler_text`), the citizen's or a reply's.
CONTENT_WARNING_MAX = 500
#: A reviewer's comment (approve, request changes, reject, complete a review).
COMMENT_MAX = 5_000
#: The reason given for break-glass urgent publishing.
REASON_MAX = 2_000
#: The optional comment when a citizen message is closed without a reply.
DISMISS_COMMENT_MAX = 2_000
#: A webhook subscription's shared HMAC secret: at least this long ...
WEBHOOK_SECRET_MIN = 16
#: ... and at most this long.
WEBHOOK_SECRET_MAX = 200
#: The web form's box of caretaker topics, one per line (the service allows 100 topics).
CARETAKER_TOPICS_TEXT_MAX = 5_000
#: Access-to-information exports: redaction patterns (RE2) per export, and each pattern's length.
ATIP_PATTERNS_MAX = 20
ATIP_PATTERN_MAX = 200

# --- media on posts (issue 22, docs/media.md "Media on posts") -------------------------------
#: A medium's alternative text in one language: a hard cap, so no text is uncapped (the
#: platforms' own limits, stricter, are judged by the pre-screen: guidelines.PLATFORM_MEDIA_LIMITS).
ALT_TEXT_MAX = 2_000
#: A video's captions (WebVTT) in one language, in characters (~100 kB).
CAPTIONS_MAX = 100_000
#: Media in one request, whatever the channels (the platforms' own counts are stricter:
#: guidelines.PLATFORM_MEDIA_LIMITS).
MEDIA_PER_POST_MAX = 10
