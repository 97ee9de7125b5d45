"""Access-to-information exports the user may ask for and download (issue 13)."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet

from accounts.models import Organisation, User

from ..exceptions import NotFound
from ..models import Channel
from .organisations import organisation_descendants

# --- access-to-information exports (issue 13) ---

def atip_channels_exportable(*, organisations: Iterable[Organisation]) -> QuerySet[Channel]:
    """The channels of `organisations` (what atip_organisations_exportable gave), in the order the
    export form lists them."""
    return (Channel.objects.filter(organisation__in=list(organisations)).select_related("organisation")
            .order_by("organisation__name", "slug"))


def atip_organisations_exportable(*, user: User) -> QuerySet[Any]:
    """Organisations `user` may export from: with the `workflows.export_records` permission
    (given to a team's group or to the person), their own organisation and every one under it;
    a superuser, any. Nobody else's."""
    from accounts.models import Organisation

    from ..permissions import may_export, sees_every_organisation

    if not may_export(user):
        return Organisation.objects.none()
    if sees_every_organisation(user):
        return Organisation.objects.order_by("name")
    if user.organisation_id is None:
        return Organisation.objects.none()
    return Organisation.objects.filter(id__in=organisation_descendants(user.organisation_id)).order_by("name")


def atip_exports_visible(*, user: User) -> QuerySet[Any]:
    """The exports the caller asked for, newest first. An export holds citizens' personal data:
    nobody else sees it or downloads it — not a colleague, not a superuser (docs/atip.md; issue
    20). The admin lists exports' metadata read-only, never their files."""
    from ..models import AtipExport

    qs = AtipExport.objects.select_related("organisation", "requested_by").prefetch_related("channels")
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    return qs.filter(requested_by_id=user.id).order_by("-created_at", "-id")


def atip_export_get_visible(*, export_id: int, user: User) -> Any:
    export = atip_exports_visible(user=user).filter(id=export_id).first()
    if export is None:
        raise NotFound(code="atip.not_found")
    return export
