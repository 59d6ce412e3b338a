from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView


class AddressRateThrottle(SimpleRateThrottle):
    """Counts requests per client address, whoever is signed in: password guessing and mass
    sign-up come from an address, not from an account."""

    def get_cache_key(self, request: Request, view: APIView) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class SignInThrottle(AddressRateThrottle):
    scope = "sign-in"


class SignUpThrottle(AddressRateThrottle):
    scope = "sign-up"
