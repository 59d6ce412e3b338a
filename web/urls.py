from django.urls import path

from web import views

# Pages only: what they show comes from the API routes and the live sockets, which the pages'
# modules call (docs/web.md). Each page is served with and without its trailing slash, as the
# API routes are, by `securemyspot.api.route`.
urlpatterns = [
    path("", views.find_spot, name="web-find"),
]
