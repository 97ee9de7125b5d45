from django.contrib import admin
from django.urls import include, path

from config import health, prometheus

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("prometheus", prometheus.prometheus_view, name="prometheus"),
    path("admin/", admin.site.urls),
    path("", include("workflows.api.urls")),
    path("", include("workflows.web.urls")),
]

# Problem details (application/problem+json) for /api/ paths; Django's HTML pages elsewhere.
handler400 = "workflows.api.errors.handler400"
handler403 = "workflows.api.errors.handler403"
handler404 = "workflows.api.errors.handler404"
handler500 = "workflows.api.errors.handler500"
