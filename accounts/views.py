"""The page behind the link in the verification email (HTML, not the JSON API). Opening it
(GET) changes nothing, since mail scanners open links to check them; its button (POST)
confirms the address, as django-allauth does."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from accounts import services
from securemyspot.links import LinkExpired, LinkInvalid

# What the page says, by state; the template shows each.
TITLES = {
    "confirm": "Confirm your email",
    "confirmed": "Email confirmed",
    "already": "Email already confirmed",
    "expired": "This link has expired",
    "invalid": "This link does not work",
}
STATUS = {"expired": 410, "invalid": 404}


@require_http_methods(["GET", "POST"])
def verify_email(request: HttpRequest, token: str) -> HttpResponse:
    try:
        if request.method == "POST":
            _, confirmed_now = services.verify_email(token=token)
            state = "confirmed" if confirmed_now else "already"
        else:
            state = "already" if services.link_confirms_nothing_new(token=token) else "confirm"
    except LinkExpired:
        state = "expired"
    except LinkInvalid:
        state = "invalid"
    return render(
        request,
        "accounts/verify_email.html",
        {
            "title": TITLES[state],
            "state": state,
            "module": "accounts/verify_email.js" if state in STATUS else "",
            "nav": "account",
            "max_age_days": services.VERIFICATION_LINK_MAX_AGE.days,
        },
        status=STATUS.get(state, 200),
    )
