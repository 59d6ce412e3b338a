from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from securemyspot.api import route
from securemyspot.health import healthz, readyz
from securemyspot.metrics import metrics

urlpatterns = [
    # First: it holds the throttled admin sign-in, which must come before the admin's own.
    path("", include("accounts.urls")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script from a URL, not inline, and the template
    # takes drf-spectacular's style block out: the Content-Security-Policy allows neither.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="schema", template_name="securemyspot/swagger_ui.html"
        ),
        name="swagger-ui",
    ),
    route("healthz", healthz, name="healthz"),
    route("readyz", readyz, name="readyz"),
    route("metrics", metrics, name="metrics"),
    path("", include("spots.urls")),
    path("", include("reservations.urls")),
    path("", include("payments.urls")),
    # Last: the driver's pages, beside the API's routes (docs/web.md).
    path("", include("web.urls")),
]

handler400 = "securemyspot.api.bad_request"
handler403 = "securemyspot.api.permission_denied"
handler404 = "securemyspot.api.not_found"
handler500 = "securemyspot.api.server_error"
