"""People speak as themselves: personal channels and signed replies.

- A channel with an `owner` is that person's own account: only they post on it (whatever other
  permissions say), under the organisation's guidelines.
- An organisation channel with `sign_replies` ends each reply with its author's signature in
  the reply's language ("– Dana, Passport Program"). The signature's length is reserved in the
  channel's limit when the guidelines check the text, so a signed reply never exceeds it.
"""
from __future__ import annotations

from django.db import transaction

from accounts.models import User

from ..constants import PostKind
from ..exceptions import InvalidInput, NotPermitted
from ..messages import Message
from ..models import Channel, Post

SEPARATOR = "\n\n"


def ensure_may_use_channels(*, author: User, channels: list[Channel]) -> None:
    """A personal channel is its owner's alone. Raises NotPermitted."""
    for channel in channels:
        if channel.owner_id is not None and channel.owner_id != author.id:
            raise NotPermitted(code="channel.personal", params={"channel": channel.name or channel.slug})


def signs(post: Post, channel: Channel) -> bool:
    return post.kind == PostKind.REPLY and channel.sign_replies and channel.owner_id is None


def signature_reserve(post: Post, channel: Channel) -> int:
    """Characters the signature will add on `channel` (the longer of the two languages)."""
    if not signs(post, channel):
        return 0
    author = post.author
    longest = max(len(author.signature("en")), len(author.signature("fr")))
    return len(SEPARATOR) + longest if longest else 0


def signed_body(post: Post, channel: Channel, *, language: str, text: str) -> str:
    """The text as published on `channel`: with the author's signature where the channel signs."""
    if not signs(post, channel):
        return text
    signature = post.author.signature(language)
    return f"{text}{SEPARATOR}{signature}" if signature else text


def speaks_as_person(post: Post, channels: list[Channel]) -> bool:
    """A reply that goes out under a person's name: on their own account, or signed."""
    return post.kind == PostKind.REPLY and any(
        c.owner_id is not None
        or (signs(post, c) and bool(post.author.signature("en") or post.author.signature("fr")))
        for c in channels
    )


SIGNATURE_MAX = 100


@transaction.atomic
def user_set_signature(*, user: User, signature_en: str, signature_fr: str) -> None:
    """Set how `user` signs replies on organisation channels that sign, per language. Raises
    InvalidInput for text that is too long or spans lines."""
    errors: dict[str, list[Message]] = {}
    cleaned = {}
    for field, value in (("signature_en", signature_en), ("signature_fr", signature_fr)):
        value = (value or "").strip() if isinstance(value, str) else None
        if value is None:
            errors[field] = [Message("text.not_string")]
        elif len(value) > SIGNATURE_MAX:
            errors[field] = [Message("text.too_long", {"length": len(value), "limit": SIGNATURE_MAX})]
        elif "\n" in value or "\r" in value:
            errors[field] = [Message("signature.one_line")]
        else:
            cleaned[field] = value
    if errors:
        raise InvalidInput(code="signature.invalid", errors=errors)
    User.objects.filter(id=user.id).update(**cleaned)
    for field, value in cleaned.items():
        setattr(user, field, value)
