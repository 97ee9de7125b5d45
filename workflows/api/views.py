"""REST API v1 views: thin edges over workflows.services and workflows.selectors.

Each handler parses input (serializers validate shapes only), calls one service or selector,
and shapes the output. Domain exceptions become problem details in errors.py."""
from __future__ import annotations

import re

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import status as http
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import actions, selectors
from ..exceptions import InvalidInput, NotFound
from ..messages import Message, render
from ..models import InboundMessage, Post, PostReview, Publication
from ..permissions import perms_by_channel
from ..services import relay
from ..services import webhook_subscriptions as webhook_services
from ..services.channels import channels_usability
from ..services.signatures import user_set_signature
from . import serializers as s
from .filters import InboundFilter, PostFilter
from .idempotency import idempotent
from .language import ReaderLanguageMixin

IF_MATCH = OpenApiParameter(
    "If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="The post's ETag (e.g. `W/\"3\"`). Stale → 409 `stale_version`; `*` or absent: no check.",
)
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="Any unique string (e.g. a UUID): a retry with the same key returns the first "
    "response (kept 24 h) instead of acting twice. Same key, different request → 422.",
)
_ETAG_RE = re.compile(r'^\s*(?:W/)?"?(\d{1,18})"?\s*$')


def _pk(value) -> int:
    """URL ids are digits (the URL conf says so); one that cannot be an id is simply not found."""
    pk = int(value)
    if pk > s.MAX_ID:
        raise NotFound(code="not_found.resource")
    return pk


def if_match_version(request) -> int | None:
    """The version named by If-Match (our ETag W/"<version>"), None when absent or `*`."""
    raw = request.headers.get("If-Match")
    if raw is None or raw.strip() == "*":
        return None
    match = _ETAG_RE.match(raw)
    if match is None:
        raise InvalidInput(code="if_match.invalid", errors={"If-Match": [Message("if_match.invalid")]})
    return int(match.group(1))


def etag(post) -> str:
    return f'W/"{post.version}"'


def post_response(request, post: int | Post, *, status: int = http.HTTP_200_OK) -> Response:
    """The post's detail: read now (an id), or completed from the post a service just returned
    (selectors.post_detail_of: the rows the transition read are not read again)."""
    if isinstance(post, Post):
        post = selectors.post_detail_of(post)
    else:
        post = selectors.post_get_visible(post_id=post, user=request.user)
    headers = {"ETag": etag(post)}
    if status == http.HTTP_201_CREATED:
        headers["Location"] = f"/api/v1/posts/{post.id}/"
    return Response(s.PostDetailSerializer(post, context={"user": request.user}).data, status=status, headers=headers)


# --- me, channels, lanes

class MeView(ReaderLanguageMixin, APIView):
    """The caller: username, organisation, language, permissions per channel."""

    @extend_schema(responses=s.MeSerializer, operation_id="me_retrieve")
    def get(self, request):
        user = request.user
        channels = list(selectors.channels_visible(user=user))
        perms = perms_by_channel(user=user, channel_ids=[c.id for c in channels])
        return Response({
            "username": user.username,
            "organisation": user.organisation.slug if user.organisation_id else None,
            "language": user.preferred_language,
            "permissions": {c.slug: sorted(perms[c.id]) for c in channels},
            "signature_en": user.signature_en,
            "signature_fr": user.signature_fr,
        })

    @extend_schema(request=s.SignatureSerializer, responses=s.MeSerializer, operation_id="me_partial_update",
                   summary="Set how you sign replies on organisation channels that sign.")
    def patch(self, request):
        data = s.parse(s.SignatureSerializer, request.data)
        user_set_signature(user=request.user, signature_en=data.get("signature_en", request.user.signature_en),
                           signature_fr=data.get("signature_fr", request.user.signature_fr))
        return self.get(request)


class ChannelViewSet(ReaderLanguageMixin, viewsets.GenericViewSet):
    """Channels of the caller's organisation."""

    serializer_class = s.ChannelSerializer
    filter_backends = [OrderingFilter]
    ordering_fields = ["slug", "id"]

    def get_queryset(self):
        return selectors.channels_visible(user=self.request.user)

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        usability = channels_usability(page)
        return self.get_paginated_response(s.ChannelSerializer(page, many=True, context={"usability": usability}).data)

    lookup_value_regex = r"[0-9]+"

    @extend_schema(
        request=s.EmptySerializer, responses=s.ChannelTestSerializer,
        summary="Test connection: ask the platform who this channel posts as, and its limits.",
        description="Needs the manage permission on the channel. Sends nothing that could be published. "
        "Answers 200 with `ok: true` and the account, or `ok: false` with the classified error "
        "(`credentials`, `config`, `unreachable`, `rate_limited`, `platform_error`, `refused`).",
    )
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        s.parse(s.EmptySerializer, request.data)
        from ..services.channels import channel_test_connection

        result = channel_test_connection(channel_id=_pk(pk), by=request.user)
        for note in result.get("notes", []):
            note["message"] = render(note["code"], note["params"])
        return Response(result)


