"""`{% outside_section %}`: the post page's "People from outside" section (web/outside.py)."""
from __future__ import annotations

from django import template

register = template.Library()


@register.inclusion_tag("web/partials/outside_section.html", takes_context=True)
def outside_section(context):
    from ..web.outside import post_section

    request, post = context["request"], context["post"]
    return {"request": request, "post": post, "csrf_token": context.get("csrf_token"),
            **post_section(request=request, post=post)}
