"""Top-level URL map: admin, REST API v1, OpenAPI schema and docs."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from apps.notifications.views import live

api_v1 = [
    path("", include("apps.core.api.urls")),
    path("", include("apps.accounts.api.urls")),
    path("", include("apps.packs.api.urls")),
    path("", include("apps.actions.api.urls")),
    path("", include("apps.executions.api.urls")),
    path("", include("apps.triggers.api.urls")),
    path("", include("apps.webhooks.api.urls")),
    path("", include("apps.rules.api.urls")),
    path("", include("apps.sensors.api.urls")),
    path("", include("apps.policies.api.urls")),
    path("", include("apps.datastore.api.urls")),
    path("", include("apps.audit.api.urls")),
    path("", include("apps.workflows.api.urls")),
    path("", include("apps.inquiries.api.urls")),
    path("", include("apps.rbac.api.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("live/", live, name="live"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
]

handler404 = "apps.core.api.views.not_found"
handler500 = "apps.core.api.views.server_error"
