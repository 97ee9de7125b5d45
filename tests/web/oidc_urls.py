"""URLs as they are when OIDC_RP_CLIENT_ID is set at start-up (the OIDC routes included)."""
from django.urls import include, path

urlpatterns = [
    path("oidc/", include("mozilla_django_oidc.urls")),
    path("", include("workflows.web.urls")),
]
