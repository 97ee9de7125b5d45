"""What the web tests share: a client signed in as a person reading in a language, and a page's
text as a person reads it (entities decoded)."""
from __future__ import annotations

from html import unescape

from django.test import Client


def signed_in(user, lang: str = "en") -> Client:
    client = Client()
    client.force_login(user)
    client.cookies["django_language"] = lang
    return client


def page_text(response) -> str:
    return unescape(response.content.decode())
