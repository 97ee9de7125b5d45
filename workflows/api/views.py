"""REST API v1 views: thin edges over workflows.services and workflows.selectors."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from ..models import Channel
from ..permissions import perms_by_channel


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    organisation = serializers.CharField(allow_null=True)
    language = serializers.CharField()
    permissions = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class MeView(APIView):
    """The caller: username, organisation, language, permissions per channel."""

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        user = request.user
        channels = list(Channel.objects.filter(organisation_id=user.organisation_id))
        perms = perms_by_channel(user=user, channel_ids=[c.id for c in channels])
        return Response({
            "username": user.username,
            "organisation": user.organisation.slug if user.organisation_id else None,
            "language": user.preferred_language,
            "permissions": {c.slug: sorted(perms[c.id]) for c in channels},
        })
