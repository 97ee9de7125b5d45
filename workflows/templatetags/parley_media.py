"""Template filters for media (issue 22): a post's media as the reader sees them."""
from __future__ import annotations

from django import template
from django.utils.translation import get_language

from ..web.media import Shown, shown_media

register = template.Library()


@register.filter
def post_media(post) -> list[Shown]:
    """The post's media in the reader's language (workflows.web.media.shown_media); the list
    view prefetches `media` with their files' rows so a page's queries do not grow with it."""
    return shown_media(post, get_language() or "en")


@register.filter
def missing_alt_language(shown: list[Shown]) -> str:
    """The language some medium has no description in ("" when every one has one)."""
    return next((m.alt_lang for m in shown if m.alt_missing), "")
