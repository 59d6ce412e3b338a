import functools
import math
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle, UserRateThrottle
from rest_framework.views import APIView

from accounts.models import normalize_email


class AddressRateThrottle(SimpleRateThrottle):
    """Counts requests per client address, whoever is signed in: password guessing and mass
    sign-up come from an address, not from an account."""

    def get_cache_key(self, request: Request, view: APIView) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class SignInThrottle(AddressRateThrottle):
    scope = "sign-in"


class SignUpThrottle(AddressRateThrottle):
    scope = "sign-up"


class ResendVerificationThrottle(UserRateThrottle):
    """Verification emails per account: each is an email to a real inbox, which a signed-in
    client must not be able to flood."""

    scope = "resend-verification"


class AdminLoginThrottle(SimpleRateThrottle):
    """Admin sign-in attempts per client address and username: the admin's form is as open to
    password guessing as the API's sign-in."""

    scope = "admin-login"

    def get_cache_key(self, request: HttpRequest, view: object) -> str:
        username = normalize_email(request.POST.get("username", ""))
        ident = f"{self.get_ident(request)}:{username}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


def throttled_admin_login(login_view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """``login_view`` (the admin site's) refusing sign-in attempts past ``AdminLoginThrottle``
    with a 429 and Retry-After; showing the form is never throttled."""

    @functools.wraps(login_view)
    def login(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method == "POST":
            throttle = AdminLoginThrottle()
            if not throttle.allow_request(request, None):
                wait = max(1, math.ceil(throttle.wait() or 1))
                response = HttpResponse(
                    f"Too many sign-in attempts. Try again in {wait} seconds.",
                    status=429,
                    content_type="text/plain",
                )
                response["Retry-After"] = str(wait)
                return response
        return login_view(request, *args, **kwargs)

    return login
