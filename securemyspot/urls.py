from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts.throttles import throttled_admin_login
from securemyspot.api import route
from securemyspot.health import healthz

urlpatterns = [
    path("admin/login/", throttled_admin_login(admin.site.login), name="admin-login"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    route("healthz", healthz, name="healthz"),
    path("", include("accounts.urls")),
    path("", include("spots.urls")),
    path("", include("reservations.urls")),
    path("", include("payments.urls")),
]

handler400 = "securemyspot.api.bad_request"
handler403 = "securemyspot.api.permission_denied"
handler404 = "securemyspot.api.not_found"
handler500 = "securemyspot.api.server_error"
