"""Every length cap on text a person or an integration sends, in one place.

The API serializers, the web forms, the live-checks endpoint, the services and inbound ingest
all read these numbers; nothing else defines a text limit. A value over its cap is refused with
422 (problem type `text_too_long`, code `text.too_long`) before any guideline runs, so the cost
of checking a request is bounded by these numbers."""
from __future__ import annotations

from dataclasses import dataclass

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
#: platforms' own limits, stricter, are judged by the pre-screen: MEDIA_PLATFORM_LIMITS).
ALT_TEXT_MAX = 2_000
#: A video's captions (WebVTT) in one language, in characters (~100 kB).
CAPTIONS_MAX = 100_000
#: Media in one request, whatever the channels (the channels' own counts are stricter).
MEDIA_PER_POST_MAX = 10


@dataclass(frozen=True)
class MediaLimits:
    """What one platform accepts on one post: `images` images, or `videos` videos, and whether
    images and a video may go together (`mixed`); `alt_text`, its alternative text's length."""

    images: int
    videos: int
    mixed: bool
    alt_text: int


#: Per platform (a channel's adapter, else its `platform` name). Mastodon: at most 4 attachments
#: and a video goes alone (its PostStatusService refuses "images_and_video"), descriptions up to
#: 1500 characters. Bluesky: app.bsky.embed.images holds at most 4 images, app.bsky.embed.video
#: one video, and a post has one embed (never both); the app caps alt text at 2000 characters
#: (a video's alt at 1000 graphemes in its lexicon).
MEDIA_PLATFORM_LIMITS: dict[str, MediaLimits] = {
    "mastodon": MediaLimits(images=4, videos=1, mixed=False, alt_text=1_500),
    "bluesky": MediaLimits(images=4, videos=1, mixed=False, alt_text=2_000),
}
#: A channel on no known platform (the webhook, the demo's log): the strictest of the above.
MEDIA_DEFAULT_LIMITS = MediaLimits(images=4, videos=1, mixed=False, alt_text=1_500)


def media_limits(*, adapter: str, platform: str = "") -> MediaLimits:
    """The media limits of a channel, by its adapter, else by its platform's name."""
    return (MEDIA_PLATFORM_LIMITS.get(adapter) or MEDIA_PLATFORM_LIMITS.get((platform or "").strip().lower())
            or MEDIA_DEFAULT_LIMITS)
