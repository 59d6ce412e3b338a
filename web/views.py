"""The driver's pages: server-rendered shells that the ES modules in web/static/web/ fill from
the API and the live sockets. No business rule here: the pages call the same routes as any
client (docs/web.md)."""

from django.conf import settings
from django.shortcuts import render


def _page(request, template: str, *, title: str, module: str, **context):
    return render(
        request,
        template,
        {"title": title, "module": module, "map_tile_url": settings.MAP_TILE_URL, **context},
    )


def find_spot(request):
    return _page(request, "web/find.html", title="Find a spot", module="web/find.js")
