"""How a person is named on a page: an outside approver's stand-in account by the address the
link went to, "(outside)" after it; everyone else by their username. The tracker, the decisions
and the audit trail on the post page use it (issue 20: they showed "outside-3ada0396…")."""
from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from ..services.outside_review import OUTSIDE_PREFIX


def person(user: Any) -> str:
    if user is None:
        return ""
    username = user.get_username()
    if username.startswith(OUTSIDE_PREFIX) and not user.is_active and user.email:
        return _("%(email)s (outside)") % {"email": user.email}
    return username
