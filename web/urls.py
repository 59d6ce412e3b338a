from django.urls import path

from securemyspot.api import route
from web import views

# Pages only: what they show comes from the API routes and the live sockets, which the pages'
# modules call (docs/web.md). Each page is served with and without its trailing slash, as the
# API routes are, by `securemyspot.api.route`.
urlpatterns = [
    path("", views.find_spot, name="web-find"),
    route(
        r"reservations/(?P<reservation_id>[0-9]{1,16})",
        views.reservation,
        name="web-reservation",
    ),
    # The link in reservation emails (reservations.links.manage_url builds it).
    path("manage/<str:token>/", views.manage_reservation, name="manage-reservation"),
    route("account/reservations", views.my_reservations, name="web-my-reservations"),
    route("account/sign-in", views.sign_in, name="web-sign-in"),
    route("account/sign-up", views.sign_up, name="web-sign-up"),
    route("account", views.account, name="web-account"),
]
