"""Every API route needs a signed-in user unless it is on the public list below, so that a new
view cannot be public by accident: DRF's default permission is IsAuthenticated, and a public
view opens itself with AllowAny."""

from collections.abc import Iterator

from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.settings import api_settings

# Routes anyone may call: signing up and in, the spot search, the guest routes (the reservation
# id and email are the guest's credentials), the links in emails (signed tokens), Stripe's
# webhook (signed), the sandbox's card form, the probes and the API docs.
PUBLIC_API_ROUTES = {
    "sign-up",
    "sign-in",
    "available-parking-spots",
    "available-parking-spots-filter",
    "reserve-guest",
    "reservation-guest",
    "change-guest",
    "delete-guest",
    "cancel-guest",
    "quote",
    "create-payment-intent-guest",
    "confirm-setup-intent-guest",
    "retry-payment",
    "confirm-payment",
    "stripe-webhook",
    "sandbox-confirm-setup-intent",
    "healthz",
    "readyz",
    "schema",
    "swagger-ui",
}
# Pages (plain Django views) reached from links in emails: the signed token is the credential.
PUBLIC_PAGES = {"pay-reservation", "manage-reservation", "verify-email"}
# The web app's pages are shells anyone may load: what they show comes from the API, with
# the API's credentials (web/).
PUBLIC_PAGES |= {
    "web-find",
    "web-reservation",
    "web-my-reservations",
    "web-account",
    "web-sign-in",
    "web-sign-up",
}
# Pages outside the API that check a credential of their own: /metrics a bearer token
# (METRICS_TOKEN, test_metrics.py), the admin's sign-in form (throttled, accounts/throttles.py).
OWN_CREDENTIAL_PAGES = {"metrics", "admin-login"}


def routes(patterns=None, namespace: str = "") -> Iterator[tuple[str, URLPattern]]:
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            yield from routes(entry.url_patterns, entry.namespace or namespace)
        elif namespace != "admin":  # the admin has its own staff sign-in
            yield entry.name, entry


def api_routes() -> dict[str, type]:
    return {name: route.callback.cls for name, route in routes() if hasattr(route.callback, "cls")}


def test_drf_views_need_a_signed_in_user_by_default():
    assert list(api_settings.DEFAULT_PERMISSION_CLASSES) == [IsAuthenticated]


def test_every_api_route_is_either_signed_in_only_or_explicitly_public():
    opened_without_listing = []
    listed_but_closed = []
    for name, view in api_routes().items():
        permissions = view().get_permissions()
        is_open = any(isinstance(permission, AllowAny) for permission in permissions)
        if name in PUBLIC_API_ROUTES and not is_open:
            listed_but_closed.append(name)
        if name not in PUBLIC_API_ROUTES and (is_open or not permissions):
            opened_without_listing.append(name)

    assert opened_without_listing == []
    assert listed_but_closed == []


def test_the_public_list_names_only_routes_that_exist():
    assert set(api_routes()) >= PUBLIC_API_ROUTES


def test_every_page_outside_the_api_is_a_known_public_page():
    pages = {name for name, route in routes() if not hasattr(route.callback, "cls")}

    assert pages == PUBLIC_PAGES | OWN_CREDENTIAL_PAGES


def test_a_signed_in_route_without_a_token_answers_401_with_detail(api_client):
    response = api_client.get("/reservation-auth")

    assert response.status_code == 401
    assert "detail" in response.json()
