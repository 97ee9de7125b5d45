"""Writes for accounts: tokens."""
from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from .acting import audit_context
from .models import ApiToken, User, hash_token


@transaction.atomic
def token_issue(*, user: User, name: str = "", by: User | None = None, via: str = "") -> tuple[ApiToken, str]:
    """Create a token for `user`; return it and the plain key, which is never stored.
    Writes a `token.issued` event to the security audit chain (actor `by`, else the request's user)."""
    key = ApiToken.generate_key()
    with audit_context(actor=by, via=via):
        token = ApiToken.objects.create(user=user, name=name, prefix=key[:12], key_hash=hash_token(key))
    return token, key


@transaction.atomic
def token_revoke(*, token_id: int, by: User | None = None, via: str = "") -> bool:
    """Revoke a token; requests with its key get 401 from then on. Revocation is one-way: a
    revoked token stays revoked. Returns whether it was active. Writes a `token.revoked` event."""
    token = ApiToken.objects.select_for_update().filter(id=token_id).first()
    if token is None or token.revoked_at is not None:
        return False
    token.revoked_at = timezone.now()
    with audit_context(actor=by, via=via):
        # An instance save, not QuerySet.update(): the audit hook must see the change.
        token.save(update_fields=["revoked_at"])
    return True


@transaction.atomic
def user_set_language(*, user: User, language: str) -> None:
    """Remember `user`'s preferred interface language ('en' or 'fr'); anything else is ignored."""
    if language in ("en", "fr") and user.preferred_language != language:
        User.objects.filter(id=user.id).update(preferred_language=language)
        user.preferred_language = language
