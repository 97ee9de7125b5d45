"""`/api/v1/caretaker-periods/`: declare, list and end caretaker (election) periods."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework import status as http
from rest_framework.decorators import action
from rest_framework.response import Response

from .. import selectors
from ..services import caretaker as caretaker_services
from .idempotency import idempotent
from .language import ReaderLanguageMixin
from .serializers import DateTime, StrictSerializer, parse


class CaretakerPeriodSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    organisation = serializers.CharField(source="organisation.slug")
    name = serializers.CharField(help_text="In the caller's language.")
    name_en = serializers.CharField()
    name_fr = serializers.CharField()
    starts_at = DateTime()
    ends_at = DateTime()
    official_lane_only = serializers.BooleanField()
    reply_topics = serializers.ListField(child=serializers.CharField())
    review_lane = serializers.CharField(source="review_lane.slug", allow_null=True, default=None)
    paused_channels = serializers.SerializerMethodField()
    banner = serializers.CharField(help_text="In the caller's language.")
    banner_en = serializers.CharField()
    banner_fr = serializers.CharField()
    active = serializers.SerializerMethodField()
    cancelled_at = DateTime(allow_null=True)

    def get_paused_channels(self, obj) -> list[str]:
        return sorted(c.slug for c in obj.paused_channels.all())

    def get_active(self, obj) -> bool:
        return obj.is_active()


class CaretakerPeriodCreatedSerializer(CaretakerPeriodSerializer):
    posts_caught = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="Approved or scheduled posts that would publish inside the period: review them "
        "(they are held for review when they come to publish).",
    )


class CaretakerPeriodCreateSerializer(StrictSerializer):
    name_en = serializers.CharField(max_length=200)
    name_fr = serializers.CharField(max_length=200)
    starts_at = DateTime()
    ends_at = DateTime()
    official_lane_only = serializers.BooleanField(required=False, default=True)
    reply_topics = serializers.ListField(child=serializers.CharField(max_length=100), max_length=100,
                                         required=False, default=list)
    review_lane = serializers.SlugField(required=False, allow_null=True, default=None)
    paused_channels = serializers.ListField(child=serializers.SlugField(), max_length=200,
                                            required=False, default=list)
    banner_en = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)
    banner_fr = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)


class CaretakerPeriodViewSet(ReaderLanguageMixin, viewsets.GenericViewSet):
    serializer_class = CaretakerPeriodSerializer
    filter_backends: list = []
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        return selectors.caretaker_periods_visible(user=self.request.user)

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(CaretakerPeriodSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        period = selectors.caretaker_period_get_visible(period_id=int(pk), user=request.user)
        return Response(CaretakerPeriodSerializer(period).data)

    @extend_schema(request=CaretakerPeriodCreateSerializer, responses={201: CaretakerPeriodCreatedSerializer},
                   summary="Declare a caretaker period (needs the add_caretakerperiod permission).")
    @idempotent
    def create(self, request):
        data = parse(CaretakerPeriodCreateSerializer, request.data)
        period, caught = caretaker_services.caretaker_period_create(by=request.user, **data)
        period = selectors.caretaker_period_get_visible(period_id=period.id, user=request.user)
        body = {**CaretakerPeriodSerializer(period).data, "posts_caught": caught}
        return Response(body, status=http.HTTP_201_CREATED, headers={"Location": f"/api/v1/caretaker-periods/{period.id}/"})

    @extend_schema(request=None, responses=CaretakerPeriodSerializer, summary="End a caretaker period now.")
    @action(detail=True, methods=["post"])
    @idempotent
    def cancel(self, request, pk=None):
        caretaker_services.caretaker_period_cancel(period_id=int(pk), by=request.user)
        period = selectors.caretaker_period_get_visible(period_id=int(pk), user=request.user)
        return Response(CaretakerPeriodSerializer(period).data)
