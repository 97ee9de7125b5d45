"""`{{ item|message }}`: a stored {"code", "params"} (or an older {"message"}) in the reader's
language, through the catalogue in workflows.messages."""
from __future__ import annotations

from django import template

from ..messages import render_stored

register = template.Library()


@register.filter(name="message")
def message(item) -> str:
    return render_stored(item) if isinstance(item, dict) else str(item or "")


@register.filter(name="message_code")
def message_code(code) -> str:
    """A bare catalogue code (no params) in the reader's language: `{{ reason|message_code }}`."""
    return render_stored({"code": str(code)}) if code else ""