class LaneViewSet(ReaderLanguageMixin, viewsets.GenericViewSet):
    """Lanes of the caller's organisation with their steps and guidelines."""

    serializer_class = s.LaneSerializer
    filter_backends = [OrderingFilter]
    ordering_fields = ["slug", "id"]

    def get_queryset(self):
        return selectors.lanes_visible(user=self.request.user)

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(s.LaneSerializer(page, many=True).data)


# --- posts

def _action_schema(request_serializer, summary: str):
    return extend_schema(
        request=request_serializer, responses=s.PostDetailSerializer, summary=summary,
        parameters=[IF_MATCH, IDEMPOTENCY_KEY],
    )


@extend_schema_view(
    list=extend_schema(summary="Posts the caller may see; filter and order them."),
    retrieve=extend_schema(summary="One post, with an ETag.", responses=s.PostDetailSerializer),
)
class PostViewSet(ReaderLanguageMixin, viewsets.GenericViewSet):
    serializer_class = s.PostSerializer
    filterset_class = PostFilter
    ordering_fields = ["created_at", "updated_at", "id", "state", "scheduled_at"]
    ordering = ["-created_at", "-id"]
    lookup_value_regex = r"[0-9]+"
    http_method_names = ["get", "post", "patch", "put", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Post.objects.none()
        return selectors.posts_visible(user=self.request.user)

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(s.PostSerializer(page, many=True).data)

    @extend_schema(
        request=s.PostCreateSerializer, responses={201: s.PostDetailSerializer},
        parameters=[IDEMPOTENCY_KEY], summary="Create a draft.",
    )
    @idempotent
    def create(self, request):
        data = s.parse(s.PostCreateSerializer, request.data)
        post = actions.CREATE.execute(author=request.user, **data)
        return post_response(request, post.id, status=http.HTTP_201_CREATED)

    def retrieve(self, request, pk=None):
        return post_response(request, _pk(pk))

    @extend_schema(
        request=s.PostEditSerializer, responses=s.PostDetailSerializer, parameters=[IF_MATCH],
        summary="Edit texts, schedule or acknowledgement while draft or changes requested.",
    )
    def partial_update(self, request, pk=None):
        data = s.parse(s.PostEditSerializer, request.data)
        actions.EDIT.execute(post_id=_pk(pk), by=request.user, version=if_match_version(request), **data)
        return post_response(request, _pk(pk))

    @extend_schema(
        request=s.TranslationSerializer, responses=s.PostDetailSerializer,
        parameters=[IF_MATCH, OpenApiParameter("lang", OpenApiTypes.STR, OpenApiParameter.PATH, enum=["en", "fr"])],
        summary="Provide a language's text at the translation step.",
    )
    @action(detail=True, methods=["put"], url_path=r"translations/(?P<lang>[a-z]{2})")
    def translations(self, request, pk=None, lang=None):
        data = s.parse(s.TranslationSerializer, request.data)
        actions.TRANSLATE.execute(
            post_id=_pk(pk), by=request.user, language=lang, text=data["text"],
            version=if_match_version(request), media=data.get("media"),
        )
        return post_response(request, _pk(pk))

    @_action_schema(s.SubmitSerializer, "Send the post into its lane (conversation: approved and publishing at once).")
    @action(detail=True, methods=["post"])
    @idempotent
    def submit(self, request, pk=None):
        data = s.parse(s.SubmitSerializer, request.data)
        actions.SUBMIT.execute(post_id=_pk(pk), by=request.user, version=if_match_version(request), **data)
        return post_response(request, _pk(pk))

    @_action_schema(s.ApproveSerializer, "Approve the current step (a member of its team); name it in `step` "
                                         "to be sure the approval lands on the step you saw.")
    @action(detail=True, methods=["post"])
    @idempotent
    def approve(self, request, pk=None):
        data = s.parse(s.ApproveSerializer, request.data)
        post = actions.APPROVE.execute(post_id=_pk(pk), by=request.user, version=if_match_version(request),
                                       comment=data["comment"], at_step=data.get("step"))
        return post_response(request, post)

    @_action_schema(s.RequiredCommentSerializer, "Send the post back to its author.")
    @action(detail=True, methods=["post"], url_path="request-changes")
    @idempotent
    def request_changes(self, request, pk=None):
        data = s.parse(s.RequiredCommentSerializer, request.data)
        actions.REQUEST_CHANGES.execute(
            post_id=_pk(pk), by=request.user, version=if_match_version(request), **data
        )
        return post_response(request, _pk(pk))

    @_action_schema(s.RequiredCommentSerializer, "Refuse the post for good.")
    @action(detail=True, methods=["post"])
    @idempotent
    def reject(self, request, pk=None):
        data = s.parse(s.RequiredCommentSerializer, request.data)
        actions.REJECT.execute(post_id=_pk(pk), by=request.user, version=if_match_version(request), **data)
        return post_response(request, _pk(pk))

    @_action_schema(s.CommentSerializer, "The author (or a channel manager) withdraws the post.")
    @action(detail=True, methods=["post"])
    @idempotent
    def withdraw(self, request, pk=None):
        data = s.parse(s.CommentSerializer, request.data)
        actions.WITHDRAW.execute(post_id=_pk(pk), by=request.user, version=if_match_version(request), **data)
        return post_response(request, _pk(pk))

    @_action_schema(s.UrgentSerializer, "Break glass: publish now, skipping remaining steps.")
    @action(detail=True, methods=["post"], url_path="publish-urgent")
    @idempotent
    def publish_urgent(self, request, pk=None):
        data = s.parse(s.UrgentSerializer, request.data)
        actions.PUBLISH_URGENT.execute(
            post_id=_pk(pk), by=request.user, version=if_match_version(request), **data
        )
        return post_response(request, _pk(pk))

    @_action_schema(s.EmptySerializer, "Retry the failed publications of a failed post.")
    @action(detail=True, methods=["post"])
    @idempotent
    def retry(self, request, pk=None):
        s.parse(s.EmptySerializer, request.data)
        actions.RETRY.execute(post_id=_pk(pk), by=request.user, version=if_match_version(request))
        return post_response(request, _pk(pk))

    @_action_schema(s.EmptySerializer, "Retract: delete what the post published, on every platform.")
    @action(detail=True, methods=["post"])
    @idempotent
    def retract(self, request, pk=None):
        s.parse(s.EmptySerializer, request.data)
        actions.RETRACT.execute(post_id=_pk(pk), by=request.user, version=if_match_version(request))
        return post_response(request, _pk(pk))

    @extend_schema(responses=s.AuditEventSerializer(many=True), summary="The post's audit trail, oldest first.")
    @action(detail=True, methods=["get"], filter_backends=[], filterset_class=None)
    def history(self, request, pk=None):
        events = selectors.post_history(post_id=_pk(pk), user=request.user)
        page = self.paginate_queryset(events)
        return self.get_paginated_response(s.AuditEventSerializer(page, many=True).data)


# --- publications

class PublicationViewSet(ReaderLanguageMixin, viewsets.GenericViewSet):
    """Publications (one post's text sent to one channel in one language). Listed in each post's
    `publications`; the only action is settling one whose outcome is unknown."""

    serializer_class = s.PostSerializer
    queryset = Publication.objects.none()  # for the schema's path parameter only; never read
    filter_backends: list = []
    lookup_value_regex = r"[0-9]+"

    @extend_schema(
        request=s.PublicationResolveSerializer, responses=s.PostDetailSerializer, parameters=[IDEMPOTENCY_KEY],
        summary="Settle a publication whose outcome is unknown: it was published (with its url) or it was not.",
        description="Needs the publish permission on every channel of the post. Answers the post. "
        "`sent: false` marks it failed: retrying the post (`POST /api/v1/posts/{id}/retry/`) sends it; "
        "`sent: true` marks it sent, and it is never sent again. 409 `not_unknown` when its outcome is known.",
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def resolve(self, request, pk=None):
        data = s.parse(s.PublicationResolveSerializer, request.data)
        pub = actions.RESOLVE.execute(publication_id=_pk(pk), by=request.user, **data)
        return post_response(request, pub.post_id)


# --- queue

class QueueView(ReaderLanguageMixin, GenericAPIView):
    """Posts and reviews waiting for the caller's action, most overdue first."""

    serializer_class = s.QueueItemSerializer
    filter_backends: list = []

    @extend_schema(responses=s.QueueItemSerializer(many=True), operation_id="queue_list")
    def get(self, request):
        page = self.paginate_queryset(selectors.queue_for(user=request.user))
        return self.get_paginated_response(s.QueueItemSerializer(page, many=True).data)


# --- inbound

@extend_schema_view(list=extend_schema(summary="The conversation inbox."))
class InboundViewSet(ReaderLanguageMixin, viewsets.GenericViewSet):
    serializer_class = s.InboundSerializer
    filterset_class = InboundFilter
    ordering_fields = ["received_at", "id"]
    ordering = ["-received_at", "-id"]
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return InboundMessage.objects.none()
        return selectors.inbox_visible(user=self.request.user)

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(s.InboundSerializer(page, many=True).data)

    @extend_schema(
        request=s.InboundIngestSerializer,
        responses={201: s.InboundDetailSerializer, 200: OpenApiResponse(s.InboundDetailSerializer, description="Already stored (same channel and external_id).")},
        parameters=[IDEMPOTENCY_KEY], summary="Ingest a citizen message (idempotent on channel + external_id).",
    )
    @idempotent
    def create(self, request):
        data = s.parse(s.InboundIngestSerializer, request.data)
        msg, created = actions.INGEST.execute(by=request.user, **data)
        msg = selectors.inbound_get_visible(inbound_id=msg.id, user=request.user)
        return Response(s.InboundDetailSerializer(msg, context={"user": request.user}).data,
                        status=http.HTTP_201_CREATED if created else http.HTTP_200_OK)

    @extend_schema(request=s.EmptySerializer, responses=s.InboundDetailSerializer, parameters=[IDEMPOTENCY_KEY],
                   summary="Assign the message to the caller.")
    @action(detail=True, methods=["post"], filter_backends=[], filterset_class=None)
    @idempotent
    def claim(self, request, pk=None):
        s.parse(s.EmptySerializer, request.data)
        actions.CLAIM.execute(inbound_id=_pk(pk), by=request.user)
        msg = selectors.inbound_get_visible(inbound_id=_pk(pk), user=request.user)
        return Response(s.InboundDetailSerializer(msg, context={"user": request.user}).data)

    @extend_schema(
        request=s.InboundDismissSerializer, responses=s.InboundDetailSerializer, parameters=[IDEMPOTENCY_KEY],
        summary="Close the message without a reply (spam, no reply needed, handled elsewhere).",
        description="Needs the draft permission on the message's channel. The message leaves the open "
        "inbox; the reason and comment are written to its audit trail. 409 `inbound_closed` when it was "
        "already replied to or dismissed.",
    )
    @action(detail=True, methods=["post"], filter_backends=[], filterset_class=None)
    @idempotent
    def dismiss(self, request, pk=None):
        data = s.parse(s.InboundDismissSerializer, request.data)
        actions.DISMISS.execute(inbound_id=_pk(pk), by=request.user, **data)
        msg = selectors.inbound_get_visible(inbound_id=_pk(pk), user=request.user)
        return Response(s.InboundDetailSerializer(msg, context={"user": request.user}).data)

    @extend_schema(
        request=s.EngageSerializer,
        responses={201: s.EngagementSerializer,
                   200: OpenApiResponse(s.EngagementSerializer, description="Already asked (one per message and action).")},
        parameters=[IDEMPOTENCY_KEY],
        summary="Like or boost the message on its platform (Mastodon favourite/boost, Bluesky like/repost).",
    )
    @action(detail=True, methods=["post"], filter_backends=[], filterset_class=None)
    @idempotent
    def engage(self, request, pk=None):
        data = s.parse(s.EngageSerializer, request.data)
        selectors.inbound_get_visible(inbound_id=_pk(pk), user=request.user)
        eng, created = actions.ENGAGE.execute(inbound_id=_pk(pk), by=request.user, action=data["action"])
        eng = selectors.engagement_get(engagement_id=eng.id)
        return Response(s.EngagementSerializer(eng).data, status=http.HTTP_201_CREATED if created else http.HTTP_200_OK)


# --- reviews after the fact (spot-checks, retrospectives)

class ReviewViewSet(ReaderLanguageMixin, viewsets.GenericViewSet):
    """Reviews after the fact: a sampled spot-check of a published reply, or the retrospective
    review of an urgent publication. Listed in the queue (`review` is the id); closed here."""

    serializer_class = s.ReviewSerializer
    queryset = PostReview.objects.none()  # for the schema's path parameter only; never read
    filter_backends: list = []
    lookup_value_regex = r"[0-9]+"

    @extend_schema(
        request=s.ReviewCompleteSerializer, responses=s.ReviewSerializer, parameters=[IDEMPOTENCY_KEY],
        summary="Complete a spot-check or retrospective review: verdict `fine` or `follow_up` (with a comment).",
        description="Not by the post's author nor whoever published it urgently; by the review's team. "
        "The review leaves the queue; `follow_up` notifies the author's side. 409 `review_done` when it "
        "is already done.",
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def complete(self, request, pk=None):
        data = s.parse(s.ReviewCompleteSerializer, request.data)
        review = actions.COMPLETE_REVIEW.execute(review_id=_pk(pk), by=request.user, **data)
        return Response(s.ReviewSerializer(review).data)


# --- metrics

class MetricsView(ReaderLanguageMixin, APIView):
    """Per channel over [since, until): first-response time, replies vs broadcasts, time in steps;
    and the outbox relay's lag now."""

    @extend_schema(
        parameters=[
            OpenApiParameter("since", OpenApiTypes.DATETIME, description="Start (default: until − 30 days)."),
            OpenApiParameter("until", OpenApiTypes.DATETIME, description="End, exclusive (default: now)."),
            OpenApiParameter("channel", OpenApiTypes.STR, description="One channel's slug."),
        ],
        responses=s.MetricsSerializer, operation_id="metrics_retrieve",
    )
    def get(self, request):
        query = s.parse(s.MetricsQuerySerializer, request.query_params.dict())
        channel = query.get("channel")
        if channel and not selectors.channels_visible(user=request.user).filter(slug=channel).exists():
            raise InvalidInput(code="channel.unknown", errors={"channel": [Message("channel.unknown")]})
        data = selectors.metrics_compute(
            user=request.user, since=query.get("since"), until=query.get("until"), channel=channel
        )
        voices = selectors.conversation_voices(user=request.user, since=data["since"], until=data["until"], channel=channel)
        # The relay's lag is the whole service's (as /readyz shows it), not the period's.
        return Response(s.MetricsSerializer({**data, "voices": voices, "outbox": relay.outbox_lag()}).data)


# --- webhooks

@extend_schema_view(
    list=extend_schema(summary="Your organisation's webhook subscriptions (channel managers)."),
    retrieve=extend_schema(summary="One webhook subscription."),
)
class WebhookViewSet(ReaderLanguageMixin, viewsets.GenericViewSet):
    serializer_class = s.WebhookSerializer
    filter_backends: list = []
    lookup_value_regex = r"[0-9]+"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return selectors.webhooks_visible(user=self.request.user)

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(s.WebhookSerializer(page, many=True).data)

    @extend_schema(request=s.WebhookCreateSerializer, responses={201: s.WebhookSerializer},
                   parameters=[IDEMPOTENCY_KEY], summary="Subscribe to events.")
    @idempotent
    def create(self, request):
        data = s.parse(s.WebhookCreateSerializer, request.data)
        hook = webhook_services.webhook_create(by=request.user, **data)
        hook = selectors.webhook_get_visible(webhook_id=hook.id, user=request.user)
        return Response(s.WebhookSerializer(hook).data, status=http.HTTP_201_CREATED,
                        headers={"Location": f"/api/v1/webhooks/{hook.id}/"})

    def retrieve(self, request, pk=None):
        hook = selectors.webhook_get_visible(webhook_id=_pk(pk), user=request.user)
        return Response(s.WebhookSerializer(hook).data)

    @extend_schema(request=s.WebhookUpdateSerializer, responses=s.WebhookSerializer,
                   summary="Change a subscription.")
    def partial_update(self, request, pk=None):
        data = s.parse(s.WebhookUpdateSerializer, request.data)
        webhook_services.webhook_update(webhook_id=_pk(pk), by=request.user, **data)
        hook = selectors.webhook_get_visible(webhook_id=_pk(pk), user=request.user)
        return Response(s.WebhookSerializer(hook).data)

    @extend_schema(request=None, responses={204: None}, summary="Remove a subscription.")
    def destroy(self, request, pk=None):
        webhook_services.webhook_delete(webhook_id=_pk(pk), by=request.user)
        return Response(status=http.HTTP_204_NO_CONTENT)
