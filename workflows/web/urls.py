from django.conf import settings
from django.urls import URLPattern, URLResolver, include, path

from . import caretaker, exports, media_signed, outside, people, views

urlpatterns: list[URLPattern | URLResolver] = [
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", views.LogoutView.as_view(), name="logout"),
    path("language/", views.language, name="web-language"),
    path("ui/gcds.css", views.gcds_css, name="web-gcds-css"),
    path("", views.home, name="home"),
    path("inbox/", views.inbox, name="web-inbox"),
    path("inbox/new/", views.inbound_log, name="web-inbound-log"),
    path("inbox/<int:inbound_id>/", views.inbound_detail, name="web-inbound"),
    path("inbox/<int:inbound_id>/claim/", views.inbound_claim, name="web-inbound-claim"),
    path("inbox/<int:inbound_id>/dismiss/", views.inbound_dismiss, name="web-inbound-dismiss"),
    path("inbox/<int:inbound_id>/engage/", views.inbound_engage, name="web-inbound-engage"),
    path("inbox/callbacks/<int:delivery_id>/done/", views.callback_done, name="web-callback-done"),
    path("checks/", views.checks, name="web-checks"),
    path("posts/new/", views.compose, name="web-compose"),
    path("posts/<int:post_id>/", views.post_detail, name="web-post"),
    path("posts/<int:post_id>/invitations/", outside.invite, name="web-outside-invite"),
    path("posts/<int:post_id>/<slug:action>/", views.post_action, name="web-post-action"),
    path("queue/", views.queue, name="web-queue"),
    path("queue/approve/", views.queue_approve, name="web-queue-approve"),
    path("metrics/", views.metrics, name="web-metrics"),
    path("caretaker/", caretaker.caretaker, name="web-caretaker"),
    path("signature/", people.signature, name="web-signature"),
    path("exports/", exports.exports, name="web-exports"),
    path("exports/<int:export_id>/", exports.export_detail, name="web-export"),
    path("exports/<int:export_id>/progress/", exports.export_progress, name="web-export-progress"),
    path("exports/<int:export_id>/download/", exports.export_download, name="web-export-download"),
    path("caretaker/<int:period_id>/cancel/", caretaker.caretaker_cancel, name="web-caretaker-cancel"),
    path("invitations/<int:invitation_id>/revoke/", outside.revoke, name="web-outside-revoke"),
    path("o/<str:token>/", outside.link, name="web-outside-link"),
    path("m/<str:token>/", media_signed.media_signed, name="media-signed"),
]

if getattr(settings, "OIDC_RP_CLIENT_ID", ""):
    urlpatterns.append(path("oidc/", include("mozilla_django_oidc.urls")))
