"""Writes for accounts: tokens."""
from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from .models import ApiToken, User, hash_token


@transaction.atomic
def token_issue(*, user: User, name: str = "") -> tuple[ApiToken, str]:
    """Create a token for `user`; return it and the plain key, which is never stored."""
    key = ApiToken.generate_key()
    token = ApiToken.objects.create(user=user, name=name, prefix=key[:12], key_hash=hash_token(key))
    return token, key


@transaction.atomic
def token_revoke(*, token_id: int) -> None:
    """Revoke a token; requests with its key get 401 from then on."""
    ApiToken.objects.filter(id=token_id, revoked_at__isnull=True).update(revoked_at=timezone.now())


@transaction.atomic
def user_set_language(*, user: User, language: str) -> None:
    """Remember `user`'s preferred interface language ('en' or 'fr'); anything else is ignored."""
    if language in ("en", "fr") and user.preferred_language != language:
        User.objects.filter(id=user.id).update(preferred_language=language)
        user.preferred_language = language
