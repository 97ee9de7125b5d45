"""Outside approvers and translation bureaus: `/api/v1/posts/{id}/invitations/` (invite, list)
and `/api/v1/invitations/{id}/` (read, revoke). The link itself goes only to the invited
address, by e-mail: no response carries it."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, viewsets
from rest_framework import status as http
from rest_framework.decorators import action
from rest_framework.response import Response

from .. import actions
from ..services import outside_review
from .idempotency import idempotent
from .language import ReaderLanguageMixin
from .serializers import DateTime, StrictSerializer, parse


class InvitationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    post = serializers.IntegerField(source="post_id")
    step = serializers.SerializerMethodField()
    email = serializers.CharField()
    languages = serializers.ListField(child=serializers.CharField())
    can_edit = serializers.BooleanField(help_text="A translation bureau: may write the texts of its languages.")
    status = serializers.SerializerMethodField(help_text="open, used, revoked or expired. An open link is "
                                               "also dead once the post leaves the step or a text changes.")
    verdict = serializers.CharField(help_text="What the outsider decided (approve, request_changes), once used.")
    created_by = serializers.CharField(source="created_by.username")
    created_at = DateTime()
    expires_at = DateTime()
    used_at = DateTime(allow_null=True)
    revoked_at = DateTime(allow_null=True)

    def get_step(self, obj) -> dict:
        return {"id": obj.step_id, "name": obj.step.name, "kind": obj.step.kind}

    def get_status(self, obj) -> str:
        return obj.status()


class InvitationCreateSerializer(StrictSerializer):
    email = serializers.CharField(max_length=254)
    languages = serializers.ListField(child=serializers.CharField(max_length=2), max_length=2)
    can_edit = serializers.BooleanField(required=False, default=False)
    hours = serializers.IntegerField(required=False, default=None, allow_null=True,
                                     help_text="How long the link lasts (default OUTSIDE_LINK_HOURS, 72).")


class PostInvitationsView(ReaderLanguageMixin, generics.GenericAPIView):
    serializer_class = InvitationSerializer
    filter_backends: list = []

    @extend_schema(responses=InvitationSerializer(many=True), summary="The outside invitations of a post, newest first.")
    def get(self, request, pk: int):
        qs = outside_review.invitations_for_post(post_id=pk, user=request.user)
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(InvitationSerializer(page, many=True).data)

    @extend_schema(request=InvitationCreateSerializer, responses={201: InvitationSerializer},
                   summary="Invite someone without an account to act on the post's current step "
                           "(needs the add_outsideinvitation permission). The link goes by e-mail.")
    @idempotent
    def post(self, request, pk: int):
        data = parse(InvitationCreateSerializer, request.data)
        inv, _token = actions.INVITE.execute(post_id=pk, by=request.user,
                                             link_base=request.build_absolute_uri("/"), **data)
        inv = outside_review.invitation_get_visible(invitation_id=inv.id, user=request.user)
        return Response(InvitationSerializer(inv).data, status=http.HTTP_201_CREATED,
                        headers={"Location": f"/api/v1/invitations/{inv.id}/"})


class InvitationViewSet(ReaderLanguageMixin, viewsets.GenericViewSet):
    serializer_class = InvitationSerializer
    filter_backends: list = []
    lookup_value_regex = r"[0-9]+"

    def retrieve(self, request, pk=None):
        inv = outside_review.invitation_get_visible(invitation_id=int(pk), user=request.user)
        return Response(InvitationSerializer(inv).data)

    @extend_schema(request=None, responses=InvitationSerializer, summary="Revoke a link now.")
    @action(detail=True, methods=["post"])
    @idempotent
    def revoke(self, request, pk=None):
        actions.REVOKE_INVITATION.execute(invitation_id=int(pk), by=request.user)
        inv = outside_review.invitation_get_visible(invitation_id=int(pk), user=request.user)
        return Response(InvitationSerializer(inv).data)
