from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from . import views
from .caretaker import CaretakerPeriodViewSet
from .exports import AtipExportViewSet
from .media import MediaViewSet
from .outside import InvitationViewSet, PostInvitationsView

router = SimpleRouter(trailing_slash=True)
router.register("channels", views.ChannelViewSet, basename="api-channel")
router.register("lanes", views.LaneViewSet, basename="api-lane")
router.register("posts", views.PostViewSet, basename="api-post")
router.register("inbound", views.InboundViewSet, basename="api-inbound")
router.register("publications", views.PublicationViewSet, basename="api-publication")
router.register("reviews", views.ReviewViewSet, basename="api-review")
router.register("webhooks", views.WebhookViewSet, basename="api-webhook")
router.register("caretaker-periods", CaretakerPeriodViewSet, basename="api-caretaker-period")
router.register("exports", AtipExportViewSet, basename="api-export")
router.register("invitations", InvitationViewSet, basename="api-invitation")
router.register("media", MediaViewSet, basename="api-medium")

urlpatterns = [
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("api/v1/me/", views.MeView.as_view(), name="api-me"),
    path("api/v1/queue/", views.QueueView.as_view(), name="api-queue"),
    path("api/v1/metrics/", views.MetricsView.as_view(), name="api-metrics"),
    path("api/v1/posts/<int:pk>/invitations/", PostInvitationsView.as_view(), name="api-post-invitations"),
    path("api/v1/", include(router.urls)),
]
