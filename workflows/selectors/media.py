"""Uploaded images and videos the user may see (issue 22, docs/media.md)."""
from __future__ import annotations

from accounts.models import User

from ..exceptions import NotFound
from ..models import Medium
from ..permissions import may_see_media
from .channels import _org_filter


def medium_get_visible(*, medium_id: int, user: User) -> Medium:
    """One uploaded image or video: for its uploader, and for the staff of its organisation
    (permissions.may_see_media); NotFound (404) for everyone else, as if it did not exist."""
    medium = Medium.objects.filter(_org_filter(user), id=medium_id).first()
    if medium is None or not (
        (medium.uploaded_by_id == user.id and user.is_active)
        or may_see_media(user=user, organisation_id=medium.organisation_id)
    ):
        raise NotFound(code="not_found.medium")
    return medium
