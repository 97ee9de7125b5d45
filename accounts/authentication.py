"""`Authorization: Token <key>` for integrations; the key is looked up by its SHA-256."""
from __future__ import annotations

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from .models import ApiToken, hash_token

#: How stale a token's `last_used_at` may be: the admin shows "last used" to the nearest few minutes.
LAST_USED_EVERY = timedelta(minutes=5)


class TokenAuthentication(authentication.BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid token header."))
        try:
            key = header[1].decode("ascii")
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed(_("Invalid token header.")) from exc
        token = (
            ApiToken.objects.select_related("user", "user__organisation")
            .filter(key_hash=hash_token(key))
            .first()
        )
        if token is None or token.revoked_at is not None:
            raise exceptions.AuthenticationFailed(_("Invalid or revoked token."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive."))
        now = timezone.now()
        stale = now - LAST_USED_EVERY
        # Record use at most once every LAST_USED_EVERY, so a busy integration does not write on
        # every call: one conditional UPDATE (of concurrent requests, one writes).
        if token.last_used_at is None or token.last_used_at < stale:
            ApiToken.objects.filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=stale), id=token.id).update(
                last_used_at=now)
        return token.user, token

    def authenticate_header(self, request) -> str:
        return self.keyword
