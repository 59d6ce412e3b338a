from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from securemyspot.api import route
from securemyspot.health import healthz, readyz
from securemyspot.metrics import metrics

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    route("healthz", healthz, name="healthz"),
    route("readyz", readyz, name="readyz"),
    route("metrics", metrics, name="metrics"),
    path("", include("accounts.urls")),
    path("", include("spots.urls")),
    path("", include("reservations.urls")),
    path("", include("payments.urls")),
]

handler404 = "securemyspot.api.not_found"
handler500 = "securemyspot.api.server_error"
