"""The approve floor, twice: the hand-written transaction bench/run.py times beside the approve
service, and a bare DRF endpoint that runs it, timed beside the HTTP approve request (issue 23,
"speed kept": what a client pays, against the least a DRF endpoint doing the same writes can).

This module is also the bench process's URLconf (`ROOT_URLCONF = "bench.floor"`, set by
bench/run.py with `override_settings` for that phase only): the project's URLs plus one path.
The path sits under /api/ so the middleware that keys on it (config/edges.py) treats it as it
treats the approve request. Bench-only: nothing in the project imports it.
"""
from __future__ import annotations

import os
from itertools import count

from django.db import connection, transaction
from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

import config.urls
from workflows.api.views import PostViewSet

#: Each floor writes one audit event on a chain of its own (chain, seq are unique).
_chains = count()


def floor_transaction(*, post_id: int, reviewer_id: int, organisation_id: int | None) -> int:
    """The least an approval can write: the post's row lock, a decision, an audit event, the
    post's version bump (BEGIN/COMMIT included, 6 statements). Returns the new version.

    The step comes from the locked row, so the floor needs nothing read before it."""
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SELECT version, current_step_id FROM workflows_post WHERE id = %s FOR UPDATE", [post_id])
        version, step_id = cur.fetchone()
        cur.execute(
            "INSERT INTO workflows_decision (post_id, step_id, revision, text_versions, reviewer_id, verdict,"
            " comment, created_at, invalidated_at) VALUES (%s, %s, 1, '{}', %s, 'request_changes', '', now(),"
            " now())", [post_id, step_id, reviewer_id])
        cur.execute(
            "INSERT INTO workflows_auditevent (chain, seq, organisation_id, post_id, actor_id, verb, from_state,"
            " to_state, data, created_at, prev_hash, hash, key_id) VALUES (%s, 1, %s, %s, %s, 'bench', '', '',"
            " '{}', now(), '', 'x', 'bench')",
            [f"bench:{os.getpid()}:{next(_chains)}", organisation_id, post_id, reviewer_id])
        cur.execute("UPDATE workflows_post SET version = version + 1, updated_at = now() WHERE id = %s", [post_id])
    return version + 1


class BareFloorView(APIView):
    """POST /api/v1/bench-floor/<id>/: the floor transaction behind DRF and nothing else.

    The approve endpoint's own authentication, permission and throttle classes (the API's
    defaults: token or session, authenticated, per-user throttle), so both requests pay the
    same authentication; no serializer, no service, no permission on the post."""

    authentication_classes = PostViewSet.authentication_classes
    permission_classes = PostViewSet.permission_classes
    throttle_classes = PostViewSet.throttle_classes

    def post(self, request, post_id: int):
        version = floor_transaction(post_id=post_id, reviewer_id=request.user.id,
                                    organisation_id=request.user.organisation_id)
        return Response({"id": post_id, "version": version})


urlpatterns = [
    path("api/v1/bench-floor/<int:post_id>/", BareFloorView.as_view(), name="bench-floor"),
    *config.urls.urlpatterns,
]
handler400 = config.urls.handler400
handler403 = config.urls.handler403
handler404 = config.urls.handler404
handler500 = config.urls.handler500
