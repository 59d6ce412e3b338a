"""The driver's pages: server-rendered shells that the ES modules in web/static/web/ fill from
the API and the live sockets. No business rule here: the pages call the same routes as any
client (docs/web.md)."""

from django.conf import settings
from django.shortcuts import render

from payments.services.sandbox import sandbox_in_use


def _page_config() -> dict:
    """What every page's modules read with `pageConfig()` (forms.js), from the page's
    `json_script`: the map's tiles and how a card is saved (the sandbox's test-card form, or
    Stripe's Payment Element with the publishable key)."""
    sandbox = sandbox_in_use()
    return {
        "map_tile_url": settings.MAP_TILE_URL,
        "map_tile_attribution": settings.MAP_TILE_ATTRIBUTION,
        "max_days_ahead": settings.RESERVATION_MAX_DAYS_AHEAD,
        "live_max_box_degrees": float(settings.LIVE_MAX_BOX_DEGREES),
        "card_step": "sandbox" if sandbox else "stripe",
        "stripe_publishable_key": "" if sandbox else settings.STRIPE_PUBLISHABLE_KEY,
    }


def _page(request, template: str, *, title: str, module: str, **context):
    return render(
        request,
        template,
        {
            "title": title,
            "module": module,
            "map_tile_url": settings.MAP_TILE_URL,
            "page_config": _page_config(),
            **context,
        },
    )


def find_spot(request):
    return _page(request, "web/find.html", title="Find a spot", module="web/find.js", nav="find")
