"""The Content-Security-Policy every response carries (django-csp; docs/web.md, "Content
Security Policy"): scripts, styles, frames and connections from this service only, plus the map
tiles' host and, when payments go through Stripe, Stripe.js's hosts. No inline script, style
block, style attribute or event handler attribute runs: a template that needs one is wrong."""

from urllib.parse import urlsplit

from csp.constants import NONE, SELF
from csp.middleware import CSPMiddleware, PolicyParts
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponseBase

# Stripe's own list for Stripe.js and its card element (Stripe's docs, "Content Security
# Policy"): the script, its frames, and the API it calls.
STRIPE_SCRIPTS = ["https://js.stripe.com", "https://*.js.stripe.com"]
STRIPE_FRAMES = [*STRIPE_SCRIPTS, "https://hooks.stripe.com"]
STRIPE_CONNECTIONS = ["https://api.stripe.com"]


def tile_origin(map_tile_url: str) -> str:
    """``https://tile.openstreetmap.org`` of a tile URL template; Leaflet's ``{s}``
    subdomains become a wildcard (``https://*.tile.example.org``)."""
    parts = urlsplit(map_tile_url.replace("{s}", "*"))
    return f"{parts.scheme}://{parts.netloc}"


def directives(*, map_tile_url: str, stripe: bool) -> dict[str, list[str]]:
    policy = {
        "default-src": [SELF],
        "script-src": [SELF, *(STRIPE_SCRIPTS if stripe else [])],
        "style-src": [SELF],
        "img-src": [SELF, "data:", tile_origin(map_tile_url)],
        "connect-src": [SELF, *(STRIPE_CONNECTIONS if stripe else [])],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
    if stripe:
        policy["frame-src"] = STRIPE_FRAMES
    return policy


class ContentPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, adding the live sockets of the host the page came from to
    ``connect-src``: CSP Level 3 lets ``'self'`` match them, older browsers (Safari before
    15.4) do not, and the host is known only per request."""

    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if report_only:
            return parts
        try:
            host = request.get_host()  # checked against ALLOWED_HOSTS: nothing else gets in
        except DisallowedHost:
            return parts
        scheme = "wss" if request.is_secure() else "ws"
        parts.update = {**(parts.update or {}), "connect-src": [f"{scheme}://{host}"]}
        return parts
